// REJECT's answers (net/ipv4/netfilter/nf_reject_ipv4.c): an ICMP destination unreachable
// through the stack's icmp_send, which already never answers an ICMP error or a broadcast and
// applies the ICMP rate limits; or a TCP RST built from the offending segment and sent with
// ip_local_out, so it passes the OUTPUT hook like any locally generated packet.
#pragma once

#include <cstdint>

#include "netif/packet.hpp"

namespace vlo {
class Stack;
}

namespace vlo::nf {

// nf_send_unreach: nothing for a later fragment or a datagram whose transport checksum is
// bad (when not vouched for by the device).
void nf_send_unreach(Stack& stack, const Packet& orig, std::uint8_t code);

// nf_send_reset: nothing for a non-TCP datagram, a fragment, a RST, a bad checksum or a
// broadcast. With an ACK: <SEQ=SEG.ACK><CTL=RST>; without: <SEQ=0><ACK=SEG.SEQ+SEG.LEN>
// <CTL=RST,ACK>. The IP header has TOS 0, ID 0, DF and the default TTL (nf_reject_iphdr_put).
void nf_send_reset(Stack& stack, const Packet& orig);

}  // namespace vlo::nf
