// net/socket.c: the socket system calls' argument checks, descriptor handling and the
// SOL_SOCKET options (sock_setsockopt / sk_getsockopt in net/core/sock.c).
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "posix/inet.hpp"
#include "posix/syscalls.hpp"
#include "stack/stack.hpp"

namespace vlo::posix {

namespace {

// include/linux/net.h: the type's bits below the flags, and one past the last type (SOCK_PACKET).
constexpr int kSockTypeMask = 0xf;
constexpr int kSockMax = SOCK_PACKET + 1;

// SOCK_MIN_SNDBUF / SOCK_MIN_RCVBUF: 2 KiB + struct sk_buff, as Linux 6.x on x86-64.
constexpr int kSockMinRcvbuf = 2048 + 256;
constexpr int kSockMinSndbuf = 2 * kSockMinRcvbuf;
constexpr int kWmemMax = 212992;  // net.core.wmem_max

std::shared_ptr<Socket> sockfd_lookup(Net& net, int fd, long& err) {
    auto f = net.fds().get(fd);
    if (!f) {
        err = -EBADF;
        return nullptr;
    }
    Socket* s = f->socket();
    if (!s) {
        err = -ENOTSOCK;
        return nullptr;
    }
    return std::shared_ptr<Socket>(f, s);
}

// move_addr_to_kernel + inet's own checks (inet_bind / __inet_stream_connect).
long addr_in(const sockaddr* a, socklen_t len, InetAddr& out, bool unspec_ok = false) {
    if (len > sizeof(sockaddr_storage)) return -EINVAL;
    if (len > 0 && !a) return -EFAULT;
    if (len < sizeof(sa_family_t)) return -EINVAL;
    sockaddr_in sin{};
    std::memcpy(&sin, a, std::min<std::size_t>(len, sizeof sin));
    if (sin.sin_family == AF_UNSPEC && unspec_ok) return 1;
    if (len < sizeof(sockaddr_in)) return -EINVAL;
    if (sin.sin_family != AF_INET) return -EAFNOSUPPORT;
    out.addr = Ipv4Address{ntohl(sin.sin_addr.s_addr)};
    out.port = ntohs(sin.sin_port);
    return 0;
}

// move_addr_to_user: copies at most *len bytes and tells the full length.
long addr_out(const InetAddr& a, sockaddr* out, socklen_t* len) {
    if (!out || !len) return out || len ? -EFAULT : 0;
    if (static_cast<int>(*len) < 0) return -EINVAL;
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(a.port);
    sin.sin_addr.s_addr = htonl(a.addr.value);
    std::memcpy(out, &sin, std::min<std::size_t>(*len, sizeof sin));
    *len = sizeof sin;
    return 0;
}

long get_int(const void* val, socklen_t len, int& out) {
    if (len < sizeof(int)) return -EINVAL;
    if (!val) return -EFAULT;
    std::memcpy(&out, val, sizeof out);
    return 0;
}

// sock_set_timeout: a struct timeval; {0, 0} is forever, a negative one is "do not wait".
long set_timeout(std::optional<Nanos>& t, const void* val, socklen_t len) {
    if (len < sizeof(timeval)) return -EINVAL;
    if (!val) return -EFAULT;
    timeval tv{};
    std::memcpy(&tv, val, sizeof tv);
    if (tv.tv_usec < 0 || tv.tv_usec >= 1000000) return -EDOM;
    if (tv.tv_sec < 0) {
        t = 0;
        return 0;
    }
    if (tv.tv_sec == 0 && tv.tv_usec == 0) {
        t.reset();
        return 0;
    }
    t = Nanos{tv.tv_sec} * kNsPerSec + Nanos{tv.tv_usec} * kNsPerUs;
    return 0;
}

long put_bytes(const void* src, std::size_t n, void* val, socklen_t* len) {
    if (!len) return -EFAULT;
    if (static_cast<int>(*len) < 0) return -EINVAL;
    const std::size_t copy = std::min<std::size_t>(*len, n);
    if (copy && !val) return -EFAULT;
    std::memcpy(val, src, copy);
    *len = static_cast<socklen_t>(copy);
    return 0;
}

long sock_setsockopt(Socket& s, int name, const void* val, socklen_t len) {
    int v = 0;
    switch (name) {
        case SO_RCVTIMEO_OLD:
            return set_timeout(s.rcvtimeo, val, len);
        case SO_SNDTIMEO_OLD:
            return set_timeout(s.sndtimeo, val, len);
        case SO_LINGER: {
            if (len < sizeof(linger)) return -EINVAL;
            if (!val) return -EFAULT;
            linger l{};
            std::memcpy(&l, val, sizeof l);
            s.linger_on = l.l_onoff != 0;
            s.linger_secs = std::max(0, l.l_linger);
            return 0;
        }
        default:
            break;
    }
    if (long e = get_int(val, len, v)) return e;
    switch (name) {
        case SO_REUSEADDR:
            s.reuseaddr = v != 0;
            return s.set_reuseaddr(v != 0);
        case SO_REUSEPORT:
            s.reuseport = v != 0;
            return 0;
        case SO_KEEPALIVE:
            s.keepalive = v != 0;
            return s.set_keepalive(v != 0);
        case SO_SNDBUF:  // __sock_set_sndbuf: doubled, for the struct sk_buff overhead
            v = std::min(v, kWmemMax);
            s.set_sndbuf(std::max(v * 2, kSockMinSndbuf));
            return 0;
        case SO_RCVBUF: {
            const int rmem_max = static_cast<int>(s.net().stack().config().rmem_max);
            v = std::min(v, rmem_max);
            s.set_rcvbuf(std::max(v * 2, kSockMinRcvbuf));
            return 0;
        }
        case SO_RCVLOWAT:
            s.rcvlowat = v < 0 ? INT_MAX : std::max(v, 1);
            return 0;
        case SO_BROADCAST:
        case SO_OOBINLINE:
        case SO_DONTROUTE:
        case SO_PRIORITY:
        case SO_ZEROCOPY:
            return 0;  // accepted; vlo copies (MSG_ZEROCOPY sends as a copy)
        case SO_TYPE:
        case SO_ERROR:
        case SO_PROTOCOL:
        case SO_DOMAIN:
        case SO_ACCEPTCONN:
            return -ENOPROTOOPT;
        default:
            return -ENOPROTOOPT;
    }
}

long sock_getsockopt(Socket& s, int name, void* val, socklen_t* len) {
    if (!len) return -EFAULT;
    if (static_cast<int>(*len) < 0) return -EINVAL;
    int v = 0;
    switch (name) {
        case SO_LINGER: {
            linger l{s.linger_on ? 1 : 0, s.linger_secs};
            return put_bytes(&l, sizeof l, val, len);
        }
        case SO_RCVTIMEO_OLD:
        case SO_SNDTIMEO_OLD: {
            const auto& t = name == SO_RCVTIMEO_OLD ? s.rcvtimeo : s.sndtimeo;
            timeval tv{};
            if (t) {
                tv.tv_sec = static_cast<time_t>(*t / kNsPerSec);
                tv.tv_usec = static_cast<suseconds_t>((*t % kNsPerSec) / kNsPerUs);
            }
            return put_bytes(&tv, sizeof tv, val, len);
        }
        case SO_REUSEADDR:
            v = s.reuseaddr;
            break;
        case SO_REUSEPORT:
            v = s.reuseport;
            break;
        case SO_KEEPALIVE:
            v = s.keepalive;
            break;
        case SO_TYPE:
            v = s.type();
            break;
        case SO_PROTOCOL:
            v = s.protocol();
            break;
        case SO_DOMAIN:
            v = AF_INET;
            break;
        case SO_ERROR:
            v = s.take_error();
            break;
        case SO_ACCEPTCONN:
            v = s.listening();
            break;
        case SO_SNDBUF:
            v = s.sndbuf;
            break;
        case SO_RCVBUF:
            v = s.rcvbuf;
            break;
        case SO_RCVLOWAT:
            v = s.rcvlowat;
            break;
        case SO_MEMINFO: {
            std::uint32_t mem[SK_MEMINFO_VARS] = {};
            s.get_meminfo(mem);
            return put_bytes(mem, sizeof mem, val, len);
        }
        case SO_BROADCAST:
        case SO_OOBINLINE:
        case SO_DONTROUTE:
        case SO_PRIORITY:
            v = 0;
            break;
        default:
            return -ENOPROTOOPT;
    }
    return put_bytes(&v, sizeof v, val, len);
}

// do_ip_setsockopt for the options kept on the socket: an int, or a single byte (Linux reads
// a shorter optval as an unsigned char for these).
long ip_setsockopt(Socket& s, int name, const void* val, socklen_t len) {
    int v = 0;
    if (len >= sizeof(int)) {
        if (!val) return -EFAULT;
        std::memcpy(&v, val, sizeof v);
    } else if (len >= 1) {
        if (!val) return -EFAULT;
        v = *static_cast<const unsigned char*>(val);
    } else {
        return -EINVAL;
    }
    switch (name) {
        case IP_TTL:
            if (len < 1 || (v != -1 && (v < 1 || v > 255))) return -EINVAL;
            s.ip_ttl = v;
            return 0;
        case IP_TOS:
            s.ip_tos = v & 0xff;
            return 0;
        case IP_RECVERR:
            s.ip_recverr = v != 0;
            return 0;
        case IP_MTU_DISCOVER:
            if (v < IP_PMTUDISC_DONT || v > IP_PMTUDISC_OMIT) return -EINVAL;
            s.ip_mtu_discover = v;
            return 0;
        default:
            return -ENOPROTOOPT;
    }
}

long ip_getsockopt(Socket& s, int name, void* val, socklen_t* len) {
    int v = 0;
    switch (name) {
        case IP_TTL:
            v = s.ip_ttl < 0 ? s.net().stack().config().ip_default_ttl : s.ip_ttl;
            break;
        case IP_TOS:
            v = s.ip_tos;
            break;
        case IP_RECVERR:
            v = s.ip_recverr;
            break;
        case IP_MTU_DISCOVER:
            v = s.ip_mtu_discover;
            break;
        default:
            return -ENOPROTOOPT;
    }
    return put_bytes(&v, sizeof v, val, len);
}

// ___sys_sendmsg / ___sys_recvmsg's copy of the header: iov_len total within SSIZE_MAX,
// at most UIO_MAXIOV entries, a null array only when empty.
long check_msg(const msghdr* msg) {
    if (!msg) return -EFAULT;
    if (msg->msg_iovlen > 1024) return -EMSGSIZE;
    if (msg->msg_iovlen && !msg->msg_iov) return -EFAULT;
    std::size_t total = 0;
    for (std::size_t i = 0; i < msg->msg_iovlen; ++i) {
        if (msg->msg_iov[i].iov_len > static_cast<std::size_t>(SSIZE_MAX) - total) return -EINVAL;
        total += msg->msg_iov[i].iov_len;
    }
    return 0;
}

}  // namespace

std::size_t iov_length(const msghdr& msg) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < msg.msg_iovlen; ++i) n += msg.msg_iov[i].iov_len;
    return n;
}

