#include "stack/ip.hpp"

#include "netif/dev_xmit.hpp"
#include "netif/trace_log.hpp"
#include "stack/icmp.hpp"
#include "stack/ip_fragment.hpp"
#include "stack/stack.hpp"
#include "stack/wire/icmp.hpp"

namespace vlo {

using wire::Ipv4Error;
using wire::Ipv4View;

Ip::Ip(Stack& stack) : stack_(stack), ident_seed_(stack.random().u32()), defrag_(stack) {}

void Ip::trace_next(int n) {
    if (n > 0 && trace_budget_.load() <= 0) TraceLog::add_user();  // NET_RX stamps its rounds
    trace_budget_.store(n);
}

void Ip::add_protocol(std::uint8_t protocol, InetProtocol* handler) { protocols_[protocol] = handler; }

void Ip::drop(PacketPtr pkt, DropReason reason) {
    stack_.net_rx().drops().kfree_skb_reason(std::move(pkt), reason);
}

void Ip::receive(PacketPtr pkt) {
    pkt->trace.stamp(Stage::ip_rcv);
    Snmp& snmp = stack_.snmp();
    snmp.ip.inc(IpMib::InReceives);
    // ip_rcv_core: every length and the header checksum before anything is read.
    switch (Ipv4View::check(pkt->bytes())) {
        case Ipv4Error::none: break;
        case Ipv4Error::truncated:  // pskb_may_pull(sizeof(struct iphdr)) fails: inhdr_error
            snmp.ip.inc(IpMib::InHdrErrors);
            return drop(std::move(pkt), DropReason::ip_inhdr);
        case Ipv4Error::bad_checksum:
            snmp.ip.inc(IpMib::InCsumErrors);  // csum_error falls through to inhdr_error
            snmp.ip.inc(IpMib::InHdrErrors);
            return drop(std::move(pkt), DropReason::ip_csum);
        case Ipv4Error::truncated_pkt:
            snmp.ip.inc(IpMib::InTruncatedPkts);
            return drop(std::move(pkt), DropReason::pkt_too_small);
        case Ipv4Error::bad_version:
        case Ipv4Error::bad_ihl:
        case Ipv4Error::bad_total_len:
        case Ipv4Error::bad_options:
            snmp.ip.inc(IpMib::InHdrErrors);
            return drop(std::move(pkt), DropReason::ip_inhdr);
    }
    pkt->reset_network_header();
    const Ipv4View iph(pkt->bytes());
    pkt->trim(iph.total_len());  // pskb_trim_rcsum: drop link-layer padding
    // NF_HOOK(NF_INET_PRE_ROUTING, ..., ip_rcv_finish): the route lookup comes after it.
    if (!stack_.netfilter().nf_hook(nf::Hook::pre_routing, pkt, pkt->dev, nullptr)) return;
    if (!(pkt = ip_route_input(std::move(pkt), iph))) return;
    ip_local_deliver(std::move(pkt));
}

// ip_route_input_slow, for a host that does not forward.
PacketPtr Ip::ip_route_input(PacketPtr pkt, const Ipv4View& iph) {
    Snmp& snmp = stack_.snmp();
    const Ipv4Address src = iph.src(), dst = iph.dst();
    // lo's packets keep the route they were sent with (loopback_xmit keeps skb_dst), so the
    // martian tests, in ip_route_input_slow's order, apply to every other device only: 127/8
    // must never arrive from a wire.
    const bool wire = !pkt->dev || !pkt->dev->is_loopback();
    auto martian = [&](RtStat stat, DropReason reason) {
        snmp.rt.inc(stat);
        drop(std::move(pkt), reason);
        return nullptr;
    };
    if (wire && (src.is_multicast() || src.is_limited_broadcast()))
        return martian(RtStat::in_martian_src, DropReason::ip_invalid_source);
    if (dst.is_limited_broadcast() || (src.is_unspecified() && dst.is_unspecified())) {
        pkt->pkt_type = PacketType::broadcast;  // brd_input
        return pkt;
    }
    if (wire) {
        if (src.is_zeronet()) return martian(RtStat::in_martian_src, DropReason::ip_invalid_source);
        if (dst.is_zeronet() || dst.is_loopback())
            return martian(RtStat::in_martian_dst, DropReason::ip_invalid_dest);
        if (src.is_loopback()) return martian(RtStat::in_martian_src, DropReason::ip_invalid_source);
    }
    const auto route = stack_.fib().lookup(dst);
    if (route && route->type == RouteType::local) return pkt;
    if (route && route->type == RouteType::broadcast) {
        pkt->pkt_type = PacketType::broadcast;
        return pkt;
    }
    // Not ours and not forwarding: no_route (in_no_route), then ip_error counts EHOSTUNREACH
    // as InAddrErrors and sends nothing.
    snmp.rt.inc(RtStat::in_no_route);
    snmp.ip.inc(IpMib::InAddrErrors);
    drop(std::move(pkt), DropReason::ip_inaddrerrors);
    return nullptr;
}

void Ip::ip_local_deliver(PacketPtr pkt) {
    pkt->trace.stamp(Stage::ip_local_deliver);
    Snmp& snmp = stack_.snmp();
    // The transport sees whole datagrams only: a fragment waits for the rest (ip_defrag), and
    // the one that completes a datagram brings it back here in one piece.
    if (Ipv4View(pkt->network_bytes()).is_fragment())
        if (!(pkt = defrag_.ip_defrag(std::move(pkt)))) return;
    const Ipv4View iph(pkt->network_bytes());
    // NF_HOOK(NF_INET_LOCAL_IN, ..., ip_local_deliver_finish), on the whole datagram.
    if (!stack_.netfilter().nf_hook(nf::Hook::local_in, pkt, pkt->dev, nullptr)) return;
    const std::uint8_t proto = iph.protocol();
    pkt->pull(iph.header_len());
    pkt->reset_transport_header();
    if (InetProtocol* handler = protocols_[proto]) {
        snmp.ip.inc(IpMib::InDelivers);
        handler->rcv(std::move(pkt));
        return;
    }
    // ip_protocol_deliver_rcu: nobody speaks this protocol.
    snmp.ip.inc(IpMib::InUnknownProtos);
    stack_.icmp().icmp_send(*pkt, wire::kIcmpDestUnreach, wire::kIcmpProtUnreach, 0);
    drop(std::move(pkt), DropReason::ip_noproto);
}

std::error_code Ip::route_output(Ipv4Address dst, Ipv4Address src, const Device* oif, Route& rt) const {
    const Fib& fib = stack_.fib();
    if (!src.is_unspecified() && !fib.is_local(src))
        return std::make_error_code(std::errc::address_not_available);
    // A datagram to 0.0.0.0 goes to this host: the source, or 127.0.0.1 (ip_route_output_key_hash_rcu).
    if (dst.is_unspecified()) {
        dst = src.is_unspecified() ? kInaddrLoopback : src;
        rt = Route{RouteType::local, &stack_.loopback(), dst, dst};
        return {};
    }
    if (dst.is_limited_broadcast()) {
        if (!oif) return std::make_error_code(std::errc::network_unreachable);
        rt = Route{RouteType::broadcast, const_cast<Device*>(oif), src, dst};
        if (rt.src.is_unspecified()) rt.src = fib.primary_address(*oif).value_or(Ipv4Address{});
        return {};
    }
    const auto e = fib.lookup(dst, oif);
    if (!e) return std::make_error_code(std::errc::network_unreachable);
    switch (e->type) {
        case RouteType::unreachable: return std::make_error_code(std::errc::host_unreachable);
        case RouteType::blackhole: return std::make_error_code(std::errc::invalid_argument);
        case RouteType::local:
            // Everything addressed to this host leaves through the loopback device.
            rt = Route{RouteType::local, &stack_.loopback(), src, dst};
            if (rt.src.is_unspecified()) rt.src = e->prefsrc.is_unspecified() ? dst : e->prefsrc;
            return {};
        case RouteType::broadcast:
        case RouteType::unicast:
            rt = Route{e->type, e->dev, src, dst};
            if (rt.src.is_unspecified())
                rt.src = e->prefsrc.is_unspecified() ? fib.primary_address(*e->dev).value_or(Ipv4Address{})
                                                     : e->prefsrc;
            return {};
    }
    return std::make_error_code(std::errc::network_unreachable);
}

std::uint16_t Ip::select_ident(Ipv4Address src, Ipv4Address dst, std::uint8_t protocol) {
    std::uint32_t h = (src.value * 0x9e3779b1u) ^ (dst.value * 0x85ebca77u) ^ (protocol * 0xc2b2ae3du) ^ ident_seed_;
    h ^= h >> 15;
    auto& counter = idents_[h % idents_.size()];
    return static_cast<std::uint16_t>(counter.fetch_add(1, std::memory_order_relaxed) + h);
}

std::error_code Ip::ip_local_out(PacketPtr pkt, const Route& rt, wire::Ipv4Repr repr) {
    if (trace_budget_.load(std::memory_order_relaxed) > 0 && !pkt->trace.on) [[unlikely]]
        if (trace_budget_.fetch_sub(1, std::memory_order_relaxed) > 0)
            pkt->trace.start(trace_ids_.fetch_add(1, std::memory_order_relaxed) + 1);
    if (pkt->size() + wire::kIpv4MinHeader > 0xffff) return std::make_error_code(std::errc::message_size);
    repr.payload_len = pkt->size();
    repr.src = rt.src;
    repr.dst = rt.dst;
    repr.emit({pkt->push(wire::kIpv4MinHeader), wire::kIpv4MinHeader});
    pkt->reset_network_header();
    pkt->protocol = kEthPIp;
    pkt->trace.stamp(Stage::ip_local_out);
    // __ip_local_out: NF_HOOK(NF_INET_LOCAL_OUT); a DROP reaches the sender as EPERM.
    if (!stack_.netfilter().nf_hook(nf::Hook::local_out, pkt, nullptr, rt.dev))
        return std::make_error_code(std::errc::operation_not_permitted);
    return ip_output(std::move(pkt), *rt.dev);
}

std::error_code Ip::ip_output(PacketPtr pkt, Device& dev) {
    pkt->trace.stamp(Stage::ip_output);
    Snmp& snmp = stack_.snmp();
    snmp.ip.inc(IpMib::OutRequests);
    // NF_HOOK_COND(NF_INET_POST_ROUTING, ..., ip_finish_output)
    if (!stack_.netfilter().nf_hook(nf::Hook::post_routing, pkt, nullptr, &dev))
        return std::make_error_code(std::errc::operation_not_permitted);
    // ip_finish_output: lo's MTU is above any datagram; a wire's is not.
    if (pkt->size() > dev.mtu()) return ip_fragment(std::move(pkt), dev);
    ip_finish_output2(std::move(pkt), dev);
    return {};
}

std::error_code Ip::ip_fragment(PacketPtr pkt, Device& dev) {
    const std::uint32_t mtu = dev.mtu();
    if (Ipv4View(pkt->bytes()).dont_fragment()) {
        // DF and too big. vlo's sockets run IP_PMTUDISC_WANT and send DF only on what fits
        // (__ip_make_skb), so this is a TCP segment or a caller of ip_local_out after the path
        // shrank. As the kernel, tell the source with the MTU that fits (RFC 1191 section 4):
        // a local source gets it back through lo, its err handler learns the MTU, and the
        // sender gets EMSGSIZE.
        stack_.snmp().ip.inc(IpMib::FragFails);
        stack_.icmp().icmp_send(*pkt, wire::kIcmpDestUnreach, wire::kIcmpFragNeeded, mtu);
        drop(std::move(pkt), DropReason::pkt_too_big);
        return std::make_error_code(std::errc::message_size);
    }
    return ip_do_fragment(std::move(pkt), dev);
}

// ip_do_fragment's slow path: each fragment a fresh pool buffer, sent as it is cut.
std::error_code Ip::ip_do_fragment(PacketPtr pkt, Device& dev) {
    Snmp& snmp = stack_.snmp();
    skb_checksum_help(*pkt);  // no device will see the whole datagram to finish its checksum
    IpFragState state(*pkt, dev.mtu());
    auto fail = [&](std::errc err) {
        snmp.ip.inc(IpMib::FragFails);
        drop(std::move(pkt), DropReason::frag_failed);
        return std::make_error_code(err);
    };
    if (!state.fits()) return fail(std::errc::message_size);
    while (!state.done()) {
        PacketPtr frag = state.next();
        if (!frag) return fail(std::errc::no_buffer_space);
        ip_finish_output2(std::move(frag), dev);
        snmp.ip.inc(IpMib::FragCreates);
    }
    snmp.ip.inc(IpMib::FragOKs);
    return {};  // consume_skb: the datagram went out in its fragments
}

// Every packet put on a device, whole datagram or fragment, is one OutTransmits. From here the
// packet is netif's: dev_queue_xmit, the device's qdisc, its taps, its driver (dev_xmit.hpp).
void Ip::ip_finish_output2(PacketPtr pkt, Device& dev) {
    stack_.snmp().ip.inc(IpMib::OutTransmits);
    vlo::dev_queue_xmit(std::move(pkt), dev);
}

}  // namespace vlo
