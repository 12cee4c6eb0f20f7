#include "stack/ipv4_address.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace vlo {

std::optional<Ipv4Address> Ipv4Address::parse(std::string_view text) {
    if (text.find('\0') != std::string_view::npos) return std::nullopt;
    std::string s(text);
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
    return Ipv4Address{ntohl(a.s_addr)};
}

std::string Ipv4Address::to_string() const {
    char buf[INET_ADDRSTRLEN];
    in_addr a{htonl(value)};
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    return buf;
}

std::optional<Ipv4Cidr> Ipv4Cidr::parse(std::string_view text) {
    const auto slash = text.find('/');
    auto addr = Ipv4Address::parse(text.substr(0, slash));
    if (!addr) return std::nullopt;
    int len = 32;
    if (slash != std::string_view::npos) {
        const auto digits = text.substr(slash + 1);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
        if (ec != std::errc{} || end != digits.data() + digits.size() || len < 0 || len > 32)
            return std::nullopt;
    }
    return Ipv4Cidr{*addr, len};
}

std::string Ipv4Cidr::to_string() const { return address.to_string() + "/" + std::to_string(prefix_len); }

}  // namespace vlo
