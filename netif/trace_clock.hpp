// The clock trace stamps read: the TSC, calibrated once against CLOCK_MONOTONIC, so a stamp
// costs a rdtsc and a multiply (~11 ns here) instead of clock_gettime (~26 ns). Readings are in
// CLOCK_MONOTONIC's nanoseconds, comparable with the stack's MonotonicClock. Without an
// invariant TSC (or off x86) it is clock_gettime.
#pragma once

#include <cstdint>

namespace vlo {

std::int64_t trace_clock_ns();

// Whether trace_clock_ns reads the TSC (false: clock_gettime).
bool trace_clock_uses_tsc();

}  // namespace vlo
