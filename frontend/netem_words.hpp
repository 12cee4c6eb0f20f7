// tc-netem(8)'s words: what `tc qdisc add ... netem OPTIONS` parses (iproute2 tc/q_netem.c,
// netem_parse_opt) into the typed NetemSpec the qdisc takes, and what `tc qdisc show` prints
// back (netem_print_opt).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "netif/netem_spec.hpp"

namespace vlo {

// Either a spec or tc's one-line complaint about the word it could not take ("Illegal
// \"loss percent\"", "What is \"xyz\"?", "Command line is not complete. Try option \"help\"").
struct NetemParseResult {
    std::optional<NetemSpec> spec;
    std::string error;
    explicit operator bool() const { return spec.has_value(); }
};

// netem_parse_opt over the words after `netem`, split on blanks. Unlike tc's, a bare TIME is
// read as tc reads it today: nanoseconds (get_time64, iproute2 6.9 on; older tc took µs).
NetemParseResult parse_netem(std::string_view options);
NetemParseResult parse_netem(std::span<const std::string_view> words);

// tc's explain(): the usage text `netem help` prints.
std::string_view netem_usage();

// netem_print_opt's text, as `tc qdisc show` prints after "qdisc netem 8001: root refcnt 2 ":
// "limit 1000 delay 10ms  1ms 25% loss 5% ... seed N". `seed_in_use` is the qdisc's.
std::string netem_print_opt(const NetemSpec& spec, std::uint64_t seed_in_use);

}  // namespace vlo