long sys_socket(Net& net, int domain, int type, int protocol) {
    // __sys_socket: the flags first, then the family, then the protocol.
    const int flags = type & ~kSockTypeMask;
    if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) return -EINVAL;
    type &= kSockTypeMask;
    if (domain < 0 || domain >= AF_MAX) return -EAFNOSUPPORT;
    if (type < 0 || type >= kSockMax) return -EINVAL;
    if (domain != AF_INET) return -EAFNOSUPPORT;  // IPv6, AF_UNIX, AF_PACKET: not in vlo yet
    std::shared_ptr<Socket> s;
    // inet_create: the first protocol of the type that matches (inetsw), IPPROTO_IP as a wildcard.
    if (type == SOCK_STREAM) {
        if (protocol != 0 && protocol != IPPROTO_TCP) return -EPROTONOSUPPORT;
        s = tcp_socket_create(net);
    } else if (type == SOCK_DGRAM) {
        if (protocol != 0 && protocol != IPPROTO_UDP) return -EPROTONOSUPPORT;
        s = udp_socket_create(net);
    } else if (type == SOCK_RAW) {
        return -EPERM;  // needs CAP_NET_RAW, which a vlo process does not have
    } else {
        return -ESOCKTNOSUPPORT;
    }
    if (flags & SOCK_NONBLOCK) s->set_flags(s->flags() | O_NONBLOCK);
    return net.fds().install(std::move(s), (flags & SOCK_CLOEXEC) != 0);
}

