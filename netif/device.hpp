// A network device: what `ip link` shows about it and the counters `ip -s link` prints, plus its
// driver's transmit (ndo_start_xmit). Received frames go to the device's RxSink, normally the
// NetRx core's netif_rx, as a driver calls netif_rx/napi_gro_receive. What the device keeps for
// the core's transmit path (dev_xmit.hpp) is here too: its root qdisc and its taps
// (dev->ptype_all). A device never changes identity: qdiscs and taps attach to it.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "netif/packet.hpp"
#include "netif/rcu.hpp"

namespace vlo {

// include/uapi/linux/if.h
enum : std::uint32_t {
    IFF_UP = 0x1,
    IFF_BROADCAST = 0x2,
    IFF_LOOPBACK = 0x8,
    IFF_POINTOPOINT = 0x10,
    IFF_RUNNING = 0x40,
    IFF_NOARP = 0x80,
    IFF_MULTICAST = 0x1000,
    IFF_LOWER_UP = 0x10000,
};

// The offloads that change what the stack does (include/linux/netdev_features.h).
enum : std::uint32_t {
    NETIF_F_HW_CSUM = 1u << 0,  // device fills in transport checksums (lo: nobody needs them)
    NETIF_F_RXCSUM = 1u << 1,   // received checksums are vouched for
};

// rtnl_link_stats64, the fields `ip -s link` prints.
struct DeviceStats {
    std::atomic<std::uint64_t> rx_packets{0}, tx_packets{0};
    std::atomic<std::uint64_t> rx_bytes{0}, tx_bytes{0};
    std::atomic<std::uint64_t> rx_errors{0}, tx_errors{0};
    std::atomic<std::uint64_t> rx_dropped{0}, tx_dropped{0};
    std::atomic<std::uint64_t> rx_nohandler{0};
    std::atomic<std::uint64_t> multicast{0}, collisions{0};

    static void inc(std::atomic<std::uint64_t>& c, std::uint64_t by = 1) {
        c.fetch_add(by, std::memory_order_relaxed);
    }
};

enum class NetdevTx { ok, busy };     // NETDEV_TX_OK / NETDEV_TX_BUSY
enum class NetRxResult { success, drop };  // NET_RX_SUCCESS / NET_RX_DROP

// Where a device hands the frames it receives.
class RxSink {
public:
    virtual ~RxSink() = default;
    virtual NetRxResult netif_rx(PacketPtr pkt) = 0;
    // A driver handing over a batch brackets it with these, as its NAPI poll runs in softirq
    // context: the NET_RX its packets raise runs once, after the batch, not once per packet.
    virtual void local_bh_disable() {}
    virtual void local_bh_enable() {}
    // kfree_skb_reason on the device's side of the core (a qdisc's drops): counted under the
    // reason by the core that has a drop monitor; a bare sink only frees it.
    virtual void kfree_skb_reason(PacketPtr pkt, DropReason reason);
};

// PACKET_OUTGOING / PACKET_HOST (and the rest of pkt_type) as a tap sees them.
enum class TapDirection : std::uint8_t { host, outgoing };

// A packet_type on ptype_all (AF_PACKET, tcpdump): sees every packet the device transmits
// (dev_queue_xmit_nit, after the qdisc) and receives (__netif_receive_skb, before the protocol).
// Called in the packet's context: it copies what it wants and returns.
class PacketTap {
  public:
    virtual ~PacketTap() = default;
    virtual void tap(const Packet& pkt, const Device& dev, TapDirection dir) = 0;
};

class Qdisc;
struct TapList {
    std::vector<PacketTap*> taps;
};

class Device {
public:
  Device();
  virtual ~Device();  // its qdisc first (a netem's watchdog), then the rest
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  virtual const std::string& name() const = 0;
  virtual int ifindex() const = 0;
  virtual std::uint32_t mtu() const = 0;
  virtual std::uint32_t flags() const = 0;
  virtual std::uint32_t features() const = 0;
  virtual DeviceStats& stats() = 0;
  virtual void set_rx_sink(RxSink* sink) = 0;
  virtual RxSink* rx_sink() const = 0;
  // ndo_start_xmit. Takes the packet whatever the outcome; a refused packet is counted.
  virtual NetdevTx xmit(PacketPtr pkt) = 0;
  // ndo_stop: after it returns the device hands nothing more to its rx sink. A stack being
  // torn down calls it first; devices with no thread of their own have nothing to do.
  virtual void stop() {}

  // dev->tx_queue_len; 0 means IFF_NO_QUEUE (lo): the default qdisc is noqueue.
  virtual std::uint32_t tx_queue_len() const { return 0; }

  bool is_up() const { return (flags() & IFF_UP) != 0; }
  bool is_loopback() const { return (flags() & IFF_LOOPBACK) != 0; }

  // The transmit side, for dev_xmit.hpp: the root qdisc (null: noqueue) and the taps, each
  // read under RCU by the packet path and changed under config_mu() (rtnl_lock).
  RcuPtr<Qdisc>& qdisc_ptr() { return qdisc_; }
  RcuPtr<TapList>& taps_ptr() { return taps_; }
  std::mutex& config_mu() { return config_mu_; }

private:
  RcuPtr<Qdisc> qdisc_;
  RcuPtr<TapList> taps_;
  std::mutex config_mu_;
};

// The state every concrete device keeps.
class NetDevice : public Device {
public:
    NetDevice(std::string name, int ifindex, std::uint32_t mtu, std::uint32_t flags,
              std::uint32_t features)
        : name_(std::move(name)), ifindex_(ifindex), mtu_(mtu), flags_(flags), features_(features) {}

    const std::string& name() const override { return name_; }
    int ifindex() const override { return ifindex_; }
    std::uint32_t mtu() const override { return mtu_.load(std::memory_order_relaxed); }
    std::uint32_t flags() const override { return flags_.load(std::memory_order_relaxed); }
    std::uint32_t features() const override { return features_; }
    DeviceStats& stats() override { return stats_; }
    void set_rx_sink(RxSink* sink) override { rx_sink_ = sink; }
    RxSink* rx_sink() const override { return rx_sink_; }

    void set_mtu(std::uint32_t mtu) { mtu_.store(mtu, std::memory_order_relaxed); }
    void set_up(bool up);

private:
    std::string name_;
    int ifindex_;
    std::atomic<std::uint32_t> mtu_;
    std::atomic<std::uint32_t> flags_;
    std::uint32_t features_;
    DeviceStats stats_;
    RxSink* rx_sink_ = nullptr;
};

}  // namespace vlo
