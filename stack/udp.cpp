#include "stack/udp.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "netif/packet_pool.hpp"
#include "stack/stack.hpp"
#include "stack/udp_socket.hpp"
#include "stack/wire/icmp.hpp"
#include "stack/wire/udp.hpp"

namespace vlo {

namespace {

// icmp_err_convert (net/ipv4/icmp.c): the errno for each destination-unreachable code and
// whether it is "fatal" (a hard error a connected socket reports without IP_RECVERR).
struct IcmpErr {
    int errnum;
    bool fatal;
};
constexpr IcmpErr kIcmpErrConvert[] = {
    {ENETUNREACH, false},   // ICMP_NET_UNREACH
    {EHOSTUNREACH, false},  // ICMP_HOST_UNREACH
    {ENOPROTOOPT, true},    // ICMP_PROT_UNREACH
    {ECONNREFUSED, true},   // ICMP_PORT_UNREACH
    {EMSGSIZE, false},      // ICMP_FRAG_NEEDED
    {EOPNOTSUPP, false},    // ICMP_SR_FAILED
    {ENETUNREACH, true},    // ICMP_NET_UNKNOWN
    {EHOSTDOWN, true},      // ICMP_HOST_UNKNOWN
    {ENONET, true},         // ICMP_HOST_ISOLATED
    {ENETUNREACH, true},    // ICMP_NET_ANO
    {EHOSTUNREACH, true},   // ICMP_HOST_ANO
    {ENETUNREACH, false},   // ICMP_NET_UNR_TOS
    {EHOSTUNREACH, false},  // ICMP_HOST_UNR_TOS
    {EHOSTUNREACH, true},   // ICMP_PKT_FILTERED
    {EHOSTUNREACH, true},   // ICMP_PREC_VIOLATION
    {EHOSTUNREACH, true},   // ICMP_PREC_CUTOFF
};
constexpr std::uint8_t kNrIcmpUnreach = 15;  // NR_ICMP_UNREACH

// skb_clone for a broadcast going to more than one socket: a copy of the datagram with the
// same header marks (data at the UDP header) and metadata.
PacketPtr clone_datagram(const Packet& pkt) {
    const auto datagram = pkt.network_bytes();
    PacketPtr c = PacketPool::instance().alloc(datagram.size());
    if (!c) return nullptr;
    std::memcpy(c->put(datagram.size()), datagram.data(), datagram.size());
    c->reset_network_header();
    c->pull(static_cast<std::size_t>(pkt.data() - pkt.network()));
    c->reset_transport_header();
    c->dev = pkt.dev;
    c->protocol = pkt.protocol;
    c->ip_summed = pkt.ip_summed;
    c->pkt_type = pkt.pkt_type;
    c->queued_cpu = pkt.queued_cpu;
    c->tstamp = pkt.tstamp;
    return c;
}

}  // namespace

Udp::Udp(Stack& stack) : stack_(stack) {}

void Udp::drop(PacketPtr pkt, DropReason reason) {
    stack_.net_rx().drops().kfree_skb_reason(std::move(pkt), reason);
}

// __udp4_lib_rcv
void Udp::rcv(PacketPtr pkt) {
    pkt->trace.stamp(Stage::udp_rcv);
    Mib<UdpMib>& mib = stack_.snmp().udp;
    switch (wire::UdpView::check(pkt->bytes())) {
        case wire::UdpView::Error::none: break;
        case wire::UdpView::Error::truncated:   // !pskb_may_pull(skb, sizeof(struct udphdr))
        case wire::UdpView::Error::bad_length:  // short_packet: ulen < 8 or ulen > skb->len
            mib.inc(UdpMib::InErrors);
            return drop(std::move(pkt), DropReason::pkt_too_small);
    }
    pkt->trim(wire::UdpView(pkt->bytes()).length());  // pskb_trim_rcsum: the rest is not ours
    const wire::UdpView uh(pkt->bytes());
    const wire::Ipv4View iph(pkt->network_bytes());
    const Ipv4Address saddr = iph.src(), daddr = iph.dst();
    const std::uint16_t sport = uh.src_port(), dport = uh.dst_port();

    // udp4_csum_init: a zero checksum means none was sent (skb_checksum_init_zero_check); lo's
    // CHECKSUM_PARTIAL arrives as CHECKSUM_UNNECESSARY and is trusted; anything else is summed
    // with the pseudo-header. (Linux defers that sum for a datagram a socket takes to
    // udp_recvmsg's copy-and-checksum; vlo sums here. The counters are the same: RFC 1122
    // 4.1.3.4, a bad datagram is discarded silently.)
    if (pkt->ip_summed == ChecksumState::none &&
        !wire::udp_checksum_valid(saddr, daddr, uh.datagram())) {
        mib.inc(UdpMib::InCsumErrors);  // csum_error
        mib.inc(UdpMib::InErrors);
        return drop(std::move(pkt), DropReason::udp_csum);
    }

    if (pkt->pkt_type == PacketType::broadcast || pkt->pkt_type == PacketType::multicast)
        return mcast_deliver(std::move(pkt), saddr, sport, daddr, dport);

    {
        std::shared_lock lock(mu_);
        if (UdpSocket* sk = lookup(saddr, sport, daddr, dport)) {
            sk->queue_rcv(std::move(pkt));  // udp_unicast_rcv_skb
            return;
        }
    }
    // No socket: the port is closed. pkt->network() still marks the IP header icmp_send quotes.
    mib.inc(UdpMib::NoPorts);
    stack_.icmp().icmp_send(*pkt, wire::kIcmpDestUnreach, wire::kIcmpPortUnreach, 0);
    drop(std::move(pkt), DropReason::no_socket);
}

UdpSocket* Udp::lookup(Ipv4Address saddr, std::uint16_t sport, Ipv4Address daddr,
                       std::uint16_t dport) const {
    const auto it = sockets_.find(dport);
    if (it == sockets_.end()) return nullptr;
    // udp4_lib_lookup2 over the sockets bound to `bound`: compute_score, first best wins.
    auto lookup2 = [&](Ipv4Address bound) -> UdpSocket* {
        UdpSocket* result = nullptr;
        int badness = 0;
        for (UdpSocket* sk : it->second) {
            if (sk->rcv_saddr_ != bound) continue;
            int score = 2;  // PF_INET
            if (!sk->daddr_.is_unspecified()) {
                if (sk->daddr_ != saddr) continue;
                score += 4;
            }
            if (sk->dport_ != 0) {
                if (sk->dport_ != sport) continue;
                score += 4;
            }
            score += 4;  // udp_sk_bound_dev_eq: no SO_BINDTODEVICE, every device matches
            if (score > badness) {
                result = sk;
                badness = score;
            }
        }
        return result;
    };
    if (UdpSocket* sk = lookup2(daddr)) return sk;  // connected or bound to this address
    return daddr.is_unspecified() ? nullptr : lookup2(Ipv4Address{});  // wildcard sockets
}

void Udp::mcast_deliver(PacketPtr pkt, Ipv4Address saddr, std::uint16_t sport, Ipv4Address daddr,
                        std::uint16_t dport) {
    Mib<UdpMib>& mib = stack_.snmp().udp;
    {
        std::shared_lock lock(mu_);
        UdpSocket* first = nullptr;
        if (const auto it = sockets_.find(dport); it != sockets_.end()) {
            for (UdpSocket* sk : it->second) {
                // __udp_is_mcast_sock
                if (!sk->daddr_.is_unspecified() && sk->daddr_ != saddr) continue;
                if (sk->dport_ != 0 && sk->dport_ != sport) continue;
                if (!sk->rcv_saddr_.is_unspecified() && sk->rcv_saddr_ != daddr) continue;
                if (!first) {
                    first = sk;
                    continue;
                }
                PacketPtr copy = clone_datagram(*pkt);
                if (!copy) {
                    mib.inc(UdpMib::RcvbufErrors);
                    mib.inc(UdpMib::InErrors);
                    continue;
                }
                sk->queue_rcv(std::move(copy));
            }
        }
        if (first) {
            first->queue_rcv(std::move(pkt));
            return;
        }
    }
    mib.inc(UdpMib::IgnoredMulti);
    drop(std::move(pkt), DropReason::no_socket);
}

// __udp4_lib_err
void Udp::err(std::uint8_t type, std::uint8_t code, std::uint32_t info, const wire::Ipv4View& inner,
              std::span<const std::uint8_t> transport) {
    (void)info;
    // The quoted datagram went from us (inner.src, its source port) to the peer.
    const std::uint16_t sport = wire::load16(&transport[0]);
    const std::uint16_t dport = wire::load16(&transport[2]);
    std::shared_lock lock(mu_);
    UdpSocket* sk = lookup(inner.dst(), dport, inner.src(), sport);
    if (!sk) {
        stack_.snmp().icmp.inc(IcmpMib::InErrors);
        return;
    }
    int err = 0;
    bool harderr = false;
    switch (type) {
        case wire::kIcmpSourceQuench:
        case wire::kIcmpRedirect:
            return;
        case wire::kIcmpParameterProb:
            err = EPROTO;
            harderr = true;
            break;
        case wire::kIcmpDestUnreach:
            if (code == wire::kIcmpFragNeeded) {
                // Path MTU discovery: no route cache to update, and the socket is
                // IP_PMTUDISC_WANT (not DONT), so the sender hears EMSGSIZE.
                err = EMSGSIZE;
                harderr = true;
                break;
            }
            err = EHOSTUNREACH;
            if (code <= kNrIcmpUnreach) {
                err = kIcmpErrConvert[code].errnum;
                harderr = kIcmpErrConvert[code].fatal;
            }
            break;
        default:  // ICMP_TIME_EXCEEDED
            err = EHOSTUNREACH;
            break;
    }
    // RFC 1122 4.1.3.3: ICMP errors go back to the application. Without IP_RECVERR only hard
    // errors do, and only to a connected socket.
    if (!harderr || !sk->connected_) return;
    sk->set_error(err);
}

void Udp::hash(UdpSocket* sk, std::uint16_t port, Ipv4Address rcv_saddr) {
    std::unique_lock lock(mu_);
    sk->num_ = port;
    sk->rcv_saddr_ = rcv_saddr;
    auto& slot = sockets_[port];
    slot.insert(slot.begin(), sk);
}

void Udp::unhash(UdpSocket* sk) {
    std::unique_lock lock(mu_);
    const auto it = sockets_.find(sk->num_);
    if (it == sockets_.end()) return;
    std::erase(it->second, sk);
    if (it->second.empty()) sockets_.erase(it);
}

void Udp::connect(UdpSocket* sk, Ipv4Address rcv_saddr, Ipv4Address daddr, std::uint16_t dport) {
    std::unique_lock lock(mu_);
    sk->rcv_saddr_ = rcv_saddr;
    sk->daddr_ = daddr;
    sk->dport_ = dport;
    sk->connected_ = true;
}

}  // namespace vlo
