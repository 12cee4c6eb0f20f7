#include "netif/device.hpp"

#include "netif/qdisc.hpp"

namespace vlo {

void RxSink::kfree_skb_reason(PacketPtr pkt, DropReason reason) {
    pkt->trace.drop = reason;
    pkt->trace.stamp(Stage::kfree_skb, static_cast<std::uint32_t>(reason));
}

Device::Device() = default;

Device::~Device() {
    // The qdisc may hold packets and a watchdog; it goes while the device is whole.
    qdisc_.take();
}

void NetDevice::set_up(bool up) {
    if (up)
        flags_.fetch_or(IFF_UP | IFF_RUNNING | IFF_LOWER_UP, std::memory_order_relaxed);
    else
        flags_.fetch_and(~(IFF_UP | IFF_RUNNING | IFF_LOWER_UP), std::memory_order_relaxed);
}

}  // namespace vlo
