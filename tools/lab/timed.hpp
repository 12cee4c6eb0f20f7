// The timed part of a cell, shared by the vlo and kernel workloads: a warm-up, then a loop of
// operations until the cell's time is up, each one's latency recorded in the preallocated
// histogram; CPU time and context switches are read once before and once after.
#pragma once

#include <algorithm>
#include <cstdint>

#include "tools/lab/cell.hpp"
#include "tools/lab/meters.hpp"

namespace vlo::lab {

enum class OpStatus { ok, retry, fatal };

inline constexpr std::uint64_t kMaxOpsPerCell = 1'000'000'000;  // a bound, never reached in seconds
inline constexpr std::uint64_t kMaxErrorsPerCell = 100;

// The warm-up before a cell's timed loop: a fifth of the cell, at most 50 ms.
inline double warmup_seconds(double seconds) { return std::min(0.05, seconds / 5); }

// Runs op for `seconds` without recording (warm-up), or false if it failed for good.
template <class Op>
bool warm_up(CellResult& r, double seconds, Op&& op) {
    const std::int64_t end = mono_ns() + static_cast<std::int64_t>(seconds * 1e9);
    for (std::uint64_t n = 0; n < kMaxOpsPerCell && mono_ns() < end; ++n) {
        const OpStatus s = op();
        if (s == OpStatus::fatal || (s == OpStatus::retry && ++r.errors > kMaxErrorsPerCell))
            return false;
    }
    return true;
}

// The timed loop: ops, latency and errors into r; `r.seconds` the wall time.
template <class Op>
void timed_loop(CellResult& r, double seconds, Op&& op) {
    const std::int64_t start = mono_ns();
    const std::int64_t end = start + static_cast<std::int64_t>(seconds * 1e9);
    std::int64_t t = start;
    std::uint64_t n = 0;
    while (t < end && n < kMaxOpsPerCell) {
        const OpStatus s = op();
        const std::int64_t t2 = mono_ns();
        if (s == OpStatus::ok) {
            r.latency.record(t2 - t);
            ++n;
        } else if (s == OpStatus::fatal || ++r.errors > kMaxErrorsPerCell) {
            r.ok = false;
            if (r.error.empty()) r.error = "operation failed";
            t = t2;
            break;
        }
        t = t2;
    }
    r.ops = n;
    r.seconds = static_cast<double>(t - start) / 1e9;
}

// Wraps a timed part: CPU time and context switches between construction and finish().
class UsageWindow {
  public:
    UsageWindow() : before_(Usage::now()) {}
    void finish(CellResult& r) const {
        const Usage d = Usage::now() - before_;
        r.cpu_ns = d.cpu_ns;
        r.ctx_switches = d.ctx_switches;
    }

  private:
    Usage before_;
};

}  // namespace vlo::lab
