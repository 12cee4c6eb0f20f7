// fs/select.c: poll (do_sys_poll) and select (core_sys_select) over every file's poll method.
#include <algorithm>
#include <cerrno>

#include "posix/net.hpp"
#include "posix/syscalls.hpp"

namespace vlo::posix {

namespace {
// select's sets, as fs/select.c reads a file's mask.
constexpr unsigned kPollInSet = EPOLLRDNORM | EPOLLRDBAND | EPOLLIN | EPOLLHUP | EPOLLERR;
constexpr unsigned kPollOutSet = EPOLLWRBAND | EPOLLWRNORM | EPOLLOUT | EPOLLERR;
constexpr unsigned kPollExSet = EPOLLPRI;

std::optional<Nanos> deadline_ms(Net& net, int ms) {
    if (ms < 0) return std::nullopt;
    return net.now() + Nanos{ms} * kNsPerMs;
}
}  // namespace

long sys_poll(Net& net, pollfd* fds, nfds_t nfds, int timeout_ms) {
    if (nfds > static_cast<nfds_t>(FdTable::kNoFile)) return -EINVAL;  // RLIMIT_NOFILE
    if (nfds && !fds) return -EFAULT;
    const auto deadline = deadline_ms(net, timeout_ms);
    for (;;) {
        const std::uint32_t seen = net.events().current();
        long count = 0;
        for (nfds_t i = 0; i < nfds; ++i) {
            pollfd& p = fds[i];
            p.revents = 0;
            if (p.fd < 0) continue;
            auto f = net.fds().get(p.fd);
            if (!f) {
                p.revents = POLLNVAL;
            } else {
                // do_pollfd: POLLERR and POLLHUP are reported whether asked for or not.
                const unsigned want = static_cast<unsigned short>(p.events) | EPOLLERR | EPOLLHUP;
                p.revents = static_cast<short>(f->poll() & want);
            }
            if (p.revents) ++count;
        }
        if (count || timeout_ms == 0) return count;
        if (!net.wait(seen, deadline)) timeout_ms = 0;  // the deadline passed: one last look
    }
}

long sys_select(Net& net, int nfds, fd_set* in, fd_set* out, fd_set* ex, timeval* tv) {
    if (nfds < 0) return -EINVAL;
    if (nfds > FD_SETSIZE) nfds = FD_SETSIZE;
    std::optional<Nanos> deadline;
    bool immediate = false;
    if (tv) {
        if (tv->tv_sec < 0 || tv->tv_usec < 0) return -EINVAL;
        const Nanos t = Nanos{tv->tv_sec} * kNsPerSec + Nanos{tv->tv_usec} * kNsPerUs;
        immediate = t == 0;
        deadline = net.now() + t;
    }
    fd_set rin, win, ein;
    FD_ZERO(&rin);
    FD_ZERO(&win);
    FD_ZERO(&ein);
    for (int fd = 0; fd < nfds; ++fd) {
        const bool r = in && FD_ISSET(fd, in), w = out && FD_ISSET(fd, out),
                   e = ex && FD_ISSET(fd, ex);
        if (!(r || w || e)) continue;
        if (!net.fds().get(fd)) return -EBADF;  // max_select_fd: a set names a closed descriptor
        if (r) FD_SET(fd, &rin);
        if (w) FD_SET(fd, &win);
        if (e) FD_SET(fd, &ein);
    }
    bool last_look = immediate;
    for (;;) {
        const std::uint32_t seen = net.events().current();
        fd_set rout, wout, eout;
        FD_ZERO(&rout);
        FD_ZERO(&wout);
        FD_ZERO(&eout);
        long count = 0;
        for (int fd = 0; fd < nfds; ++fd) {
            const bool r = FD_ISSET(fd, &rin), w = FD_ISSET(fd, &win), e = FD_ISSET(fd, &ein);
            if (!(r || w || e)) continue;
            auto f = net.fds().get(fd);
            if (!f) return -EBADF;
            const unsigned mask = f->poll();
            if (r && (mask & kPollInSet)) FD_SET(fd, &rout), ++count;
            if (w && (mask & kPollOutSet)) FD_SET(fd, &wout), ++count;
            if (e && (mask & kPollExSet)) FD_SET(fd, &eout), ++count;
        }
        if (count || last_look) {
            if (in) *in = rout;
            if (out) *out = wout;
            if (ex) *ex = eout;
            if (tv) {  // Linux writes back the time left
                const Nanos left = std::max<Nanos>(0, *deadline - net.now());
                tv->tv_sec = static_cast<time_t>(left / kNsPerSec);
                tv->tv_usec = static_cast<suseconds_t>((left % kNsPerSec) / kNsPerUs);
            }
            return count;
        }
        if (!net.wait(seen, deadline)) last_look = true;
    }
}

}  // namespace vlo::posix
