#include "frontend/iptables/extension_values.hpp"

#include <strings.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <tuple>

#include "frontend/iptables/icmp_names.hpp"
#include "frontend/iptables/parse_util.hpp"

namespace vlo::nf {

namespace {

// parse_range (libxt_icmp.h): N or N:M, each 0..255; returns the rest of the word.
const char* parse_icmp_range(const char* s, unsigned res[2]) {
    auto one = [](const char* p, unsigned& v) -> const char* {
        if (!std::isdigit(static_cast<unsigned char>(*p))) return nullptr;
        errno = 0;
        char* end = nullptr;
        const unsigned long x = std::strtoul(p, &end, 0);
        if (errno || x > 255) return nullptr;
        v = static_cast<unsigned>(x);
        return end;
    };
    const char* next = one(s, res[0]);
    if (!next) return nullptr;
    res[1] = res[0];
    if (*next == ':') next = one(next + 1, res[1]);
    return next;
}

}  // namespace

// parse_tcp_ports (libxt_tcp.c)
PortRange parse_tcp_ports(const std::string& arg) {
    auto port = [](const std::string& s) -> std::uint16_t {
        unsigned long long v = 0;
        if (parse_uint(s, 0, 0xffff, v)) return static_cast<std::uint16_t>(v);
        const int p = service_port(s, "tcp");
        if (p >= 0) return static_cast<std::uint16_t>(p);
        fail("invalid port/service `" + s + "' specified");
    };
    PortRange r;
    const auto colon = arg.find(':');
    if (colon == std::string::npos) {
        r.min = r.max = port(arg);
    } else {
        const std::string lo = arg.substr(0, colon), hi = arg.substr(colon + 1);
        r.min = lo.empty() ? 0 : port(lo);
        r.max = hi.empty() ? 0xffff : port(hi);
        if (r.min > r.max) fail("invalid portrange (min > max)");
    }
    return r;
}

// xtopt_parse_mport, the udp match's port[:port] (XTTYPE_PORTRC)
PortRange parse_port_rc(const std::string& arg, const char* ext, const char* option) {
    PortRange r;
    std::uint16_t vals[2] = {0, 0xffff};
    unsigned nvals = 0;
    int prev = 0;
    std::size_t start = 0;
    for (;;) {
        const auto colon = arg.find(':', start);
        const std::string part =
            arg.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
        if (nvals == 2)
            fail(std::string(ext) + ": Too many components for option \"--" + option +
                 "\" (max: 2)");
        if (!part.empty()) {
            unsigned long long v = 0;
            int value =
                parse_uint(part, 0, 0xffff, v) ? static_cast<int>(v) : service_port(part, nullptr);
            if (value < 0) fail("Port \"" + part + "\" does not resolve to anything.");
            if (value < prev)
                fail("Port range " + std::to_string(prev) + "-" + std::to_string(value) +
                     " is negative.");
            prev = value;
            vals[nvals] = static_cast<std::uint16_t>(value);
        }
        ++nvals;
        if (colon == std::string::npos) break;
        start = colon + 1;
    }
    r.min = vals[0];
    r.max = nvals == 1 ? vals[0] : vals[1];
    return r;
}

// parse_tcp_flag
std::uint8_t parse_tcp_flag(const std::string& list) {
    static constexpr std::pair<const char*, std::uint8_t> kNames[] = {
        {"FIN", 0x01}, {"SYN", 0x02}, {"RST", 0x04}, {"PSH", 0x08},
        {"ACK", 0x10}, {"URG", 0x20}, {"ALL", 0x3f}, {"NONE", 0}};
    std::uint8_t flags = 0;
    std::size_t start = 0;
    while (start <= list.size()) {
        auto comma = list.find(',', start);
        if (comma == std::string::npos) comma = list.size();
        const std::string word = list.substr(start, comma - start);
        start = comma + 1;
        if (word.empty()) continue;  // strtok skips empty fields
        bool known = false;
        for (const auto& [name, bit] : kNames) {
            if (strcasecmp(name, word.c_str()) == 0) {
                flags |= bit;
                known = true;
                break;
            }
        }
        if (!known) fail("Unknown TCP flag `" + word + "'");
    }
    return flags;
}

// ipt_parse_icmp / __parse_icmp
IcmpMatch parse_icmp_type(const std::string& arg) {
    IcmpMatch m;
    const IcmpName* found = nullptr;
    for (const IcmpName& n : icmp_names()) {
        if (strncasecmp(n.name, arg.c_str(), arg.size()) != 0) continue;
        if (found)
            fail("Ambiguous ICMP type `" + arg + "': `" + found->name + "' or `" + n.name + "'?");
        found = &n;
    }
    if (found) {
        m.type = found->type;
        m.code_min = found->code_min;
        m.code_max = found->code_max;
        return m;
    }
    unsigned types[2], codes[2] = {0, 255};
    const char* next = parse_icmp_range(arg.c_str(), types);
    if (!next) fail("Unknown ICMP type `" + arg + "'");
    if (*next == '/') {
        next = parse_icmp_range(next + 1, codes);
        if (!next) fail("Unknown ICMP code `" + arg + "'");
    }
    if (*next != '\0') fail(std::string("unknown character ") + *next);
    if (types[0] != types[1]) fail("ICMP type range not supported");
    m.type = static_cast<std::uint8_t>(types[0]);
    m.code_min = static_cast<std::uint8_t>(codes[0]);
    m.code_max = static_cast<std::uint8_t>(codes[1]);
    return m;
}

// parse_hex_string (libxt_string.c): text with |hex bytes| blocks and \ literals.
std::string parse_hex_string(const std::string& s) {
    if (s.empty()) fail("STRING must contain at least one char");
    std::string out;
    bool hex = false, literal = false;
    std::size_t i = 0;
    const std::size_t n = s.size();
    while (i < n) {
        if (out.size() >= TextSearch::kMaxPattern) fail("STRING too long \"" + s + "\"");
        if (s[i] == '\\' && !hex) {
            literal = true;
        } else if (s[i] == '\\') {
            fail("Cannot include literals in hex data");
        } else if (s[i] == '|') {
            if (hex) {
                hex = false;
            } else {
                hex = true;
                while (i + 1 < n && s[i + 1] == ' ') ++i;
            }
            if (i + 1 >= n) break;
            ++i;
        }
        if (literal) {
            if (i + 1 >= n) fail("Bad literal placement at end of string");
            out += s[i + 1];
            i += 2;
            literal = false;
        } else if (hex) {
            if (i + 1 >= n) fail("Odd number of hex digits");
            if (i + 2 >= n) fail("Invalid hex block");
            if (!std::isxdigit(static_cast<unsigned char>(s[i])))
                fail(std::string("Invalid hex char '") + s[i] + "'");
            if (!std::isxdigit(static_cast<unsigned char>(s[i + 1])))
                fail(std::string("Invalid hex char '") + s[i + 1] + "'");
            out += static_cast<char>(std::stoi(s.substr(i, 2), nullptr, 16));
            i += s[i + 2] == ' ' ? 3 : 2;
        } else {
            out += s[i];
            ++i;
        }
    }
    return out;
}

// xtopt_parse_level: 0-7 or a syslog priority name.
std::uint8_t parse_log_level(const std::string& arg) {
    unsigned long long v = 0;
    if (parse_uint(arg, 0, 7, v)) return static_cast<std::uint8_t>(v);
    static constexpr std::pair<const char*, std::uint8_t> kLevels[] = {
        {"alert", 1}, {"crit", 2},   {"debug", 7}, {"emerg", 0},   {"err", 3}, {"error", 3},
        {"info", 6},  {"notice", 5}, {"panic", 0}, {"warning", 4}, {"warn", 4}};
    for (const auto& [name, level] : kLevels)
        if (arg == name) return level;
    fail("log level \"" + arg + "\" unknown");
}

// REJECT_parse
RejectWith parse_reject_with(const std::string& arg) {
    static constexpr std::tuple<const char*, const char*, RejectWith> kTypes[] = {
        {"icmp-net-unreachable", "net-unreach", RejectWith::icmp_net_unreachable},
        {"icmp-host-unreachable", "host-unreach", RejectWith::icmp_host_unreachable},
        {"icmp-proto-unreachable", "proto-unreach", RejectWith::icmp_proto_unreachable},
        {"icmp-port-unreachable", "port-unreach", RejectWith::icmp_port_unreachable},
        {"icmp-net-prohibited", "net-prohib", RejectWith::icmp_net_prohibited},
        {"icmp-host-prohibited", "host-prohib", RejectWith::icmp_host_prohibited},
        {"tcp-reset", "tcp-rst", RejectWith::tcp_reset},
        {"icmp-admin-prohibited", "admin-prohib", RejectWith::icmp_admin_prohibited},
    };
    for (const auto& [name, alias, with] : kTypes) {
        if (strncasecmp(name, arg.c_str(), arg.size()) == 0 ||
            strncasecmp(alias, arg.c_str(), arg.size()) == 0) {
            return with;
        }
    }
    fail("unknown reject type \"" + arg + "\"");
}

}  // namespace vlo::nf
