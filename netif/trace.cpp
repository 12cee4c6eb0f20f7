#include "netif/trace.hpp"

#include <unistd.h>

#include <algorithm>

#include "netif/trace_clock.hpp"
#include "netif/cpu.hpp"

namespace vlo {

namespace {
constexpr std::array<std::string_view, static_cast<std::size_t>(Stage::count_)> kStageNames = {
    "ip_local_out",     "ip_output",         "dev_queue_xmit",     "loopback_xmit",
    "tun_net_xmit",     "netif_rx",          "enqueue_to_backlog", "net_rx_action",
    "process_backlog",  "__netif_receive_skb", "ip_rcv",           "ip_local_deliver",
    "icmp_rcv",         "udp_rcv",           "tcp_v4_rcv",         "ping_rcv",
    "udp_queue_rcv_skb", "tcp_data_queue",   "kfree_skb",
};
constexpr std::array<std::string_view, static_cast<std::size_t>(DropReason::count_)> kDropNames = {
    "NOT_DROPPED",     "NOT_SPECIFIED", "DEV_READY",      "CPU_BACKLOG",    "UNHANDLED_PROTO",
    "PKT_TOO_SMALL",   "IP_CSUM",       "IP_INHDR",       "IP_INADDRERRORS", "IP_INVALID_SOURCE",
    "IP_INVALID_DEST", "IP_NOPROTO",     "IP_FRAG",      "ICMP_CSUM",     "ICMP_TYPE",      "NO_SOCKET",      "TCP_CSUM",      "UDP_CSUM",      "SOCKET_BACKLOG", "SOCKET_RCVBUFF",
    "NO_ROUTE",        "QUEUE_PURGE",   "PKT_TOO_BIG",  "FRAG_FAILED",     "DUP_FRAG",
    "FRAG_REASM_TIMEOUT", "IP_FRAG_OVERLAP", "NETFILTER_DROP",
    "TCP_INVALID_SEQUENCE", "TCP_OLD_DATA", "TCP_RFC7323_PAWS", "TCP_RESET", "TCP_INVALID_SYN",
    "TCP_FLAGS", "TCP_TOO_OLD_ACK", "TCP_ACK_UNSENT_DATA", "TCP_ZEROWINDOW", "TCP_OFO_DROP", "TCP_OFOMERGE", "TCP_CLOSE",
    "QDISC_DROP", "NETEM_LOSS", "NETEM_CORRUPT", "PACKET_SOCK_ERROR",
};
}  // namespace

std::string_view stage_name(Stage s) { return kStageNames[static_cast<std::size_t>(s)]; }
std::string_view drop_reason_name(DropReason r) { return kDropNames[static_cast<std::size_t>(r)]; }

void Trace::stamp_slow(Stage s, std::uint32_t arg) { stamp_at(s, trace_clock_ns(), arg); }

void Trace::stamp_at(Stage s, std::int64_t ns, std::uint32_t arg) {
    if (count >= kMaxStamps) return;
    stamps[count++] = TraceStamp{ns, this_thread_tid(), static_cast<std::uint16_t>(this_cpu()), s,
                                 static_cast<std::uint8_t>(std::min<std::uint32_t>(arg, 255))};
}

}  // namespace vlo
