// vlo-ping's command line: iputils ping's flags (-c -f -i -l -s -t -W -w -q -I -b) with its
// messages and exit codes, plus the shared stack options and --stat.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "apps/common/stack_options.hpp"

namespace vlo::ping {

struct PingOptions {
    long count = 0;           // -c: 0 = until interrupted
    long interval_ms = 1000;  // -i (0 with -f and no -i)
    bool interval_given = false;
    bool flood = false;      // -f: a '.' per request, a backspace per reply
    long preload = 1;        // -l: requests allowed in flight
    long datalen = 56;       // -s
    int ttl = -1;            // -t (-1: ip_default_ttl)
    long linger_ms = 10000;  // -W: MAXWAIT
    long deadline_s = 0;     // -w: 0 = none
    bool quiet = false;      // -q
    bool broadcast = false;  // -b
    std::string interface;   // -I: a device name or a source address
    bool stat = false;       // --stat
    std::string destination;
    apps::StackOptions stack;
};

struct ParseResult {
    std::optional<PingOptions> options;  // set when the program should run
    int exit_code = 0;                   // otherwise: exit with this
    std::string message;                 // ...after printing this (stderr), if any
    bool show_usage = false;             // ...and the usage text
};

// `uid` is the real user id: below 2 ms between requests and above a preload of 3 only root
// may go (iputils' MINUSERINTERVAL check and message).
ParseResult parse_ping_options(int argc, char** argv, uid_t uid = ::getuid());
const char* ping_usage();

}  // namespace vlo::ping
