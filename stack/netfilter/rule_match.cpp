#include "stack/netfilter/rule_match.hpp"

#include <algorithm>

#include "stack/wire/bytes.hpp"
#include "stack/wire/ipv4.hpp"

namespace vlo::nf {

namespace {

// port_match (xt_tcpudp.c)
bool port_match(const PortRange& r, std::uint16_t port) {
    return (port >= r.min && port <= r.max) != r.invert;
}

// tcp_mt
MatchResult tcp_mt(const TcpMatch& m, const PacketInfo& p) {
    if (p.fragoff != 0) {
        // "Don't allow a fragment of TCP 8 bytes in": offset 1 could overwrite the flags.
        return p.fragoff == 1 ? MatchResult::hotdrop : MatchResult::no;
    }
    const auto th = p.transport();
    if (th.size() < 20) return MatchResult::hotdrop;  // sizeof(struct tcphdr)
    if (!port_match(m.sport, wire::load16(&th[0])) || !port_match(m.dport, wire::load16(&th[2])))
        return MatchResult::no;
    const bool flags_ok = (th[13] & m.flg_mask) == m.flg_cmp;
    return flags_ok != m.inv_flags ? MatchResult::yes : MatchResult::no;
}

// udp_mt
MatchResult udp_mt(const UdpMatch& m, const PacketInfo& p) {
    if (p.fragoff != 0) return MatchResult::no;
    const auto uh = p.transport();
    if (uh.size() < 8) return MatchResult::hotdrop;
    return port_match(m.sport, wire::load16(&uh[0])) && port_match(m.dport, wire::load16(&uh[2]))
               ? MatchResult::yes
               : MatchResult::no;
}

// icmp_match / icmp_type_code_match (ip_tables.c)
MatchResult icmp_mt(const IcmpMatch& m, const PacketInfo& p) {
    if (p.fragoff != 0) return MatchResult::no;
    const auto ic = p.transport();
    if (ic.size() < 8) return MatchResult::hotdrop;  // sizeof(struct icmphdr)
    const bool hit =
        m.type == 0xff || (ic[0] == m.type && ic[1] >= m.code_min && ic[1] <= m.code_max);
    return hit != m.invert ? MatchResult::yes : MatchResult::no;
}

// statistic_mt
MatchResult statistic_mt(const StatisticMatch& m, Prng& rng) {
    bool hit = false;
    switch (m.mode) {
        case StatisticMatch::Mode::random:
            hit = (rng.next_u32() & 0x7fffffff) < m.probability;
            break;
        case StatisticMatch::Mode::nth: {
            // The counter runs every, 0, 1, ..., every: the packet that brings it to 0 matches.
            std::uint32_t old = m.count->load(std::memory_order_relaxed), next;
            do {
                next = old == m.every ? 0 : old + 1;
            } while (!m.count->compare_exchange_weak(old, next, std::memory_order_relaxed));
            hit = next == 0;
            break;
        }
    }
    return hit != m.invert ? MatchResult::yes : MatchResult::no;
}

// string_mt: skb_find_text over [from, to) of the packet from its IP header, the whole
// pattern within the window.
MatchResult string_mt(const StringMatch& m, const PacketInfo& p) {
    const std::size_t len = p.datagram.size();
    const std::size_t from = std::min<std::size_t>(m.from, len);
    const std::size_t to = std::min<std::size_t>(m.to, len);
    bool hit = false;
    if (from < to) hit = m.search.find(p.datagram.subspan(from, to - from)) != TextSearch::npos;
    return hit != m.invert ? MatchResult::yes : MatchResult::no;
}

bool inv(const IpSpec& ip, std::uint8_t flag, bool cond) {
    return cond != ((ip.invflags & flag) != 0);
}

// ip_packet_match
bool ip_packet_match(const IpSpec& ip, const PacketInfo& p) {
    if (inv(ip, kInvSrcIp, (p.src.value & ip.smsk.value) != ip.src.value) ||
        inv(ip, kInvDstIp, (p.dst.value & ip.dmsk.value) != ip.dst.value))
        return false;
    if (inv(ip, kInvViaIn, !iface_matches(ip.iniface, p.in))) return false;
    if (inv(ip, kInvViaOut, !iface_matches(ip.outiface, p.out))) return false;
    if (ip.proto && inv(ip, kInvProto, p.protocol != ip.proto)) return false;
    // A fragment rule does not match a packet that is not a later fragment.
    if (inv(ip, kInvFrag, ip.frag && p.fragoff == 0)) return false;
    return true;
}

}  // namespace

PacketInfo PacketInfo::parse(std::span<const std::uint8_t> datagram, const Device* in,
                             const Device* out) {
    const wire::Ipv4View iph(datagram);
    PacketInfo p;
    p.datagram = datagram.first(std::min<std::size_t>(datagram.size(), iph.total_len()));
    p.src = iph.src();
    p.dst = iph.dst();
    p.protocol = iph.protocol();
    p.fragoff = iph.frag_off() & wire::kIpOffset;
    p.thoff = std::min(iph.header_len(), p.datagram.size());
    p.in = in;
    p.out = out;
    return p;
}

bool iface_matches(const std::string& spec, const Device* dev) {
    if (spec.empty()) return true;
    static const std::string kNoDevice;  // nulldevname: the hook has no device that side
    const std::string& name = dev ? dev->name() : kNoDevice;
    if (spec.back() == '+') return name.compare(0, spec.size() - 1, spec, 0, spec.size() - 1) == 0;
    return name == spec;
}

MatchResult match_rule(const Rule& rule, const PacketInfo& pkt, Prng& rng) {
    if (!ip_packet_match(rule.ip, pkt)) return MatchResult::no;
    for (const Match& m : rule.matches) {
        MatchResult r = MatchResult::yes;
        if (const auto* tcp = std::get_if<TcpMatch>(&m))
            r = tcp_mt(*tcp, pkt);
        else if (const auto* udp = std::get_if<UdpMatch>(&m))
            r = udp_mt(*udp, pkt);
        else if (const auto* icmp = std::get_if<IcmpMatch>(&m))
            r = icmp_mt(*icmp, pkt);
        else if (const auto* stat = std::get_if<StatisticMatch>(&m))
            r = statistic_mt(*stat, rng);
        else if (const auto* str = std::get_if<StringMatch>(&m))
            r = string_mt(*str, pkt);
        if (r != MatchResult::yes) return r;
    }
    return MatchResult::yes;
}

}  // namespace vlo::nf
