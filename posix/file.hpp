// struct file: what a descriptor refers to (a socket or an epoll instance), with the poll
// method every waiter uses (f_op->poll). The last reference going (__fput) is the destructor:
// a socket closes there, so a call still running in another thread keeps it alive.
// Its wait queue's wakeups are counted, so an edge-triggered epoll item can tell a new event
// from one it has already reported.
#pragma once

#include <fcntl.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

namespace vlo::posix {

class Net;
class Socket;
class EventPoll;

// The classes of wakeup a poll key names (ep_poll_callback's key): data or end of stream,
// write space, errors and hang-ups. An edge-triggered item is told about the classes it asked
// for only.
enum WakeClass : unsigned { kWakeIn = 0, kWakeOut = 1, kWakeErr = 2 };

class File {
  public:
    explicit File(Net& net) : net_(net) {}
    virtual ~File() = default;
    File(const File&) = delete;
    File& operator=(const File&) = delete;

    Net& net() { return net_; }
    // f_op->poll: the EPOLL* bits that hold now (POLL* share their values).
    virtual unsigned poll() = 0;
    virtual Socket* socket() { return nullptr; }
    virtual EventPoll* epoll() { return nullptr; }

    // f_flags: O_RDWR plus the status flags F_SETFL may change (O_NONBLOCK).
    int flags() const { return flags_.load(); }
    void set_flags(int f) { flags_.store(f); }
    bool nonblocking() const { return (flags() & O_NONBLOCK) != 0; }

    // A wakeup of the file's wait queue: counted, then every waiter of the Net looks again.
    void wake();
    // How many wakeups of the classes in `classes` (a mask of 1 << WakeClass) happened so far.
    // A protocol that can tell which class a wakeup was (keyed) refreshes them first.
    std::uint64_t wake_generation(unsigned classes);

  protected:
    // A protocol whose wakeups carry no key (TCP's single callback) sorts them here, from the
    // state it sees now; the default counts every wakeup in every class.
    virtual void sort_wakeups() {}
    void bump(WakeClass c) { gens_[c].fetch_add(1); }
    std::uint64_t raw_wakes() const { return raw_.load(); }
    bool keyed_ = false;  // set by a protocol that sorts its wakeups itself

  private:
    Net& net_;
    std::atomic<int> flags_{O_RDWR};
    std::atomic<std::uint64_t> raw_{0};
    std::array<std::atomic<std::uint64_t>, 3> gens_{};
};

}  // namespace vlo::posix
