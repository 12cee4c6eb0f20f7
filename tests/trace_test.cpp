// Per-packet traces: the stages a traced ping request and its reply pass, in order, on the
// threads that ran them; drops end a trace with their reason; the trace-event JSON; the clock.
#include <algorithm>
#include <thread>

#include <catch2/catch.hpp>

#include "apps/common/trace_output.hpp"
#include "netif/trace_clock.hpp"
#include "netif/trace_log.hpp"
#include "stack/stack.hpp"

using namespace vlo;

namespace {

std::vector<std::string> stage_names(const Trace& t) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < t.count; ++i) out.emplace_back(stage_name(t.stamps[i].stage));
    return out;
}

// One traced echo through lo under `worker`; returns the request's and the reply's traces.
std::vector<Trace> traced_ping(WorkerKind worker) {
    StackConfig c;
    c.core.worker = worker;
    Stack stack(c);
    PingSocket sock(stack);
    sock.set_trace(true);
    std::vector<std::uint8_t> payload(56, 1), got(56);
    REQUIRE_FALSE(sock.send_echo(kInaddrLoopback, 7, payload));
    EchoReply r;
    REQUIRE_FALSE(sock.recv_echo(r, got, stack.clock().now_ns() + 2 * kNsPerSec));
    std::vector<Trace> traces = TraceLog::instance().take(sock.trace_id(7));
    std::sort(traces.begin(), traces.end(), [](const Trace& a, const Trace& b) { return a.generation < b.generation; });
    return traces;
}

const std::vector<std::string> kRequest = {
    "ip_local_out",    "ip_output",       "dev_queue_xmit",      "loopback_xmit", "netif_rx", "enqueue_to_backlog",
    "net_rx_action",   "process_backlog", "__netif_receive_skb", "ip_rcv",        "ip_local_deliver", "icmp_rcv"};

}  // namespace

TEST_CASE("trace: a ping request and its reply name their stages in order", "[trace]") {
    const std::vector<Trace> traces = traced_ping(WorkerKind::softirq);
    REQUIRE(traces.size() == 2);
    const Trace& req = traces[0];
    const Trace& rep = traces[1];
    CHECK(req.id == rep.id);
    CHECK(rep.generation == 1);
    CHECK(stage_names(req) == kRequest);
    std::vector<std::string> reply = kRequest;
    reply.back() = "ping_rcv";
    reply.insert(reply.end() - 1, "icmp_rcv");
    CHECK(stage_names(rep) == reply);
    // Stamps never go back in time, and the per-stage times add up to the span.
    for (const Trace* t : {&req, &rep}) {
        std::int64_t sum = 0;
        for (std::size_t i = 1; i < t->count; ++i) {
            CHECK(t->stamps[i].ns >= t->stamps[i - 1].ns);
            sum += t->stamps[i].ns - t->stamps[i - 1].ns;
        }
        CHECK(sum == t->stamps[t->count - 1].ns - t->stamps[0].ns);
    }
    // softirq: NET_RX ran in the sender's own call, so one thread did everything.
    for (const Trace* t : {&req, &rep})
        for (std::size_t i = 0; i < t->count; ++i) CHECK(t->stamps[i].tid == req.stamps[0].tid);
    // The reply is made inside the request's icmp_rcv.
    CHECK(rep.stamps[0].ns >= req.stamps[req.count - 1].ns);
    const std::string text = apps::trace_text(req);
    CHECK(text.find("enqueue_to_backlog") < text.find("process_backlog"));
    CHECK(text.find("qlen 0") != std::string::npos);
    CHECK(text.find("total") != std::string::npos);
}

TEST_CASE("trace: under the ksoftirqd design NET_RX's stages run on ksoftirqd/0", "[trace]") {
    const std::vector<Trace> traces = traced_ping(WorkerKind::ksoftirqd);
    REQUIRE(traces.size() == 2);
    const Trace& req = traces[0];
    const std::uint32_t sender = req.stamps[0].tid;
    for (std::size_t i = 0; i < req.count; ++i) {
        const bool softirq_side = req.stamps[i].stage >= Stage::net_rx_action;
        CHECK((req.stamps[i].tid != sender) == softirq_side);
    }
    const nlohmann::json j = apps::trace_events(traces);
    REQUIRE(j.contains("traceEvents"));
    bool named = false, on_thread = false;
    for (const auto& e : j["traceEvents"]) {
        if (e["ph"] == "M" && e["name"] == "thread_name" && e["args"]["name"] == "ksoftirqd/0") named = true;
        if (e["name"] == "process_backlog") on_thread = e["tid"] != sender;
        if (e["ph"] == "X") CHECK(e["dur"].get<double>() >= 0);
    }
    CHECK(named);
    CHECK(on_thread);
    CHECK(nlohmann::json::parse(j.dump())["traceEvents"].size() == j["traceEvents"].size());
}

TEST_CASE("trace: a dropped packet's trace ends in kfree_skb with its reason", "[trace]") {
    Stack stack;
    UdpSocket u(stack);
    stack.ip().trace_next(1);
    const std::uint8_t byte = 1;
    REQUIRE_FALSE(u.sendto(kInaddrLoopback, 9, {&byte, 1}));  // nobody on port 9
    std::vector<Trace> all = TraceLog::instance().take(1);
    REQUIRE_FALSE(all.empty());
    const Trace& t = all.front();
    CHECK(stage_name(t.stamps[t.count - 1].stage) == "kfree_skb");
    CHECK(t.drop == DropReason::no_socket);
    CHECK(apps::trace_text(t).find("reason NO_SOCKET") != std::string::npos);
}

TEST_CASE("trace: untraced packets carry no stamps and the trace clock is the monotonic one", "[trace]") {
    Stack stack;
    PingSocket sock(stack);
    std::vector<std::uint8_t> payload(8), got(8);
    REQUIRE_FALSE(sock.send_echo(kInaddrLoopback, 1, payload));
    EchoReply r;
    REQUIRE_FALSE(sock.recv_echo(r, got, stack.clock().now_ns() + kNsPerSec));
    CHECK(TraceLog::instance().take(sock.trace_id(1)).empty());
    const std::int64_t a = MonotonicClock::instance().now_ns();
    const std::int64_t t = trace_clock_ns();
    const std::int64_t b = MonotonicClock::instance().now_ns();
    CHECK(t >= a - 1'000'000);  // within a millisecond of CLOCK_MONOTONIC
    CHECK(t <= b + 1'000'000);
}
