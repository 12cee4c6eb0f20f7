// Where finished traces go. A traced packet that is freed, whether consumed by its receiver or
// dropped, leaves its trace here for whoever asked for it (vlo-ping --trace, a trace export).
// Bounded: past the capacity the oldest are dropped, and counted.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "netif/trace.hpp"
#include "netif/trace_clock.hpp"

namespace vlo {

class TraceLog {
public:
    static constexpr std::size_t kCapacity = 4096;

    static TraceLog& instance();

    void record(const Trace& trace);
    // The finished traces with this id, in the order they finished, taken out of the log.
    std::vector<Trace> take(std::uint64_t id);
    std::vector<Trace> take_all();
    std::uint64_t lost() const { return lost_.load(std::memory_order_relaxed); }

    // Whether anyone traces: NET_RX reads the clock at the start of a round only then.
    static bool active() { return active_.load(std::memory_order_relaxed) != 0; }
    // The first user also calibrates the trace clock (10 ms), so no traced packet waits for it.
    static void add_user() {
        trace_clock_ns();
        active_.fetch_add(1, std::memory_order_relaxed);
    }
    static void remove_user() { active_.fetch_sub(1, std::memory_order_relaxed); }

private:
    std::mutex mu_;
    std::deque<Trace> traces_;
    std::atomic<std::uint64_t> lost_{0};
    static inline std::atomic<int> active_{0};
};

}  // namespace vlo
