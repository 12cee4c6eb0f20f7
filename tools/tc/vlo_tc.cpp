// vlo-tc: tc's qdisc commands for a running vlod's devices, through its control socket.
//   vlo-tc --control PATH qdisc add dev vlo0 root netem delay 50ms
//   vlo-tc --control PATH -s qdisc show dev vlo0
//   vlo-tc --control PATH qdisc del dev vlo0 root
// Exit 2 for a bad command line (tc's grammar or netem's options), 1 for the rest.
#include "tools/control/tool_command.hpp"

namespace {
const char* const kUsage =
    "Usage: vlo-tc --control <path> [-s] qdisc { add | change | replace | del | show } ...\n"
    "  --control <path>  vlod's control socket; the rest is tc's command line:\n"
    "    qdisc add|change|replace dev DEV root netem [delay T [J]] [loss P] [duplicate P]\n"
    "                                                 [reorder P] [corrupt P] [rate R] [limit N]\n"
    "    qdisc del dev DEV root [netem]\n"
    "    [-s] qdisc show [dev DEV]\n";
}  // namespace

int main(int argc, char** argv) { return vlo::control::tool_main(argc, argv, "vlo-tc", kUsage, "tc"); }
