#include "tools/lab/lab_options.hpp"

#include "netif/designs.hpp"

#include <getopt.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace vlo::lab {

namespace {

enum : int {
    kOptQuick = 0x3000,
    kOptRepeat,
    kOptWorkload,
    kOptQueue,
    kOptWorker,
    kOptCpus,
    kOptTime,
    kOptJson,
    kOptPlots,
    kOptPlugin
};

LabParse bad(std::string why) {
    LabParse p;
    p.exit_code = 2;
    p.message = std::move(why);
    p.show_usage = true;
    return p;
}

std::optional<long> whole_number(const char* arg, long min, long max) {
    errno = 0;
    char* end = nullptr;
    const long v = std::strtol(arg, &end, 10);
    if (errno || end == arg || *end != '\0' || v < min || v > max) return std::nullopt;
    return v;
}

}  // namespace

const char* lab_usage() {
    return "Usage: vlo-lab [options]\n"
           "Runs workloads over vlo's queue and worker designs, with the kernel's lo beside them.\n"
           "  --quick            short cells (0.25 s) and 65 536 listeners instead of all of "
           "127/8\n"
           "  --repeat <n>       run every cell n times: the median and the spread (1-100)\n"
           "  --workload <name>  icmp_echo, udp_rr_1B, tcp_rr_1B, tcp_rr_64B, tcp_crr, "
           "tcp_bulk_1,\n"
           "                     tcp_bulk_4, tcp_bulk_lossy, overload, listeners (repeatable;\n"
           "                     default all)\n"
           "  --queue <name>     list or ring (repeatable; default both)\n"
           "  --worker <name>    softirq, ksoftirqd, busypoll, inline (repeatable; default the\n"
           "                     first three, and inline for icmp_echo)\n"
           "  --cpus <n>         logical CPUs of the stack, 1-64 (repeatable; default 1 and 2)\n"
           "  --time <seconds>   timed part of each cell (0.01-600; default 0.25 quick, else 2)\n"
           "  --json <file>      write every cell's figures as JSON\n"
           "  --plots <dir>      write PNG plots (latency CDFs, throughput, drops) into <dir>\n"
           "  --plugin <file.so> load a queue or worker design from a shared library (its\n"
           "                     vlo_plugin_register()) and run it beside the built-ins\n"
           "  -h, --help         this text\n";
}

LabParse parse_lab_options(int argc, char** argv) {
    static const option longopts[] = {
        {"quick", no_argument, nullptr, kOptQuick},
        {"repeat", required_argument, nullptr, kOptRepeat},
        {"workload", required_argument, nullptr, kOptWorkload},
        {"queue", required_argument, nullptr, kOptQueue},
        {"worker", required_argument, nullptr, kOptWorker},
        {"cpus", required_argument, nullptr, kOptCpus},
        {"time", required_argument, nullptr, kOptTime},
        {"json", required_argument, nullptr, kOptJson},
        {"plots", required_argument, nullptr, kOptPlots},
        {"plugin", required_argument, nullptr, kOptPlugin},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    LabOptions o;
    optind = 0;  // glibc: 0 also resets getopt's state from an earlier, abandoned parse
    opterr = 0;  // the reason is ours, on one line
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, nullptr)) != -1) {
        const std::string arg = optarg ? optarg : "";
        switch (c) {
            case kOptQuick:
                o.quick = true;
                break;
            case kOptRepeat:
                if (auto n = whole_number(optarg, 1, 100))
                    o.repeat = static_cast<int>(*n);
                else
                    return bad("invalid --repeat: '" + arg + "' (1 to 100)");
                break;
            case kOptWorkload:
                if (auto w = parse_workload(arg))
                    o.workloads.push_back(*w);
                else
                    return bad("invalid --workload: '" + arg + "'");
                break;
            case kOptQueue:
                if (auto q = parse_queue_kind(arg))
                    o.queues.push_back(*q);
                else
                    return bad("invalid --queue: '" + arg + "' (list or ring)");
                break;
            case kOptWorker:
                if (auto w = parse_worker_kind(arg))
                    o.workers.push_back(*w);
                else
                    return bad("invalid --worker: '" + arg +
                               "' (softirq, ksoftirqd, busypoll or inline)");
                break;
            case kOptCpus:
                if (auto n = whole_number(optarg, 1, 64))
                    o.cpus.push_back(static_cast<unsigned>(*n));
                else
                    return bad("invalid --cpus: '" + arg + "' (1 to 64)");
                break;
            case kOptTime: {
                char* end = nullptr;
                errno = 0;
                const double s = std::strtod(optarg, &end);
                if (errno || end == optarg || *end != '\0' || !std::isfinite(s) || s < 0.01 ||
                    s > 600)
                    return bad("invalid --time: '" + arg + "' (0.01 to 600 seconds)");
                o.seconds = s;
                break;
            }
            case kOptJson:
                if (arg.empty()) return bad("invalid --json: empty file name");
                o.json_path = arg;
                break;
            case kOptPlots:
                if (arg.empty()) return bad("invalid --plots: empty directory name");
                o.plots_dir = arg;
                break;
            case kOptPlugin: {
                // A design from outside: loaded now, so --queue/--worker could name it too.
                PluginDesigns added;
                std::string error;
                if (!load_design_plugin(arg, added, error))
                    return bad("--plugin " + arg + ": " + error);
                o.plugins.push_back(arg);
                o.plugin_queues.insert(o.plugin_queues.end(), added.queues.begin(),
                                       added.queues.end());
                o.plugin_workers.insert(o.plugin_workers.end(), added.workers.begin(),
                                        added.workers.end());
                break;
            }
            case 'h': {
                LabParse p;
                p.show_usage = true;
                return p;
            }
            case ':':
                return bad(std::string("option requires an argument: ") + argv[optind - 1]);
            default:
                return bad(std::string("unrecognized option: ") + argv[optind - 1]);
        }
    }
    if (optind < argc) return bad(std::string("unexpected argument: ") + argv[optind]);
    LabParse p;
    p.options = std::move(o);
    return p;
}

}  // namespace vlo::lab