long sys_bind(Net& net, int fd, const sockaddr* addr, socklen_t len) {
    long err = 0;
    auto s = sockfd_lookup(net, fd, err);
    if (!s) return err;
    InetAddr a;
    // inet_bind: shorter than sockaddr_in is EINVAL; a family other than AF_INET is
    // EAFNOSUPPORT, except AF_UNSPEC with INADDR_ANY (an old compatibility rule).
    if (len > 0 && !addr) return -EFAULT;
    if (len < sizeof(sockaddr_in)) return -EINVAL;
    sockaddr_in sin{};
    std::memcpy(&sin, addr, sizeof sin);
    if (sin.sin_family != AF_INET &&
        !(sin.sin_family == AF_UNSPEC && sin.sin_addr.s_addr == htonl(INADDR_ANY)))
        return -EAFNOSUPPORT;
    a.addr = Ipv4Address{ntohl(sin.sin_addr.s_addr)};
    a.port = ntohs(sin.sin_port);
    return s->bind(a);
}

long sys_listen(Net& net, int fd, int backlog) {
    long err = 0;
    auto s = sockfd_lookup(net, fd, err);
    if (!s) return err;
    // __sys_listen: the backlog is capped at somaxconn (and a negative one means the cap).
    const int somaxconn = net.stack().config().tcp.somaxconn;
    if (static_cast<unsigned>(backlog) > static_cast<unsigned>(somaxconn)) backlog = somaxconn;
    return s->listen(backlog);
}

