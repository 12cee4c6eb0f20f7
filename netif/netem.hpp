// Linux's netem qdisc (net/sched/sch_netem.c) as a device decorator: what the wrapped device
// transmits is delayed (with jitter, correlation and a distribution), lost (random, 4-state or
// Gilbert-Elliott), duplicated, reordered, corrupted and paced at a rate, configured in
// tc-netem(8)'s words; with `ecn` a loss marks an ECN-capable packet CE instead. Packets wait in
// netem's time-ordered queue and go to the inner device's xmit when due: right away from the
// sender's xmit when nothing delays them, else from whoever the watchdog wakes (qdisc_watchdog's
// hrtimer in the kernel).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "netif/clock.hpp"
#include "netif/device.hpp"
#include "netif/netem_random.hpp"
#include "netif/netem_spec.hpp"
#include "netif/netem_tfifo.hpp"

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
struct NetemStats {
    std::uint64_t bytes = 0;  // Sent: released to the inner device
    std::uint64_t packets = 0;
    std::uint64_t drops = 0;          // qstats.drops: lost, over the limit, or a failed checksum
    std::uint64_t requeues = 0;       // qstats.requeues, which netem bumps for each reorder
    std::uint64_t backlog_bytes = 0;  // waiting now
    std::uint64_t backlog_packets = 0;
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

class NetemDevice final : public DeviceDecorator {
public:
    // An unseeded spec gets a random seed (seed() tells which, so the run can be repeated).
    NetemDevice(Device& inner, const Clock& clock, const NetemSpec& spec = {});
    ~NetemDevice() override;  // the watchdog goes first, then what is still queued is freed
    NetemDevice(const NetemDevice&) = delete;
    NetemDevice& operator=(const NetemDevice&) = delete;

    // netem_enqueue, then qdisc_run: whatever is due goes to the inner device now, in the
    // caller's context. Always takes the packet; a drop is counted in stats().
    NetdevTx xmit(PacketPtr pkt) override;

    // The watchdog's callback (and a virtual clock's driver): sends everything due by now, in
    // time order, then asks the watchdog for the next due time. If another thread is already
    // sending (qdisc_run_begin fails), that thread sends these too and this returns at once.
    void run_due();
    // When the first waiting packet is due, if any (for an owner that drives netem itself).
    std::optional<Nanos> next_due() const;
    void set_watchdog(std::unique_ptr<NetemWatchdog> watchdog);

    // netem_change: the new spec applies to packets from now on; queued ones keep their times.
    // A spec with a seed reseeds the generator (TCA_NETEM_PRNG_SEED); without, it runs on.
    void change(const NetemSpec& spec);
    // The same from tc's words ("delay 10ms loss 1%"). On a parse error returns tc's message
    // and changes nothing; returns "" on success.
    std::string change(std::string_view options);

    // skb_checksum_help for the stack to provide: before corrupting a CHECKSUM_PARTIAL packet,
    // netem completes its transport checksum so the flipped bit is caught as it would be on a
    // wire (netif cannot, knowing nothing of IP). Without it, netem marks such a packet
    // CHECKSUM_NONE: the receiver then checks a sum only the pseudo-header went into and, as
    // for a real corrupted packet, drops it. A helper returning false drops the packet.
    using ChecksumHelp = bool (*)(Packet&);
    void set_checksum_help(ChecksumHelp help);

    NetemSpec spec() const;
    std::uint64_t seed() const;
    NetemStats stats() const;
    // `tc -s qdisc show dev DEV`:
    //   qdisc netem 8001: root refcnt 2 limit 1000 delay 1ms loss 5% seed 1
    //    Sent 9800 bytes 98 pkt (dropped 2, overlimits 0 requeues 0)
    //    backlog 0b 0p requeues 0
    //     delayed 98 dropped 2 corrupted 0 ... ecn_marked 0 rate_waits 0 limit_drops 0
    std::string tc_show() const;

private:
    void apply(const NetemSpec& spec);  // under mu_
    void enqueue(PacketPtr pkt, Nanos now, bool is_duplicate);
    bool loss_event();
    bool loss_4state();
    bool loss_gilb_ell();
    bool corrupt(Packet& pkt);
    Nanos packet_time_ns(std::uint64_t len) const;
    PacketPtr dequeue(Nanos now);
    void run_locked(std::unique_lock<std::mutex>& lock);
    void arm_watchdog();
    std::optional<Nanos> next_due_locked() const;

    const Clock& clock_;
    mutable std::mutex mu_;  // the qdisc lock: everything below
    NetemSpec spec_;
    std::uint64_t seed_ = 0;
    NetemPrng prng_;
    CorrelatedRandom delay_cor_, loss_cor_, dup_cor_, reorder_cor_, corrupt_cor_;
    const NetemDistTable* dist_ = nullptr;
    std::uint8_t clg_state_ = 1;  // the loss chain's state: TX_IN_GAP_PERIOD / GOOD_STATE
    std::uint32_t counter_ = 0;   // packets since the last reorder (gap)
    NetemHeadQueue head_q_;
    NetemTfifo tfifo_;
    NetemStats stats_;
    std::unique_ptr<NetemWatchdog> watchdog_;
    std::optional<Nanos> armed_at_;  // the wakeup last asked for
    bool running_ = false;           // a thread is sending (__QDISC_STATE_RUNNING)
    ChecksumHelp checksum_help_ = nullptr;
};

// A watchdog on any timer with the kernel's timer shape: constructed from a service and a
// callback, re-armed with arm(absolute time). With the stack's TimerService, which runs its
// callbacks with bottom halves off as TIMER_SOFTIRQ would, on a thread under the real clock and
// from Stack::run_timers under the virtual one:
//   netem.set_watchdog(std::make_unique<NetemTimerWatchdog<Timer>>(stack.timers(), netem));
template <class TimerT>
class NetemTimerWatchdog final : public NetemWatchdog {
public:
    template <class Service>
    NetemTimerWatchdog(Service& service, NetemDevice& netem)
        : timer_(service, [&netem] { netem.run_due(); }) {}
    void schedule(Nanos when) override { timer_.arm(when); }

private:
    TimerT timer_;
};

}  // namespace vlo
