#include "stack/netfilter/nf_reject.hpp"

#include "netif/packet_pool.hpp"
#include "stack/stack.hpp"
#include "stack/wire/checksum.hpp"
#include "stack/wire/icmp.hpp"
#include "stack/wire/ipv4.hpp"
#include "stack/wire/tcp.hpp"
#include "stack/wire/udp.hpp"

namespace vlo::nf {

namespace {

// The datagram at the hook, cut to its total length.
std::span<const std::uint8_t> datagram_of(const Packet& pkt) {
    const auto bytes = pkt.network_bytes();
    return bytes.first(std::min<std::size_t>(bytes.size(), wire::Ipv4View(bytes).total_len()));
}

// skb_csum_unnecessary || nf_ip_checksum(...) == 0, for the protocols nf_reject_verify_csum
// verifies: a UDP datagram without a checksum is taken as it is.
bool transport_checksum_ok(const Packet& pkt, std::span<const std::uint8_t> dg) {
    if (pkt.ip_summed != ChecksumState::none) return true;
    const wire::Ipv4View iph(dg);
    const auto payload = dg.subspan(iph.header_len());
    switch (iph.protocol()) {
        case wire::kIpProtoTcp:
            return wire::tcp_checksum(iph.src(), iph.dst(), payload) == 0;
        case wire::kIpProtoUdp:
            return payload.size() < wire::kUdpHeader || wire::load16(&payload[6]) == 0 ||
                   wire::udp_checksum_valid(iph.src(), iph.dst(), payload);
        default:
            return wire::checksum(payload) == 0;
    }
}

}  // namespace

void nf_send_unreach(Stack& stack, const Packet& orig, std::uint8_t code) {
    const auto dg = datagram_of(orig);
    const wire::Ipv4View iph(dg);
    if (iph.frag_off() & wire::kIpOffset) return;
    if (!transport_checksum_ok(orig, dg)) return;
    stack.icmp().icmp_send(orig, wire::kIcmpDestUnreach, code, 0);
}

void nf_send_reset(Stack& stack, const Packet& orig) {
    const auto dg = datagram_of(orig);
    const wire::Ipv4View iph(dg);
    // nf_reject_ip_tcphdr_get
    if (iph.frag_off() & wire::kIpOffset) return;
    if (iph.protocol() != wire::kIpProtoTcp) return;
    const auto seg = dg.subspan(iph.header_len());
    const auto shape = wire::TcpView::check(seg);  // a whole header; its options do not matter
    if (shape == wire::TcpView::Error::truncated || shape == wire::TcpView::Error::bad_offset)
        return;
    const wire::TcpView th(seg);
    if (th.flags() & wire::kTcpRst) return;  // no RST for a RST
    if (!transport_checksum_ok(orig, dg)) return;
    if (orig.pkt_type != PacketType::host) return;  // RTCF_BROADCAST | RTCF_MULTICAST

    // ip_route_me_harder with FLOWI_FLAG_ANYSRC: back to the sender, from the address it used.
    Route rt;
    if (stack.ip().route_output(iph.src(), Ipv4Address{}, nullptr, rt)) return;
    rt.src = iph.dst();

    // nf_reject_ip_tcphdr_put
    wire::TcpRepr r;
    r.src_port = th.dst_port();
    r.dst_port = th.src_port();
    if (th.flags() & wire::kTcpAck) {
        r.seq = th.ack();
        r.flags = wire::kTcpRst;
    } else {
        const auto payload = static_cast<std::uint32_t>(seg.size() - th.header_len());
        r.ack = th.seq() + payload + ((th.flags() & wire::kTcpSyn) ? 1 : 0) +
                ((th.flags() & wire::kTcpFin) ? 1 : 0);
        r.flags = wire::kTcpRst | wire::kTcpAck;
    }
    PacketPtr out = PacketPool::instance().alloc(0);
    if (!out) return;
    std::uint8_t* h = out->push(wire::kTcpMinHeader);
    r.emit({h, wire::kTcpMinHeader});
    // CHECKSUM_PARTIAL: lo leaves it to "hardware" (nobody), any other device gets the full sum.
    if (rt.dev->features() & NETIF_F_HW_CSUM) {
        const std::uint64_t pseudo =
            std::uint64_t{rt.src.value} + rt.dst.value + wire::kIpProtoTcp + wire::kTcpMinHeader;
        wire::store16(h + 16, static_cast<std::uint16_t>(~wire::checksum_fold(pseudo)));
        out->ip_summed = ChecksumState::partial;
    } else {
        wire::store16(h + 16, wire::tcp_checksum(rt.src, rt.dst, out->bytes()));
    }
    // nf_reject_iphdr_put
    wire::Ipv4Repr ip;
    ip.protocol = wire::kIpProtoTcp;
    ip.ttl = static_cast<std::uint8_t>(stack.config().ip_default_ttl);
    ip.tos = 0;
    ip.id = 0;
    ip.dont_fragment = true;
    stack.ip().ip_local_out(std::move(out), rt, ip);
}

}  // namespace vlo::nf
