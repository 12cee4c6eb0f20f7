// How a socket call waits for data: on a sequence counter that the receive path moves
// (sk_data_ready), without a mutex. The waiter sleeps on the counter's own word (futex), and
// the notifier makes a system call only when somebody sleeps; a condition variable's mutex is
// marked contended on every wakeup, so its next unlock costs a futex call whether or not anyone
// waits: two extra system calls per request/response. With the busypoll design the waiter
// polls the backlogs itself while a poller slot is free (sk_busy_loop).
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

// Empty polls between two yields of a busy-polling waiter: some tens of microseconds.
inline constexpr unsigned kBusyPollSpinsPerYield = 256;

// Waits until ev moved past `seen` (true) or the stack clock passes `deadline` (false).
bool wait_for_seq(NetRx& rx, SeqEvent& ev, std::uint32_t seen, std::optional<Nanos> deadline);

// A socket's wait: `lock` (anything with unlock() and lock(): the queue's mutex, or a TCP
// socket's ownership) is held on entry and on return; the receive path changes what ready()
// reads under it and calls ev.notify_all() after. Returns ready(), true as soon as it holds,
// or what it is at the deadline.
template <class Lock, class Ready>
bool wait_until_ready(NetRx& rx, SeqEvent& ev, Lock& lock, Ready ready, std::optional<Nanos> deadline) {
    while (!ready()) {
        // Read under the lock: a change after it moves the counter after this read.
        const std::uint32_t seen = ev.current();
        lock.unlock();
        const bool moved = wait_for_seq(rx, ev, seen, deadline);
        lock.lock();
        if (!moved) return ready();
    }
    return true;
}

}  // namespace vlo
