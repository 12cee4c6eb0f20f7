// tcp_show_info's text for one socket (iproute2 6.1 misc/ss.c), from Linux's struct tcp_info.
// A header of its own: <linux/tcp.h> and glibc's <netinet/tcp.h> both define struct tcphdr
// and struct tcp_info, so a file that includes Boost.Asio or <netinet/tcp.h> cannot include
// this one.
#pragma once

#include <linux/tcp.h>

#include <string>
#include <string_view>

#include "stack/tcp.hpp"

namespace vlo::ss {

// " cubic wscale:7,7 rto:204 rtt:0.031/0.015 ...": tcp_stats_print's fields in its order, with
// -n's numeric rates ("send 33928727273bps") and without -o's option words ("ts sack").
std::string ss_info_text(const tcp_info& info, std::string_view ca_name, TcpState state);

}  // namespace vlo::ss
