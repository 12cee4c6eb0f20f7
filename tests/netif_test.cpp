// The receive core against the kernel's rules (net/core/dev.c): backlog bounds and drop
// accounting, net_rx_action's budget / time limit and process_backlog's quota, the softnet_stat
// format, each worker design delivering everything, and the pool's zero steady-state allocation.
#include <algorithm>
#include <atomic>
#include <regex>
#include <thread>

#include <catch2/catch.hpp>

#include "netif/designs.hpp"
#include "netif/dev_xmit.hpp"
#include "netif/list_queue.hpp"
#include "netif/loopback.hpp"
#include "netif/net_rx.hpp"
#include "netif/packet_pool.hpp"
#include "netif/qdisc.hpp"
#include "netif/ring_queue.hpp"

using namespace vlo;

namespace {

struct CountingHandler final : PacketHandler {
    std::atomic<int> received{0};
    std::function<void()> on_packet;  // test hook, e.g. advance a virtual clock
    void receive(PacketPtr) override {
        received.fetch_add(1);
        if (on_packet) on_packet();
    }
};

PacketPtr small_packet(Device* dev = nullptr) {
    PacketPtr p = PacketPool::instance().alloc(64);
    p->put(64);
    p->dev = dev;
    return p;
}

NetCoreConfig inline_core(QueueKind q = QueueKind::list) {
    NetCoreConfig c;
    c.worker = WorkerKind::inline_;
    c.queue = q;
    return c;
}

}  // namespace

TEST_CASE("enqueue_to_backlog keeps netdev_max_backlog + 1 and counts every other drop", "[netif]") {
    const QueueKind kind = GENERATE(QueueKind::list, QueueKind::ring);
    VirtualClock clock;
    NetRx rx(inline_core(kind), clock);
    CountingHandler h;
    rx.add_pack(kEthPIp, &h);
    LoopbackDevice lo;
    lo.set_rx_sink(&rx);
    rx.hold(true);  // NET_RX held back, as with napi_disable

    // The kernel accepts while the input queue holds `qlen <= max_backlog`, so a full backlog
    // is netdev_max_backlog + 1 packets (enqueue_to_backlog).
    const std::uint32_t max = rx.config().netdev_max_backlog;
    const int n = 1500;
    int refused = 0;
    for (int i = 0; i < n; ++i)
        if (rx.netif_rx(small_packet(&lo)) == NetRxResult::drop) ++refused;

    const Softnet& sd = rx.softnet(0);
    CHECK(refused == n - static_cast<int>(max + 1));
    CHECK(sd.dropped == static_cast<std::uint32_t>(n) - (max + 1));
    CHECK(sd.queue->input_qlen() == max + 1);
    CHECK(lo.stats().rx_dropped == static_cast<std::uint64_t>(refused));
    CHECK(rx.drops().count(DropReason::cpu_backlog) == static_cast<std::uint64_t>(refused));
    CHECK(h.received == 0);

    // Released, everything queued is delivered and nothing else.
    rx.hold(false);
    while (rx.poll(0) > 0) {
    }
    CHECK(h.received == static_cast<int>(max + 1));
    CHECK(sd.processed == max + 1);
}

TEST_CASE("net_rx_action spends netdev_budget in dev_weight quotas and counts time_squeeze", "[netif]") {
    VirtualClock clock;
    NetRx rx(inline_core(), clock);
    CountingHandler h;
    rx.add_pack(kEthPIp, &h);
    rx.hold(true);
    for (int i = 0; i < 500; ++i) REQUIRE(rx.netif_rx(small_packet()) == NetRxResult::success);
    const Softnet& sd = rx.softnet(0);

    // budget 300, weight 64: four full polls leave 44 of budget, the fifth takes a whole quota
    // (64) and drives it below zero: 320 processed, one squeeze, the rest left raised.
    CHECK(rx.poll(0) == 320);
    CHECK(sd.time_squeeze == 1);
    CHECK(sd.processed == 320);
    CHECK(sd.queue->input_qlen() + sd.queue->process_qlen() == 180);
    CHECK(sd.pending == 1);

    // 180 left: 64 + 64 + 52, the last poll completes inside the budget: no squeeze.
    CHECK(rx.poll(0) == 180);
    CHECK(sd.time_squeeze == 1);
    CHECK(sd.pending == 0);
    CHECK(h.received == 500);
}

