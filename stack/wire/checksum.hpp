// The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of 16-bit
// words. `partial` sums can be chained (pseudo-header, then payload) and folded at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace vlo::wire {

// Ones' complement sum of `data` added to `initial`, not folded or inverted (csum_partial).
std::uint64_t checksum_partial(std::span<const std::uint8_t> data, std::uint64_t initial = 0);

// Fold a partial sum to 16 bits and invert it (csum_fold).
std::uint16_t checksum_fold(std::uint64_t sum);

// The checksum of `data` (ip_compute_csum). Over a buffer whose checksum field is filled in
// correctly the result is 0 (ip_fast_csum's test).
inline std::uint16_t checksum(std::span<const std::uint8_t> data) {
    return checksum_fold(checksum_partial(data));
}

}  // namespace vlo::wire
