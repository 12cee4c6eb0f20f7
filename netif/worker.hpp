// Who runs NET_RX, as a pluggable design (DESIGN.md, "Worker designs to compare"):
//   softirq   - the kernel's: the raising thread runs it at its bh-enable, with __do_softirq's
//               restart and time limits; what is left wakes ksoftirqd/N.
//   ksoftirqd - every raise is handed to the per-CPU thread, woken only when it sleeps.
//   busypoll  - threads waiting for data poll the backlogs themselves (SO_BUSY_POLL); ksoftirqd
//               is woken only when nobody is polling.
//   inline    - the raising thread drains everything before returning, no threads at all:
//               deterministic, for tests and the virtual clock.
#pragma once

#include <optional>
#include <string_view>

namespace vlo {

enum class WorkerKind { softirq, ksoftirqd, busypoll, inline_ };

std::optional<WorkerKind> parse_worker_kind(std::string_view name);
std::string_view worker_kind_name(WorkerKind k);

}  // namespace vlo
