// Timers for the protocols (kernel/time/timer.c, reduced): retransmission, delayed ACK,
// keepalive, TIME_WAIT. Callbacks run as TIMER_SOFTIRQ does: bottom halves off, so what they
// send is received after they return. Under a real clock a thread runs them; under a virtual
// clock they run when the test advances time (Stack::advance), so a 60 s timeout costs nothing.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "netif/net_rx.hpp"

namespace vlo {

class TimerService;

// A timer embedded in its owner. The callback is set once; arming and cancelling are cheap and
// allocate nothing.
class Timer {
public:
    Timer(TimerService& service, std::function<void()> fn) : service_(service), fn_(std::move(fn)) {}
    ~Timer();  // cancels and waits for a running callback
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    void arm(Nanos expires);  // mod_timer: (re)arm at an absolute time on the service's clock
    void cancel();            // del_timer
    bool pending() const;
    Nanos expires() const;

private:
    friend class TimerService;
    static constexpr std::size_t kNotQueued = SIZE_MAX;
    TimerService& service_;
    std::function<void()> fn_;
    // Guarded by the service's mutex.
    Nanos expires_ = 0;
    std::size_t heap_index_ = kNotQueued;  // its place in the service's heap while armed
    // Written with heap_index_, read without the mutex: cancelling a timer that is not armed
    // (most cancels: a delayed ACK that a piggybacked one made moot) takes no lock.
    std::atomic<bool> queued_{false};
};

class TimerService final : public ClockListener {
  public:
    // Under a VirtualClock it attaches to the clock, whose advance then runs its timers.
    TimerService(const Clock& clock, NetRx& rx);
    ~TimerService() override;  // stops the thread, detaches from a virtual clock
    TimerService(const TimerService&) = delete;
    TimerService& operator=(const TimerService&) = delete;

    const Clock& clock() const { return clock_; }
    // Stops the thread; timers no longer fire (owners may still arm and cancel).
    void stop();
    // Runs every timer due by now (the virtual clock's driver; harmless otherwise).
    void run_due() override;
    // When the earliest armed timer expires, if any: how far a virtual clock's driver may
    // move time before something happens (the next jiffy the kernel's timer wheel would run).
    std::optional<Nanos> next_expiry() const override;

  private:
    friend class Timer;
    // The heap's operations; the caller holds mu_.
    void enqueue(Timer& t);
    void dequeue(Timer& t);
    void restore_order(std::size_t i);  // after heap_[i]'s expiry changed
    bool sift_up(std::size_t i);
    void sift_down(std::size_t i);
    void place(Timer* t, std::size_t i);
    void thread_main();

    const Clock& clock_;
    NetRx& rx_;
    mutable std::mutex mu_;
    std::condition_variable changed_;
    std::condition_variable idle_;  // a callback finished
    // A min-heap of the armed timers on their expiry, each timer knowing its index: cancelling
    // or re-arming works in place, so the heap never holds stale entries (a lazily deleted heap
    // grew by one entry per delayed ACK until the entry's 40 ms came, and reallocated in the
    // steady state). Like the kernel's timer wheel, a timer is queued at most once.
    std::vector<Timer*> heap_;
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
