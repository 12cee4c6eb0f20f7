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

MonotonicClock& MonotonicClock::instance() {
    static MonotonicClock clock;
    return clock;
}

}  // namespace vlo
