// Linux's netem qdisc (net/sched/sch_netem.c), a device's root qdisc as `tc qdisc add dev DEV
// root netem ...` makes it: what the device transmits is delayed (with jitter, correlation and a
// distribution), lost (random, 4-state or Gilbert-Elliott), duplicated, reordered, corrupted and
// paced at a rate, as a typed NetemSpec says (the front end reads tc-netem(8)'s words into one);
// with `ecn` a loss marks an ECN-capable packet CE instead. Packets wait in netem's time-ordered
// queue and go to dev_hard_start_xmit when due: right away from the sender's dev_queue_xmit when
// nothing delays them, else from whoever the watchdog wakes (qdisc_watchdog's hrtimer). Every
// drop is freed with its reason: NETEM_LOSS, NETEM_CORRUPT, QDISC_DROP (the limit).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "netif/clock.hpp"
#include "netif/device.hpp"
#include "netif/netem_random.hpp"
#include "netif/netem_spec.hpp"
#include "netif/netem_tfifo.hpp"
#include "netif/qdisc.hpp"

namespace vlo {

// What wakes netem when its next packet is due: "call run_due() at `when`, on the netem's
// clock", one pending wakeup at a time, a later call replacing an earlier one (mod_timer).
// schedule() is called with the netem's lock held: it must not call back into the netem.
class NetemWatchdog {
public:
    virtual ~NetemWatchdog() = default;
    virtual void schedule(Nanos when) = 0;
};

// The counters `tc -s qdisc show` prints for a netem (bstats, qstats, tc_netem_xstats), and
// two the kernel does not keep.
// The base's drops are losses, limit drops, failed checksums and ECN marks; its requeues, which
// netem bumps for each reorder.
struct NetemStats : QdiscStats {
    std::uint64_t delayed = 0;       // queued with a time_to_send in the future
    std::uint64_t lost = 0;          // loss_event said so
    std::uint64_t duplicated = 0;    // copies made and queued
    std::uint64_t reordered = 0;     // sent ahead of the queue
    std::uint64_t corrupted = 0;     // one bit flipped
    std::uint64_t ecn_mark = 0;      // `ecn`: marked CE where loss_event would have dropped
    std::uint64_t alloc_errors = 0;  // a duplicate the pool could not copy
    // vlo's own:
    std::uint64_t rate_waits = 0;   // had to wait for an earlier packet to leave at `rate`
    std::uint64_t limit_drops = 0;  // dropped because `limit` packets were already queued
};

class NetemQdisc final : public Qdisc {
  public:
    // An unseeded spec gets a random seed (seed() tells which, so the run can be repeated); a
    // stack's netem is seeded from the stack's seed (stack/sched.hpp).
    NetemQdisc(Device& dev, const Clock& clock, const NetemSpec& spec = {});
    ~NetemQdisc() override;  // the watchdog goes first, then what is still queued is freed
    std::string_view kind() const override { return "netem"; }

    void set_watchdog(std::unique_ptr<NetemWatchdog> watchdog);

    // netem_change: the new spec applies to packets from now on; queued ones keep their times.
    // A spec with a seed reseeds the generator (TCA_NETEM_PRNG_SEED); without, it runs on.
    void change(const NetemSpec& spec);

    // skb_checksum_help for the stack to provide: before corrupting a CHECKSUM_PARTIAL packet,
    // netem completes its transport checksum so the flipped bit is caught as it would be on a
    // wire (netif cannot, knowing nothing of IP). Without it, netem marks such a packet
    // CHECKSUM_NONE: the receiver then checks a sum only the pseudo-header went into and, as
    // for a real corrupted packet, drops it. A helper returning false drops the packet.
    using ChecksumHelp = bool (*)(Packet&);
    void set_checksum_help(ChecksumHelp help);

    NetemSpec spec() const;
    std::uint64_t seed() const;
    // Qdisc::stats() with tc_netem_xstats and vlo's own counters.
    NetemStats xstats() const;

  protected:
    NetXmit enqueue(PacketPtr pkt, Nanos now) override;
    PacketPtr dequeue(Nanos now) override;
    std::optional<Nanos> next_due_locked() const override;
    void after_run() override;

  private:
    void apply(const NetemSpec& spec);  // under lock()
    void enqueue_one(PacketPtr pkt, Nanos now, bool is_duplicate);
    bool loss_event();
    bool loss_4state();
    bool loss_gilb_ell();
    bool corrupt(Packet& pkt);
    Nanos packet_time_ns(std::uint64_t len) const;

    NetemSpec spec_;
    std::uint64_t seed_ = 0;
    NetemPrng prng_;
    CorrelatedRandom delay_cor_, loss_cor_, dup_cor_, reorder_cor_, corrupt_cor_;
    const NetemDistTable* dist_ = nullptr;
    std::uint8_t clg_state_ = 1;  // the loss chain's state: TX_IN_GAP_PERIOD / GOOD_STATE
    std::uint32_t counter_ = 0;   // packets since the last reorder (gap)
    NetemHeadQueue head_q_;
    NetemTfifo tfifo_;
    NetemStats x_;  // the netem-only counters; the rest are the base's
    std::unique_ptr<NetemWatchdog> watchdog_;
    std::optional<Nanos> armed_at_;  // the wakeup last asked for
    ChecksumHelp checksum_help_ = nullptr;
};

// A watchdog on any timer with the kernel's timer shape: constructed from a service and a
// callback, re-armed with arm(absolute time). With the stack's TimerService, which runs its
// callbacks with bottom halves off as TIMER_SOFTIRQ would, on a thread under the real clock and
// as the virtual one advances (stack/sched.hpp makes netems so):
//   netem.set_watchdog(std::make_unique<NetemTimerWatchdog<Timer>>(stack.timers(), netem));
template <class TimerT>
class NetemTimerWatchdog final : public NetemWatchdog {
public:
  template <class Service>
  NetemTimerWatchdog(Service& service, NetemQdisc& netem)
      : timer_(service, [&netem] { netem.run(); }) {}
  void schedule(Nanos when) override { timer_.arm(when); }

private:
    TimerT timer_;
};

}  // namespace vlo
