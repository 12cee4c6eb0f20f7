// The kernel's design: input_pkt_queue is an sk_buff_head under a lock that producers take per
// packet; the consumer splices it whole into its private process_queue and works from that
// without the lock.
#pragma once

#include <atomic>
#include <mutex>

#include "netif/backlog_queue.hpp"
#include "netif/packet_queue.hpp"

namespace vlo {

class ListQueue final : public BacklogQueue {
public:
    std::string_view name() const override { return "list"; }
    PacketPtr enqueue(PacketPtr pkt, std::uint32_t max_backlog) override;
    PacketPtr dequeue() override;
    std::uint32_t input_qlen() const override { return input_len_.load(std::memory_order_relaxed); }
    std::uint32_t process_qlen() const override { return process_len_.load(std::memory_order_relaxed); }

private:
    std::mutex lock_;                          // backlog_lock: guards input_
    PacketQueue input_;
    std::atomic<std::uint32_t> input_len_{0};  // read locklessly, as skb_queue_len_lockless
    PacketQueue process_;                      // consumer-owned
    std::atomic<std::uint32_t> process_len_{0};
};

}  // namespace vlo
