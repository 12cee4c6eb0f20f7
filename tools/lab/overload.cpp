// overload: a sender offering ~10x what the worker drains. The sender is pktgen-shaped: it
// hands prebuilt UDP datagrams (127.0.0.1 -> 127.0.0.1:9) to lo's loopback_xmit in bursts
// with bottom halves off, as a driver's receive burst or a tight sender under
// rcu_read_lock_bh does. While bottom halves are off the softirq design drains nothing, so a
// burst of 10 x (netdev_max_backlog + 1) offers ten times what the backlog lets NET_RX drain
// before it is full; the thread designs drain concurrently and show how much of that they keep
// up with. The next burst starts once the backlog is empty again. A reader thread empties the sink
// socket. At the end every packet sent is accounted for: delivered to the socket, or dropped and
// counted (sent - delivered - dropped = 0).
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "netif/cpu.hpp"
#include "netif/packet_pool.hpp"
#include "stack/stack.hpp"
#include "stack/wire/ipv4.hpp"
#include "stack/wire/udp.hpp"
#include "tools/lab/timed.hpp"
#include "tools/lab/vlo_counters.hpp"
#include "tools/lab/workloads.hpp"

namespace vlo::lab {

namespace {

constexpr std::uint16_t kSinkPort = 9;  // discard
constexpr std::size_t kPayload = 32;
constexpr double kOfferedFactor = 10;
constexpr Nanos kQuiesceLimit = 2 * kNsPerSec;

struct BurstRun {
    std::uint64_t sent = 0, delivered = 0, bursts = 0, burst = 0;
    VloCounters counters;  // over the stack's life
    std::uint64_t socket_drops = 0;
    LatencyHistogram* latency = nullptr;  // one-way: send to read, queueing included
    bool quiesced = true;
};

bool backlog_empty(Stack& stack) {
    NetRx& rx = stack.net_rx();
    for (unsigned cpu = 0; cpu < rx.cpus(); ++cpu)
        if (!rx.softnet(cpu).queue->empty()) return false;
    return true;
}

// NET_RX idle on every CPU with nothing queued.
bool quiet(Stack& stack) {
    NetRx& rx = stack.net_rx();
    for (unsigned cpu = 0; cpu < rx.cpus(); ++cpu) {
        const Softnet& sd = rx.softnet(cpu);
        if (!sd.queue->empty() || sd.running.load() || sd.pending.load()) return false;
    }
    return true;
}

// Bursts of factor x (backlog + 1) datagrams for `seconds` (at least one burst, at most
// max_bursts), then waits for NET_RX to finish and the reader to empty the socket.
void run_bursts(const Design& d, std::uint32_t backlog, double factor, double seconds,
                std::uint64_t max_bursts, BurstRun& out) {
    StackConfig cfg = design_config(d);
    cfg.core.netdev_max_backlog = backlog;
    cfg.udp_rcvbuf = 16u << 20;  // room for the reader's lag: the backlog is what is measured
    set_this_cpu(0);
    Stack stack(cfg);
    UdpSocket sink(stack);
    if (sink.bind(kInaddrLoopback, kSinkPort)) return;

    // The datagram every packet copies: IPv4 + UDP headers, a send timestamp in the payload.
    std::uint8_t frame[wire::kIpv4MinHeader + wire::kUdpHeader + kPayload] = {};
    wire::Ipv4Repr ip;
    ip.src = ip.dst = kInaddrLoopback;
    ip.protocol = wire::kIpProtoUdp;
    ip.dont_fragment = true;
    ip.payload_len = wire::kUdpHeader + kPayload;
    ip.emit({frame, wire::kIpv4MinHeader});
    wire::UdpRepr{40000, kSinkPort, kPayload}.emit(
        {frame + wire::kIpv4MinHeader, wire::kUdpHeader});
    constexpr std::size_t kStampAt = wire::kIpv4MinHeader + wire::kUdpHeader;

    std::atomic<bool> stop{false};
    std::uint64_t delivered = 0;
    std::thread reader([&] {
        set_this_cpu(1 % d.cpus);
        std::uint8_t buf[kPayload];
        std::size_t n = 0;
        for (;;) {
            const bool stopping = stop.load();
            // Once stopping, NET_RX is quiet: read what is queued without waiting, then leave.
            const Nanos deadline = stopping ? 0 : stack.clock().now_ns() + 20 * kNsPerMs;
            if (sink.recv(buf, n, deadline)) {
                if (stopping) return;
                continue;
            }
            ++delivered;
            if (out.latency && n == kPayload) {
                std::int64_t sent_at = 0;
                std::memcpy(&sent_at, buf, sizeof sent_at);
                out.latency->record(mono_ns() - sent_at);
            }
        }
    });

    Device& lo = stack.loopback();
    PacketPool& pool = PacketPool::instance();
    const auto burst = static_cast<std::uint64_t>(factor * (backlog + 1));
    const std::int64_t end = mono_ns() + static_cast<std::int64_t>(seconds * 1e9);
    // The burst is built first and handed to loopback_xmit back to back: building each packet
    // in the window let a busy poller keep up with the sender (no drops, no overload).
    std::vector<PacketPtr> ready;
    ready.reserve(burst);
    do {
        for (std::uint64_t k = 0; k < burst; ++k) {
            PacketPtr pkt = pool.alloc(sizeof frame);
            std::memcpy(pkt->put(sizeof frame), frame, sizeof frame);
            pkt->ip_summed = ChecksumState::partial;  // lo's offload: nobody sums UDP
            ready.push_back(std::move(pkt));
        }
        const std::int64_t now = mono_ns();  // one send time for the burst: queueing included
        for (PacketPtr& pkt : ready) std::memcpy(pkt->data() + kStampAt, &now, sizeof now);
        {
            BhDisabled bh(stack.net_rx());  // NET_RX waits for the enable (softirq design)
            for (PacketPtr& pkt : ready) {
                lo.xmit(std::move(pkt));
                ++out.sent;
            }
        }
        ready.clear();
        ++out.bursts;
        // The next burst comes once the backlog is drained: the offered load is the burst size
        // against what one drain of the backlog can take, whatever the design.
        const std::int64_t drain_limit = mono_ns() + kQuiesceLimit;
        while (!backlog_empty(stack) && mono_ns() < drain_limit) std::this_thread::yield();
    } while (mono_ns() < end && out.bursts < max_bursts);
    out.burst = burst;

    const std::int64_t give_up = mono_ns() + kQuiesceLimit;
    while (!quiet(stack) && mono_ns() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    out.quiesced = quiet(stack);
    stop = true;
    reader.join();
    out.delivered = delivered;
    out.counters = VloCounters::read(stack);
    out.socket_drops = sink.drops();
}

}  // namespace

CellResult run_overload_cell(const CellSpec& spec) {
    CellResult r;
    r.spec = spec;
    OverloadFigures f;
    const std::uint64_t pool0 = PacketPool::instance().heap_allocations();
    const std::uint64_t heap0 = heap_in_use();
    BurstRun run;
    run.latency = &r.latency;
    UsageWindow usage;
    const std::int64_t t0 = mono_ns();
    run_bursts(spec.design, NetCoreConfig{}.netdev_max_backlog, kOfferedFactor, spec.seconds,
               kMaxOpsPerCell, run);
    r.seconds = static_cast<double>(mono_ns() - t0) / 1e9;
    usage.finish(r);
    run.counters.store(r);
    r.ops = run.delivered;
    f.sent = run.sent;
    f.delivered = run.delivered;
    f.dropped = run.counters.all_drops;
    f.backlog_drops = run.counters.backlog_drops;
    f.socket_drops = run.socket_drops;
    f.burst = run.burst;
    f.unaccounted = static_cast<std::int64_t>(f.sent) - static_cast<std::int64_t>(f.delivered) -
                    static_cast<std::int64_t>(f.dropped);
    f.pool_heap_allocations = PacketPool::instance().heap_allocations() - pool0;
    f.heap_delta_bytes =
        static_cast<std::int64_t>(heap_in_use()) - static_cast<std::int64_t>(heap0);
    if (!run.quiesced) {
        r.ok = false;
        r.error = "NET_RX did not go quiet";
    } else if (f.sent == 0) {
        r.ok = false;
        r.error = "nothing sent";
    }
    if (spec.sweep) {
        // Drops against offered load and netdev_max_backlog: a few bursts per point.
        for (std::uint32_t backlog : {300u, 1000u, 3000u})
            for (double factor : {0.5, 1.0, 2.0, 5.0, 10.0}) {
                BurstRun point;
                run_bursts(spec.design, backlog, factor, 0.01, 8, point);
                f.sweep.push_back(
                    {factor, backlog, point.sent, point.delivered, point.counters.all_drops});
            }
    }
    r.overload = std::move(f);
    return r;
}

}  // namespace vlo::lab
