// Queueing disciplines on a device's transmit (net/sched): dev_queue_xmit hands a packet to the
// device's root qdisc, which enqueues it and runs (qdisc_run): it dequeues what may leave now and
// hands each packet to dev_hard_start_xmit, the taps then the driver. A device without one is
// `noqueue` (lo): dev_queue_xmit calls the driver directly.
//
// A qdisc design implements enqueue and dequeue under the qdisc lock; the base runs the loop,
// keeps the counters `tc -s qdisc` prints, and frees what a design drops with a named reason. The
// built-ins: pfifo_fast (a TUN's default) and netem (netem.hpp). To add one, derive from Qdisc
// (docs/architecture.md, "Adding a qdisc").
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "netif/clock.hpp"
#include "netif/device.hpp"
#include "netif/packet.hpp"

namespace vlo {

// struct gnet_stats_basic + gnet_stats_queue: what `tc -s qdisc show` prints for every qdisc.
struct QdiscStats {
    std::uint64_t bytes = 0;  // Sent: handed to the driver
    std::uint64_t packets = 0;
    std::uint64_t drops = 0;
    std::uint64_t overlimits = 0;
    std::uint64_t requeues = 0;
    std::uint64_t backlog_bytes = 0;  // waiting now
    std::uint64_t backlog_packets = 0;
};

// NET_XMIT_SUCCESS / NET_XMIT_DROP
enum class NetXmit { success, drop };

class Qdisc {
  public:
    // `dev`: the device whose root it is. The clock is what delays are measured on.
    Qdisc(Device& dev, const Clock& clock) : dev_(dev), clock_(clock) {}
    virtual ~Qdisc() = default;
    Qdisc(const Qdisc&) = delete;
    Qdisc& operator=(const Qdisc&) = delete;

    virtual std::string_view kind() const = 0;  // "pfifo_fast", "netem", ...
    Device& dev() const { return dev_; }
    const Clock& clock() const { return clock_; }
    // The major number `tc qdisc show` prints ("8001:"); 0 for a device's default qdisc.
    std::uint32_t handle() const { return handle_; }
    void set_handle(std::uint32_t h) { handle_ = h; }

    // __dev_xmit_skb: enqueue, then qdisc_run in the caller's context. Always takes the packet;
    // a drop is counted and the packet freed with its reason.
    NetXmit xmit(PacketPtr pkt);
    // qdisc_run from a watchdog (or a virtual clock's driver): sends what is due by now. If
    // another thread is already running the qdisc, that thread sends these too.
    void run();
    // When the first waiting packet may leave, if any (a qdisc that holds packets back).
    std::optional<Nanos> next_due() const;

    QdiscStats stats() const;

  protected:
    // Under lock(): take the packet or drop it (drop()); return what the kernel's enqueue does.
    virtual NetXmit enqueue(PacketPtr pkt, Nanos now) = 0;
    // Under lock(): the next packet that may leave at `now`, or null.
    virtual PacketPtr dequeue(Nanos now) = 0;
    // Under lock(): when dequeue will next have something, if it holds packets back.
    virtual std::optional<Nanos> next_due_locked() const { return std::nullopt; }
    // Under lock(), after a run: a design with a watchdog arms it here.
    virtual void after_run() {}

    // qdisc_drop / kfree_skb_reason: counted in drops, traced, freed. Under lock().
    void drop(PacketPtr pkt, DropReason reason);
    // qdisc_qstats_backlog_inc / qdisc_bstats_update, for designs. Under lock().
    void backlog_add(const Packet& pkt) {
        stats_.backlog_bytes += pkt.size();
        ++stats_.backlog_packets;
    }
    void backlog_sub(const Packet& pkt) {
        stats_.backlog_bytes -= pkt.size();
        --stats_.backlog_packets;
    }
    std::mutex& lock() const { return mu_; }
    QdiscStats& qstats() { return stats_; }

  private:
    void run_locked(std::unique_lock<std::mutex>& lock);

    Device& dev_;
    const Clock& clock_;
    mutable std::mutex mu_;  // the qdisc lock (qdisc_lock(q))
    QdiscStats stats_;
    bool running_ = false;  // __QDISC_STATE_RUNNING: one thread sends at a time
    std::uint32_t handle_ = 0;
};

// pfifo_fast (net/sched/sch_generic.c): three FIFO bands picked by skb->priority through the
// priomap, dequeued band 0 first, together bounded by the device's txqueuelen. vlo's packets
// carry priority 0, which the priomap puts in band 1.
class PfifoFastQdisc final : public Qdisc {
  public:
    static constexpr std::uint8_t kPriomap[16] = {1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
    PfifoFastQdisc(Device& dev, const Clock& clock, std::uint32_t limit)
        : Qdisc(dev, clock), limit_(limit) {}
    ~PfifoFastQdisc() override;
    std::string_view kind() const override { return "pfifo_fast"; }
    std::uint32_t limit() const { return limit_; }

  protected:
    NetXmit enqueue(PacketPtr pkt, Nanos now) override;
    PacketPtr dequeue(Nanos now) override;

  private:
    struct Band {
        Packet* head = nullptr;
        Packet* tail = nullptr;
    };
    const std::uint32_t limit_;
    Band bands_[3];
    std::uint32_t qlen_ = 0;
};

}  // namespace vlo
