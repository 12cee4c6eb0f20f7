#include "tools/lab/meters.hpp"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

namespace vlo::lab {

std::int64_t mono_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

Usage Usage::now() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto ns = [](const timeval& tv) {
        return std::int64_t{tv.tv_sec} * 1'000'000'000 + std::int64_t{tv.tv_usec} * 1000;
    };
    return {ns(ru.ru_utime) + ns(ru.ru_stime), ru.ru_nvcsw + ru.ru_nivcsw};
}

std::uint64_t heap_in_use() {
    const struct mallinfo2 mi = mallinfo2();
    const std::uint64_t bytes = mi.uordblks + mi.hblkhd;
    // A replaced allocator (AddressSanitizer's) leaves glibc's figures at zero: the resident
    // set is the nearest measure then.
    return bytes ? bytes : resident_bytes();
}

std::uint64_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::uint64_t size = 0, resident = 0;
    statm >> size >> resident;
    return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

std::optional<KernelSoftnet> KernelSoftnet::read() {
    std::ifstream in("/proc/net/softnet_stat");
    if (!in) return std::nullopt;
    KernelSoftnet k;
    for (std::string line; std::getline(in, line);) {
        std::istringstream cols(line);
        std::uint64_t processed = 0, dropped = 0, squeeze = 0;
        cols >> std::hex >> processed >> dropped >> squeeze;
        k.processed += processed;
        k.dropped += dropped;
        k.time_squeeze += squeeze;
    }
    return k;
}

}  // namespace vlo::lab
