// The command-line options every vlo app shares to shape its in-process stack:
//   --policy linux|bsd  --alias ADDR[/LEN]  --cpus N  --queue list|ring
//   --worker softirq|ksoftirqd|busypoll|inline
// and, to put the stack on a TUN interface as well, the options of tun_options.hpp; and, to see
// packets' paths, --trace[=N] and --trace-json FILE (what is traced is each app's choice).
#pragma once

#include <getopt.h>

#include <optional>
#include <string>
#include <vector>

#include "apps/common/tun_options.hpp"
#include "stack/stack.hpp"

namespace vlo::apps {

enum StackOption : int {
    kOptPolicy = 0x1000,
    kOptAlias,
    kOptCpus,
    kOptQueue,
    kOptWorker,
    kOptTrace,
    kOptTraceJson,
    kOptPcap,
    kOptPcapDev,
    kOptNetem,
    kOptSeed,
    kOptIptables,
};

// getopt_long entries for the options above.
inline constexpr option kStackLongOptions[] = {
    {"policy", required_argument, nullptr, kOptPolicy}, {"alias", required_argument, nullptr, kOptAlias},
    {"cpus", required_argument, nullptr, kOptCpus},     {"queue", required_argument, nullptr, kOptQueue},
    {"worker", required_argument, nullptr, kOptWorker}, kTunLongOptions[0],
    kTunLongOptions[1],                                 kTunLongOptions[2],
    kTunLongOptions[3],
    {"trace", optional_argument, nullptr, kOptTrace},   {"trace-json", required_argument, nullptr, kOptTraceJson},
    {"pcap", required_argument, nullptr, kOptPcap},     {"pcap-dev", required_argument, nullptr, kOptPcapDev},
    {"netem", required_argument, nullptr, kOptNetem},   {"seed", required_argument, nullptr, kOptSeed},
    {"iptables", required_argument, nullptr, kOptIptables},
};

struct StackOptions {
    static constexpr int kDefaultTrace = 10;
    StackConfig config;
    std::vector<Ipv4Cidr> aliases;  // added to lo, as `ip addr add ADDR dev lo` / `ifconfig lo0 alias`
    TunOptions tun;
    int trace = 0;           // --trace[=N]: how many packets to trace (0: none)
    std::string trace_json;  // --trace-json FILE: the traces in the trace-event format
    std::string pcap;        // --pcap FILE: capture one device (the TUN if any, else lo)
    std::string pcap_dev;    // --pcap-dev DEV: which
    std::vector<std::string> netem;       // --netem 'dev DEV OPTIONS', in tc-netem's words
    std::optional<std::uint64_t> seed;    // --seed N: netem's and the rules' random choices
    std::vector<std::string> iptables;    // --iptables 'RULE': iptables' words, in order
    // The --pcap capture configure() started (the stack owns it).
    mutable Capture* pcap_capture_ = nullptr;

    // Takes one option; on a bad value returns the reason, e.g. "invalid --cpus: 'x'".
    std::optional<std::string> apply(int opt, const char* arg);
    // Adds the aliases to the stack's lo, attaches the TUN, applies the rules, makes netem the
    // root qdisc of the devices named and starts the capture (a tap on its device).
    std::optional<std::string> configure(Stack& stack) const;
    // Ends the capture, writing what is queued; returns tcpdump's closing lines, if capturing.
    std::string finish(Stack& stack) const;
};

// The lines describing these options, for a usage text.
const char* stack_options_usage();

}  // namespace vlo::apps
