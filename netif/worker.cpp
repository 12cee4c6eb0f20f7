#include "netif/worker.hpp"

#include "netif/designs.hpp"
#include "netif/net_rx.hpp"

#include <utility>

namespace vlo {

namespace {

// The kernel's: NET_RX runs where it was raised, at that thread's bh-enable (__do_softirq with
// its restart and time limits, the rest to ksoftirqd).
class SoftirqDesign final : public WorkerDesign {
  public:
    std::string_view name() const override { return "softirq"; }
    void raised(NetRx&, Softnet&) override {}
    void bh_enabled(NetRx& rx, Softnet& sd) override { rx.do_softirq(sd); }
};

// The textbook story: ksoftirqd/N does all of it.
class KsoftirqdDesign final : public WorkerDesign {
  public:
    std::string_view name() const override { return "ksoftirqd"; }
    void raised(NetRx& rx, Softnet& sd) override { rx.wakeup_softirqd(sd); }
    void bh_enabled(NetRx&, Softnet&) override {}
};

// SO_BUSY_POLL: waiting threads poll; nobody polling, the packet must not wait for one.
class BusypollDesign final : public WorkerDesign {
  public:
    std::string_view name() const override { return "busypoll"; }
    void raised(NetRx& rx, Softnet& sd) override {
        if (rx.busy_pollers() == 0) rx.wakeup_softirqd(sd);
    }
    void bh_enabled(NetRx&, Softnet&) override {}
    bool busy_polls() const override { return true; }
};

// Deterministic: the raising thread drains to empty, no threads, no limits.
class InlineDesign final : public WorkerDesign {
  public:
    std::string_view name() const override { return "inline"; }
    bool uses_ksoftirqd() const override { return false; }
    void raised(NetRx&, Softnet&) override {}
    void bh_enabled(NetRx& rx, Softnet& sd) override { rx.drain_softirq(sd); }
};

}  // namespace

constexpr std::pair<WorkerKind, std::string_view> kWorkerNames[] = {
    {WorkerKind::softirq, "softirq"},
    {WorkerKind::ksoftirqd, "ksoftirqd"},
    {WorkerKind::busypoll, "busypoll"},
    {WorkerKind::inline_, "inline"},
};

std::optional<WorkerKind> parse_worker_kind(std::string_view name) {
    for (const auto& [kind, n] : kWorkerNames)
        if (n == name) return kind;
    return std::nullopt;
}

std::string_view worker_kind_name(WorkerKind k) {
    for (const auto& [kind, n] : kWorkerNames)
        if (kind == k) return n;
    return "?";
}

std::unique_ptr<WorkerDesign> make_worker_design(WorkerKind kind) {
    return find_worker_design(worker_kind_name(kind))();
}

void register_builtin_workers() {
    register_worker_design("softirq",
                           [] { return std::unique_ptr<WorkerDesign>(new SoftirqDesign); });
    register_worker_design("ksoftirqd",
                           [] { return std::unique_ptr<WorkerDesign>(new KsoftirqdDesign); });
    register_worker_design("busypoll",
                           [] { return std::unique_ptr<WorkerDesign>(new BusypollDesign); });
    register_worker_design("inline",
                           [] { return std::unique_ptr<WorkerDesign>(new InlineDesign); });
}

}  // namespace vlo
