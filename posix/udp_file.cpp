// inet_dgram_ops over vlo's UDP (net/ipv4/udp.c, net/core/datagram.c): udp_sendmsg and
// udp_recvmsg with MSG_PEEK, MSG_TRUNC and MSG_DONTWAIT, datagram_poll, udp_ioctl.
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "posix/inet.hpp"
#include "posix/net.hpp"
#include "stack/stack.hpp"
#include "stack/udp_socket.hpp"

namespace vlo::posix {

namespace {
int errno_of(const std::error_code& ec) { return ec ? ec.value() : 0; }
constexpr int kWmemDefault = 212992;  // net.core.wmem_default
}  // namespace

class UdpFile final : public Socket {
  public:
    explicit UdpFile(Net& net) : Socket(net, SOCK_DGRAM, IPPROTO_UDP), u_(net.stack()) {
        rcvbuf = static_cast<int>(u_.rcvbuf());
        sndbuf = kWmemDefault;
        u_.set_wake_callback([this] { wake(); });
    }
    ~UdpFile() override { u_.set_wake_callback(nullptr); }

    // datagram_poll
    unsigned poll() override {
        unsigned mask =
            EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;  // sock_writeable: UDP never fills up here
        if (u_.pending_error()) mask |= EPOLLERR;
        if (u_.readable()) mask |= EPOLLIN | EPOLLRDNORM;
        if (shut_rd_) mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
        return mask;
    }
    long bind(const InetAddr& a) override { return -errno_of(u_.bind(a.addr, a.port)); }
    long connect(const InetAddr& a, bool) override {
        const long r = -errno_of(u_.connect(a.addr, a.port));
        if (r == 0) connected_ = true;
        return r;
    }
    long disconnect() override { return -EOPNOTSUPP; }  // UdpSocket cannot forget its peer yet
    long listen(int) override { return -EOPNOTSUPP; }
    long accept(std::shared_ptr<Socket>&, bool) override { return -EOPNOTSUPP; }

    long sendmsg(const msghdr& msg, const InetAddr* to, int flags) override {
        if (flags & MSG_OOB) return -EOPNOTSUPP;  // udp_sendmsg
        const std::size_t total = iov_length(msg);
        if (total > 65507) return -EMSGSIZE;
        std::vector<std::uint8_t> buf(total);
        std::size_t off = 0;
        for (std::size_t i = 0; i < msg.msg_iovlen; ++i) {
            const iovec& v = msg.msg_iov[i];
            if (v.iov_len && !v.iov_base) return -EFAULT;
            if (v.iov_len) std::memcpy(buf.data() + off, v.iov_base, v.iov_len);
            off += v.iov_len;
        }
        const std::error_code ec = to ? u_.sendto(to->addr, to->port, buf) : u_.send(buf);
        return ec ? -errno_of(ec) : static_cast<long>(total);
    }

    long recvmsg(msghdr& msg, InetAddr* from, int flags) override {
        if (flags & MSG_ERRQUEUE) return -EAGAIN;  // ip_recv_error: the error queue is empty
        const bool nonblock = is_nonblock(*this, flags) || (rcvtimeo && *rcvtimeo == 0);
        const auto deadline = net().deadline_after(rcvtimeo);
        const std::size_t total = iov_length(msg);
        std::vector<std::uint8_t> buf(total);
        for (;;) {
            const std::uint32_t seen = net().events().current();
            Ipv4Address addr;
            std::uint16_t port = 0;
            std::size_t n = 0, dlen = 0;
            // A deadline of now: one look, no wait (ours is below, on the Net).
            const std::error_code ec =
                u_.recvmsg(buf, addr, port, n, dlen, (flags & MSG_PEEK) != 0, net().now());
            if (!ec) {
                std::size_t off = 0;
                for (std::size_t i = 0; i < msg.msg_iovlen && off < n; ++i) {
                    const iovec& v = msg.msg_iov[i];
                    const std::size_t k = std::min(v.iov_len, n - off);
                    if (k && !v.iov_base) return -EFAULT;
                    std::memcpy(v.iov_base, buf.data() + off, k);
                    off += k;
                }
                if (from) *from = {addr, port};
                if (dlen > n) msg.msg_flags |= MSG_TRUNC;
                msg.msg_controllen = 0;
                return static_cast<long>((flags & MSG_TRUNC) ? dlen : n);
            }
            if (ec != std::errc::resource_unavailable_try_again) return -errno_of(ec);
            if (shut_rd_) return 0;
            if (nonblock || !net().wait(seen, deadline)) return -EAGAIN;
        }
    }

    long shutdown(int how) override {
        if (!connected_) return -ENOTCONN;  // inet_shutdown on an unconnected datagram socket
        if (how != SHUT_WR) {
            shut_rd_ = true;
            wake();
        }
        return 0;
    }
    long getname(InetAddr& a, bool peer) override {
        if (peer) {
            Ipv4Address addr;
            std::uint16_t port = 0;
            if (std::error_code ec = u_.peer(addr, port)) return -errno_of(ec);
            a = {addr, port};
            return 0;
        }
        a = {u_.local_address(), u_.local_port()};
        return 0;
    }
    long ioctl(unsigned long request, int& value) override {
        switch (request) {
            case SIOCINQ:
                value = static_cast<int>(u_.next_datagram_len());
                return 0;  // udp_ioctl
            case SIOCOUTQ:
                value = 0;
                return 0;  // sk_wmem_alloc: sent at once on lo
            default:
                return -ENOTTY;
        }
    }
    // UDP has no options of its own level here (UDP_CORK, UDP_SEGMENT: not in vlo).
    long setsockopt_proto(int, int, const void*, socklen_t) override { return -ENOPROTOOPT; }
    long getsockopt_proto(int, int, void*, socklen_t*) override { return -ENOPROTOOPT; }
    int take_error() override { return u_.take_error(); }
    long set_reuseaddr(bool on) override { return -errno_of(u_.set_reuseaddr(on)); }
    long set_keepalive(bool) override { return 0; }
    void set_rcvbuf(int doubled) override {
        u_.set_rcvbuf(doubled / 2);  // UdpSocket doubles it again, as sock_setsockopt does
        rcvbuf = static_cast<int>(u_.rcvbuf());
    }

  private:
    UdpSocket u_;
    bool connected_ = false;
    bool shut_rd_ = false;
};

std::shared_ptr<Socket> udp_socket_create(Net& net) { return std::make_shared<UdpFile>(net); }

}  // namespace vlo::posix
