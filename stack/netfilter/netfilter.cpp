#include "stack/netfilter/netfilter.hpp"

#include <algorithm>

#include "stack/netfilter/nf_reject.hpp"
#include "stack/netfilter/rule_match.hpp"
#include "stack/stack.hpp"
#include "stack/wire/icmp.hpp"

namespace vlo {

using nf::Hook;
using nf::Table;

namespace {

constexpr std::size_t idx(Table t) { return static_cast<std::size_t>(t); }
constexpr std::size_t idx(Hook h) { return static_cast<std::size_t>(h); }

std::error_code make(std::errc e) { return std::make_error_code(e); }

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

}  // namespace

bool Netfilter::Ruleset::inert() const {
    for (const auto& table : chains)
        for (const Chain& c : table)
            if (!c.rules.empty() || c.policy != Verdict::accept) return false;
    return true;
}

Netfilter::Netfilter(Stack& stack, std::uint64_t seed)
    : stack_(stack), rng_(seed), latest_(std::make_unique<Ruleset>()) {}

Netfilter::~Netfilter() = default;

// ---- the packet path ----

bool Netfilter::nf_hook_slow(Hook hook, PacketPtr& pkt, const Device* in, const Device* out) {
    RcuPtr<Ruleset>::ReadGuard guard(active_);  // rcu_read_lock: the set stays while we use it
    if (!guard) return true;
    const Ruleset& rs = *guard.get();
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

// ---- changes ----

std::unique_ptr<Netfilter::Ruleset> Netfilter::copy_latest() const {
    return std::make_unique<Ruleset>(*latest_);
}

void Netfilter::publish(std::unique_ptr<Ruleset> next) {
    active_.publish(next->inert() ? nullptr : std::make_unique<Ruleset>(*next));
    latest_ = std::move(next);
}

std::size_t Netfilter::retired_sets() const {
    std::lock_guard lock(writer_);
    return active_.retired();
}

std::error_code Netfilter::check_entry(Hook hook, const nf::Rule& rule, std::string& dmesg) {
    auto refused = [&](std::errc e, std::string line) {
        dmesg = std::move(line);
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

namespace {
std::error_code check_all(Hook h, const std::vector<std::shared_ptr<nf::Rule>>& rules,
                          std::string* dmesg) {
    std::string line;
    for (const auto& r : rules)
        if (std::error_code ec = Netfilter::check_entry(h, *r, line)) {
            if (dmesg) *dmesg = std::move(line);
            return ec;
        }
    return {};
}
}  // namespace

template <class Edit>
std::error_code Netfilter::edit_chain(Table t, Hook h, Edit edit) {
    if (!nf::table_has_chain(t, h)) return make(std::errc::no_such_file_or_directory);
    std::lock_guard lock(writer_);
    auto next = copy_latest();
    if (std::error_code ec = edit(next->chains[idx(t)][idx(h)].rules)) return ec;
    publish(std::move(next));
    return {};
}

std::error_code Netfilter::append(Table t, Hook h,
                                  const std::vector<std::shared_ptr<nf::Rule>>& rules,
                                  std::string* dmesg) {
    if (std::error_code ec = check_all(h, rules, dmesg)) return ec;
    return edit_chain(t, h, [&](Rules& chain) {
        chain.insert(chain.end(), rules.begin(), rules.end());
        return std::error_code{};
    });
}

std::error_code Netfilter::insert(Table t, Hook h, unsigned pos,
                                  const std::vector<std::shared_ptr<nf::Rule>>& rules,
                                  std::string* dmesg) {
    if (std::error_code ec = check_all(h, rules, dmesg)) return ec;
    return edit_chain(t, h, [&](Rules& chain) {
        // iptables may insert at rule_max + 1, no further (nft_rule_insert).
        if (pos == 0 || pos > chain.size() + 1) return make(std::errc::argument_list_too_long);
        chain.insert(chain.begin() + (pos - 1), rules.begin(), rules.end());
        return std::error_code{};
    });
}

std::error_code Netfilter::replace(Table t, Hook h, unsigned pos, std::shared_ptr<nf::Rule> rule,
                                   std::string* dmesg) {
    if (std::error_code ec = check_all(h, {rule}, dmesg)) return ec;
    return edit_chain(t, h, [&](Rules& chain) {
        if (pos == 0 || pos > chain.size()) return make(std::errc::argument_list_too_long);
        chain[pos - 1] = std::move(rule);
        return std::error_code{};
    });
}

std::error_code Netfilter::erase(Table t, Hook h, unsigned pos) {
    return edit_chain(t, h, [&](Rules& chain) {
        if (pos == 0 || pos > chain.size()) return make(std::errc::argument_list_too_long);
        chain.erase(chain.begin() + (pos - 1));
        return std::error_code{};
    });
}

std::error_code Netfilter::erase(Table t, Hook h,
                                 const std::vector<std::shared_ptr<nf::Rule>>& rules,
                                 bool check_only) {
    bool all_there = false;
    const std::error_code ec = edit_chain(t, h, [&](Rules& chain) {
        for (const auto& wanted : rules) {
            const auto it = std::find_if(chain.begin(), chain.end(),
                                         [&](const auto& r) { return r->same_as(*wanted); });
            if (it == chain.end()) return make(std::errc::no_such_file_or_directory);
            chain.erase(it);
        }
        all_there = true;
        // -C: all there, and nothing is published (an error leaves the copy unpublished).
        return check_only ? make(std::errc::operation_canceled) : std::error_code{};
    });
    return all_there ? std::error_code{} : ec;
}

void Netfilter::flush(Table t, std::optional<Hook> h) {
    std::lock_guard lock(writer_);
    auto next = copy_latest();
    for (std::size_t i = 0; i < nf::kHookCount; ++i)
        if (!h || i == idx(*h)) next->chains[idx(t)][i].rules.clear();
    publish(std::move(next));
}

void Netfilter::set_policy(Table t, Hook h, Verdict v) {
    std::lock_guard lock(writer_);
    auto next = copy_latest();
    next->chains[idx(t)][idx(h)].policy = v;
    publish(std::move(next));
}

std::error_code Netfilter::zero(Table t, std::optional<Hook> h, unsigned pos) {
    std::lock_guard lock(writer_);
    for (std::size_t i = 0; i < nf::kHookCount; ++i) {
        if (h && i != idx(*h)) continue;
        if (!nf::table_has_chain(t, static_cast<Hook>(i))) continue;
        const auto& rules = latest_->chains[idx(t)][i].rules;
        if (pos) {
            if (pos > rules.size()) return make(std::errc::no_such_file_or_directory);  // ENOENT
            rules[pos - 1]->counters.zero();
            continue;
        }
        for (const auto& r : rules) r->counters.zero();
        policy_counters(t, static_cast<Hook>(i)).zero();
    }
    return {};
}

nf::ChainState Netfilter::chain(Table t, Hook h) const {
    std::lock_guard lock(writer_);
    const Chain& c = latest_->chains[idx(t)][idx(h)];
    const nf::RuleCounters& pc = policy_counters_[idx(t)][idx(h)];
    return {c.rules, c.policy, pc.packets.load(std::memory_order_relaxed),
            pc.bytes.load(std::memory_order_relaxed)};
}

}  // namespace vlo
