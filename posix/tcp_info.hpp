// getsockopt(TCP_INFO) from the fields vlo's TcpSock has (tcp_get_info, net/ipv4/tcp.c).
// STOPGAP: the TCP work adds stack/tcp_info.hpp with tcp_get_info(const TcpSock&, tcp_info&),
// which knows every field; once it is on main this file calls it instead.
#pragma once

#include <linux/tcp.h>

#include "netif/clock.hpp"

namespace vlo {
struct TcpSock;
}

namespace vlo::posix {

// With the socket owned.
void fill_tcp_info(const TcpSock& sk, Nanos now, tcp_info& info);

}  // namespace vlo::posix
