// vlo/socket.h: the system calls of syscalls.hpp with C's conventions (-1 and errno), over a
// stack this file creates: lo only, on a real or a virtual clock.
#include <cerrno>
#include <cstdarg>
#include <memory>
#include <sstream>
#include <string>

#include "frontend/iptables.hpp"
#include "posix/syscalls.hpp"
#include "posix/vlo/socket.h"
#include "stack/stack.hpp"

struct vlo_stack {
    std::unique_ptr<vlo::VirtualClock> vclock;
    std::unique_ptr<vlo::Stack> stack;
    std::unique_ptr<vlo::posix::Net> net;
};

namespace {

using namespace vlo::posix;

long ret(long r) {
    if (r >= 0) return r;
    errno = static_cast<int>(-r);
    return -1;
}

#define VLO_CHECK_STACK(st) \
    do {                    \
        if (!(st)) {        \
            errno = EINVAL; \
            return -1;      \
        }                   \
    } while (0)

}  // namespace

extern "C" {

vlo_stack* vlo_stack_new(int clock_kind) {
    if (clock_kind != VLO_CLOCK_REAL && clock_kind != VLO_CLOCK_VIRTUAL) {
        errno = EINVAL;
        return nullptr;
    }
    try {
        auto st = std::make_unique<vlo_stack>();
        vlo::StackConfig config;
        if (clock_kind == VLO_CLOCK_VIRTUAL) {
            // Deterministic: NET_RX runs in the calling thread, time moves only when asked.
            config.core.worker = vlo::WorkerKind::inline_;
            st->vclock = std::make_unique<vlo::VirtualClock>();
            st->stack = std::make_unique<vlo::Stack>(config, *st->vclock);
            st->net = std::make_unique<Net>(*st->stack, st->vclock.get(), TimeMode::auto_advance);
        } else {
            st->stack = std::make_unique<vlo::Stack>(config);
            st->net = std::make_unique<Net>(*st->stack, nullptr, TimeMode::real);
        }
        return st.release();
    } catch (const std::bad_alloc&) {
        errno = ENOMEM;
        return nullptr;
    }
}

void vlo_stack_free(vlo_stack* st) {
    if (!st) return;
    st->net.reset();  // descriptors close before the stack goes
    st->stack.reset();
    delete st;
}

long long vlo_clock_now_ns(vlo_stack* st) {
    VLO_CHECK_STACK(st);
    return st->stack->clock().now_ns();
}

int vlo_clock_advance(vlo_stack* st, long long ns) {
    VLO_CHECK_STACK(st);
    if (!st->vclock || ns < 0) {
        errno = EINVAL;
        return -1;
    }
    st->net->advance_to(st->vclock->now_ns() + ns);
    return 0;
}

int vlo_run_timers(vlo_stack* st) {
    VLO_CHECK_STACK(st);
    st->stack->run_timers();
    return 0;
}

int vlo_iptables(vlo_stack* st, const char* rule) {
    VLO_CHECK_STACK(st);
    if (!rule) {
        errno = EFAULT;
        return -1;
    }
    std::string message;
    if (vlo::frontend::iptables(st->stack->netfilter(), rule, &message)) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

unsigned long long vlo_counter(vlo_stack* st, const char* nstat_name) {
    if (!st || !nstat_name) return 0;
    // /proc/net/snmp and netstat's pairs of lines: "TcpExt: ... LockDroppedIcmps ..." then values.
    std::istringstream in(st->stack->snmp_text());
    std::string names, values;
    const std::string want = nstat_name;
    while (std::getline(in, names) && std::getline(in, values)) {
        std::istringstream n(names), v(values);
        std::string group, name, value;
        n >> group;
        v >> value;
        if (!group.empty()) group.pop_back();
        while (n >> name && v >> value)
            if (group + name == want) return std::stoull(value);
    }
    return 0;
}

int vlo_socket(vlo_stack* st, int domain, int type, int protocol) {
    VLO_CHECK_STACK(st);
    return static_cast<int>(ret(sys_socket(*st->net, domain, type, protocol)));
}
int vlo_bind(vlo_stack* st, int fd, const struct sockaddr* addr, socklen_t len) {
    VLO_CHECK_STACK(st);
    return static_cast<int>(ret(sys_bind(*st->net, fd, addr, len)));
}
int vlo_listen(vlo_stack* st, int fd, int backlog) {
    VLO_CHECK_STACK(st);
    return static_cast<int>(ret(sys_listen(*st->net, fd, backlog)));
}
int vlo_accept(vlo_stack* st, int fd, struct sockaddr* addr, socklen_t* len) {
    VLO_CHECK_STACK(st);
    return static_cast<int>(ret(sys_accept4(*st->net, fd, addr, len, 0)));
}
int vlo_accept4(vlo_stack* st, int fd, struct sockaddr* addr, socklen_t* len, int flags) {
    VLO_CHECK_STACK(st);
    return static_cast<int>(ret(sys_accept4(*st->net, fd, addr, len, flags)));
}
int vlo_connect(vlo_stack* st, int fd, const struct sockaddr* addr, socklen_t len) {
    VLO_CHECK_STACK(st);
    return static_cast<int>(ret(sys_connect(*st->net, fd, addr, len)));
}
ssize_t vlo_send(vlo_stack* st, int fd, const void* buf, size_t len, int flags) {
    VLO_CHECK_STACK(st);
    return ret(sys_sendto(*st->net, fd, buf, len, flags, nullptr, 0));
}
ssize_t vlo_recv(vlo_stack* st, int fd, void* buf, size_t len, int flags) {
    VLO_CHECK_STACK(st);
    return ret(sys_recvfrom(*st->net, fd, buf, len, flags, nullptr, nullptr));
}
ssize_t vlo_sendto(vlo_stack* st, int fd, const void* buf, size_t len, int flags,
                   const struct sockaddr* to, socklen_t tolen) {
    VLO_CHECK_STACK(st);
    return ret(sys_sendto(*st->net, fd, buf, len, flags, to, tolen));
}
ssize_t vlo_recvfrom(vlo_stack* st, int fd, void* buf, size_t len, int flags, struct sockaddr* from,
                     socklen_t* fromlen) {
    VLO_CHECK_STACK(st);
    return ret(sys_recvfrom(*st->net, fd, buf, len, flags, from, fromlen));
}
ssize_t vlo_sendmsg(vlo_stack* st, int fd, const struct msghdr* msg, int flags) {
    VLO_CHECK_STACK(st);
    return ret(sys_sendmsg(*st->net, fd, msg, flags));
}
ssize_t vlo_recvmsg(vlo_stack* st, int fd, struct msghdr* msg, int flags) {
    VLO_CHECK_STACK(st);
    return ret(sys_recvmsg(*st->net, fd, msg, flags));
}
ssize_t vlo_read(vlo_stack* st, int fd, void* buf, size_t len) {
    VLO_CHECK_STACK(st);
    return ret(sys_read(*st->net, fd, buf, len));
}
ssize_t vlo_write(vlo_stack* st, int fd, const void* buf, size_t len) {
    VLO_CHECK_STACK(st);
    return ret(sys_write(*st->net, fd, buf, len));
}
ssize_t vlo_readv(vlo_stack* st, int fd, const struct iovec* iov, int iovcnt) {
    VLO_CHECK_STACK(st);
    return ret(sys_readv(*st->net, fd, iov, iovcnt));
}
ssize_t vlo_writev(vlo_stack* st, int fd, const struct iovec* iov, int iovcnt) {
    VLO_CHECK_STACK(st);
    return ret(sys_writev(*st->net, fd, iov, iovcnt));
}
int vlo_shutdown(vlo_stack* st, int fd, int how) {
    VLO_CHECK_STACK(st);
    return static_cast<int>(ret(sys_shutdown(*st->net, fd, how)));
}
int vlo_close(vlo_stack* st, int fd) {
    VLO_CHECK_STACK(st);
    return static_cast<int>(ret(sys_close(*st->net, fd)));
}
int vlo_getsockname(vlo_stack* st, int fd, struct sockaddr* addr, socklen_t* len) {
    VLO_CHECK_STACK(st);
    return static_cast<int>(ret(sys_getsockname(*st->net, fd, addr, len)));
}
int vlo_getpeername(vlo_stack* st, int fd, struct sockaddr* addr, socklen_t* len) {
    VLO_CHECK_STACK(st);
    return static_cast<int>(ret(sys_getpeername(*st->net, fd, addr, len)));
}
int vlo_getsockopt(vlo_stack* st, int fd, int level, int name, void* val, socklen_t* len) {
    VLO_CHECK_STACK(st);
    return static_cast<int>(ret(sys_getsockopt(*st->net, fd, level, name, val, len)));
}
int vlo_setsockopt(vlo_stack* st, int fd, int level, int name, const void* val, socklen_t len) {
    VLO_CHECK_STACK(st);
    return static_cast<int>(ret(sys_setsockopt(*st->net, fd, level, name, val, len)));
}
int vlo_fcntl(vlo_stack* st, int fd, int cmd, ...) {
    VLO_CHECK_STACK(st);
    va_list ap;
    va_start(ap, cmd);
    const long arg = fcntl_arg(cmd, ap);
    va_end(ap);
    return static_cast<int>(ret(sys_fcntl(*st->net, fd, cmd, arg)));
}
int vlo_ioctl(vlo_stack* st, int fd, unsigned long request, ...) {
    VLO_CHECK_STACK(st);
    va_list ap;
    va_start(ap, request);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    return static_cast<int>(ret(sys_ioctl(*st->net, fd, request, arg)));
}
int vlo_poll(vlo_stack* st, struct pollfd* fds, nfds_t nfds, int timeout_ms) {
    VLO_CHECK_STACK(st);
    return static_cast<int>(ret(sys_poll(*st->net, fds, nfds, timeout_ms)));
}
int vlo_select(vlo_stack* st, int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds,
               struct timeval* timeout) {
    VLO_CHECK_STACK(st);
    return static_cast<int>(ret(sys_select(*st->net, nfds, readfds, writefds, exceptfds, timeout)));
}
int vlo_epoll_create(vlo_stack* st, int size) {
    VLO_CHECK_STACK(st);
    return static_cast<int>(ret(sys_epoll_create(*st->net, size)));
}
int vlo_epoll_create1(vlo_stack* st, int flags) {
    VLO_CHECK_STACK(st);
    return static_cast<int>(ret(sys_epoll_create1(*st->net, flags)));
}
int vlo_epoll_ctl(vlo_stack* st, int epfd, int op, int fd, struct epoll_event* event) {
    VLO_CHECK_STACK(st);
    return static_cast<int>(ret(sys_epoll_ctl(*st->net, epfd, op, fd, event)));
}
int vlo_epoll_wait(vlo_stack* st, int epfd, struct epoll_event* events, int maxevents,
                   int timeout_ms) {
    VLO_CHECK_STACK(st);
    return static_cast<int>(ret(sys_epoll_wait(*st->net, epfd, events, maxevents, timeout_ms)));
}

}  // extern "C"
