// UDP (net/ipv4/udp.c): udp_rcv validates what ip_local_deliver hands up and queues it on the
// socket __udp4_lib_lookup finds, or answers a closed port with ICMP port unreachable;
// __udp4_lib_err turns an ICMP error about a datagram a connected socket sent into that socket's
// pending error. The socket table (udp_table) lives here; the bind rules are the PortTable's.
//
// Locking: mu_ guards the table and, for every socket in it, the fields a lookup reads (its
// port, inet_rcv_saddr, inet_daddr, inet_dport, connected state): they change only with mu_
// held exclusively. NET_RX holds mu_ shared from lookup through delivery, so a socket (whose
// destructor unhashes it) cannot go away under a packet.
#pragma once

#include <cstdint>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "stack/ip.hpp"

namespace vlo {

class Stack;
class UdpSocket;

class Udp final : public InetProtocol {
public:
    explicit Udp(Stack& stack);

    // udp_rcv: pkt->data() at the UDP header, pkt->network() at the IP header.
    void rcv(PacketPtr pkt) override;

    // udp_err: an ICMP error quoting a datagram we sent.
    void err(std::uint8_t type, std::uint8_t code, std::uint32_t info, const wire::Ipv4View& inner,
             std::span<const std::uint8_t> transport) override;

private:
    friend class UdpSocket;

    // udp_lib_get_port's insertion, once PortTable granted the port: newest first, as
    // hlist_add_head_rcu puts it, so among equal scores the last bound socket wins.
    void hash(UdpSocket* sk, std::uint16_t port, Ipv4Address rcv_saddr);
    // udp_lib_unhash
    void unhash(UdpSocket* sk);
    // __ip4_datagram_connect's updates (and udp_v4_rehash), made atomically for NET_RX.
    void connect(UdpSocket* sk, Ipv4Address rcv_saddr, Ipv4Address daddr, std::uint16_t dport);

    // __udp4_lib_lookup: sockets bound to daddr first, then those bound to 0.0.0.0; within
    // each, the best compute_score (a connected socket must match the source, and beats an
    // unconnected one). mu_ held.
    UdpSocket* lookup(Ipv4Address saddr, std::uint16_t sport, Ipv4Address daddr,
                      std::uint16_t dport) const;
    // __udp4_lib_mcast_deliver: a broadcast goes to every socket that would take it.
    void mcast_deliver(PacketPtr pkt, Ipv4Address saddr, std::uint16_t sport, Ipv4Address daddr,
                       std::uint16_t dport);
    void drop(PacketPtr pkt, DropReason reason);

    Stack& stack_;
    mutable std::shared_mutex mu_;
    std::unordered_map<std::uint16_t, std::vector<UdpSocket*>> sockets_;  // by local port; mu_
};

}  // namespace vlo
