#include "netif/clock.hpp"

#include <ctime>

namespace vlo {

Nanos MonotonicClock::now_ns() const {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return Nanos{ts.tv_sec} * kNsPerSec + ts.tv_nsec;
}

Nanos MonotonicClock::coarse_now_ns() const {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return Nanos{ts.tv_sec} * kNsPerSec + ts.tv_nsec;
}

void VirtualClock::advance(Nanos by) {
    std::lock_guard lock(mu_);
    const Nanos target = now_ns() + by;
    // Each round: the earliest expiry among the listeners, if it falls by the target; the time
    // moves there and everything due runs. A callback that re-arms for a time already past is
    // run again, a bounded number of times.
    for (int stalled = 0; stalled < 1000;) {
        std::optional<Nanos> due;
        for (ClockListener* l : listeners_)
            if (auto e = l->next_expiry(); e && (!due || *e < *due)) due = e;
        if (!due || *due > target) break;
        if (*due > now_ns())
            set(*due), stalled = 0;
        else
            ++stalled;
        for (ClockListener* l : listeners_) l->run_due();
    }
    set(target);
    for (ClockListener* l : listeners_) l->run_due();
}

void VirtualClock::attach(ClockListener& l) const {
    std::lock_guard lock(mu_);
    listeners_.push_back(&l);
}

void VirtualClock::detach(ClockListener& l) const {
    std::lock_guard lock(mu_);
    std::erase(listeners_, &l);
}

MonotonicClock& MonotonicClock::instance() {
    static MonotonicClock clock;
    return clock;
}

}  // namespace vlo
