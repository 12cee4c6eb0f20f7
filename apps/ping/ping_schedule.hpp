// When iputils ping sends its next echo request (ping_common.c, pinger()): a token bucket of
// `interval` ms per request holding up to `preload` requests, counted in whole milliseconds.
// An interval of 0 (-f, -i 0) is the special case: a request goes as soon as fewer than
// `preload` are in flight, and otherwise once MININTERVAL (10 ms) passed without a reply, so a
// silent peer is probed at most 100 times a second.
#pragma once

#include "netif/clock.hpp"

namespace vlo::ping {

inline constexpr long kMinIntervalMs = 10;     // MININTERVAL: the smallest gap ping waits
inline constexpr long kMinUserIntervalMs = 2;  // MINUSERINTERVAL: below it only root may flood

// SCHINT: an interval of at most MININTERVAL counts as MININTERVAL when ping waits.
constexpr long schint(long ms) { return ms <= kMinIntervalMs ? kMinIntervalMs : ms; }

class PingSchedule {
  public:
    PingSchedule(long interval_ms, long preload) : interval_(interval_ms), preload_(preload) {}

    // pinger's admission test at `now` with `in_flight` requests unanswered: 0 means a request
    // may go now (the bucket is charged for it); otherwise the ms to wait before asking again.
    long admit(Nanos now, long in_flight);
    // What pinger returns after a request went: ms until the next one is due (<= 0: at once).
    long after_send() const { return interval_ - tokens_; }
    // A send failed for good (ENOBUFS aside): the bucket empties, as pinger's error paths do.
    void reset_tokens() { tokens_ = 0; }
    // When the last request was admitted (rts->cur_time): finish() reports the run's time by it.
    Nanos last_admitted() const { return cur_; }
    long interval_ms() const { return interval_; }

  private:
    long interval_;
    long preload_;
    bool started_ = false;
    Nanos cur_ = 0;
    long tokens_ = 0;
};

}  // namespace vlo::ping
