// Backlog queue designs, alone: one enqueue and one dequeue (single), a dev_weight's batch in and
// out on one thread (the cost of the operations), and a producer thread feeding a consumer
// thread, per packet and in batches (the cost with the cache line ping-pong a real
// sender/softirq pair pays).
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "netif/backlog_queue.hpp"
#include "netif/packet_pool.hpp"

using namespace vlo;

namespace {

constexpr int kBatch = 64;

void BM_QueueSingle(benchmark::State& state) {
    const auto kind = static_cast<QueueKind>(state.range(0));
    auto q = make_backlog_queue(kind, 1000);
    PacketPtr p = PacketPool::instance().alloc(64);
    for (auto _ : state) {
        p = q->enqueue(std::move(p), 1000);  // accepted: nullptr
        p = q->dequeue();
        benchmark::DoNotOptimize(p.get());
    }
    state.SetItemsProcessed(state.iterations());
    state.SetLabel(std::string(queue_kind_name(kind)));
}
BENCHMARK(BM_QueueSingle)
    ->Arg(static_cast<int>(QueueKind::list))
    ->Arg(static_cast<int>(QueueKind::ring));

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
BENCHMARK(BM_QueueBatch)
    ->Arg(static_cast<int>(QueueKind::list))
    ->Arg(static_cast<int>(QueueKind::ring));

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

// Single producer, single consumer, both sides batched: the producer enqueues dev_weight packets
// per round, the consumer drains whatever is there (its process queue refills in batches) and
// hands the packets back 256 at a time, so neither side allocates and the return path is not
// what is measured.
void BM_QueueSpscBatched(benchmark::State& state) {
    const auto kind = static_cast<QueueKind>(state.range(0));
    constexpr std::uint32_t kBacklog = 1000;
    constexpr std::size_t kReturnBatch = 256;
    constexpr std::size_t kPackets = 4096;
    auto q = make_backlog_queue(kind, kBacklog);
    std::vector<PacketPtr> stock;  // the producer's
    for (std::size_t i = 0; i < kPackets; ++i) stock.push_back(PacketPool::instance().alloc(64));
    std::mutex back_mu;
    std::vector<PacketPtr> back;  // guarded by back_mu
    back.reserve(kPackets);
    std::atomic<bool> stop{false};
    std::thread consumer([&] {
        std::vector<PacketPtr> done;
        done.reserve(kPackets);
        while (!stop.load(std::memory_order_relaxed)) {
            bool any = false;
            while (PacketPtr p = q->dequeue()) {
                done.push_back(std::move(p));
                any = true;
            }
            // Empty: give the core away (on a shared machine the producer may want it).
            if (!any) std::this_thread::yield();
            if (done.size() >= kReturnBatch) {
                std::lock_guard l(back_mu);
                for (auto& p : done) back.push_back(std::move(p));
                done.clear();
            }
        }
        while (PacketPtr p = q->dequeue()) done.push_back(std::move(p));
        std::lock_guard l(back_mu);
        for (auto& p : done) back.push_back(std::move(p));
    });
    std::uint64_t sent = 0;
    for (auto _ : state) {
        for (int i = 0; i < kBatch;) {
            if (stock.empty()) {
                {
                    std::lock_guard l(back_mu);
                    stock.swap(back);
                }
                if (stock.empty()) std::this_thread::yield();
                continue;
            }
            if (PacketPtr refused = q->enqueue(std::move(stock.back()), kBacklog)) {
                stock.back() = std::move(refused);  // full: the consumer is behind
                std::this_thread::yield();
                continue;
            }
            stock.pop_back();
            ++i;
        }
        sent += kBatch;
    }
    stop = true;
    consumer.join();
    state.SetItemsProcessed(static_cast<std::int64_t>(sent));
    state.SetLabel(std::string(queue_kind_name(kind)));
}
BENCHMARK(BM_QueueSpscBatched)
    ->Arg(static_cast<int>(QueueKind::list))
    ->Arg(static_cast<int>(QueueKind::ring))
    ->UseRealTime();

}  // namespace
