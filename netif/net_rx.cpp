#include "netif/net_rx.hpp"

#include <algorithm>
#include <stdexcept>

#include "netif/cpu.hpp"
#include "netif/designs.hpp"
#include "netif/dev_xmit.hpp"
#include "netif/trace_clock.hpp"
#include "netif/trace_log.hpp"

namespace vlo {

NetRx::NetRx(const NetCoreConfig& config, const Clock& clock)
    : config_(config),
      worker_(make_worker(config)),
      clock_(clock),
      max_busy_pollers_(std::max(1u, std::thread::hardware_concurrency())) {
    const unsigned n = std::max(1u, config_.cpus);
    for (unsigned cpu = 0; cpu < n; ++cpu)
        softnet_.push_back(std::make_unique<Softnet>(cpu, make_queue(config_)));
    // The inline design has no threads at all; every other design keeps ksoftirqd/N for the
    // work its first choice leaves behind.
    if (worker_->uses_ksoftirqd())
        for (auto& sd : softnet_) sd->ksoftirqd = std::thread([this, s = sd.get()] { ksoftirqd_main(*s); });
}

NetRx::~NetRx() {
    stopping_.store(true);
    for (auto& sd : softnet_) {
        if (!sd->ksoftirqd.joinable()) continue;
        sd->wake_seq.fetch_add(1);
        sd->wake_seq.notify_all();
        sd->ksoftirqd.join();
    }
    // Whatever is still queued is freed with its queue (the queues' destructors).
}

// The designs the config names; an unknown name is a programming error the options parsers
// rule out, so it fails loudly.
std::unique_ptr<WorkerDesign> NetRx::make_worker(const NetCoreConfig& c) {
    const WorkerFactory make = find_worker_design(c.worker_name());
    if (!make)
        throw std::invalid_argument("no worker design named " + std::string(c.worker_name()));
    return make();
}

std::unique_ptr<BacklogQueue> NetRx::make_queue(const NetCoreConfig& c) {
    std::unique_ptr<BacklogQueue> q = make_backlog_queue(c.queue_name(), c.netdev_max_backlog);
    if (!q) throw std::invalid_argument("no queue design named " + std::string(c.queue_name()));
    return q;
}

Softnet& NetRx::this_softnet() { return *softnet_[this_cpu() % softnet_.size()]; }

void NetRx::add_pack(std::uint16_t protocol, PacketHandler* handler) {
    ptype_base_.emplace_back(protocol, handler);
}

NetRxResult NetRx::netif_rx(PacketPtr pkt) {
    BhDisabled bh(*this);  // netif_rx is callable from any context since 5.18
    pkt->trace.stamp(Stage::netif_rx);
    pkt->tstamp = clock_.now_ns();  // netdev_tstamp_prequeue
    Softnet& sd = this_softnet();
    Device* dev = pkt->dev;
    if (dev && !dev->is_up()) {
        DeviceStats::inc(dev->stats().rx_dropped);
        drops_.kfree_skb_reason(std::move(pkt), DropReason::dev_ready);
        return NetRxResult::drop;
    }
    return enqueue_to_backlog(std::move(pkt), sd);
}

// enqueue_to_backlog: onto the CPU's input_pkt_queue unless it already holds
// netdev_max_backlog packets (then dropped, CPU_BACKLOG), and NET_RX raised.
NetRxResult NetRx::enqueue_to_backlog(PacketPtr pkt, Softnet& sd) {
    Device* dev = pkt->dev;
    pkt->queued_cpu = static_cast<std::uint16_t>(sd.cpu);
    pkt->trace.stamp(Stage::enqueue_to_backlog, sd.queue->input_qlen());
    if (PacketPtr refused = sd.queue->enqueue(std::move(pkt), config_.netdev_max_backlog)) {
        sd.dropped.fetch_add(1, std::memory_order_relaxed);
        if (dev) DeviceStats::inc(dev->stats().rx_dropped);
        drops_.kfree_skb_reason(std::move(refused), DropReason::cpu_backlog);
        return NetRxResult::drop;
    }
    raise_net_rx(sd);
    return NetRxResult::success;
}

void NetRx::raise_net_rx(Softnet& sd) {
    if (sd.pending.exchange(1) != 0) return;  // already raised: nobody to wake
    worker_->raised(*this, sd);
}

void NetRx::local_bh_disable() { ++this_bh().disable_depth; }

void NetRx::local_bh_enable() {
    BhState& bh = this_bh();
    if (--bh.disable_depth != 0 || bh.in_softirq) return;
    worker_->bh_enabled(*this, this_softnet());
}

void NetRx::drain_softirq(Softnet& sd) {
    // Drain to empty: no limits, no threads. If another thread holds NET_RX it drains.
    while (sd.pending.load() != 0 && run_net_rx(sd, RxContext::sender) >= 0) {
    }
}

// __do_softirq for NET_RX on this thread's CPU.
void NetRx::do_softirq(Softnet& sd) {
    const Nanos end = clock_.coarse_now_ns() + kMaxSoftirqTime;  // jiffies + MAX_SOFTIRQ_TIME
    for (int restart = kMaxSoftirqRestart; sd.pending.load() != 0;) {
        if (run_net_rx(sd, RxContext::sender) < 0) return;  // the holder re-checks pending
        if (--restart == 0 || clock_.coarse_now_ns() >= end) {
            if (sd.pending.load() != 0) wakeup_softirqd(sd);
            return;
        }
    }
}

int NetRx::run_net_rx(Softnet& sd, RxContext ctx) {
    if (held_.load(std::memory_order_relaxed) && ctx != RxContext::direct) return -1;
    if (sd.running.exchange(true)) return -1;
    if (held_.load() && ctx != RxContext::direct) {  // held meanwhile: hold() waits for us
        sd.running.store(false);
        return -1;
    }
    BhState& bh = this_bh();
    const bool was_in_softirq = bh.in_softirq;
    bh.in_softirq = true;
    switch (ctx) {
        case RxContext::sender: sd.runs_in_sender.fetch_add(1, std::memory_order_relaxed); break;
        case RxContext::ksoftirqd: sd.runs_in_ksoftirqd.fetch_add(1, std::memory_order_relaxed); break;
        case RxContext::busypoll: sd.runs_in_busypoll.fetch_add(1, std::memory_order_relaxed); break;
        case RxContext::direct: break;
    }
    const int processed = net_rx_action(sd);
    bh.in_softirq = was_in_softirq;
    sd.running.store(false);
    return processed;
}

// net_rx_action: poll the backlog NAPI until it completes, the budget is spent or the time
// limit passes; the last two count a time_squeeze and leave NET_RX raised.
int NetRx::net_rx_action(Softnet& sd) {
    sd.round_start_ns = TraceLog::active() ? trace_clock_ns() : 0;  // for traced packets only
    // jiffies + usecs_to_jiffies(netdev_budget_usecs): a tick-resolution clock, as the kernel's.
    const Nanos time_limit = clock_.coarse_now_ns() + Nanos{config_.netdev_budget_usecs} * kNsPerUs;
    int budget = config_.netdev_budget;
    int total = 0;
    for (;;) {
        const int work = process_backlog(sd, config_.dev_weight);
        total += work;
        budget -= work;
        const bool napi_complete = work < config_.dev_weight;
        // The kernel tests the budget after every poll, even one that completed.
        if (budget <= 0 || clock_.coarse_now_ns() >= time_limit) {
            sd.time_squeeze.fetch_add(1, std::memory_order_relaxed);
            if (!napi_complete) {
                sd.pending.store(1);  // __raise_softirq_irqoff: the rest is for the next round
                return total;
            }
            break;
        }
        if (napi_complete) break;
    }
    // Lower NET_RX, then look once more: a producer that queued while we ran saw it raised and
    // left the packet to us.
    sd.pending.store(0);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!sd.queue->empty()) sd.pending.store(1);
    return total;
}

