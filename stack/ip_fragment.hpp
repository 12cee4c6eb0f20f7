// IPv4 fragmentation on output (net/ipv4/ip_output.c): ip_do_fragment's slow path, which cuts a
// datagram longer than the device's MTU into fragments copied into fresh pool buffers, one at a
// time (struct ip_frag_state, ip_frag_init, ip_frag_next). The decision to fragment, the
// counters and the transmit stay in Ip::ip_fragment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "netif/packet.hpp"

namespace vlo {

// ip_frag_state: where the next fragment starts in the datagram being cut.
class IpFragState {
  public:
    // ip_frag_init. `datagram` has data() at a valid IP header (options included) and outlives
    // the state; its header's non-copied options are turned into NOOPs once the first fragment
    // is cut (ip_frag_ipcb → ip_options_fragment), so every later fragment carries the copied
    // ones only. `mtu` is the device's.
    IpFragState(Packet& datagram, std::uint32_t mtu);

    // Room for at least 8 bytes of data after the header: otherwise nothing can be cut.
    bool fits() const { return mtu_ >= 8; }
    bool done() const { return left_ == 0; }
    // ip_frag_next: the next fragment, data() and network header at its IP header; nullptr if
    // the pool has no buffer for it.
    PacketPtr next();

  private:
    Packet& from_;
    std::size_t hlen_;  // the datagram's header length, copied into every fragment
    std::size_t mtu_;   // data space per fragment: the MTU less the header
    std::size_t left_;  // data bytes not cut yet
    std::size_t ptr_;   // where they start, from the header
    std::size_t
        offset_;  // their offset in the original datagram (non-zero when cutting a fragment)
    bool not_last_frag_;  // cutting a fragment that had MF: every piece keeps MF
    bool first_ = true;
};

// ip_options_fragment: in the options of `header` (a whole IP header), every option without the
// copied flag (RFC 791 3.1, bit 0x80 of the type) becomes NOOPs, so non-first fragments carry
// only the options RFC 791 says every fragment must.
void ip_options_fragment(std::span<std::uint8_t> header);

// skb_checksum_help for a CHECKSUM_PARTIAL datagram (data() at the IP header): completes the
// UDP or TCP checksum the device was to fill in, before the datagram is cut up and no device
// sees it whole. Other protocols carry no partial checksum; they are left alone.
void skb_checksum_help(Packet& datagram);

}  // namespace vlo
