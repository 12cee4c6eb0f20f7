#include "frontend/iptables/rule_format.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <array>
#include <cctype>
#include <cstdarg>
#include <cstdio>

#include "frontend/iptables/icmp_names.hpp"

namespace vlo::nf {

namespace {

void appendf(std::string& out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void appendf(std::string& out, const char* fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    const int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0) out.append(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1));
}

// xtables_chain_protos: the names iptables prints for protocol numbers.
const char* proto_to_name(std::uint8_t proto) {
    switch (proto) {
        case 6:
            return "tcp";
        case 132:
            return "sctp";
        case 17:
            return "udp";
        case 136:
            return "udplite";
        case 1:
            return "icmp";
        case 58:
            return "ipv6-icmp";
        case 50:
            return "esp";
        case 51:
            return "ah";
        case 135:
            return "mobility-header";
        case 33:
            return "dccp";
        case 108:
            return "ipcomp";
        case 0:
            return "all";
        default:
            return nullptr;
    }
}

// xtables_ipmask_to_cidr: -1 when the mask is not a run of ones.
int mask_to_cidr(Ipv4Address mask) {
    for (int bits = 32; bits >= 0; --bits)
        if (mask.value == prefix_mask(bits)) return bits;
    return -1;
}

// ipv4_addr_to_string: "anywhere" (without -n) for /0; no "/32".
std::string addr_to_string(Ipv4Address addr, Ipv4Address mask, bool numeric) {
    if (mask.value == 0 && !numeric) return "anywhere";
    std::string s = addr.to_string();
    const int cidr = mask_to_cidr(mask);
    if (cidr < 0)
        s += "/" + mask.to_string();
    else if (cidr != 32)
        s += "/" + std::to_string(cidr);
    return s;
}

// print_tcpf: flag names in tcp_flag_names' order, "NONE" for none.
void append_tcp_flags(std::string& out, std::uint8_t flags) {
    static constexpr std::array<std::pair<const char*, std::uint8_t>, 6> kNames = {
        {{"FIN", 0x01}, {"SYN", 0x02}, {"RST", 0x04}, {"PSH", 0x08}, {"ACK", 0x10}, {"URG", 0x20}}};
    bool any = false;
    for (const auto& [name, bit] : kNames) {
        if (!(flags & bit)) continue;
        if (any) out += ',';
        out += name;
        any = true;
    }
    if (!any) out += "NONE";
}

void append_port(std::string& out, std::uint16_t port, bool numeric, const char* proto) {
    if (!numeric) {
        servent se{};
        servent* found = nullptr;
        char buf[1024];
        if (getservbyport_r(htons(port), proto, &se, buf, sizeof buf, &found) == 0 && found) {
            out += found->s_name;
            return;
        }
    }
    out += std::to_string(port);
}

// print_ports (libxt_tcp.c / libxt_udp.c)
void print_ports(std::string& out, const char* name, const PortRange& r, bool numeric,
                 const char* proto) {
    if (r.is_any()) return;
    const char* inv = r.invert ? "!" : "";
    if (r.min == r.max) {
        appendf(out, " %s:%s", name, inv);
        append_port(out, r.min, numeric, proto);
    } else {
        appendf(out, " %ss:%s", name, inv);
        append_port(out, r.min, numeric, proto);
        out += ':';
        append_port(out, r.max, numeric, proto);
    }
}

void save_ports(std::string& out, const char* option, const PortRange& r) {
    if (r.is_any()) return;
    if (r.invert) out += " !";
    if (r.min != r.max)
        appendf(out, " --%s %u:%u", option, r.min, r.max);
    else
        appendf(out, " --%s %u", option, r.min);
}

// is_hex_string / print_hex_string / print_string (libxt_string.c)
void append_string(std::string& out, const std::string& s) {
    bool hex = !s.empty() && s.back() == '\\';
    for (unsigned char c : s) hex |= !std::isprint(c);
    if (hex) {
        out += " \"|";
        for (unsigned char c : s) appendf(out, "%02x", c);
        out += "|\"";
        return;
    }
    out += " \"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

bool is_hex(const std::string& s) {
    bool hex = !s.empty() && s.back() == '\\';
    for (unsigned char c : s) hex |= !std::isprint(c);
    return hex;
}

const char* level_name(std::uint8_t level) {
    static constexpr std::array<const char*, 8> kNames = {"emerg",   "alert",  "crit", "err",
                                                          "warning", "notice", "info", "debug"};
    return level < kNames.size() ? kNames[level] : nullptr;
}

void print_match(std::string& out, const Match& m, bool numeric) {
    if (const auto* tcp = std::get_if<TcpMatch>(&m)) {
        out += " tcp";
        print_ports(out, "spt", tcp->sport, numeric, "tcp");
        print_ports(out, "dpt", tcp->dport, numeric, "tcp");
        if (tcp->flg_mask || tcp->inv_flags) {
            appendf(out, " flags:%s", tcp->inv_flags ? "!" : "");
            if (numeric) {
                appendf(out, "0x%02X/0x%02X", tcp->flg_mask, tcp->flg_cmp);
            } else {
                append_tcp_flags(out, tcp->flg_mask);
                out += '/';
                append_tcp_flags(out, tcp->flg_cmp);
            }
        }
    } else if (const auto* udp = std::get_if<UdpMatch>(&m)) {
        out += " udp";
        print_ports(out, "spt", udp->sport, numeric, "udp");
        print_ports(out, "dpt", udp->dport, numeric, "udp");
    } else if (const auto* icmp = std::get_if<IcmpMatch>(&m)) {
        out += " icmp";  // print_icmptype: numeric output runs into the word, "icmptype 8"
        if (!numeric) {
            if (const char* name = icmp_type_name(icmp->type, icmp->code_min, icmp->code_max)) {
                appendf(out, " %s%s", icmp->invert ? "!" : "", name);
                return;
            }
        }
        if (icmp->invert) out += " !";
        appendf(out, "type %u", icmp->type);
        if (icmp->code_min == icmp->code_max)
            appendf(out, " code %u", icmp->code_min);
        else if (icmp->code_min != 0 || icmp->code_max != 0xff)
            appendf(out, " codes %u-%u", icmp->code_min, icmp->code_max);
    } else if (const auto* st = std::get_if<StatisticMatch>(&m)) {
        out += " statistic";
        if (st->mode == StatisticMatch::Mode::random) {
            appendf(out, " mode random%s probability %.11f", st->invert ? " !" : "",
                    1.0 * st->probability / 0x80000000u);
        } else {
            appendf(out, " mode nth%s every %u", st->invert ? " !" : "", st->every + 1);
            if (st->packet) appendf(out, " packet %u", st->packet);
        }
    } else if (const auto* str = std::get_if<StringMatch>(&m)) {
        appendf(out, " STRING match %s", str->invert ? "!" : "");
        append_string(out, str->pattern);
        appendf(out, " ALGO name %s", str->algo.c_str());
        if (str->from != 0) appendf(out, " FROM %u", str->from);
        if (str->to != 0xffff) appendf(out, " TO %u", str->to);
        if (str->icase) out += " ICASE";
    }
}

void save_match(std::string& out, const Match& m) {
    if (const auto* tcp = std::get_if<TcpMatch>(&m)) {
        out += " -m tcp";
        save_ports(out, "sport", tcp->sport);
        save_ports(out, "dport", tcp->dport);
        if (tcp->flg_mask || tcp->inv_flags) {
            if (tcp->inv_flags) out += " !";
            out += " --tcp-flags ";
            append_tcp_flags(out, tcp->flg_mask);
            out += ' ';
            append_tcp_flags(out, tcp->flg_cmp);
        }
    } else if (const auto* udp = std::get_if<UdpMatch>(&m)) {
        out += " -m udp";
        save_ports(out, "sport", udp->sport);
        save_ports(out, "dport", udp->dport);
    } else if (const auto* icmp = std::get_if<IcmpMatch>(&m)) {
        out += " -m icmp";
        if (icmp->invert) out += " !";
        if (icmp->type == 0xff && icmp->code_min == 0 && icmp->code_max == 0xff) {
            out += " --icmp-type any";
        } else {
            appendf(out, " --icmp-type %u", icmp->type);
            if (icmp->code_min != 0 || icmp->code_max != 0xff) appendf(out, "/%u", icmp->code_min);
        }
    } else if (const auto* st = std::get_if<StatisticMatch>(&m)) {
        out += " -m statistic";
        if (st->mode == StatisticMatch::Mode::random) {
            appendf(out, " --mode random%s --probability %.11f", st->invert ? " !" : "",
                    1.0 * st->probability / 0x80000000u);
        } else {
            appendf(out, " --mode nth%s --every %u --packet %u", st->invert ? " !" : "",
                    st->every + 1, st->packet);
        }
    } else if (const auto* str = std::get_if<StringMatch>(&m)) {
        out += " -m string";
        if (str->invert) out += " !";
        out += is_hex(str->pattern) ? " --hex-string" : " --string";
        append_string(out, str->pattern);
        appendf(out, " --algo %s", str->algo.c_str());
        if (str->from != 0) appendf(out, " --from %u", str->from);
        if (str->to != 0xffff) appendf(out, " --to %u", str->to);
        if (str->icase) out += " --icase";
    }
}

// xtables_save_string
void save_string(std::string& out, const std::string& s) {
    out += " \"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

void print_target(std::string& out, const Target& t, bool numeric) {
    if (t.kind == Target::Kind::reject) {
        appendf(out, " reject-with %s", std::string(reject_with_name(t.reject_with)).c_str());
    } else if (t.kind == Target::Kind::log) {
        out += " LOG";
        if (numeric) {
            appendf(out, " flags %u level %u", t.log.flags, t.log.level);
        } else {
            if (const char* name = level_name(t.log.level))
                appendf(out, " level %s", name);
            else
                appendf(out, " UNKNOWN level %u", t.log.level);
            if (t.log.flags & LogOptions::kTcpSeq) out += " tcp-sequence";
            if (t.log.flags & LogOptions::kTcpOpt) out += " tcp-options";
            if (t.log.flags & LogOptions::kIpOpt) out += " ip-options";
            if (t.log.flags & LogOptions::kUid) out += " uid";
            if (t.log.flags & LogOptions::kMacDecode) out += " macdecode";
        }
        if (!t.log.prefix.empty()) appendf(out, " prefix \"%s\"", t.log.prefix.c_str());
    }
}

void save_target(std::string& out, const Target& t) {
    if (t.kind == Target::Kind::none) return;
    out += " -j ";
    out += target_name(t);
    if (t.kind == Target::Kind::reject) {
        out += " --reject-with ";
        out += reject_with_name(t.reject_with);
    } else if (t.kind == Target::Kind::log) {
        if (!t.log.prefix.empty()) {
            out += " --log-prefix";
            save_string(out, t.log.prefix);
        }
        if (t.log.level != 4) appendf(out, " --log-level %d", t.log.level);
        if (t.log.flags & LogOptions::kTcpSeq) out += " --log-tcp-sequence";
        if (t.log.flags & LogOptions::kTcpOpt) out += " --log-tcp-options";
        if (t.log.flags & LogOptions::kIpOpt) out += " --log-ip-options";
        if (t.log.flags & LogOptions::kUid) out += " --log-uid";
        if (t.log.flags & LogOptions::kMacDecode) out += " --log-macdecode";
    }
}

// save_ipv4_addr / mask_to_str
void save_addr(std::string& out, char letter, Ipv4Address addr, Ipv4Address mask, bool invert) {
    if (mask.value == 0 && !invert && addr.value == 0) return;
    const int cidr = mask_to_cidr(mask);
    appendf(out, "%s -%c %s/%s", invert ? " !" : "", letter, addr.to_string().c_str(),
            cidr >= 0 ? std::to_string(cidr).c_str() : mask.to_string().c_str());
}

// save_iface
void save_iface(std::string& out, char letter, const std::string& iface, bool invert) {
    if (iface.empty() || (iface == "+" && !invert)) return;
    appendf(out, "%s -%c %s", invert ? " !" : "", letter, iface.c_str());
}

// xtables_print_num
void print_num(std::string& out, std::uint64_t n, const ListFormat& f, bool table) {
    const auto v = static_cast<unsigned long long>(n);
    if (f.exact) {
        appendf(out, table ? "%8llu " : "%llu ", v);
        return;
    }
    if (n <= 99999) {
        appendf(out, table ? "%5llu " : "%llu ", v);
        return;
    }
    unsigned long long x = (v + 500) / 1000;
    for (const char unit : {'K', 'M', 'G'}) {
        if (x <= 9999) {
            appendf(out, table ? "%4llu%c " : "%llu%c ", x, unit);
            return;
        }
        x = (x + 500) / 1000;
    }
    appendf(out, table ? "%4lluT " : "%lluT ", x);
}

}  // namespace

std::string_view target_name(const Target& t) {
    switch (t.kind) {
        case Target::Kind::accept:
            return "ACCEPT";
        case Target::Kind::drop:
            return "DROP";
        case Target::Kind::reject:
            return "REJECT";
        case Target::Kind::log:
            return "LOG";
        case Target::Kind::none:
            break;
    }
    return "";
}

std::string_view reject_with_name(RejectWith w) {
    switch (w) {
        case RejectWith::icmp_net_unreachable:
            return "icmp-net-unreachable";
        case RejectWith::icmp_host_unreachable:
            return "icmp-host-unreachable";
        case RejectWith::icmp_proto_unreachable:
            return "icmp-proto-unreachable";
        case RejectWith::icmp_port_unreachable:
            return "icmp-port-unreachable";
        case RejectWith::icmp_net_prohibited:
            return "icmp-net-prohibited";
        case RejectWith::icmp_host_prohibited:
            return "icmp-host-prohibited";
        case RejectWith::tcp_reset:
            return "tcp-reset";
        case RejectWith::icmp_admin_prohibited:
            return "icmp-admin-prohibited";
    }
    return "";
}

std::string rule_spec(const Rule& rule) {
    std::string out;
    const IpSpec& ip = rule.ip;
    save_addr(out, 's', ip.src, ip.smsk, ip.invflags & kInvSrcIp);
    save_addr(out, 'd', ip.dst, ip.dmsk, ip.invflags & kInvDstIp);
    save_iface(out, 'i', ip.iniface, ip.invflags & kInvViaIn);
    save_iface(out, 'o', ip.outiface, ip.invflags & kInvViaOut);
    if (ip.proto > 0) {
        if (ip.invflags & kInvProto) out += " !";
        if (const char* name = proto_to_name(ip.proto))
            appendf(out, " -p %s", name);
        else
            appendf(out, " -p %u", ip.proto);
    }
    if (ip.frag) out += ip.invflags & kInvFrag ? " ! -f" : " -f";
    for (const Match& m : rule.matches) save_match(out, m);
    save_target(out, rule.target);
    return out;
}

void append_chain_header(std::string& out, std::string_view chain, std::string_view policy,
                         std::uint64_t packets, std::uint64_t bytes, const ListFormat& f) {
    appendf(out, "Chain %.*s (policy %.*s", static_cast<int>(chain.size()), chain.data(),
            static_cast<int>(policy.size()), policy.data());
    if (f.verbose) {
        out += ' ';
        print_num(out, packets, f, false);
        out += "packets, ";
        print_num(out, bytes, f, false);
        out += "bytes";
    }
    out += ")\n";
    if (f.line_numbers) appendf(out, "%-4s ", "num");
    if (f.verbose) {
        if (f.exact)
            appendf(out, "%8s %10s ", "pkts", "bytes");
        else
            appendf(out, "%5s %5s ", "pkts", "bytes");
    }
    appendf(out, "%-9s ", "target");
    out += " prot opt";
    if (f.verbose) appendf(out, " %-6s %-6s ", "in", "out");
    appendf(out, " %-19s  %-19s \n", "source", "destination");
}

void append_rule_row(std::string& out, const Rule& rule, unsigned num, const ListFormat& f) {
    const IpSpec& ip = rule.ip;
    if (f.line_numbers) appendf(out, "%-4u ", num);
    if (f.verbose) {
        print_num(out, rule.counters.packets.load(std::memory_order_relaxed), f, true);
        print_num(out, rule.counters.bytes.load(std::memory_order_relaxed), f, true);
    }
    appendf(out, "%-9s ", std::string(target_name(rule.target)).c_str());
    out += ip.invflags & kInvProto ? '!' : ' ';
    if (const char* name = proto_to_name(ip.proto))
        appendf(out, "%-4s ", name);
    else
        appendf(out, "%-4u ", ip.proto);
    // print_fragment
    out += ip.invflags & kInvFrag ? '!' : '-';
    out += ip.frag ? 'f' : '-';
    out += ' ';
    if (f.verbose) {
        const char* any = f.numeric ? "*" : "any";
        const std::string in = std::string(ip.invflags & kInvViaIn ? "!" : "") +
                               (ip.iniface.empty() ? any : ip.iniface);
        const std::string outif = std::string(ip.invflags & kInvViaOut ? "!" : "") +
                                  (ip.outiface.empty() ? any : ip.outiface);
        appendf(out, " %-6s %-6s ", in.c_str(), outif.c_str());
    }
    out += ip.invflags & kInvSrcIp ? '!' : ' ';
    appendf(out, "%-19s ", addr_to_string(ip.src, ip.smsk, f.numeric).c_str());
    out += ip.invflags & kInvDstIp ? '!' : ' ';
    appendf(out, "%-19s ", addr_to_string(ip.dst, ip.dmsk, f.numeric).c_str());
    for (const Match& m : rule.matches) print_match(out, m, f.numeric);
    print_target(out, rule.target, f.numeric);
    out += '\n';
}

}  // namespace vlo::nf
