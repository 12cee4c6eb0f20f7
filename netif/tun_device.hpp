// A TUN interface (drivers/net/tun.c seen from user space): the kernel's side is a network
// interface in the current namespace; vlo's side is this device. What the kernel routes to the
// interface, vlo reads from /dev/net/tun and feeds to netif_rx as a NIC driver would; what vlo
// transmits it writes, and the kernel receives it on that interface. No offloads: every checksum
// is computed on send and verified on receive.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "netif/device.hpp"

namespace vlo {

struct TunConfig {
    std::string name = "vlo0";
    std::uint32_t mtu = 1500;
    // The kernel side's address, host byte order; 0 leaves it unaddressed.
    std::uint32_t kernel_addr = 0;
    std::uint8_t kernel_prefix_len = 24;
};

class TunDevice final : public NetDevice {
public:
    // Packets read per wake-up before NET_RX runs, as a NAPI poll's weight.
    static constexpr int kReadBatch = 64;

    // Opens /dev/net/tun (IFF_TUN | IFF_NO_PI), creating the interface or attaching to an
    // existing one, then brings the kernel side up with the MTU and address. On failure: null,
    // and `error` says what failed and why.
    static std::unique_ptr<TunDevice> open(const TunConfig& config, int ifindex, std::string& error);
    ~TunDevice() override;

    // Writes the packet to the kernel (the device's xmit).
    NetdevTx xmit(PacketPtr pkt) override;
    // txqueuelen: the default qdisc, pfifo_fast, holds this many packets.
    std::uint32_t tx_queue_len() const override { return 1000; }
    // Reading starts once there is somewhere to deliver to.
    void set_rx_sink(RxSink* sink) override;
    void stop() override;

    int kernel_ifindex() const { return kernel_ifindex_; }
    // Whether this device created the interface (it disappears when the device closes).
    bool created() const { return created_; }

private:
    TunDevice(std::string name, int ifindex, std::uint32_t mtu, int fd, int stop_fd, int kernel_ifindex,
              bool created);
    void reader_main();
    // One packet from the fd into `pkt`; false when nothing more is ready.
    bool read_one(PacketPtr& pkt);

    int fd_;
    int stop_fd_;  // an eventfd that wakes the reader to end
    int kernel_ifindex_;
    bool created_;
    std::thread reader_;
    std::atomic<bool> stopped_{false};
};

}  // namespace vlo
