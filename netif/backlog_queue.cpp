#include "netif/backlog_queue.hpp"

#include "netif/designs.hpp"
#include "netif/list_queue.hpp"
#include "netif/ring_queue.hpp"

namespace vlo {

std::optional<QueueKind> parse_queue_kind(std::string_view name) {
    if (name == "list") return QueueKind::list;
    if (name == "ring") return QueueKind::ring;
    return std::nullopt;
}

std::string_view queue_kind_name(QueueKind k) { return k == QueueKind::list ? "list" : "ring"; }

std::unique_ptr<BacklogQueue> make_backlog_queue(QueueKind kind, std::uint32_t capacity_hint) {
    return make_backlog_queue(queue_kind_name(kind), capacity_hint);
}

std::unique_ptr<BacklogQueue> make_backlog_queue(std::string_view design,
                                                 std::uint32_t capacity_hint) {
    const QueueFactory make = find_queue_design(design);
    return make ? make(capacity_hint) : nullptr;
}

void register_builtin_queues() {
    register_queue_design(
        "list", [](std::uint32_t) { return std::unique_ptr<BacklogQueue>(new ListQueue); });
    register_queue_design("ring", [](std::uint32_t capacity_hint) {
        return std::unique_ptr<BacklogQueue>(new RingQueue(capacity_hint + 1));
    });
}

}  // namespace vlo
