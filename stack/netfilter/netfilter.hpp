// A small netfilter with iptables' tables: raw, mangle and filter, their built-in chains on the
// IPv4 hooks Ip calls (NF_HOOK in ip_rcv, ip_local_deliver, __ip_local_out, ip_output), rules
// with ACCEPT, DROP, REJECT and LOG, per-rule and per-policy counters, and iptables' command
// language to change and list them.
//
// The packet path never takes a lock: it reads the rule set through one atomic snapshot
// pointer (as RCU readers do), while a command copies the set, changes the copy and publishes
// it. Published snapshots are kept until the Netfilter dies, so a reader never sees freed
// memory (changes are rare; stack/fib.hpp does the same). The rules themselves are shared
// between snapshots, so their counters survive unrelated changes. While no table holds a rule
// and every policy is ACCEPT the pointer is null, and a hook costs one predictable branch: the
// tables are not hooked, as in a Linux network namespace where iptables was never used.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "netif/device.hpp"
#include "netif/packet.hpp"
#include "stack/netfilter/hook.hpp"
#include "stack/netfilter/nf_log.hpp"
#include "stack/netfilter/prng.hpp"
#include "stack/netfilter/rule.hpp"
#include "stack/netfilter/rule_format.hpp"

namespace vlo {

class Stack;

namespace nf {
struct Command;
struct PacketInfo;
}  // namespace nf

class Netfilter {
  public:
    // `seed` seeds `-m statistic --mode random` (Netfilter::seed changes it).
    explicit Netfilter(Stack& stack, std::uint64_t seed = 0);
    ~Netfilter();
    Netfilter(const Netfilter&) = delete;
    Netfilter& operator=(const Netfilter&) = delete;

    // One iptables invocation without the program name, e.g. "-A INPUT -p tcp --dport 80 -j
    // REJECT" or "-L -n -v -x". On success `message` (if given) receives what iptables prints
    // on stdout (the listing for -L and -S, else nothing). On failure nothing changed and it
    // receives iptables' one-line error ("iptables v1.8.9 (vlo): unknown option \"--bogus\"");
    // the code is invalid_argument for a bad command line, no_such_file_or_directory for an
    // unknown chain or rule, argument_list_too_long for a rule number past the end.
    std::error_code command(std::string_view args, std::string* message = nullptr);

    // iptables [-t table] -L [chain] with the given flags, and iptables -S [chain].
    std::string list(std::string_view chain = {}, const nf::ListFormat& format = {},
                     std::string_view table = "filter") const;
    std::string list_rules(std::string_view chain = {}, std::string_view table = "filter") const;

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
        const Ruleset* rs = active_.load(std::memory_order_acquire);
        if (rs == nullptr) [[likely]]
            return true;
        return nf_hook_slow(*rs, hook, pkt, in, out);
    }

  private:
    enum class Verdict : std::uint8_t { accept, drop };
    struct Chain {
        std::vector<std::shared_ptr<const nf::Rule>> rules;
        Verdict policy = Verdict::accept;
    };
    // Indexed [table][hook]; a table has only its built-in chains (nf::table_has_chain).
    struct Ruleset {
        std::array<std::array<Chain, nf::kHookCount>, nf::kTableCount> chains;
        bool inert() const;  // no rule anywhere and every policy ACCEPT
    };

    bool nf_hook_slow(const Ruleset& rs, nf::Hook hook, PacketPtr& pkt, const Device* in,
                      const Device* out);
    // ipt_do_table for one chain.
    Verdict do_chain(const Chain& chain, nf::Table table, nf::Hook hook, const nf::PacketInfo& info,
                     const Packet& pkt);
    void do_log(const nf::Rule& rule, const nf::PacketInfo& info);
    void do_reject(const nf::Rule& rule, const Packet& pkt);

    // With writer_ held: the checks the kernel makes when a rule is committed (checkentry).
    std::error_code check_rule(const nf::Command& cmd, nf::Hook hook, const nf::Rule& rule,
                               std::string& error) const;
    std::error_code execute(nf::Command& cmd, std::string& output, std::string& error);
    void publish(std::unique_ptr<Ruleset> next);
    std::string list_locked(const Ruleset& rs, nf::Table table, std::string_view chain,
                            unsigned rulenum, const nf::ListFormat& format) const;
    std::string list_rules_locked(const Ruleset& rs, nf::Table table, std::string_view chain,
                                  unsigned rulenum) const;
    nf::RuleCounters& policy_counters(nf::Table t, nf::Hook h) {
        return policy_counters_[static_cast<std::size_t>(t)][static_cast<std::size_t>(h)];
    }

    Stack& stack_;
    nf::Prng rng_;
    nf::LogRing log_;
    // A chain policy's packets and bytes, which outlive every snapshot.
    std::array<std::array<nf::RuleCounters, nf::kHookCount>, nf::kTableCount> policy_counters_;

    mutable std::mutex writer_;
    const Ruleset* latest_;                                // guarded by writer_; never null
    std::vector<std::unique_ptr<const Ruleset>> retired_;  // guarded by writer_
    std::atomic<const Ruleset*> active_{nullptr};          // latest_, or null while inert
};

}  // namespace vlo
