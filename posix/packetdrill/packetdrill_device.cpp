#include "posix/packetdrill/packetdrill_device.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "netif/packet_pool.hpp"

namespace vlo::posix {

PacketdrillDevice::PacketdrillDevice(int ifindex, const Clock& clock)
    : NetDevice("tun0", ifindex, kMtu,
                IFF_UP | IFF_RUNNING | IFF_POINTOPOINT | IFF_NOARP | IFF_LOWER_UP, 0),
      clock_(clock) {}

NetdevTx PacketdrillDevice::xmit(PacketPtr pkt) {
    std::lock_guard l(mu_);
    if (queue_.size() >= kQueueLimit) {
        DeviceStats::inc(stats().tx_dropped);
        return NetdevTx::ok;
    }
    const auto b = pkt->bytes();
    queue_.push_back({std::vector<std::uint8_t>(b.begin(), b.end()), clock_.now_ns()});
    DeviceStats::inc(stats().tx_packets);
    DeviceStats::inc(stats().tx_bytes, b.size());
    return NetdevTx::ok;
}

bool PacketdrillDevice::pop(void* buf, std::size_t& count, Nanos& sent_at) {
    std::lock_guard l(mu_);
    if (queue_.empty()) return false;
    Outbound& o = queue_.front();
    count = std::min(count, o.bytes.size());
    std::memcpy(buf, o.bytes.data(), count);
    sent_at = o.at;
    queue_.pop_front();
    return true;
}

bool PacketdrillDevice::empty() const {
    std::lock_guard l(mu_);
    return queue_.empty();
}

int PacketdrillDevice::inject(const void* buf, std::size_t count) {
    const auto* bytes = static_cast<const std::uint8_t*>(buf);
    if (count == 0 || !buf) {
        errno = EINVAL;
        return -1;
    }
    if ((bytes[0] >> 4) != 4) {
        std::fprintf(stderr, "vlo: an IPv%d packet: vlo's stack speaks IPv4 only so far\n",
                     bytes[0] >> 4);
        errno = EAFNOSUPPORT;
        return -1;
    }
    PacketPtr pkt = PacketPool::instance().alloc(count);
    if (!pkt) {
        errno = EMSGSIZE;
        return -1;
    }
    std::memcpy(pkt->put(count), bytes, count);
    pkt->protocol = kEthPIp;
    pkt->dev = this;
    pkt->pkt_type = PacketType::host;
    pkt->ip_summed = ChecksumState::none;  // no RXCSUM: the stack verifies
    RxSink* sink = rx_sink();
    sink->local_bh_disable();  // as a driver's NAPI poll: NET_RX runs at the enable below
    if (sink->netif_rx(std::move(pkt)) == NetRxResult::success) {
        DeviceStats::inc(stats().rx_packets);
        DeviceStats::inc(stats().rx_bytes, count);
    }
    sink->local_bh_enable();
    return 0;
}

}  // namespace vlo::posix
