// --stat: what a run did to the stack, in the kernel's formats: /proc/net/softnet_stat, the
// devices as `ip -s link`, the SNMP counters as nstat prints them, the rules as
// `iptables -L -n -v -x`, each netem as `tc -s qdisc show`, and where NET_RX ran.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "stack/stack.hpp"

namespace vlo::apps {

std::string stat_report(Stack& stack);

// nstat's lines ("TcpRetransSegs                  12") for the non-zero counters of
// /proc/net/snmp-style text (pairs of "Group: names" / "Group: values" lines).
std::string nstat_lines(const std::string& snmp_text, bool zeros = false);

// One counter of such text by group and name ("TcpExt", "TCPTimeouts"), or nothing when the
// stack keeps no such counter: a program reads counters that a newer stack may add by name, and
// tells "not counted" from 0.
std::optional<std::uint64_t> snmp_counter(const std::string& snmp_text, std::string_view group,
                                          std::string_view name);

}  // namespace vlo::apps
