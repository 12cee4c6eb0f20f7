#include "apps/nc/nc_options.hpp"

#include <getopt.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <iterator>

namespace vlo::nc {

namespace {
enum : int { kOptServe = 0x2000, kOptStat };

ParseResult fail(int code, std::string message, bool usage = false) {
    ParseResult r;
    r.exit_code = code;
    r.message = std::move(message);
    r.show_usage = usage;
    return r;
}

// OpenBSD's strtonum: the error string netcat puts after its own words ("timeout invalid: x").
const char* strtonum_error(const char* s, long long min, long long max, long long& out) {
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(s, &end, 10);
    if (end == s || *end != '\0') return "invalid";
    if ((errno == ERANGE && v == LLONG_MIN) || v < min) return "too small";
    if ((errno == ERANGE && v == LLONG_MAX) || v > max) return "too large";
    out = v;
    return nullptr;
}
}  // namespace

const char* nc_usage() {
    return "usage: vlo-nc [-46dhlNnuvz] [-p source_port] [-s sourceaddr] [-w timeout]\n"
           "\t  [--serve kind@addr[:port]] [--stat] [destination] [port]\n";
}

std::string nc_help() {
    std::string s = "vlo-nc: OpenBSD netcat (Debian 1.219) over vlo's in-process stack\n";
    s += nc_usage();
    s += "\tCommand Summary:\n"
         "\t\t-4\t\tUse IPv4 (vlo is IPv4 only)\n"
         "\t\t-d\t\tDetach from stdin\n"
         "\t\t-h\t\tThis help text\n"
         "\t\t-l\t\tListen mode, for inbound connects\n"
         "\t\t-N\t\tShutdown the network socket after EOF on stdin\n"
         "\t\t-n\t\tSuppress name/port resolutions\n"
         "\t\t-p port\t\tSpecify local port for remote connects\n"
         "\t\t-s sourceaddr\tLocal source address\n"
         "\t\t-u\t\tUDP mode\n"
         "\t\t-v\t\tVerbose\n"
         "\t\t-w timeout\tTimeout for connects and final net reads\n"
         "\t\t-z\t\tZero-I/O mode [used for scanning]\n"
         "\tPort numbers can be individual or ranges: lo-hi [inclusive]\n"
         "\n"
         "vlo options:\n"
         "  --serve <kind@addr[:port]>\n"
         "                     run a server in this stack (repeatable): echo, discard,\n"
         "                     chargen (TCP and UDP; kind/tcp or kind/udp for one), http;\n"
         "                     addr 0.0.0.0 if empty, the kind's port if :port is omitted\n"
         "  --stat             print softnet_stat, link, SNMP and TCP counters to stderr at exit\n";
    s += apps::stack_options_usage();
    return s;
}

ParseResult parse_nc_options(int argc, char** argv) {
    NcOptions o;
    std::vector<option> longopts(std::begin(apps::kStackLongOptions),
                                 std::end(apps::kStackLongOptions));
    longopts.push_back({"serve", required_argument, nullptr, kOptServe});
    longopts.push_back({"stat", no_argument, nullptr, kOptStat});
    longopts.push_back({nullptr, 0, nullptr, 0});
    optind = 1;
    opterr = 1;
    int c;
    long long v = 0;
    while ((c = getopt_long(argc, argv, "46dhlNnp:s:uvw:z", longopts.data(), nullptr)) != -1) {
        switch (c) {
            case '4':
                break;  // vlo speaks IPv4 only
            case 'd':
                o.detach = true;
                break;
            case 'h': {
                ParseResult r;
                r.show_help = true;
                return r;
            }
            case 'l':
                o.listen = true;
                break;
            case 'N':
                o.shutdown_eof = true;
                break;
            case 'n':
                o.numeric = true;
                break;
            case 'p':
                o.source_port = optarg;
                break;
            case 's':
                o.source_addr = optarg;
                break;
            case 'u':
                o.udp = true;
                break;
            case 'v':
                o.verbose = true;
                break;
            case 'w':
                // netcat: strtonum(optarg, 0, INT_MAX / 1000), kept in ms.
                if (const char* e = strtonum_error(optarg, 0, INT_MAX / 1000, v))
                    return fail(1, std::string("timeout ") + e + ": " + optarg);
                o.timeout_ms = static_cast<int>(v * 1000);
                break;
            case 'z':
                o.zero_io = true;
                break;
            case kOptServe: {
                servers::SpecParse p = servers::parse_spec(optarg);
                if (!p.spec) return fail(2, p.error);
                o.serve.push_back(*p.spec);
                break;
            }
            case kOptStat:
                o.stat = true;
                break;
            case '?':
                return fail(1, "", true);  // getopt has said why; netcat's usage(1)
            default:
                if (auto e = o.stack.apply(c, optarg)) return fail(2, *e);
        }
    }
    // netcat's "cruft to make sure options are clean, and used properly".
    const int nargs = argc - optind;
    char** args = argv + optind;
    if (nargs == 0 && o.listen) {
        // nc -l -p port [-s addr]
        if (!o.source_port.empty()) o.ports.push_back(o.source_port);
        o.host = o.source_addr;
    } else if (nargs == 1 && o.source_port.empty() && o.source_addr.empty()) {
        if (o.listen) o.ports.push_back(args[0]);  // nc -l port; else the port is missing
    } else if (nargs >= 2) {
        if (o.listen && (!o.source_port.empty() || !o.source_addr.empty() || nargs > 2))
            return fail(1, "", true);
        o.host = args[0];
        o.ports.assign(args + 1, args + nargs);
    } else {
        return fail(1, "", true);
    }
    if (o.ports.empty()) return fail(1, "missing port number");
    if (o.listen && o.zero_io) return fail(1, "cannot use -z and -l");
    ParseResult r;
    r.options = std::move(o);
    return r;
}

}  // namespace vlo::nc
