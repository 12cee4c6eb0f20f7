// softnet_data's input_pkt_queue, as a pluggable design. Any thread enqueues (the sending CPU's
// threads); only the thread running NET_RX for that CPU dequeues. Each design keeps the kernel's
// split between the input queue producers fill and the process queue the consumer works from, so
// softnet_stat's input_qlen and process_qlen mean the same for all of them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "netif/packet.hpp"

namespace vlo {

class BacklogQueue {
public:
    virtual ~BacklogQueue() = default;
    virtual std::string_view name() const = 0;

    // enqueue_to_backlog's test: accepted while the input queue holds at most max_backlog
    // packets (`qlen <= max_backlog`), so a full queue holds max_backlog + 1. On refusal the
    // packet is handed back.
    virtual PacketPtr enqueue(PacketPtr pkt, std::uint32_t max_backlog) = 0;

    // Consumer only: next packet, refilling the process queue from the input queue when it
    // runs dry (process_backlog's skb_queue_splice_tail_init). nullptr when both are empty.
    virtual PacketPtr dequeue() = 0;

    virtual std::uint32_t input_qlen() const = 0;
    virtual std::uint32_t process_qlen() const = 0;
    bool empty() const { return input_qlen() == 0 && process_qlen() == 0; }
};

enum class QueueKind { list, ring };

std::optional<QueueKind> parse_queue_kind(std::string_view name);
std::string_view queue_kind_name(QueueKind k);
// `capacity_hint` sizes designs that need a fixed size (the ring: netdev_max_backlog + 1).
std::unique_ptr<BacklogQueue> make_backlog_queue(QueueKind kind, std::uint32_t capacity_hint);
// The design registered under `design` (designs.hpp), built-in or not; null if none is.
std::unique_ptr<BacklogQueue> make_backlog_queue(std::string_view design,
                                                 std::uint32_t capacity_hint);

}  // namespace vlo
