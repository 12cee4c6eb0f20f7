// vlo-lab: its command line, its plan of cells, the latency histogram, and tiny cells run
// in-process: the JSON every record carries, the overload invariant (every packet sent is
// delivered or dropped and counted), and listeners each reached by their own connection.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "stack/stack.hpp"
#include "stack/tcp_socket.hpp"
#include "tools/lab/cell.hpp"
#include "tools/lab/histogram.hpp"
#include "tools/lab/lab_options.hpp"
#include "tools/lab/report.hpp"
#include "tools/lab/runner.hpp"

using namespace vlo;
using namespace vlo::lab;

namespace {

LabParse parse(std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    return parse_lab_options(static_cast<int>(args.size()), argv.data());
}

CellSpec overload_spec(Design d) {
    CellSpec s;
    s.workload = Workload::overload;
    s.design = d;
    s.seconds = 0.05;
    return s;
}

}  // namespace

TEST_CASE("vlo-lab rejects bad arguments with a reason and exit code 2", "[lab]") {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"vlo-lab", "--workload", "tcp_rr_2B"},
             {"vlo-lab", "--queue", "heap"},
             {"vlo-lab", "--worker", "napi"},
             {"vlo-lab", "--cpus", "0"},
             {"vlo-lab", "--repeat", "x"},
             {"vlo-lab", "--time", "0"},
             {"vlo-lab", "--json"},
             {"vlo-lab", "--frobnicate"},
             {"vlo-lab", "extra"},
         }) {
        const LabParse p = parse(args);
        CHECK_FALSE(p.options);
        CHECK(p.exit_code == 2);
        CHECK(p.show_usage);
        CHECK_FALSE(p.message.empty());
        CHECK(p.message.find('\n') == std::string::npos);
    }
    CHECK(parse({"vlo-lab", "--cpus", "0"}).message == "invalid --cpus: '0' (1 to 64)");
    CHECK(parse({"vlo-lab", "--frobnicate"}).message == "unrecognized option: --frobnicate");
    const LabParse help = parse({"vlo-lab", "-h"});
    CHECK(help.exit_code == 0);
    CHECK(help.show_usage);

    const LabParse ok =
        parse({"vlo-lab", "--quick", "--repeat", "3", "--workload", "tcp_crr", "--queue", "ring",
               "--worker", "busypoll", "--cpus", "2", "--json", "x.json", "--plots", "d"});
    REQUIRE(ok.options);
    CHECK(ok.options->quick);
    CHECK(ok.options->repeat == 3);
    CHECK(ok.options->workloads == std::vector{Workload::tcp_crr});
    CHECK(ok.options->queues == std::vector{QueueKind::ring});
    CHECK(ok.options->workers == std::vector{WorkerKind::busypoll});
    CHECK(ok.options->cpus == std::vector{2u});
    CHECK(ok.options->cell_seconds() == 0.25);
    CHECK(ok.options->json_path == "x.json");
    CHECK(ok.options->plots_dir == "d");
}

TEST_CASE("the default plan puts every design beside the kernel", "[lab]") {
    LabOptions o;
    o.quick = true;
    const auto plan = plan_cells(o);
    std::set<std::string> kernel, designs;
    std::size_t listeners = 0, inline_cells = 0;
    for (const CellSpec& s : plan) {
        if (s.kernel) kernel.insert(std::string(workload_name(s.workload)));
        if (s.workload == Workload::tcp_rr_1B && !s.kernel) designs.insert(cell_label(s));
        if (s.workload == Workload::listeners) ++listeners;
        if (!s.kernel && s.design.worker == WorkerKind::inline_) {
            ++inline_cells;
            CHECK(s.workload == Workload::icmp_echo);
        }
        CHECK(s.seconds == 0.25);
    }
    CHECK(kernel == std::set<std::string>{"icmp_echo", "udp_rr_1B", "tcp_rr_1B", "tcp_rr_64B",
                                          "tcp_crr", "tcp_bulk_1", "tcp_bulk_4"});
    CHECK(designs.size() == 12);  // list, ring x softirq, ksoftirqd, busypoll x 1, 2 CPUs
    CHECK(designs.count("ring/busypoll cpus=2") == 1);
    CHECK(listeners == 1);
    CHECK(inline_cells == 2);
    CHECK(plan.size() == 7 + 9 * 12 + 2 + 1);  // tcp_bulk_lossy has no kernel row

    o.workloads = {Workload::udp_rr_1B, Workload::udp_rr_1B};
    o.workers = {WorkerKind::inline_};
    o.cpus = {1};
    o.queues = {QueueKind::list};
    const auto one = plan_cells(o);
    REQUIRE(one.size() == 2);  // the kernel and one design, given twice
    CHECK(one[0].kernel);
    CHECK(cell_label(one[1]) == "list/inline cpus=1");
}

