#include "tools/lab/report.hpp"

#include <sys/utsname.h>

#include <cstdio>
#include <map>
#include <thread>

namespace vlo::lab {

namespace {

using nlohmann::json;

// The kernel's ops/s per workload, for the ratios.
std::map<Workload, double> kernel_rates(const LabReport& report) {
    std::map<Workload, double> k;
    for (const CellSummary& c : report.cells)
        if (c.median.spec.kernel && c.ok()) k[c.median.spec.workload] = c.median.ops_per_s();
    return k;
}

bool is_bulk(Workload w) {
    return w == Workload::tcp_bulk_1 || w == Workload::tcp_bulk_4 || w == Workload::tcp_bulk_lossy;
}

json optional_count(const std::optional<std::uint64_t>& v);

// A count and its rate per MiB written, null (never 0) when the stack does not keep it.
void per_mib(json& j, const std::string& name, const std::optional<std::uint64_t>& v, double mib) {
    j[name] = optional_count(v);
    j[name + "_per_mib"] = v && mib > 0 ? json(static_cast<double>(*v) / mib) : json(nullptr);
}

std::optional<std::uint64_t> sum(const std::optional<std::uint64_t>& a,
                                 const std::optional<std::uint64_t>& b) {
    if (!a && !b) return std::nullopt;
    return a.value_or(0) + b.value_or(0);
}

// tcp_bulk_lossy's figures into its record: goodput is gbit_per_s; recoveries per MiB written.
void add_loss_fields(json& j, const LossFigures& l, std::uint64_t bytes) {
    const double mib = static_cast<double>(bytes) / (1 << 20);
    j["netem"] = std::string("dev lo ") + kLossyNetem;
    j["seed"] = kLossySeed;
    j["mib"] = mib;
    per_mib(j, "rtos", l.rtos, mib);
    per_mib(j, "fast_recoveries", sum(l.sack_recoveries, l.reno_recoveries), mib);
    per_mib(j, "sack_recoveries", l.sack_recoveries, mib);
    per_mib(j, "reno_recoveries", l.reno_recoveries, mib);
    per_mib(j, "loss_probes", l.loss_probes, mib);
    per_mib(j, "retrans_segs", l.retrans_segs, mib);
    j["netem_packets"] = l.netem_packets;
    j["netem_lost"] = l.netem_lost;
    json missing = json::array();
    if (!l.rtos) missing.push_back("TcpExtTCPTimeouts");
    if (!l.sack_recoveries) missing.push_back("TcpExtTCPSackRecovery");
    if (!l.reno_recoveries) missing.push_back("TcpExtTCPRenoRecovery");
    if (!l.loss_probes) missing.push_back("TcpExtTCPLossProbes");
    j["counters_not_kept"] = std::move(missing);  // by this stack's TCP: null above, not 0
}

double per_op(double total, std::uint64_t ops) {
    return ops ? total / static_cast<double>(ops) : 0;
}

json optional_count(const std::optional<std::uint64_t>& v) { return v ? json(*v) : json(nullptr); }

json cell_json(const CellSummary& c, const std::map<Workload, double>& kernel) {
    const CellResult& r = c.median;
    const CellSpec& s = r.spec;
    json j;
    j["workload"] = workload_name(s.workload);
    j["stack"] = s.kernel ? "kernel" : "vlo";
    j["queue"] = s.kernel ? json(nullptr) : json(s.design.queue_name());
    j["worker"] = s.kernel ? json(nullptr) : json(s.design.worker_name());
    j["cpus"] = s.kernel ? std::max(1u, std::thread::hardware_concurrency()) : s.design.cpus;
    j["ok"] = c.ok();
    if (!c.last_error.empty()) j["error"] = c.last_error;
    j["repeats"] = c.repeats;
    j["failed_repeats"] = c.failures;
    j["ops"] = r.ops;
    j["seconds"] = r.seconds;
    j["ops_per_s"] = r.ops_per_s();
    j["ops_per_s_min"] = c.min_ops();
    j["ops_per_s_max"] = c.max_ops();
    j["spread_pct"] = c.spread_pct();
    const auto k = kernel.find(s.workload);
    j["ratio_to_kernel"] = !s.kernel && k != kernel.end() && k->second > 0
                               ? json(r.ops_per_s() / k->second)
                               : json(nullptr);
    j["p50_us"] = r.latency.percentile(0.50) / 1000;
    j["p99_us"] = r.latency.percentile(0.99) / 1000;
    j["p999_us"] = r.latency.percentile(0.999) / 1000;
    j["cpu_ns_per_op"] = per_op(static_cast<double>(r.cpu_ns), r.ops);
    j["ctx_switches_per_op"] = per_op(static_cast<double>(r.ctx_switches), r.ops);
    j["drops"] = r.drops;
    if (!s.kernel) {
        j["all_drops"] = r.all_drops;
        json reasons = json::object();
        for (const auto& [name, n] : r.drop_reasons) reasons[name] = n;
        j["drop_reasons"] = std::move(reasons);
    }
    j["time_squeeze"] = r.time_squeeze;
    j["net_rx_runs_in_sender"] = optional_count(r.runs_in_sender);
    j["net_rx_runs_in_ksoftirqd"] = optional_count(r.runs_in_ksoftirqd);
    j["net_rx_runs_in_busypoll"] = optional_count(r.runs_in_busypoll);
    j["ksoftirqd_wakeups"] = optional_count(r.ksoftirqd_wakeups);
    j["errors"] = r.errors;
    if (is_bulk(s.workload))
        j["gbit_per_s"] = r.seconds > 0 ? static_cast<double>(r.bytes) * 8 / r.seconds / 1e9 : 0;
    if (r.losses) add_loss_fields(j, *r.losses, r.bytes);
    if (const char* why = kernel_not_applicable(s.workload))
        j["kernel_baseline"] = std::string("not applicable: ") + why;
    json cdf = json::array();
    for (const auto& [us, frac] : r.latency.cdf(120)) cdf.push_back({us, frac});
    j["latency_cdf"] = std::move(cdf);
    if (const auto& o = r.overload) {
        json sweep = json::array();
        for (const SweepPoint& p : o->sweep)
            sweep.push_back({{"offered_factor", p.offered_factor},
                             {"netdev_max_backlog", p.netdev_max_backlog},
                             {"sent", p.sent},
                             {"delivered", p.delivered},
                             {"dropped", p.dropped}});
        j["overload"] = {
            {"sent", o->sent},
            {"delivered", o->delivered},
            {"dropped", o->dropped},
            {"backlog_drops", o->backlog_drops},
            {"socket_drops", o->socket_drops},
            {"unaccounted", o->unaccounted},
            {"worst_unaccounted_over_repeats", c.worst_unaccounted},
            {"burst", o->burst},
            {"offered_per_s", r.seconds > 0 ? static_cast<double>(o->sent) / r.seconds : 0},
            {"pool_heap_allocations", o->pool_heap_allocations},
            {"heap_delta_bytes", o->heap_delta_bytes},
            {"sweep", std::move(sweep)}};
    }
    if (const auto& l = r.listeners) {
        j["listeners"] = {
            {"target", l->target},
            {"bound", l->bound},
            {"bind_seconds", l->bind_seconds},
            {"bytes_per_listener", l->bytes_per_listener},
            {"sizeof_tcp_sock", l->sizeof_tcp_sock},
            {"projected_seconds_all", l->projected_seconds_all},
            {"projected_gib_all", l->projected_gib_all},
            {"sample", l->sample},
            {"sample_ok", l->sample_ok},
            {"stopped_by", l->stopped_by.empty() ? json(nullptr) : json(l->stopped_by)}};
    }
    return j;
}

template <class... Args>
std::string fmt(const char* f, Args... args) {
    char buf[1024];
    std::snprintf(buf, sizeof buf, f, args...);
    return buf;
}

// 1234567 -> "1.23 M"; keeps the table narrow.
std::string si(double v) {
    if (v >= 1e9) return fmt("%.2f G", v / 1e9);
    if (v >= 1e6) return fmt("%.2f M", v / 1e6);
    if (v >= 1e3) return fmt("%.1f k", v / 1e3);
    return fmt("%.0f", v);
}

std::string us(double ns) {
    return ns >= 100'000 ? fmt("%.0f", ns / 1000) : fmt("%.1f", ns / 1000);
}

}  // namespace

json report_json(const LabReport& report) {
    const auto kernel = kernel_rates(report);
    json results = json::array();
    for (const CellSummary& c : report.cells) results.push_back(cell_json(c, kernel));
    // Workloads of this run whose kernel row is left out on purpose, and why.
    json not_applicable = json::object();
    for (const CellSummary& c : report.cells)
        if (const char* why = kernel_not_applicable(c.median.spec.workload))
            not_applicable[std::string(workload_name(c.median.spec.workload))] = why;
    utsname u{};
    uname(&u);
    return {{"results", std::move(results)},
            {"kernel_not_applicable", std::move(not_applicable)},
            {"quick", report.options.quick},
            {"cell_seconds", report.options.cell_seconds()},
            {"repeats", report.options.repeat},
            {"wall_seconds", report.wall_seconds},
            {"machine", {{"cpus", std::thread::hardware_concurrency()}, {"kernel", u.release}}}};
}

std::string report_markdown(const LabReport& report) {
    const auto kernel = kernel_rates(report);
    std::string out;
    out +=
        fmt("vlo-lab: %zu cells, median of %d, %.2f s each; the kernel is lo on 127.0.0.1 in the "
            "same run.\n\n",
            report.cells.size(), report.options.repeat, report.options.cell_seconds());
    out +=
        "| workload | stack | queue/worker | cpus | ops/s | x kernel | p50 us | p99 us | p99.9 us "
        "| CPU ns/op "
        "| ctxsw/op | drops | squeeze | NET_RX sender/ksoftirqd/busypoll | spread |\n";
    out += "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n";
    for (const CellSummary& c : report.cells) {
        const CellResult& r = c.median;
        const CellSpec& s = r.spec;
        std::string design = s.kernel ? "-" : s.design.queue_name() + "/" + s.design.worker_name();
        std::string rate = c.ok() ? si(r.ops_per_s()) : "FAILED: " + c.last_error;
        if (is_bulk(s.workload) && c.ok())
            rate += fmt(" (%.1f Gbit/s)", static_cast<double>(r.bytes) * 8 / r.seconds / 1e9);
        std::string ratio = "-";
        if (const auto k = kernel.find(s.workload);
            !s.kernel && k != kernel.end() && k->second > 0 && c.ok())
            ratio = fmt("%.2f", r.ops_per_s() / k->second);
        // Backlog drops, and in brackets the other packets vlo freed undelivered (no socket,
        // socket backlog, ...), when there were any.
        std::string drops = std::to_string(r.drops);
        if (r.all_drops > r.drops) drops += " (+" + std::to_string(r.all_drops - r.drops) + ")";
        std::string runs = "-";
        if (r.runs_in_sender)
            runs = std::to_string(*r.runs_in_sender) + "/" + std::to_string(*r.runs_in_ksoftirqd) +
                   "/" + std::to_string(*r.runs_in_busypoll);
        out += "| " + std::string(workload_name(s.workload)) + " | " +
               (s.kernel ? "kernel" : "vlo") + " | " + design + " | " +
               (s.kernel ? "-" : std::to_string(s.design.cpus)) + " | " + rate + " | " + ratio +
               " | " + us(r.latency.percentile(0.5)) + " | " + us(r.latency.percentile(0.99)) +
               " | " + us(r.latency.percentile(0.999)) + " | " +
               fmt("%.0f", per_op(static_cast<double>(r.cpu_ns), r.ops)) + " | " +
               fmt("%.2f", per_op(static_cast<double>(r.ctx_switches), r.ops)) + " | " + drops +
               " | " + std::to_string(r.time_squeeze) + " | " + runs + " | " +
               fmt("%.0f%%", c.spread_pct()) + " |\n";
    }
    bool any_overload = false;
    for (const CellSummary& c : report.cells) {
        const auto& o = c.median.overload;
        if (!o) continue;
        if (!any_overload) {
            out +=
                "\noverload (bursts of 10 x (netdev_max_backlog + 1) with bottom halves off; ops = "
                "delivered):\n\n"
                "| design | sent | delivered | dropped (backlog/socket) | sent-delivered-dropped | "
                "pool heap allocs "
                "| heap delta |\n|---|---:|---:|---:|---:|---:|---:|\n";
            any_overload = true;
        }
        out += "| " + cell_label(c.median.spec) + " | " + std::to_string(o->sent) + " | " +
               std::to_string(o->delivered) + " | " + std::to_string(o->dropped) + " (" +
               std::to_string(o->backlog_drops) + "/" + std::to_string(o->socket_drops) + ") | " +
               std::to_string(o->unaccounted) + " | " + std::to_string(o->pool_heap_allocations) +
               " | " + si(static_cast<double>(o->heap_delta_bytes)) + "B |\n";
    }
    bool lossy_header = false;
    for (const CellSummary& c : report.cells) {
        const auto& l = c.median.losses;
        if (!l || !c.ok()) continue;
        if (!lossy_header) {
            out += std::string("\ntcp_bulk_lossy (netem on lo: ") + kLossyNetem + ", seed " +
                   std::to_string(kLossySeed) +
                   "; per MiB written, '-' where this TCP keeps no such counter):\n\n"
                   "| design | Gbit/s | RTOs/MiB | fast recoveries/MiB | loss probes/MiB | "
                   "retransmits/MiB | netem lost |\n|---|---:|---:|---:|---:|---:|---:|\n";
            lossy_header = true;
        }
        const double mib = static_cast<double>(c.median.bytes) / (1 << 20);
        auto rate = [&](const std::optional<std::uint64_t>& v) {
            return v && mib > 0 ? fmt("%.2f", static_cast<double>(*v) / mib) : std::string("-");
        };
        out += "| " + cell_label(c.median.spec) + " | " +
               fmt("%.3f", static_cast<double>(c.median.bytes) * 8 / c.median.seconds / 1e9) +
               " | " + rate(l->rtos) + " | " + rate(sum(l->sack_recoveries, l->reno_recoveries)) +
               " | " + rate(l->loss_probes) + " | " + rate(l->retrans_segs) + " | " +
               std::to_string(l->netem_lost) + " |\n";
    }
    if (lossy_header)
        out += std::string("\nThe kernel: not applicable, ") +
               kernel_not_applicable(Workload::tcp_bulk_lossy) + ".\n";
    for (const CellSummary& c : report.cells) {
        const auto& l = c.median.listeners;
        if (!l) continue;
        out += fmt(
            "\nlisteners: %llu of %llu bound in %.2f s (%s/s), %llu B of heap each "
            "(sizeof(TcpSock) %llu); "
            "all of 127/8 would take %.0f s and %.1f GiB (target: 60 s, 4 GiB); %llu/%llu sampled "
            "connections "
            "reached their own listener%s.\n",
            static_cast<unsigned long long>(l->bound), static_cast<unsigned long long>(l->target),
            l->bind_seconds, si(c.median.ops_per_s()).c_str(),
            static_cast<unsigned long long>(l->bytes_per_listener),
            static_cast<unsigned long long>(l->sizeof_tcp_sock), l->projected_seconds_all,
            l->projected_gib_all, static_cast<unsigned long long>(l->sample_ok),
            static_cast<unsigned long long>(l->sample),
            l->stopped_by.empty() ? "" : (" (stopped by the " + l->stopped_by + " limit)").c_str());
    }
    return out;
}

}  // namespace vlo::lab
