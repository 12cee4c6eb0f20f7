// A UDP socket, socket(AF_INET, SOCK_DGRAM, 0), with a blocking API: bind, connect, sendto,
// send, recvfrom, recv and the options that matter here (SO_REUSEADDR, SO_BROADCAST,
// SO_RCVBUF). Errors are std::error_code with the errno Linux returns for the same call.
//
// Locking, after the kernel's two socket locks:
//  - sk_lock_ (lock_sock) serialises the calls that read or change the socket's addresses
//    (bind, connect, the route and autobind in send). The fields Udp's lookup reads are also
//    written only under Udp's table lock, so NET_RX reads them under that.
//  - mu_ (sk_receive_queue.lock) guards what NET_RX and readers share: the receive queue, its
//    memory charge, sk_rcvbuf, the pending error and the drop count. Nothing is sent with mu_
//    held, so the softirq design's NET_RX, running inside a send, never finds it taken.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <system_error>

#include "netif/packet_queue.hpp"
#include "stack/ipv4_address.hpp"
#include "stack/seq_wait.hpp"
#include "stack/port_table.hpp"

namespace vlo {

class Stack;

class UdpSocket {
public:
    explicit UdpSocket(Stack& stack);
    ~UdpSocket();  // unhashes first, so NET_RX never delivers to a dead socket
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;

    // bind(): a local address (0.0.0.0, or one of ours: else EADDRNOTAVAIL) and port (0 picks an
    // ephemeral one). EADDRINUSE on a conflict (PortTable's rules), EINVAL if already bound.
    std::error_code bind(Ipv4Address addr, std::uint16_t port);
    // SO_REUSEADDR: set before bind(); it decides conflicts when the socket is bound.
    std::error_code set_reuseaddr(bool on);
    // SO_BROADCAST: without it, sending to a broadcast address fails with EACCES.
    std::error_code set_broadcast(bool on);
    // SO_RCVBUF: sk_rcvbuf = max(2 * min(bytes, rmem_max), SOCK_MIN_RCVBUF), as Linux doubles it.
    std::error_code set_rcvbuf(int bytes);
    std::uint32_t rcvbuf() const;  // getsockopt(SO_RCVBUF)

    // connect(): fixes the peer (0.0.0.0 means 127.0.0.1, as Linux), picks the source address
    // by route lookup if unbound, autobinds a port. Only datagrams from the peer arrive after.
    std::error_code connect(Ipv4Address addr, std::uint16_t port);

    // sendto(): one datagram of up to 65507 bytes (EMSGSIZE beyond), autobinding first.
    std::error_code sendto(Ipv4Address addr, std::uint16_t port,
                           std::span<const std::uint8_t> data);
    // send(): to the connected peer; EDESTADDRREQ if not connected.
    std::error_code send(std::span<const std::uint8_t> data);

    // recvfrom(): the next datagram, its payload copied into `buf` (the rest of a longer one is
    // discarded, as without MSG_TRUNC), `n` the bytes copied, the sender's address and port.
    // Waits until `deadline` on the stack clock (nullopt: forever; a past deadline: do not
    // wait); EAGAIN (resource_unavailable_try_again) if nothing came. A pending error (an ICMP
    // error on a connected socket) is returned, and cleared, first.
    std::error_code recvfrom(std::span<std::uint8_t> buf, Ipv4Address& from,
                             std::uint16_t& from_port, std::size_t& n,
                             std::optional<Nanos> deadline = std::nullopt);
    std::error_code recv(std::span<std::uint8_t> buf, std::size_t& n,
                         std::optional<Nanos> deadline = std::nullopt);
    // recvfrom with udp_recvmsg's MSG_PEEK (the datagram stays queued) and the datagram's
    // full payload length (MSG_TRUNC's answer), for the POSIX layer.
    std::error_code recvmsg(std::span<std::uint8_t> buf, Ipv4Address& from, std::uint16_t& from_port,
                            std::size_t& n, std::size_t& datagram_len, bool peek,
                            std::optional<Nanos> deadline);

    // What poll and ioctl read (udp_poll, udp_ioctl): whether a read would not block, the
    // payload length of the next datagram (FIONREAD: 0 if none), the pending error (sk_err).
    bool readable() const;
    std::size_t next_datagram_len() const;
    int pending_error() const;
    int take_error();  // getsockopt(SO_ERROR): the pending error, cleared
    // Called after every sk_data_ready / sk_error_report, from NET_RX's thread with no lock of
    // this socket held: it must only hand off (wake a poller).
    void set_wake_callback(std::function<void()> fn);

    // getsockname: 0.0.0.0 and 0 until bound; a connect() fills in the address.
    Ipv4Address local_address() const;
    std::uint16_t local_port() const;
    // getpeername: ENOTCONN unless connected.
    std::error_code peer(Ipv4Address& addr, std::uint16_t& port) const;

    std::uint64_t drops() const;  // sk_drops: datagrams the full receive buffer refused

private:
    friend class Udp;

    // udp_queue_rcv_skb, from NET_RX with Udp's table lock held.
    void queue_rcv(PacketPtr pkt);
    // __udp4_lib_err: sk->sk_err = err; sk_error_report.
    void set_error(int err);
    // inet_autobind: an ephemeral port on 0.0.0.0. sk_lock_ held.
    std::error_code autobind();
    // udp_sendmsg: `to` null for the connected peer.
    std::error_code udp_sendmsg(const Ipv4Address* to, std::uint16_t to_port,
                                std::span<const std::uint8_t> data);

    Stack& stack_;

    mutable std::mutex sk_lock_;
    PortBinding binding_;        // the PortTable's entry; sk_lock_
    bool broadcast_ = false;     // SO_BROADCAST; sk_lock_
    std::uint16_t inet_id_ = 0;  // IP ID counter of a connected socket; sk_lock_
    Ipv4Address saddr_;          // inet_saddr: the source to send from (0: the route's); sk_lock_
    // The lookup key and sk_state: written under sk_lock_ and Udp's table lock.
    std::uint16_t num_ = 0;    // inet_num: the local port, 0 until bound
    Ipv4Address rcv_saddr_;    // inet_rcv_saddr
    Ipv4Address daddr_;        // inet_daddr
    std::uint16_t dport_ = 0;  // inet_dport
    bool connected_ = false;   // sk_state == TCP_ESTABLISHED

    mutable std::mutex mu_;
    SeqEvent readable_;  // moved after each change to the queue or the error (sk_data_ready)
    PacketQueue rcv_queue_;    // mu_
    std::size_t rmem_ = 0;     // sk_rmem_alloc: the truesize of what is queued; mu_
    std::size_t rcvbuf_;       // sk_rcvbuf; mu_
    int sk_err_ = 0;           // sk_err: an errno waiting for the next call; mu_
    std::uint64_t drops_ = 0;  // sk_drops; mu_

    std::mutex wake_mu_;
    std::function<void()> on_wake_;  // wake_mu_
    void wake_pollers();
};

}  // namespace vlo
