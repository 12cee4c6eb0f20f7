// vlo-ping's command line: iputils ping's flags (-c -i -s -t -W -w -q -I -b) with its messages
// and exit codes, plus the shared stack options and --stat.
#pragma once

#include <optional>
#include <string>

#include "apps/common/stack_options.hpp"

namespace vlo::ping {

struct PingOptions {
    long count = 0;              // -c: 0 = until interrupted
    long interval_ms = 1000;     // -i
    long datalen = 56;           // -s
    int ttl = -1;                // -t (-1: ip_default_ttl)
    long linger_ms = 10000;      // -W: MAXWAIT
    long deadline_s = 0;         // -w: 0 = none
    bool quiet = false;          // -q
    bool broadcast = false;      // -b
    std::string interface;       // -I: a device name or a source address
    bool stat = false;           // --stat
    std::string destination;
    apps::StackOptions stack;
};

struct ParseResult {
    std::optional<PingOptions> options;  // set when the program should run
    int exit_code = 0;                   // otherwise: exit with this
    std::string message;                 // ...after printing this (stderr), if any
    bool show_usage = false;             // ...and the usage text
};

ParseResult parse_ping_options(int argc, char** argv);
const char* ping_usage();

}  // namespace vlo::ping
