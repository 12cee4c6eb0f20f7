#include "netif/cpu.hpp"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

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

namespace {
std::mutex names_mu;
std::unordered_map<std::uint32_t, std::string> names;  // tid -> name, kept after the thread ends
}  // namespace

void name_this_thread(const std::string& name) {
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    std::lock_guard lock(names_mu);
    names[this_thread_tid()] = name;
}

std::string thread_name_of(std::uint32_t tid) {
    std::lock_guard lock(names_mu);
    const auto it = names.find(tid);
    return it == names.end() ? std::string() : it->second;
}

}  // namespace vlo
