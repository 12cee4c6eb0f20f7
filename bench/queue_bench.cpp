// Backlog queue designs, alone: enqueue then dequeue a dev_weight's batch, one thread (the cost
// of the operations), and a producer thread feeding a consumer thread (the cost with the cache
// line ping-pong a real sender/softirq pair pays).
#include <atomic>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "netif/backlog_queue.hpp"
#include "netif/packet_pool.hpp"

using namespace vlo;

namespace {

constexpr int kBatch = 64;

void BM_QueueBatch(benchmark::State& state) {
    const auto kind = static_cast<QueueKind>(state.range(0));
    auto q = make_backlog_queue(kind, 1000);
    std::vector<PacketPtr> pkts;
    for (int i = 0; i < kBatch; ++i) pkts.push_back(PacketPool::instance().alloc(64));
    for (auto _ : state) {
        for (auto& p : pkts) p = q->enqueue(std::move(p), 1000);
        for (auto& p : pkts) p = q->dequeue();
        benchmark::DoNotOptimize(pkts.data());
    }
    state.SetItemsProcessed(state.iterations() * kBatch);
    state.SetLabel(std::string(queue_kind_name(kind)));
}
BENCHMARK(BM_QueueBatch)->Arg(static_cast<int>(QueueKind::list))->Arg(static_cast<int>(QueueKind::ring));

// One producer, one consumer; the packets circulate back to the producer through a return ring
// so neither side allocates.
void BM_QueueProducerConsumer(benchmark::State& state) {
    const auto kind = static_cast<QueueKind>(state.range(0));
    auto q = make_backlog_queue(kind, 1000);
    auto back = make_backlog_queue(QueueKind::ring, 4096);
    for (int i = 0; i < 512; ++i) back->enqueue(PacketPool::instance().alloc(64), 4096);
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> consumed{0};
    std::thread consumer([&] {
        std::uint64_t n = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            if (PacketPtr p = q->dequeue()) {
                ++n;
                back->enqueue(std::move(p), 4096);
            }
        }
        consumed = n;
    });
    // The return ring has one consumer: this thread.
    std::uint64_t sent = 0;
    for (auto _ : state) {
        for (int i = 0; i < kBatch;) {
            PacketPtr p = back->dequeue();
            if (!p) continue;
            if (PacketPtr refused = q->enqueue(std::move(p), 1000)) {
                back->enqueue(std::move(refused), 4096);
                continue;
            }
            ++i;
            ++sent;
        }
    }
    stop = true;
    consumer.join();
    state.SetItemsProcessed(static_cast<std::int64_t>(sent));
    state.SetLabel(std::string(queue_kind_name(kind)));
    while (q->dequeue()) {
    }
}
BENCHMARK(BM_QueueProducerConsumer)
    ->Arg(static_cast<int>(QueueKind::list))
    ->Arg(static_cast<int>(QueueKind::ring))
    ->UseRealTime();

}  // namespace
