// iproute2's `ss -tni` listing (misc/ss.c), as Debian 12's ss (iproute2 6.1) prints it when its
// output is not a terminal: the header, one line per socket (state, queues, addresses), then a
// tab and tcp_show_info's fields, in ss's order and with its rules for leaving a field out.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "stack/ipv4_address.hpp"
#include "stack/tcp.hpp"

namespace vlo::ss {

// One socket as inet_diag reports it.
struct SsSocket {
    TcpState state = TcpState::close;
    // idiag_rqueue / idiag_wqueue: unread bytes and bytes not yet acknowledged; for a listener
    // the accept queue's length and its limit (sk_ack_backlog, sk_max_ack_backlog).
    std::uint32_t recv_q = 0, send_q = 0;
    Ipv4Address laddr, raddr;
    std::uint16_t lport = 0, rport = 0;
    // tcp_show_info's text (ss_info_text), or none for a TIME-WAIT or SYN-RECV socket, which
    // Linux keeps as a minisock (inet_twsk_diag_fill, inet_req_diag_fill send no tcp_info), so
    // ss prints an empty line. Text rather than struct tcp_info: <linux/tcp.h> cannot share a
    // file with glibc's <netinet/tcp.h>, which Boost.Asio users (vlod) include.
    std::optional<std::string> info;
    std::string ca_name;  // INET_DIAG_CONG
};

// sstate_name: "ESTAB", "SYN-SENT", "TIME-WAIT", "UNCONN" (TCP_CLOSE)...
std::string_view ss_state_name(TcpState s);

// Whether `ss -t` lists a socket in this state: SS_CONN, every state but LISTEN, CLOSE,
// TIME-WAIT and SYN-RECV; `ss -ta` lists all.
bool ss_listed(TcpState s, bool all);

// The whole listing: "State Recv-Q Send-Q Local Address:Port Peer Address:Port Process" and the
// sockets, each followed by "\t" and its info text on a line of its own, the columns as wide
// as ss's render() makes them.
std::string ss_listing(std::span<const SsSocket> sockets);

}  // namespace vlo::ss
