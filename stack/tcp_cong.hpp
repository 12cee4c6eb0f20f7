// Pluggable congestion control, as struct tcp_congestion_ops (include/net/tcp.h): an algorithm
// is a table of hooks TCP calls at fixed points, with private per-socket state in the socket's
// ca_priv area (icsk_ca_priv). `reno` and `cubic` are built in; a user registers another with
// tcp_register_congestion_control and selects it per socket (TCP_CONGESTION) or as the
// default (the tcp_congestion_control sysctl).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "netif/clock.hpp"

namespace vlo {

struct TcpSock;

// icsk_ca_state (include/net/tcp.h enum tcp_ca_state).
enum class TcpCaState : std::uint8_t { open = 0, disorder = 1, cwr = 2, recovery = 3, loss = 4 };

// enum tcp_ca_event
enum class TcpCaEvent : std::uint8_t {
    tx_start,
    cwnd_restart,
    complete_cwr,
    loss,
    ecn_no_ce,
    ecn_is_ce
};

// struct ack_sample: what pkts_acked learns from one ACK.
struct TcpAckSample {
    std::uint32_t pkts_acked = 0;
    Nanos rtt = -1;  // -1: no sample (everything acknowledged had been retransmitted)
    std::uint32_t in_flight = 0;
};

struct TcpCongestionOps {
    std::string name;
    // Required.
    std::uint32_t (*ssthresh)(TcpSock&) = nullptr;  // the slow start threshold after a loss
    void (*cong_avoid)(TcpSock&, std::uint32_t ack, std::uint32_t acked) = nullptr;  // grow cwnd
    std::uint32_t (*undo_cwnd)(TcpSock&) = nullptr;  // cwnd after a spurious loss
    // Optional.
    void (*init)(TcpSock&) = nullptr;
    void (*release)(TcpSock&) = nullptr;
    void (*set_state)(TcpSock&, TcpCaState) = nullptr;
    void (*cwnd_event)(TcpSock&, TcpCaEvent) = nullptr;
    void (*pkts_acked)(TcpSock&, const TcpAckSample&) = nullptr;
};

// tcp_register_congestion_control: EEXIST for a name taken, EINVAL without the required hooks.
std::error_code tcp_register_congestion_control(const TcpCongestionOps& ops);
void tcp_unregister_congestion_control(std::string_view name);
// tcp_ca_find: null when no algorithm has that name. The table lives as long as the process.
const TcpCongestionOps* tcp_ca_find(std::string_view name);
// net.ipv4.tcp_available_congestion_control, in registration order.
std::vector<std::string> tcp_available_congestion_control();

// The Reno pieces other algorithms reuse (tcp_cong.c).
std::uint32_t tcp_slow_start(TcpSock& sk, std::uint32_t acked);
void tcp_cong_avoid_ai(TcpSock& sk, std::uint32_t w, std::uint32_t acked);
bool tcp_is_cwnd_limited(const TcpSock& sk);
bool tcp_in_slow_start(const TcpSock& sk);
std::uint32_t tcp_reno_ssthresh(TcpSock& sk);
void tcp_reno_cong_avoid(TcpSock& sk, std::uint32_t ack, std::uint32_t acked);
std::uint32_t tcp_reno_undo_cwnd(TcpSock& sk);

// The built-in algorithms, registered before any socket exists.
const TcpCongestionOps& tcp_reno_ops();
const TcpCongestionOps& tcp_cubic_ops();

}  // namespace vlo
