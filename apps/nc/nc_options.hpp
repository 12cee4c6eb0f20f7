// vlo-nc's command line: netcat-openbsd's (Debian 1.219) flags -4 -d -h -l -N -n -p -s -u -v
// -w -z with its messages and exit codes, plus --serve KIND@ADDR[:PORT] (repeatable), --stat
// and the shared stack options.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "apps/common/stack_options.hpp"
#include "apps/servers/servers.hpp"

namespace vlo::nc {

struct NcOptions {
    bool listen = false;                     // -l
    bool shutdown_eof = false;               // -N: shutdown(SHUT_WR) after EOF on stdin
    bool numeric = false;                    // -n: no name or service look-ups
    bool udp = false;                        // -u
    bool verbose = false;                    // -v
    bool zero_io = false;                    // -z
    bool detach = false;                     // -d: do not read stdin
    int timeout_ms = -1;                     // -w, in ms as netcat keeps it: -1 none
    std::string source_port;                 // -p (empty: none)
    std::string source_addr;                 // -s (empty: none)
    std::string host;                        // destination, or the listen address (empty: 0.0.0.0)
    std::vector<std::string> ports;          // the port arguments (client: a list, ranges allowed)
    std::vector<servers::ServerSpec> serve;  // --serve
    bool stat = false;                       // --stat
    apps::StackOptions stack;
};

struct ParseResult {
    std::optional<NcOptions> options;  // set when the program should run
    int exit_code = 0;                 // otherwise: exit with this
    std::string message;               // ...after printing "vlo-nc: " + this (stderr), if any
    bool show_usage = false;           // ...and the usage text
    bool show_help = false;            // -h: the help text, exit 0
};

ParseResult parse_nc_options(int argc, char** argv);
// netcat's usage(): the synopsis lines.
const char* nc_usage();
// netcat's help(): usage, the command summary, then vlo's own options.
std::string nc_help();

}  // namespace vlo::nc
