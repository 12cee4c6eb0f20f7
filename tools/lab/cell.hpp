// One cell of the lab: a workload over one queue/worker design (or the kernel's loopback), run
// for a fixed time, and what it measured.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "netif/backlog_queue.hpp"
#include "netif/worker.hpp"
#include "tools/lab/histogram.hpp"

namespace vlo::lab {

enum class Workload {
    icmp_echo,
    udp_rr_1B,
    tcp_rr_1B,
    tcp_rr_64B,
    tcp_crr,
    tcp_bulk_1,
    tcp_bulk_4,
    tcp_bulk_lossy,
    overload,
    listeners
};

inline constexpr Workload kAllWorkloads[] = {
    Workload::icmp_echo, Workload::udp_rr_1B,  Workload::tcp_rr_1B,  Workload::tcp_rr_64B,
    Workload::tcp_crr,   Workload::tcp_bulk_1, Workload::tcp_bulk_4, Workload::tcp_bulk_lossy,
    Workload::overload,  Workload::listeners,
};

std::string_view workload_name(Workload w);
std::optional<Workload> parse_workload(std::string_view name);
// overload and listeners measure vlo alone: the kernel offers no comparable knob.
bool has_kernel_twin(Workload w);
// Why a workload has no kernel row although the kernel runs the same protocol (tcp_bulk_lossy:
// no netem on the kernel's lo here), or nullptr.
const char* kernel_not_applicable(Workload w);

// tcp_bulk_lossy's impairment, netem on lo in tc's words, and its seed.
inline constexpr const char* kLossyNetem =
    "loss 5% duplicate 2% reorder 25% 50% delay 1ms corrupt 1%";
inline constexpr std::uint64_t kLossySeed = 7;

struct Design {
    Design() = default;
    Design(QueueKind q, WorkerKind w, unsigned n, std::string qd = {}, std::string wd = {})
        : queue(q), worker(w), cpus(n), queue_design(std::move(qd)), worker_design(std::move(wd)) {}
    QueueKind queue = QueueKind::list;
    WorkerKind worker = WorkerKind::softirq;
    unsigned cpus = 1;
    // A registered design by name (a plugin's), in place of the built-in above when set.
    std::string queue_design;
    std::string worker_design;
    bool operator==(const Design&) const = default;
    std::string queue_name() const {
        return queue_design.empty() ? std::string(queue_kind_name(queue)) : queue_design;
    }
    std::string worker_name() const {
        return worker_design.empty() ? std::string(worker_kind_name(worker)) : worker_design;
    }
};

struct CellSpec {
    Workload workload = Workload::icmp_echo;
    bool kernel = false;               // the kernel's lo on 127.0.0.1 instead of vlo
    Design design;                     // vlo only
    double seconds = 0.25;             // timed part of the cell
    bool quick = false;                // listeners: 65 536 instead of all of 127/8
    bool sweep = false;                // overload: also sweep offered load x netdev_max_backlog
    std::uint64_t listener_count = 0;  // listeners: 0 for the default (65 536 quick, else all)
};

// overload: one point of the offered-load sweep.
struct SweepPoint {
    double offered_factor = 0;  // packets per burst / (netdev_max_backlog + 1)
    std::uint32_t netdev_max_backlog = 0;
    std::uint64_t sent = 0, delivered = 0, dropped = 0;
};

struct OverloadFigures {
    std::uint64_t sent = 0;
    std::uint64_t delivered = 0;
    std::uint64_t dropped = 0;                // every drop, whatever the reason
    std::uint64_t backlog_drops = 0;          // softnet_stat's dropped
    std::uint64_t socket_drops = 0;           // the sink's receive buffer
    std::int64_t unaccounted = 0;             // sent - delivered - dropped: must be 0
    std::uint64_t burst = 0;                  // packets per burst
    std::uint64_t pool_heap_allocations = 0;  // packets the pool had to take from the heap
    std::int64_t heap_delta_bytes = 0;
    std::vector<SweepPoint> sweep;
};

struct ListenerFigures {
    std::uint64_t target = 0;              // listeners asked for
    std::uint64_t bound = 0;               // listeners that got bound and listen
    double bind_seconds = 0;               // time for those
    std::uint64_t bytes_per_listener = 0;  // heap per listener
    std::uint64_t sizeof_tcp_sock = 0;
    double projected_seconds_all = 0;  // for all 16 777 214, at the measured rate
    double projected_gib_all = 0;
    std::uint64_t sample = 0;     // connections tried to random listeners
    std::uint64_t sample_ok = 0;  // each accepted by its own listener
    std::string stopped_by;       // "" (all bound), "time" or "memory"
};

// tcp_bulk_lossy: how the stream's TCP recovered, over the timed part, from the stack's TcpExt
// counters read by name. A counter this stack's TCP does not keep is nullopt, not 0.
struct LossFigures {
    std::optional<std::uint64_t> rtos;             // TCPTimeouts
    std::optional<std::uint64_t> sack_recoveries;  // TCPSackRecovery
    std::optional<std::uint64_t> reno_recoveries;  // TCPRenoRecovery
    std::optional<std::uint64_t> loss_probes;      // TCPLossProbes
    std::optional<std::uint64_t> retrans_segs;     // Tcp RetransSegs
    std::uint64_t netem_packets = 0;               // what netem passed on (both directions)
    std::uint64_t netem_lost = 0;                  // what netem's loss took
};

struct CellResult {
    CellSpec spec;
    bool ok = true;
    std::string error;  // why not ok
    std::uint64_t ops = 0;
    double seconds = 0;        // measured wall time
    std::uint64_t errors = 0;  // lost/late operations that were retried
    LatencyHistogram latency;
    std::int64_t cpu_ns = 0;
    std::int64_t ctx_switches = 0;
    std::uint64_t bytes = 0;  // bulk: payload written
    // Receive-path counters (vlo: the stack's softnet; kernel: /proc/net/softnet_stat).
    std::uint64_t drops = 0;      // softnet_stat's dropped: the backlog refused them
    std::uint64_t all_drops = 0;  // vlo: every packet freed undelivered, whatever the reason
    std::vector<std::pair<std::string, std::uint64_t>> drop_reasons;  // vlo: kfree_skb reasons
    std::uint64_t time_squeeze = 0;
    std::optional<std::uint64_t> runs_in_sender, runs_in_ksoftirqd, runs_in_busypoll,
        ksoftirqd_wakeups;
    std::optional<OverloadFigures> overload;
    std::optional<ListenerFigures> listeners;
    std::optional<LossFigures> losses;

    double ops_per_s() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
};

// Runs one cell (any workload, vlo or kernel). Never throws; failures come back as !ok.
CellResult run_cell(const CellSpec& spec);

}  // namespace vlo::lab
