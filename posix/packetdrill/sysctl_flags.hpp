// The adapter's settings: Linux's defaults as packetdrill's common/defaults.sh sets them, then
// --so_flags' "name=value" pairs (sysctl names, with or without "net.ipv4."; separated by
// spaces, commas or semicolons; a list value separated by colons), e.g.
// --so_flags="tcp_syn_retries=6,tcp_timestamps=0,tcp_rmem=4096:87380:6291456".
#pragma once

#include <string>
#include <string_view>

#include "stack/config.hpp"

namespace vlo::posix {

// defaults.sh's values that vlo's StackConfig models.
void apply_packetdrill_defaults(StackConfig& config);
// Applies `flags`; an unknown name or a bad value is an error (the message says which).
bool apply_sysctl_flags(std::string_view flags, StackConfig& config, std::string& error);

}  // namespace vlo::posix
