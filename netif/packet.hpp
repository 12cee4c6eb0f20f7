// The packet buffer, after the kernel's sk_buff: one contiguous buffer with headroom so each
// layer can push its header in front without copying, plus the metadata the receive path needs.
// Packets come from PacketPool and go back to it when their PacketPtr dies, so the steady state
// allocates nothing.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "netif/clock.hpp"
#include "netif/trace.hpp"

namespace vlo {

class Device;

// skb->ip_summed: what is known about the transport checksum.
enum class ChecksumState : std::uint8_t {
    none,         // CHECKSUM_NONE: verify in software
    partial,      // CHECKSUM_PARTIAL: left for the device (lo never fills it in)
    unnecessary,  // CHECKSUM_UNNECESSARY: the device vouches for it (lo's RXCSUM)
};

// skb->pkt_type (include/uapi/linux/if_packet.h): to whom the frame was addressed.
enum class PacketType : std::uint8_t { host = 0, broadcast = 1, multicast = 2, otherhost = 3 };

constexpr std::uint16_t kEthPIp = 0x0800;  // ETH_P_IP

class Packet {
public:
    static constexpr std::size_t kHeadroom = 128;  // enough for IPv4 + TCP headers with options

    std::uint8_t* data() { return buf_ + head_; }
    const std::uint8_t* data() const { return buf_ + head_; }
    std::size_t size() const { return tail_ - head_; }
    std::span<std::uint8_t> bytes() { return {data(), size()}; }
    std::span<const std::uint8_t> bytes() const { return {data(), size()}; }
    std::size_t headroom() const { return head_; }
    std::size_t tailroom() const { return capacity_ - tail_; }
    std::size_t capacity() const { return capacity_; }

    // skb_push: grow the front by n bytes (a header) and return its start.
    std::uint8_t* push(std::size_t n) {
        assert(n <= head_);
        head_ -= static_cast<std::uint32_t>(n);
        return data();
    }
    // skb_pull: drop n bytes from the front (a parsed header).
    void pull(std::size_t n) {
        assert(n <= size());
        head_ += static_cast<std::uint32_t>(n);
    }
    // skb_put: grow the end by n bytes and return where they start.
    std::uint8_t* put(std::size_t n) {
        assert(n <= tailroom());
        std::uint8_t* at = buf_ + tail_;
        tail_ += static_cast<std::uint32_t>(n);
        return at;
    }
    // pskb_trim: cut the packet to len bytes (drops link padding beyond IP's total length).
    void trim(std::size_t len) {
        if (len < size()) tail_ = head_ + static_cast<std::uint32_t>(len);
    }
    // Empty the packet and restore the default headroom.
    void reset();

    // Header marks, as skb_reset_network_header / skb_network_header.
    void reset_network_header() { network_header = head_; }
    void reset_transport_header() { transport_header = head_; }
    std::uint8_t* network() { return buf_ + network_header; }
    const std::uint8_t* network() const { return buf_ + network_header; }
    std::uint8_t* transport() { return buf_ + transport_header; }
    // Bytes from the network header to the end: the whole IP datagram, however far data() was pulled.
    std::span<const std::uint8_t> network_bytes() const { return {network(), tail_ - network_header}; }

    // Metadata, as in sk_buff.
    Device* dev = nullptr;              // skb->dev: device it arrived on / leaves by
    std::uint16_t protocol = kEthPIp;   // skb->protocol
    std::uint32_t network_header = 0;   // offset of the IP header from buf start
    std::uint32_t transport_header = 0;
    ChecksumState ip_summed = ChecksumState::none;
    PacketType pkt_type = PacketType::host;
    std::uint16_t queued_cpu = 0;       // the backlog it waited on
    Nanos tstamp = 0;                   // skb->tstamp: set by netif_rx (netdev_tstamp_prequeue)
    Trace trace;
    Packet* next = nullptr;             // for intrusive queues (sk_buff_head)

private:
    friend class PacketPool;
    Packet(std::uint8_t* buf, std::uint32_t capacity, std::uint8_t size_class)
        : buf_(buf), capacity_(capacity), size_class_(size_class) {}

    std::uint8_t* buf_;
    std::uint32_t capacity_;
    std::uint32_t head_ = kHeadroom;
    std::uint32_t tail_ = kHeadroom;
    std::uint8_t size_class_;
};

struct PacketDeleter {
    void operator()(Packet* p) const noexcept;
};
using PacketPtr = std::unique_ptr<Packet, PacketDeleter>;

}  // namespace vlo
