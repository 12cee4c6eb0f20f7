// A lock-free bounded ring (Vyukov's array queue with a sequence number per slot): producers
// claim a slot with one CAS and never take a lock. The consumer drains it in batches into a
// private array, its process queue.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "netif/backlog_queue.hpp"

namespace vlo {

class RingQueue final : public BacklogQueue {
public:
    // capacity is rounded up to a power of two; the queue refuses beyond max_backlog + 1 anyway.
    explicit RingQueue(std::uint32_t capacity);
    ~RingQueue() override;
    std::string_view name() const override { return "ring"; }
    PacketPtr enqueue(PacketPtr pkt, std::uint32_t max_backlog) override;
    PacketPtr dequeue() override;
    std::uint32_t input_qlen() const override;
    std::uint32_t process_qlen() const override { return process_len_.load(std::memory_order_relaxed); }

private:
    static constexpr std::uint32_t kBatch = 64;  // one dev_weight's worth

    // Four to a cache line: a batch moves between the cores in lines, not one line per packet.
    struct Slot {
        std::atomic<std::uint64_t> seq;
        Packet* pkt;
    };
    std::unique_ptr<Slot[]> slots_;
    std::uint64_t mask_;
    alignas(64) std::atomic<std::uint64_t> tail_{0};       // producers
    std::atomic<std::uint64_t> head_seen_{0};               // producers' last look at head_
    alignas(64) std::atomic<std::uint64_t> head_{0};        // consumer: published once a batch
    std::array<Packet*, kBatch> process_{};
    std::uint32_t process_pos_ = 0;
    std::uint32_t process_end_ = 0;
    std::atomic<std::uint32_t> process_len_{0};
};

}  // namespace vlo
