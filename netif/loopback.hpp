// drivers/net/loopback.c: `lo`. Whatever it transmits it receives, through netif_rx onto the
// sending CPU's backlog. MTU 64 KiB, no ARP, and checksum offload that means nobody computes or
// verifies TCP/UDP checksums on it.
#pragma once

#include "netif/device.hpp"

namespace vlo {

class LoopbackDevice final : public NetDevice {
public:
    static constexpr std::uint32_t kMtu = 65536;  // LOOPBACK_MTU: (64 * 1024)

    explicit LoopbackDevice(int ifindex = 1);

    // loopback_xmit
    NetdevTx xmit(PacketPtr pkt) override;
};

}  // namespace vlo
