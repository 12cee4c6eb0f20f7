#include "stack/seq_wait.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <ctime>
#include <thread>

namespace vlo {

namespace {
std::uint32_t* word(std::atomic<std::uint32_t>& a) { return reinterpret_cast<std::uint32_t*>(&a); }
}  // namespace

void SeqEvent::notify_all() {
    seq.fetch_add(1);  // seq_cst, paired with the sleeper's count then look (Dekker)
    if (sleepers.load() != 0)
        syscall(SYS_futex, word(seq), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

bool wait_for_seq(NetRx& rx, SeqEvent& ev, std::uint32_t seen, std::optional<Nanos> deadline) {
    const Clock& clock = rx.clock();
    if (ev.current() != seen) return true;
    if (rx.busy_poll_begin()) {
        struct End {
            NetRx& rx;
            ~End() { rx.busy_poll_end(); }
        } end{rx};
        for (unsigned spins = 0, idle = 0;; ++spins) {
            // sk_busy_loop stops spinning at need_resched(): after a while with nothing to do,
            // let a thread that wants this core run (on a busy machine the peer we wait for
            // may be one). A yield per empty poll would cost a system call each.
            if (rx.busy_poll_once())
                idle = 0;
            else if (++idle % kBusyPollSpinsPerYield == 0)
                std::this_thread::yield();
            if (ev.current() != seen) return true;
            // The clock every 64 polls: reading it cost more than an empty poll.
            if (deadline && spins % 64 == 63 && clock.now_ns() >= *deadline) return false;
        }
    }
    ev.sleepers.fetch_add(1);
    bool moved = true;
    while (ev.current() == seen) {
        timespec ts{};
        const timespec* timeout = nullptr;
        if (deadline) {
            const Nanos now = clock.now_ns();
            if (now >= *deadline) {
                moved = false;
                break;
            }
            // A virtual clock moves only when a test advances it: look again every 10 ms.
            const Nanos slice = clock.is_virtual() ? 10 * kNsPerMs : *deadline - now;
            ts.tv_sec = static_cast<time_t>(slice / kNsPerSec);
            ts.tv_nsec = static_cast<long>(slice % kNsPerSec);
            timeout = &ts;
        }
        // Sleeps only if the word still holds `seen`: a notify in between is never lost.
        syscall(SYS_futex, word(ev.seq), FUTEX_WAIT_PRIVATE, seen, timeout, nullptr, 0);
    }
    ev.sleepers.fetch_sub(1);
    return moved;
}

}  // namespace vlo
