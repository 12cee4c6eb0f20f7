// What a cell reads before and after its timed loop (never per operation): the process's CPU
// time and context switches (getrusage), heap and resident memory, and the kernel's own
// /proc/net/softnet_stat for the kernel rows.
#pragma once

#include <cstdint>
#include <optional>

namespace vlo::lab {

// CLOCK_MONOTONIC in ns, the clock every cell times with.
std::int64_t mono_ns();

struct Usage {
    std::int64_t cpu_ns = 0;        // ru_utime + ru_stime, all threads of the process
    std::int64_t ctx_switches = 0;  // ru_nvcsw + ru_nivcsw
    static Usage now();
    Usage operator-(const Usage& o) const {
        return {cpu_ns - o.cpu_ns, ctx_switches - o.ctx_switches};
    }
};

// Bytes of heap in use (mallinfo2: arena + mmapped chunks; the resident set where another
// allocator replaced glibc's) and the resident set.
std::uint64_t heap_in_use();
std::uint64_t resident_bytes();

// The sums over all CPUs of /proc/net/softnet_stat's processed, dropped and time_squeeze.
struct KernelSoftnet {
    std::uint64_t processed = 0, dropped = 0, time_squeeze = 0;
    static std::optional<KernelSoftnet> read();
};

}  // namespace vlo::lab
