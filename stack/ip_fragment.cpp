#include "stack/ip_fragment.hpp"

#include <algorithm>
#include <cstring>

#include "netif/packet_pool.hpp"
#include "stack/wire/checksum.hpp"
#include "stack/wire/ipv4.hpp"

namespace vlo {

namespace {
constexpr std::uint8_t kIpoptEnd = 0;
constexpr std::uint8_t kIpoptNoop = 1;
constexpr std::uint8_t kIpoptCopied = 0x80;  // IPOPT_COPIED
}  // namespace

IpFragState::IpFragState(Packet& datagram, std::uint32_t mtu)
    : from_(datagram),
      hlen_(wire::Ipv4View(datagram.bytes()).header_len()),
      mtu_(mtu > hlen_ ? mtu - hlen_ : 0),
      left_(datagram.size() - hlen_),
      ptr_(hlen_) {
    const std::uint16_t frag_off = wire::Ipv4View(datagram.bytes()).frag_off();
    offset_ = static_cast<std::size_t>(frag_off & wire::kIpOffset) << 3;
    not_last_frag_ = (frag_off & wire::kIpMf) != 0;
}

PacketPtr IpFragState::next() {
    std::size_t len = std::min(left_, mtu_);
    // Every fragment but the last carries a multiple of 8 bytes: offsets count 8-byte units.
    if (len < left_) len &= ~std::size_t{7};
    PacketPtr frag = PacketPool::instance().alloc(hlen_ + len);
    if (!frag) return nullptr;
    // ip_copy_metadata: what the datagram knew about itself, each fragment knows too.
    frag->protocol = from_.protocol;
    frag->pkt_type = from_.pkt_type;
    frag->tstamp = from_.tstamp;
    if (from_.trace.on) frag->trace = from_.trace;

    std::uint8_t* h = frag->put(hlen_ + len);
    std::memcpy(h, from_.data(), hlen_);
    std::memcpy(h + hlen_, from_.data() + ptr_, len);
    frag->reset_network_header();
    frag->transport_header = frag->network_header + static_cast<std::uint32_t>(hlen_);
    left_ -= len;
    // Locally built datagrams never reach here with DF (that is ip_fragment's EMSGSIZE), and
    // ip_frag_init's DF comes from IPSKB_FRAG_PMTU, a forwarding flag: no fragment has DF.
    std::uint16_t frag_off = static_cast<std::uint16_t>(offset_ >> 3);
    if (left_ > 0 || not_last_frag_) frag_off |= wire::kIpMf;
    wire::store16(h + 6, frag_off);
    wire::store16(h + 2, static_cast<std::uint16_t>(hlen_ + len));
    wire::store16(h + 10, 0);
    wire::store16(h + 10, wire::checksum({h, hlen_}));  // ip_send_check
    ptr_ += len;
    offset_ += len;
    if (first_) {
        first_ = false;
        ip_options_fragment({from_.data(), hlen_});
    }
    return frag;
}

void ip_options_fragment(std::span<std::uint8_t> header) {
    std::span<std::uint8_t> opts = header.subspan(wire::kIpv4MinHeader);
    while (!opts.empty()) {
        if (opts[0] == kIpoptEnd) return;
        if (opts[0] == kIpoptNoop) {
            opts = opts.subspan(1);
            continue;
        }
        if (opts.size() < 2) return;
        const std::size_t optlen = opts[1];
        if (optlen < 2 || optlen > opts.size()) return;
        if ((opts[0] & kIpoptCopied) == 0) std::memset(opts.data(), kIpoptNoop, optlen);
        opts = opts.subspan(optlen);
    }
}

void skb_checksum_help(Packet& datagram) {
    if (datagram.ip_summed != ChecksumState::partial) return;
    const wire::Ipv4View iph(datagram.bytes());
    const std::size_t at = iph.protocol() == wire::kIpProtoTcp   ? 16
                           : iph.protocol() == wire::kIpProtoUdp ? 6
                                                                 : 0;
    const std::span<std::uint8_t> transport = datagram.bytes().subspan(iph.header_len());
    if (at == 0 || transport.size() < at + 2) return;
    // The field holds the pseudo-header's sum: summing the segment over it completes the sum.
    const std::uint16_t sum = wire::checksum(transport);
    wire::store16(transport.data() + at, sum == 0 ? 0xffff : sum);  // CSUM_MANGLED_0
    datagram.ip_summed = ChecksumState::none;
}

}  // namespace vlo
