// tc(8)'s qdisc commands on a running vlod's devices, in tc's words:
//   qdisc add|change|replace dev DEV root netem OPTIONS
//   qdisc del dev DEV root [netem]
//   [-s] qdisc [show [dev DEV]]
// Only a root netem exists; a device without one shows as noqueue, and `del` returns it to the
// pass-through spec.
#pragma once

#include <string>
#include <vector>

#include "tools/vlod/live_devices.hpp"

namespace vlo::vlod {

struct TcResult {
    bool ok = false;
    std::string output;  // what tc prints on stdout (show)
    std::string error;   // tc's message, when !ok
    bool usage = false;  // the command line itself was wrong (tc's grammar, netem's options)
};

TcResult tc_command(LiveDevices& live, const std::vector<std::string>& args);

}  // namespace vlo::vlod
