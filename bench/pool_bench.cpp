// The packet pool: alloc and free on one thread (the per-thread cache's fast path), in
// dev_weight-sized batches, and for both size classes; packets freed on another thread than
// the one that allocated them go through the depot in batches.
#include <atomic>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "netif/packet_pool.hpp"

using namespace vlo;

namespace {

void BM_PoolAllocFree(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    PacketPool& pool = PacketPool::instance();
    for (auto _ : state) {
        PacketPtr p = pool.alloc(size);
        benchmark::DoNotOptimize(p.get());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PoolAllocFree)->Arg(64)->Arg(60000);

void BM_PoolAllocFreeBatch(benchmark::State& state) {
    constexpr int kBatch = 64;  // dev_weight
    const auto size = static_cast<std::size_t>(state.range(0));
    PacketPool& pool = PacketPool::instance();
    std::vector<PacketPtr> pkts(kBatch);
    for (auto _ : state) {
        for (auto& p : pkts) p = pool.alloc(size);
        for (auto& p : pkts) p.reset();
        benchmark::DoNotOptimize(pkts.data());
    }
    state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_PoolAllocFreeBatch)->Arg(64)->Arg(60000);

// Allocated here, freed by another thread (a sender's packets die in the receiver): each
// side's cache spills to or refills from the depot a batch at a time.
void BM_PoolCrossThreadFree(benchmark::State& state) {
    constexpr std::size_t kBatch = 256;
    PacketPool& pool = PacketPool::instance();
    std::vector<Packet*> handoff[2];
    std::atomic<int> full{-1};  // which handoff vector the freeing thread should empty
    std::atomic<bool> stop{false};
    handoff[0].reserve(kBatch);
    handoff[1].reserve(kBatch);
    std::thread freer([&] {
        while (!stop.load(std::memory_order_relaxed)) {
            const int i = full.load(std::memory_order_acquire);
            if (i < 0) {
                std::this_thread::yield();  // a shared machine: the allocating side may want the
                                            // core
                continue;
            }
            for (Packet* p : handoff[i]) PacketPtr(p).reset();
            handoff[i].clear();
            full.store(-1, std::memory_order_release);
        }
    });
    int cur = 0;
    for (auto _ : state) {
        for (std::size_t k = 0; k < kBatch; ++k) handoff[cur].push_back(pool.alloc(64).release());
        while (full.load(std::memory_order_acquire) >= 0) std::this_thread::yield();
        full.store(cur, std::memory_order_release);
        cur ^= 1;
    }
    while (full.load(std::memory_order_acquire) >= 0) std::this_thread::yield();
    stop = true;
    freer.join();
    for (Packet* p : handoff[cur]) PacketPtr(p).reset();
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kBatch));
}
BENCHMARK(BM_PoolCrossThreadFree)->UseRealTime();

}  // namespace