long sys_accept4(Net& net, int fd, sockaddr* addr, socklen_t* len, int flags) {
    if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) return -EINVAL;
    long err = 0;
    auto s = sockfd_lookup(net, fd, err);
    if (!s) return err;
    if (addr && len && static_cast<int>(*len) < 0) return -EINVAL;
    std::shared_ptr<Socket> child;
    if (long e = s->accept(child, s->nonblocking())) return e;
    if (flags & SOCK_NONBLOCK) child->set_flags(child->flags() | O_NONBLOCK);
    if (addr) {
        InetAddr peer;
        child->getname(peer, true);
        if (long e = addr_out(peer, addr, len)) return e;
    }
    return net.fds().install(std::move(child), (flags & SOCK_CLOEXEC) != 0);
}

long sys_connect(Net& net, int fd, const sockaddr* addr, socklen_t len) {
    long err = 0;
    auto s = sockfd_lookup(net, fd, err);
    if (!s) return err;
    InetAddr a;
    const long r = addr_in(addr, len, a, true);
    if (r < 0) return r;
    if (r == 1) return s->disconnect();  // AF_UNSPEC
    return s->connect(a, s->nonblocking());
}

long sys_sendmsg(Net& net, int fd, const msghdr* msg, int flags) {
    long err = 0;
    auto s = sockfd_lookup(net, fd, err);
    if (!s) return err;
    if (long e = check_msg(msg)) return e;
    InetAddr to;
    const InetAddr* top = nullptr;
    if (msg->msg_name && msg->msg_namelen) {
        const long r = addr_in(static_cast<const sockaddr*>(msg->msg_name), msg->msg_namelen, to);
        if (r < 0) return r;
        top = &to;
    }
    return s->sendmsg(*msg, top, flags);
}

