// iptables' command language over a Netfilter's typed API: one invocation parsed as iptables 1.8
// parses it (iptables/rule_parser.hpp), carried out with the typed calls, its errors and listings
// in iptables' words (-L with -n -v -x --line-numbers, -S). vlod, the apps' --iptables, the C
// API and the test fixture all speak it through here.
#pragma once

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "frontend/iptables/rule_format.hpp"
#include "stack/netfilter/netfilter.hpp"

namespace vlo::frontend {

// One iptables invocation without the program name: the words as a shell would split them
// (vlod's argument vector), or one command line split here the same way. On success `message`
// (if given) receives what iptables prints on stdout (the listing for -L and -S, else nothing).
// On failure nothing changed and it receives iptables' one-line error ("iptables v1.8.9 (vlo):
// unknown option \"--bogus\""); the code is invalid_argument for a bad command line,
// no_such_file_or_directory for an unknown chain or rule, argument_list_too_long for a rule
// number past the end.
std::error_code iptables(Netfilter& nf, const std::vector<std::string>& words,
                         std::string* message = nullptr);
std::error_code iptables(Netfilter& nf, std::string_view line, std::string* message = nullptr);

// iptables [-t table] -L [chain] with the given flags, and iptables -S [chain].
std::string iptables_list(const Netfilter& nf, std::string_view chain = {},
                          const nf::ListFormat& format = {}, std::string_view table = "filter");
std::string iptables_list_rules(const Netfilter& nf, std::string_view chain = {},
                                std::string_view table = "filter");

}  // namespace vlo::frontend
