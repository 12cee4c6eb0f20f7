#include "tools/vlod/vlod_options.hpp"

#include <getopt.h>

#include <iterator>

namespace vlo::vlod {

namespace {
enum : int { kOptServe = 0x1200, kOptControl };
}

std::string usage() {
    return std::string("Usage: vlod [options]\n"
                       "Hosts a vlo stack on a TUN interface: it answers ping and serves the sample\n"
                       "servers to the kernel's programs.\n") +
           "  --serve <spec>     echo, discard, chargen or http, optionally /tcp or /udp and\n"
           "                     @[addr]:port (default every address, the well-known port);\n"
           "                     repeatable\n"
           "  --control <path>   answer status and counters as JSON on this Unix socket (0600)\n" +
           apps::stack_options_usage() + std::string("  -h, --help         this text\n");
}

Parse parse_options(int argc, char** argv) {
    std::vector<option> longopts = {{"serve", required_argument, nullptr, kOptServe},
                                    {"control", required_argument, nullptr, kOptControl},
                                    {"help", no_argument, nullptr, 'h'}};
    longopts.insert(longopts.end(), std::begin(apps::kStackLongOptions), std::end(apps::kStackLongOptions));
    longopts.push_back({nullptr, 0, nullptr, 0});
    Options o;
    o.stack.tun.name = "vlo0";
    Parse r;
    optind = 1;
    opterr = 0;  // our own one-line messages
    for (int c; (c = getopt_long(argc, argv, ":h", longopts.data(), nullptr)) != -1;) {
        std::optional<std::string> err;
        switch (c) {
            case 'h': o.help = true; break;
            case kOptServe: {
                std::string text = optarg;
                if (text.find('@') == std::string::npos) text += "@";
                servers::SpecParse p = servers::parse_spec(text);
                if (!p.spec) err = p.error;
                else o.serve.push_back(*p.spec);
                break;
            }
            case kOptControl:
                if (!*optarg) err = "invalid --control: an empty path";
                o.control = optarg;
                break;
            case ':': err = std::string("option '") + argv[optind - 1] + "' requires an argument"; break;
            case '?':
                err = std::string("unrecognized option '") + (optopt ? std::string("-") + char(optopt) : argv[optind - 1]) +
                      "'";
                break;
            default: err = o.stack.apply(c, optarg);
        }
        if (err) {
            r.error = *err;
            return r;
        }
    }
    if (optind < argc) {
        r.error = std::string("unexpected argument '") + argv[optind] + "'";
        return r;
    }
    r.options = std::move(o);
    return r;
}

}  // namespace vlo::vlod
