// tc(8)'s qdisc commands on a stack's devices, in tc's words, over the stack's typed qdisc API
// (Stack::qdisc_netem, Stack::qdisc_del) and the root qdiscs netif keeps per device:
//   qdisc add|change|replace dev DEV root netem OPTIONS
//   qdisc del dev DEV root [netem]
//   [-s] qdisc [show [dev DEV]]
// and `tc -s qdisc show`'s text for every kind: noqueue (lo), pfifo_fast (a TUN), netem.
#pragma once

#include <string>
#include <vector>

#include "netif/qdisc.hpp"
#include "stack/stack.hpp"

namespace vlo::frontend {

struct TcResult {
    bool ok = false;
    std::string output;  // what tc prints on stdout (show)
    std::string error;   // tc's message, when !ok
    bool usage = false;  // the command line itself was wrong (tc's grammar, netem's options)
};

TcResult tc_command(Stack& stack, const std::vector<std::string>& args);

// tc_qdisc_list's text for one device's root qdisc (`stats`: with -s).
std::string tc_qdisc_show(Device& dev, bool stats);

}  // namespace vlo::frontend
