// IPv4 (net/ipv4/ip_input.c, ip_output.c, route.c): ip_rcv validates and routes what NET_RX
// hands up, ip_local_deliver reassembles fragments (ip_defrag) and passes the datagram to the
// transport protocol; ip_local_out → ip_output → dev_queue_xmit (netif/dev_xmit.hpp) sends,
// fragmenting what is longer than the device's MTU (ip_fragment).
#pragma once

#include <array>
#include <atomic>
#include <system_error>

#include "netif/net_rx.hpp"
#include "stack/fib.hpp"
#include "stack/ip_defrag.hpp"
#include "stack/wire/ipv4.hpp"

namespace vlo {

class Stack;

// struct net_protocol: a transport's receive function. pkt->data() is at the transport header,
// pkt->network() at the IP header.
class InetProtocol {
public:
    virtual ~InetProtocol() = default;
    virtual void rcv(PacketPtr pkt) = 0;
    // err_handler: an ICMP error arrived about a datagram this protocol sent. `inner` is the
    // quoted IP header, `transport` at least the first 8 bytes of its transport header.
    // Protocols that keep no per-peer state have nothing to do.
    virtual void err(std::uint8_t type, std::uint8_t code, std::uint32_t info, const wire::Ipv4View& inner,
                     std::span<const std::uint8_t> transport) {
        (void)type, (void)code, (void)info, (void)inner, (void)transport;
    }
};

class Ip final : public PacketHandler {
public:
    explicit Ip(Stack& stack);

    // inet_add_protocol
    void add_protocol(std::uint8_t protocol, InetProtocol* handler);

    InetProtocol* protocol(std::uint8_t protocol) const { return protocols_[protocol]; }

    // ip_rcv: the ETH_P_IP handler.
    void receive(PacketPtr pkt) override;

    // ip_route_output_key: where a datagram to dst goes and which source it carries. `src`, if
    // set, must be local; `oif`, if set, limits the choice to that device.
    std::error_code route_output(Ipv4Address dst, Ipv4Address src, const Device* oif, Route& rt) const;

    // Prepends the header repr describes (its payload_len is set from the packet) and sends.
    // Longer than the device's MTU it leaves in fragments, unless DF is set: then it is
    // dropped, an ICMP fragmentation needed goes to the source (here, back to the sender's own
    // err handler) and the result is EMSGSIZE (ip_fragment).
    std::error_code ip_local_out(PacketPtr pkt, const Route& rt, wire::Ipv4Repr repr);

    // Trace the next `n` datagrams sent (vlo-nc --trace): each gets the next trace id, from 1.
    void trace_next(int n);

    // ip_select_ident for datagrams without DF: a per-destination counter (ip_idents).
    std::uint16_t select_ident(Ipv4Address src, Ipv4Address dst, std::uint8_t protocol);

    // The reassembly queues (net->ipv4.fqdir).
    IpDefrag& defrag() { return defrag_; }
    const IpDefrag& defrag() const { return defrag_; }

private:
    // Returns the packet when the route says "deliver here", else drops and counts it.
    PacketPtr ip_route_input(PacketPtr pkt, const wire::Ipv4View& iph);
    void ip_local_deliver(PacketPtr pkt);
    std::error_code ip_output(PacketPtr pkt, Device& dev);
    std::error_code ip_fragment(PacketPtr pkt, Device& dev);
    std::error_code ip_do_fragment(PacketPtr pkt, Device& dev);
    void ip_finish_output2(PacketPtr pkt, Device& dev);
    void drop(PacketPtr pkt, DropReason reason);

    Stack& stack_;
    std::array<InetProtocol*, 256> protocols_{};
    std::array<std::atomic<std::uint32_t>, 2048> idents_{};
    std::uint32_t ident_seed_;
    std::atomic<int> trace_budget_{0};
    std::atomic<std::uint64_t> trace_ids_{0};
    IpDefrag defrag_;
};

}  // namespace vlo
