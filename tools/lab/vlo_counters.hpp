// The receive-path counters of a vlo stack a cell reports, summed over its CPUs: every drop the
// drop monitor saw, softnet_stat's dropped and time_squeeze, and where NET_RX ran.
#pragma once

#include <array>
#include <cstdint>

#include "stack/stack.hpp"
#include "tools/lab/cell.hpp"

namespace vlo::lab {

struct VloCounters {
    std::uint64_t all_drops = 0;      // kfree_skb_reason, every reason
    std::uint64_t backlog_drops = 0;  // softnet_stat dropped
    std::array<std::uint64_t, static_cast<std::size_t>(DropReason::count_)> by_reason{};
    std::uint64_t time_squeeze = 0;
    std::uint64_t runs_in_sender = 0, runs_in_ksoftirqd = 0, runs_in_busypoll = 0,
                  ksoftirqd_wakeups = 0;

    static VloCounters read(Stack& stack);
    VloCounters operator-(const VloCounters& o) const;
    // Into a result: drops = softnet_stat's dropped (as the kernel rows), every drop by its
    // reason, and the NET_RX figures.
    void store(CellResult& r) const;
};

}  // namespace vlo::lab
