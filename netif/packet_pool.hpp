// Where packets come from: the slab allocator's shape. Two size classes (MTU-sized and
// 64 KiB-sized, lo's MTU being 65536), a per-thread cache so alloc and free touch no lock in the
// steady state, and a shared depot under a mutex that caches spill into and refill from in
// batches, as the per-CPU slab caches do.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "netif/packet.hpp"

namespace vlo {

class PacketPool {
public:
    static constexpr std::size_t kSmallCapacity = 2048;
    static constexpr std::size_t kLargeCapacity = Packet::kHeadroom + 65536;
    static constexpr int kClasses = 2;

    static PacketPool& instance();

    // A packet with room for at least `size` bytes after the default headroom, empty.
    // Returns nullptr only if size exceeds the largest class.
    PacketPtr alloc(std::size_t size);

    // skb_copy: a private copy of `src`, data and metadata, with the same headroom and header
    // offsets (netem's duplicates, which must not share bytes with the original it corrupts).
    // Returns nullptr only if src was not from this pool's classes (never, in practice).
    PacketPtr copy(const Packet& src);

    // Heap allocations made so far: flat in the steady state (a test counts them).
    std::uint64_t heap_allocations() const { return heap_allocations_.load(std::memory_order_relaxed); }

    ~PacketPool();
    PacketPool(const PacketPool&) = delete;
    PacketPool& operator=(const PacketPool&) = delete;

private:
    friend struct PacketDeleter;
    friend struct ThreadCache;
    PacketPool() = default;

    Packet* make(int size_class);
    PacketPtr alloc_class(int size_class);
    void release(Packet* p);
    // Depot: shared free lists, touched only in batches.
    std::size_t take_batch(int size_class, Packet*& head, std::size_t max);
    void give_batch(int size_class, Packet* head, Packet* tail, std::size_t n);

    struct Depot {
        std::mutex mu;
        Packet* head = nullptr;
        std::size_t count = 0;
    };
    Depot depot_[kClasses];
    std::atomic<std::uint64_t> heap_allocations_{0};
};

}  // namespace vlo
