// inet_stream_ops over vlo's TCP (net/ipv4/af_inet.c, net/ipv4/tcp.c): connect's states and
// errors (__inet_stream_connect), accept (inet_accept), tcp_sendmsg / tcp_recvmsg with their
// flags and timeouts, tcp_poll, tcp_ioctl and the IPPROTO_TCP / IPPROTO_IP options.
//
// Blocking calls use the socket's non-blocking forms and wait on the Net, so a virtual clock
// can move while they wait (net.hpp). Options the stack does not keep per socket yet are held
// here (see docs/posix.md for what TCP would need to act on them).
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "posix/inet.hpp"
#include "posix/net.hpp"
#include "stack/stack.hpp"
#include "stack/tcp_info.hpp"
#include "stack/tcp_socket.hpp"

namespace vlo::posix {

namespace {

struct Owned {  // lock_sock ... release_sock
    explicit Owned(TcpSock& s) : sk(s) { sk.lock(); }
    ~Owned() { sk.release(); }
    Owned(const Owned&) = delete;
    Owned& operator=(const Owned&) = delete;
    TcpSock& sk;
};

int errno_of(const std::error_code& ec) { return ec ? ec.value() : 0; }

bool connecting(TcpState s) { return s == TcpState::syn_sent || s == TcpState::syn_recv; }

constexpr unsigned kPollIn = EPOLLIN | EPOLLRDNORM;
constexpr unsigned kPollOut = EPOLLOUT | EPOLLWRNORM;

}  // namespace

class TcpFile final : public Socket {
  public:
    TcpFile(Net& net, std::unique_ptr<TcpSocket> s, bool accepted)
        : Socket(net, SOCK_STREAM, IPPROTO_TCP), s_(std::move(s)), started_(accepted) {
        keyed_ = true;
        if (accepted) state_ = SocketState::connected;
        {
            Owned o(s_->sock());
            rcvbuf = static_cast<int>(s_->sock().rcvq.capacity());
            sndbuf = static_cast<int>(s_->sock().sndq.capacity());
        }
        s_->set_wake_callback([this] { wake(); });
    }

    ~TcpFile() override {
        s_->set_wake_callback(nullptr);
        TcpSock& sk = s_->sock();
        if (linger_on && linger_secs == 0) {
            // tcp_close with SO_LINGER {1, 0}: tcp_disconnect, an RST instead of a FIN.
            Owned o(sk);
            if (sk.state != TcpState::listen && sk.state != TcpState::close)
                net().stack().tcp().abort(sk, std::errc::connection_reset);
        }
        s_->close();
    }

    unsigned poll() override;
    long bind(const InetAddr& a) override;
    long connect(const InetAddr& a, bool nonblock) override;
    long disconnect() override;
    long listen(int backlog) override;
    long accept(std::shared_ptr<Socket>& child, bool nonblock) override;
    long sendmsg(const msghdr& msg, const InetAddr* to, int flags) override;
    long recvmsg(msghdr& msg, InetAddr* from, int flags) override;
    long shutdown(int how) override;
    long getname(InetAddr& a, bool peer) override;
    long ioctl(unsigned long request, int& value) override;
    long setsockopt_proto(int level, int name, const void* val, socklen_t len) override;
    long getsockopt_proto(int level, int name, void* val, socklen_t* len) override;
    void get_meminfo(std::uint32_t (&mem)[SK_MEMINFO_VARS]) override;
    int take_error() override { return errno_of(s_->so_error()); }
    long set_reuseaddr(bool on) override { return -errno_of(s_->set_reuseaddr(on)); }
    long set_keepalive(bool on) override { return -errno_of(s_->set_keepalive(on)); }
    bool listening() override { return state() == TcpState::listen; }

