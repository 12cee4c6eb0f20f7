// Netfilter's IPv4 hook points (enum nf_inet_hooks, include/uapi/linux/netfilter.h) and the
// iptables tables that sit on them. On one hook the tables run in the order of their
// priorities (NF_IP_PRI_RAW -300, NF_IP_PRI_MANGLE -150, NF_IP_PRI_FILTER 0), which is the
// order of the Table enum.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace vlo::nf {

enum class Hook : std::uint8_t {
    pre_routing,   // NF_INET_PRE_ROUTING: ip_rcv, before the route lookup
    local_in,      // NF_INET_LOCAL_IN: ip_local_deliver, before the transport protocol
    forward,       // NF_INET_FORWARD: never traversed, this host does not forward
    local_out,     // NF_INET_LOCAL_OUT: __ip_local_out
    post_routing,  // NF_INET_POST_ROUTING: ip_output
    count_
};
constexpr std::size_t kHookCount = static_cast<std::size_t>(Hook::count_);

enum class Table : std::uint8_t { raw, mangle, filter, count_ };
constexpr std::size_t kTableCount = static_cast<std::size_t>(Table::count_);

// The built-in chain of a hook: "PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING".
std::string_view chain_name(Hook h);
std::optional<Hook> parse_chain(std::string_view name);
std::string_view table_name(Table t);
std::optional<Table> parse_table(std::string_view name);

// Which built-in chains a table has (iptable_raw.c, iptable_mangle.c, iptable_filter.c).
constexpr bool table_has_chain(Table t, Hook h) {
    switch (t) {
        case Table::raw:
            return h == Hook::pre_routing || h == Hook::local_out;
        case Table::mangle:
            return h != Hook::count_;
        case Table::filter:
            return h == Hook::local_in || h == Hook::forward || h == Hook::local_out;
        case Table::count_:
            break;
    }
    return false;
}

}  // namespace vlo::nf
