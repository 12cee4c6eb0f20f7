#include "frontend/iptables.hpp"

#include "frontend/iptables/rule_parser.hpp"

namespace vlo::frontend {

using nf::CommandKind;
using nf::Hook;
using nf::Table;

namespace {

std::error_code make(std::errc e) { return std::make_error_code(e); }

// The messages iptables-nft prints for what the kernel refuses (nft_strerror and the
// "iptables: %s." line of xtables-standalone.c).
std::string iptables_error(std::string_view what) { return "iptables: " + std::string(what) + "."; }

bool is_builtin_target(std::string_view name) {
    return name == "ACCEPT" || name == "DROP" || name == "REJECT" || name == "LOG";
}

std::string list_table(const Netfilter& nf, Table table, std::string_view chain, unsigned rulenum,
                       const nf::ListFormat& format) {
    std::string out;
    bool found = false;
    for (std::size_t h = 0; h < nf::kHookCount; ++h) {
        const auto hook = static_cast<Hook>(h);
        if (!nf::table_has_chain(table, hook)) continue;
        if (!chain.empty() && chain != nf::chain_name(hook)) continue;
        if (found) out += '\n';
        const nf::ChainState c = nf.chain(table, hook);
        if (!rulenum)
            nf::append_chain_header(out, nf::chain_name(hook),
                                    c.policy == nf::Verdict::drop ? "DROP" : "ACCEPT",
                                    c.policy_packets, c.policy_bytes, format);
        for (std::size_t i = 0; i < c.rules.size(); ++i)
            if (!rulenum || i + 1 == rulenum)
                nf::append_rule_row(out, *c.rules[i], static_cast<unsigned>(i + 1), format);
        found = true;
    }
    return out;
}

std::string list_rules_table(const Netfilter& nf, Table table, std::string_view chain,
                             unsigned rulenum) {
    std::string out;
    // nft_chain_save: the policies first, then every chain's rules (nft_rule_save).
    for (int pass = 0; pass < 2; ++pass)
        for (std::size_t h = 0; h < nf::kHookCount; ++h) {
            const auto hook = static_cast<Hook>(h);
            if (!nf::table_has_chain(table, hook) ||
                (!chain.empty() && chain != nf::chain_name(hook)))
                continue;
            const nf::ChainState c = nf.chain(table, hook);
            if (pass == 0) {
                if (!rulenum)
                    out += "-P " + std::string(nf::chain_name(hook)) +
                           (c.policy == nf::Verdict::drop ? " DROP\n" : " ACCEPT\n");
                continue;
            }
            for (std::size_t i = 0; i < c.rules.size(); ++i)
                if (!rulenum || i + 1 == rulenum)
                    out += "-A " + std::string(nf::chain_name(hook)) + nf::rule_spec(*c.rules[i]) +
                           "\n";
        }
    return out;
}

// The kernel refused a rule: iptables-nft's batch error (mnl_append_error) with the kernel's log.
std::string refused(const nf::Command& cmd, std::error_code ec, const std::string& dmesg) {
    const char* op = cmd.kind == CommandKind::insert    ? "RULE_INSERT"
                     : cmd.kind == CommandKind::replace ? "RULE_REPLACE"
                                                        : "RULE_APPEND";
    return nf::parameter_problem(std::string(" ") + op + " failed (" + ec.message() +
                                 "): rule in chain " + cmd.chain + " (" + dmesg + ")");
}

std::error_code execute(Netfilter& nf, nf::Command& cmd, std::string& output, std::string& error) {
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
    std::optional<Hook> hook;
    if (const auto h = nf::parse_chain(cmd.chain); h && nf::table_has_chain(*table, *h)) hook = *h;
    auto no_chain = [&] {
        error = iptables_error("No chain/target/match by that name");
        return make(std::errc::no_such_file_or_directory);
    };

    switch (cmd.kind) {
        case CommandKind::list:
        case CommandKind::list_rules:
            if (!cmd.chain.empty() && !hook) return no_chain();
            // A rule number past the end lists nothing (nft_rule_list).
            output = cmd.kind == CommandKind::list
                         ? list_table(nf, *table, cmd.chain, cmd.rulenum, cmd.format)
                         : list_rules_table(nf, *table, cmd.chain, cmd.rulenum);
            if (cmd.zero_after_list) nf.zero(*table, hook);
            return {};
        case CommandKind::zero:
            if (!cmd.chain.empty() && !hook) return no_chain();
            if (nf.zero(*table, hook, cmd.rulenum)) return no_chain();
            return {};
        case CommandKind::policy:
            if (!hook) {
                error = iptables_error("Bad built-in chain name");
                return make(std::errc::no_such_file_or_directory);
            }
            if (cmd.policy != "ACCEPT" && cmd.policy != "DROP") {
                error = iptables_error("Bad policy name. Run `dmesg' for more information");
                return make(std::errc::invalid_argument);
            }
            nf.set_policy(*table, *hook,
                          cmd.policy == "DROP" ? nf::Verdict::drop : nf::Verdict::accept);
            return {};
        case CommandKind::flush:
            if (!cmd.chain.empty() && !hook) return no_chain();
            nf.flush(*table, hook);
            return {};
        default:
            break;
    }

    // The rule commands. A jump to anything but a built-in target names a chain (nft_prepare's
    // assert_chain_exists), and vlo has no user-defined chains.
    if (!cmd.jump.empty() && !is_builtin_target(cmd.jump)) {
        error = nf::parameter_problem("Chain '" + cmd.jump + "' does not exist");
        return make(std::errc::invalid_argument);
    }
    if (!hook) return no_chain();
    std::string dmesg;
    std::error_code ec;
    switch (cmd.kind) {
        case CommandKind::delete_num:
            if ((ec = nf.erase(*table, *hook, cmd.rulenum)))
                error = iptables_error("Index of deletion too big");
            return ec;
        case CommandKind::delete_rule:
        case CommandKind::check:
            // Every address pair's rule must be there (delete_entry / check_entry).
            if ((ec = nf.erase(*table, *hook, cmd.rules, cmd.kind == CommandKind::check)))
                error = iptables_error("Bad rule (does a matching rule exist in that chain?)");
            return ec;
        case CommandKind::append:
            if ((ec = nf.append(*table, *hook, cmd.rules, &dmesg))) error = refused(cmd, ec, dmesg);
            return ec;
        case CommandKind::insert:
            ec = nf.insert(*table, *hook, cmd.rulenum, cmd.rules, &dmesg);
            if (ec == std::errc::argument_list_too_long)
                error = iptables_error("Index of insertion too big");
            else if (ec)
                error = refused(cmd, ec, dmesg);
            return ec;
        case CommandKind::replace:
            for (const auto& rule : cmd.rules)
                if ((ec = Netfilter::check_entry(*hook, *rule, dmesg))) {
                    error = refused(cmd, ec, dmesg);
                    return ec;
                }
            if (cmd.rulenum > nf.chain(*table, *hook).rules.size()) {
                error = iptables_error("Index of replacement too big");
                return make(std::errc::argument_list_too_long);
            }
            if (cmd.rules.size() != 1) {
                error = nf::parameter_problem("-R requires one source and destination each");
                return make(std::errc::invalid_argument);
            }
            if ((ec = nf.replace(*table, *hook, cmd.rulenum, cmd.rules.front(), &dmesg)))
                error = ec == std::errc::argument_list_too_long
                            ? iptables_error("Index of replacement too big")
                            : refused(cmd, ec, dmesg);
            return ec;
        default:
            return make(std::errc::invalid_argument);
    }
}

std::error_code run(Netfilter& nf, std::optional<nf::Command> cmd, std::string& error,
                    std::string* message) {
    if (!cmd) {
        if (message) *message = std::move(error);
        return make(std::errc::invalid_argument);
    }
    std::string output;
    const std::error_code ec = execute(nf, *cmd, output, error);
    if (message) *message = ec ? std::move(error) : std::move(output);
    return ec;
}

}  // namespace

std::error_code iptables(Netfilter& nf, const std::vector<std::string>& words,
                         std::string* message) {
    std::string error;
    auto cmd = nf::parse_command(words, error);
    return run(nf, std::move(cmd), error, message);
}

std::error_code iptables(Netfilter& nf, std::string_view line, std::string* message) {
    std::string error;
    auto cmd = nf::parse_command(line, error);
    return run(nf, std::move(cmd), error, message);
}

std::string iptables_list(const Netfilter& nf, std::string_view chain, const nf::ListFormat& format,
                          std::string_view table) {
    const auto t = nf::parse_table(table);
    return t ? list_table(nf, *t, chain, 0, format) : std::string();
}

std::string iptables_list_rules(const Netfilter& nf, std::string_view chain,
                                std::string_view table) {
    const auto t = nf::parse_table(table);
    return t ? list_rules_table(nf, *t, chain, 0) : std::string();
}

}  // namespace vlo::frontend
