// ICMP (net/ipv4/icmp.c): icmp_rcv answers echo requests and hands echo replies to ping
// sockets; icmp_send builds the errors other protocols ask for, under the kernel's rate limits.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "stack/ip.hpp"
#include "stack/wire/icmp.hpp"

namespace vlo {

class Stack;

class Icmp final : public InetProtocol {
public:
    explicit Icmp(Stack& stack);

    // icmp_rcv
    void rcv(PacketPtr pkt) override;

    // __icmp_send: an error about `orig` (whose network header marks the offending datagram).
    // Never about an ICMP error, a non-first fragment or a broadcast; quotes as much of the
    // datagram as fits in 576 bytes (RFC 1812 4.3.2.3); rate limited per icmp_ratemask.
    void icmp_send(const Packet& orig, std::uint8_t type, std::uint8_t code, std::uint32_t info);

private:
    void icmp_echo(const Packet& req, const wire::IcmpView& icmp);
    void icmp_unreach(const wire::IcmpView& icmp);
    // icmp_push_reply: route back to `dst` from `src`, build and send.
    // A reply to a traced packet is traced under the same id (`cause`).
    void push_reply(const wire::IcmpRepr& msg, Ipv4Address dst, Ipv4Address src, std::uint8_t tos,
                    const Trace* cause = nullptr);
    bool global_allow(std::uint8_t type, std::uint8_t code);     // icmpv4_global_allow
    bool xrlim_allow(Ipv4Address peer, const Device& out_dev);    // icmpv4_xrlim_allow

    Stack& stack_;
    std::mutex rate_mu_;  // guards the token buckets below (errors only, never echo)
    Nanos global_stamp_ = 0;
    std::int64_t global_credit_ = -1;  // -1: not started, full burst available
    struct PeerBucket {
        Nanos last = 0;
        Nanos tokens = 0;
    };
    std::unordered_map<std::uint32_t, PeerBucket> peers_;  // inet_peer's rate_tokens
};

}  // namespace vlo
