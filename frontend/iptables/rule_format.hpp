// Rules in iptables' words: the -S form (what iptables-save prints, the extensions' save
// functions) and the -L table (print_header / print_firewall and the extensions' print
// functions, iptables/xshared.c), byte for byte as iptables 1.8 prints them. Two differences:
// addresses are never resolved to host names, and without -n ports are named from
// /etc/services as iptables does (getservbyport).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "stack/netfilter/rule.hpp"

namespace vlo::nf {

// -L's flags: -n, -v, -x, --line-numbers.
struct ListFormat {
    bool numeric = false;
    bool verbose = false;
    bool exact = false;
    bool line_numbers = false;
};

// " -s 127.0.0.1/32 -p tcp -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable":
// what follows "-A CHAIN" in iptables -S.
std::string rule_spec(const Rule& rule);

// "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)" and the column titles.
void append_chain_header(std::string& out, std::string_view chain, std::string_view policy,
                         std::uint64_t packets, std::uint64_t bytes, const ListFormat& f);
// One row of the table; `num` is the rule's position (1 = first) for --line-numbers.
void append_rule_row(std::string& out, const Rule& rule, unsigned num, const ListFormat& f);

std::string_view target_name(const Target& t);
std::string_view reject_with_name(RejectWith w);

}  // namespace vlo::nf
