#include "tools/lab/cell.hpp"

#include <exception>

#include "tools/lab/workloads.hpp"

namespace vlo::lab {

std::string_view workload_name(Workload w) {
    switch (w) {
        case Workload::icmp_echo:
            return "icmp_echo";
        case Workload::udp_rr_1B:
            return "udp_rr_1B";
        case Workload::tcp_rr_1B:
            return "tcp_rr_1B";
        case Workload::tcp_rr_64B:
            return "tcp_rr_64B";
        case Workload::tcp_crr:
            return "tcp_crr";
        case Workload::tcp_bulk_1:
            return "tcp_bulk_1";
        case Workload::tcp_bulk_4:
            return "tcp_bulk_4";
        case Workload::tcp_bulk_lossy:
            return "tcp_bulk_lossy";
        case Workload::overload:
            return "overload";
        case Workload::listeners:
            return "listeners";
    }
    return "?";
}

std::optional<Workload> parse_workload(std::string_view name) {
    for (Workload w : kAllWorkloads)
        if (workload_name(w) == name) return w;
    return std::nullopt;
}

bool has_kernel_twin(Workload w) {
    return w != Workload::overload && w != Workload::listeners && !kernel_not_applicable(w);
}

const char* kernel_not_applicable(Workload w) {
    if (w != Workload::tcp_bulk_lossy) return nullptr;
    // The same impairment on the kernel's side would be `tc qdisc add dev lo root netem ...`.
    return "the kernel's lo cannot be impaired here: these machines' kernel is built without "
           "sch_netem, and netem on the host's lo would impair every other program on it";
}

StackConfig design_config(const Design& d) {
    StackConfig c;
    c.core.queue = d.queue;
    c.core.worker = d.worker;
    c.core.queue_design = d.queue_design;
    c.core.worker_design = d.worker_design;
    c.core.cpus = d.cpus;
    return c;
}

CellResult run_cell(const CellSpec& spec) {
    try {
        if (spec.kernel) return run_kernel_cell(spec);
        switch (spec.workload) {
            case Workload::overload:
                return run_overload_cell(spec);
            case Workload::listeners:
                return run_listeners_cell(spec);
            default:
                return run_vlo_cell(spec);
        }
    } catch (const std::exception& e) {  // std::thread, std::bad_alloc: report, do not die
        CellResult r;
        r.spec = spec;
        r.ok = false;
        r.error = e.what();
        return r;
    }
}

}  // namespace vlo::lab
