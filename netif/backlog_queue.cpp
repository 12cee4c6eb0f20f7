#include "netif/backlog_queue.hpp"

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
    if (kind == QueueKind::ring) return std::make_unique<RingQueue>(capacity_hint + 1);
    return std::make_unique<ListQueue>();
}

}  // namespace vlo
