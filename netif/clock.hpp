// Time, passed in rather than read: the stack asks a Clock, so tests can drive a VirtualClock
// by hand and a 60 s timeout takes no real time.
#pragma once

#include <atomic>
#include <cstdint>

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

// A clock that stands still until a test advances it.
class VirtualClock final : public Clock {
public:
    explicit VirtualClock(Nanos start = kNsPerSec) : now_(start) {}
    Nanos now_ns() const override { return now_.load(std::memory_order_acquire); }
    bool is_virtual() const override { return true; }
    void advance(Nanos by) { now_.fetch_add(by, std::memory_order_acq_rel); }
    void set(Nanos to) { now_.store(to, std::memory_order_release); }

private:
    std::atomic<Nanos> now_;
};

}  // namespace vlo
