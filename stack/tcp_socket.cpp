#include "stack/tcp_socket.hpp"

#include "stack/stack.hpp"

namespace vlo {

namespace {
std::error_code make(std::errc e) { return std::make_error_code(e); }

struct Owned {  // lock_sock ... release_sock
    explicit Owned(TcpSock& s) : sk(s) { sk.lock(); }
    ~Owned() { sk.release(); }
    TcpSock& sk;
};
}  // namespace

TcpSocket::TcpSocket(Stack& stack) : stack_(stack), sk_(stack.tcp().create()) {}

TcpSocket::~TcpSocket() { close(); }

template <class Pred>
bool TcpSocket::wait(Pred pred, std::optional<Nanos> deadline) {
    // Ownership is what the wait lets go of (sk_wait_event: release_sock ... lock_sock).
    struct Ownership {
        TcpSock& sk;
        void unlock() { sk.release(); }
        void lock() { sk.lock(); }
    } owned{*sk_};
    return wait_until_ready(stack_.net_rx(), sk_->wake_seq, owned, pred, deadline);
}

std::error_code TcpSocket::take_error() {
    std::error_code ec = sk_->err;
    sk_->err.clear();
    return ec;
}

std::error_code TcpSocket::set_reuseaddr(bool on) {
    Owned o(*sk_);
    sk_->binding.reuseaddr = on;
    return {};
}

std::error_code TcpSocket::set_nodelay(bool on) {
    Owned o(*sk_);
    sk_->nodelay = on;
    if (on) {  // __tcp_sock_set_nodelay: TCP_NAGLE_PUSH, what Nagle or a cork held goes
        sk_->nagle_push = true;
        stack_.tcp().push_pending(*sk_);
    }
    return {};
}

std::error_code TcpSocket::set_keepalive(bool on) {
    Owned o(*sk_);
    sk_->keepalive = on;
    if (on && sk_->state == TcpState::established)
        sk_->keepalive_timer.arm(stack_.clock().now_ns() + stack_.config().tcp.tcp_keepalive_time);
    return {};
}

std::error_code TcpSocket::bind(SockAddr local) {
    Owned o(*sk_);
    if (sk_->binding.bound || sk_->state != TcpState::close)
        return make(std::errc::invalid_argument);
    // inet_bind: the address must be ours (or any); 0.0.0.0 listens on every local address.
    if (!local.addr.is_unspecified() && !stack_.fib().is_local(local.addr))
        return make(std::errc::address_not_available);
    if (std::error_code ec = stack_.tcp().ports().bind(sk_->binding, local.addr, local.port))
        return ec;
    sk_->laddr = local.addr;
    sk_->lport = sk_->binding.port;
    return {};
}

std::error_code TcpSocket::listen(int backlog) {
    Owned o(*sk_);
    return stack_.tcp().listen(*sk_, backlog);
}

std::unique_ptr<TcpSocket> TcpSocket::try_accept(std::error_code& ec) {
    Owned o(*sk_);
    if (sk_->state != TcpState::listen) {
        ec = make(std::errc::invalid_argument);
        return nullptr;
    }
    std::shared_ptr<TcpSock> child;
    {
        std::lock_guard g(sk_->accept_mu);
        if (!sk_->accept_queue.empty()) {
            child = std::move(sk_->accept_queue.front());
            sk_->accept_queue.pop_front();
        }
    }
    if (!child) {
        ec = make(std::errc::resource_unavailable_try_again);
        return nullptr;
    }
    ec.clear();
    return std::unique_ptr<TcpSocket>(new TcpSocket(stack_, std::move(child)));
}

std::unique_ptr<TcpSocket> TcpSocket::accept(std::error_code& ec, std::optional<Nanos> timeout) {
    const auto deadline =
        timeout ? std::optional<Nanos>(stack_.clock().now_ns() + *timeout) : std::nullopt;
    for (;;) {
        auto s = try_accept(ec);
        if (ec != std::errc::resource_unavailable_try_again) return s;
        Owned o(*sk_);
        const bool ready = wait(
            [&] {
                std::lock_guard g(sk_->accept_mu);
                return !sk_->accept_queue.empty() || sk_->state != TcpState::listen;
            },
            deadline);
        if (!ready) return nullptr;  // ec: EAGAIN
    }
}

std::error_code TcpSocket::connect(SockAddr remote, std::optional<Nanos> timeout) {
    Owned o(*sk_);
    if (std::error_code ec = stack_.tcp().connect(*sk_, remote.addr, remote.port)) return ec;
    const auto deadline =
        timeout ? std::optional<Nanos>(stack_.clock().now_ns() + *timeout) : std::nullopt;
    const bool settled =
        wait([&] { return sk_->state != TcpState::syn_sent && sk_->state != TcpState::syn_recv; },
             deadline);
    if (!settled) {
        stack_.tcp().abort(*sk_, std::errc::timed_out);
        take_error();
        return make(std::errc::timed_out);
    }
    if (sk_->state == TcpState::close) {
        std::error_code ec = take_error();
        return ec ? ec : make(std::errc::connection_refused);
    }
    return {};
}

std::error_code TcpSocket::connect_start(SockAddr remote) {
    Owned o(*sk_);
    if (std::error_code ec = stack_.tcp().connect(*sk_, remote.addr, remote.port)) return ec;
    if (sk_->state == TcpState::established) return {};
    if (sk_->state == TcpState::close) {
        std::error_code ec = take_error();
        return ec ? ec : make(std::errc::connection_refused);
    }
    return make(std::errc::operation_in_progress);
}

std::error_code TcpSocket::so_error() {
    Owned o(*sk_);
    return take_error();
}

void TcpSocket::set_wake_callback(std::function<void()> fn) {
    std::lock_guard l(sk_->wait_mu);
    sk_->on_wake = std::move(fn);
}

std::error_code TcpSocket::try_send(std::span<const std::uint8_t> data, std::size_t& sent,
                                    TcpSendFlags flags) {
    Owned o(*sk_);
    return send_owned(data, sent, flags);
}

std::error_code TcpSocket::send_owned(std::span<const std::uint8_t> data, std::size_t& sent,
                                      TcpSendFlags flags) {
    sent = 0;
    if (std::error_code ec = take_error()) return ec;
    switch (sk_->state) {
        case TcpState::established:
        case TcpState::close_wait:
            break;
        case TcpState::syn_sent:
        case TcpState::syn_recv:
            return make(std::errc::resource_unavailable_try_again);
        case TcpState::close:
        case TcpState::listen:
            return make(std::errc::not_connected);
        default:
            return make(std::errc::broken_pipe);  // shut down for writing: EPIPE
    }
    if (sk_->fin_queued) return make(std::errc::broken_pipe);
    sent = stack_.tcp().sendmsg(*sk_, data, flags);
    return sent || data.empty() ? std::error_code{}
                                : make(std::errc::resource_unavailable_try_again);
}

std::error_code TcpSocket::send(std::span<const std::uint8_t> data, std::size_t& sent,
                                std::optional<Nanos> timeout) {
    const auto deadline =
        timeout ? std::optional<Nanos>(stack_.clock().now_ns() + *timeout) : std::nullopt;
    sent = 0;
    Owned o(*sk_);
    while (sent < data.size()) {
        std::size_t n = 0;
        std::error_code ec = send_owned(data.subspan(sent), n);
        sent += n;
        if (!ec) continue;
        if (ec != std::errc::resource_unavailable_try_again) return ec;
        const bool ready = wait(
            [&] {
                return sk_->sndq.free() > 0 || sk_->err ||
                       (sk_->state != TcpState::established && sk_->state != TcpState::close_wait &&
                        sk_->state != TcpState::syn_sent && sk_->state != TcpState::syn_recv);
            },
            deadline);
        if (!ready) return make(std::errc::resource_unavailable_try_again);
    }
    return {};
}

std::error_code TcpSocket::try_recv(std::span<std::uint8_t> out, std::size_t& received) {
    Owned o(*sk_);
    return recv_owned(out, received);
}

std::error_code TcpSocket::recv_owned(std::span<std::uint8_t> out, std::size_t& received) {
    received = stack_.tcp().recvmsg(*sk_, out);
    if (received > 0 || out.empty()) return {};
    if (std::error_code ec = take_error()) return ec;
    if (sk_->fin_rcvd || sk_->shut_rd || sk_->state == TcpState::close) return {};  // end of stream
    if (sk_->state == TcpState::listen) return make(std::errc::not_connected);
    return make(std::errc::resource_unavailable_try_again);
}

std::error_code TcpSocket::recv(std::span<std::uint8_t> out, std::size_t& received,
                                std::optional<Nanos> timeout) {
    const auto deadline =
        timeout ? std::optional<Nanos>(stack_.clock().now_ns() + *timeout) : std::nullopt;
    Owned o(*sk_);
    for (;;) {
        std::error_code ec = recv_owned(out, received);
        if (ec != std::errc::resource_unavailable_try_again) return ec;
        const bool ready = wait(
            [&] {
                return sk_->rcvq.size() > 0 || sk_->fin_rcvd || sk_->shut_rd || sk_->err ||
                       sk_->state == TcpState::close;
            },
            deadline);
        if (!ready) return make(std::errc::resource_unavailable_try_again);
    }
}

void TcpSocket::wait_event(std::optional<Nanos> timeout) {
    const auto deadline =
        timeout ? std::optional<Nanos>(stack_.clock().now_ns() + *timeout) : std::nullopt;
    Owned o(*sk_);
    const std::uint32_t seen = sk_->wake_seq.current();
    wait([&] { return sk_->wake_seq.current() != seen; }, deadline);
}

std::error_code TcpSocket::shutdown(Shutdown how) {
    Owned o(*sk_);
    if (sk_->state == TcpState::close || sk_->state == TcpState::listen)
        return make(std::errc::not_connected);
    if (how != Shutdown::write) {
        sk_->shut_rd = true;
        sk_->wake();
    }
    if (how != Shutdown::read) stack_.tcp().shutdown_wr(*sk_);
    return {};
}

std::error_code TcpSocket::close() {
    if (closed_ || !sk_) return {};
    closed_ = true;
    set_wake_callback(nullptr);
    Owned o(*sk_);
    stack_.tcp().close(*sk_);
    return {};
}

SockAddr TcpSocket::local_address() const { return {sk_->laddr, sk_->lport}; }
SockAddr TcpSocket::peer_address() const { return {sk_->raddr, sk_->rport}; }

}  // namespace vlo
