// Who runs NET_RX, as a pluggable design (docs/architecture.md, "Designs"). A design answers
// two questions the kernel answers in raise_softirq and local_bh_enable: when NET_RX is raised,
// whom to tell; when a thread's bottom halves come back on, whether it runs the pending work
// itself. The built-ins, registered like any other (designs.hpp):
//   softirq   - the kernel's: the raising thread runs it at its bh-enable, with __do_softirq's
//               restart and time limits; what is left wakes ksoftirqd/N.
//   ksoftirqd - every raise is handed to the per-CPU thread, woken only when it sleeps.
//   busypoll  - threads waiting for data poll the backlogs themselves (SO_BUSY_POLL); ksoftirqd
//               is woken only when nobody is polling.
//   inline    - the raising thread drains everything before returning, no threads at all:
//               deterministic, for tests and the virtual clock.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

namespace vlo {

class NetRx;
struct Softnet;

enum class WorkerKind { softirq, ksoftirqd, busypoll, inline_ };

std::optional<WorkerKind> parse_worker_kind(std::string_view name);
std::string_view worker_kind_name(WorkerKind k);

class WorkerDesign {
  public:
    virtual ~WorkerDesign() = default;
    virtual std::string_view name() const = 0;
    // Whether NetRx keeps a ksoftirqd/N thread per CPU for this design (every built-in but
    // inline does, for the work its first choice leaves behind).
    virtual bool uses_ksoftirqd() const { return true; }
    // raise_net_rx: NET_RX was just raised on `sd` (it was not pending). The kernel's
    // raise_softirq wakes ksoftirqd only outside softirq context; designs choose.
    virtual void raised(NetRx& rx, Softnet& sd) = 0;
    // The outermost local_bh_enable of a thread whose CPU's softnet is `sd`.
    virtual void bh_enabled(NetRx& rx, Softnet& sd) = 0;
    // Whether a thread waiting for data may poll the backlogs itself (NetRx::busy_poll_begin).
    virtual bool busy_polls() const { return false; }
};

// The built-in design of `kind`.
std::unique_ptr<WorkerDesign> make_worker_design(WorkerKind kind);

}  // namespace vlo
