#include "netif/ring_queue.hpp"

#include <bit>

namespace vlo {

RingQueue::RingQueue(std::uint32_t capacity) {
    const std::uint64_t cap = std::bit_ceil(std::max<std::uint64_t>(capacity, 2));
    slots_ = std::make_unique<Slot[]>(cap);
    mask_ = cap - 1;
    for (std::uint64_t i = 0; i < cap; ++i) slots_[i].seq.store(i, std::memory_order_relaxed);
}

RingQueue::~RingQueue() {
    while (PacketPtr p = dequeue()) {
    }
}

std::uint32_t RingQueue::input_qlen() const {
    const std::uint64_t t = tail_.load(std::memory_order_acquire);
    const std::uint64_t h = head_.load(std::memory_order_acquire);
    return t > h ? static_cast<std::uint32_t>(t - h) : 0;
}

PacketPtr RingQueue::enqueue(PacketPtr pkt, std::uint32_t max_backlog) {
    std::uint64_t pos = tail_.load(std::memory_order_relaxed);
    for (;;) {
        // The backlog limit against the consumer's head as last seen; only when that says
        // full is head_ read again, so producers do not pull the consumer's line per packet.
        // Signed: a stale `pos` may be behind a fresh head.
        if (static_cast<std::int64_t>(pos - head_seen_.load(std::memory_order_relaxed)) > max_backlog) {
            const std::uint64_t h = head_.load(std::memory_order_acquire);
            head_seen_.store(h, std::memory_order_relaxed);
            if (static_cast<std::int64_t>(pos - h) > max_backlog) return pkt;
        }
        Slot& s = slots_[pos & mask_];
        const std::uint64_t seq = s.seq.load(std::memory_order_acquire);
        const auto diff = static_cast<std::int64_t>(seq - pos);
        if (diff == 0) {
            if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
                s.pkt = pkt.release();
                s.seq.store(pos + 1, std::memory_order_release);
                return nullptr;
            }
        } else if (diff < 0) {
            return pkt;  // ring full
        } else {
            pos = tail_.load(std::memory_order_relaxed);
        }
    }
}

PacketPtr RingQueue::dequeue() {
    if (process_pos_ == process_end_) {
        // Refill the process queue: each slot goes back to the producers as it is read, the
        // head once for the whole batch.
        process_pos_ = process_end_ = 0;
        std::uint64_t pos = head_.load(std::memory_order_relaxed);
        while (process_end_ < kBatch) {
            Slot& s = slots_[pos & mask_];
            if (s.seq.load(std::memory_order_acquire) != pos + 1) break;  // empty or not yet published
            process_[process_end_++] = s.pkt;
            s.seq.store(pos + mask_ + 1, std::memory_order_release);
            ++pos;
        }
        if (process_end_ != 0) head_.store(pos, std::memory_order_release);
        process_len_.store(process_end_, std::memory_order_relaxed);
        if (process_end_ == 0) return nullptr;
    }
    // Only the consumer writes it: a plain store, not a locked read-modify-write per packet.
    process_len_.store(process_end_ - process_pos_ - 1, std::memory_order_relaxed);
    return PacketPtr{process_[process_pos_++]};
}

}  // namespace vlo
