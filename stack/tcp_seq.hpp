// Sequence number arithmetic modulo 2^32 (RFC 9293 3.4; include/net/tcp.h before/after).
#pragma once

#include <cstdint>

namespace vlo {

constexpr bool seq_before(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) < 0; }
constexpr bool seq_after(std::uint32_t a, std::uint32_t b) { return seq_before(b, a); }
constexpr bool seq_leq(std::uint32_t a, std::uint32_t b) { return !seq_after(a, b); }
constexpr bool seq_geq(std::uint32_t a, std::uint32_t b) { return !seq_before(a, b); }
// a <= x < b
constexpr bool seq_in(std::uint32_t x, std::uint32_t a, std::uint32_t b) { return seq_leq(a, x) && seq_before(x, b); }

// Orders sequence numbers that lie within 2^31 of each other (a receive window's worth), as the
// kernel's out-of-order rbtree does with before(); plain `<` would put 0 ahead of 0xffffff00
// where the sequence space wraps.
struct SeqLess {
    constexpr bool operator()(std::uint32_t a, std::uint32_t b) const { return seq_before(a, b); }
};

}  // namespace vlo
