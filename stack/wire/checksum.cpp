#include "stack/wire/checksum.hpp"

#include <cstring>

namespace vlo::wire {

std::uint64_t checksum_partial(std::span<const std::uint8_t> data, std::uint64_t initial) {
    // Sum 32-bit big-endian words into a 64-bit accumulator: carries collect in the high half
    // and are folded once at the end (RFC 1071 section 2(B), deferred carries).
    std::uint64_t sum = initial;
    const std::uint8_t* p = data.data();
    std::size_t n = data.size();
    while (n >= 4) {
        sum += std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        sum += std::uint32_t{p[0]} << 8 | p[1];
        p += 2;
        n -= 2;
    }
    if (n == 1) sum += std::uint32_t{p[0]} << 8;  // odd byte, padded with zero
    return sum;
}

std::uint16_t checksum_fold(std::uint64_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum & 0xffff);
}

}  // namespace vlo::wire
