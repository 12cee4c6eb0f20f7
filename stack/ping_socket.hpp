// Linux's ICMP echo ("ping") socket, net/ipv4/ping.c: socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP).
// The stack owns the identifier (the socket's "port"), fills it into every request, and hands the
// socket the echo replies that carry it.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string_view>
#include <system_error>
#include <unordered_map>

#include "netif/packet_queue.hpp"
#include "stack/ipv4_address.hpp"
#include "stack/seq_wait.hpp"

namespace vlo {

class Stack;
class Device;
class PingSocket;

// ping_table: identifiers to sockets.
class PingTable {
public:
    explicit PingTable(Stack& stack) : stack_(stack) {}
    // ping_get_port: `ident` if free (0 picks the next free one from a rover, as the kernel).
    std::error_code bind(PingSocket* sk, std::uint16_t ident, std::uint16_t& bound);
    void unbind(std::uint16_t ident);
    // ping_rcv: an echo reply (data at the ICMP header) for the socket that owns its identifier.
    void ping_rcv(PacketPtr pkt);

private:
    Stack& stack_;
    std::shared_mutex mu_;
    std::unordered_map<std::uint16_t, PingSocket*> sockets_;
    std::uint16_t rover_ = 0;
};

struct EchoReply {
    Ipv4Address from;
    std::uint16_t seq = 0;
    std::uint8_t ttl = 0;
    std::size_t icmp_len = 0;  // ICMP header + data, what ping prints as "N bytes"
    std::size_t data_len = 0;  // bytes copied to the caller's buffer
    Nanos tstamp = 0;          // when the reply reached netif_rx (SO_TIMESTAMP)
};

class PingSocket {
public:
    explicit PingSocket(Stack& stack);
    ~PingSocket();
    PingSocket(const PingSocket&) = delete;
    PingSocket& operator=(const PingSocket&) = delete;

    // bind(): a local address (EADDRNOTAVAIL unless it is ours) and optionally an identifier.
    std::error_code bind(Ipv4Address local, std::uint16_t ident = 0);
    // SO_BINDTODEVICE
    std::error_code bind_to_device(std::string_view ifname);
    // IP_TTL (1..255)
    std::error_code set_ttl(int ttl);
    std::uint16_t ident() const { return ident_; }
    Ipv4Address local_address() const { return local_; }

    // sendto: an echo request to dst. Binds an identifier first if none (autobind).
    std::error_code send_echo(Ipv4Address dst, std::uint16_t seq, std::span<const std::uint8_t> payload);

    // recvmsg: the next echo reply, its data copied into `data`. Waits until `deadline` on the
    // stack clock (nullopt: forever); std::errc::resource_unavailable_try_again if none came.
    std::error_code recv_echo(EchoReply& reply, std::span<std::uint8_t> data, std::optional<Nanos> deadline);

    std::uint64_t drops() const { return drops_; }

    // Trace every echo request this socket sends (and, following it, the reply): the paths go
    // to the TraceLog under trace_id(seq).
    void set_trace(bool on);
    std::uint64_t trace_id(std::uint16_t seq) const { return std::uint64_t{ident_} << 16 | seq; }

private:
    friend class PingTable;
    void queue_rcv(PacketPtr pkt);  // ping_queue_rcv_skb, from NET_RX

    Stack& stack_;
    std::uint16_t ident_ = 0;
    Ipv4Address local_;
    Device* bound_dev_ = nullptr;
    int ttl_ = -1;  // -1: ip_default_ttl

    std::mutex mu_;
    SeqEvent readable_;  // moved after each change to the queue or the error (sk_data_ready)
    PacketQueue rcv_queue_;            // guarded by mu_
    std::size_t rcv_bytes_ = 0;        // guarded by mu_
    std::uint64_t drops_ = 0;          // guarded by mu_ (sk_drops)
    bool trace_ = false;
};

}  // namespace vlo
