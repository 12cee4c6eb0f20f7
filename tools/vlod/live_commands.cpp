#include "tools/vlod/live_commands.hpp"

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "frontend/iptables.hpp"
#include "frontend/netem_words.hpp"
#include "frontend/tc.hpp"
#include "netif/dev_xmit.hpp"
#include "netif/netem.hpp"
#include "netif/pcap_writer.hpp"
#include "tools/control/stack_stats.hpp"
#include "tools/ss/ss_collect.hpp"
#include "tools/vlod/capture_stream.hpp"

namespace vlo::vlod {

using control::Json;

namespace {

// "args": the tool's argument vector, as its own main() would get it.
std::vector<std::string> args_words(const Json& req) {
    const Json& a = req.contains("args") ? req["args"] : Json::array();
    if (!a.is_array()) throw std::invalid_argument("\"args\": a list of strings");
    std::vector<std::string> words;
    for (const Json& w : a) {
        if (!w.is_string()) throw std::invalid_argument("\"args\": a list of strings");
        words.push_back(w.get<std::string>());
    }
    return words;
}

Json failure(const std::string& error, bool usage) {
    return {{"ok", false}, {"error", error}, {"usage", usage}};
}

Json iptables(Stack& stack, const Json& req) {
    std::string message;
    if (std::error_code ec = frontend::iptables(stack.netfilter(), args_words(req), &message))
        return failure(message,
                       ec == std::errc::invalid_argument);  // iptables' PARAMETER_PROBLEM: exit 2
    return {{"output", message}};
}

Json tc(Stack& stack, const Json& req) {
    frontend::TcResult r = frontend::tc_command(stack, args_words(req));
    if (!r.ok) return failure(r.error, r.usage);
    return {{"output", r.output}};
}

LiveDevice& capture_device(LiveDevices& live, const Json& req) {
    if (live.devices().empty()) throw std::runtime_error("no device to capture");
    const std::string dev =
        req.contains("dev") ? req["dev"].get<std::string>() : live.devices().front().name;
    LiveDevice* d = live.find(dev);
    if (!d) throw std::runtime_error(dev + ": No such device exists");  // tcpdump's words
    return *d;
}

control::ControlServer::Stream capture(boost::asio::io_context& io, LiveDevices& live,
                                       const Json& req) {
    LiveDevice& d = capture_device(live, req);
    const Json count = req.value("count", Json(0));
    if (!count.is_number_unsigned() && !(count.is_number_integer() && count.get<long long>() >= 0))
        throw std::invalid_argument("\"count\": a number of packets, 0 for no limit");
    // One capture per device at a time; checked here so a busy device is refused in the reply.
    if (d.capture->running()) throw std::runtime_error(d.name + ": a capture is already running");
    Capture* capture = d.capture;
    const std::uint64_t n = count.get<std::uint64_t>();
    return {{{"dev", d.name}, {"linktype", pcap::kLinktypeRaw}, {"snaplen", pcap::kMaxSnaplen}},
            [&io, capture, n](int fd) { CaptureStream::start(io, *capture, fd, n); }};
}

Json capture_stats(LiveDevices& live, const Json& req) {
    const LiveDevice& d = capture_device(live, req);
    const CaptureStats s = d.capture->stats();
    return {{"dev", d.name},          {"running", d.capture->running()},
            {"received", s.received}, {"captured", s.captured},
            {"dropped", s.dropped},   {"bytes_written", s.bytes_written}};
}

// The TCP sockets as ss -tni lists them, and the same per socket for programs.
Json ss(Stack& stack, const Json& req) {
    const Json all = req.value("all", Json(false));
    if (!all.is_boolean()) throw std::invalid_argument("\"all\": true or false");
    const std::vector<ss::SsSocket> sockets = ss::ss_sockets(stack, all.get<bool>());
    Json list = Json::array();
    for (const ss::SsSocket& s : sockets)
        list.push_back({{"state", std::string(ss::ss_state_name(s.state))},
                        {"recv_q", s.recv_q},
                        {"send_q", s.send_q},
                        {"local", s.laddr.to_string() + ":" + std::to_string(s.lport)},
                        {"peer", s.raddr.to_string() + ":" + std::to_string(s.rport)},
                        {"ca", s.info ? Json(s.ca_name) : Json(nullptr)},
                        {"info", s.info ? Json(*s.info) : Json(nullptr)}});
    return {{"text", ss::ss_listing(sockets)}, {"sockets", std::move(list)}};
}

}  // namespace

Json live_stats(Stack& stack) {
    Json netem = Json::object();
    for (const auto& dev : stack.devices()) {
        netem[dev->name()] = with_root_qdisc(*dev, [&](Qdisc* q) -> Json {
            const std::string kind = q ? std::string(q->kind()) : "noqueue";
            auto* n = dynamic_cast<NetemQdisc*>(q);
            NetemStats s;
            if (n) {
                s = n->xstats();
            } else if (q) {
                static_cast<QdiscStats&>(s) = q->stats();
            }
            return {{"qdisc", kind},
                    {"spec", n ? netem_print_opt(n->spec(), n->seed()) : ""},
                    {"sent_bytes", s.bytes},
                    {"sent_packets", s.packets},
                    {"drops", s.drops},
                    {"requeues", s.requeues},
                    {"backlog_bytes", s.backlog_bytes},
                    {"backlog_packets", s.backlog_packets},
                    {"delayed", s.delayed},
                    {"lost", s.lost},
                    {"duplicated", s.duplicated},
                    {"reordered", s.reordered},
                    {"corrupted", s.corrupted},
                    {"ecn_mark", s.ecn_mark},
                    {"rate_waits", s.rate_waits},
                    {"limit_drops", s.limit_drops}};
        });
    }
    return {
        {"netem", netem},
        {"qdisc_text", frontend::tc_command(stack, {"-s", "qdisc", "show"}).output},
        {"iptables", frontend::iptables_list(stack.netfilter(), {}, {true, true, true, false})}};
}

void register_live_commands(control::ControlServer& ctl, boost::asio::io_context& io, Stack& stack,
                            LiveDevices& live) {
    ctl.on("iptables", [&stack](const Json& req) { return iptables(stack, req); });
    ctl.on("tc", [&stack](const Json& req) { return tc(stack, req); });
    ctl.on_stream("capture", [&io, &live](const Json& req) { return capture(io, live, req); });
    ctl.on("capture-stats", [&live](const Json& req) { return capture_stats(live, req); });
    ctl.on("ss", [&stack](const Json& req) { return ss(stack, req); });
    ctl.on("stat", [&stack](const Json&) {
        Json j = control::stack_stats(stack);
        const Json extra = live_stats(stack);
        for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
        return j;
    });
}

}  // namespace vlo::vlod