  private:
    void sort_wakeups() override;
    TcpState state() {
        Owned o(s_->sock());
        return s_->sock().state;
    }
    // __sk_stream_is_writeable(sk, 1): free space at least half of what is queued, and the
    // unsent bytes (doubled, as poll passes wake = 1) under TCP_NOTSENT_LOWAT.
    bool writeable(const TcpSock& sk) const {
        if (sk.sndq.free() < sk.sndq.size() / 2 || sk.sndq.free() == 0) return false;
        const auto unsent = static_cast<std::int32_t>(sk.unsent_end() - sk.snd_nxt);
        const std::uint64_t notsent = unsent > 0 ? static_cast<std::uint64_t>(unsent) : 0;
        return (notsent << 1) < notsent_lowat();
    }
    std::uint64_t notsent_lowat() const { return notsent_lowat_ ? notsent_lowat_ : UINT_MAX; }
    // The socket was shut both ways by tcp_done (reset, refused, timed out) rather than never
    // having been used: sk_shutdown = SHUTDOWN_MASK.
    bool done(const TcpSock& sk) const { return sk.state == TcpState::close && started_; }
    long wait_connected(bool nonblock, long err);
    long recv_peek(const msghdr& msg, std::size_t total);

    std::unique_ptr<TcpSocket> s_;
    SocketState state_ = SocketState::unconnected;
    bool started_;
    // TCP options vlo's TcpSock does not keep yet (see docs/posix.md).
    bool inq_ = false, quickack_ = true;
    int keepidle_ = 0, keepintvl_ = 0, keepcnt_ = 0;
    unsigned notsent_lowat_ = 0;  // 0: net.ipv4.tcp_notsent_lowat (unlimited)
    // SOCK_NOSPACE: somebody found the socket unwriteable; only then does freed space wake
    // EPOLLOUT waiters (sk_stream_write_space).
    std::atomic<bool> nospace_{false};
    // What sort_wakeups saw last.
    std::mutex sort_mu_;
    std::uint64_t sorted_raw_ = 0;
    std::uint32_t seen_rcv_nxt_ = 0, seen_snd_una_ = 0;
    bool seen_rcv_shut_ = false, seen_err_ = false;
    TcpState seen_state_ = TcpState::close;

