// vlo-nc: netcat-openbsd through vlo's model of the Linux loopback path. It runs its own
// in-process stack; the servers named by --serve run in that same stack, so
//   vlo-nc --serve echo@127.0.0.2:7 127.0.0.2 7
// echoes stdin. Messages and exit codes are netcat's (1 on its errors); a bad value of one of
// vlo's own options is one line and exit 2.
#include <csignal>
#include <cstdio>
#include <string>

#include "apps/nc/nc_options.hpp"
#include "apps/nc/netcat.hpp"
#include "apps/servers/servers.hpp"
#include "stack/stack.hpp"

namespace {

using namespace vlo;

// --stat: the http server's status page (softnet_stat, ip -s link, /proc/net/snmp, TCP's MIBs)
// and where NET_RX ran, as vlo-ping's --stat says it.
void print_stat(Stack& stack) {
    std::fprintf(stderr, "\n%s", servers::status_text(stack).c_str());
    const NetRx& rx = stack.net_rx();
    for (unsigned cpu = 0; cpu < rx.cpus(); ++cpu) {
        const Softnet& sd = rx.softnet(cpu);
        std::fprintf(stderr,
                     "\ncpu%u NET_RX runs: in sender %llu, in ksoftirqd %llu, busy-polled %llu; "
                     "ksoftirqd wakeups %llu\n",
                     cpu, (unsigned long long)sd.runs_in_sender.load(),
                     (unsigned long long)sd.runs_in_ksoftirqd.load(),
                     (unsigned long long)sd.runs_in_busypoll.load(),
                     (unsigned long long)sd.ksoftirqd_wakeups.load());
    }
}

}  // namespace

int main(int argc, char** argv) {
    argv[0] = const_cast<char*>("vlo-nc");  // getopt's messages say "vlo-nc:"
    auto parsed = nc::parse_nc_options(argc, argv);
    if (parsed.show_help) {
        std::fputs(nc::nc_help().c_str(), stderr);  // netcat's help() goes to stderr, exit 0
        return 0;
    }
    if (!parsed.options) {
        if (!parsed.message.empty()) std::fprintf(stderr, "vlo-nc: %s\n", parsed.message.c_str());
        if (parsed.show_usage) std::fputs(nc::nc_usage(), stderr);
        return parsed.exit_code;
    }
    const nc::NcOptions& o = *parsed.options;
    std::signal(SIGPIPE, SIG_IGN);  // as netcat: a closed stdout is an error from write()

    Stack stack(o.stack.config);
    if (auto err = o.stack.configure(stack)) {
        std::fprintf(stderr, "vlo-nc: %s\n", err->c_str());
        return 2;
    }
    int rc;
    {
        servers::ServerHost host(stack);
        for (const servers::ServerSpec& spec : o.serve)
            if (auto err = host.start(spec)) {
                std::fprintf(stderr, "vlo-nc: --serve %s\n", err->c_str());
                return 2;
            }
        rc = nc::run_nc(stack, o);
    }  // the servers stop: every thread joined, every socket closed
    // What the sockets still hold would go on to the peer after a kernel process exits; this
    // stack dies with the process, so it finishes that first (bounded, as tcp_fin_timeout).
    stack.linger(60 * kNsPerSec);
    if (o.stat) print_stat(stack);
    return rc;
}
