// One process's view of a vlo stack: its descriptor table, and how its blocking calls wait.
// Every socket's wakeup moves one event counter; a blocked call (poll, epoll_wait, accept,
// connect, recv, send) re-checks its condition each time it moves, or at its deadline.
//
// Time: on a real clock a wait sleeps. On a virtual clock there are two modes:
//  - auto_advance: nothing but time can end a wait in a single-threaded program, so a
//    blocked call moves the clock to the next timer (or its deadline), running the timers on
//    the way, as a discrete-event simulation does: a 1 s SYN retransmission takes no real time.
//  - driven: somebody else (packetdrill's usleep) moves the clock; a wait only sleeps, and
//    wakes when the clock moves or a socket wakes.
#pragma once

#include <atomic>
#include <mutex>
#include <optional>
#include <set>

#include "netif/clock.hpp"
#include "posix/fd_table.hpp"
#include "stack/seq_wait.hpp"

namespace vlo {
class Stack;
}

namespace vlo::posix {

enum class TimeMode { real, auto_advance, driven };

class Net {
  public:
    // `vclock` is the stack's clock when it is virtual (null for a real clock).
    Net(Stack& stack, VirtualClock* vclock, TimeMode mode);
    ~Net();  // closes every descriptor still open
    Net(const Net&) = delete;
    Net& operator=(const Net&) = delete;

    Stack& stack() { return stack_; }
    FdTable& fds() { return fds_; }
    SeqEvent& events() { return events_; }
    Nanos now() const;
    TimeMode mode() const { return mode_; }

    // Waits until events() moved past `seen` (true) or the deadline passed (false).
    bool wait(std::uint32_t seen, std::optional<Nanos> deadline);
    // A relative timeout on the stack's clock as an absolute deadline (nullopt: forever).
    std::optional<Nanos> deadline_after(std::optional<Nanos> timeout) const;
    // Virtual clock only: moves time to `t`, running each timer at its own expiry on the way.
    void advance_to(Nanos t);
    // Whether at least `threads` threads are asleep in wait() with nothing new to see: the
    // calls they make cannot move until a socket wakes or the clock moves (packetdrill moves
    // time only then, so a woken call runs before the next timer is due).
    bool asleep(int threads);

  private:
    Stack& stack_;
    VirtualClock* vclock_;
    TimeMode mode_;
    FdTable fds_;
    SeqEvent events_;
    std::mutex sleepers_mu_;
    std::multiset<std::uint32_t> sleepers_;  // the `seen` of each thread in wait()
};

}  // namespace vlo::posix