TEST_CASE("the budget test follows every poll, even one that completes", "[netif]") {
    VirtualClock clock;
    NetRx rx(inline_core(), clock);
    CountingHandler h;
    rx.add_pack(kEthPIp, &h);
    rx.hold(true);
    for (int i = 0; i < 300; ++i) rx.netif_rx(small_packet());
    // 4 x 64 = 256, then 44 completes the NAPI but leaves budget at 0: the kernel still counts
    // a squeeze (budget <= 0 is tested before the poll list is found empty).
    CHECK(rx.poll(0) == 300);
    CHECK(rx.softnet(0).time_squeeze == 1);
    CHECK(rx.softnet(0).pending == 0);
}

TEST_CASE("dev_weight bounds each process_backlog poll", "[netif]") {
    VirtualClock clock;
    NetCoreConfig c = inline_core();
    c.dev_weight = 10;
    c.netdev_budget = 25;
    NetRx rx(c, clock);
    CountingHandler h;
    rx.add_pack(kEthPIp, &h);
    rx.hold(true);
    for (int i = 0; i < 100; ++i) rx.netif_rx(small_packet());
    CHECK(rx.poll(0) == 30);  // three quotas of 10: 25 - 30 < 0
    CHECK(rx.softnet(0).time_squeeze == 1);
}

TEST_CASE("netdev_budget_usecs ends a round early and counts time_squeeze", "[netif]") {
    VirtualClock clock;
    NetRx rx(inline_core(), clock);
    CountingHandler h;
    h.on_packet = [&] { clock.advance(100 * kNsPerUs); };  // each packet "takes" 100 µs
    rx.add_pack(kEthPIp, &h);
    rx.hold(true);
    for (int i = 0; i < 200; ++i) rx.netif_rx(small_packet());
    // After one quota of 64 packets 6.4 ms have passed, beyond the 2 ms limit.
    CHECK(rx.poll(0) == 64);
    CHECK(rx.softnet(0).time_squeeze == 1);
}

TEST_CASE("softnet_stat prints the kernel's 15 hex columns per CPU", "[netif]") {
    VirtualClock clock;
    NetCoreConfig c = inline_core();
    c.cpus = 2;
    NetRx rx(c, clock);
    CountingHandler h;
    rx.add_pack(kEthPIp, &h);
    rx.hold(true);
    Softnet& sd0 = rx.this_softnet();
    for (int i = 0; i < 3; ++i) rx.netif_rx(small_packet());
    const std::string text = rx.softnet_stat();
    const std::regex line("([0-9a-f]{8} ){14}[0-9a-f]{8}\n");
    std::smatch m;
    std::string rest = text;
    int lines = 0;
    while (std::regex_search(rest, m, line) && m.position() == 0) {
        ++lines;
        rest = m.suffix();
    }
    CHECK(lines == 2);
    CHECK(rest.empty());
    // The queued CPU's line, 1-based columns: backlog length 3 (12), its index (13),
    // input_qlen 3 (14), process_qlen 0 (15).
    const std::string mine = softnet_stat_line(sd0);
    auto column = [&](int n) { return mine.substr(static_cast<std::size_t>(n - 1) * 9, 8); };
    CHECK(column(12) == "00000003");
    char idx[9];
    std::snprintf(idx, sizeof idx, "%08x", sd0.cpu);
    CHECK(column(13) == idx);
    CHECK(column(14) == "00000003");
    CHECK(column(15) == "00000000");
}

