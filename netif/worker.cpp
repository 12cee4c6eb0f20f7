#include "netif/worker.hpp"

namespace vlo {

std::optional<WorkerKind> parse_worker_kind(std::string_view name) {
    if (name == "softirq") return WorkerKind::softirq;
    if (name == "ksoftirqd") return WorkerKind::ksoftirqd;
    if (name == "busypoll") return WorkerKind::busypoll;
    if (name == "inline") return WorkerKind::inline_;
    return std::nullopt;
}

std::string_view worker_kind_name(WorkerKind k) {
    switch (k) {
        case WorkerKind::softirq: return "softirq";
        case WorkerKind::ksoftirqd: return "ksoftirqd";
        case WorkerKind::busypoll: return "busypoll";
        case WorkerKind::inline_: return "inline";
    }
    return "?";
}

}  // namespace vlo
