#include "apps/common/stack_options.hpp"

#include <charconv>
#include <cstring>
#include <sstream>

#include "frontend/iptables.hpp"
#include "frontend/netem_words.hpp"
#include "netif/capture.hpp"

namespace vlo::apps {

std::optional<std::string> StackOptions::apply(int opt, const char* arg) {
    const std::string_view value(arg ? arg : "");
    auto bad = [&](const char* name, const char* expected) {
        return std::string("invalid --") + name + ": '" + std::string(value) + "' (" + expected + ")";
    };
    switch (opt) {
        case kOptPolicy:
            if (value == "linux")
                config.loopback_policy = LoopbackPolicy::linux;
            else if (value == "bsd")
                config.loopback_policy = LoopbackPolicy::bsd;
            else
                return bad("policy", "linux or bsd");
            return std::nullopt;
        case kOptAlias: {
            auto cidr = Ipv4Cidr::parse(value);
            if (!cidr) return bad("alias", "an IPv4 address, optionally /LEN");
            aliases.push_back(*cidr);
            return std::nullopt;
        }
        case kOptCpus: {
            unsigned n = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (ec != std::errc{} || end != value.data() + value.size() || n < 1 || n > 256)
                return bad("cpus", "1 to 256");
            config.core.cpus = n;
            return std::nullopt;
        }
        case kOptQueue:
            if (auto q = parse_queue_kind(value)) {
                config.core.queue = *q;
                return std::nullopt;
            }
            return bad("queue", "list or ring");
        case kOptWorker:
            if (auto w = parse_worker_kind(value)) {
                config.core.worker = *w;
                return std::nullopt;
            }
            return bad("worker", "softirq, ksoftirqd, busypoll or inline");
        case kOptTrace: {
            trace = kDefaultTrace;
            if (!arg) return std::nullopt;
            int n = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (ec != std::errc{} || end != value.data() + value.size() || n < 1 || n > 100000)
                return bad("trace", "1 to 100000 packets");
            trace = n;
            return std::nullopt;
        }
        case kOptTraceJson:
            if (value.empty()) return bad("trace-json", "a file name");
            trace_json = value;
            if (trace == 0) trace = kDefaultTrace;
            return std::nullopt;
        case kOptPcap:
            if (value.empty()) return bad("pcap", "a file name");
            pcap = value;
            return std::nullopt;
        case kOptPcapDev:
            pcap_dev = value;
            return std::nullopt;
        case kOptNetem: {
            // "dev DEV" first, as `tc qdisc add dev DEV root netem ...` names it; the rest is
            // checked now so a typo stops the program before it starts.
            std::istringstream in{std::string(value)};
            std::string word, dev;
            if (!(in >> word >> dev) || word != "dev") return bad("netem", "dev DEV then tc-netem options");
            std::string rest;
            std::getline(in, rest);
            NetemParseResult parsed = parse_netem(rest);
            if (!parsed.spec) return "--netem: " + parsed.error;
            netem.emplace_back(value);
            return std::nullopt;
        }
        case kOptSeed: {
            std::uint64_t n = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (ec != std::errc{} || end != value.data() + value.size()) return bad("seed", "a number");
            seed = n;
            config.seed = n;  // and every other random choice of the stack
            return std::nullopt;
        }
        case kOptIptables:  // checked by configure(), against the stack's tables
            iptables.emplace_back(value);
            return std::nullopt;
        case kOptTun:
        case kOptAddr:
        case kOptKernelAddr:
        case kOptMtu: return tun.apply(opt, arg);
        default: return std::string("unknown option");
    }
}

std::optional<std::string> StackOptions::configure(Stack& stack) const {
    for (const Ipv4Cidr& a : aliases)
        if (std::error_code ec = stack.addr_add("lo", a); ec && ec != std::errc::file_exists)
            return "--alias " + a.to_string() + ": " + ec.message();
    if (tun.enabled())
        if (auto e = tun.attach(stack)) return e;
    if (seed) stack.netfilter().seed(*seed);
    for (const std::string& rule : iptables) {
        std::string message;
        if (frontend::iptables(stack.netfilter(), rule, &message)) return message;
    }
    for (const std::string& text : netem) {
        std::istringstream in(text);
        std::string word, dev, rest;
        in >> word >> dev;
        std::getline(in, rest);
        NetemSpec spec = *parse_netem(rest).spec;  // checked by apply()
        if (seed) spec.seed = *seed;
        if (stack.qdisc_netem(dev, QdiscOp::replace, spec))
            return "--netem: Cannot find device \"" + dev + "\"";  // tc's words
    }
    if (!pcap.empty()) {
        const std::string dev = !pcap_dev.empty() ? pcap_dev : tun.enabled() ? tun.name : "lo";
        Capture* capture = stack.add_capture(dev);
        if (!capture) return "--pcap-dev " + dev + ": no such device";
        if (std::error_code ec = capture->start_file(pcap)) return "--pcap " + pcap + ": " + ec.message();
        pcap_capture_ = capture;
    }
    return std::nullopt;
}

std::string StackOptions::finish(Stack&) const {
    if (!pcap_capture_) return {};
    pcap_capture_->close();
    return pcap_capture_->stats_text();
}

const char* stack_options_usage() {
    static const std::string text =
        std::string(
            "  --policy <linux|bsd> which of 127/8 answers: all of it (linux), or only\n"
            "                     addresses on lo (bsd); default linux\n"
            "  --alias <addr>     add <addr>[/len] to lo (repeatable)\n"
            "  --cpus <n>         logical CPUs, each with its own backlog; default 1\n"
            "  --queue <name>     backlog queue design: list (kernel) or ring; default list\n"
            "  --worker <name>    who runs NET_RX: softirq (kernel), ksoftirqd, busypoll,\n"
            "                     inline; default softirq\n") +
        tun_options_usage() +
        "  --trace[=<n>]      print the path of the first <n> packets (default 10), stage\n"
        "                     by stage, with the time each step took\n"
        "  --trace-json <f>   write the traced paths to <f> as Chrome/Perfetto trace events\n"
        "  --pcap <file>      capture a device's packets into <file> (pcap; the TUN if any,\n"
        "                     else lo)\n"
        "  --pcap-dev <dev>   the device --pcap captures\n"
        "  --netem <spec>     'dev DEV' then tc-netem's options (delay, loss, duplicate,\n"
        "                     reorder, corrupt, rate, limit, ecn) on DEV's transmit;\n"
        "                     repeatable\n"
        "  --seed <n>         seed the stack's random choices (ISNs, ports, IP IDs, netem,\n"
        "                     the rules): the same seed, the same run\n"
        "  --iptables <rule>  an iptables command for this stack ('-A INPUT -p icmp -j\n"
        "                     DROP'); repeatable, applied in order\n";
    return text.c_str();
}

}  // namespace vlo::apps