long sys_sendto(Net& net, int fd, const void* buf, std::size_t len, int flags, const sockaddr* to,
                socklen_t tolen) {
    iovec iov{const_cast<void*>(buf), len};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_name = const_cast<sockaddr*>(to);
    msg.msg_namelen = to ? tolen : 0;
    if (tolen && !to) return -EFAULT;
    return sys_sendmsg(net, fd, &msg, flags);
}

long sys_recvmsg(Net& net, int fd, msghdr* msg, int flags) {
    long err = 0;
    auto s = sockfd_lookup(net, fd, err);
    if (!s) return err;
    if (long e = check_msg(msg)) return e;
    if (static_cast<int>(msg->msg_namelen) < 0) return -EINVAL;
    InetAddr from;
    msg->msg_flags = 0;
    const long n = s->recvmsg(*msg, &from, flags);
    if (n < 0) return n;
    if (msg->msg_name) {
        if (s->type() == SOCK_DGRAM) {
            if (long e = addr_out(from, static_cast<sockaddr*>(msg->msg_name), &msg->msg_namelen))
                return e;
        } else {
            msg->msg_namelen = 0;  // a stream socket names no sender (tcp_recvmsg)
        }
    }
    return n;
}

long sys_recvfrom(Net& net, int fd, void* buf, std::size_t len, int flags, sockaddr* from,
                  socklen_t* fromlen) {
    iovec iov{buf, len};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    sockaddr_storage ss{};
    if (from) {
        if (!fromlen) return -EFAULT;
        msg.msg_name = &ss;
        msg.msg_namelen = sizeof ss;
    }
    const long n = sys_recvmsg(net, fd, &msg, flags);
    if (n < 0 || !from) return n;
    if (static_cast<int>(*fromlen) < 0) return -EINVAL;
    if (msg.msg_namelen) {
        std::memcpy(from, &ss, std::min<std::size_t>(*fromlen, msg.msg_namelen));
        *fromlen = msg.msg_namelen;
    } else {
        *fromlen = 0;
    }
    return n;
}

long sys_shutdown(Net& net, int fd, int how) {
    long err = 0;
    auto s = sockfd_lookup(net, fd, err);
    if (!s) return err;
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return -EINVAL;
    return s->shutdown(how);
}

long sys_getsockname(Net& net, int fd, sockaddr* addr, socklen_t* len) {
    long err = 0;
    auto s = sockfd_lookup(net, fd, err);
    if (!s) return err;
    if (!len) return -EFAULT;
    InetAddr a;
    if (long e = s->getname(a, false)) return e;
    if (!addr) return -EFAULT;
    return addr_out(a, addr, len);
}

long sys_getpeername(Net& net, int fd, sockaddr* addr, socklen_t* len) {
    long err = 0;
    auto s = sockfd_lookup(net, fd, err);
    if (!s) return err;
    if (!len) return -EFAULT;
    InetAddr a;
    if (long e = s->getname(a, true)) return e;
    if (!addr) return -EFAULT;
    return addr_out(a, addr, len);
}

long sys_setsockopt(Net& net, int fd, int level, int name, const void* val, socklen_t len) {
    long err = 0;
    auto s = sockfd_lookup(net, fd, err);
    if (!s) return err;
    if (static_cast<int>(len) < 0) return -EINVAL;
    if (level == SOL_SOCKET) return sock_setsockopt(*s, name, val, len);
    if (level == IPPROTO_IP) return ip_setsockopt(*s, name, val, len);
    return s->setsockopt_proto(level, name, val, len);
}

long sys_getsockopt(Net& net, int fd, int level, int name, void* val, socklen_t* len) {
    long err = 0;
    auto s = sockfd_lookup(net, fd, err);
    if (!s) return err;
    if (level == SOL_SOCKET) return sock_getsockopt(*s, name, val, len);
    if (!len) return -EFAULT;
    if (static_cast<int>(*len) < 0) return -EINVAL;
    if (level == IPPROTO_IP) return ip_getsockopt(*s, name, val, len);
    return s->getsockopt_proto(level, name, val, len);
}

