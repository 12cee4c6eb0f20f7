// The TCP header (RFC 9293 section 3.1) and its options: MSS (RFC 9293 3.2), window scale and
// timestamps (RFC 7323), SACK-permitted (RFC 2018). A checked view over received bytes and a
// plain struct for building a segment.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "stack/ipv4_address.hpp"
#include "stack/wire/bytes.hpp"

namespace vlo::wire {

constexpr std::size_t kTcpMinHeader = 20;
constexpr std::size_t kTcpMaxHeader = 60;

enum TcpFlags : std::uint8_t {
    kTcpFin = 0x01,
    kTcpSyn = 0x02,
    kTcpRst = 0x04,
    kTcpPsh = 0x08,
    kTcpAck = 0x10,
    kTcpUrg = 0x20,
    kTcpEce = 0x40,
    kTcpCwr = 0x80,
};

// One SACK block (RFC 2018 3): [start, end) in sequence space.
struct SackBlock {
    std::uint32_t start = 0, end = 0;
    bool operator==(const SackBlock&) const = default;
};

struct TcpOptions {
    std::optional<std::uint16_t> mss;
    std::optional<std::uint8_t> wscale;
    bool sack_permitted = false;
    std::optional<std::pair<std::uint32_t, std::uint32_t>> timestamp;  // TSval, TSecr
    std::array<SackBlock, 4> sack{};  // the SACK option's blocks, in the order sent
    std::uint8_t num_sack = 0;
};

class TcpView {
public:
    enum class Error { none, truncated, bad_offset, bad_options };
    // Lengths only; the checksum needs the pseudo-header (tcp_checksum below).
    static Error check(std::span<const std::uint8_t> data);
    explicit TcpView(std::span<const std::uint8_t> data) : d_(data) {}

    std::uint16_t src_port() const { return load16(&d_[0]); }
    std::uint16_t dst_port() const { return load16(&d_[2]); }
    std::uint32_t seq() const { return load32(&d_[4]); }
    std::uint32_t ack() const { return load32(&d_[8]); }
    std::size_t header_len() const { return static_cast<std::size_t>(d_[12] >> 4) * 4; }
    std::uint8_t flags() const { return d_[13]; }
    std::uint16_t window() const { return load16(&d_[14]); }
    std::uint16_t checksum() const { return load16(&d_[16]); }
    std::uint16_t urgent() const { return load16(&d_[18]); }
    std::span<const std::uint8_t> payload() const { return d_.subspan(header_len()); }
    TcpOptions options() const;  // unknown options skipped

private:
    std::span<const std::uint8_t> d_;
};

struct TcpRepr {
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::uint32_t seq = 0;
    std::uint32_t ack = 0;
    std::uint8_t flags = 0;
    std::uint16_t window = 0;
    TcpOptions options;

    static TcpRepr parse(const TcpView& v);
    // Options in Linux's order and layout (tcp_options_write): MSS; then SACK-permitted folded
    // with the timestamp (SACK_PERM, TS) or NOP, NOP, TS; NOP, WSCALE; NOP, NOP, SACK blocks.
    std::size_t options_len() const;
    std::size_t header_len() const { return kTcpMinHeader + options_len(); }
    // Writes the header (checksum field zero) into out (header_len() bytes).
    void emit(std::span<std::uint8_t> out) const;
};

// The checksum over the IPv4 pseudo-header and `segment` (header and payload): fill it in with
// this value when the field is zero; a received segment with its checksum in place gives 0.
std::uint16_t tcp_checksum(Ipv4Address src, Ipv4Address dst, std::span<const std::uint8_t> segment,
                           std::uint8_t protocol = 6);

}  // namespace vlo::wire
