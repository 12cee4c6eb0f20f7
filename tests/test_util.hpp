// Helpers shared by the tests: deterministic stacks and hand-made packets.
#pragma once

#include <cstdint>
#include <vector>

#include "netif/packet_pool.hpp"
#include "stack/stack.hpp"
#include "stack/wire/icmp.hpp"
#include "stack/wire/ipv4.hpp"

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

}  // namespace vlo::test
