#include "stack/timer_service.hpp"

namespace vlo {

Timer::~Timer() {
    std::unique_lock lock(service_.mu_);
    armed_ = false;
    ++gen_;
    // A callback of ours running on another thread must finish before we go away.
    service_.idle_.wait(lock, [&] {
        return service_.running_ != this || service_.running_thread_ == std::this_thread::get_id();
    });
}

void Timer::arm(Nanos expires) {
    std::lock_guard lock(service_.mu_);
    expires_ = expires;
    // Pushed back (the common case: a retransmission timer on every ACK): keep the earlier heap
    // entry, which re-queues itself at expires_ when it comes up.
    if (armed_ && queued_at_ <= expires) return;
    armed_ = true;
    queued_at_ = expires;
    service_.heap_.push({expires, ++gen_, this});
    service_.changed_.notify_one();
}

void Timer::cancel() {
    std::lock_guard lock(service_.mu_);
    armed_ = false;
    ++gen_;
}

bool Timer::pending() const {
    std::lock_guard lock(service_.mu_);
    return armed_;
}

Nanos Timer::expires() const {
    std::lock_guard lock(service_.mu_);
    return expires_;
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
        if (e.gen != e.timer->gen_ || !e.timer->armed_) continue;  // cancelled or re-armed
        if (e.timer->expires_ > e.expires) {  // pushed back since it was queued
            e.timer->queued_at_ = e.timer->expires_;
            heap_.push({e.timer->expires_, e.gen, e.timer});
            continue;
        }
        e.timer->armed_ = false;
        running_ = e.timer;
        running_thread_ = std::this_thread::get_id();
        lock.unlock();
        {
            BhDisabled bh(rx_);  // TIMER_SOFTIRQ context
            e.timer->fn_();
        }
        lock.lock();
        running_ = nullptr;
        idle_.notify_all();
    }
}

void TimerService::thread_main() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        if (heap_.empty()) {
            changed_.wait(lock);
            continue;
        }
        const Nanos wait = heap_.top().expires - clock_.now_ns();
        if (wait > 0) {
            changed_.wait_for(lock, std::chrono::nanoseconds(wait));
            continue;
        }
        lock.unlock();
        run_due();
        lock.lock();
    }
}

}  // namespace vlo