// process_backlog: up to `quota` packets from the process queue, refilled from the input queue.
int NetRx::process_backlog(Softnet& sd, int quota) {
    int work = 0;
    while (work < quota) {
        PacketPtr pkt = sd.queue->dequeue();
        if (!pkt) break;
        if (pkt->trace.on) [[unlikely]] {
            // A packet queued while the round ran joined it then, not at its start.
            const Trace& t = pkt->trace;
            const std::int64_t last = t.count ? t.stamps[t.count - 1].ns : 0;
            if (sd.round_start_ns) pkt->trace.stamp_at(Stage::net_rx_action, std::max(sd.round_start_ns, last));
            pkt->trace.stamp(Stage::process_backlog);
        }
        sd.processed.fetch_add(1, std::memory_order_relaxed);  // __netif_receive_skb_core
        netif_receive_skb(std::move(pkt));
        ++work;
    }
    return work;
}

void NetRx::netif_receive_skb(PacketPtr pkt) {
    pkt->trace.stamp(Stage::netif_receive_skb);
    if (pkt->dev) netif_receive_taps(*pkt, *pkt->dev);  // ptype_all first
    for (auto& [protocol, handler] : ptype_base_) {
        if (protocol == pkt->protocol) {
            handler->receive(std::move(pkt));
            return;
        }
    }
    if (pkt->dev) DeviceStats::inc(pkt->dev->stats().rx_nohandler);
    drops_.kfree_skb_reason(std::move(pkt), DropReason::unhandled_proto);
}

