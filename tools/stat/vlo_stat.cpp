// vlo-stat: a running vlod's counters, read from its control socket: softnet_stat, the devices
// as `ip -s link` shows them, the SNMP counters as nstat prints them, the qdiscs as `tc -s
// qdisc show` and the rules as `iptables -L -n -v -x`; or the JSON itself. `vlo-stat ss` lists
// the TCP sockets as `ss -tni` does (`-a`: every state, as `ss -tani`).
#include <getopt.h>

#include <cstdio>
#include <string>

#include "tools/control/control_client.hpp"
#include "tools/control/stack_stats.hpp"

namespace {

const char* const kUsage =
    "Usage: vlo-stat --control <path> [--json] [--status] [-a] [ss]\n"
    "  --control <path>  vlod's control socket\n"
    "  --json            print the reply as JSON\n"
    "  --status          the daemon's status (interface, addresses, servers) instead\n"
    "  -a, --all         nstat: zero counters too; ss: sockets in every state\n"
    "  ss                the TCP sockets as `ss -tni` lists them\n";

int usage_error(const std::string& why) {
    std::fprintf(stderr, "vlo-stat: %s\n%s", why.c_str(), kUsage);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    static const option longopts[] = {{"control", required_argument, nullptr, 'c'},
                                      {"json", no_argument, nullptr, 'j'},
                                      {"status", no_argument, nullptr, 's'},
                                      {"all", no_argument, nullptr, 'a'},
                                      {"help", no_argument, nullptr, 'h'},
                                      {nullptr, 0, nullptr, 0}};
    std::string path;
    bool json = false, status = false, all = false;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":ah", longopts, nullptr)) != -1;) {
        switch (c) {
            case 'c': path = optarg; break;
            case 'j': json = true; break;
            case 's': status = true; break;
            case 'a': all = true; break;
            case 'h': std::fputs(kUsage, stdout); return 0;
            case ':': return usage_error(std::string("option '") + argv[optind - 1] + "' requires an argument");
            default: return usage_error(std::string("unrecognized option '") + argv[optind - 1] + "'");
        }
    }
    bool ss = false;
    if (optind < argc && std::string(argv[optind]) == "ss") {
        ss = true;
        ++optind;
    }
    if (optind < argc) return usage_error(std::string("unexpected argument '") + argv[optind] + "'");
    if (path.empty()) return usage_error("--control <path> is required");
    if (ss && status) return usage_error("--status and ss: one or the other");

    std::string error;
    nlohmann::ordered_json req{{"cmd", status ? "status" : ss ? "ss" : "stat"}};
    if (ss) req["all"] = all;
    const auto reply = vlo::control::request(path, req, error);
    if (!reply) {
        std::fprintf(stderr, "vlo-stat: %s\n", error.c_str());
        return 1;
    }
    if (!reply->value("ok", false)) {
        std::fprintf(stderr, "vlo-stat: %s\n", reply->value("error", std::string("failed")).c_str());
        return 1;
    }
    if (json || status) {
        std::printf("%s\n", reply->dump(2).c_str());
        return 0;
    }
    if (ss) {
        std::fputs(reply->value("text", std::string()).c_str(), stdout);
        return 0;
    }
    nlohmann::ordered_json stats = *reply;
    if (all) stats["nstat_all"] = true;
    std::fputs(vlo::control::stats_text(stats).c_str(), stdout);
    return 0;
}
