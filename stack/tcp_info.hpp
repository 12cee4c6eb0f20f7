// TCP_INFO: a connection's state in Linux's struct tcp_info (<linux/tcp.h>), filled as
// tcp_get_info does (net/ipv4/tcp.c): times in microseconds, windows and counts in segments.
#pragma once

#include <linux/tcp.h>

#include "netif/clock.hpp"

namespace vlo {

struct TcpSock;

// With the socket locked (owned, or slock held while not owned). `now` is the stack clock.
void tcp_get_info(const TcpSock& sk, Nanos now, struct tcp_info& info);
// The congestion-control algorithm's name (TCP_CONGESTION).
const char* tcp_ca_name(const TcpSock& sk);

}  // namespace vlo
