// The POSIX socket layer through its C API (posix/vlo/socket.h), on a virtual clock: Linux's
// results and errno for non-blocking connect/accept, poll, select and epoll (level and edge),
// the EAGAIN paths, bad arguments, SO_ERROR, SO_LINGER 0, FIONREAD, and the two facts of a
// REJECT rule on 127.0.0.2 (blocking connect: ECONNREFUSED after 1 s; non-blocking: POLLERR).
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <catch2/catch.hpp>

#include "posix/vlo/socket.h"

namespace {

struct Stack {
    vlo_stack* st = vlo_stack_new(VLO_CLOCK_VIRTUAL);
    Stack() { REQUIRE(st); }
    ~Stack() { vlo_stack_free(st); }
    Stack(const Stack&) = delete;
    Stack& operator=(const Stack&) = delete;
    operator vlo_stack*() const { return st; }
};

sockaddr_in addr(const char* ip, int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}
const sockaddr* sa(const sockaddr_in& a) { return reinterpret_cast<const sockaddr*>(&a); }

// A listener on ip:port, non-blocking if asked.
int listener(vlo_stack* st, const char* ip, int port, int flags = 0) {
    const int fd = vlo_socket(st, AF_INET, SOCK_STREAM | flags, 0);
    REQUIRE(fd >= 0);
    const int one = 1;
    REQUIRE(vlo_setsockopt(st, fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    const auto a = addr(ip, port);
    REQUIRE(vlo_bind(st, fd, sa(a), sizeof a) == 0);
    REQUIRE(vlo_listen(st, fd, 16) == 0);
    return fd;
}

// A connected pair through lo: {client, server}.
std::pair<int, int> connected(vlo_stack* st, int port) {
    const int l = listener(st, "127.0.0.1", port);
    const int c = vlo_socket(st, AF_INET, SOCK_STREAM, 0);
    const auto a = addr("127.0.0.1", port);
    REQUIRE(vlo_connect(st, c, sa(a), sizeof a) == 0);
    const int s = vlo_accept(st, l, nullptr, nullptr);
    REQUIRE(s >= 0);
    REQUIRE(vlo_close(st, l) == 0);
    return {c, s};
}

int fails_with(int result) { return result == -1 ? errno : 0; }

}  // namespace

TEST_CASE("posix: socket numbers start at 3 and reuse the lowest free one", "[posix]") {
    Stack st;
    CHECK(vlo_socket(st, AF_INET, SOCK_STREAM, 0) == 3);
    CHECK(vlo_socket(st, AF_INET, SOCK_DGRAM, 0) == 4);
    CHECK(vlo_socket(st, AF_INET, SOCK_STREAM, IPPROTO_TCP) == 5);
    CHECK(vlo_close(st, 4) == 0);
    CHECK(vlo_epoll_create1(st, 0) == 4);
    CHECK(fails_with(vlo_close(st, 4 + 100)) == EBADF);
}

TEST_CASE("posix: non-blocking connect and accept with poll", "[posix]") {
    Stack st;
    const int l = listener(st, "127.0.0.1", 8080, SOCK_NONBLOCK);
    CHECK(fails_with(vlo_accept(st, l, nullptr, nullptr)) == EAGAIN);  // nobody yet
    const int c = vlo_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK(vlo_fcntl(st, c, F_GETFL) == (O_RDWR | O_NONBLOCK));
    const auto a = addr("127.0.0.1", 8080);
    // The SYN-ACK comes back while connect() holds the socket: EINPROGRESS, as on Linux's lo.
    CHECK(fails_with(vlo_connect(st, c, sa(a), sizeof a)) == EINPROGRESS);
    pollfd p[2] = {{c, POLLOUT, 0}, {l, POLLIN, 0}};
    REQUIRE(vlo_poll(st, p, 2, 1000) == 2);
    CHECK(p[0].revents == POLLOUT);
    CHECK(p[1].revents == POLLIN);
    int err = -1;
    socklen_t len = sizeof err;
    CHECK(vlo_getsockopt(st, c, SOL_SOCKET, SO_ERROR, &err, &len) == 0);
    CHECK(err == 0);
    // __inet_stream_connect: the first call after the handshake completed says 0, the next EISCONN.
    CHECK(vlo_connect(st, c, sa(a), sizeof a) == 0);
    CHECK(fails_with(vlo_connect(st, c, sa(a), sizeof a)) == EISCONN);
    sockaddr_in peer{};
    socklen_t plen = sizeof peer;
    const int s = vlo_accept4(st, l, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_NONBLOCK);
    REQUIRE(s >= 0);
    CHECK(plen == sizeof peer);
    CHECK(peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    sockaddr_in local{};
    socklen_t llen = sizeof local;
    REQUIRE(vlo_getsockname(st, c, reinterpret_cast<sockaddr*>(&local), &llen) == 0);
    CHECK(local.sin_port == peer.sin_port);
    CHECK(vlo_fcntl(st, s, F_GETFL) & O_NONBLOCK);
    CHECK(fails_with(vlo_accept(st, l, nullptr, nullptr)) == EAGAIN);
    // A fresh, unconnected TCP socket polls POLLOUT | POLLHUP on Linux.
    const int fresh = vlo_socket(st, AF_INET, SOCK_STREAM, 0);
    pollfd f{fresh, POLLIN | POLLOUT, 0};
    CHECK(vlo_poll(st, &f, 1, 0) == 1);
    CHECK(f.revents == (POLLOUT | POLLHUP));
}

TEST_CASE("posix: select sees a readable socket and times out on virtual time", "[posix]") {
    Stack st;
    auto [c, s] = connected(st, 9000);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(s, &r);
    timeval tv{2, 0};
    const long long t0 = vlo_clock_now_ns(st);
    CHECK(vlo_select(st, s + 1, &r, nullptr, nullptr, &tv) == 0);  // nothing to read: 2 s pass
    CHECK(vlo_clock_now_ns(st) - t0 >= 2000000000LL);
    CHECK(vlo_write(st, c, "x", 1) == 1);
    FD_SET(s, &r);
    tv = {2, 0};
    CHECK(vlo_select(st, s + 1, &r, nullptr, nullptr, &tv) == 1);
    CHECK(FD_ISSET(s, &r));
    FD_SET(99, &r);
    CHECK(fails_with(vlo_select(st, 100, &r, nullptr, nullptr, &tv)) == EBADF);
}

TEST_CASE("epoll: level-triggered reports while readable, edge-triggered once per arrival",
          "[epoll]") {
    Stack st;
    auto [c, s] = connected(st, 7000);
    const int lt = vlo_epoll_create1(st, 0), et = vlo_epoll_create1(st, EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = s;
    REQUIRE(vlo_epoll_ctl(st, lt, EPOLL_CTL_ADD, s, &ev) == 0);
    ev.events = EPOLLIN | EPOLLET;
    REQUIRE(vlo_epoll_ctl(st, et, EPOLL_CTL_ADD, s, &ev) == 0);
    epoll_event out[4];
    CHECK(vlo_epoll_wait(st, lt, out, 4, 0) == 0);
    CHECK(vlo_epoll_wait(st, et, out, 4, 0) == 0);

    REQUIRE(vlo_write(st, c, "hello", 5) == 5);
    REQUIRE(vlo_epoll_wait(st, lt, out, 4, 0) == 1);
    CHECK(out[0].events == EPOLLIN);
    CHECK(out[0].data.fd == s);
    CHECK(vlo_epoll_wait(st, lt, out, 4, 0) == 1);  // still readable: reported again
    REQUIRE(vlo_epoll_wait(st, et, out, 4, 0) == 1);
    CHECK(out[0].events == EPOLLIN);
    CHECK(vlo_epoll_wait(st, et, out, 4, 0) == 0);  // no new arrival: no new edge

    // An ACK of our own data is no EPOLLIN edge; new data is.
    REQUIRE(vlo_write(st, s, "ack me", 6) == 6);
    CHECK(vlo_epoll_wait(st, et, out, 4, 0) == 0);
    REQUIRE(vlo_write(st, c, "more", 4) == 4);
    CHECK(vlo_epoll_wait(st, et, out, 4, 0) == 1);
    char buf[16];
    CHECK(vlo_read(st, s, buf, sizeof buf) == 9);
    CHECK(vlo_epoll_wait(st, lt, out, 4, 0) == 0);

    // A blocking epoll_wait with a timeout ends on virtual time.
    const long long t0 = vlo_clock_now_ns(st);
    CHECK(vlo_epoll_wait(st, lt, out, 4, 1500) == 0);
    CHECK(vlo_clock_now_ns(st) - t0 == 1500000000LL);
}

TEST_CASE("epoll: EPOLLONESHOT, EPOLLRDHUP and the rules of EPOLLEXCLUSIVE", "[epoll]") {
    Stack st;
    auto [c, s] = connected(st, 7001);
    const int ep = vlo_epoll_create(st, 1);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.u64 = 42;
    REQUIRE(vlo_epoll_ctl(st, ep, EPOLL_CTL_ADD, s, &ev) == 0);
    CHECK(fails_with(vlo_epoll_ctl(st, ep, EPOLL_CTL_ADD, s, &ev)) == EEXIST);
    REQUIRE(vlo_write(st, c, "a", 1) == 1);
    epoll_event out[2];
    REQUIRE(vlo_epoll_wait(st, ep, out, 2, 0) == 1);
    CHECK(out[0].data.u64 == 42u);
    CHECK(vlo_epoll_wait(st, ep, out, 2, 0) == 0);  // one shot: disarmed until MOD
    REQUIRE(vlo_epoll_ctl(st, ep, EPOLL_CTL_MOD, s, &ev) == 0);
    CHECK(vlo_epoll_wait(st, ep, out, 2, 0) == 1);

    // The peer's FIN: EPOLLIN | EPOLLRDHUP.
    REQUIRE(vlo_shutdown(st, c, SHUT_WR) == 0);
    REQUIRE(vlo_epoll_ctl(st, ep, EPOLL_CTL_MOD, s, &ev) == 0);
    REQUIRE(vlo_epoll_wait(st, ep, out, 2, 0) == 1);
    CHECK(out[0].events == (EPOLLIN | EPOLLRDHUP));

    // EPOLLEXCLUSIVE: with ADD only, with the I/O bits only, never on an epoll file.
    const int ep2 = vlo_epoll_create1(st, 0);
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    REQUIRE(vlo_epoll_ctl(st, ep2, EPOLL_CTL_ADD, c, &ev) == 0);
    CHECK(fails_with(vlo_epoll_ctl(st, ep2, EPOLL_CTL_MOD, c, &ev)) == EINVAL);
    ev.events = EPOLLIN;
    CHECK(fails_with(vlo_epoll_ctl(st, ep2, EPOLL_CTL_MOD, c, &ev)) == EINVAL);  // the item has it
    ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
    CHECK(fails_with(vlo_epoll_ctl(st, ep2, EPOLL_CTL_ADD, s, &ev)) == EINVAL);
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    CHECK(fails_with(vlo_epoll_ctl(st, ep2, EPOLL_CTL_ADD, ep, &ev)) == EINVAL);
    // An epoll instance inside another is fine; a cycle is ELOOP.
    ev.events = EPOLLIN;
    REQUIRE(vlo_epoll_ctl(st, ep2, EPOLL_CTL_ADD, ep, &ev) == 0);
    CHECK(fails_with(vlo_epoll_ctl(st, ep, EPOLL_CTL_ADD, ep2, &ev)) == ELOOP);
    CHECK(fails_with(vlo_epoll_ctl(st, ep, EPOLL_CTL_ADD, ep, &ev)) == EINVAL);
    CHECK(fails_with(vlo_epoll_ctl(st, ep, EPOLL_CTL_DEL, 99, nullptr)) == EBADF);
    CHECK(fails_with(vlo_epoll_ctl(st, ep2, EPOLL_CTL_DEL, s, nullptr)) == ENOENT);
    CHECK(fails_with(vlo_epoll_ctl(st, ep, EPOLL_CTL_ADD, s, nullptr)) == EFAULT);
    CHECK(fails_with(vlo_epoll_ctl(st, s, EPOLL_CTL_ADD, c, &ev)) == EINVAL);  // s is no epoll
    CHECK(fails_with(vlo_epoll_wait(st, ep, out, 0, 0)) == EINVAL);
    CHECK(fails_with(vlo_epoll_wait(st, s, out, 2, 0)) == EINVAL);
    CHECK(fails_with(vlo_epoll_create(st, 0)) == EINVAL);
    CHECK(fails_with(vlo_epoll_create1(st, 1)) == EINVAL);
}

TEST_CASE("posix: the EAGAIN paths and SO_RCVTIMEO on virtual time", "[posix]") {
    Stack st;
    auto [c, s] = connected(st, 7002);
    char buf[8];
    CHECK(fails_with(vlo_recv(st, s, buf, sizeof buf, MSG_DONTWAIT)) == EAGAIN);
    int on = 1;
    REQUIRE(vlo_ioctl(st, s, FIONBIO, &on) == 0);
    CHECK(fails_with(vlo_read(st, s, buf, sizeof buf)) == EAGAIN);
    REQUIRE(vlo_fcntl(st, s, F_SETFL, 0) == 0);
    CHECK((vlo_fcntl(st, s, F_GETFL) & O_NONBLOCK) == 0);
    timeval tv{3, 0};
    REQUIRE(vlo_setsockopt(st, s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    const long long t0 = vlo_clock_now_ns(st);
    CHECK(fails_with(vlo_recv(st, s, buf, sizeof buf, 0)) == EAGAIN);  // blocked 3 s, virtually
    CHECK(vlo_clock_now_ns(st) - t0 >= 3000000000LL);
    tv = {0, 1000000};
    CHECK(fails_with(vlo_setsockopt(st, s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv)) == EDOM);
    // MSG_PEEK leaves the data; MSG_WAITALL waits for all of it.
    REQUIRE(vlo_send(st, c, "abcdef", 6, 0) == 6);
    CHECK(vlo_recv(st, s, buf, 3, MSG_PEEK) == 3);
    CHECK(std::string(buf, 3) == "abc");
    CHECK(vlo_recv(st, s, buf, 6, MSG_WAITALL) == 6);
    CHECK(std::string(buf, 6) == "abcdef");
    // UDP: nothing queued is EAGAIN; a datagram is read whole, MSG_TRUNC tells its length.
    const int u = vlo_socket(st, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    const auto ua = addr("127.0.0.1", 5353);
    REQUIRE(vlo_bind(st, u, sa(ua), sizeof ua) == 0);
    CHECK(fails_with(vlo_recv(st, u, buf, sizeof buf, 0)) == EAGAIN);
    const int u2 = vlo_socket(st, AF_INET, SOCK_DGRAM, 0);
    REQUIRE(vlo_sendto(st, u2, "0123456789", 10, 0, sa(ua), sizeof ua) == 10);
    int n = 0;
    REQUIRE(vlo_ioctl(st, u, FIONREAD, &n) == 0);
    CHECK(n == 10);
    sockaddr_in from{};
    socklen_t flen = sizeof from;
    CHECK(vlo_recvfrom(st, u, buf, 4, MSG_TRUNC, reinterpret_cast<sockaddr*>(&from), &flen) == 10);
    CHECK(from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
}

TEST_CASE("posix: errno for bad arguments is Linux's", "[posix]") {
    Stack st;
    CHECK(fails_with(vlo_socket(st, AF_INET6, SOCK_STREAM, 0)) == EAFNOSUPPORT);
    CHECK(fails_with(vlo_socket(st, 12345, SOCK_STREAM, 0)) == EAFNOSUPPORT);
    CHECK(fails_with(vlo_socket(st, AF_INET, SOCK_STREAM, IPPROTO_UDP)) == EPROTONOSUPPORT);
    CHECK(fails_with(vlo_socket(st, AF_INET, SOCK_STREAM | 0x40000000, 0)) == EINVAL);
    CHECK(fails_with(vlo_socket(st, AF_INET, 77, 0)) == EINVAL);
    const int t = vlo_socket(st, AF_INET, SOCK_STREAM, 0);
    const int u = vlo_socket(st, AF_INET, SOCK_DGRAM, 0);
    const int ep = vlo_epoll_create1(st, 0);
    const auto a = addr("127.0.0.1", 1234);
    CHECK(fails_with(vlo_bind(st, 99, sa(a), sizeof a)) == EBADF);
    CHECK(fails_with(vlo_bind(st, ep, sa(a), sizeof a)) == ENOTSOCK);
    CHECK(fails_with(vlo_bind(st, t, sa(a), 4)) == EINVAL);
    CHECK(fails_with(vlo_bind(st, t, nullptr, sizeof a)) == EFAULT);
    const auto far = addr("10.1.2.3", 1234);
    CHECK(fails_with(vlo_bind(st, t, sa(far), sizeof far)) == EADDRNOTAVAIL);
    CHECK(fails_with(vlo_connect(st, t, sa(a), 3)) == EINVAL);
    CHECK(fails_with(vlo_listen(st, u, 1)) == EOPNOTSUPP);
    CHECK(fails_with(vlo_shutdown(st, t, 7)) == EINVAL);
    CHECK(fails_with(vlo_shutdown(st, t, SHUT_RDWR)) == ENOTCONN);
    sockaddr_in peer{};
    socklen_t plen = sizeof peer;
    CHECK(fails_with(vlo_getpeername(st, t, reinterpret_cast<sockaddr*>(&peer), &plen)) ==
          ENOTCONN);
    CHECK(fails_with(vlo_getsockname(st, t, reinterpret_cast<sockaddr*>(&peer), nullptr)) ==
          EFAULT);
    CHECK(fails_with(vlo_send(st, t, "x", 1, MSG_NOSIGNAL)) == EPIPE);  // never connected
    CHECK(fails_with(vlo_accept(st, t, nullptr, nullptr)) == EINVAL);   // not listening
    CHECK(fails_with(vlo_send(st, u, "x", 1, 0)) == EDESTADDRREQ);
    int v = 0;
    socklen_t vl = sizeof v;
    CHECK(fails_with(vlo_getsockopt(st, t, SOL_SOCKET, 9999, &v, &vl)) == ENOPROTOOPT);
    CHECK(fails_with(vlo_setsockopt(st, t, SOL_SOCKET, SO_KEEPALIVE, &v, 2)) == EINVAL);
    CHECK(fails_with(vlo_setsockopt(st, t, SOL_SOCKET, SO_KEEPALIVE, nullptr, 4)) == EFAULT);
    CHECK(fails_with(vlo_getsockopt(st, u, IPPROTO_TCP, TCP_NODELAY, &v, &vl)) == ENOPROTOOPT);
    CHECK(fails_with(vlo_fcntl(st, 99, F_GETFL)) == EBADF);
    CHECK(fails_with(vlo_ioctl(st, t, 0x12345678UL, &v)) == ENOTTY);
    CHECK(fails_with(vlo_read(st, ep, &v, 4)) == EINVAL);
    pollfd p{99, POLLIN, 0};
    CHECK(vlo_poll(st, &p, 1, 0) == 1);
    CHECK(p.revents == POLLNVAL);
    CHECK(fails_with(vlo_poll(st, nullptr, 1, 0)) == EFAULT);
    // A null buffer is EFAULT where Linux copies: a write with room, a read with data.
    auto [c, s] = connected(st, 7003);
    CHECK(fails_with(vlo_write(st, c, nullptr, 100)) == EFAULT);
    CHECK(fails_with(vlo_sendto(st, c, nullptr, 100, 0, nullptr, 0)) == EFAULT);
    REQUIRE(vlo_write(st, c, "data", 4) == 4);
    CHECK(fails_with(vlo_read(st, s, nullptr, 100)) == EFAULT);
    CHECK(fails_with(vlo_recv(st, s, nullptr, 100, 0)) == EFAULT);
    CHECK(fails_with(vlo_readv(st, s, nullptr, 1)) == EFAULT);
    CHECK(fails_with(vlo_readv(st, s, nullptr, -1)) == EINVAL);
}

TEST_CASE("posix: SO_ERROR after a refused connect, reported once", "[posix]") {
    Stack st;
    const int c = vlo_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const auto a = addr("127.0.0.1", 1);  // nobody listens: RST
    const int r = vlo_connect(st, c, sa(a), sizeof a);
    CHECK((r == -1 && (errno == EINPROGRESS || errno == ECONNREFUSED)));
    pollfd p{c, POLLOUT, 0};
    REQUIRE(vlo_poll(st, &p, 1, 0) == 1);
    CHECK((p.revents & (POLLERR | POLLHUP)) == (POLLERR | POLLHUP));
    int err = 0;
    socklen_t len = sizeof err;
    REQUIRE(vlo_getsockopt(st, c, SOL_SOCKET, SO_ERROR, &err, &len) == 0);
    CHECK(err == ECONNREFUSED);
    REQUIRE(vlo_getsockopt(st, c, SOL_SOCKET, SO_ERROR, &err, &len) == 0);
    CHECK(err == 0);
    // The blocking form says it at once.
    const int b = vlo_socket(st, AF_INET, SOCK_STREAM, 0);
    CHECK(fails_with(vlo_connect(st, b, sa(a), sizeof a)) == ECONNREFUSED);
}

TEST_CASE("posix: SO_LINGER 0 closes with an RST the peer reads as ECONNRESET", "[posix]") {
    Stack st;
    auto [c, s] = connected(st, 7004);
    const linger l{1, 0};
    REQUIRE(vlo_setsockopt(st, c, SOL_SOCKET, SO_LINGER, &l, sizeof l) == 0);
    linger got{};
    socklen_t len = sizeof got;
    REQUIRE(vlo_getsockopt(st, c, SOL_SOCKET, SO_LINGER, &got, &len) == 0);
    CHECK(got.l_onoff == 1);
    CHECK(got.l_linger == 0);
    const auto rsts = vlo_counter(st, "TcpOutRsts");
    REQUIRE(vlo_close(st, c) == 0);
    CHECK(vlo_counter(st, "TcpOutRsts") == rsts + 1);
    char buf[4];
    CHECK(fails_with(vlo_read(st, s, buf, sizeof buf)) == ECONNRESET);
    // Without SO_LINGER a close is a FIN: the peer reads the end of the stream.
    auto [c2, s2] = connected(st, 7005);
    REQUIRE(vlo_close(st, c2) == 0);
    CHECK(vlo_read(st, s2, buf, sizeof buf) == 0);
    CHECK(vlo_counter(st, "TcpOutRsts") == rsts + 1);
}

TEST_CASE("posix: FIONREAD, SIOCOUTQ and SIOCOUTQNSD count the queues", "[posix]") {
    Stack st;
    auto [c, s] = connected(st, 7006);
    int n = -1;
    REQUIRE(vlo_ioctl(st, s, FIONREAD, &n) == 0);
    CHECK(n == 0);
    char data[100] = {};
    REQUIRE(vlo_write(st, c, data, sizeof data) == 100);
    REQUIRE(vlo_ioctl(st, s, SIOCINQ, &n) == 0);
    CHECK(n == 100);
    char buf[40];
    REQUIRE(vlo_read(st, s, buf, sizeof buf) == 40);
    REQUIRE(vlo_ioctl(st, s, FIONREAD, &n) == 0);
    CHECK(n == 60);
    REQUIRE(vlo_ioctl(st, c, SIOCOUTQ, &n) == 0);
    CHECK(n == 0);  // lo acknowledged it all at once
    REQUIRE(vlo_ioctl(st, c, SIOCOUTQNSD, &n) == 0);
    CHECK(n == 0);
    const int l = listener(st, "127.0.0.1", 7007);
    CHECK(fails_with(vlo_ioctl(st, l, FIONREAD, &n)) == EINVAL);
    // TCP_INFO: the state and the segment size.
    tcp_info info{};
    socklen_t len = sizeof info;
    REQUIRE(vlo_getsockopt(st, c, IPPROTO_TCP, TCP_INFO, &info, &len) == 0);
    CHECK(info.tcpi_state == TCP_ESTABLISHED);
    CHECK(info.tcpi_snd_mss > 0);
    int sz = 0;
    socklen_t szl = sizeof sz;
    const int want = 10000;
    REQUIRE(vlo_setsockopt(st, c, SOL_SOCKET, SO_SNDBUF, &want, sizeof want) == 0);
    REQUIRE(vlo_getsockopt(st, c, SOL_SOCKET, SO_SNDBUF, &sz, &szl) == 0);
    CHECK(sz == 20000);  // Linux doubles it
}

TEST_CASE("posix: a blocking connect to a REJECTed 127.0.0.2 fails ECONNREFUSED after 1 s",
          "[posix]") {
    Stack st;
    const int l = listener(st, "127.0.0.2", 80);
    (void)l;
    REQUIRE(vlo_iptables(st, "-A INPUT -d 127.0.0.2 -p tcp -j REJECT") == 0);
    const int c = vlo_socket(st, AF_INET, SOCK_STREAM, 0);
    const auto a = addr("127.0.0.2", 80);
    const long long t0 = vlo_clock_now_ns(st);
    CHECK(fails_with(vlo_connect(st, c, sa(a), sizeof a)) == ECONNREFUSED);
    const long long took = vlo_clock_now_ns(st) - t0;
    // The first error found the socket owned by connect(); the retransmitted SYN's ended it.
    CHECK(vlo_counter(st, "TcpExtLockDroppedIcmps") == 1);
    CHECK(took >= 1000000000LL);
    CHECK(took < 1100000000LL);
}

// Linux (issue 12's measurement) reports POLLERR at once here. vlo's TCP drops the first ICMP
// error as Linux's tcp_v4_err does when connect() owns the socket (LockDroppedIcmps), so the
// error arrives with the SYN retransmitted 1 s later; docs/posix.md keeps the difference open.
TEST_CASE("posix: a non-blocking connect to a REJECTed 127.0.0.2 gets POLLERR and ECONNREFUSED",
          "[posix]") {
    Stack st;
    listener(st, "127.0.0.2", 80);
    REQUIRE(vlo_iptables(st, "-A INPUT -d 127.0.0.2 -p tcp -j REJECT") == 0);
    const int c = vlo_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const auto a = addr("127.0.0.2", 80);
    const long long t0 = vlo_clock_now_ns(st);
    CHECK(fails_with(vlo_connect(st, c, sa(a), sizeof a)) == EINPROGRESS);
    CHECK(fails_with(vlo_connect(st, c, sa(a), sizeof a)) == EALREADY);
    pollfd p{c, POLLOUT, 0};
    REQUIRE(vlo_poll(st, &p, 1, 5000) == 1);
    CHECK(p.revents & POLLERR);
    CHECK(vlo_clock_now_ns(st) - t0 <= 1000000000LL);  // by the first retransmission at the latest
    CHECK(vlo_counter(st, "TcpExtLockDroppedIcmps") == 1);
    int err = 0;
    socklen_t len = sizeof err;
    REQUIRE(vlo_getsockopt(st, c, SOL_SOCKET, SO_ERROR, &err, &len) == 0);
    CHECK(err == ECONNREFUSED);
}

TEST_CASE(
    "posix: TCP_INFO has Linux 6.18's 280 bytes, TCP_CC_INFO none for cubic, SO_MEMINFO 9 words",
    "[posix]") {
    Stack st;
    auto [c, s] = connected(st, 5090);
    unsigned char info[400];
    socklen_t len = sizeof info;
    REQUIRE(vlo_getsockopt(st, c, IPPROTO_TCP, TCP_INFO, info, &len) == 0);
    CHECK(len == 280);
    CHECK(info[0] == 1);  // tcpi_state: TCP_ESTABLISHED
    len = sizeof info;
    REQUIRE(vlo_getsockopt(st, c, IPPROTO_TCP, TCP_CC_INFO, info, &len) == 0);
    CHECK(len == 0);  // cubic has no get_info, so Linux copies nothing
    std::uint32_t mem[SK_MEMINFO_VARS + 2] = {};
    len = sizeof mem;
    REQUIRE(vlo_getsockopt(st, c, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0);
    CHECK(len == SK_MEMINFO_VARS * sizeof(std::uint32_t));
    int sndbuf = 0;
    socklen_t l = sizeof sndbuf;
    REQUIRE(vlo_getsockopt(st, c, SOL_SOCKET, SO_SNDBUF, &sndbuf, &l) == 0);
    CHECK(mem[SK_MEMINFO_SNDBUF] == static_cast<std::uint32_t>(sndbuf));
    // Bytes written and not yet acknowledged show in the queued-memory word.
    char buf[1000] = {};
    REQUIRE(vlo_write(st, c, buf, sizeof buf) == 1000);
    len = sizeof mem;
    REQUIRE(vlo_getsockopt(st, c, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0);
    CHECK(mem[SK_MEMINFO_WMEM_QUEUED] <= 1000);
    vlo_close(st, c);
    vlo_close(st, s);
}
