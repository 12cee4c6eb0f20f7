#include "netif/inet_ecn.hpp"

#include <cstdint>

namespace vlo {

namespace {

constexpr std::uint8_t kEcnMask = 3;  // INET_ECN_MASK: the low two bits of TOS / traffic class
constexpr std::uint8_t kEcnNotEct = 0;
constexpr std::uint8_t kEcnCe = 3;

// IP_ECN_set_ce: the ECN bits of the TOS byte to CE, the header checksum adjusted for the one
// 16-bit word that changed (version/IHL and TOS): HC' = ~(~HC + ~m + m'), RFC 1624 eqn. 3.
bool ip_ecn_set_ce(std::uint8_t* iph) {
    const std::uint8_t tos = iph[1];
    if ((tos & kEcnMask) == kEcnNotEct) return false;
    if ((tos & kEcnMask) == kEcnCe) return true;
    const std::uint16_t old_word = static_cast<std::uint16_t>(iph[0] << 8 | tos);
    const std::uint16_t new_word = static_cast<std::uint16_t>(old_word | kEcnCe);
    const std::uint16_t check = static_cast<std::uint16_t>(iph[10] << 8 | iph[11]);
    std::uint32_t sum = std::uint16_t(~check) + std::uint16_t(~old_word) + new_word;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    const auto next = static_cast<std::uint16_t>(~sum);
    iph[1] = static_cast<std::uint8_t>(tos | kEcnCe);
    iph[10] = static_cast<std::uint8_t>(next >> 8);
    iph[11] = static_cast<std::uint8_t>(next);
    return true;
}

// IP6_ECN_set_ce: the traffic class straddles bytes 0 and 1; its ECN bits are 0x30 of byte 1.
// IPv6 has no header checksum.
bool ip6_ecn_set_ce(std::uint8_t* ip6h) {
    const std::uint8_t ecn = (ip6h[1] >> 4) & kEcnMask;
    if (ecn == kEcnNotEct) return false;
    ip6h[1] = static_cast<std::uint8_t>(ip6h[1] | kEcnCe << 4);
    return true;
}

}  // namespace

bool inet_ecn_set_ce(Packet& pkt) {
    std::uint8_t* h = pkt.data();
    const std::size_t len = pkt.size();
    if (len >= 20 && (h[0] >> 4) == 4 && (h[0] & 0x0f) >= 5) return ip_ecn_set_ce(h);
    if (len >= 40 && (h[0] >> 4) == 6) return ip6_ecn_set_ce(h);
    return false;  // INET_ECN_set_ce's default: neither ETH_P_IP nor ETH_P_IPV6
}

}  // namespace vlo
