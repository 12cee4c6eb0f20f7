// Helpers shared by the tests: deterministic stacks and hand-made packets.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "netif/packet_pool.hpp"
#include "stack/stack.hpp"
#include "stack/wire/icmp.hpp"
#include "stack/wire/ipv4.hpp"
#include "stack/wire/tcp.hpp"

namespace vlo::test {

// The deterministic setup: inline worker, virtual clock.
inline StackConfig inline_config() {
    StackConfig c;
    c.core.worker = WorkerKind::inline_;
    return c;
}

inline PacketPtr make_packet(const std::vector<std::uint8_t>& bytes) {
    PacketPtr p = PacketPool::instance().alloc(bytes.size());
    std::copy(bytes.begin(), bytes.end(), p->put(bytes.size()));
    return p;
}

// An IPv4 datagram carrying an ICMP echo request, checksums right.
inline std::vector<std::uint8_t> echo_request(Ipv4Address src, Ipv4Address dst, std::uint16_t id,
                                              std::uint16_t seq, std::size_t payload_len = 56) {
    std::vector<std::uint8_t> payload(payload_len);
    for (std::size_t i = 0; i < payload_len; ++i) payload[i] = static_cast<std::uint8_t>(i);
    const auto icmp = wire::IcmpRepr::echo(wire::kIcmpEcho, id, seq, payload);
    std::vector<std::uint8_t> out(wire::kIpv4MinHeader + icmp.buffer_len());
    wire::Ipv4Repr ip;
    ip.src = src;
    ip.dst = dst;
    ip.protocol = wire::kIpProtoIcmp;
    ip.payload_len = icmp.buffer_len();
    ip.emit({out.data(), wire::kIpv4MinHeader});
    icmp.emit({out.data() + wire::kIpv4MinHeader, icmp.buffer_len()});
    return out;
}

// A wire-facing device: what the stack transmits on it is kept for the test to look at
// (a peer that never answers, unless the test answers for it).
class WireDevice final : public NetDevice {
public:
    WireDevice(int ifindex, std::string name = "eth0", std::uint32_t mtu = 1500)
        : NetDevice(std::move(name), ifindex, mtu, IFF_UP | IFF_RUNNING, 0) {}
    NetdevTx xmit(PacketPtr pkt) override {
        sent.push_back(std::move(pkt));
        return NetdevTx::ok;
    }
    std::vector<PacketPtr> sent;
};

// Adds a WireDevice with `cidr` (default 198.18.0.2/24, RFC 2544's range) to the stack.
inline WireDevice& add_wire(Stack& stack, const char* cidr = "198.18.0.2/24") {
    auto& dev = static_cast<WireDevice&>(stack.add_device(std::make_unique<WireDevice>(stack.next_ifindex())));
    stack.addr_add(dev.name(), *Ipv4Cidr::parse(cidr));
    return dev;
}

// An IPv4 datagram carrying a TCP segment, both checksums right.
inline std::vector<std::uint8_t> tcp_segment(Ipv4Address src, Ipv4Address dst, const wire::TcpRepr& tcp,
                                             std::span<const std::uint8_t> payload = {}) {
    const std::size_t thl = tcp.header_len();
    std::vector<std::uint8_t> out(wire::kIpv4MinHeader + thl + payload.size());
    std::span<std::uint8_t> seg(out.data() + wire::kIpv4MinHeader, thl + payload.size());
    tcp.emit(seg.first(thl));
    std::copy(payload.begin(), payload.end(), seg.begin() + static_cast<long>(thl));
    wire::store16(&seg[16], wire::tcp_checksum(src, dst, seg));
    wire::Ipv4Repr ip;
    ip.src = src;
    ip.dst = dst;
    ip.protocol = wire::kIpProtoTcp;
    ip.payload_len = seg.size();
    ip.emit({out.data(), wire::kIpv4MinHeader});
    return out;
}

inline void inject(Stack& stack, Device& dev, const std::vector<std::uint8_t>& bytes) {
    PacketPtr pkt = make_packet(bytes);
    pkt->dev = &dev;
    stack.net_rx().netif_rx(std::move(pkt));
}

}  // namespace vlo::test