TEST_CASE("the latency histogram keeps percentiles within its resolution", "[lab]") {
    LatencyHistogram h;
    for (int i = 1; i <= 1000; ++i) h.record(i * 1000);  // 1..1000 us
    CHECK(h.count() == 1000);
    CHECK(h.percentile(0.5) == Approx(500'000).epsilon(0.04));
    CHECK(h.percentile(0.99) == Approx(990'000).epsilon(0.04));
    CHECK(h.percentile(0.999) == Approx(999'000).epsilon(0.04));
    h.record(7);  // small values are exact
    LatencyHistogram small;
    small.record(7);
    CHECK(small.percentile(0.5) == 7);
    const auto cdf = h.cdf(50);
    REQUIRE(cdf.size() == 50);
    CHECK(cdf.back().second == 1.0);
    CHECK(std::is_sorted(cdf.begin(), cdf.end()));
    LatencyHistogram merged;
    merged.merge(h);
    merged.merge(small);
    CHECK(merged.count() == 1002);
    h.record(std::int64_t{1} << 40);  // beyond the top bucket: clamped, still counted
    CHECK(h.count() == 1002);
}

TEST_CASE("overload accounts for every packet in every design", "[lab]") {
    for (const Design& d : {Design{QueueKind::list, WorkerKind::softirq, 1},
                            Design{QueueKind::ring, WorkerKind::ksoftirqd, 2},
                            Design{QueueKind::list, WorkerKind::busypoll, 1}}) {
        const CellResult r = run_cell(overload_spec(d));
        INFO(cell_label(r.spec) << ": " << r.error);
        REQUIRE(r.ok);
        REQUIRE(r.overload);
        const OverloadFigures& f = *r.overload;
        CHECK(f.sent > 0);
        CHECK(f.burst == 10 * 1001);  // ten times netdev_max_backlog + 1
        CHECK(f.dropped > 0);
        CHECK(f.backlog_drops > 0);
        CHECK(f.sent - f.delivered - f.dropped == 0);
        CHECK(f.unaccounted == 0);
        CHECK(r.drops == f.backlog_drops);  // softnet_stat's dropped, as the kernel rows
        CHECK(r.all_drops == f.dropped);
        CHECK(r.ops == f.delivered);
    }
    // inline (the softirq design without ksoftirqd, so nothing else drains): while bottom
    // halves are off nothing is processed, so each burst delivers exactly netdev_max_backlog + 1,
    // and NET_RX runs in the sender, squeezed by netdev_budget.
    const CellResult r = run_cell(overload_spec(Design{QueueKind::list, WorkerKind::inline_, 1}));
    REQUIRE(r.overload);
    const std::uint64_t bursts = r.overload->sent / r.overload->burst;
    CHECK(r.overload->sent == bursts * r.overload->burst);
    CHECK(r.overload->delivered == bursts * 1001);
    CHECK(r.overload->backlog_drops == bursts * (r.overload->burst - 1001));
    CHECK(r.time_squeeze > 0);
    CHECK(*r.runs_in_sender > 0);
    CHECK(*r.runs_in_ksoftirqd == 0);
}

TEST_CASE("tiny lab runs give every JSON field with vlo beside the kernel", "[lab]") {
    LabOptions o;
    o.workloads = {Workload::udp_rr_1B, Workload::overload};
    o.queues = {QueueKind::list};
    o.workers = {WorkerKind::softirq};
    o.cpus = {1};
    o.seconds = 0.05;
    o.repeat = 2;
    std::vector<std::size_t> progress;
    const LabReport report =
        run_lab(o, [&](std::size_t i, std::size_t total, const CellSpec&, int) {
            progress.push_back(total - i);  // runs left, this one included
        });
    CHECK(progress == std::vector<std::size_t>{6, 5, 4, 3, 2, 1});
    const nlohmann::json j = report_json(report);
    const auto& recs = j.at("results");
    REQUIRE(recs.size() == 3);
    for (const auto& r : recs) {
        for (const char* key : {"workload", "stack", "queue", "worker", "cpus", "ops_per_s",
                                "p50_us", "p99_us", "p999_us", "cpu_ns_per_op", "drops",
                                "time_squeeze", "ctx_switches_per_op", "repeats"})
            CHECK(r.contains(key));
        CHECK(r.at("repeats") == 2);
        CHECK(r.at("ok") == true);
        CHECK(r.at("ops_per_s").get<double>() > 0);
        CHECK(r.at("p50_us").get<double>() <= r.at("p99_us").get<double>());
        CHECK(r.at("p99_us").get<double>() <= r.at("p999_us").get<double>());
    }
    CHECK(recs[0].at("stack") == "kernel");
    CHECK(recs[0].at("queue").is_null());
    CHECK(recs[0].at("worker").is_null());
    CHECK(recs[0].at("ratio_to_kernel").is_null());
    CHECK(recs[1].at("stack") == "vlo");
    CHECK(recs[1].at("workload") == "udp_rr_1B");
    CHECK(recs[1].at("queue") == "list");
    CHECK(recs[1].at("worker") == "softirq");
    CHECK(recs[1].at("cpus") == 1);
    CHECK(recs[1].at("ratio_to_kernel").get<double>() > 0);
    CHECK(recs[1].at("net_rx_runs_in_sender").get<std::uint64_t>() > 0);
    const auto& ov = recs[2];
    CHECK(ov.at("workload") == "overload");
    CHECK(ov.at("drops").get<std::uint64_t>() > 0);
    const auto& f = ov.at("overload");
    CHECK(f.at("sent").get<std::int64_t>() - f.at("delivered").get<std::int64_t>() -
              f.at("dropped").get<std::int64_t>() ==
          0);
    CHECK(f.at("worst_unaccounted_over_repeats") == 0);
    CHECK(f.at("sweep").size() == 15);  // the first repeat sweeps 3 backlogs x 5 loads

    const std::string table = report_markdown(report);
    CHECK(table.find("| udp_rr_1B | vlo | list/softirq | 1 |") != std::string::npos);
    CHECK(table.find("| udp_rr_1B | kernel |") != std::string::npos);
}

TEST_CASE("each sampled connection reaches the listener of its own 127/8 address", "[lab]") {
    CellSpec s;
    s.workload = Workload::listeners;
    s.quick = true;
    s.listener_count = 300;
    const CellResult r = run_cell(s);
    INFO(r.error);
    REQUIRE(r.ok);
    REQUIRE(r.listeners);
    CHECK(r.listeners->bound == 300);
    CHECK(r.listeners->stopped_by.empty());
    CHECK(r.listeners->sample == 64);
    CHECK(r.listeners->sample_ok == 64);
    CHECK(r.listeners->bytes_per_listener > 0);
    CHECK(r.ops == 300);
}

TEST_CASE("a byte ring grows as data comes and keeps its order across the wrap", "[lab]") {
    ByteRing ring(1 << 20);
    CHECK(ring.allocated() == 0);  // nothing reserved up front
    std::vector<std::uint8_t> in(3000);
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<std::uint8_t>(i * 13);
    CHECK(ring.push(in) == 3000);
    CHECK(ring.allocated() == ByteRing::kMinAlloc);
    ring.pop(2500);                // the head moves on...
    CHECK(ring.push(in) == 3000);  // ...so 3500 bytes fit, wrapping round the end
    CHECK(ring.allocated() == ByteRing::kMinAlloc);
    CHECK(ring.push(std::span(in).first(1000)) == 1000);  // 4500: grows, wrapped contents in order
    CHECK(ring.allocated() == 2 * ByteRing::kMinAlloc);
    std::vector<std::uint8_t> out(4500);
    ring.copy_out(0, out);
    CHECK(std::equal(out.begin(), out.begin() + 500, in.begin() + 2500));
    CHECK(std::equal(out.begin() + 500, out.begin() + 3500, in.begin()));
    CHECK(std::equal(out.begin() + 3500, out.end(), in.begin()));
    ring.release_if_empty();
    CHECK(ring.allocated() == 2 * ByteRing::kMinAlloc);  // not empty: kept
    ring.pop(4500);
    ring.release_if_empty();
    CHECK(ring.allocated() == 0);
    ByteRing small(5000);
    CHECK(small.push(std::vector<std::uint8_t>(6000)) == 5000);
    CHECK(small.allocated() == 5000);  // never beyond the capacity
}

TEST_CASE("a connection in TIME_WAIT holds no buffers", "[lab]") {
    StackConfig c;
    c.core.worker = WorkerKind::inline_;
    VirtualClock clock;
    Stack stack(c, clock);
    TcpSocket listener(stack), client(stack);
    REQUIRE_FALSE(listener.bind({kInaddrLoopback, 80}));
    REQUIRE_FALSE(listener.listen(4));
    REQUIRE_FALSE(client.connect({kInaddrLoopback, 80}, kNsPerSec));
    std::error_code ec;
    auto server = listener.accept(ec, 0);
    REQUIRE(server);
    const std::vector<std::uint8_t> req(100, 'q');
    std::vector<std::uint8_t> got(100);
    std::size_t n = 0;
    REQUIRE_FALSE(client.send(req, n));
    REQUIRE_FALSE(server->recv(got, n, 0));
    REQUIRE_FALSE(server->send(got, n));
    REQUIRE_FALSE(client.recv(got, n, 0));
    CHECK(client.sock().sndq.allocated() > 0);
    CHECK(client.sock().rcvq.allocated() > 0);
    CHECK(client.sock().rcvq.allocated() < c.tcp.tcp_rmem);  // 100 bytes take 4 KiB, not 4 MiB
    client.close();                                          // the active closer ends in TIME_WAIT
    server->close();
    REQUIRE(client.state() == TcpState::time_wait);
    CHECK(client.sock().sndq.allocated() == 0);
    CHECK(client.sock().rcvq.allocated() == 0);
}

TEST_CASE("a bulk transfer with a lagging reader loses nothing on lo", "[lab]") {
    // The lab's tcp_bulk found retransmission timeouts on lossless lo: a kept window, rounded
    // to the scale, was re-based and refused the sender's segments up to the edge it had seen.
    StackConfig c;
    c.core.worker = WorkerKind::inline_;
    VirtualClock clock;
    Stack stack(c, clock);
    TcpSocket listener(stack), writer(stack);
    REQUIRE_FALSE(listener.bind({kInaddrLoopback, 5001}));
    REQUIRE_FALSE(listener.listen(4));
    REQUIRE_FALSE(writer.connect({kInaddrLoopback, 5001}, kNsPerSec));
    std::error_code ec;
    auto reader = listener.accept(ec, 0);
    REQUIRE(reader);
    std::vector<std::uint8_t> chunk(64 * 1024), got(256 * 1024);
    std::uint64_t written = 0, read = 0;
    bool in_order = true;
    for (int round = 0; round < 2000; ++round) {
        // Write 64 KiB chunks (byte k of the stream is k mod 256) until the windows close...
        for (std::size_t n = 1; n > 0;) {
            for (std::size_t i = 0; i < chunk.size(); ++i)
                chunk[i] = static_cast<std::uint8_t>(written + i);
            if (writer.try_send(chunk, n)) n = 0;
            written += n;
        }
        // ...then read an odd-sized bite of a few segments. No timer runs (the clock stands still):
        // a refused segment would never be sent again and the stream would stop.
        std::size_t n = 0;
        if (reader->try_recv(std::span(got).first(100'000 + (round * 7919) % 150'000), n)) continue;
        for (std::size_t i = 0; i < n; ++i)
            in_order = in_order && got[i] == static_cast<std::uint8_t>(read + i);
        read += n;
    }
    CHECK(in_order);
    CHECK(read > 8 * c.tcp.tcp_rmem);  // the receive buffer filled and drained many times over
    const TcpStats& s = stack.tcp().stats();
    CHECK(s.tcp.get(TcpMib::RetransSegs) == 0);
    CHECK(s.ext.get(TcpExtMib::TCPOFOQueue) == 0);
    CHECK(s.ext.get(TcpExtMib::TCPZeroWindowDrop) == 0);
}

TEST_CASE("tcp_bulk_lossy reports goodput and recoveries per MiB, and no kernel number", "[lab]") {
    LabOptions o;
    o.workloads = {Workload::tcp_bulk_lossy};
    o.queues = {QueueKind::list};
    o.workers = {WorkerKind::softirq};
    o.cpus = {1};
    o.seconds = 1;  // long enough that a backed-off RTO cannot stall the whole window
    const auto plan = plan_cells(o);
    REQUIRE(plan.size() == 1);  // vlo alone: the kernel's lo has no netem here
    CHECK_FALSE(plan[0].kernel);
    const LabReport report = run_lab(o);
    const nlohmann::json j = report_json(report);
    REQUIRE(j.at("results").size() == 1);
    const auto& r = j.at("results")[0];
    INFO(r.dump(1));
    CHECK(r.at("ok") == true);
    CHECK(r.at("workload") == "tcp_bulk_lossy");
    CHECK(r.at("gbit_per_s").get<double>() > 0);
    CHECK(r.at("netem") == "dev lo loss 5% duplicate 2% reorder 25% 50% delay 1ms corrupt 1%");
    CHECK(r.at("netem_packets").get<std::uint64_t>() > 0);  // the stream crossed netem
    CHECK(r.at("netem_lost").is_number_unsigned());
    CHECK(r.at("rtos").is_number_unsigned());  // TCPTimeouts: kept by every TCP
    CHECK(r.at("rtos_per_mib").is_number());
    for (const char* key : {"sack_recoveries_per_mib", "loss_probes_per_mib",
                            "fast_recoveries_per_mib", "counters_not_kept"})
        CHECK(r.contains(key));
    CHECK(r.at("kernel_baseline").get<std::string>().rfind("not applicable: ", 0) == 0);
    CHECK(j.at("kernel_not_applicable").contains("tcp_bulk_lossy"));
    const std::string table = report_markdown(report);
    CHECK(table.find("tcp_bulk_lossy (netem on lo:") != std::string::npos);
    CHECK(table.find("The kernel: not applicable") != std::string::npos);
}