void NetRx::wakeup_softirqd(Softnet& sd) {
    if (!sd.ksoftirqd.joinable()) return;
    if (!sd.ksoftirqd_sleeping.load()) return;  // running: it re-checks pending before sleeping
    sd.ksoftirqd_wakeups.fetch_add(1, std::memory_order_relaxed);
    sd.wake_seq.fetch_add(1);
    sd.wake_seq.notify_one();
}

void NetRx::ksoftirqd_main(Softnet& sd) {
    set_this_cpu(sd.cpu);
    name_this_thread("ksoftirqd/" + std::to_string(sd.cpu));
    while (!stopping_.load()) {
        if (sd.pending.load() != 0 && run_net_rx(sd, RxContext::ksoftirqd) >= 0) {
            std::this_thread::yield();  // cond_resched between rounds
            continue;
        }
        const std::uint32_t seq = sd.wake_seq.load();
        sd.ksoftirqd_sleeping.store(true);
        // Pairs with raise_net_rx: either the raiser sees us sleeping, or we see its pending.
        if ((sd.pending.load() != 0 && !sd.running.load() && !held_.load()) || stopping_.load()) {
            sd.ksoftirqd_sleeping.store(false);
            continue;
        }
        sd.wake_seq.wait(seq);
        sd.ksoftirqd_sleeping.store(false);
    }
}

bool NetRx::busy_poll_begin() {
    if (!worker_->busy_polls()) return false;
    unsigned n = busy_pollers_.load();
    while (n < max_busy_pollers_)
        if (busy_pollers_.compare_exchange_weak(n, n + 1)) return true;
    return false;
}

bool NetRx::busy_poll_once() {
    bool any = false;
    for (auto& sd : softnet_)
        if ((sd->pending.load(std::memory_order_relaxed) != 0 || !sd->queue->empty()) &&
            run_net_rx(*sd, RxContext::busypoll) > 0)
            any = true;
    return any;
}

void NetRx::busy_poll_end() {
    busy_pollers_.fetch_sub(1);
    // Raisers that saw us polling did not wake ksoftirqd; hand over what is left.
    for (auto& sd : softnet_)
        if (sd->pending.load() != 0) wakeup_softirqd(*sd);
}

void NetRx::hold(bool held) {
    held_.store(held);
    if (held) {
        // A round already under way finishes first: after this, nothing is delivered.
        for (auto& sd : softnet_)
            while (sd->running.load()) std::this_thread::yield();
        return;
    }
    for (auto& sd : softnet_)
        if (!sd->queue->empty()) {
            sd->pending.store(1);
            wakeup_softirqd(*sd);
        }
}

int NetRx::poll(unsigned cpu) { return std::max(0, run_net_rx(*softnet_.at(cpu), RxContext::direct)); }

std::string NetRx::softnet_stat() const {
    std::string out;
    for (const auto& sd : softnet_) out += softnet_stat_line(*sd);
    return out;
}

}  // namespace vlo
