// TCP_INFO: a connection's state in Linux's struct tcp_info (<linux/tcp.h>), filled as
// tcp_get_info does (net/ipv4/tcp.c): times in microseconds, windows and counts in segments.
#pragma once

#include <linux/tcp.h>

#include "netif/clock.hpp"

namespace vlo {

struct TcpSock;

// struct tcp_info as Linux 6.18 has it: the system header's (Linux 6.1 in Debian 12) and the
// fields added since, at the kernel's offsets, so that a program built with newer headers
// (packetdrill asks for all 280 bytes) gets what it expects.
struct TcpInfo : tcp_info {
    __u32 tcpi_rcv_wnd;  // our last advertised window, scaled (bytes)
    __u32 tcpi_rehash;
    __u16 tcpi_total_rto;
    __u16 tcpi_total_rto_recoveries;
    __u32 tcpi_total_rto_time;  // ms
    __u32 tcpi_received_ce;
    __u32 tcpi_delivered_e1_bytes, tcpi_delivered_e0_bytes, tcpi_delivered_ce_bytes;
    __u32 tcpi_received_e1_bytes, tcpi_received_e0_bytes, tcpi_received_ce_bytes;
    __u32 tcpi_ecn_mode : 2, tcpi_accecn_opt_seen : 2, tcpi_accecn_fail_mode : 4,
        tcpi_options2 : 24;
};
static_assert(sizeof(tcp_info) == 232 && sizeof(TcpInfo) == 280, "Linux's tcp_info layout");

// With the socket locked (owned, or slock held while not owned). `now` is the stack clock.
void tcp_get_info(const TcpSock& sk, Nanos now, struct tcp_info& info);
// The same with the fields of newer kernels: those vlo keeps (the rest are 0: vlo has no
// rehash, RTO-recovery accounting or AccECN).
void tcp_get_info(const TcpSock& sk, Nanos now, TcpInfo& info);
// The congestion-control algorithm's name (TCP_CONGESTION).
const char* tcp_ca_name(const TcpSock& sk);

}  // namespace vlo
