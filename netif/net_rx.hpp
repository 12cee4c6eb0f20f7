// The receive core of net/core/dev.c: netif_rx → enqueue_to_backlog on the sending CPU's
// softnet_data, NET_RX_SOFTIRQ, net_rx_action with netdev_budget / netdev_budget_usecs,
// process_backlog with dev_weight, and __netif_receive_skb handing the frame to the device's taps
// (ptype_all, dev_xmit.hpp) and then to the protocol registered for it (ptype_base). Who runs
// NET_RX is the worker design (worker.hpp); what the backlog is, the queue design.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "netif/backlog_queue.hpp"
#include "netif/clock.hpp"
#include "netif/device.hpp"
#include "netif/drop_monitor.hpp"
#include "netif/softnet.hpp"
#include "netif/worker.hpp"

namespace vlo {

// The sysctls of net.core that shape the receive path, with the kernel's defaults.
struct NetCoreConfig {
    std::uint32_t netdev_max_backlog = 1000;
    int netdev_budget = 300;
    // 2 jiffies: 2 * USEC_PER_SEC / HZ, 2000 with HZ=1000 (8000 on an HZ=250 kernel).
    std::uint32_t netdev_budget_usecs = 2000;
    int dev_weight = 64;  // dev_rx_weight = weight_p * dev_weight_rx_bias
    unsigned cpus = 1;
    QueueKind queue = QueueKind::list;
    WorkerKind worker = WorkerKind::softirq;
    // A design by its registered name (designs.hpp), e.g. one a plugin added; empty: the
    // built-in `queue` / `worker` above.
    std::string queue_design;
    std::string worker_design;
    std::string_view queue_name() const {
        return queue_design.empty() ? queue_kind_name(queue) : queue_design;
    }
    std::string_view worker_name() const {
        return worker_design.empty() ? worker_kind_name(worker) : worker_design;
    }
};

// __do_softirq's limits (kernel/softirq.c).
constexpr int kMaxSoftirqRestart = 10;
constexpr Nanos kMaxSoftirqTime = 2 * kNsPerMs;

// A protocol's receive function (packet_type.func), called in NET_RX context.
class PacketHandler {
public:
    virtual ~PacketHandler() = default;
    virtual void receive(PacketPtr pkt) = 0;
};

class NetRx final : public RxSink {
public:
    NetRx(const NetCoreConfig& config, const Clock& clock);
    ~NetRx() override;  // stops ksoftirqd threads, frees what is still queued
    NetRx(const NetRx&) = delete;
    NetRx& operator=(const NetRx&) = delete;

    const NetCoreConfig& config() const { return config_; }
    const WorkerDesign& worker() const { return *worker_; }
    const Clock& clock() const { return clock_; }
    DropMonitor& drops() { return drops_; }
    unsigned cpus() const { return static_cast<unsigned>(softnet_.size()); }
    Softnet& softnet(unsigned cpu) { return *softnet_[cpu]; }
    const Softnet& softnet(unsigned cpu) const { return *softnet_[cpu]; }
    Softnet& this_softnet();

    // dev_add_pack: who receives frames of `protocol` (an ETH_P_* value).
    void add_pack(std::uint16_t protocol, PacketHandler* handler);

    // netif_rx: queue on this CPU's backlog (drop and count if full), raise NET_RX. Runs with
    // bottom halves off, so for the softirq design the packet may be processed before it returns.
    NetRxResult netif_rx(PacketPtr pkt) override;

    // local_bh_disable / local_bh_enable of the calling thread. The outermost enable runs the
    // pending softirq per the worker design.
    void local_bh_disable() override;
    void local_bh_enable() override;
    // The drop monitor's kfree_skb_reason, for the devices' side (qdiscs).
    void kfree_skb_reason(PacketPtr pkt, DropReason reason) override {
        drops_.kfree_skb_reason(std::move(pkt), reason);
    }

    // busy polling: a thread waiting for data calls begin; if it returns true it polls (poll
    // once per check) and calls end when done. At most as many pollers as cores.
    bool busy_poll_begin();
    bool busy_poll_once();
    void busy_poll_end();
    unsigned busy_pollers() const { return busy_pollers_.load(); }

    // What a worker design (worker.hpp) runs NET_RX with, on `sd`'s CPU:
    // __do_softirq: rounds of net_rx_action until nothing is pending, at most
    // MAX_SOFTIRQ_RESTART rounds or MAX_SOFTIRQ_TIME, the rest left to ksoftirqd.
    void do_softirq(Softnet& sd);
    // Rounds until nothing is pending, without limits or threads (inline).
    void drain_softirq(Softnet& sd);
    // wakeup_softirqd: wakes ksoftirqd/N if it sleeps (and the design has one).
    void wakeup_softirqd(Softnet& sd);

    // Hold NET_RX back (as napi_disable): queues fill, and once hold(true) returns no round is
    // running (a stack being torn down relies on it). poll runs one net_rx_action on `cpu`
    // regardless and returns how many packets it processed (tests).
    void hold(bool held);
    int poll(unsigned cpu);

    // /proc/net/softnet_stat, one line per CPU.
    std::string softnet_stat() const;

private:
    // Runs NET_RX for sd in this thread unless another thread already does (or it is held):
    // the number of packets processed, or -1 if it did not run.
    int run_net_rx(Softnet& sd, RxContext ctx);
    NetRxResult enqueue_to_backlog(PacketPtr pkt, Softnet& sd);
    int net_rx_action(Softnet& sd);
    int process_backlog(Softnet& sd, int quota);
    void netif_receive_skb(PacketPtr pkt);
    void raise_net_rx(Softnet& sd);
    void ksoftirqd_main(Softnet& sd);
    static std::unique_ptr<WorkerDesign> make_worker(const NetCoreConfig& c);
    static std::unique_ptr<BacklogQueue> make_queue(const NetCoreConfig& c);

    const NetCoreConfig config_;
    std::unique_ptr<WorkerDesign> worker_;
    const Clock& clock_;
    DropMonitor drops_;
    std::vector<std::unique_ptr<Softnet>> softnet_;
    std::vector<std::pair<std::uint16_t, PacketHandler*>> ptype_base_;
    std::atomic<bool> held_{false};
    std::atomic<bool> stopping_{false};
    std::atomic<unsigned> busy_pollers_{0};
    unsigned max_busy_pollers_;
};

// RAII local_bh_disable/enable, as rcu_read_lock_bh in __dev_queue_xmit.
class BhDisabled {
public:
    explicit BhDisabled(NetRx& rx) : rx_(rx) { rx_.local_bh_disable(); }
    ~BhDisabled() { rx_.local_bh_enable(); }
    BhDisabled(const BhDisabled&) = delete;
    BhDisabled& operator=(const BhDisabled&) = delete;

private:
    NetRx& rx_;
};

}  // namespace vlo
