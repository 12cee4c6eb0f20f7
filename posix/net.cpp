#include "posix/net.hpp"

#include <algorithm>

#include "posix/file.hpp"
#include "stack/stack.hpp"

namespace vlo::posix {

void File::wake() {
    raw_.fetch_add(1);
    if (!keyed_)
        for (auto& g : gens_) g.fetch_add(1);
    net_.events().notify_all();
}

std::uint64_t File::wake_generation(unsigned classes) {
    if (keyed_) sort_wakeups();
    std::uint64_t sum = 0;
    for (unsigned c = 0; c < gens_.size(); ++c)
        if (classes & (1u << c)) sum += gens_[c].load();
    return sum;
}

Net::Net(Stack& stack, VirtualClock* vclock, TimeMode mode)
    : stack_(stack), vclock_(vclock), mode_(mode) {
    if (!vclock_) mode_ = TimeMode::real;
}

Net::~Net() {
    // Close every descriptor (do_exit → exit_files); the files go before the stack does.
    auto files = fds_.remove_all();
    files.clear();
}

Nanos Net::now() const { return stack_.clock().now_ns(); }

std::optional<Nanos> Net::deadline_after(std::optional<Nanos> timeout) const {
    if (!timeout) return std::nullopt;
    return now() + *timeout;
}

void Net::advance_to(Nanos t) {
    if (!vclock_) return;
    TimerService& timers = stack_.timers();
    for (;;) {
        const std::optional<Nanos> next = timers.next_expiry();
        if (!next || *next > t) break;
        if (*next > vclock_->now_ns()) vclock_->set(*next);
        timers.run_due();
    }
    if (t > vclock_->now_ns()) vclock_->set(t);
    timers.run_due();
    // A waiter whose deadline has now passed must look at the clock again.
    events_.notify_all();
}

bool Net::asleep(int threads) {
    std::lock_guard l(sleepers_mu_);
    if (static_cast<int>(sleepers_.size()) < threads) return false;
    const std::uint32_t now_seq = events_.current();
    for (std::uint32_t seen : sleepers_)
        if (seen != now_seq) return false;
    return true;
}

bool Net::wait(std::uint32_t seen, std::optional<Nanos> deadline) {
    struct Sleeper {
        Net& net;
        std::multiset<std::uint32_t>::iterator it;
        Sleeper(Net& n, std::uint32_t seen) : net(n) {
            std::lock_guard l(net.sleepers_mu_);
            it = net.sleepers_.insert(seen);
        }
        ~Sleeper() {
            std::lock_guard l(net.sleepers_mu_);
            net.sleepers_.erase(it);
        }
    } sleeper(*this, seen);
    for (;;) {
        if (events_.current() != seen) return true;
        if (deadline && now() >= *deadline) return false;
        if (mode_ == TimeMode::auto_advance) {
            std::optional<Nanos> target = stack_.timers().next_expiry();
            if (deadline && (!target || *deadline < *target)) target = deadline;
            if (target) {
                advance_to(std::max(*target, now()));
                // advance_to moved events_: look at the caller's condition again.
                return true;
            }
        }
        // Nothing this thread can run: another thread (or packetdrill moving the clock) must.
        if (!wait_for_seq(stack_.net_rx(), events_, seen, deadline)) return false;
    }
}

}  // namespace vlo::posix
