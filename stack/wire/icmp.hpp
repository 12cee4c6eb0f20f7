// ICMP messages (RFC 792): a checked view and a plain struct for the kinds vlo sends: echo
// request/reply and the errors that quote the offending datagram.
#pragma once

#include <cstdint>
#include <span>

#include "stack/wire/bytes.hpp"

namespace vlo::wire {

constexpr std::size_t kIcmpHeader = 8;

enum IcmpType : std::uint8_t {
    kIcmpEchoReply = 0,
    kIcmpDestUnreach = 3,
    kIcmpSourceQuench = 4,
    kIcmpRedirect = 5,
    kIcmpEcho = 8,
    kIcmpTimeExceeded = 11,
    kIcmpParameterProb = 12,
    kIcmpTimestamp = 13,
    kIcmpTimestampReply = 14,
};

// Destination-unreachable codes (include/uapi/linux/icmp.h).
enum IcmpUnreachCode : std::uint8_t {
    kIcmpNetUnreach = 0,
    kIcmpHostUnreach = 1,
    kIcmpProtUnreach = 2,
    kIcmpPortUnreach = 3,
    kIcmpFragNeeded = 4,
    kIcmpNetProhibited = 9,
    kIcmpHostProhibited = 10,
    kIcmpPktFiltered = 13,
};

class IcmpView {
public:
    // Long enough for the header, and the checksum over all of `data` is right.
    enum class Error { none, truncated, bad_checksum };
    static Error check(std::span<const std::uint8_t> data);
    explicit IcmpView(std::span<const std::uint8_t> data) : d_(data) {}

    std::uint8_t type() const { return d_[0]; }
    std::uint8_t code() const { return d_[1]; }
    std::uint16_t checksum() const { return load16(&d_[2]); }
    // Echo request/reply
    std::uint16_t echo_id() const { return load16(&d_[4]); }
    std::uint16_t echo_seq() const { return load16(&d_[6]); }
    // The second word of other messages (unused, or next-hop MTU for frag-needed).
    std::uint32_t rest_of_header() const { return load32(&d_[4]); }
    std::span<const std::uint8_t> data() const { return d_.subspan(kIcmpHeader); }

private:
    std::span<const std::uint8_t> d_;
};

struct IcmpRepr {
    std::uint8_t type = kIcmpEcho;
    std::uint8_t code = 0;
    std::uint32_t rest_of_header = 0;  // echo: id << 16 | seq
    std::span<const std::uint8_t> data;

    static IcmpRepr echo(std::uint8_t type, std::uint16_t id, std::uint16_t seq,
                         std::span<const std::uint8_t> payload) {
        return IcmpRepr{type, 0, std::uint32_t{id} << 16 | seq, payload};
    }
    static IcmpRepr parse(const IcmpView& v) { return IcmpRepr{v.type(), v.code(), v.rest_of_header(), v.data()}; }
    std::size_t buffer_len() const { return kIcmpHeader + data.size(); }
    // Writes header and data into out (buffer_len() bytes) with the checksum filled in.
    // `data` may already sit in place at out + 8 (no copy then).
    void emit(std::span<std::uint8_t> out) const;
};

}  // namespace vlo::wire
