// How a socket call waits for data, per the worker design: with busypoll the waiting thread
// polls the backlogs itself (sk_busy_loop) while a poller slot is free; otherwise it sleeps on
// the socket's condition variable until the receive path wakes it (sk_data_ready).
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "netif/net_rx.hpp"

namespace vlo {

// Empty polls between two yields of a busy-polling waiter: some tens of microseconds.
inline constexpr unsigned kBusyPollSpinsPerYield = 256;

// Waits until pred() holds (true) or the stack clock passes deadline (false). `lock` holds the
// socket mutex on entry and on return.
template <class Pred>
bool wait_for_data(NetRx& rx, std::unique_lock<std::mutex>& lock, std::condition_variable& cv, Pred pred,
                   std::optional<Nanos> deadline) {
    const Clock& clock = rx.clock();
    if (pred()) return true;
    if (rx.busy_poll_begin()) {
        struct End {
            NetRx& rx;
            ~End() { rx.busy_poll_end(); }
        } end{rx};
        for (unsigned idle = 0;;) {
            lock.unlock();
            // sk_busy_loop stops spinning when need_resched(): after a while with nothing to
            // do, let a thread that wants this core run (on a busy machine the peer we wait
            // for may be one). A yield per empty poll would cost a system call each.
            if (rx.busy_poll_once())
                idle = 0;
            else if (++idle % kBusyPollSpinsPerYield == 0)
                std::this_thread::yield();
            lock.lock();
            if (pred()) return true;
            if (deadline && clock.now_ns() >= *deadline) return false;
        }
    }
    while (!pred()) {
        if (!deadline) {
            cv.wait(lock);
            continue;
        }
        const Nanos now = clock.now_ns();
        if (now >= *deadline) return false;
        // A virtual clock moves only when a test advances it: look again every 10 ms of real time.
        const Nanos slice = clock.is_virtual() ? 10 * kNsPerMs : *deadline - now;
        cv.wait_for(lock, std::chrono::nanoseconds(slice));
    }
    return true;
}

}  // namespace vlo
