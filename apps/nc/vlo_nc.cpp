// vlo-nc: netcat-openbsd through vlo's model of the Linux loopback path. It runs its own
// in-process stack; the servers named by --serve run in that same stack, so
//   vlo-nc --serve echo@127.0.0.2:7 127.0.0.2 7
// echoes stdin. Messages and exit codes are netcat's (1 on its errors); a bad value of one of
// vlo's own options is one line and exit 2.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "apps/common/stat_report.hpp"
#include "apps/common/trace_output.hpp"
#include "apps/nc/nc_options.hpp"
#include "apps/nc/netcat.hpp"
#include "apps/servers/servers.hpp"
#include "netif/trace_log.hpp"
#include "stack/stack.hpp"
#include "tools/ss/ss_collect.hpp"

namespace {

using namespace vlo;

// The traced segments' paths, in the order they were sent, on stderr (stdout is the data), and
// as trace events with --trace-json.
bool report_traces(const apps::StackOptions& so) {
    std::vector<Trace> traces = TraceLog::instance().take_all();
    std::sort(traces.begin(), traces.end(), [](const Trace& a, const Trace& b) {
        return a.id != b.id ? a.id < b.id : a.generation < b.generation;
    });
    for (const Trace& t : traces) {
        std::fprintf(stderr, "\ntrace %llu%s:\n", static_cast<unsigned long long>(t.id),
                     t.generation ? " (reply)" : "");
        std::fputs(apps::trace_text(t).c_str(), stderr);
    }
    if (!so.trace_json.empty() && !apps::write_trace_json(so.trace_json, traces)) {
        std::fprintf(stderr, "vlo-nc: %s: %s\n", so.trace_json.c_str(), std::strerror(errno));
        return false;
    }
    return true;
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
    if (o.stack.trace > 0) stack.ip().trace_next(o.stack.trace);
    // --stat's `ss -tani`: taken as the session ends, before netcat closes its socket, for that
    // is what a user wants to see: the connection with its cwnd, RTT and retransmissions. By
    // exit every socket is closed and gone. The client's own socket has usually seen the
    // peer's FIN by then and sits in TIME-WAIT, which ss shows without tcp_info as Linux keeps
    // it as a minisock; the server's end (--serve) is still there in full. Without a session
    // (refused, -z) the listing at exit stands in.
    std::string ss_listing;
    nc::NcIo io;
    if (o.stat) io.session_end = [&] { ss_listing = ss::ss_text(stack, true); };
    int rc;
    {
        servers::ServerHost host(stack);
        for (const servers::ServerSpec& spec : o.serve)
            if (auto err = host.start(spec)) {
                std::fprintf(stderr, "vlo-nc: --serve %s\n", err->c_str());
                return 2;
            }
        rc = nc::run_nc(stack, o, io);
    }  // the servers stop: every thread joined, every socket closed
    // What the sockets still hold would go on to the peer after a kernel process exits; this
    // stack dies with the process, so it finishes that first (bounded, as tcp_fin_timeout).
    stack.linger(60 * kNsPerSec);
    if (o.stack.trace > 0 && !report_traces(o.stack)) rc = 1;
    if (std::string capture = o.stack.finish(stack); !capture.empty()) std::fputs(capture.c_str(), stderr);
    if (o.stat) {  // stdout is the data
        std::fputs(apps::stat_report(stack).c_str(), stderr);
        const bool at_exit = ss_listing.empty();
        std::fprintf(stderr, "\nss -tani (%s):\n%s",
                     at_exit ? "at exit" : "as the session ended, before close",
                     (at_exit ? ss::ss_text(stack, true) : ss_listing).c_str());
    }
    return rc;
}
