// A stack's TCP sockets as `ss -tni` sees them: inet_diag's walk of the listening, then the
// established hash (Tcp::sockets), each socket read under its lock, tcp_info from
// tcp_get_info as INET_DIAG_INFO carries it.
#pragma once

#include <string>
#include <vector>

#include "stack/stack.hpp"
#include "tools/ss/ss_format.hpp"

namespace vlo::ss {

// The sockets `ss -tn` lists (connected ones), or with `all` every state (`ss -tan`).
std::vector<SsSocket> ss_sockets(Stack& stack, bool all);

// ss_listing of those: what `ss -tni` (`ss -tani` with `all`) prints.
std::string ss_text(Stack& stack, bool all = false);

}  // namespace vlo::ss
