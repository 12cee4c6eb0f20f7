#include "netif/loopback.hpp"

namespace vlo {

LoopbackDevice::LoopbackDevice(int ifindex)
    : NetDevice("lo", ifindex, kMtu, IFF_LOOPBACK | IFF_UP | IFF_RUNNING | IFF_LOWER_UP,
                NETIF_F_HW_CSUM | NETIF_F_RXCSUM) {}

NetdevTx LoopbackDevice::xmit(PacketPtr pkt) {
    pkt->trace.stamp(Stage::loopback_xmit);
    pkt->dev = this;
    // CHECKSUM_PARTIAL stays unfilled: lo's RXCSUM makes the receiver trust it, as
    // loopback_xmit leaves ip_summed for the receive side to read as verified.
    if (pkt->ip_summed == ChecksumState::partial) pkt->ip_summed = ChecksumState::unnecessary;
    const std::uint64_t len = pkt->size();
    // loopback_xmit counts the packet only if netif_rx took it (dev_lstats_add after
    // __netif_rx == NET_RX_SUCCESS); lo's rx and tx counters are one and the same. A refused
    // packet is counted in rx_dropped by enqueue_to_backlog.
    if (rx_sink()->netif_rx(std::move(pkt)) == NetRxResult::success) {
        DeviceStats::inc(stats().tx_packets);
        DeviceStats::inc(stats().tx_bytes, len);
        DeviceStats::inc(stats().rx_packets);
        DeviceStats::inc(stats().rx_bytes, len);
    }
    return NetdevTx::ok;
}

}  // namespace vlo
