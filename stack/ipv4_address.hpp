// IPv4 addresses and prefixes, held in host byte order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vlo {

struct Ipv4Address {
    std::uint32_t value = 0;  // host byte order

    constexpr Ipv4Address() = default;
    constexpr explicit Ipv4Address(std::uint32_t v) : value(v) {}
    constexpr Ipv4Address(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d)
        : value(std::uint32_t{a} << 24 | std::uint32_t{b} << 16 | std::uint32_t{c} << 8 | d) {}

    // Dotted quad only, as inet_pton(AF_INET).
    static std::optional<Ipv4Address> parse(std::string_view text);
    std::string to_string() const;

    constexpr bool is_unspecified() const { return value == 0; }
    constexpr bool is_loopback() const { return (value >> 24) == 127; }        // 127/8
    constexpr bool is_zeronet() const { return (value >> 24) == 0; }           // 0/8
    constexpr bool is_multicast() const { return (value >> 28) == 0xe; }       // 224/4
    constexpr bool is_limited_broadcast() const { return value == 0xffffffffu; }
    constexpr auto operator<=>(const Ipv4Address&) const = default;
};

constexpr Ipv4Address kInaddrAny{0};
constexpr Ipv4Address kInaddrLoopback{127, 0, 0, 1};

constexpr std::uint32_t prefix_mask(int len) {
    return len <= 0 ? 0 : len >= 32 ? 0xffffffffu : ~((1u << (32 - len)) - 1);
}

struct Ipv4Cidr {
    Ipv4Address address;
    int prefix_len = 32;

    // "A.B.C.D/LEN" or "A.B.C.D" (a /32).
    static std::optional<Ipv4Cidr> parse(std::string_view text);
    std::string to_string() const;
    constexpr Ipv4Address network() const { return Ipv4Address{address.value & prefix_mask(prefix_len)}; }
    constexpr Ipv4Address broadcast() const {
        return Ipv4Address{address.value | ~prefix_mask(prefix_len)};
    }
    constexpr bool contains(Ipv4Address a) const {
        return ((a.value ^ address.value) & prefix_mask(prefix_len)) == 0;
    }
};

}  // namespace vlo
