// What vlo-iptables and vlo-tc share: their own options come first (--control PATH, --help),
// everything after is the wrapped tool's command line, sent as {"cmd": CMD, "args": [...]}.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vlo::control {

struct ToolArgs {
    std::string control;             // --control PATH / --control=PATH
    std::vector<std::string> words;  // the wrapped tool's arguments, as given
    bool help = false;
    std::string error;  // a bad command line of our own, one line
};

// Takes --control and -h/--help only while they lead, as iptables' first word may itself start
// with '-' (getopt would take it for ours): "+" in getopt's terms.
ToolArgs parse_tool_args(int argc, char** argv);

// Sends {"cmd": cmd, "args": words} to the daemon. Prints "output" on stdout and returns 0; or
// prints the daemon's error on stderr (with `usage_hint` after it when "usage" says it is the
// command line's fault) and returns 2 for a usage error, 1 otherwise, as iptables does.
int run_tool_command(const char* prog, const std::string& control, const std::string& cmd,
                     const std::vector<std::string>& words, const std::string& usage_hint = {});

// A whole tool's main: --help prints `usage` (exit 0), a bad command line of our own prints
// "prog: reason" and `usage` (exit 2), anything else goes to run_tool_command.
int tool_main(int argc, char** argv, const char* prog, const char* usage, const std::string& cmd,
              const std::string& usage_hint = {});

}  // namespace vlo::control
