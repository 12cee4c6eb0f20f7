// vlo-iptables: iptables for a running vlod, through its control socket.
//   vlo-iptables --control PATH -A INPUT -p icmp -j DROP
//   vlo-iptables --control PATH -L -n -v -x
// Prints what iptables prints; its errors as iptables words them, exit 2 for a bad command
// line (PARAMETER_PROBLEM) and 1 for the rest.
#include "tools/control/tool_command.hpp"

namespace {
const char* const kUsage =
    "Usage: vlo-iptables --control <path> IPTABLES-ARGUMENTS...\n"
    "  --control <path>  vlod's control socket; the rest is iptables' command line, e.g.\n"
    "                    -A INPUT -p icmp -j DROP, -L -n -v -x, -D INPUT 1, -F\n";
}  // namespace

int main(int argc, char** argv) {
    return vlo::control::tool_main(argc, argv, "vlo-iptables", kUsage, "iptables",
                                   "Try `iptables -h' or 'iptables --help' for more information.");
}
