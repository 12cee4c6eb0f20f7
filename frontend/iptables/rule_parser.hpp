// One iptables invocation, parsed as iptables 1.8 parses it (do_parse in iptables/xshared.c,
// the option tables and parse functions of libxt_tcp.c, libxt_udp.c, libipt_icmp.c,
// libxt_statistic.c, libxt_string.c, libipt_REJECT.c, libxt_LOG.c): the same words, the same
// defaults and, for a bad word, iptables' one-line message. Only what the kernel would refuse
// later (an unknown chain, a REJECT in PREROUTING...) is left to the typed Netfilter calls.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/iptables/rule_format.hpp"
#include "stack/netfilter/hook.hpp"
#include "stack/netfilter/rule.hpp"

namespace vlo::nf {

// How vlo's iptables introduces itself in messages: "iptables v1.8.9 (vlo): ...".
inline constexpr std::string_view kIptablesVersion = "1.8.9 (vlo)";
// xtables_error(PARAMETER_PROBLEM, ...)'s line: "iptables v1.8.9 (vlo): " + msg.
std::string parameter_problem(std::string_view msg);

enum class CommandKind : std::uint8_t {
    append,       // -A chain rule
    insert,       // -I chain [rulenum] rule
    delete_rule,  // -D chain rule
    delete_num,   // -D chain rulenum
    replace,      // -R chain rulenum rule
    check,        // -C chain rule
    list,         // -L [chain [rulenum]]
    list_rules,   // -S [chain [rulenum]]
    flush,        // -F [chain]
    zero,         // -Z [chain [rulenum]]
    policy,       // -P chain target
    new_chain,    // -N, -X, -E: parsed, but vlo has the built-in chains only
    delete_chain,
    rename_chain,
    version,  // -V
};

struct Command {
    CommandKind kind = CommandKind::list;
    bool zero_after_list = false;  // -L -Z: list, then zero the counters
    std::string table = "filter";
    std::string chain;     // empty: every chain (-L, -S, -F, -Z)
    unsigned rulenum = 0;  // 1 = first; 0: not given
    std::string policy;
    std::string jump;  // the -j word, which may name a chain
    // The rule of -A/-I/-D/-R/-C, once per source and destination address given
    // (-s a,b -d c is two rules, as xtables_ipparse_multiple makes them).
    std::vector<std::shared_ptr<Rule>> rules;
    ListFormat format;
};

// Splits `line` into words as a shell would (blanks separate, '...' and "..." quote, backslash
// escapes) and parses them. On error: nullopt and the message in `error`.
std::optional<Command> parse_command(std::string_view line, std::string& error);
// The same over words already split (an argument vector).
std::optional<Command> parse_command(std::vector<std::string> words, std::string& error);

}  // namespace vlo::nf
