// SipHash-2-4 (Aumasson and Bernstein), the keyed PRF Linux uses for ISNs, SYN cookies and
// ephemeral ports (lib/siphash.c): RFC 6528's F() needs a PRF an off-path attacker cannot
// predict without the key.
#pragma once

#include <cstdint>

namespace vlo {

struct SipKey {
    std::uint64_t k0, k1;
};

inline std::uint64_t siphash_4u32(std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t d,
                                  const SipKey& key) {
    auto rotl = [](std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); };
    std::uint64_t v0 = 0x736f6d6570736575ULL ^ key.k0, v1 = 0x646f72616e646f6dULL ^ key.k1;
    std::uint64_t v2 = 0x6c7967656e657261ULL ^ key.k0, v3 = 0x7465646279746573ULL ^ key.k1;
    auto round = [&] {
        v0 += v1, v1 = rotl(v1, 13), v1 ^= v0, v0 = rotl(v0, 32);
        v2 += v3, v3 = rotl(v3, 16), v3 ^= v2;
        v0 += v3, v3 = rotl(v3, 21), v3 ^= v0;
        v2 += v1, v1 = rotl(v1, 17), v1 ^= v2, v2 = rotl(v2, 32);
    };
    auto compress = [&](std::uint64_t m) {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    };
    compress(std::uint64_t{a} | std::uint64_t{b} << 32);
    compress(std::uint64_t{c} | std::uint64_t{d} << 32);
    compress(std::uint64_t{16} << 56);  // length byte, no tail
    v2 ^= 0xff;
    for (int i = 0; i < 4; ++i) round();
    return v0 ^ v1 ^ v2 ^ v3;
}

}  // namespace vlo
