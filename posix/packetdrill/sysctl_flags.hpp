// The adapter's settings: Linux's defaults as packetdrill's common/defaults.sh sets them, then
// --so_flags' "name=value" pairs (sysctl names, with or without "net.ipv4."; separated by
// spaces, commas or semicolons; a list value separated by colons), e.g.
// --so_flags="tcp_syn_retries=6,tcp_timestamps=0,tcp_rmem=4096:87380:6291456".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "stack/config.hpp"

namespace vlo::posix {

// defaults.sh's values that vlo's StackConfig models.
void apply_packetdrill_defaults(StackConfig& config);
// Applies `flags`; an unknown name or a bad value is an error (the message says which).
bool apply_sysctl_flags(std::string_view flags, StackConfig& config, std::string& error);

// The sysctls of a network namespace (/proc/sys/net/ipv4) that vlo models. A script's backtick
// lines (`sysctl -q net.ipv4.tcp_ecn=1`, set_sysctls.py) write them in the adapter's namespace;
// each change seen since the last look is applied to the stack's config, as the script meant.
class NetnsSysctls {
  public:
    NetnsSysctls();  // opens each file in the caller's namespace
    ~NetnsSysctls();
    NetnsSysctls(const NetnsSysctls&) = delete;
    NetnsSysctls& operator=(const NetnsSysctls&) = delete;
    // Applies every value the first time (a script's opening lines have written them by
    // then), afterwards what changed since the last call; false if nothing was applied.
    bool apply_changes(StackConfig& config);

  private:
    struct Watched {
        std::string name;
        int fd;            // open from the namespace's /proc/sys/net/ipv4
        std::string last;  // the value last read
    };
    std::vector<Watched> seen_;
    bool first_ = true;
};

}  // namespace vlo::posix
