#include "stack/ping_socket.hpp"

#include <algorithm>
#include <cstring>

#include "netif/packet_pool.hpp"
#include "netif/trace_log.hpp"
#include "stack/seq_wait.hpp"
#include "stack/stack.hpp"
#include "stack/wire/icmp.hpp"

namespace vlo {

std::error_code PingTable::bind(PingSocket* sk, std::uint16_t ident, std::uint16_t& bound) {
    std::unique_lock lock(mu_);
    if (ident != 0) {
        if (!sockets_.try_emplace(ident, sk).second) return std::make_error_code(std::errc::address_in_use);
        bound = ident;
        return {};
    }
    for (int i = 0; i < 0x10000; ++i) {
        if (++rover_ == 0) ++rover_;  // identifier 0 means "unbound"
        if (sockets_.try_emplace(rover_, sk).second) {
            bound = rover_;
            return {};
        }
    }
    return std::make_error_code(std::errc::address_in_use);
}

void PingTable::unbind(std::uint16_t ident) {
    std::unique_lock lock(mu_);
    sockets_.erase(ident);
}

void PingTable::ping_rcv(PacketPtr pkt) {
    pkt->trace.stamp(Stage::ping_rcv);
    const wire::IcmpView icmp(pkt->bytes());
    const wire::Ipv4View iph(pkt->network_bytes());
    {
        // Held while delivering so a socket cannot go away under us (its destructor unbinds).
        std::shared_lock lock(mu_);
        auto it = sockets_.find(icmp.echo_id());
        if (it != sockets_.end()) {
            PingSocket* sk = it->second;
            const bool addr_ok = sk->local_.is_unspecified() || sk->local_ == iph.dst();
            const bool dev_ok = !sk->bound_dev_ || sk->bound_dev_ == pkt->dev;
            if (addr_ok && dev_ok) {
                sk->queue_rcv(std::move(pkt));
                return;
            }
        }
    }
    stack_.net_rx().drops().kfree_skb_reason(std::move(pkt), DropReason::no_socket);
}

PingSocket::PingSocket(Stack& stack) : stack_(stack) {}

PingSocket::~PingSocket() {
    set_trace(false);
    if (ident_ != 0) stack_.ping_table().unbind(ident_);
}

void PingSocket::set_trace(bool on) {
    if (on == trace_) return;
    trace_ = on;
    if (on)
        TraceLog::add_user();
    else
        TraceLog::remove_user();
}

std::error_code PingSocket::bind(Ipv4Address local, std::uint16_t ident) {
    if (ident_ != 0) return std::make_error_code(std::errc::invalid_argument);  // already bound
    if (!local.is_unspecified() && !stack_.fib().is_local(local))
        return std::make_error_code(std::errc::address_not_available);
    if (std::error_code ec = stack_.ping_table().bind(this, ident, ident_)) return ec;
    local_ = local;
    return {};
}

std::error_code PingSocket::bind_to_device(std::string_view ifname) {
    Device* dev = stack_.find_device(ifname);
    if (!dev) return std::make_error_code(std::errc::no_such_device);
    bound_dev_ = dev;
    return {};
}

std::error_code PingSocket::set_ttl(int ttl) {
    if (ttl < 1 || ttl > 255) return std::make_error_code(std::errc::invalid_argument);
    ttl_ = ttl;
    return {};
}

std::error_code PingSocket::send_echo(Ipv4Address dst, std::uint16_t seq, std::span<const std::uint8_t> payload) {
    if (ident_ == 0)
        if (std::error_code ec = bind(Ipv4Address{})) return ec;
    Route rt;
    if (std::error_code ec = stack_.ip().route_output(dst, local_, bound_dev_, rt)) return ec;
    if (rt.type == RouteType::broadcast) return std::make_error_code(std::errc::permission_denied);  // no SO_BROADCAST
    const auto msg = wire::IcmpRepr::echo(wire::kIcmpEcho, ident_, seq, payload);
    if (msg.buffer_len() + wire::kIpv4MinHeader > 0xffff) return std::make_error_code(std::errc::message_size);
    PacketPtr pkt = PacketPool::instance().alloc(msg.buffer_len());
    if (!pkt) return std::make_error_code(std::errc::no_buffer_space);
    msg.emit({pkt->put(msg.buffer_len()), msg.buffer_len()});

    Snmp& snmp = stack_.snmp();
    snmp.icmp.inc(IcmpMib::OutMsgs);
    snmp.icmp.inc(IcmpMib::OutEchos);
    snmp.icmp_out_type[wire::kIcmpEcho].fetch_add(1, std::memory_order_relaxed);
    // Sockets default to IP_PMTUDISC_WANT, so DF is set on what the device carries whole; an
    // unconnected socket's DF datagrams carry IP ID 0 (ip_select_ident_segs). A longer one goes
    // without DF, to be fragmented, with an ID of its own (__ip_make_skb).
    wire::Ipv4Repr ip;
    ip.protocol = wire::kIpProtoIcmp;
    ip.ttl = static_cast<std::uint8_t>(ttl_ > 0 ? ttl_ : stack_.config().ip_default_ttl);
    ip.dont_fragment = msg.buffer_len() + wire::kIpv4MinHeader <= rt.dev->mtu();
    if (!ip.dont_fragment) ip.id = stack_.ip().select_ident(rt.src, rt.dst, wire::kIpProtoIcmp);
    if (trace_) pkt->trace.start(trace_id(seq));
    return stack_.ip().ip_local_out(std::move(pkt), rt, ip);
}

void PingSocket::queue_rcv(PacketPtr pkt) {
    std::unique_lock lock(mu_);
    const std::size_t bytes = pkt->capacity();  // truesize: the buffer, not just the data
    if (rcv_bytes_ + bytes > stack_.config().ping_rcvbuf) {
        ++drops_;
        stack_.net_rx().drops().kfree_skb_reason(std::move(pkt), DropReason::socket_rcvbuff);
        return;
    }
    rcv_bytes_ += bytes;
    rcv_queue_.push_back(std::move(pkt));
    // sk_data_ready once the queue lock is dropped (the woken reader needs it); the ping
    // table's lock, held by ping_rcv, keeps the socket alive.
    lock.unlock();
    readable_.notify_all();
}

std::error_code PingSocket::recv_echo(EchoReply& reply, std::span<std::uint8_t> data,
                                      std::optional<Nanos> deadline) {
    std::unique_lock lock(mu_);
    if (!wait_until_ready(stack_.net_rx(), readable_, lock, [&] { return !rcv_queue_.empty(); }, deadline))
        return std::make_error_code(std::errc::resource_unavailable_try_again);
    PacketPtr pkt = rcv_queue_.pop_front();
    rcv_bytes_ -= pkt->capacity();
    lock.unlock();

    const wire::Ipv4View iph(pkt->network_bytes());
    const wire::IcmpView icmp(pkt->bytes());
    reply.from = iph.src();
    reply.ttl = iph.ttl();
    reply.seq = icmp.echo_seq();
    reply.icmp_len = pkt->size();
    reply.tstamp = pkt->tstamp;
    const auto payload = icmp.data();
    reply.data_len = std::min(payload.size(), data.size());
    std::memcpy(data.data(), payload.data(), reply.data_len);
    return {};
}

}  // namespace vlo