TEST_CASE("every worker design delivers every packet from several senders", "[netif]") {
    const WorkerKind worker = GENERATE(WorkerKind::softirq, WorkerKind::ksoftirqd, WorkerKind::busypoll,
                                       WorkerKind::inline_);
    const QueueKind queue = GENERATE(QueueKind::list, QueueKind::ring);
    NetCoreConfig c;
    c.worker = worker;
    c.queue = queue;
    c.netdev_max_backlog = 1 << 16;  // no drops: this test is about delivery
    NetRx rx(c, MonotonicClock::instance());
    CountingHandler h;
    rx.add_pack(kEthPIp, &h);
    constexpr int kPerThread = 5000;
    std::vector<std::thread> senders;
    for (int t = 0; t < 2; ++t)
        senders.emplace_back([&] {
            for (int i = 0; i < kPerThread; ++i) rx.netif_rx(small_packet());
        });
    for (auto& t : senders) t.join();
    // busypoll: nobody waits on a socket here, so ksoftirqd is the fallback that drains.
    for (int i = 0; i < 5000 && h.received < 2 * kPerThread; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CHECK(h.received == 2 * kPerThread);
    std::uint64_t in_sender = 0, in_ksoftirqd = 0;
    for (unsigned cpu = 0; cpu < rx.cpus(); ++cpu) {
        in_sender += rx.softnet(cpu).runs_in_sender;
        in_ksoftirqd += rx.softnet(cpu).runs_in_ksoftirqd;
    }
    if (worker == WorkerKind::ksoftirqd) CHECK(in_sender == 0);
    if (worker == WorkerKind::ksoftirqd) CHECK(in_ksoftirqd > 0);
    if (worker == WorkerKind::softirq || worker == WorkerKind::inline_) CHECK(in_sender > 0);
    if (worker == WorkerKind::inline_) CHECK(in_ksoftirqd == 0);
}

TEST_CASE("backlog queues are FIFO and split input from process queue as the kernel", "[netif]") {
    std::unique_ptr<BacklogQueue> q = GENERATE(as<std::unique_ptr<BacklogQueue> (*)()>{},
                                               [] { return std::unique_ptr<BacklogQueue>(new ListQueue); },
                                               [] { return std::unique_ptr<BacklogQueue>(new RingQueue(1024)); })();
    for (std::uint16_t i = 0; i < 100; ++i) {
        PacketPtr p = small_packet();
        p->queued_cpu = i;
        REQUIRE_FALSE(q->enqueue(std::move(p), 1000));
    }
    CHECK(q->input_qlen() == 100);
    CHECK(q->process_qlen() == 0);
    PacketPtr first = q->dequeue();
    REQUIRE(first);
    CHECK(first->queued_cpu == 0);
    // The consumer moved packets to its process queue: they no longer count as input.
    CHECK(q->input_qlen() + q->process_qlen() == 99);
    CHECK(q->process_qlen() > 0);
    for (std::uint16_t i = 1; i < 100; ++i) {
        PacketPtr p = q->dequeue();
        REQUIRE(p);
        CHECK(p->queued_cpu == i);
    }
    CHECK_FALSE(q->dequeue());
    CHECK(q->empty());
}

TEST_CASE("the packet pool allocates nothing in the steady state", "[netif]") {
    PacketPool& pool = PacketPool::instance();
    std::vector<PacketPtr> held;
    for (int round = 0; round < 3; ++round) {  // warm up the caches
        for (int i = 0; i < 300; ++i) held.push_back(pool.alloc(1500));
        held.clear();
    }
    const auto before = pool.heap_allocations();
    for (int round = 0; round < 100; ++round) {
        for (int i = 0; i < 300; ++i) held.push_back(pool.alloc(1500));
        held.clear();
    }
    CHECK(pool.heap_allocations() == before);
    // A 64 KiB datagram needs the large class; beyond it there is nothing.
    PacketPtr big = pool.alloc(65535);
    REQUIRE(big);
    CHECK(big->tailroom() >= 65535);
    CHECK_FALSE(pool.alloc(70000));
}

TEST_CASE(
    "dev_queue_xmit: lo is noqueue, a device with a tx queue gets pfifo_fast, taps see both ways",
    "[netif][qdisc]") {
    // A device with txqueuelen 2 that keeps what it transmits: its pfifo_fast drains at once.
    struct TxQueueDevice final : NetDevice {
        TxQueueDevice() : NetDevice("tq0", 2, 1500, IFF_UP | IFF_RUNNING, 0) {}
        std::uint32_t tx_queue_len() const override { return 2; }
        NetdevTx xmit(PacketPtr pkt) override {
            sent.push_back(std::move(pkt));
            return NetdevTx::ok;
        }
        std::vector<PacketPtr> sent;
    };
    struct Tap final : PacketTap {
        std::vector<std::pair<const Device*, TapDirection>> seen;
        void tap(const Packet&, const Device& dev, TapDirection dir) override {
            seen.emplace_back(&dev, dir);
        }
    };
    VirtualClock clock;
    NetRx rx(inline_core(), clock);
    CountingHandler h;
    rx.add_pack(kEthPIp, &h);
    LoopbackDevice lo;
    lo.set_rx_sink(&rx);
    TxQueueDevice tq;
    tq.set_rx_sink(&rx);
    dev_activate(lo, clock);
    dev_activate(tq, clock);
    CHECK(with_root_qdisc(lo, [](Qdisc* q) { return q == nullptr; }));  // noqueue
    CHECK(with_root_qdisc(tq, [](Qdisc* q) { return q && q->kind() == "pfifo_fast"; }));

    Tap on_lo, on_tq;
    dev_add_tap(lo, on_lo);
    dev_add_tap(tq, on_tq);
    for (int i = 0; i < 5; ++i) dev_queue_xmit(small_packet(), lo);
    CHECK(h.received == 5);  // lo looped them back through netif_rx
    CHECK(lo.stats().tx_packets == 5);
    REQUIRE(on_lo.seen.size() == 10);  // each leaving, then arriving, as AF_PACKET sees lo
    CHECK(on_lo.seen[0].second == TapDirection::outgoing);
    CHECK(on_lo.seen[1].second == TapDirection::host);
    CHECK(on_lo.seen[1].first == &lo);  // the same device object both ways

    for (int i = 0; i < 3; ++i) dev_queue_xmit(small_packet(), tq);
    CHECK(tq.sent.size() == 3);
    const QdiscStats st = with_root_qdisc(tq, [](Qdisc* q) { return q->stats(); });
    CHECK(st.packets == 3);
    CHECK(st.bytes == 3 * 64);
    CHECK(st.drops == 0);
    CHECK(st.backlog_packets == 0);
    CHECK(on_tq.seen.size() == 3);
    dev_remove_tap(lo, on_lo);
    dev_queue_xmit(small_packet(), lo);
    CHECK(on_lo.seen.size() == 10);  // gone
    dev_remove_tap(tq, on_tq);

    // A device that is down drops at dev_queue_xmit with DEV_READY.
    tq.set_up(false);
    dev_queue_xmit(small_packet(), tq);
    CHECK(tq.stats().tx_dropped == 1);
    CHECK(rx.drops().count(DropReason::dev_ready) == 1);
}

TEST_CASE("pfifo_fast drops past txqueuelen with QDISC_DROP while its driver is busy",
          "[netif][qdisc]") {
    // A driver that sends each packet back into the same qdisc while it is being run: the
    // running thread keeps them queued, so the limit is reached and the excess dropped.
    struct Looper final : NetDevice {
        Looper() : NetDevice("lp0", 2, 1500, IFF_UP | IFF_RUNNING, 0) {}
        std::uint32_t tx_queue_len() const override { return 2; }
        NetdevTx xmit(PacketPtr) override {
            ++sent;
            if (sent == 1)
                for (int i = 0; i < 4; ++i) dev_queue_xmit(small_packet(), *this);
            return NetdevTx::ok;
        }
        int sent = 0;
    };
    VirtualClock clock;
    NetRx rx(inline_core(), clock);
    Looper lp;
    lp.set_rx_sink(&rx);
    dev_activate(lp, clock);
    dev_queue_xmit(small_packet(), lp);
    CHECK(lp.sent == 3);  // the first, then the two the queue held
    const QdiscStats st = with_root_qdisc(lp, [](Qdisc* q) { return q->stats(); });
    CHECK(st.drops == 2);
    CHECK(st.packets == 3);
    CHECK(rx.drops().count(DropReason::qdisc_drop) == 2);
}

TEST_CASE("a worker design registered by name runs NET_RX as the built-ins do",
          "[netif][designs]") {
    // The kernel's softirq design, counting where it runs: registered like a plugin's.
    static std::atomic<int> bh_runs{0};
    struct Counting final : WorkerDesign {
        std::string_view name() const override { return "counting"; }
        void raised(NetRx&, Softnet&) override {}
        void bh_enabled(NetRx& rx, Softnet& sd) override {
            ++bh_runs;
            rx.do_softirq(sd);
        }
    };
    register_worker_design("counting", [] { return std::unique_ptr<WorkerDesign>(new Counting); });
    const auto names = worker_design_names();
    CHECK(std::find(names.begin(), names.end(), "counting") != names.end());
    CHECK(std::find(names.begin(), names.end(), "softirq") != names.end());  // built-ins too

    VirtualClock clock;
    NetCoreConfig core = inline_core();
    core.worker_design = "counting";
    NetRx rx(core, clock);
    CHECK(rx.worker().name() == "counting");
    CountingHandler h;
    rx.add_pack(kEthPIp, &h);
    LoopbackDevice lo;
    lo.set_rx_sink(&rx);
    for (int i = 0; i < 4; ++i) dev_queue_xmit(small_packet(), lo);
    CHECK(h.received == 4);
    CHECK(bh_runs >= 4);
    CHECK(rx.softnet(0).runs_in_sender == 4);

    NetCoreConfig bad = inline_core();
    bad.queue_design = "no-such-queue";
    CHECK_THROWS_AS(NetRx(bad, clock), std::invalid_argument);
}
