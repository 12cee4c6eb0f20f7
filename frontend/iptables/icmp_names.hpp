// The ICMP type names iptables knows (icmp_codes in extensions/libxt_icmp.h), for --icmp-type
// and for listing.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace vlo::nf {

struct IcmpName {
    const char* name;
    std::uint8_t type;
    std::uint8_t code_min, code_max;
};

std::span<const IcmpName> icmp_names();
// The name of exactly this type and code range (the first, as print_icmptype), or nullptr.
const char* icmp_type_name(std::uint8_t type, std::uint8_t code_min, std::uint8_t code_max);

}  // namespace vlo::nf
