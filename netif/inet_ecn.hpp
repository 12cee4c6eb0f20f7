// INET_ECN_set_ce (include/net/inet_ecn.h) for netem's `ecn`: marks Congestion Experienced on
// an ECN-capable IP packet. netif knows nothing of IP, yet the kernel's sch_netem reads the IP
// header here too (INET_ECN_set_ce on the skb's network header); a packet on lo or a TUN starts
// with that header (no link header), so the fixed layout of RFC 791 / RFC 8200 is enough.
#pragma once

#include "netif/packet.hpp"

namespace vlo {

// True when the packet now carries CE: it was ECT(0) or ECT(1) (the IPv4 header checksum
// updated as RFC 1624 does it) or CE already. False, and the packet unchanged, for a not-ECT
// packet or one that is not IPv4 or IPv6.
bool inet_ecn_set_ce(Packet& pkt);

}  // namespace vlo
