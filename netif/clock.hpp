// Time, passed in rather than read: the stack asks a Clock, so tests can drive a VirtualClock
// by hand and a 60 s timeout takes no real time.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace vlo {

using Nanos = std::int64_t;

constexpr Nanos kNsPerUs = 1'000;
constexpr Nanos kNsPerMs = 1'000'000;
constexpr Nanos kNsPerSec = 1'000'000'000;

class Clock {
public:
    virtual ~Clock() = default;
    virtual Nanos now_ns() const = 0;
    // A cheaper reading that moves in ticks, as jiffies: for the limits the kernel measures in
    // jiffies (net_rx_action's netdev_budget_usecs, __do_softirq's MAX_SOFTIRQ_TIME).
    virtual Nanos coarse_now_ns() const { return now_ns(); }
    // True when time only moves because somebody advances it (tests).
    virtual bool is_virtual() const { return false; }
};

// CLOCK_MONOTONIC, the clock the kernel's ktime_get() reads.
class MonotonicClock final : public Clock {
public:
    Nanos now_ns() const override;
    Nanos coarse_now_ns() const override;  // CLOCK_MONOTONIC_COARSE: the tick, ~5 ns to read
    static MonotonicClock& instance();
};

// What moving a VirtualClock drives: the timers of the stacks on it (TimerService attaches).
class ClockListener {
  public:
    virtual ~ClockListener() = default;
    virtual std::optional<Nanos> next_expiry() const = 0;
    virtual void run_due() = 0;
};

// A clock that stands still until a test advances it.
class VirtualClock final : public Clock {
public:
    explicit VirtualClock(Nanos start = kNsPerSec) : now_(start) {}
    Nanos now_ns() const override { return now_.load(std::memory_order_acquire); }
    bool is_virtual() const override { return true; }
    // Moves time on by `by` in one step that runs, in time order, every timer that falls due
    // on the way, each at its own expiry, as a kernel whose clock ticked through them would.
    void advance(Nanos by);
    // Sets the time without running anything (the listeners run at the next advance).
    void set(Nanos to) { now_.store(to, std::memory_order_release); }

    // For a TimerService on this clock: attach at construction, detach before it goes.
    void attach(ClockListener& l) const;
    void detach(ClockListener& l) const;

  private:
    std::atomic<Nanos> now_;
    mutable std::recursive_mutex mu_;  // the listeners; held while advance runs them
    mutable std::vector<ClockListener*> listeners_;
};

}  // namespace vlo