// fs/read_write.c over a socket: sock_read_iter / sock_write_iter are recvmsg / sendmsg
// with no flags (O_NONBLOCK still applies).
long sys_readv(Net& net, int fd, const iovec* iov, int iovcnt) {
    auto f = net.fds().get(fd);
    if (!f) return -EBADF;
    if (iovcnt < 0 || iovcnt > 1024) return -EINVAL;
    if (iovcnt && !iov) return -EFAULT;
    Socket* s = f->socket();
    if (!s) return -EINVAL;  // an epoll file has no read method
    msghdr msg{};
    msg.msg_iov = const_cast<iovec*>(iov);
    msg.msg_iovlen = static_cast<std::size_t>(iovcnt);
    if (long e = check_msg(&msg)) return e;
    InetAddr from;
    return s->recvmsg(msg, &from, 0);
}

long sys_writev(Net& net, int fd, const iovec* iov, int iovcnt) {
    auto f = net.fds().get(fd);
    if (!f) return -EBADF;
    if (iovcnt < 0 || iovcnt > 1024) return -EINVAL;
    if (iovcnt && !iov) return -EFAULT;
    Socket* s = f->socket();
    if (!s) return -EINVAL;
    msghdr msg{};
    msg.msg_iov = const_cast<iovec*>(iov);
    msg.msg_iovlen = static_cast<std::size_t>(iovcnt);
    if (long e = check_msg(&msg)) return e;
    return s->sendmsg(msg, nullptr, 0);
}

long sys_read(Net& net, int fd, void* buf, std::size_t len) {
    iovec iov{buf, len};
    return sys_readv(net, fd, &iov, 1);
}

long sys_write(Net& net, int fd, const void* buf, std::size_t len) {
    iovec iov{const_cast<void*>(buf), len};
    return sys_writev(net, fd, &iov, 1);
}

long sys_close(Net& net, int fd) {
    // The file itself closes when its last reference goes (fput): a call still blocked in
    // another thread keeps it until it returns.
    return net.fds().remove(fd) ? 0 : -EBADF;
}

long sys_fcntl(Net& net, int fd, int cmd, long arg) {
    auto f = net.fds().get(fd);
    if (!f) return -EBADF;
    switch (cmd) {
        case F_GETFD:
            return net.fds().cloexec(fd);
        case F_SETFD:
            return net.fds().set_cloexec(fd, (arg & FD_CLOEXEC) != 0);
        case F_GETFL:
            return f->flags();
        case F_SETFL: {
            // setfl: only the status flags change; the access mode stays.
            constexpr int kSetfl =
                O_APPEND | O_NONBLOCK | O_NDELAY | O_DIRECT | O_NOATIME | O_ASYNC;
            f->set_flags((f->flags() & ~kSetfl) | (static_cast<int>(arg) & kSetfl & ~O_ASYNC));
            return 0;
        }
        default:
            return -EINVAL;
    }
}

long sys_ioctl(Net& net, int fd, unsigned long request, void* arg) {
    auto f = net.fds().get(fd);
    if (!f) return -EBADF;
    if (request == FIONBIO || request == FIOCLEX || request == FIONCLEX) {  // do_vfs_ioctl
        if (request == FIOCLEX || request == FIONCLEX)
            return net.fds().set_cloexec(fd, request == FIOCLEX);
        if (!arg) return -EFAULT;
        int on = 0;
        std::memcpy(&on, arg, sizeof on);
        f->set_flags(on ? f->flags() | O_NONBLOCK : f->flags() & ~O_NONBLOCK);
        return 0;
    }
    Socket* s = f->socket();
    if (!s) return -ENOTTY;
    int value = 0;
    const long r = s->ioctl(request, value);
    if (r < 0) return r;
    if (!arg) return -EFAULT;
    std::memcpy(arg, &value, sizeof value);
    return 0;
}

}  // namespace vlo::posix
