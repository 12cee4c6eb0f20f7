#include "stack/icmp.hpp"

#include <algorithm>

#include "netif/packet_pool.hpp"
#include "stack/ping_socket.hpp"
#include "stack/stack.hpp"

namespace vlo {

using wire::IcmpRepr;
using wire::IcmpView;

namespace {
constexpr bool is_error_type(std::uint8_t t) {
    return t == wire::kIcmpDestUnreach || t == wire::kIcmpSourceQuench || t == wire::kIcmpRedirect ||
           t == wire::kIcmpTimeExceeded || t == wire::kIcmpParameterProb;
}
constexpr std::uint8_t kNrIcmpTypes = 18;               // NR_ICMP_TYPES
constexpr std::uint8_t kIptosPrecInternetControl = 0xc0;
constexpr std::size_t kIcmpErrorMax = 576;              // RFC 1812 4.3.2.3

// The Icmp counter for an incoming / outgoing type, where /proc/net/snmp names one.
std::optional<IcmpMib> in_mib(std::uint8_t type) {
    switch (type) {
        case wire::kIcmpEchoReply: return IcmpMib::InEchoReps;
        case wire::kIcmpDestUnreach: return IcmpMib::InDestUnreachs;
        case wire::kIcmpSourceQuench: return IcmpMib::InSrcQuenchs;
        case wire::kIcmpRedirect: return IcmpMib::InRedirects;
        case wire::kIcmpEcho: return IcmpMib::InEchos;
        case wire::kIcmpTimeExceeded: return IcmpMib::InTimeExcds;
        case wire::kIcmpParameterProb: return IcmpMib::InParmProbs;
        case wire::kIcmpTimestamp: return IcmpMib::InTimestamps;
        case wire::kIcmpTimestampReply: return IcmpMib::InTimestampReps;
        default: return std::nullopt;
    }
}
std::optional<IcmpMib> out_mib(std::uint8_t type) {
    switch (type) {
        case wire::kIcmpEchoReply: return IcmpMib::OutEchoReps;
        case wire::kIcmpDestUnreach: return IcmpMib::OutDestUnreachs;
        case wire::kIcmpTimeExceeded: return IcmpMib::OutTimeExcds;
        case wire::kIcmpParameterProb: return IcmpMib::OutParmProbs;
        case wire::kIcmpEcho: return IcmpMib::OutEchos;
        default: return std::nullopt;
    }
}
}  // namespace

Icmp::Icmp(Stack& stack) : stack_(stack) {}

void Icmp::rcv(PacketPtr pkt) {
    pkt->trace.stamp(Stage::icmp_rcv);
    Snmp& snmp = stack_.snmp();
    snmp.icmp.inc(IcmpMib::InMsgs);
    auto drop = [&](DropReason r) { stack_.net_rx().drops().kfree_skb_reason(std::move(pkt), r); };
    switch (IcmpView::check(pkt->bytes())) {
        case IcmpView::Error::none: break;
        case IcmpView::Error::bad_checksum:
            snmp.icmp.inc(IcmpMib::InCsumErrors);
            snmp.icmp.inc(IcmpMib::InErrors);
            return drop(DropReason::icmp_csum);
        case IcmpView::Error::truncated:
            snmp.icmp.inc(IcmpMib::InErrors);
            return drop(DropReason::pkt_too_small);
    }
    const IcmpView icmp(pkt->bytes());
    const std::uint8_t type = icmp.type();
    snmp.icmp_in_type[type].fetch_add(1, std::memory_order_relaxed);
    if (auto m = in_mib(type)) snmp.icmp.inc(*m);
    if (type > kNrIcmpTypes) {
        snmp.icmp.inc(IcmpMib::InErrors);
        return drop(DropReason::unhandled_proto);
    }
    // RFC 1122 3.2.2.6: an echo to a broadcast address MAY be ignored (icmp_echo_ignore_broadcasts).
    if (pkt->pkt_type != PacketType::host &&
        (stack_.config().icmp_echo_ignore_broadcasts || (type != wire::kIcmpEcho && type != wire::kIcmpTimestamp))) {
        snmp.icmp.inc(IcmpMib::InErrors);
        return drop(DropReason::icmp_type);
    }
    switch (type) {
        case wire::kIcmpEcho:
            if (!stack_.config().icmp_echo_ignore_all) icmp_echo(*pkt, icmp);
            return;  // consume_skb: the request is done with
        case wire::kIcmpEchoReply:
            stack_.ping_table().ping_rcv(std::move(pkt));
            return;
        case wire::kIcmpDestUnreach:
        case wire::kIcmpSourceQuench:
        case wire::kIcmpTimeExceeded:
        case wire::kIcmpParameterProb:
            icmp_unreach(icmp);
            return;
        default:
            return drop(DropReason::icmp_type);
    }
}

// icmp_unreach: hand the error to the protocol of the datagram it quotes (its err_handler),
// if the quote holds a whole IP header and 8 bytes of the transport header (RFC 792).
void Icmp::icmp_unreach(const IcmpView& icmp) {
    const auto quoted = icmp.data();
    if (quoted.size() < wire::kIpv4MinHeader) return;
    const std::size_t ihl = std::size_t{quoted[0] & 0x0fu} * 4;
    if ((quoted[0] >> 4) != 4 || ihl < wire::kIpv4MinHeader || quoted.size() < ihl + 8) {
        stack_.snmp().icmp.inc(IcmpMib::InErrors);
        return;
    }
    const wire::Ipv4View inner(quoted);
    if (InetProtocol* proto = stack_.ip().protocol(inner.protocol()))
        proto->err(icmp.type(), icmp.code(), icmp.rest_of_header(), inner, quoted.subspan(ihl));
}

void Icmp::icmp_echo(const Packet& req, const IcmpView& icmp) {
    const wire::Ipv4View iph(req.network_bytes());
    // The reply comes from the address the request was sent to (fib_compute_spec_dst).
    const Ipv4Address src = req.pkt_type == PacketType::host ? iph.dst() : Ipv4Address{};
    push_reply(IcmpRepr::echo(wire::kIcmpEchoReply, icmp.echo_id(), icmp.echo_seq(), icmp.data()), iph.src(),
               src, iph.tos(), &req.trace);
}

void Icmp::push_reply(const IcmpRepr& msg, Ipv4Address dst, Ipv4Address src, std::uint8_t tos, const Trace* cause) {
    Route rt;
    if (stack_.ip().route_output(dst, src, nullptr, rt)) {
        stack_.snmp().icmp.inc(IcmpMib::OutErrors);
        return;
    }
    PacketPtr out = PacketPool::instance().alloc(msg.buffer_len());  // the IP header goes in the headroom
    if (!out) return;
    msg.emit({out->put(msg.buffer_len()), msg.buffer_len()});
    if (cause) out->trace.follow(*cause);  // a traced request's reply is traced too
    Snmp& snmp = stack_.snmp();
    snmp.icmp.inc(IcmpMib::OutMsgs);  // icmp_out_count
    snmp.icmp_out_type[msg.type].fetch_add(1, std::memory_order_relaxed);
    if (auto m = out_mib(msg.type)) snmp.icmp.inc(*m);
    // The kernel's ICMP socket has pmtudisc IP_PMTUDISC_DONT: no DF, so a counter-based IP ID.
    wire::Ipv4Repr ip;
    ip.protocol = wire::kIpProtoIcmp;
    ip.ttl = static_cast<std::uint8_t>(stack_.config().ip_default_ttl);
    ip.tos = tos;
    ip.id = stack_.ip().select_ident(rt.src, rt.dst, wire::kIpProtoIcmp);
    if (stack_.ip().ip_local_out(std::move(out), rt, ip)) snmp.icmp.inc(IcmpMib::OutErrors);
}

void Icmp::icmp_send(const Packet& orig, std::uint8_t type, std::uint8_t code, std::uint32_t info) {
    const auto datagram = orig.network_bytes();
    if (datagram.size() < wire::kIpv4MinHeader) return;
    const wire::Ipv4View iph(datagram);
    if (orig.pkt_type != PacketType::host) return;                 // not about broadcasts
    if ((iph.frag_off() & wire::kIpOffset) != 0) return;           // only the first fragment
    if (iph.protocol() == wire::kIpProtoIcmp) {                    // never about an ICMP error
        const std::size_t at = iph.header_len();
        if (datagram.size() < at + 1) return;
        const std::uint8_t inner = datagram[at];
        if (inner > kNrIcmpTypes || is_error_type(inner)) return;
    }
    if (!global_allow(type, code)) {
        stack_.snmp().icmp.inc(IcmpMib::OutRateLimitGlobal);
        return;
    }
    Route rt;
    if (stack_.ip().route_output(iph.src(), Ipv4Address{}, nullptr, rt)) return;
    if (!xrlim_allow(iph.src(), *rt.dev)) {
        stack_.snmp().icmp.inc(IcmpMib::OutRateLimitHost);
        return;
    }
    // Reply from the address the datagram was sent to, when that is ours.
    const Ipv4Address src = stack_.fib().is_local(iph.dst()) ? iph.dst() : Ipv4Address{};
    const std::size_t room = kIcmpErrorMax - wire::kIpv4MinHeader - wire::kIcmpHeader;
    const std::size_t quoted = std::min(datagram.size(), room);
    const std::uint8_t tos = static_cast<std::uint8_t>((iph.tos() & 0x1e) | kIptosPrecInternetControl);
    push_reply(IcmpRepr{type, code, info, datagram.first(quoted)}, iph.src(), src, tos, &orig.trace);
}

// icmpv4_mask_allow + icmp_global_allow: a token bucket of icmp_msgs_burst refilled at
// icmp_msgs_per_sec, for the types in icmp_ratemask only.
bool Icmp::global_allow(std::uint8_t type, std::uint8_t code) {
    const StackConfig& cfg = stack_.config();
    if (type > kNrIcmpTypes) return true;
    if (type == wire::kIcmpDestUnreach && code == wire::kIcmpFragNeeded) return true;
    if (((1u << type) & cfg.icmp_ratemask) == 0) return true;
    std::lock_guard lock(rate_mu_);
    const Nanos now = stack_.clock().now_ns();
    if (global_credit_ < 0) {
        global_credit_ = cfg.icmp_msgs_burst;
        global_stamp_ = now;
    }
    const Nanos delta = std::min<Nanos>(now - global_stamp_, kNsPerSec);
    if (delta >= kNsPerMs) {
        const std::int64_t incr = cfg.icmp_msgs_per_sec * delta / kNsPerSec;
        if (incr > 0) {
            global_credit_ = std::min<std::int64_t>(global_credit_ + incr, cfg.icmp_msgs_burst);
            global_stamp_ = now;
        }
    }
    if (global_credit_ <= 0) return false;
    --global_credit_;
    return true;
}

// inet_peer_xrlim_allow: per peer, one error per icmp_ratelimit ms with a burst of
// XRLIM_BURST_FACTOR (6). Never on loopback.
bool Icmp::xrlim_allow(Ipv4Address peer, const Device& out_dev) {
    if (out_dev.is_loopback()) return true;
    const Nanos timeout = Nanos{stack_.config().icmp_ratelimit} * kNsPerMs;
    if (timeout == 0) return true;
    constexpr Nanos kBurstFactor = 6;
    std::lock_guard lock(rate_mu_);
    const Nanos now = stack_.clock().now_ns();
    auto [it, fresh] = peers_.try_emplace(peer.value, PeerBucket{now, kBurstFactor * timeout});
    PeerBucket& b = it->second;
    if (!fresh) {
        b.tokens = std::min(b.tokens + (now - b.last), kBurstFactor * timeout);
        b.last = now;
    }
    if (b.tokens < timeout) return false;
    b.tokens -= timeout;
    return true;
}

}  // namespace vlo
