// One iptables rule as the kernel holds it (struct ipt_entry): the IP part every rule has
// (struct ipt_ip: addresses, interfaces, protocol, fragment flag, each invertible), the match
// extensions in command-line order, the target, and the packet and byte counters. A rule is
// immutable once published, but for its counters and the nth-mode statistic state, which the
// packet path updates with relaxed atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "stack/ipv4_address.hpp"
#include "stack/netfilter/text_search.hpp"

namespace vlo::nf {

// struct ipt_ip's invflags (IPT_INV_*)
enum : std::uint8_t {
    kInvViaIn = 0x01,
    kInvViaOut = 0x02,
    kInvSrcIp = 0x08,
    kInvDstIp = 0x10,
    kInvFrag = 0x20,
    kInvProto = 0x40,  // XT_INV_PROTO
};

struct IpSpec {
    Ipv4Address src, smsk, dst, dmsk;  // the address already masked, as xtables_ipparse_multiple
    std::string iniface, outiface;     // "" any; a trailing '+' matches every name with that prefix
    std::uint8_t proto = 0;            // 0: all
    bool frag = false;                 // -f: second and later fragments only
    std::uint8_t invflags = 0;
    bool operator==(const IpSpec&) const = default;
};

// --sport / --dport of the tcp and udp matches (struct xt_tcp, struct xt_udp).
struct PortRange {
    std::uint16_t min = 0;
    std::uint16_t max = 0xffff;
    bool invert = false;
    bool is_any() const { return min == 0 && max == 0xffff && !invert; }
    bool operator==(const PortRange&) const = default;
};

struct TcpMatch {
    PortRange sport, dport;
    std::uint8_t flg_mask = 0, flg_cmp = 0;
    bool inv_flags = false;
    bool operator==(const TcpMatch&) const = default;
};

struct UdpMatch {
    PortRange sport, dport;
    bool operator==(const UdpMatch&) const = default;
};

struct IcmpMatch {             // struct ipt_icmp
    std::uint8_t type = 0xff;  // 0xff: any
    std::uint8_t code_min = 0, code_max = 0xff;
    bool invert = false;
    bool operator==(const IcmpMatch&) const = default;
};

struct StatisticMatch {  // struct xt_statistic_info
    enum class Mode : std::uint8_t { random, nth };
    Mode mode = Mode::random;
    bool invert = false;
    std::uint32_t probability = 0;  // of 0x80000000, as lround(0x80000000 * p)
    std::uint32_t every = 0;        // --every N, stored as N - 1
    std::uint32_t packet = 0;
    // info->master->count: shared by every copy of the rule's snapshot.
    std::shared_ptr<std::atomic<std::uint32_t>> count;
    bool operator==(const StatisticMatch& o) const {  // the configuration, not the state
        return mode == o.mode && invert == o.invert && probability == o.probability &&
               every == o.every && packet == o.packet;
    }
};

struct StringMatch {  // struct xt_string_info
    std::uint16_t from = 0, to = 0xffff;
    std::string algo;
    std::string pattern;
    bool invert = false;
    bool icase = false;
    TextSearch search;
    bool operator==(const StringMatch& o) const {  // the configuration, not its tables
        return from == o.from && to == o.to && algo == o.algo && pattern == o.pattern &&
               invert == o.invert && icase == o.icase;
    }
};

using Match = std::variant<TcpMatch, UdpMatch, IcmpMatch, StatisticMatch, StringMatch>;

// IPT_ICMP_* of ipt_REJECT.h, in its order (echo-reply, long gone, left out).
enum class RejectWith : std::uint8_t {
    icmp_net_unreachable,
    icmp_host_unreachable,
    icmp_proto_unreachable,
    icmp_port_unreachable,
    icmp_net_prohibited,
    icmp_host_prohibited,
    tcp_reset,
    icmp_admin_prohibited,
};

struct LogOptions {        // struct xt_log_info
    enum : std::uint8_t {  // XT_LOG_*
        kTcpSeq = 0x01,
        kTcpOpt = 0x02,
        kIpOpt = 0x04,
        kUid = 0x08,
        kMacDecode = 0x20,
    };
    std::uint8_t level = 4;  // LOG_WARNING
    std::uint8_t flags = 0;
    std::string prefix;
    bool operator==(const LogOptions&) const = default;
};

struct Target {
    enum class Kind : std::uint8_t { none, accept, drop, reject, log };
    Kind kind = Kind::none;  // none: a rule without -j only counts
    RejectWith reject_with = RejectWith::icmp_port_unreachable;
    LogOptions log;
    bool operator==(const Target&) const = default;
};

struct RuleCounters {  // struct xt_counters
    std::atomic<std::uint64_t> packets{0};
    std::atomic<std::uint64_t> bytes{0};
    void add(std::uint64_t len) {
        packets.fetch_add(1, std::memory_order_relaxed);
        bytes.fetch_add(len, std::memory_order_relaxed);
    }
    void zero() {
        packets.store(0, std::memory_order_relaxed);
        bytes.store(0, std::memory_order_relaxed);
    }
};

struct Rule {
    IpSpec ip;
    std::vector<Match> matches;
    Target target;
    mutable RuleCounters counters;
    // The same entry (iptc_delete_entry compares the whole ipt_entry): -D and -C find a rule so.
    bool same_as(const Rule& o) const {
        return ip == o.ip && matches == o.matches && target == o.target;
    }
};

}  // namespace vlo::nf
