// Does a rule match a packet: ip_packet_match (net/ipv4/netfilter/ip_tables.c) for the IP part,
// then each match extension as the kernel's xt_tcpudp.c, ip_tables.c (icmp), xt_statistic.c and
// xt_string.c decide it.
#pragma once

#include <cstdint>
#include <span>

#include "netif/device.hpp"
#include "stack/netfilter/prng.hpp"
#include "stack/netfilter/rule.hpp"

namespace vlo::nf {

// The packet as the rules see it at a hook, parsed once: skb->data is at the IP header there.
struct PacketInfo {
    std::span<const std::uint8_t> datagram;  // the IP header to the end of the datagram
    Ipv4Address src, dst;
    std::uint8_t protocol = 0;
    std::uint16_t fragoff = 0;  // IP_OFFSET, in 8-byte units
    std::size_t thoff = 0;      // where the transport header starts (ihl * 4)
    const Device* in = nullptr;
    const Device* out = nullptr;

    // Reads the header fields; `datagram` must hold a valid IPv4 header (checked by ip_rcv or
    // built by ip_local_out) and is cut to its total length.
    static PacketInfo parse(std::span<const std::uint8_t> datagram, const Device* in,
                            const Device* out);
    std::span<const std::uint8_t> transport() const { return datagram.subspan(thoff); }
};

// par->hotdrop: a match found the packet too broken to judge (a truncated transport header,
// an "evil" TCP fragment at offset 1), and the packet is dropped whatever the rule says.
enum class MatchResult : std::uint8_t { no, yes, hotdrop };

MatchResult match_rule(const Rule& rule, const PacketInfo& pkt, Prng& rng);

// ifname_compare_aligned with the mask xtables' iface_to_mask builds: a name ending in '+'
// matches every device whose name starts with the rest.
bool iface_matches(const std::string& spec, const Device* dev);

}  // namespace vlo::nf
