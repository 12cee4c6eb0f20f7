// A stack's counters for people and for programs: the kernel's text formats (softnet_stat,
// `ip -s link`, nstat), and the same figures as JSON for the control socket.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "stack/stack.hpp"

namespace vlo::control {

// {"softnet_stat": "<the /proc/net/softnet_stat text>",
//  "softnet": [{"cpu", "processed", "dropped", "time_squeeze", "runs_in_sender", ...}],
//  "devices": [{"name", "ifindex", "mtu", "flags", "rx_packets", ...}],
//  "snmp": {"Ip": {"Forwarding": 2, ...}, "Icmp": {...}, ..., "TcpExt": {...}},
//  "drops": {"<kfree_skb reason>": count, ...}}
nlohmann::ordered_json stack_stats(Stack& stack);

// nstat's lines, "IpInReceives                    12", for every non-zero counter of "snmp"
// (all of them with `all`).
std::string nstat_text(const nlohmann::ordered_json& snmp, bool all = false);

// The text vlo-stat prints: softnet_stat, then the devices as `ip -s link`, then nstat; then,
// from a vlod that adds them, "qdisc_text" (tc -s qdisc show) and "iptables" (-L -n -v -x).
std::string stats_text(const nlohmann::ordered_json& stats);

}  // namespace vlo::control
