#include "netif/cpu.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

namespace vlo {

namespace {
constexpr unsigned kUnassigned = ~0u;
std::atomic<unsigned> next_cpu{0};
thread_local unsigned tl_cpu = kUnassigned;
thread_local std::uint32_t tl_tid = 0;
thread_local BhState tl_bh;
}  // namespace

unsigned this_cpu() {
    if (tl_cpu == kUnassigned) [[unlikely]]
        tl_cpu = next_cpu.fetch_add(1, std::memory_order_relaxed);
    return tl_cpu;
}

void set_this_cpu(unsigned cpu) { tl_cpu = cpu; }

std::uint32_t this_thread_tid() {
    if (tl_tid == 0) [[unlikely]]
        tl_tid = static_cast<std::uint32_t>(::syscall(SYS_gettid));
    return tl_tid;
}

BhState& this_bh() { return tl_bh; }

}  // namespace vlo
