#include "netif/trace_clock.hpp"

#include <time.h>

#include <fstream>
#include <string>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace vlo {

namespace {

std::int64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// The TSC ticks at a constant rate across P-states and C-states only if the CPU says so
// (constant_tsc and nonstop_tsc in /proc/cpuinfo's flags).
bool invariant_tsc() {
#if defined(__x86_64__)
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("flags", 0) == 0)
            return line.find(" constant_tsc") != std::string::npos && line.find(" nonstop_tsc") != std::string::npos;
#endif
    return false;
}

struct Calibration {
    bool tsc = false;
    std::uint64_t tsc0 = 0;
    std::int64_t ns0 = 0;
    double ns_per_tick = 0;

    Calibration() {
#if defined(__x86_64__)
        if (!invariant_tsc()) return;
        // Two pairs of (TSC, monotonic) 10 ms apart give the rate; each pair is read with the TSC
        // on both sides of clock_gettime to pin the instant down.
        auto pair = [](std::uint64_t& t, std::int64_t& ns) {
            const std::uint64_t a = __rdtsc();
            ns = monotonic_ns();
            t = a + (__rdtsc() - a) / 2;
        };
        std::uint64_t t1 = 0;
        std::int64_t n1 = 0;
        pair(tsc0, ns0);
        while (monotonic_ns() - ns0 < 10'000'000) {
        }
        pair(t1, n1);
        if (t1 <= tsc0) return;
        ns_per_tick = static_cast<double>(n1 - ns0) / static_cast<double>(t1 - tsc0);
        tsc = true;
#endif
    }
};

const Calibration& calibration() {
    static const Calibration c;
    return c;
}

}  // namespace

std::int64_t trace_clock_ns() {
#if defined(__x86_64__)
    const Calibration& c = calibration();
    if (c.tsc) [[likely]]
        return c.ns0 + static_cast<std::int64_t>(static_cast<double>(__rdtsc() - c.tsc0) * c.ns_per_tick);
#endif
    return monotonic_ns();
}

bool trace_clock_uses_tsc() { return calibration().tsc; }

}  // namespace vlo
