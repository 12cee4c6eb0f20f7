// The IPv4 header (RFC 791 section 3.1): a checked zero-copy view over received bytes and a
// plain struct (Ipv4Repr) for building one. Validation follows ip_rcv_core's order, each failure
// named after the counter the kernel bumps for it.
#pragma once

#include <cstdint>
#include <span>

#include "stack/ipv4_address.hpp"
#include "stack/wire/bytes.hpp"

namespace vlo::wire {

enum IpProto : std::uint8_t { kIpProtoIcmp = 1, kIpProtoTcp = 6, kIpProtoUdp = 17 };

constexpr std::size_t kIpv4MinHeader = 20;
constexpr std::size_t kIpv4MaxHeader = 60;
constexpr std::uint16_t kIpDf = 0x4000;      // IP_DF
constexpr std::uint16_t kIpMf = 0x2000;      // IP_MF
constexpr std::uint16_t kIpOffset = 0x1fff;  // IP_OFFSET

enum class Ipv4Error {
    none,
    truncated,       // shorter than a header: InHdrErrors
    bad_version,     // version != 4: InHdrErrors
    bad_ihl,         // IHL < 5 or beyond the data: InHdrErrors
    bad_checksum,    // InCsumErrors (and InHdrErrors)
    bad_total_len,   // total length < IHL*4: InHdrErrors
    truncated_pkt,   // total length beyond the data: InTruncatedPkts
    bad_options,     // option lengths run past the header: InHdrErrors
};

class Ipv4View {
public:
    // Checks every length and the header checksum; on success the view is safe to read.
    static Ipv4Error check(std::span<const std::uint8_t> data);
    // Call only after check() returned none.
    explicit Ipv4View(std::span<const std::uint8_t> data) : p_(data.data()) {}

    std::uint8_t version() const { return p_[0] >> 4; }
    std::size_t header_len() const { return std::size_t{p_[0] & 0x0fu} * 4; }
    std::uint8_t tos() const { return p_[1]; }
    std::uint16_t total_len() const { return load16(p_ + 2); }
    std::uint16_t id() const { return load16(p_ + 4); }
    std::uint16_t frag_off() const { return load16(p_ + 6); }
    bool dont_fragment() const { return (frag_off() & kIpDf) != 0; }
    bool is_fragment() const { return (frag_off() & (kIpMf | kIpOffset)) != 0; }
    std::uint8_t ttl() const { return p_[8]; }
    std::uint8_t protocol() const { return p_[9]; }
    std::uint16_t checksum() const { return load16(p_ + 10); }
    Ipv4Address src() const { return Ipv4Address{load32(p_ + 12)}; }
    Ipv4Address dst() const { return Ipv4Address{load32(p_ + 16)}; }
    std::span<const std::uint8_t> options() const { return {p_ + kIpv4MinHeader, header_len() - kIpv4MinHeader}; }
    std::span<const std::uint8_t> payload() const { return {p_ + header_len(), total_len() - header_len()}; }

private:
    const std::uint8_t* p_;
};

// The fields a sender chooses. emit() writes a 20-byte header (no options) with its checksum.
struct Ipv4Repr {
    Ipv4Address src;
    Ipv4Address dst;
    std::uint8_t protocol = 0;
    std::uint8_t ttl = 64;
    std::uint8_t tos = 0;
    std::uint16_t id = 0;
    bool dont_fragment = false;
    std::size_t payload_len = 0;

    static Ipv4Repr parse(const Ipv4View& v);
    std::size_t header_len() const { return kIpv4MinHeader; }
    void emit(std::span<std::uint8_t> header) const;
};

}  // namespace vlo::wire
