#include "apps/ping/ping_schedule.hpp"

namespace vlo::ping {

namespace {
// The whole ms between two CLOCK_MONOTONIC readings as pinger computes them: seconds apart
// times 1000, plus the nanosecond fields' difference divided (truncating toward zero) by 10^6.
long elapsed_ms(Nanos from, Nanos to) {
    const Nanos sec = to / kNsPerSec - from / kNsPerSec;
    const Nanos nsec = to % kNsPerSec - from % kNsPerSec;
    return static_cast<long>(sec * 1000 + nsec / 1'000'000);
}
}  // namespace

long PingSchedule::admit(Nanos now, long in_flight) {
    if (!started_) {
        // The first request always goes; preload - 1 more may follow at once.
        started_ = true;
        cur_ = now;
        tokens_ = interval_ * (preload_ - 1);
        return 0;
    }
    long ntokens = elapsed_ms(cur_, now);
    // Unlimited flood: with `preload` unanswered, wait for a reply, but no longer than
    // MININTERVAL since the last request.
    if (interval_ == 0 && ntokens < kMinIntervalMs && in_flight >= preload_)
        return kMinIntervalMs - ntokens;
    ntokens += tokens_;
    const long cap = interval_ * preload_;
    if (cap < ntokens) ntokens = cap;
    if (ntokens < interval_) return interval_ - ntokens;
    cur_ = now;
    tokens_ = ntokens - interval_;
    return 0;
}

}  // namespace vlo::ping
