// vlod: a vlo stack on a TUN interface, for the kernel's programs to talk to. It answers ping,
// serves the sample servers, answers its control socket, and on SIGINT or SIGTERM stops cleanly
// (the interface goes with it if vlod created it).
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "netif/tun_device.hpp"
#include "tools/control/control_server.hpp"
#include "tools/vlod/live_commands.hpp"
#include "tools/vlod/live_devices.hpp"
#include "tools/vlod/vlod_options.hpp"

using namespace vlo;

namespace {

// One line per event on stderr, as a daemon's log.
[[gnu::format(printf, 1, 2)]] void log(const char* fmt, ...) {
    std::va_list ap;
    va_start(ap, fmt);
    std::fputs("vlod: ", stderr);
    std::vfprintf(stderr, fmt, ap);
    std::fputc('\n', stderr);
    va_end(ap);
}

control::Json status(Stack& stack, const TunDevice& tun, const vlod::Options& o, servers::ServerHost& host,
                     std::chrono::steady_clock::time_point started) {
    control::Json servers = control::Json::array();
    for (const auto& l : host.listening())
        servers.push_back({{"spec", l.spec.to_string()},
                           {"proto", l.udp ? "udp" : "tcp"},
                           {"connections", l.counters->connections.load()},
                           {"datagrams", l.counters->datagrams.load()},
                           {"bytes_in", l.counters->bytes_in.load()},
                           {"bytes_out", l.counters->bytes_out.load()}});
    return {{"pid", ::getpid()},
            {"uptime_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()},
            {"tun", o.stack.tun.name},
            {"kernel_ifindex", tun.kernel_ifindex()},
            {"addr", o.stack.tun.addr.to_string()},
            {"kernel_addr", o.stack.tun.kernel_address().to_string()},
            {"mtu", o.stack.tun.mtu},
            {"cpus", stack.net_rx().cpus()},
            {"queue", std::string(queue_kind_name(stack.config().core.queue))},
            {"worker", std::string(worker_kind_name(stack.config().core.worker))},
            {"servers", servers}};
}

// vlo speaks IPv4 only: the kernel's IPv6 on a TUN vlod made (router solicitations, MLD
// reports, sent for minutes after the link comes up) would only reach vlo to be dropped, and
// would show in every capture of the TUN. addrconf_disable_ipv6, as `sysctl
// net.ipv6.conf.NAME.disable_ipv6=1`; a kernel without IPv6 has no such file, which is fine.
void quiet_ipv6(const std::string& ifname) {
    std::ofstream("/proc/sys/net/ipv6/conf/" + ifname + "/disable_ipv6") << "1\n";
}

int run(const vlod::Options& o) {
    const auto started = std::chrono::steady_clock::now();
    Stack stack(o.stack.config);
    // --netem and --pcap as the apps have them: a root qdisc, a capture tap.
    if (auto e = o.stack.configure(stack)) {
        log("%s", e->c_str());
        return 1;
    }
    const auto* tun = dynamic_cast<const TunDevice*>(stack.find_device(o.stack.tun.name));
    if (tun->created()) quiet_ipv6(o.stack.tun.name);
    // An idle capture on the TUN and lo for vlo-dump to start at run time.
    vlod::LiveDevices live;
    for (const std::string& dev : {o.stack.tun.name, std::string("lo")})
        if (auto e = live.add(stack, dev)) {
            log("%s", e->c_str());
            return 1;
        }
    log("%s up (%s): vlo %s, kernel %s/%d, mtu %u", o.stack.tun.name.c_str(), tun->created() ? "created" : "attached",
        o.stack.tun.addr.to_string().c_str(), o.stack.tun.kernel_address().to_string().c_str(), o.stack.tun.addr.prefix_len,
        o.stack.tun.mtu);
    servers::ServerHost host(stack);
    for (const auto& spec : o.serve) {
        if (auto e = host.start(spec)) {
            log("%s", e->c_str());
            return 1;
        }
        log("serving %s", spec.to_string().c_str());
    }
    boost::asio::io_context io;
    control::ControlServer ctl(io);
    if (!o.control.empty()) {
        std::string error;
        if (!ctl.listen(o.control, error)) {
            log("control socket %s", error.c_str());
            return 1;
        }
        ctl.on("status", [&](const control::Json&) { return status(stack, *tun, o, host, started); });
        vlod::register_live_commands(ctl, io, stack, live);
        log("control socket %s", o.control.c_str());
    }
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int sig) {
        if (ec) return;
        log("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        ctl.close();
        io.stop();
    });
    io.run();
    host.stop();
    live.close_captures();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const vlod::Parse p = vlod::parse_options(argc, argv);
    if (!p.options) {
        std::fprintf(stderr, "vlod: %s\n%s", p.error.c_str(), vlod::usage().c_str());
        return 2;
    }
    if (p.options->help) {
        std::fputs(vlod::usage().c_str(), stdout);
        return 0;
    }
    const int rc = run(*p.options);
    log(rc == 0 ? "stopped" : "exiting after an error");
    return rc;
}
