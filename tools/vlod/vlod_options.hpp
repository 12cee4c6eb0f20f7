// vlod's command line:
//   vlod [--tun NAME] [--addr CIDR] [--kernel-addr A] [--mtu N] [--serve KIND[/tcp|/udp][@[ADDR]:PORT]]...
//        [--control PATH] [--cpus N --queue NAME --worker NAME --policy P --alias A]
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "apps/common/stack_options.hpp"
#include "apps/servers/servers.hpp"

namespace vlo::vlod {

struct Options {
    apps::StackOptions stack;  // stack.tun: the interface, "vlo0" unless --tun says otherwise
    std::vector<servers::ServerSpec> serve;
    std::string control;  // empty: no control socket
    bool help = false;
};

struct Parse {
    std::optional<Options> options;
    std::string error;  // one line, when !options
};

Parse parse_options(int argc, char** argv);
std::string usage();

}  // namespace vlo::vlod
