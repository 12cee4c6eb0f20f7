#include "stack/timer_service.hpp"

#include "netif/cpu.hpp"

namespace vlo {

Timer::~Timer() {
    std::unique_lock lock(service_.mu_);
    slot_->timer = nullptr;
    slot_->armed = false;
    ++slot_->gen;
    // A callback of ours running on another thread must finish before we go away.
    service_.idle_.wait(lock, [&] {
        return service_.running_ != this || service_.running_thread_ == std::this_thread::get_id();
    });
}

void Timer::arm(Nanos expires) {
    std::lock_guard lock(service_.mu_);
    Slot& s = *slot_;
    s.expires = expires;
    // Pushed back (the common case: a retransmission timer on every ACK): keep the earlier heap
    // entry, which re-queues itself at `expires` when it comes up.
    if (s.armed && s.queued_at <= expires) return;
    s.armed = true;
    s.queued_at = expires;
    service_.heap_.push({expires, ++s.gen, slot_});
    // Wake the thread only if it sleeps past the new expiry: a wakeup per arm cost two
    // context switches per TCP segment (the delayed-ACK timer is re-armed for every one).
    if (expires < service_.wake_at_) {
        service_.wake_at_ = expires;
        service_.changed_.notify_one();
    }
}

void Timer::cancel() {
    std::lock_guard lock(service_.mu_);
    slot_->armed = false;
    ++slot_->gen;
}

bool Timer::pending() const {
    std::lock_guard lock(service_.mu_);
    return slot_->armed;
}

Nanos Timer::expires() const {
    std::lock_guard lock(service_.mu_);
    return slot_->expires;
}

TimerService::TimerService(const Clock& clock, NetRx& rx) : clock_(clock), rx_(rx) {
    if (!clock_.is_virtual()) thread_ = std::thread([this] { thread_main(); });
}

TimerService::~TimerService() { stop(); }

void TimerService::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        changed_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
}

void TimerService::run_due() {
    std::unique_lock lock(mu_);
    for (;;) {
        if (stopping_) return;
        if (heap_.empty() || heap_.top().expires > clock_.now_ns()) return;
        const Entry e = heap_.top();
        heap_.pop();
        Timer::Slot& s = *e.slot;
        if (!s.timer || e.gen != s.gen || !s.armed) continue;  // gone, cancelled or re-armed
        if (s.expires > e.expires) {  // pushed back since it was queued
            s.queued_at = s.expires;
            heap_.push({s.expires, e.gen, e.slot});
            continue;
        }
        s.armed = false;
        Timer* timer = s.timer;
        running_ = timer;
        running_thread_ = std::this_thread::get_id();
        lock.unlock();
        {
            BhDisabled bh(rx_);  // TIMER_SOFTIRQ context
            timer->fn_();
        }
        lock.lock();
        running_ = nullptr;
        idle_.notify_all();
    }
}

void TimerService::thread_main() {
    name_this_thread("vlo-timers");  // the kernel's timer softirq, as a thread
    std::unique_lock lock(mu_);
    while (!stopping_) {
        if (heap_.empty()) {
            wake_at_ = kSleepsForever;
            changed_.wait(lock);
            continue;
        }
        const Nanos wait = heap_.top().expires - clock_.now_ns();
        if (wait > 0) {
            wake_at_ = heap_.top().expires;
            changed_.wait_for(lock, std::chrono::nanoseconds(wait));
            continue;
        }
        wake_at_ = kLooksAgainNow;  // it reads the heap again when run_due returns
        lock.unlock();
        run_due();
        lock.lock();
    }
}

}  // namespace vlo
