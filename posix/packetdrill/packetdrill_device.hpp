// The device between packetdrill and the stack, a TUN device's two ends in one process: what
// the stack transmits waits in a queue for packetdrill's netdev_receive (stamped with the
// virtual time it left), and what packetdrill's netdev_send hands over is received as from a
// wire (tun_get_user: no checksum offload, so the stack verifies every checksum).
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "netif/clock.hpp"
#include "netif/device.hpp"

namespace vlo::posix {

class PacketdrillDevice final : public NetDevice {
  public:
    static constexpr std::uint32_t kMtu = 1500;       // packetdrill's tun0
    static constexpr std::size_t kQueueLimit = 4096;  // then it drops, as a full tx ring

    PacketdrillDevice(int ifindex, const Clock& clock);

    // ndo_start_xmit: queue for netdev_receive.
    NetdevTx xmit(PacketPtr pkt) override;
    // The oldest queued datagram into buf (up to `count` bytes; count becomes its length).
    bool pop(void* buf, std::size_t& count, Nanos& sent_at);
    bool empty() const;
    // netdev_send: an IPv4 datagram into the stack. -1 (errno set) for what vlo cannot take.
    int inject(const void* buf, std::size_t count);

  private:
    struct Outbound {
        std::vector<std::uint8_t> bytes;
        Nanos at;
    };
    const Clock& clock_;
    mutable std::mutex mu_;
    std::deque<Outbound> queue_;
};

}  // namespace vlo::posix