    friend std::shared_ptr<Socket> tcp_socket_create(Net& net);
};

std::shared_ptr<Socket> tcp_socket_create(Net& net) {
    return std::make_shared<TcpFile>(net, std::make_unique<TcpSocket>(net.stack()), false);
}

// tcp_poll
unsigned TcpFile::poll() {
    TcpSock& sk = s_->sock();
    Owned o(sk);
    if (sk.state == TcpState::listen) {
        std::lock_guard g(sk.accept_mu);
        return sk.accept_queue.empty() ? 0 : kPollIn;
    }
    const bool rcv_shut = sk.shut_rd || sk.fin_rcvd || done(sk);
    const bool snd_shut = sk.fin_queued || done(sk);
    unsigned mask = 0;
    if ((rcv_shut && snd_shut) || sk.state == TcpState::close) mask |= EPOLLHUP;
    if (rcv_shut) mask |= kPollIn | EPOLLRDHUP;
    if (!connecting(sk.state)) {
        if (sk.rcvq.size() >= static_cast<std::size_t>(std::max(rcvlowat, 1))) mask |= kPollIn;
        if (snd_shut || writeable(sk))
            mask |= kPollOut;
        else
            nospace_ = true;
    }
    if (sk.err) mask |= EPOLLERR;
    return mask;
}

// TcpSock's wakeups carry no key: tell data from write space from a state change by what
// changed since the last look, as the kernel's callers pass EPOLLIN (sk_data_ready),
// EPOLLOUT (sk_stream_write_space, only after SOCK_NOSPACE) or everything (sk_state_change).
void TcpFile::sort_wakeups() {
    std::lock_guard g(sort_mu_);
    if (raw_wakes() == sorted_raw_) return;
    sorted_raw_ = raw_wakes();
    TcpSock& sk = s_->sock();
    Owned o(sk);
    const bool rcv_shut = sk.shut_rd || sk.fin_rcvd;
    const bool err = static_cast<bool>(sk.err);
    if (sk.state != seen_state_ || err != seen_err_) {
        bump(kWakeIn);
        bump(kWakeOut);
        bump(kWakeErr);
    } else {
        if (sk.rcv_nxt != seen_rcv_nxt_ || rcv_shut != seen_rcv_shut_) bump(kWakeIn);
        if (sk.snd_una != seen_snd_una_ && nospace_ && writeable(sk)) {
            nospace_ = false;
            bump(kWakeOut);
        }
    }
    seen_state_ = sk.state;
    seen_err_ = err;
    seen_rcv_nxt_ = sk.rcv_nxt;
    seen_rcv_shut_ = rcv_shut;
    seen_snd_una_ = sk.snd_una;
}

long TcpFile::bind(const InetAddr& a) { return -errno_of(s_->bind({a.addr, a.port})); }

long TcpFile::listen(int backlog) {
    if (state_ != SocketState::unconnected) return -EINVAL;  // inet_listen
    const TcpState st = state();
    if (st == TcpState::listen) {  // a second listen() only changes the backlog
        Owned o(s_->sock());
        s_->sock().backlog = backlog;
        return 0;
    }
    if (st != TcpState::close) return -EINVAL;
    return -errno_of(s_->listen(backlog));
}

long TcpFile::accept(std::shared_ptr<Socket>& child, bool nonblock) {
    if (!listening()) return -EINVAL;  // inet_accept: not a listener
    const auto deadline = net().deadline_after(rcvtimeo);
    for (;;) {
        const std::uint32_t seen = net().events().current();
        std::error_code ec;
        auto c = s_->try_accept(ec);
        if (c) {
            child = std::make_shared<TcpFile>(net(), std::move(c), true);
            return 0;
        }
        if (ec != std::errc::resource_unavailable_try_again) return -errno_of(ec);
        if (nonblock || (rcvtimeo && *rcvtimeo == 0)) return -EAGAIN;
        if (!net().wait(seen, deadline)) return -EAGAIN;
    }
}

// __inet_stream_connect
long TcpFile::connect(const InetAddr& a, bool nonblock) {
    long err = 0;
    switch (state_) {
        case SocketState::connected:
            return -EISCONN;
        case SocketState::connecting:
            err = -EALREADY;
            break;
        case SocketState::unconnected: {
            if (state() != TcpState::close) return -EISCONN;
            started_ = true;
            const std::error_code ec = s_->connect_start({a.addr, a.port});
            if (!ec) {
                state_ = SocketState::connected;
                return 0;
            }
            if (ec != std::errc::operation_in_progress) return -errno_of(ec);
            state_ = SocketState::connecting;
            // The SYN is out and the socket still ours: whatever came back (a SYN-ACK, an RST)
            // waits on the backlog until we let go, so a non-blocking connect says
            // EINPROGRESS even on lo, as Linux's does (sk_state is still SYN_SENT here).
            if (nonblock || (sndtimeo && *sndtimeo == 0)) return -EINPROGRESS;
            err = -EINPROGRESS;
            break;
        }
    }
    return wait_connected(nonblock, err);
}

long TcpFile::wait_connected(bool nonblock, long err) {
    const bool dont_wait = nonblock || (sndtimeo && *sndtimeo == 0);
    const auto deadline = net().deadline_after(sndtimeo);
    for (;;) {
        const std::uint32_t seen = net().events().current();
        const TcpState st = state();
        if (!connecting(st)) break;
        if (dont_wait || !net().wait(seen, deadline)) return err;  // EINPROGRESS or EALREADY
    }
    if (state() == TcpState::close) {
        // sock_error, or ECONNABORTED if nothing says why; the socket may connect again.
        const int e = take_error();
        state_ = SocketState::unconnected;
        return e ? -e : -ECONNABORTED;
    }
    state_ = SocketState::connected;
    return 0;
}

long TcpFile::disconnect() {
    // connect(AF_UNSPEC): tcp_disconnect, an RST to a synchronized peer.
    TcpSock& sk = s_->sock();
    {
        Owned o(sk);
        if (sk.state != TcpState::close && sk.state != TcpState::listen)
            net().stack().tcp().abort(sk, std::errc::connection_reset);
        sk.err.clear();
    }
    state_ = SocketState::unconnected;
    return 0;
}

// tcp_sendmsg_locked: errors first (sk_err, shutdown), then wait for the connection, then copy.
long TcpFile::sendmsg(const msghdr& msg, const InetAddr* to, int flags) {
    (void)to;  // a connected stream ignores the address (EISCONN only for fast open)
    const bool nonblock = is_nonblock(*this, flags) || (sndtimeo && *sndtimeo == 0);
    const auto deadline = net().deadline_after(sndtimeo);
    const std::size_t total = iov_length(msg);
    std::size_t sent = 0, iov_i = 0, iov_off = 0;
    std::vector<std::uint8_t> chunk;
    TcpSock& sk = s_->sock();
    for (;;) {
        const std::uint32_t seen = net().events().current();
        long err = 0;
        bool wait_conn = false;
        std::size_t room = 0;
        {
            Owned o(sk);
            if (sk.err) {
                err = -sk.err.value();
                sk.err.clear();
            } else if (sk.fin_queued || done(sk)) {
                err = -EPIPE;
            } else if (connecting(sk.state)) {
                wait_conn = true;
            } else if (sk.state != TcpState::established && sk.state != TcpState::close_wait) {
                err = -EPIPE;  // sk_stream_wait_connect: never connected, or listening
            } else {
                room = sk.sndq.free();
                if (room == 0) nospace_ = true;
            }
        }
        if (err) return sent ? static_cast<long>(sent) : err;
        if (!wait_conn && room > 0) {
            if (sent == total) return static_cast<long>(sent);
            // Gather what fits into one call, so one sendmsg of several pieces makes the
            // segments one write would (no push between the pieces).
            const std::size_t want = std::min(room, total - sent);
            chunk.resize(want);
            std::size_t got = 0, i = iov_i, off = iov_off;
            while (got < want) {
                const iovec& v = msg.msg_iov[i];
                const std::size_t n = std::min(v.iov_len - off, want - got);
                if (n && !v.iov_base) return sent ? static_cast<long>(sent) : -EFAULT;
                if (n)
                    std::memcpy(chunk.data() + got,
                                static_cast<const std::uint8_t*>(v.iov_base) + off, n);
                got += n;
                off += n;
                if (off == v.iov_len) {
                    ++i;
                    off = 0;
                }
            }
            std::size_t n = 0;
            // MSG_EOR ends the record only with the call's last byte.
            const TcpSendFlags send_flags{(flags & MSG_MORE) != 0,
                                          (flags & MSG_EOR) != 0 && sent + want == total};
            const std::error_code ec = s_->try_send(chunk, n, send_flags);
            // Advance the iovec position by what was taken.
            for (std::size_t left = n; left > 0;) {
                const std::size_t step = std::min(left, msg.msg_iov[iov_i].iov_len - iov_off);
                left -= step;
                iov_off += step;
                if (iov_off == msg.msg_iov[iov_i].iov_len) {
                    ++iov_i;
                    iov_off = 0;
                }
            }
            sent += n;
            if (ec && ec != std::errc::resource_unavailable_try_again)
                return sent ? static_cast<long>(sent) : -errno_of(ec);
            if (sent == total) return static_cast<long>(sent);
            if (n > 0) continue;
        } else if (!wait_conn && total == 0) {
            return 0;
        }
        if (nonblock) return sent ? static_cast<long>(sent) : -EAGAIN;
        if (!net().wait(seen, deadline)) return sent ? static_cast<long>(sent) : -EAGAIN;
    }
}

long TcpFile::recv_peek(const msghdr& msg, std::size_t total) {
    TcpSock& sk = s_->sock();
    Owned o(sk);
    const std::size_t avail = std::min(total, sk.rcvq.size());
    std::size_t done_bytes = 0;
    for (std::size_t i = 0; i < msg.msg_iovlen && done_bytes < avail; ++i) {
        const iovec& v = msg.msg_iov[i];
        const std::size_t n = std::min(v.iov_len, avail - done_bytes);
        if (n && !v.iov_base) return done_bytes ? static_cast<long>(done_bytes) : -EFAULT;
        sk.rcvq.copy_out(done_bytes, {static_cast<std::uint8_t*>(v.iov_base), n});
        done_bytes += n;
    }
    return static_cast<long>(done_bytes);
}

// tcp_recvmsg_locked: copy what is there; stop at the target (SO_RCVLOWAT, or everything with
// MSG_WAITALL); then an error, the end of the stream, EAGAIN or a wait.
long TcpFile::recvmsg(msghdr& msg, InetAddr* from, int flags) {
    (void)from;
    if (flags & MSG_OOB) return -EINVAL;       // tcp_recv_urg: no urgent data
    if (flags & MSG_ERRQUEUE) return -EAGAIN;  // ip_recv_error: the error queue is empty
    const bool nonblock = is_nonblock(*this, flags) || (rcvtimeo && *rcvtimeo == 0);
    const auto deadline = net().deadline_after(rcvtimeo);
    const std::size_t total = iov_length(msg);
    const std::size_t target =
        (flags & MSG_WAITALL) ? total
                              : std::min(total, static_cast<std::size_t>(std::max(rcvlowat, 1)));
    TcpSock& sk = s_->sock();
    std::size_t copied = 0;
    std::size_t iov_i = 0, iov_off = 0;
    long result = 0;
    for (;;) {
        const std::uint32_t seen = net().events().current();
        if (flags & MSG_PEEK) {
            const long n = recv_peek(msg, total);
            if (n < 0) return n;
            copied = static_cast<std::size_t>(n);
        } else {
            while (iov_i < msg.msg_iovlen && copied < total) {
                const iovec& v = msg.msg_iov[iov_i];
                if (iov_off == v.iov_len) {
                    ++iov_i;
                    iov_off = 0;
                    continue;
                }
                if (!v.iov_base) {
                    bool data;
                    {
                        Owned o(sk);
                        data = sk.rcvq.size() > 0;
                    }
                    if (data && !copied) return -EFAULT;
                    break;
                }
                std::size_t n = 0;
                const std::error_code ec = s_->try_recv(
                    {static_cast<std::uint8_t*>(v.iov_base) + iov_off, v.iov_len - iov_off}, n);
                if (ec && ec != std::errc::resource_unavailable_try_again) {
                    if (!copied) result = -errno_of(ec);
                    break;
                }
                if (n == 0) break;
                copied += n;
                iov_off += n;
            }
        }
        if (result) return result;
        if (copied >= target && (copied > 0 || total == 0)) break;
        bool end = false, listen = false;
        int err = 0;
        {
            Owned o(sk);
            listen = sk.state == TcpState::listen;
            if (sk.err && !copied) {
                err = sk.err.value();
                sk.err.clear();
            }
            end = sk.fin_rcvd || sk.shut_rd || sk.state == TcpState::close;
        }
        if (listen) return -ENOTCONN;
        if (err) return -err;
        if (end) break;
        if (copied && (flags & MSG_PEEK)) break;
        if (nonblock) {
            if (copied) break;
            return -EAGAIN;
        }
        if (!net().wait(seen, deadline)) {
            if (copied) break;
            return -EAGAIN;
        }
    }
    // TCP_INQ: how much is left to read, as a TCP_CM_INQ control message.
    if (inq_ && msg.msg_control) {
        int inq;
        {
            Owned o(sk);
            inq = static_cast<int>(sk.rcvq.size());
            if (inq == 0 && (sk.fin_rcvd || sk.shut_rd)) inq = 1;  // tcp_inq_hint: EOF reads 1
        }
        if (msg.msg_controllen >= CMSG_SPACE(sizeof(int))) {
            cmsghdr* c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = IPPROTO_TCP;  // SOL_TCP
            c->cmsg_type = TCP_CM_INQ;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            std::memcpy(CMSG_DATA(c), &inq, sizeof inq);
            msg.msg_controllen = CMSG_SPACE(sizeof(int));
        } else {
            msg.msg_flags |= MSG_CTRUNC;
            msg.msg_controllen = 0;
        }
    } else {
        msg.msg_controllen = 0;
    }
    return static_cast<long>(copied);
}

long TcpFile::shutdown(int how) {
    const Shutdown h = how == SHUT_RD   ? Shutdown::read
                       : how == SHUT_WR ? Shutdown::write
                                        : Shutdown::both;
    return -errno_of(s_->shutdown(h));
}

long TcpFile::getname(InetAddr& a, bool peer) {
    TcpSock& sk = s_->sock();
    Owned o(sk);
    if (peer) {
        // inet_getname: no peer before the SYN-ACK, nor once closed.
        if (sk.rport == 0 || sk.state == TcpState::close || sk.state == TcpState::syn_sent ||
            sk.state == TcpState::listen)
            return -ENOTCONN;
        a = {sk.raddr, sk.rport};
    } else {
        a = {sk.laddr, sk.lport};
    }
    return 0;
}

// tcp_ioctl
long TcpFile::ioctl(unsigned long request, int& value) {
    TcpSock& sk = s_->sock();
    Owned o(sk);
    switch (request) {
        case SIOCINQ:
            if (sk.state == TcpState::listen) return -EINVAL;
            value = connecting(sk.state) ? 0 : static_cast<int>(sk.rcvq.size());
            return 0;
        case SIOCATMARK:
            value = 0;
            return 0;
        case SIOCOUTQ:
            if (sk.state == TcpState::listen) return -EINVAL;
            value = connecting(sk.state) ? 0 : static_cast<int>(sk.sndq.size());
            return 0;
        case SIOCOUTQNSD: {
            if (sk.state == TcpState::listen) return -EINVAL;
            const auto unsent = static_cast<std::int32_t>(sk.unsent_end() - sk.snd_nxt);
            value = connecting(sk.state) || unsent < 0 ? 0 : unsent;
            return 0;
        }
        default:
            return -ENOTTY;  // -ENOIOCTLCMD, as sock_do_ioctl answers it
    }
}

long TcpFile::setsockopt_proto(int level, int name, const void* val, socklen_t len) {
    if (level == IPPROTO_TCP && name == TCP_CONGESTION) {
        // tcp_set_congestion_control: a name somebody registered, else ENOENT.
        if (!val) return -EFAULT;
        const std::string n(static_cast<const char*>(val),
                            strnlen(static_cast<const char*>(val), len));
        Owned o(s_->sock());
        return -errno_of(net().stack().tcp().set_congestion_control(s_->sock(), n));
    }
    if (level != IPPROTO_TCP) return -ENOPROTOOPT;
    if (len < sizeof(int)) return -EINVAL;
    if (!val) return -EFAULT;
    int v = 0;
    std::memcpy(&v, val, sizeof v);
    switch (name) {
        case TCP_NODELAY:
            return -errno_of(s_->set_nodelay(v != 0));
        case TCP_CORK: {
            Owned o(s_->sock());
            net().stack().tcp().set_cork(s_->sock(), v != 0);
            return 0;
        }
        case TCP_MAXSEG:
            if (v && (v < 88 || v > 65535)) return -EINVAL;  // TCP_MIN_MSS .. MAX_TCP_WINDOW
            {
                Owned o(s_->sock());
                s_->sock().user_mss = static_cast<std::uint16_t>(v);
            }
            return 0;
        case TCP_KEEPIDLE:
            if (v < 1 || v > 32767) return -EINVAL;  // MAX_TCP_KEEPIDLE
            keepidle_ = v;
            return 0;
        case TCP_KEEPINTVL:
            if (v < 1 || v > 32767) return -EINVAL;  // MAX_TCP_KEEPINTVL
            keepintvl_ = v;
            return 0;
        case TCP_KEEPCNT:
            if (v < 1 || v > 127) return -EINVAL;  // MAX_TCP_KEEPCNT
            keepcnt_ = v;
            return 0;
        case TCP_USER_TIMEOUT:
            if (v < 0) return -EINVAL;
            {
                Owned o(s_->sock());
                s_->sock().user_timeout = Nanos{v} * kNsPerMs;
            }
            return 0;
        case TCP_NOTSENT_LOWAT:
            notsent_lowat_ = static_cast<unsigned>(v);
            wake();  // sk_write_space: the new limit may make the socket writeable
            return 0;
        case TCP_INQ:
            if (v < 0 || v > 1) return -EINVAL;
            inq_ = v != 0;
            return 0;
        case TCP_QUICKACK:
            quickack_ = v != 0;
            return 0;
        default:
            return -ENOPROTOOPT;
    }
}

long TcpFile::getsockopt_proto(int level, int name, void* val, socklen_t* len) {
    auto put = [&](const void* src, std::size_t n) -> long {
        const std::size_t copy = std::min<std::size_t>(*len, n);
        if (copy && !val) return -EFAULT;
        std::memcpy(val, src, copy);
        *len = static_cast<socklen_t>(copy);
        return 0;
    };
    int v = 0;
    if (level != IPPROTO_TCP) return -ENOPROTOOPT;
    TcpSock& sk = s_->sock();
    const TcpConfig& cfg = net().stack().config().tcp;
    switch (name) {
        case TCP_INFO: {
            TcpInfo info{};
            {
                Owned o(sk);
                tcp_get_info(sk, net().now(), info);
            }
            return put(&info, sizeof info);
        }
        case TCP_CC_INFO:
            // ca_ops->get_info: neither cubic nor reno has one, so Linux copies 0 bytes.
            *len = 0;
            return 0;
        case TCP_CONGESTION: {
            char name_buf[16] = {};  // TCP_CA_NAME_MAX
            {
                Owned o(sk);
                std::strncpy(name_buf, tcp_ca_name(sk), sizeof name_buf - 1);
            }
            return put(name_buf, sizeof name_buf);
        }
        case TCP_NODELAY: {
            Owned o(sk);
            v = sk.nodelay;
            break;
        }
        case TCP_CORK: {
            Owned o(sk);
            v = sk.cork;
            break;
        }
        case TCP_MAXSEG: {
            Owned o(sk);
            // do_tcp_getsockopt: mss_cache, or the user's value before a connection exists.
            v = sk.mss;
            if (sk.user_mss && (sk.state == TcpState::close || sk.state == TcpState::listen))
                v = sk.user_mss;
            break;
        }
        case TCP_KEEPIDLE:
            v = keepidle_ ? keepidle_ : static_cast<int>(cfg.tcp_keepalive_time / kNsPerSec);
            break;
        case TCP_KEEPINTVL:
            v = keepintvl_ ? keepintvl_ : static_cast<int>(cfg.tcp_keepalive_intvl / kNsPerSec);
            break;
        case TCP_KEEPCNT:
            v = keepcnt_ ? keepcnt_ : cfg.tcp_keepalive_probes;
            break;
        case TCP_USER_TIMEOUT: {
            Owned o(sk);
            v = static_cast<int>(sk.user_timeout / kNsPerMs);
        } break;
        case TCP_NOTSENT_LOWAT:
            v = static_cast<int>(notsent_lowat_);
            break;  // tp->notsent_lowat: 0 until set
        case TCP_INQ:
            v = inq_;
            break;
        case TCP_QUICKACK:
            v = quickack_;
            break;
        default:
            return -ENOPROTOOPT;
    }
    return put(&v, sizeof v);
}

void TcpFile::get_meminfo(std::uint32_t (&mem)[SK_MEMINFO_VARS]) {
    Socket::get_meminfo(mem);
    TcpSock& sk = s_->sock();
    Owned o(sk);
    std::size_t ooo = 0;
    for (const auto& [seq, bytes] : sk.ooo) ooo += bytes.size();
    mem[SK_MEMINFO_RMEM_ALLOC] = static_cast<std::uint32_t>(sk.rcvq.size() + ooo);
    mem[SK_MEMINFO_WMEM_ALLOC] = sk.flight();  // what the driver still holds: sent, unacked
    mem[SK_MEMINFO_WMEM_QUEUED] = static_cast<std::uint32_t>(sk.sndq.size());
}

}  // namespace vlo::posix
