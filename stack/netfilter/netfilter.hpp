// A small netfilter with iptables' tables: raw, mangle and filter, their built-in chains on the
// IPv4 hooks Ip calls (NF_HOOK in ip_rcv, ip_local_deliver, __ip_local_out, ip_output), typed
// rules (rule.hpp) with ACCEPT, DROP, REJECT and LOG, per-rule and per-policy counters. The
// iptables command language that makes and lists these rules is the front end's
// (frontend/iptables.hpp); here every change is a typed call.
//
// The packet path never takes a lock: it reads the rule set under RCU (netif/rcu.hpp), while a
// change copies the set, changes the copy and publishes it. A replaced set is freed once no
// packet holds it, so a daemon whose rules change all day keeps only the sets in use. The rules
// themselves are shared between sets, so their counters survive unrelated changes. While no
// table holds a rule and every policy is ACCEPT nothing is published, and a hook costs one
// predictable branch: the tables are not hooked, as in a namespace where iptables was never used.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "netif/device.hpp"
#include "netif/packet.hpp"
#include "netif/rcu.hpp"
#include "stack/netfilter/hook.hpp"
#include "stack/netfilter/nf_log.hpp"
#include "stack/netfilter/prng.hpp"
#include "stack/netfilter/rule.hpp"

namespace vlo {

class Stack;

namespace nf {
struct PacketInfo;
enum class Verdict : std::uint8_t { accept, drop };

// One chain as a reader sees it: its rules (shared with the live set), its policy and the
// policy's counters.
struct ChainState {
    std::vector<std::shared_ptr<const Rule>> rules;
    Verdict policy = Verdict::accept;
    std::uint64_t policy_packets = 0, policy_bytes = 0;
};
}  // namespace nf

class Netfilter {
  public:
    // `seed` seeds `-m statistic --mode random` (the stack's seed gives it).
    explicit Netfilter(Stack& stack, std::uint64_t seed = 0);
    ~Netfilter();
    Netfilter(const Netfilter&) = delete;
    Netfilter& operator=(const Netfilter&) = delete;

    // ---- typed changes, each checked and published whole or not at all ----
    // The errors are the kernel's: invalid_argument (or no_such_file_or_directory) when a
    // rule's checkentry refuses it, with the kernel's log line in `dmesg`;
    // argument_list_too_long for a position past the end; no_such_file_or_directory for a rule
    // that is not there. `pos` counts from 1.
    std::error_code append(nf::Table t, nf::Hook h,
                           const std::vector<std::shared_ptr<nf::Rule>>& rules,
                           std::string* dmesg = nullptr);
    std::error_code insert(nf::Table t, nf::Hook h, unsigned pos,
                           const std::vector<std::shared_ptr<nf::Rule>>& rules,
                           std::string* dmesg = nullptr);
    std::error_code replace(nf::Table t, nf::Hook h, unsigned pos, std::shared_ptr<nf::Rule> rule,
                            std::string* dmesg = nullptr);
    std::error_code erase(nf::Table t, nf::Hook h, unsigned pos);
    // The first rule the same as each of `rules` goes (all must be there); with check_only,
    // only whether they are there.
    std::error_code erase(nf::Table t, nf::Hook h,
                          const std::vector<std::shared_ptr<nf::Rule>>& rules,
                          bool check_only = false);
    // Every chain of the table (or `h` only) emptied.
    void flush(nf::Table t, std::optional<nf::Hook> h = std::nullopt);
    void set_policy(nf::Table t, nf::Hook h, nf::Verdict v);
    // Counters to zero: the chain's rules and policy (or rule `pos` only).
    std::error_code zero(nf::Table t, std::optional<nf::Hook> h = std::nullopt, unsigned pos = 0);
    // A chain as it is now (a copy: safe to hold while rules change).
    nf::ChainState chain(nf::Table t, nf::Hook h) const;
    // How many replaced rule sets wait for their last reader (bounded; 0 when idle).
    std::size_t retired_sets() const;

    // Reseeds the random source of `-m statistic --mode random`.
    void seed(std::uint64_t s) { rng_.seed(s); }

    // What LOG rules wrote, oldest first (a bounded ring, as the kernel log); and an optional
    // callback that also gets each line, called from the packet's context.
    std::vector<nf::LogEntry> log() const { return log_.entries(); }
    void set_log_callback(std::function<void(int level, std::string_view line)> fn) {
        log_.set_callback(std::move(fn));
    }

    // NF_HOOK: runs the hook's chains over pkt (its network header marks the IP header).
    // True: go on (NF_ACCEPT). False: the packet was dropped, or rejected, and counted under
    // DropReason::netfilter_drop; pkt is null then.
    bool nf_hook(nf::Hook hook, PacketPtr& pkt, const Device* in, const Device* out) {
        if (active_.peek() == nullptr) [[likely]]
            return true;
        return nf_hook_slow(hook, pkt, in, out);
    }

    // checkentry: what the kernel refuses when a rule is committed to `h`, with its log line.
    static std::error_code check_entry(nf::Hook h, const nf::Rule& rule, std::string& dmesg);

  private:
    using Verdict = nf::Verdict;
    struct Chain {
        std::vector<std::shared_ptr<const nf::Rule>> rules;
        Verdict policy = Verdict::accept;
    };
    // Indexed [table][hook]; a table has only its built-in chains (nf::table_has_chain).
    struct Ruleset {
        std::array<std::array<Chain, nf::kHookCount>, nf::kTableCount> chains;
        bool inert() const;  // no rule anywhere and every policy ACCEPT
    };

    bool nf_hook_slow(nf::Hook hook, PacketPtr& pkt, const Device* in, const Device* out);
    // ipt_do_table for one chain.
    Verdict do_chain(const Chain& chain, nf::Table table, nf::Hook hook, const nf::PacketInfo& info,
                     const Packet& pkt);
    void do_log(const nf::Rule& rule, const nf::PacketInfo& info);
    void do_reject(const nf::Rule& rule, const Packet& pkt);

    using Rules = std::vector<std::shared_ptr<const nf::Rule>>;
    // Copies the latest set, lets `edit` change chain (t, h) of the copy and publishes it,
    // unless edit returns an error.
    template <class Edit>
    std::error_code edit_chain(nf::Table t, nf::Hook h, Edit edit);
    // With writer_ held: a copy of the latest set to change, and its publication.
    std::unique_ptr<Ruleset> copy_latest() const;
    void publish(std::unique_ptr<Ruleset> next);
    nf::RuleCounters& policy_counters(nf::Table t, nf::Hook h) {
        return policy_counters_[static_cast<std::size_t>(t)][static_cast<std::size_t>(h)];
    }

    Stack& stack_;
    nf::Prng rng_;
    nf::LogRing log_;
    // A chain policy's packets and bytes, which outlive every set.
    std::array<std::array<nf::RuleCounters, nf::kHookCount>, nf::kTableCount> policy_counters_;

    mutable std::mutex writer_;
    std::unique_ptr<Ruleset> latest_;  // guarded by writer_: what the next change starts from
    RcuPtr<Ruleset> active_;           // a copy of latest_ for the packet path, null while inert
};

}  // namespace vlo
