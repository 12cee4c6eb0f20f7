#include "stack/timer_service.hpp"

#include "netif/cpu.hpp"

namespace vlo {

Timer::~Timer() {
    std::unique_lock lock(service_.mu_);
    if (heap_index_ != kNotQueued) service_.dequeue(*this);
    // A callback of ours running on another thread must finish before we go away.
    service_.idle_.wait(lock, [&] {
        return service_.running_ != this || service_.running_thread_ == std::this_thread::get_id();
    });
}

void Timer::arm(Nanos expires) {
    std::lock_guard lock(service_.mu_);
    expires_ = expires;
    if (heap_index_ == kNotQueued)
        service_.enqueue(*this);
    else
        service_.restore_order(heap_index_);
    // Wake the thread only if it sleeps past the new expiry: a wakeup per arm cost two
    // context switches per TCP segment (the delayed-ACK timer is re-armed for every one).
    if (expires < service_.wake_at_) {
        service_.wake_at_ = expires;
        service_.changed_.notify_one();
    }
}

void Timer::cancel() {
    // Not queued now stays so unless our owner arms it, and the owner is the caller; a timer
    // the service has just taken off is about to run, which the mutex could not stop either.
    if (!queued_.load(std::memory_order_acquire)) return;
    std::lock_guard lock(service_.mu_);
    if (heap_index_ != kNotQueued) service_.dequeue(*this);
}

bool Timer::pending() const { return queued_.load(std::memory_order_acquire); }

Nanos Timer::expires() const {
    std::lock_guard lock(service_.mu_);
    return expires_;
}

// ---- the heap ----

void TimerService::place(Timer* t, std::size_t i) {
    heap_[i] = t;
    t->heap_index_ = i;
}

bool TimerService::sift_up(std::size_t i) {
    Timer* t = heap_[i];
    const std::size_t from = i;
    while (i > 0) {
        const std::size_t parent = (i - 1) / 2;
        if (heap_[parent]->expires_ <= t->expires_) break;
        place(heap_[parent], i);
        i = parent;
    }
    place(t, i);
    return i != from;
}

void TimerService::sift_down(std::size_t i) {
    Timer* t = heap_[i];
    const std::size_t n = heap_.size();
    for (;;) {
        std::size_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && heap_[child + 1]->expires_ < heap_[child]->expires_) ++child;
        if (t->expires_ <= heap_[child]->expires_) break;
        place(heap_[child], i);
        i = child;
    }
    place(t, i);
}

void TimerService::restore_order(std::size_t i) {
    if (!sift_up(i)) sift_down(i);
}

void TimerService::enqueue(Timer& t) {
    heap_.push_back(&t);
    t.heap_index_ = heap_.size() - 1;
    t.queued_.store(true, std::memory_order_release);
    sift_up(t.heap_index_);
}

void TimerService::dequeue(Timer& t) {
    const std::size_t i = t.heap_index_;
    Timer* last = heap_.back();
    heap_.pop_back();
    t.heap_index_ = Timer::kNotQueued;
    t.queued_.store(false, std::memory_order_release);
    if (i < heap_.size()) {
        place(last, i);
        restore_order(i);
    }
}

TimerService::TimerService(const Clock& clock, NetRx& rx) : clock_(clock), rx_(rx) {
    if (const auto* v = dynamic_cast<const VirtualClock*>(&clock_))
        v->attach(*this);
    else if (!clock_.is_virtual())
        thread_ = std::thread([this] { thread_main(); });
}

TimerService::~TimerService() {
    stop();
    if (const auto* v = dynamic_cast<const VirtualClock*>(&clock_)) v->detach(*this);
}

void TimerService::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        changed_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
}

std::optional<Nanos> TimerService::next_expiry() const {
    std::lock_guard lock(mu_);
    if (heap_.empty() || stopping_) return std::nullopt;
    return heap_.front()->expires_;
}

void TimerService::run_due() {
    std::unique_lock lock(mu_);
    for (;;) {
        if (stopping_) return;
        if (heap_.empty() || heap_.front()->expires_ > clock_.now_ns()) return;
        Timer* timer = heap_.front();
        dequeue(*timer);
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
        const Nanos wait = heap_.front()->expires_ - clock_.now_ns();
        if (wait > 0) {
            wake_at_ = heap_.front()->expires_;
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
