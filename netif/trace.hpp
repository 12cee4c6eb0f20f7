// Per-packet trace stamps, named after the kernel functions each stage models, and the reasons a
// packet can be dropped (the kernel's enum skb_drop_reason). With tracing off a stamp costs one
// predictable branch.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace vlo {

enum class Stage : std::uint8_t {
    ip_local_out,
    ip_output,
    dev_queue_xmit,
    loopback_xmit,
    tun_xmit,
    netif_rx,
    enqueue_to_backlog,
    net_rx_action,
    process_backlog,
    netif_receive_skb,
    ip_rcv,
    ip_local_deliver,
    icmp_rcv,
    udp_rcv,
    tcp_v4_rcv,
    ping_rcv,
    udp_queue_rcv_skb,
    tcp_data_queue,
    kfree_skb,
    count_
};

std::string_view stage_name(Stage s);

// Why a packet was freed without being delivered (include/net/dropreason-core.h).
enum class DropReason : std::uint8_t {
    not_dropped,
    not_specified,       // SKB_DROP_REASON_NOT_SPECIFIED
    dev_ready,           // device down
    cpu_backlog,         // input_pkt_queue over netdev_max_backlog
    unhandled_proto,     // no ptype handler (rx_nohandler)
    pkt_too_small,       // truncated header
    ip_csum,             // bad IPv4 header checksum
    ip_inhdr,            // bad version, IHL or total length
    ip_inaddrerrors,     // not for us and not forwarding
    ip_invalid_source,   // martian source: 127/8, 0/8, multicast... on a non-loopback device
    ip_invalid_dest,     // martian destination (RFC 1122 3.2.1.3)
    ip_noproto,          // no protocol handler for the IP protocol number
    ip_frag,             // a fragment reassembly refuses: over ipfrag_high_thresh, a bad end or
                         // a datagram over 64 KiB (the kernel says NOT_SPECIFIED)
    icmp_csum,           // bad ICMP checksum
    icmp_type,           // ICMP type we do not answer
    no_socket,           // nobody to deliver to
    tcp_csum,            // bad TCP checksum
    udp_csum,            // bad UDP checksum
    socket_backlog,      // the owner's socket backlog is full (sk_add_backlog)
    socket_rcvbuff,      // receive queue full
    no_route,            // no route on output
    queue_purge,         // freed at shutdown with the queue it sat on
    pkt_too_big,         // DF set and longer than the MTU (ip_fragment)
    frag_failed,         // ip_do_fragment could not cut it: MTU below header + 8, no buffer
    dup_frag,            // a fragment inside data already queued (IPFRAG_DUP)
    frag_reasm_timeout,  // its queue expired after ipfrag_time (ip_expire)
    ip_frag_overlap,     // overlapped its queue, which goes with it (RFC 5722; ReasmOverlaps)
    netfilter_drop,      // a netfilter rule or chain policy said DROP (or REJECT)
    // TCP's discards (tcp_validate_incoming, tcp_data_queue, tcp_ack), as SKB_DROP_REASON_TCP_*.
    tcp_invalid_sequence,  // outside the receive window
    tcp_old_data,          // all of it already received
    tcp_rfc7323_paws,      // an old timestamp (PAWS)
    tcp_reset,             // a RST that ended or challenged the connection
    tcp_invalid_syn,       // a SYN in a synchronized state (challenge ACK)
    tcp_flags,             // no ACK flag where one is required
    tcp_too_old_ack,       // acknowledges data far below snd_una
    tcp_ack_unsent_data,   // acknowledges data never sent
    tcp_zerowindow,        // the receive window is closed
    tcp_ofo_drop,          // out of order data that does not fit
    tcp_ofomerge,          // out of order data already held
    tcp_close,             // arrived for a closed connection
    // The transmit path's qdiscs and taps (SKB_DROP_REASON_QDISC_*, the AF_PACKET ring).
    qdisc_drop,         // a qdisc over its limit (pfifo_fast's txqueuelen, netem's limit)
    netem_loss,         // netem's loss generator said so
    netem_corrupt,      // netem could not finish a checksum before corrupting the packet
    packet_sock_error,  // a capture's copy the ring had no room for (the original goes on)
    count_
};

std::string_view drop_reason_name(DropReason r);

struct TraceStamp {
    std::int64_t ns;     // CLOCK_MONOTONIC, read through the TSC (trace_clock.hpp)
    std::uint32_t tid;   // kernel thread id of the thread that ran the stage
    std::uint16_t cpu;   // vlo's logical CPU of that thread
    Stage stage;
    std::uint8_t arg;    // stage-specific: enqueue_to_backlog's queue length (saturated)
};

// A packet's path. Whoever turns it on names it (`id`); a packet made in answer to a traced one
// (an echo reply) follows it: same id, one generation on. When a traced packet is freed, its
// trace goes to the TraceLog (trace_log.hpp).
struct Trace {
    static constexpr std::size_t kMaxStamps = 24;
    bool on = false;
    std::uint8_t generation = 0;
    std::uint8_t count = 0;
    std::uint64_t id = 0;
    DropReason drop = DropReason::not_dropped;
    std::array<TraceStamp, kMaxStamps> stamps{};

    void stamp(Stage s, std::uint32_t arg = 0) {
        if (on) [[unlikely]]
            stamp_slow(s, arg);
    }
    void stamp_slow(Stage s, std::uint32_t arg);
    void stamp_at(Stage s, std::int64_t ns, std::uint32_t arg = 0);
    void start(std::uint64_t trace_id) {
        on = true;
        id = trace_id;
    }
    void follow(const Trace& cause) {
        if (!cause.on) return;
        start(cause.id);
        generation = static_cast<std::uint8_t>(cause.generation + 1);
    }
    void reset() {
        on = false;
        generation = 0;
        id = 0;
        count = 0;
        drop = DropReason::not_dropped;
    }
};

}  // namespace vlo
