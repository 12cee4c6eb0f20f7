// IPv4 reassembly (net/ipv4/ip_fragment.c, net/ipv4/inet_fragment.c): ip_local_deliver hands
// every fragment to ip_defrag, which queues it with the others of its datagram, keyed by
// (source, destination, ID, protocol), and returns the whole datagram once the last hole is
// filled, as if it had arrived in one piece.
//
// The kernel's rules, Linux 6.x: a queue lives ipfrag_time (30 s) from its first fragment, then
// ip_expire counts ReasmTimeout and ReasmFails and sends ICMP time exceeded (fragment reassembly
// time exceeded) if the first fragment had come; above ipfrag_high_thresh bytes in all queues
// every fragment is refused (ReasmFails); an overlap kills the queue (RFC 5722 as applied to
// IPv4 since 4.19; ReasmOverlaps, ReasmFails), a fragment wholly inside data already queued is a
// duplicate and only it is dropped (inet_frag_queue_insert's IPFRAG_DUP).
//
// Locking: one mutex guards every queue, the hash and the expiry list. NET_RX (any CPU) and the
// timer take it; nothing else is called with it held but the drop monitor, the packet pool and
// the timer's arm, so an ICMP error goes out after it is released.
#pragma once

#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "netif/packet.hpp"
#include "stack/siphash.hpp"
#include "stack/timer_service.hpp"

namespace vlo {

class Stack;

class IpDefrag {
  public:
    explicit IpDefrag(Stack& stack);
    ~IpDefrag();
    IpDefrag(const IpDefrag&) = delete;
    IpDefrag& operator=(const IpDefrag&) = delete;

    // ip_defrag: `frag` is a fragment ip_rcv validated, data() and network header at its IP
    // header. Returns the reassembled datagram when `frag` completes it (data() and network
    // header at its IP header, total length and header checksum rewritten, no MF or offset),
    // else nullptr: the fragment is queued, or dropped and counted.
    PacketPtr ip_defrag(PacketPtr frag);

    // fqdir_pre_exit + fqdir_exit: refuses fragments from now on, frees every pending queue
    // (fragments count as dropped by frag_reasm_timeout, not as ReasmTimeout) and the timer.
    // Call after the timer service stopped and before it is destroyed (~Stack).
    void exit();

    // /proc/net/sockstat's "FRAG: inuse N memory M": queues pending, bytes charged to them.
    std::size_t queues() const;
    std::size_t mem() const;

  private:
    struct FragQueue;
    enum class Insert { ok, dup, overlap };  // inet_frag_queue_insert's IPFRAG_*

    FragQueue* find_or_create(std::uint32_t saddr, std::uint32_t daddr, std::uint16_t id,
                              std::uint8_t protocol);
    // ip_frag_queue: places `frag` in `q`; the reassembled datagram if that completed it.
    PacketPtr ip_frag_queue(FragQueue& q, PacketPtr frag);
    Insert insert(FragQueue& q, PacketPtr& frag, std::size_t offset, std::size_t end);
    PacketPtr ip_frag_reasm(FragQueue& q, const Packet& last);
    // inet_frag_kill + inet_frag_destroy: out of the hash and the expiry list, its fragments
    // freed (dropped under `reason`, or consumed when not_dropped), the queue recycled.
    void kill(FragQueue& q, DropReason reason);
    // The timer: every queue whose time is up goes (ip_expire).
    void ip_expire();
    void arm_timer();
    std::size_t bucket(std::uint32_t saddr, std::uint32_t daddr, std::uint16_t id,
                       std::uint8_t protocol) const;

    Stack& stack_;
    mutable std::mutex mu_;
    // The hash as before Linux 4.17's rhashtable: a fixed array of chains (INETFRAGS_HASHSZ),
    // with a random key so peers cannot aim at one chain.
    static constexpr std::size_t kHashSize = 1024;
    std::array<FragQueue*, kHashSize> hash_{};
    SipKey hash_key_;
    // Every queue expires ipfrag_time after it was created and ipfrag_time is fixed, so creation
    // order is expiry order: one timer, armed for the oldest queue, does for all.
    FragQueue* oldest_ = nullptr;
    FragQueue* newest_ = nullptr;
    // Queues are recycled, as the kernel's come from a kmem_cache: no allocation per datagram
    // once the peak number of queues has been seen.
    std::vector<std::unique_ptr<FragQueue>> storage_;
    FragQueue* free_ = nullptr;
    std::size_t nqueues_ = 0;
    std::size_t mem_ = 0;         // fqdir->mem: queue structs plus the buffers of queued fragments
    bool dead_ = false;           // exit() ran (fqdir->dead)
    std::optional<Timer> timer_;  // made on first use: the stack's timer service comes after Ip
};

}  // namespace vlo
