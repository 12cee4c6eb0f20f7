#include "stack/udp_socket.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <utility>

#include "netif/packet_pool.hpp"
#include "stack/seq_wait.hpp"
#include "stack/stack.hpp"
#include "stack/wire/udp.hpp"

namespace vlo {

namespace {
// SOCK_MIN_RCVBUF: TCP_SKB_MIN_TRUESIZE, 2048 + SKB_DATA_ALIGN(sizeof(struct sk_buff)).
constexpr std::size_t kSockMinRcvbuf = 2048 + 256;

std::error_code errno_code(int err) { return {err, std::generic_category()}; }
}  // namespace

UdpSocket::UdpSocket(Stack& stack) : stack_(stack), rcvbuf_(stack.config().udp_rcvbuf) {}

UdpSocket::~UdpSocket() {
    // udp_lib_unhash before the memory goes: NET_RX delivers under the table lock.
    if (num_ != 0) {
        stack_.udp().unhash(this);
        stack_.udp_ports().unbind(binding_);
    }
}

std::error_code UdpSocket::bind(Ipv4Address addr, std::uint16_t port) {
    std::lock_guard lk(sk_lock_);
    if (num_ != 0) return std::make_error_code(std::errc::invalid_argument);  // already bound
    // inet_bind (inet_addr_valid_or_nonlocal): 0.0.0.0, an address of this host, or a
    // broadcast or multicast one.
    const Fib& fib = stack_.fib();
    const bool ok = addr.is_unspecified() || fib.is_local(addr) || addr.is_limited_broadcast() ||
                    addr.is_multicast() || [&] {
                        const auto e = fib.lookup(addr);
                        return e && e->type == RouteType::broadcast;
                    }();
    if (!ok) return std::make_error_code(std::errc::address_not_available);
    if (std::error_code ec = stack_.udp_ports().bind(binding_, addr, port)) return ec;
    stack_.udp().hash(this, binding_.port, addr);
    // A broadcast or multicast binding receives on that address but sends from the route's.
    if (fib.is_local(addr)) saddr_ = addr;
    return {};
}

std::error_code UdpSocket::autobind() {
    if (num_ != 0) return {};
    if (stack_.udp_ports().bind(binding_, Ipv4Address{}, 0))
        return std::make_error_code(std::errc::resource_unavailable_try_again);  // inet_autobind
    stack_.udp().hash(this, binding_.port, Ipv4Address{});
    return {};
}

std::error_code UdpSocket::set_reuseaddr(bool on) {
    std::lock_guard lk(sk_lock_);
    // The PortTable reads the flag of bound entries under its own lock and offers no way to
    // change one, so the option counts from the next bind() (every server sets it before).
    if (!binding_.bound) binding_.reuseaddr = on;
    return {};
}

std::error_code UdpSocket::set_broadcast(bool on) {
    std::lock_guard lk(sk_lock_);
    broadcast_ = on;
    return {};
}

std::error_code UdpSocket::set_rcvbuf(int bytes) {
    // sock_setsockopt(SO_RCVBUF): val = min_t(u32, val, rmem_max), then doubled for the
    // bookkeeping overhead, and never below SOCK_MIN_RCVBUF.
    const std::uint32_t val = std::min(static_cast<std::uint32_t>(bytes), stack_.config().rmem_max);
    std::lock_guard lock(mu_);
    rcvbuf_ = std::max<std::size_t>(std::size_t{val} * 2, kSockMinRcvbuf);
    return {};
}

std::uint32_t UdpSocket::rcvbuf() const {
    std::lock_guard lock(mu_);
    return static_cast<std::uint32_t>(rcvbuf_);
}

std::error_code UdpSocket::connect(Ipv4Address addr, std::uint16_t port) {
    std::lock_guard lk(sk_lock_);
    if (std::error_code ec = autobind()) return ec;  // inet_dgram_connect
    // __ip4_datagram_connect
    Route rt;
    if (std::error_code ec = stack_.ip().route_output(addr, saddr_, nullptr, rt)) {
        if (ec == std::errc::network_unreachable) stack_.snmp().ip.inc(IpMib::OutNoRoutes);
        return ec;
    }
    if (rt.type == RouteType::broadcast && !broadcast_)
        return std::make_error_code(std::errc::permission_denied);
    // Unbound addresses become the route's source (and the socket is rehashed under it);
    // the peer is the route's destination, 127.0.0.1 for 0.0.0.0.
    if (saddr_.is_unspecified()) saddr_ = rt.src;
    const Ipv4Address rcv_saddr = rcv_saddr_.is_unspecified() ? rt.src : rcv_saddr_;
    stack_.udp().connect(this, rcv_saddr, rt.dst, port);
    inet_id_ = static_cast<std::uint16_t>(stack_.random().u32());  // get_random_u16()
    return {};
}

std::error_code UdpSocket::sendto(Ipv4Address addr, std::uint16_t port,
                                  std::span<const std::uint8_t> data) {
    return udp_sendmsg(&addr, port, data);
}

std::error_code UdpSocket::send(std::span<const std::uint8_t> data) {
    return udp_sendmsg(nullptr, 0, data);
}

std::error_code UdpSocket::udp_sendmsg(const Ipv4Address* to, std::uint16_t to_port,
                                       std::span<const std::uint8_t> data) {
    Snmp& snmp = stack_.snmp();
    Route rt;
    std::uint16_t sport = 0, dport = 0, id = 0;
    bool connected = false;
    {
        std::lock_guard lk(sk_lock_);
        if (std::error_code ec = autobind()) return ec;  // inet_send_prepare
        // udp_sendmsg / __ip_append_data: no more than one IP datagram holds.
        if (data.size() > wire::kUdpMaxPayload)
            return std::make_error_code(std::errc::message_size);
        Ipv4Address daddr;
        if (to) {
            if (to_port == 0) return std::make_error_code(std::errc::invalid_argument);
            daddr = *to;
            dport = to_port;
        } else {
            if (!connected_) return std::make_error_code(std::errc::destination_address_required);
            daddr = daddr_;
            dport = dport_;
        }
        if (std::error_code ec = stack_.ip().route_output(daddr, saddr_, nullptr, rt)) {
            if (ec == std::errc::network_unreachable) snmp.ip.inc(IpMib::OutNoRoutes);
            return ec;
        }
        // EACCES without SO_BROADCAST
        if (rt.type == RouteType::broadcast && !broadcast_)
            return std::make_error_code(std::errc::permission_denied);
        sport = num_;
        // ip_select_ident_segs: a connected socket numbers its datagrams from inet_id (random
        // at connect); an unconnected one sends its DF datagrams with ID 0.
        connected = connected_;
        if (connected) id = ++inet_id_;
    }
    {
        // sock_alloc_send_pskb: a pending error is returned, and cleared, instead of sending.
        std::lock_guard lock(mu_);
        if (sk_err_ != 0) return errno_code(std::exchange(sk_err_, 0));
    }

    PacketPtr pkt = PacketPool::instance().alloc(data.size());
    if (!pkt) {
        snmp.udp.inc(UdpMib::SndbufErrors);
        return std::make_error_code(std::errc::no_buffer_space);
    }
    if (!data.empty()) std::memcpy(pkt->put(data.size()), data.data(), data.size());
    const std::size_t len = wire::kUdpHeader + data.size();
    std::uint8_t* uh = pkt->push(wire::kUdpHeader);
    pkt->reset_transport_header();
    wire::UdpRepr{sport, dport, data.size()}.emit({uh, wire::kUdpHeader});
    // udp_send_skb. __ip_append_data chose CHECKSUM_PARTIAL if the device sums (NETIF_F_HW_CSUM,
    // as lo) and the datagram needs no fragmenting: udp4_hwcsum leaves the pseudo-header sum
    // for the device. Otherwise the whole checksum is computed here.
    if ((rt.dev->features() & NETIF_F_HW_CSUM) && len + wire::kIpv4MinHeader <= rt.dev->mtu()) {
        wire::store16(uh + 6, wire::udp_pseudo_header_sum(rt.src, rt.dst, len));
        pkt->ip_summed = ChecksumState::partial;
    } else {
        wire::store16(uh + 6, wire::udp_checksum(rt.src, rt.dst, pkt->bytes()));
    }
    // Sockets default to IP_PMTUDISC_WANT: DF on what the device carries whole; a longer
    // datagram goes without DF, to be fragmented, and so needs an ID (__ip_make_skb).
    wire::Ipv4Repr ip;
    ip.protocol = wire::kIpProtoUdp;
    ip.ttl = static_cast<std::uint8_t>(stack_.config().ip_default_ttl);
    ip.dont_fragment = len + wire::kIpv4MinHeader <= rt.dev->mtu();
    ip.id = connected || ip.dont_fragment
                ? id
                : stack_.ip().select_ident(rt.src, rt.dst, wire::kIpProtoUdp);
    if (std::error_code ec = stack_.ip().ip_local_out(std::move(pkt), rt, ip)) return ec;
    snmp.udp.inc(UdpMib::OutDatagrams);
    return {};
}

void UdpSocket::queue_rcv(PacketPtr pkt) {
    pkt->trace.stamp(Stage::udp_queue_rcv_skb);
    pkt->pull(wire::kUdpHeader);  // udp_csum_pull_header: the queue holds payloads
    std::unique_lock lock(mu_);
    // __udp_enqueue_schedule_skb: refused only once the charge already exceeds sk_rcvbuf, so
    // one datagram always fits; the charge is the buffer's truesize, not the payload.
    if (rmem_ > rcvbuf_) {
        ++drops_;
        Mib<UdpMib>& mib = stack_.snmp().udp;
        mib.inc(UdpMib::RcvbufErrors);  // __udp_queue_rcv_skb: -ENOMEM
        mib.inc(UdpMib::InErrors);
        stack_.net_rx().drops().kfree_skb_reason(std::move(pkt), DropReason::socket_rcvbuff);
        return;
    }
    rmem_ += pkt->capacity();
    rcv_queue_.push_back(std::move(pkt));
    // sk_data_ready, after the queue lock is dropped: a reader woken while we still held it
    // would only block on it again. Udp's table lock, held by our caller, keeps us alive.
    lock.unlock();
    readable_.notify_all();
    wake_pollers();
}

void UdpSocket::set_error(int err) {
    {
        std::lock_guard lock(mu_);
        sk_err_ = err;
    }
    readable_.notify_all();  // sk_error_report
    wake_pollers();
}

void UdpSocket::wake_pollers() {
    std::lock_guard l(wake_mu_);
    if (on_wake_) on_wake_();
}

void UdpSocket::set_wake_callback(std::function<void()> fn) {
    std::lock_guard l(wake_mu_);
    on_wake_ = std::move(fn);
}

bool UdpSocket::readable() const {
    std::lock_guard lock(mu_);
    return sk_err_ != 0 || !rcv_queue_.empty();
}

std::size_t UdpSocket::next_datagram_len() const {
    std::lock_guard lock(mu_);
    const Packet* first = rcv_queue_.front();
    return first ? first->size() : 0;
}

int UdpSocket::pending_error() const {
    std::lock_guard lock(mu_);
    return sk_err_;
}

int UdpSocket::take_error() {
    std::lock_guard lock(mu_);
    return std::exchange(sk_err_, 0);
}

std::error_code UdpSocket::recvfrom(std::span<std::uint8_t> buf, Ipv4Address& from,
                                    std::uint16_t& from_port, std::size_t& n,
                                    std::optional<Nanos> deadline) {
    std::size_t len = 0;
    return recvmsg(buf, from, from_port, n, len, false, deadline);
}

std::error_code UdpSocket::recvmsg(std::span<std::uint8_t> buf, Ipv4Address& from, std::uint16_t& from_port,
                                   std::size_t& n, std::size_t& datagram_len, bool peek,
                                   std::optional<Nanos> deadline) {
    n = 0;
    datagram_len = 0;
    std::unique_lock lock(mu_);
    auto readable = [&] { return sk_err_ != 0 || !rcv_queue_.empty(); };
    if (!wait_until_ready(stack_.net_rx(), readable_, lock, readable, deadline))
        return std::make_error_code(std::errc::resource_unavailable_try_again);
    // __skb_recv_udp: sock_error() comes before the queue.
    if (sk_err_ != 0) return errno_code(std::exchange(sk_err_, 0));
    if (peek) {  // MSG_PEEK: copied under the queue lock, left queued
        const Packet* first = rcv_queue_.front();
        const wire::Ipv4View iph(first->network_bytes());
        from = iph.src();
        from_port = wire::load16(first->network_bytes().data() + iph.header_len());
        datagram_len = first->size();
        n = std::min(buf.size(), first->size());
        if (n != 0) std::memcpy(buf.data(), first->data(), n);
        return {};
    }
    PacketPtr pkt = rcv_queue_.pop_front();
    rmem_ -= pkt->capacity();
    lock.unlock();

    const wire::Ipv4View iph(pkt->network_bytes());
    from = iph.src();
    from_port = wire::load16(pkt->transport());
    datagram_len = pkt->size();
    n = std::min(buf.size(), pkt->size());
    if (n != 0) std::memcpy(buf.data(), pkt->data(), n);
    stack_.snmp().udp.inc(UdpMib::InDatagrams);  // udp_recvmsg counts a datagram when it is read
    return {};
}

std::error_code UdpSocket::recv(std::span<std::uint8_t> buf, std::size_t& n,
                                std::optional<Nanos> deadline) {
    Ipv4Address from;
    std::uint16_t port = 0;
    return recvfrom(buf, from, port, n, deadline);
}

Ipv4Address UdpSocket::local_address() const {
    std::lock_guard lk(sk_lock_);
    return rcv_saddr_;
}

std::uint16_t UdpSocket::local_port() const {
    std::lock_guard lk(sk_lock_);
    return num_;
}

std::error_code UdpSocket::peer(Ipv4Address& addr, std::uint16_t& port) const {
    std::lock_guard lk(sk_lock_);
    if (!connected_) return std::make_error_code(std::errc::not_connected);
    addr = daddr_;
    port = dport_;
    return {};
}

std::uint64_t UdpSocket::drops() const {
    std::lock_guard lock(mu_);
    return drops_;
}

}  // namespace vlo
