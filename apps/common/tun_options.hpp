// The options that put an app's stack on a TUN interface instead of (only) in-process lo:
//   --tun NAME  --addr A.B.C.D/LEN  --kernel-addr A.B.C.E  --mtu N
// vlo's side gets --addr on the TUN device; the kernel's side of the interface gets
// --kernel-addr with the same prefix length. Defaults are RFC 2544's benchmarking range:
// vlo 198.18.0.2/24, kernel 198.18.0.1.
#pragma once

#include <getopt.h>

#include <optional>
#include <string>

#include "stack/stack.hpp"

namespace vlo::apps {

enum TunOption : int {
    kOptTun = 0x1100,
    kOptAddr,
    kOptKernelAddr,
    kOptMtu,
};

inline constexpr option kTunLongOptions[] = {
    {"tun", required_argument, nullptr, kOptTun},
    {"addr", required_argument, nullptr, kOptAddr},
    {"kernel-addr", required_argument, nullptr, kOptKernelAddr},
    {"mtu", required_argument, nullptr, kOptMtu},
};

struct TunOptions {
    std::string name;  // empty: no TUN
    Ipv4Cidr addr{Ipv4Address(198, 18, 0, 2), 24};
    std::optional<Ipv4Address> kernel_addr;
    std::uint32_t mtu = 1500;

    bool enabled() const { return !name.empty(); }
    // Takes one option; on a bad value returns the reason.
    std::optional<std::string> apply(int opt, const char* arg);
    // The kernel side's address: --kernel-addr, else the first host of the prefix that is not
    // ours (198.18.0.1 for the default).
    Ipv4Address kernel_address() const;
    // Opens the TUN, adds it to the stack with --addr. On failure: the reason, in one line.
    std::optional<std::string> attach(Stack& stack) const;
};

const char* tun_options_usage();

}  // namespace vlo::apps
