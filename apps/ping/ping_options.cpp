#include "apps/ping/ping_options.hpp"

#include <getopt.h>

#include <cerrno>
#include <climits>
#include <clocale>
#include <cstdlib>
#include <iterator>
#include <vector>

#include "apps/ping/ping_schedule.hpp"

namespace vlo::ping {

namespace {
enum : int { kOptStat = 0x2000 };

ParseResult fail(int code, std::string message, bool usage = false) {
    ParseResult r;
    r.exit_code = code;
    r.message = std::move(message);
    r.show_usage = usage;
    return r;
}

// strtol_or_err: a whole decimal number within [min, max], else iputils' message, exit 1.
std::optional<std::string> parse_long(const char* arg, long min, long max, long& out) {
    errno = 0;
    char* end = nullptr;
    const long v = std::strtol(arg, &end, 10);
    if (errno || end == arg || *end != '\0') return std::string("invalid argument: '") + arg + "'";
    if (v < min || v > max)
        return std::string("invalid argument: '") + arg +
               "': out of range: " + std::to_string(min) + " <= value <= " + std::to_string(max);
    out = v;
    return std::nullopt;
}

// ping_strtod for -i and -W: seconds as a C-locale decimal, kept in ms.
std::optional<long> parse_seconds(const char* arg) {
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(arg, &end);
    if (errno || end == arg || *end != '\0' || v < 0 || v > INT_MAX / 1000.0) return std::nullopt;
    return static_cast<long>(v * 1000);
}
}  // namespace

const char* ping_usage() {
    return "\nUsage\n"
           "  vlo-ping [options] <destination>\n"
           "\n"
           "Options:\n"
           "  <destination>      dns name or ip address\n"
           "  -b                 allow pinging broadcast\n"
           "  -c <count>         stop after <count> replies\n"
           "  -f                 flood ping\n"
           "  -h                 print help and exit\n"
           "  -I <interface>     either interface name or address\n"
           "  -i <interval>      seconds between sending each packet\n"
           "  -l <preload>       send <preload> number of packages while waiting replies\n"
           "  -q                 quiet output\n"
           "  -s <size>          use <size> as number of data bytes to be sent\n"
           "  -t <ttl>           define time to live\n"
           "  -w <deadline>      reply wait <deadline> in seconds\n"
           "  -W <timeout>       time to wait for response\n"
           "\n"
           "vlo options:\n"
           "  --stat             print softnet_stat and device counters after the run\n";
}

ParseResult parse_ping_options(int argc, char** argv, uid_t uid) {
    PingOptions o;
    std::vector<option> longopts(std::begin(apps::kStackLongOptions),
                                 std::end(apps::kStackLongOptions));
    longopts.push_back({"stat", no_argument, nullptr, kOptStat});
    longopts.push_back({nullptr, 0, nullptr, 0});
    optind = 1;
    opterr = 1;
    int c;
    while ((c = getopt_long(argc, argv, "bc:fhI:i:l:qs:t:W:w:", longopts.data(), nullptr)) != -1) {
        switch (c) {
            case 'b':
                o.broadcast = true;
                break;
            case 'c':
                if (auto e = parse_long(optarg, 1, LONG_MAX, o.count)) return fail(1, *e);
                break;
            case 'f':
                o.flood = true;
                break;
            case 'h':
                return fail(2, "", true);
            case 'I':
                o.interface = optarg;
                break;
            case 'i':
                if (auto ms = parse_seconds(optarg)) {
                    o.interval_ms = *ms;
                    o.interval_given = true;
                } else {
                    return fail(2, std::string("bad timing interval: ") + optarg);
                }
                break;
            case 'l':
                // MAX_DUP_CHK: the received-table's size bounds the preload.
                if (auto e = parse_long(optarg, 1, 0x10000, o.preload)) return fail(1, *e);
                if (uid != 0 && o.preload > 3)
                    return fail(2, "cannot set preload to value greater than 3: " +
                                       std::to_string(o.preload));
                break;
            case 'q':
                o.quiet = true;
                break;
            case 's':
                if (auto e = parse_long(optarg, 0, INT_MAX, o.datalen)) return fail(1, *e);
                break;
            case 't': {
                long ttl = 0;
                if (auto e = parse_long(optarg, 0, 255, ttl)) return fail(1, *e);
                o.ttl = static_cast<int>(ttl);
                break;
            }
            case 'W':
                if (auto ms = parse_seconds(optarg))
                    o.linger_ms = *ms;
                else
                    return fail(2, std::string("bad linger time: ") + optarg);
                break;
            case 'w':
                if (auto e = parse_long(optarg, 0, INT_MAX, o.deadline_s)) return fail(1, *e);
                break;
            case kOptStat:
                o.stat = true;
                break;
            case '?':
                return fail(2, "", true);  // getopt has printed why
            default:
                if (auto e = o.stack.apply(c, optarg)) return fail(2, *e, true);
        }
    }
    if (optind >= argc) return fail(1, "usage error: Destination address required");
    o.destination = argv[argc - 1];
    // setup(): a flood without -i sends as fast as replies come; below MINUSERINTERVAL only root.
    if (o.flood && !o.interval_given) o.interval_ms = 0;
    if (uid != 0 && o.interval_ms < kMinUserIntervalMs)
        return fail(2, "cannot flood; minimal interval allowed for user is " +
                           std::to_string(kMinUserIntervalMs) + "ms");
    if (o.interval_ms >= INT_MAX / o.preload)
        return fail(2, "illegal preload and/or interval: " + std::to_string(o.interval_ms));
    ParseResult r;
    r.options = std::move(o);
    return r;
}

}  // namespace vlo::ping
