#include "posix/eventpoll.hpp"

#include <cerrno>
#include <climits>

#include "posix/net.hpp"
#include "posix/syscalls.hpp"

namespace vlo::posix {

namespace {
// EPOLLEXCLUSIVE may only come with these (EPOLLEXCLUSIVE_OK_BITS).
constexpr unsigned kExclusiveOk = EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLRDBAND | EPOLLWRNORM |
                                  EPOLLWRBAND | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET |
                                  EPOLLEXCLUSIVE;
// EP_PRIVATE_BITS: what a disarmed (one-shot, reported) item keeps.
constexpr unsigned kPrivate = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
constexpr unsigned kWatchable = ~kPrivate;

unsigned classes_of(unsigned events) {
    unsigned c = 0;
    if (events & (EPOLLIN | EPOLLRDNORM | EPOLLRDBAND | EPOLLPRI | EPOLLRDHUP)) c |= 1u << kWakeIn;
    if (events & (EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND)) c |= 1u << kWakeOut;
    c |= 1u << kWakeErr;  // EPOLLERR and EPOLLHUP are always watched
    return c;
}
}  // namespace

unsigned EventPoll::check(Item& it, bool consume) {
    auto f = it.file.lock();
    if (!f) return 0;
    const unsigned want = it.event.events & kWatchable;
    if (!want) return 0;  // a one-shot item already reported
    if (it.event.events & EPOLLET) {
        const std::uint64_t gen = f->wake_generation(classes_of(want));
        if (!it.armed_edge && gen == it.seen) return 0;
        if (consume) {
            it.seen = gen;
            it.armed_edge = false;
        }
    }
    return f->poll() & want;
}

unsigned EventPoll::poll() {
    std::lock_guard l(mu_);
    for (Item& it : items_)
        if (check(it, false)) return EPOLLIN | EPOLLRDNORM;
    return 0;
}

bool EventPoll::reaches(const EventPoll* target) {
    if (this == target) return true;
    std::lock_guard l(mu_);
    for (Item& it : items_)
        if (auto f = it.file.lock())
            if (EventPoll* e = f->epoll(); e && e->reaches(target)) return true;
    return false;
}

long EventPoll::ctl(int op, int fd, const std::shared_ptr<File>& file, const epoll_event* ev) {
    std::unique_lock l(mu_);
    auto it = items_.begin();
    for (; it != items_.end(); ++it)
        if (it->fd == fd && it->file.lock() == file) break;
    switch (op) {
        case EPOLL_CTL_ADD: {
            if (it != items_.end()) return -EEXIST;
            if (EventPoll* e = file->epoll()) {
                l.unlock();
                if (e->reaches(this)) return -ELOOP;
                l.lock();
            }
            Item item{fd, file, *ev, true, 0};
            item.event.events |= EPOLLERR | EPOLLHUP;
            items_.push_back(item);
            return 0;
        }
        case EPOLL_CTL_MOD: {
            if (it == items_.end()) return -ENOENT;
            if (it->event.events & EPOLLEXCLUSIVE) return -EINVAL;  // ep_modify refuses
            it->event = *ev;
            it->event.events |= EPOLLERR | EPOLLHUP;
            it->armed_edge = true;  // ep_modify polls the file and queues it if ready
            return 0;
        }
        case EPOLL_CTL_DEL:
            if (it == items_.end()) return -ENOENT;
            items_.erase(it);
            return 0;
        default:
            return -EINVAL;
    }
}

int EventPoll::send_events(epoll_event* out, int max) {
    std::lock_guard l(mu_);
    int n = 0;
    std::list<Item> reported;  // level-triggered items go to the back, after the others
    for (auto it = items_.begin(); it != items_.end() && n < max;) {
        if (it->file.expired()) {  // closed: eventpoll_release removed it
            it = items_.erase(it);
            continue;
        }
        const unsigned revents = check(*it, true);
        if (!revents) {
            ++it;
            continue;
        }
        out[n].events = revents;
        out[n].data = it->event.data;
        ++n;
        if (it->event.events & EPOLLONESHOT) it->event.events &= kPrivate;
        if (!(it->event.events & EPOLLET)) {
            auto next = std::next(it);
            reported.splice(reported.end(), items_, it);
            it = next;
        } else {
            ++it;
        }
    }
    items_.splice(items_.end(), reported);
    return n;
}

long sys_epoll_create1(Net& net, int flags) {
    if (flags & ~EPOLL_CLOEXEC) return -EINVAL;
    return net.fds().install(std::make_shared<EventPoll>(net), (flags & EPOLL_CLOEXEC) != 0);
}

long sys_epoll_create(Net& net, int size) {
    if (size <= 0) return -EINVAL;
    return sys_epoll_create1(net, 0);
}

// do_epoll_ctl, its checks in order.
long sys_epoll_ctl(Net& net, int epfd, int op, int fd, epoll_event* event) {
    const bool has_event = op != EPOLL_CTL_DEL;
    if (has_event && !event) return -EFAULT;
    auto ef = net.fds().get(epfd);
    if (!ef) return -EBADF;
    auto tf = net.fds().get(fd);
    if (!tf) return -EBADF;
    EventPoll* ep = ef->epoll();
    if (ef == tf || !ep) return -EINVAL;
    epoll_event ev{};
    if (has_event) {
        ev = *event;
        if (ev.events & EPOLLEXCLUSIVE) {
            if (op == EPOLL_CTL_MOD) return -EINVAL;
            if (op == EPOLL_CTL_ADD && (tf->epoll() || (ev.events & ~kExclusiveOk))) return -EINVAL;
        }
    }
    if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL) return -EINVAL;
    return ep->ctl(op, fd, tf, has_event ? &ev : nullptr);
}

long sys_epoll_wait(Net& net, int epfd, epoll_event* events, int maxevents, int timeout_ms) {
    if (maxevents <= 0 || maxevents > static_cast<int>(INT_MAX / sizeof(epoll_event)))
        return -EINVAL;
    if (!events) return -EFAULT;
    auto ef = net.fds().get(epfd);
    if (!ef) return -EBADF;
    EventPoll* ep = ef->epoll();
    if (!ep) return -EINVAL;
    const auto deadline = timeout_ms < 0
                              ? std::nullopt
                              : std::optional<Nanos>(net.now() + Nanos{timeout_ms} * kNsPerMs);
    for (;;) {
        const std::uint32_t seen = net.events().current();
        if (int n = ep->send_events(events, maxevents)) return n;
        if (timeout_ms == 0) return 0;
        if (!net.wait(seen, deadline)) return ep->send_events(events, maxevents);
    }
}

}  // namespace vlo::posix
