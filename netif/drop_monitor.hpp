// kfree_skb_reason's bookkeeping: every packet freed without being delivered is counted under
// its reason (as the kernel's drop monitor sees them), and its trace, if any, is closed.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "netif/packet.hpp"

namespace vlo {

class DropMonitor {
public:
    void kfree_skb_reason(PacketPtr pkt, DropReason reason) {
        count_[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
        pkt->trace.drop = reason;
        pkt->trace.stamp(Stage::kfree_skb, static_cast<std::uint32_t>(reason));
    }
    std::uint64_t count(DropReason r) const {
        return count_[static_cast<std::size_t>(r)].load(std::memory_order_relaxed);
    }

private:
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(DropReason::count_)> count_{};
};

}  // namespace vlo
