#include "netif/list_queue.hpp"

namespace vlo {

PacketPtr ListQueue::enqueue(PacketPtr pkt, std::uint32_t max_backlog) {
    // The lockless early check, then the real one under the lock (enqueue_to_backlog).
    if (input_len_.load(std::memory_order_relaxed) > max_backlog) return pkt;
    std::lock_guard lock(lock_);
    const auto qlen = static_cast<std::uint32_t>(input_.size());
    if (qlen > max_backlog) return pkt;
    input_.push_back(std::move(pkt));
    input_len_.store(qlen + 1, std::memory_order_relaxed);
    return nullptr;
}

PacketPtr ListQueue::dequeue() {
    if (process_.empty()) {
        if (input_len_.load(std::memory_order_relaxed) == 0) return nullptr;
        std::lock_guard lock(lock_);
        process_.splice_tail(input_);
        input_len_.store(0, std::memory_order_relaxed);
        process_len_.store(static_cast<std::uint32_t>(process_.size()), std::memory_order_relaxed);
    }
    PacketPtr p = process_.pop_front();
    // Only the consumer writes it: a plain store, not a locked read-modify-write per packet.
    if (p) process_len_.store(static_cast<std::uint32_t>(process_.size()), std::memory_order_relaxed);
    return p;
}

}  // namespace vlo
