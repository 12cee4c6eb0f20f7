// The "CPU" a thread runs on, in vlo's model. vlo has N logical CPUs (a setting); each thread is
// pinned to one when it first asks (round robin), ksoftirqd/N to N. A packet sent by a thread is
// queued on its CPU's backlog, as netif_rx queues on the sending CPU.
#pragma once

#include <cstdint>
#include <string>

namespace vlo {

// The thread's logical CPU index, unbounded; a NetRx reduces it modulo its CPU count.
unsigned this_cpu();
void set_this_cpu(unsigned cpu);
std::uint32_t this_thread_tid();
// What ps and trace viewers call the thread (at most 15 characters kept).
// Names are remembered after the thread ends, for traces read later; "" if never named.
void name_this_thread(const std::string& name);
std::string thread_name_of(std::uint32_t tid);

// Bottom-half state of the current thread, as preempt_count's softirq bits: while bh is disabled
// or a softirq runs, raising NET_RX does not process packets on the spot.
struct BhState {
    unsigned disable_depth = 0;
    bool in_softirq = false;
};
BhState& this_bh();

}  // namespace vlo
