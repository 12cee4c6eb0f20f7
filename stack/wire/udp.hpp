// The UDP header (RFC 768): a checked zero-copy view over received bytes, a plain struct for
// building one, and the checksum over the IPv4 pseudo-header in its three uses: the full sum a
// sender without offload fills in, the partial (pseudo-header only) sum CHECKSUM_PARTIAL leaves
// for the device, and the receive-side test.
#pragma once

#include <cstdint>
#include <span>

#include "stack/ipv4_address.hpp"
#include "stack/wire/bytes.hpp"
#include "stack/wire/ipv4.hpp"

namespace vlo::wire {

constexpr std::size_t kUdpHeader = 8;
// The largest payload: an IPv4 total length of 0xffff less the IP and UDP headers (65507).
constexpr std::size_t kUdpMaxPayload = 0xffff - kIpv4MinHeader - kUdpHeader;

class UdpView {
public:
    // __udp4_lib_rcv's length checks: a whole header (pskb_may_pull), and a length field no
    // shorter than the header and no longer than the data (short_packet). A length field
    // shorter than the data is fine: the receiver trims to it (pskb_trim_rcsum).
    enum class Error { none, truncated, bad_length };
    static Error check(std::span<const std::uint8_t> data);
    // Call only after check() returned none.
    explicit UdpView(std::span<const std::uint8_t> data) : d_(data) {}

    std::uint16_t src_port() const { return load16(&d_[0]); }
    std::uint16_t dst_port() const { return load16(&d_[2]); }
    std::uint16_t length() const { return load16(&d_[4]); }
    std::uint16_t checksum() const { return load16(&d_[6]); }
    // The header and payload the length field covers.
    std::span<const std::uint8_t> datagram() const { return d_.first(length()); }
    std::span<const std::uint8_t> payload() const {
        return d_.subspan(kUdpHeader, length() - kUdpHeader);
    }

private:
    std::span<const std::uint8_t> d_;
};

struct UdpRepr {
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::size_t payload_len = 0;

    static UdpRepr parse(const UdpView& v) {
        return UdpRepr{v.src_port(), v.dst_port(), v.length() - kUdpHeader};
    }
    std::size_t buffer_len() const { return kUdpHeader + payload_len; }
    // Writes the 8-byte header, its checksum field set to `check` (0: none, or not yet summed).
    void emit(std::span<std::uint8_t> header, std::uint16_t check = 0) const;
};

// ~csum_tcpudp_magic(src, dst, len, IPPROTO_UDP, 0): the pseudo-header's sum, folded and not
// inverted, which udp4_hwcsum leaves in the field of a CHECKSUM_PARTIAL datagram for the device
// to complete over the datagram.
std::uint16_t udp_pseudo_header_sum(Ipv4Address src, Ipv4Address dst, std::size_t udp_len);

// The full checksum of `datagram` (header, its checksum field zero, and payload) as it goes into
// the field: a sum that comes out 0 is sent as 0xffff (RFC 768; CSUM_MANGLED_0), since 0 in the
// field means "no checksum".
std::uint16_t udp_checksum(Ipv4Address src, Ipv4Address dst,
                           std::span<const std::uint8_t> datagram);

// Receive side: a zero field means the sender computed none (RFC 768), which is accepted;
// otherwise the sum over pseudo-header and datagram must check out.
bool udp_checksum_valid(Ipv4Address src, Ipv4Address dst, std::span<const std::uint8_t> datagram);

}  // namespace vlo::wire
