// The values of the extensions' options, parsed as the iptables extensions parse them
// (libxt_tcp.c, libxt_udp.c's XTTYPE_PORTRC, libxt_icmp.h, libxt_string.c, libipt_REJECT.c,
// libxt_LOG.c), failing (parse_util.hpp) with their messages.
#pragma once

#include <cstdint>
#include <string>

#include "stack/netfilter/rule.hpp"

namespace vlo::nf {

// --sport/--dport of the tcp match: N, N:M, :M or N: (parse_tcp_ports).
PortRange parse_tcp_ports(const std::string& arg);
// --sport/--dport of the udp match (xtopt_parse_mport); `ext` and `option` name it in errors.
PortRange parse_port_rc(const std::string& arg, const char* ext, const char* option);
// A comma list of SYN, ACK, FIN, RST, URG, PSH, ALL, NONE, any case (parse_tcp_flag).
std::uint8_t parse_tcp_flag(const std::string& list);
// --icmp-type NAME, TYPE or TYPE/CODE[:CODE] (ipt_parse_icmp).
IcmpMatch parse_icmp_type(const std::string& arg);
// --hex-string: text with |hex bytes| blocks and \ literals (parse_hex_string).
std::string parse_hex_string(const std::string& s);
// --log-level: 0-7 or a syslog priority name (xtopt_parse_level).
std::uint8_t parse_log_level(const std::string& arg);
// --reject-with: the first name or alias the word is a prefix of, any case (REJECT_parse).
RejectWith parse_reject_with(const std::string& arg);

}  // namespace vlo::nf
