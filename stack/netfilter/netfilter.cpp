#include "stack/netfilter/netfilter.hpp"

#include <algorithm>

#include "stack/netfilter/nf_reject.hpp"
#include "stack/netfilter/rule_match.hpp"
#include "stack/netfilter/rule_parser.hpp"
#include "stack/stack.hpp"
#include "stack/wire/icmp.hpp"

namespace vlo {

using nf::Hook;
using nf::Table;

namespace {

constexpr std::size_t idx(Table t) { return static_cast<std::size_t>(t); }
constexpr std::size_t idx(Hook h) { return static_cast<std::size_t>(h); }

std::error_code make(std::errc e) { return std::make_error_code(e); }

// The messages iptables-nft prints for what the kernel refuses (nft_strerror and the
// "iptables: %s." line of xtables-standalone.c).
std::string iptables_error(std::string_view what) { return "iptables: " + std::string(what) + "."; }

// The icmp code each --reject-with sends (reject_tg).
std::uint8_t unreach_code(nf::RejectWith w) {
    switch (w) {
        case nf::RejectWith::icmp_net_unreachable:
            return wire::kIcmpNetUnreach;
        case nf::RejectWith::icmp_host_unreachable:
            return wire::kIcmpHostUnreach;
        case nf::RejectWith::icmp_proto_unreachable:
            return wire::kIcmpProtUnreach;
        case nf::RejectWith::icmp_port_unreachable:
            return wire::kIcmpPortUnreach;
        case nf::RejectWith::icmp_net_prohibited:
            return wire::kIcmpNetProhibited;
        case nf::RejectWith::icmp_host_prohibited:
            return wire::kIcmpHostProhibited;
        case nf::RejectWith::icmp_admin_prohibited:
            return wire::kIcmpPktFiltered;
        case nf::RejectWith::tcp_reset:
            break;
    }
    return wire::kIcmpPortUnreach;
}

bool is_builtin_target(std::string_view name) {
    return name == "ACCEPT" || name == "DROP" || name == "REJECT" || name == "LOG";
}

}  // namespace

bool Netfilter::Ruleset::inert() const {
    for (const auto& table : chains)
        for (const Chain& c : table)
            if (!c.rules.empty() || c.policy != Verdict::accept) return false;
    return true;
}

Netfilter::Netfilter(Stack& stack, std::uint64_t seed) : stack_(stack), rng_(seed) {
    retired_.push_back(std::make_unique<Ruleset>());
    latest_ = retired_.back().get();
}

Netfilter::~Netfilter() = default;

// ---- the packet path ----

bool Netfilter::nf_hook_slow(const Ruleset& rs, Hook hook, PacketPtr& pkt, const Device* in,
                             const Device* out) {
    const auto datagram = pkt->network_bytes();
    if (datagram.size() < wire::kIpv4MinHeader)
        return true;  // ip_rcv and ip_local_out vouch for more
    const nf::PacketInfo info = nf::PacketInfo::parse(datagram, in, out);
    for (std::size_t t = 0; t < nf::kTableCount; ++t) {  // in priority order
        const auto table = static_cast<Table>(t);
        if (!nf::table_has_chain(table, hook)) continue;
        if (do_chain(rs.chains[t][idx(hook)], table, hook, info, *pkt) == Verdict::drop) {
            stack_.net_rx().drops().kfree_skb_reason(std::move(pkt), DropReason::netfilter_drop);
            return false;
        }
    }
    return true;
}

Netfilter::Verdict Netfilter::do_chain(const Chain& chain, Table table, Hook hook,
                                       const nf::PacketInfo& info, const Packet& pkt) {
    const std::uint64_t len = info.datagram.size();  // skb->len at the hook
    for (const auto& rule : chain.rules) {
        switch (nf::match_rule(*rule, info, rng_)) {
            case nf::MatchResult::no:
                continue;
            case nf::MatchResult::hotdrop:
                return Verdict::drop;
            case nf::MatchResult::yes:
                break;
        }
        rule->counters.add(len);
        switch (rule->target.kind) {
            case nf::Target::Kind::none:
                continue;
            case nf::Target::Kind::log:  // LOG is not terminating: on to the next rule
                do_log(*rule, info);
                continue;
            case nf::Target::Kind::accept:
                return Verdict::accept;
            case nf::Target::Kind::drop:
                return Verdict::drop;
            case nf::Target::Kind::reject:
                do_reject(*rule, pkt);
                return Verdict::drop;
        }
    }
    policy_counters(table, hook).add(len);
    return chain.policy;
}

void Netfilter::do_log(const nf::Rule& rule, const nf::PacketInfo& info) {
    char line[nf::kLogLineMax];
    const std::size_t n =
        nf::format_log_line(std::span<char, nf::kLogLineMax>(line), rule.target.log.prefix, info.in,
                            info.out, info.datagram, rule.target.log.flags);
    log_.push(rule.target.log.level, std::string_view(line, n));
}

void Netfilter::do_reject(const nf::Rule& rule, const Packet& pkt) {
    if (rule.target.reject_with == nf::RejectWith::tcp_reset)
        nf::nf_send_reset(stack_, pkt);
    else
        nf::nf_send_unreach(stack_, pkt, unreach_code(rule.target.reject_with));
}

// ---- commands ----

void Netfilter::publish(std::unique_ptr<Ruleset> next) {
    latest_ = next.get();
    active_.store(next->inert() ? nullptr : next.get(), std::memory_order_release);
    retired_.push_back(std::move(next));
}

std::error_code Netfilter::check_rule(const nf::Command& cmd, Hook hook, const nf::Rule& rule,
                                      std::string& error) const {
    const char* op = cmd.kind == nf::CommandKind::insert    ? "RULE_INSERT"
                     : cmd.kind == nf::CommandKind::replace ? "RULE_REPLACE"
                                                            : "RULE_APPEND";
    // The batch error of iptables-nft (mnl_append_error), and what the kernel logged.
    auto refused = [&](std::errc e, const std::string& dmesg) {
        error = nf::parameter_problem(std::string(" ") + op + " failed (" + make(e).message() +
                                      "): rule in chain " + cmd.chain + " (" + dmesg + ")");
        return make(e);
    };
    const bool proto_inverted = rule.ip.invflags & nf::kInvProto;
    for (const nf::Match& m : rule.matches) {
        // xt_check_proto: a protocol match needs that protocol, not inverted.
        const char* name = nullptr;
        std::uint8_t proto = 0;
        if (std::holds_alternative<nf::TcpMatch>(m)) name = "tcp", proto = 6;
        if (std::holds_alternative<nf::UdpMatch>(m)) name = "udp", proto = 17;
        if (std::holds_alternative<nf::IcmpMatch>(m)) name = "icmp", proto = 1;
        if (name && (rule.ip.proto != proto || proto_inverted))
            return refused(std::errc::invalid_argument,
                           std::string("x_tables: ip_tables: ") + name +
                               " match: only valid for protocol " + std::to_string(proto));
        if (const auto* s =
                std::get_if<nf::StringMatch>(&m)) {  // string_mt_check, textsearch_prepare
            if (s->from > s->to)
                return refused(std::errc::invalid_argument, "xt_string: --from past --to");
            if (s->algo != "bm" && s->algo != "kmp")
                return refused(std::errc::no_such_file_or_directory,
                               "no textsearch algorithm `" + s->algo + "'");
            if (s->pattern.empty())
                return refused(std::errc::invalid_argument, "xt_string: empty pattern");
        }
    }
    if (rule.target.kind == nf::Target::Kind::reject) {
        if (hook != Hook::local_in && hook != Hook::forward && hook != Hook::local_out)
            return refused(std::errc::invalid_argument,
                           "x_tables: ip_tables: REJECT target: used from hooks " +
                               std::string(nf::chain_name(hook)) +
                               ", but only usable from INPUT/FORWARD/OUTPUT");
        if (rule.target.reject_with == nf::RejectWith::tcp_reset &&
            (rule.ip.proto != 6 || proto_inverted))
            return refused(std::errc::invalid_argument,
                           "ipt_REJECT: TCP_RESET invalid for non-tcp");
    }
    return {};
}

std::error_code Netfilter::command(std::string_view args, std::string* message) {
    std::string error;
    std::optional<nf::Command> cmd = nf::parse_command(args, error);
    if (!cmd) {
        if (message) *message = std::move(error);
        return make(std::errc::invalid_argument);
    }
    std::string output;
    std::error_code ec;
    {
        std::lock_guard lock(writer_);
        ec = execute(*cmd, output, error);
    }
    if (message) *message = ec ? std::move(error) : std::move(output);
    return ec;
}

std::error_code Netfilter::execute(nf::Command& cmd, std::string& output, std::string& error) {
    using nf::CommandKind;
    if (cmd.kind == CommandKind::version) {
        output = "iptables v" + std::string(nf::kIptablesVersion) + "\n";
        return {};
    }
    const auto table = nf::parse_table(cmd.table);
    if (!table) {
        error = nf::parameter_problem("table '" + cmd.table + "' does not exist");
        return make(std::errc::no_such_file_or_directory);
    }
    if (cmd.kind == CommandKind::new_chain || cmd.kind == CommandKind::delete_chain ||
        cmd.kind == CommandKind::rename_chain) {
        error =
            nf::parameter_problem("user-defined chains are not modelled, only the built-in ones");
        return make(std::errc::operation_not_supported);
    }
    // The chain, which must be one of the table's (nft_chain_find).
    Hook hook = Hook::count_;  // count_: none (or not one of this table's)
    if (const auto h = nf::parse_chain(cmd.chain); h && nf::table_has_chain(*table, *h)) hook = *h;
    const bool have_hook = hook != Hook::count_;
    auto no_chain = [&] {
        error = iptables_error("No chain/target/match by that name");
        return make(std::errc::no_such_file_or_directory);
    };

    switch (cmd.kind) {
        case CommandKind::list:
        case CommandKind::list_rules: {
            if (!cmd.chain.empty() && !have_hook) return no_chain();
            // A rule number past the end lists nothing (nft_rule_list).
            output = cmd.kind == CommandKind::list
                         ? list_locked(*latest_, *table, cmd.chain, cmd.rulenum, cmd.format)
                         : list_rules_locked(*latest_, *table, cmd.chain, cmd.rulenum);
            if (cmd.zero_after_list) {
                for (std::size_t h = 0; h < nf::kHookCount; ++h) {
                    if (have_hook && h != idx(hook)) continue;
                    for (const auto& r : latest_->chains[idx(*table)][h].rules) r->counters.zero();
                    policy_counters(*table, static_cast<Hook>(h)).zero();
                }
            }
            return {};
        }
        case CommandKind::zero: {
            if (!cmd.chain.empty() && !have_hook) return no_chain();
            for (std::size_t h = 0; h < nf::kHookCount; ++h) {
                if (have_hook && h != idx(hook)) continue;
                if (!nf::table_has_chain(*table, static_cast<Hook>(h))) continue;
                const auto& rules = latest_->chains[idx(*table)][h].rules;
                if (cmd.rulenum) {
                    if (cmd.rulenum > rules.size())
                        return no_chain();  // nft_rule_zero_counters: ENOENT
                    rules[cmd.rulenum - 1]->counters.zero();
                    continue;
                }
                for (const auto& r : rules) r->counters.zero();
                policy_counters(*table, static_cast<Hook>(h)).zero();
            }
            return {};
        }
        case CommandKind::policy: {
            if (!have_hook) {
                error = iptables_error("Bad built-in chain name");
                return make(std::errc::no_such_file_or_directory);
            }
            if (cmd.policy != "ACCEPT" && cmd.policy != "DROP") {
                error = iptables_error("Bad policy name. Run `dmesg' for more information");
                return make(std::errc::invalid_argument);
            }
            auto next = std::make_unique<Ruleset>(*latest_);
            next->chains[idx(*table)][idx(hook)].policy =
                cmd.policy == "DROP" ? Verdict::drop : Verdict::accept;
            publish(std::move(next));
            return {};
        }
        case CommandKind::flush: {
            if (!cmd.chain.empty() && !have_hook) return no_chain();
            auto next = std::make_unique<Ruleset>(*latest_);
            for (std::size_t h = 0; h < nf::kHookCount; ++h)
                if (!have_hook || h == idx(hook)) next->chains[idx(*table)][h].rules.clear();
            publish(std::move(next));
            return {};
        }
        default:
            break;
    }

    // The rule commands. A jump to anything but a built-in target names a chain (nft_prepare's
    // assert_chain_exists), and vlo has no user-defined chains.
    if (!cmd.jump.empty() && !is_builtin_target(cmd.jump)) {
        error = nf::parameter_problem("Chain '" + cmd.jump + "' does not exist");
        return make(std::errc::invalid_argument);
    }
    if (!have_hook) return no_chain();
    const auto& current = latest_->chains[idx(*table)][idx(hook)].rules;
    if (cmd.kind == CommandKind::delete_num) {
        if (cmd.rulenum > current.size()) {
            error = iptables_error("Index of deletion too big");
            return make(std::errc::argument_list_too_long);
        }
        auto next = std::make_unique<Ruleset>(*latest_);
        auto& rules = next->chains[idx(*table)][idx(hook)].rules;
        rules.erase(rules.begin() + (cmd.rulenum - 1));
        publish(std::move(next));
        return {};
    }
    if (cmd.kind == CommandKind::delete_rule || cmd.kind == CommandKind::check) {
        // Every address pair's rule must be there (delete_entry / check_entry), the first
        // equal one goes (iptc_delete_entry compares the whole entry, as the -S words do here).
        auto next = std::make_unique<Ruleset>(*latest_);
        auto& rules = next->chains[idx(*table)][idx(hook)].rules;
        for (const auto& wanted : cmd.rules) {
            const auto it = std::find_if(rules.begin(), rules.end(),
                                         [&](const auto& r) { return r->spec == wanted->spec; });
            if (it == rules.end()) {
                error = iptables_error("Bad rule (does a matching rule exist in that chain?)");
                return make(std::errc::no_such_file_or_directory);
            }
            if (cmd.kind == CommandKind::delete_rule) rules.erase(it);
        }
        if (cmd.kind == CommandKind::delete_rule) publish(std::move(next));
        return {};
    }
    for (const auto& rule : cmd.rules)
        if (std::error_code ec = check_rule(cmd, hook, *rule, error)) return ec;
    auto next = std::make_unique<Ruleset>(*latest_);
    auto& rules = next->chains[idx(*table)][idx(hook)].rules;
    switch (cmd.kind) {
        case CommandKind::append:
            rules.insert(rules.end(), cmd.rules.begin(), cmd.rules.end());
            break;
        case CommandKind::insert:
            // iptables may insert at rule_max + 1, no further (nft_rule_insert).
            if (cmd.rulenum > rules.size() + 1) {
                error = iptables_error("Index of insertion too big");
                return make(std::errc::argument_list_too_long);
            }
            rules.insert(rules.begin() + (cmd.rulenum - 1), cmd.rules.begin(), cmd.rules.end());
            break;
        case CommandKind::replace:
            if (cmd.rulenum > rules.size()) {
                error = iptables_error("Index of replacement too big");
                return make(std::errc::argument_list_too_long);
            }
            if (cmd.rules.size() != 1) {
                error = nf::parameter_problem("-R requires one source and destination each");
                return make(std::errc::invalid_argument);
            }
            rules[cmd.rulenum - 1] = cmd.rules.front();
            break;
        default:
            return make(std::errc::invalid_argument);
    }
    publish(std::move(next));
    return {};
}

// ---- listing ----

std::string Netfilter::list(std::string_view chain, const nf::ListFormat& format,
                            std::string_view table) const {
    const auto t = nf::parse_table(table);
    if (!t) return {};
    std::lock_guard lock(writer_);
    return list_locked(*latest_, *t, chain, 0, format);
}

std::string Netfilter::list_rules(std::string_view chain, std::string_view table) const {
    const auto t = nf::parse_table(table);
    if (!t) return {};
    std::lock_guard lock(writer_);
    return list_rules_locked(*latest_, *t, chain, 0);
}

std::string Netfilter::list_locked(const Ruleset& rs, Table table, std::string_view chain,
                                   unsigned rulenum, const nf::ListFormat& format) const {
    std::string out;
    bool found = false;
    for (std::size_t h = 0; h < nf::kHookCount; ++h) {
        const auto hook = static_cast<Hook>(h);
        if (!nf::table_has_chain(table, hook)) continue;
        if (!chain.empty() && chain != nf::chain_name(hook)) continue;
        if (found) out += '\n';
        const Chain& c = rs.chains[idx(table)][h];
        if (!rulenum) {
            const nf::RuleCounters& pc = policy_counters_[idx(table)][h];
            nf::append_chain_header(out, nf::chain_name(hook),
                                    c.policy == Verdict::drop ? "DROP" : "ACCEPT",
                                    pc.packets.load(std::memory_order_relaxed),
                                    pc.bytes.load(std::memory_order_relaxed), format);
        }
        for (std::size_t i = 0; i < c.rules.size(); ++i)
            if (!rulenum || i + 1 == rulenum)
                nf::append_rule_row(out, *c.rules[i], static_cast<unsigned>(i + 1), format);
        found = true;
    }
    return out;
}

std::string Netfilter::list_rules_locked(const Ruleset& rs, Table table, std::string_view chain,
                                         unsigned rulenum) const {
    std::string out;
    // nft_chain_save: the policies first, then every chain's rules (nft_rule_save).
    if (!rulenum) {
        for (std::size_t h = 0; h < nf::kHookCount; ++h) {
            const auto hook = static_cast<Hook>(h);
            if (!nf::table_has_chain(table, hook) ||
                (!chain.empty() && chain != nf::chain_name(hook)))
                continue;
            out += "-P " + std::string(nf::chain_name(hook)) +
                   (rs.chains[idx(table)][h].policy == Verdict::drop ? " DROP\n" : " ACCEPT\n");
        }
    }
    for (std::size_t h = 0; h < nf::kHookCount; ++h) {
        const auto hook = static_cast<Hook>(h);
        if (!nf::table_has_chain(table, hook) || (!chain.empty() && chain != nf::chain_name(hook)))
            continue;
        const auto& rules = rs.chains[idx(table)][h].rules;
        for (std::size_t i = 0; i < rules.size(); ++i)
            if (!rulenum || i + 1 == rulenum)
                out += "-A " + std::string(nf::chain_name(hook)) + rules[i]->spec + "\n";
    }
    return out;
}

}  // namespace vlo
