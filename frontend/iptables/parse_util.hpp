// The small pieces the command parser and the extensions' value parsers share: stopping at the
// first bad word with iptables' message (xtables_error exits iptables; here the parse unwinds
// to parse_command), numbers as xtables_strtoui reads them, service names, and the words of a
// command line.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/ipv4_address.hpp"

namespace vlo::nf {

struct ParseError {
    std::string message;  // without the "iptables v1.8.9 (vlo): " in front
};
[[noreturn]] inline void fail(std::string msg) { throw ParseError{std::move(msg)}; }

// xtables_strtoui: the whole word, base 0 (so 0x50 is 80), within [min, max].
bool parse_uint(const std::string& s, unsigned long long min, unsigned long long max,
                unsigned long long& out);

// xtables_numeric_to_ipaddr / xtables_numeric_to_ipmask: a dotted quad; an address (not a
// mask) may stop early and is completed with zero bytes ("10" is 10.0.0.0, "0" is 0.0.0.0).
std::optional<Ipv4Address> numeric_to_ipaddr(const std::string& dotted, bool is_mask);

// getservbyname: the port of a service in /etc/services, or -1. `proto` may be null (any).
int service_port(const std::string& name, const char* proto);

// Splits a command line into words as a shell would: blanks separate, '...' and "..." quote,
// a backslash escapes. An open quote fails as the shell does.
std::vector<std::string> split_words(std::string_view line);

}  // namespace vlo::nf
