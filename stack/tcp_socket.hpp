// A blocking TCP socket over vlo, with the calls and errors of the BSD socket API
// (std::error_code with POSIX meanings). Timeouts are durations on the stack's clock; a call
// that times out returns std::errc::timed_out (connect) or resource_unavailable_try_again.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <system_error>

#include "stack/tcp.hpp"

namespace vlo {

struct SockAddr {
    Ipv4Address addr;
    std::uint16_t port = 0;
    bool operator==(const SockAddr&) const = default;
};

enum class Shutdown { read, write, both };

class TcpSocket {
  public:
    explicit TcpSocket(Stack& stack);
    ~TcpSocket();  // close()
    TcpSocket(const TcpSocket&) = delete;
    TcpSocket& operator=(const TcpSocket&) = delete;

    std::error_code set_reuseaddr(bool on);  // SO_REUSEADDR, before bind
    std::error_code set_nodelay(bool on);    // TCP_NODELAY
    std::error_code set_keepalive(bool on);  // SO_KEEPALIVE
    std::error_code bind(SockAddr local);
    std::error_code listen(int backlog);
    std::unique_ptr<TcpSocket> accept(std::error_code& ec, std::optional<Nanos> timeout = {});
    std::error_code connect(SockAddr remote, std::optional<Nanos> timeout = {});
    // Blocks until all of data is queued (or an error); `sent` says how much was.
    std::error_code send(std::span<const std::uint8_t> data, std::size_t& sent,
                         std::optional<Nanos> timeout = {});
    // Blocks until some data, end of stream (received = 0) or an error.
    std::error_code recv(std::span<std::uint8_t> out, std::size_t& received,
                         std::optional<Nanos> timeout = {});
    std::error_code shutdown(Shutdown how);
    std::error_code close();

    // Non-blocking forms (EAGAIN when they would block), for event loops such as the Asio adapter.
    // connect_start sends the SYN and returns std::errc::operation_in_progress (EINPROGRESS);
    // so_error then tells how it ended (getsockopt SO_ERROR: the pending error, once).
    std::error_code connect_start(SockAddr remote);
    std::error_code so_error();
    // Calls fn (from any thread) whenever the socket may have become readable, writable or
    // changed state. fn must not call back into the socket; it should post to an event loop.
    void set_wake_callback(std::function<void()> fn);
    std::error_code try_send(std::span<const std::uint8_t> data, std::size_t& sent,
                             TcpSendFlags flags = {});
    std::error_code try_recv(std::span<std::uint8_t> out, std::size_t& received);
    std::unique_ptr<TcpSocket> try_accept(std::error_code& ec);
    // Waits until the socket may have changed (data, space, state) or the timeout passes.
    void wait_event(std::optional<Nanos> timeout);

    SockAddr local_address() const;
    SockAddr peer_address() const;
    TcpState state() const { return sk_->state; }
    TcpSock& sock() { return *sk_; }
    Stack& stack() { return stack_; }

  private:
    TcpSocket(Stack& stack, std::shared_ptr<TcpSock> sk) : stack_(stack), sk_(std::move(sk)) {}
    // With the socket owned: wait until pred() or the deadline, releasing it meanwhile.
    template <class Pred>
    bool wait(Pred pred, std::optional<Nanos> deadline);
    // The bodies of try_send and try_recv, for a caller that owns the socket already: send and
    // recv keep it owned from the first try to the last, as tcp_sendmsg and tcp_recvmsg do,
    // and let go only while they wait.
    std::error_code send_owned(std::span<const std::uint8_t> data, std::size_t& sent,
                               TcpSendFlags flags = {});
    std::error_code recv_owned(std::span<std::uint8_t> out, std::size_t& received);
    std::error_code take_error();  // sock_error: the pending error, once

    Stack& stack_;
    std::shared_ptr<TcpSock> sk_;
    bool closed_ = false;
};

}  // namespace vlo
