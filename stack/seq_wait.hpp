// Waiting for a sequence counter to move, without a mutex: the waiter sleeps on the counter's
// own word (futex), and the notifier makes a system call only when somebody sleeps. A
// condition variable's mutex is marked contended on every wakeup, so its next unlock costs a
// futex call whether or not anyone waits: two extra system calls per request/response.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "netif/net_rx.hpp"

namespace vlo {

struct SeqEvent {
    std::atomic<std::uint32_t> seq{0};
    std::atomic<std::uint32_t> sleepers{0};

    std::uint32_t current() const { return seq.load(); }
    // Moves the sequence on and wakes every sleeper.
    void notify_all();
};

// Waits until ev moved past `seen` (true) or the stack clock passes `deadline` (false). With the
// busypoll design the waiter polls the backlogs itself while a poller slot is free
// (sk_busy_loop), as wait_for_data does.
bool wait_for_seq(NetRx& rx, SeqEvent& ev, std::uint32_t seen, std::optional<Nanos> deadline);

}  // namespace vlo
