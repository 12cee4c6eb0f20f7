#include "tools/lab/runner.hpp"

#include <algorithm>
#include <cstdlib>

#include "tools/lab/meters.hpp"

namespace vlo::lab {

double CellSummary::min_ops() const {
    return ops_per_s.empty() ? 0 : *std::min_element(ops_per_s.begin(), ops_per_s.end());
}
double CellSummary::max_ops() const {
    return ops_per_s.empty() ? 0 : *std::max_element(ops_per_s.begin(), ops_per_s.end());
}
double CellSummary::spread_pct() const {
    const double m = median.ops_per_s();
    return m > 0 ? 100.0 * (max_ops() - min_ops()) / m : 0;
}

std::string cell_label(const CellSpec& s) {
    if (s.kernel) return "kernel";
    return s.design.queue_name() + "/" + s.design.worker_name() +
           " cpus=" + std::to_string(s.design.cpus);
}

namespace {
// The values given, each once, in the order given; `all` if none was.
template <class T>
std::vector<T> chosen(const std::vector<T>& given, std::vector<T> all) {
    if (given.empty()) return all;
    std::vector<T> out;
    for (const T& v : given)
        if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
    return out;
}
}  // namespace

std::vector<CellSpec> plan_cells(const LabOptions& o) {
    const auto workloads = chosen(
        o.workloads, std::vector<Workload>(std::begin(kAllWorkloads), std::end(kAllWorkloads)));
    const auto queues = chosen(o.queues, {QueueKind::list, QueueKind::ring});
    const bool default_workers = o.workers.empty();
    const auto workers =
        chosen(o.workers, {WorkerKind::softirq, WorkerKind::ksoftirqd, WorkerKind::busypoll});
    const auto cpus = chosen(o.cpus, {1u, 2u});

    std::vector<CellSpec> plan;
    auto add = [&](Workload w, bool kernel, Design d) {
        CellSpec s;
        s.workload = w;
        s.kernel = kernel;
        s.design = d;
        s.seconds = o.cell_seconds();
        s.quick = o.quick;
        // The offered-load sweep for the drops plot: once per worker, on the first queue and CPU
        // count.
        s.sweep = w == Workload::overload && d.queue == queues.front() && d.cpus == cpus.front();
        plan.push_back(s);
    };
    for (Workload w : workloads) {
        if (has_kernel_twin(w)) add(w, true, Design{});
        if (w == Workload::listeners) {
            // Bind time and memory do not depend on the receive design: one cell, the first design.
            add(w, false, Design{queues.front(), workers.front(), cpus.front()});
            continue;
        }
        for (QueueKind q : queues)
            for (WorkerKind k : workers)
                for (unsigned n : cpus) add(w, false, Design{q, k, n});
        // inline is the single-threaded, deterministic design: by default it runs where one
        // application thread does everything, ping.
        if (default_workers && w == Workload::icmp_echo)
            for (QueueKind q : queues) add(w, false, Design{q, WorkerKind::inline_, 1});
        // Designs from plugins, beside the built-ins: a queue under each worker, a worker over
        // the first queue.
        for (const std::string& q : o.plugin_queues)
            for (WorkerKind k : workers)
                for (unsigned n : cpus) add(w, false, Design{queues.front(), k, n, q, {}});
        for (const std::string& k : o.plugin_workers)
            for (unsigned n : cpus)
                add(w, false, Design{queues.front(), workers.front(), n, {}, k});
    }
    return plan;
}

LabReport run_lab(const LabOptions& o, const Progress& progress) {
    LabReport report;
    report.options = o;
    const std::int64_t t0 = mono_ns();
    const std::vector<CellSpec> plan = plan_cells(o);
    const std::size_t total = plan.size() * static_cast<std::size_t>(o.repeat);
    std::size_t index = 0;
    for (const CellSpec& spec : plan) {
        CellSummary sum;
        std::vector<CellResult> runs;
        for (int rep = 0; rep < o.repeat; ++rep) {
            if (progress) progress(index, total, spec, rep);
            ++index;
            CellSpec s = spec;
            s.sweep = spec.sweep && rep == 0;  // one sweep is enough
            CellResult r = run_cell(s);
            ++sum.repeats;
            if (r.overload)
                sum.worst_unaccounted =
                    std::max(sum.worst_unaccounted, std::abs(r.overload->unaccounted));
            if (!r.ok) {
                ++sum.failures;
                sum.last_error = r.error;
                if (sum.failures == sum.repeats && rep + 1 == o.repeat) sum.median = std::move(r);
                continue;
            }
            sum.ops_per_s.push_back(r.ops_per_s());
            runs.push_back(std::move(r));
        }
        if (!runs.empty()) {
            // The lower median run stands for the cell; its sweep, if another run had it, joins.
            std::vector<std::size_t> order(runs.size());
            for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
            std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
                return runs[a].ops_per_s() < runs[b].ops_per_s();
            });
            const std::size_t mid = order[(order.size() - 1) / 2];
            for (auto& r : runs)
                if (&r != &runs[mid] && r.overload && !r.overload->sweep.empty() &&
                    runs[mid].overload)
                    runs[mid].overload->sweep = std::move(r.overload->sweep);
            sum.median = std::move(runs[mid]);
        }
        sum.median.spec = spec;
        report.cells.push_back(std::move(sum));
    }
    report.wall_seconds = static_cast<double>(mono_ns() - t0) / 1e9;
    return report;
}

}  // namespace vlo::lab
