// Timers for the protocols (kernel/time/timer.c, reduced): retransmission, delayed ACK,
// keepalive, TIME_WAIT. Callbacks run as TIMER_SOFTIRQ does: bottom halves off, so what they
// send is received after they return. Under a real clock a thread runs them; under a virtual
// clock they run when the test advances time (Stack::advance), so a 60 s timeout costs nothing.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

#include "netif/net_rx.hpp"

namespace vlo {

class TimerService;

// A timer embedded in its owner. The callback is set once; arming and cancelling are cheap.
class Timer {
public:
    Timer(TimerService& service, std::function<void()> fn)
        : service_(service), fn_(std::move(fn)), slot_(std::make_shared<Slot>(Slot{this})) {}
    ~Timer();  // cancels and waits for a running callback
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    void arm(Nanos expires);  // mod_timer: (re)arm at an absolute time on the service's clock
    void cancel();            // del_timer
    bool pending() const;
    Nanos expires() const;

private:
    friend class TimerService;
    // What the heap refers to: it outlives the Timer, so a stale heap entry never touches freed
    // memory. All fields guarded by the service's mutex.
    struct Slot {
        Timer* timer;            // null once the Timer is gone
        std::uint64_t gen = 0;   // bumps on arm/cancel: older heap entries are stale
        bool armed = false;
        Nanos expires = 0;
        Nanos queued_at = 0;     // expiry of our live heap entry: later deadlines are deferred
    };
    TimerService& service_;
    std::function<void()> fn_;
    std::shared_ptr<Slot> slot_;
};

class TimerService {
public:
    TimerService(const Clock& clock, NetRx& rx);
    ~TimerService();  // stops the thread
    TimerService(const TimerService&) = delete;
    TimerService& operator=(const TimerService&) = delete;

    const Clock& clock() const { return clock_; }
    // Stops the thread; timers no longer fire (owners may still arm and cancel).
    void stop();
    // Runs every timer due by now (the virtual clock's driver; harmless otherwise).
    void run_due();

private:
    friend class Timer;
    struct Entry {
        Nanos expires;
        std::uint64_t gen;
        std::shared_ptr<Timer::Slot> slot;
        bool operator>(const Entry& o) const { return expires > o.expires; }
    };
    void thread_main();

    const Clock& clock_;
    NetRx& rx_;
    mutable std::mutex mu_;
    std::condition_variable changed_;
    std::condition_variable idle_;  // a callback finished
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap_;
    // When the thread will next look at the heap: an arm that expires sooner must wake it.
    static constexpr Nanos kSleepsForever = INT64_MAX;
    static constexpr Nanos kLooksAgainNow = INT64_MIN;
    Nanos wake_at_ = kSleepsForever;
    const Timer* running_ = nullptr;
    std::thread::id running_thread_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace vlo
