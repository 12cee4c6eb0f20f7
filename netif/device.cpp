#include "netif/device.hpp"

namespace vlo {

void NetDevice::set_up(bool up) {
    if (up)
        flags_.fetch_or(IFF_UP | IFF_RUNNING | IFF_LOWER_UP, std::memory_order_relaxed);
    else
        flags_.fetch_and(~(IFF_UP | IFF_RUNNING | IFF_LOWER_UP), std::memory_order_relaxed);
}

}  // namespace vlo
