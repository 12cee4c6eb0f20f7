// TCP output and timers: building segments (tcp_transmit_skb, tcp_options_write), sending what
// the windows and Nagle allow (tcp_write_xmit), retransmission with RFC 6298's timer, delayed
// ACKs, zero-window probes, keepalive, FIN_WAIT2 and TIME_WAIT expiry, and the RST for a
// segment nobody owns (tcp_v4_send_reset).
#include <algorithm>

#include "netif/packet_pool.hpp"
#include "stack/wire/checksum.hpp"
#include "stack/stack.hpp"
#include "stack/tcp.hpp"
#include "stack/tcp_seq.hpp"

namespace vlo {

namespace {
std::uint32_t ms_clock(Nanos now) { return static_cast<std::uint32_t>(now / kNsPerMs); }  // tcp_time_stamp_ms

// Fills in the checksum as the device wants it: lo (NETIF_F_HW_CSUM) gets CHECKSUM_PARTIAL, the
// pseudo-header sum for "hardware" to finish, which nobody does on lo; other devices the full sum.
void set_checksum(Packet& pkt, const Device& dev, Ipv4Address src, Ipv4Address dst, std::uint8_t proto) {
    std::uint8_t* th = pkt.data();
    const std::size_t csum_at = proto == wire::kIpProtoTcp ? 16 : 6;
    if (dev.features() & NETIF_F_HW_CSUM) {
        const std::uint64_t pseudo = std::uint64_t{src.value} + dst.value + proto + pkt.size();
        wire::store16(th + csum_at, static_cast<std::uint16_t>(~wire::checksum_fold(pseudo)));
        pkt.ip_summed = ChecksumState::partial;
    } else {
        wire::store16(th + csum_at, wire::tcp_checksum(src, dst, pkt.bytes(), proto));
    }
}
}  // namespace

std::uint32_t Tcp::receive_window(const TcpSock& sk) {
    const auto left = static_cast<std::int64_t>(sk.rcv_wup) + sk.rcv_wnd - sk.rcv_nxt;
    const std::int64_t wrapped = static_cast<std::int32_t>(static_cast<std::uint32_t>(left));
    return wrapped < 0 ? 0 : static_cast<std::uint32_t>(wrapped);
}

// tcp_select_window: what the buffer can take, never less than what was already offered
// (RFC 9293 3.8.6.2.2: do not shrink the window), in units of our scale.
std::uint16_t Tcp::select_window(TcpSock& sk) {
    std::uint32_t wnd = static_cast<std::uint32_t>(sk.rcvq.free());
    wnd = std::min<std::uint32_t>(wnd, 65535u << sk.rcv_wscale);
    wnd &= ~((1u << sk.rcv_wscale) - 1);
    if (const std::uint32_t cur = receive_window(sk); wnd < cur) {
        // The edge already offered stays ours to accept up to, but the field can say it only
        // in whole units of the scale: rounded down, the peer sees it move left by less than
        // a unit (RFC 7323 2.4). Re-basing rcv_wup/rcv_wnd on the rounded value instead
        // refused the peer's segments up to the old edge: retransmission timeouts on lo.
        return static_cast<std::uint16_t>(cur >> sk.rcv_wscale);
    }
    sk.rcv_wnd = wnd;
    sk.rcv_wup = sk.rcv_nxt;
    return static_cast<std::uint16_t>(wnd >> sk.rcv_wscale);
}

void Tcp::transmit(TcpSock& sk, std::uint32_t seq, std::uint8_t flags, std::size_t payload_off,
                   std::size_t payload_len, bool syn_options) {
    Route rt;
    if (stack_.ip().route_output(sk.raddr, sk.laddr, nullptr, rt)) return;
    const Nanos now = stack_.clock().now_ns();
    wire::TcpRepr r;
    r.src_port = sk.lport;
    r.dst_port = sk.rport;
    r.seq = seq;
    r.flags = flags;
    r.ack = (flags & wire::kTcpAck) ? sk.rcv_nxt : 0;
    if (flags & wire::kTcpSyn) {
        // A SYN's window is never scaled (RFC 7323 2.2).
        const std::uint32_t space = std::min<std::uint32_t>(static_cast<std::uint32_t>(sk.rcvq.free()), 65535);
        sk.rcv_wnd = space;
        sk.rcv_wup = sk.rcv_nxt;
        r.window = static_cast<std::uint16_t>(space);
    } else if (!(flags & wire::kTcpRst)) {
        r.window = select_window(sk);
    }
    // Options in tcp_options_write's order: MSS, (SACK_PERM|NOP NOP) TS, NOP WSCALE. vlo has no
    // SACK, so it never offers SACK-permitted and ignores a peer's offer (RFC 2018 allows it).
    if (syn_options) {
        r.options.mss = route_mss(sk.raddr);
        const bool is_synack = flags & wire::kTcpAck;
        if (config().tcp_timestamps && (!is_synack || sk.ts_ok)) r.options.timestamp = std::pair{ms_clock(now), sk.ts_recent};
        if (config().tcp_window_scaling && (!is_synack || sk.wscale_ok)) r.options.wscale = sk.rcv_wscale;
        if (is_synack && !sk.ts_ok && r.options.timestamp) r.options.timestamp.reset();
        if (!is_synack) r.options.timestamp = std::pair{ms_clock(now), 0u};
        if (!config().tcp_timestamps) r.options.timestamp.reset();
    } else if (sk.ts_ok && !(flags & wire::kTcpRst)) {
        r.options.timestamp = std::pair{ms_clock(now), sk.ts_recent};
    }
    const std::size_t hlen = r.header_len();
    // The headers go into the headroom (Packet::kHeadroom covers IP and TCP with options).
    PacketPtr pkt = PacketPool::instance().alloc(payload_len);
    if (!pkt) return;
    if (payload_len) sk.sndq.copy_out(payload_off, {pkt->put(payload_len), payload_len});
    r.emit({pkt->push(hlen), hlen});
    set_checksum(*pkt, *rt.dev, rt.src, rt.dst, wire::kIpProtoTcp);

    stats_.tcp.inc(TcpMib::OutSegs);
    if (flags & wire::kTcpAck) {  // every segment carries the ACK: nothing is owed any more
        sk.ack_pending = false;
        sk.segs_since_ack = 0;
        sk.delack_timer.cancel();
    }
    wire::Ipv4Repr ip;
    ip.protocol = wire::kIpProtoTcp;
    ip.ttl = static_cast<std::uint8_t>(stack_.config().ip_default_ttl);
    ip.dont_fragment = true;  // IP_PMTUDISC_WANT
    ip.id = sk.ip_id++;
    stack_.ip().ip_local_out(std::move(pkt), rt, ip);
}

void Tcp::send_syn(TcpSock& sk) {
    if (!sk.rtt_start) {
        sk.rtt_start = stack_.clock().now_ns();
        sk.rtt_seq = sk.iss;
    }
    transmit(sk, sk.iss, wire::kTcpSyn, 0, 0, true);
    sk.snd_nxt = sk.iss + 1;
}

void Tcp::send_synack(TcpSock& sk) {
    if (!sk.rtt_start) {
        sk.rtt_start = stack_.clock().now_ns();
        sk.rtt_seq = sk.iss;
    }
    transmit(sk, sk.iss, wire::kTcpSyn | wire::kTcpAck, 0, 0, true);
    sk.snd_nxt = sk.iss + 1;
}

void Tcp::send_ack(TcpSock& sk) {
    if (sk.state == TcpState::close || sk.state == TcpState::listen || sk.state == TcpState::syn_sent) return;
    transmit(sk, sk.snd_nxt, wire::kTcpAck, 0, 0, false);
}

void Tcp::send_reset(const Packet& pkt, const wire::TcpView& th) {
    if (th.flags() & wire::kTcpRst) return;
    const wire::Ipv4View iph(pkt.network_bytes());
    Route rt;
    if (stack_.ip().route_output(iph.src(), iph.dst(), nullptr, rt)) return;
    // RFC 9293 3.10.7.1: with an ACK, <SEQ=SEG.ACK><CTL=RST>; without, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    wire::TcpRepr r;
    r.src_port = th.dst_port();
    r.dst_port = th.src_port();
    if (th.flags() & wire::kTcpAck) {
        r.seq = th.ack();
        r.flags = wire::kTcpRst;
    } else {
        std::uint32_t len = static_cast<std::uint32_t>(th.payload().size());
        if (th.flags() & wire::kTcpSyn) ++len;
        if (th.flags() & wire::kTcpFin) ++len;
        r.ack = th.seq() + len;
        r.flags = wire::kTcpRst | wire::kTcpAck;
    }
    PacketPtr out = PacketPool::instance().alloc(0);
    r.emit({out->push(wire::kTcpMinHeader), wire::kTcpMinHeader});
    set_checksum(*out, *rt.dev, rt.src, rt.dst, wire::kIpProtoTcp);
    stats_.tcp.inc(TcpMib::OutSegs);
    stats_.tcp.inc(TcpMib::OutRsts);
    wire::Ipv4Repr ip;
    ip.protocol = wire::kIpProtoTcp;
    ip.ttl = static_cast<std::uint8_t>(stack_.config().ip_default_ttl);
    ip.tos = iph.tos();
    ip.dont_fragment = true;  // the control socket has IP_PMTUDISC_DO; unconnected: IP ID 0
    stack_.ip().ip_local_out(std::move(out), rt, ip);
}

// tcp_write_xmit with Nagle (RFC 9293 3.7.4) and the congestion and receive windows.
void Tcp::push_pending(TcpSock& sk) {
    const bool can_send = sk.state == TcpState::established || sk.state == TcpState::close_wait ||
                          sk.state == TcpState::fin_wait1 || sk.state == TcpState::last_ack ||
                          sk.state == TcpState::closing;
    if (!can_send) return;
    bool sent = false;
    for (;;) {
        const std::uint32_t end = sk.unsent_end();
        if (sk.fin_sent) break;
        if (seq_before(sk.snd_nxt, end)) {
            const std::uint32_t avail = end - sk.snd_nxt;
            const std::uint32_t limit = sk.snd_una + std::min(sk.snd_wnd, sk.cwnd);
            const std::uint32_t room = seq_after(limit, sk.snd_nxt) ? limit - sk.snd_nxt : 0;
            const std::uint32_t seg = std::min({avail, std::uint32_t{sk.mss}, room});
            if (seg == 0) {
                if (sk.snd_wnd == 0 && sk.flight() == 0 && !sk.rexmit_timer.pending()) arm_rexmit(sk);  // persist
                break;
            }
            const bool last = seg == avail;
            // Nagle: a small segment waits while anything is unacknowledged, unless
            // TCP_NODELAY or it is the end before a FIN.
            if (seg < sk.mss && last && !sk.nodelay && sk.flight() > 0 && !sk.fin_queued) break;
            std::uint8_t flags = wire::kTcpAck;
            if (last) flags |= wire::kTcpPsh;
            const bool with_fin = last && sk.fin_queued && seg < room;
            if (with_fin) flags |= wire::kTcpFin;
            if (!sk.rtt_start) {
                sk.rtt_start = stack_.clock().now_ns();
                sk.rtt_seq = sk.snd_nxt;
            }
            transmit(sk, sk.snd_nxt, flags, sk.snd_nxt - sk.snd_una, seg, false);
            sk.snd_nxt += seg;
            if (with_fin) {
                sk.snd_nxt += 1;
                sk.fin_sent = true;
            }
            sent = true;
            continue;
        }
        if (sk.fin_queued && !sk.fin_sent) {
            transmit(sk, sk.snd_nxt, wire::kTcpFin | wire::kTcpAck, 0, 0, false);
            sk.snd_nxt += 1;
            sk.fin_sent = true;
            sent = true;
        }
        break;
    }
    if (sent && !sk.rexmit_timer.pending()) arm_rexmit(sk);
}

// Retransmit the first unacknowledged segment.
void Tcp::retransmit_head(TcpSock& sk) {
    stats_.tcp.inc(TcpMib::RetransSegs);
    if (sk.state == TcpState::syn_sent) return send_syn(sk);
    if (sk.state == TcpState::syn_recv) return send_synack(sk);
    const std::uint32_t outstanding_data =
        std::min<std::uint32_t>(sk.flight(), static_cast<std::uint32_t>(sk.sndq.size()));
    const std::uint32_t seg = std::min<std::uint32_t>(outstanding_data, sk.mss);
    std::uint8_t flags = wire::kTcpAck;
    // The FIN rides along when this segment reaches it.
    if (sk.fin_sent && sk.snd_una + seg + 1 == sk.snd_nxt) flags |= wire::kTcpFin;
    if (seg == 0 && !(flags & wire::kTcpFin)) return;
    if (seg) flags |= wire::kTcpPsh;
    transmit(sk, sk.snd_una, flags, 0, seg, false);
}

void Tcp::arm_rexmit(TcpSock& sk) { sk.rexmit_timer.arm(stack_.clock().now_ns() + sk.rto); }

// RFC 6298 2.2-2.4 in Linux's form: RTO = SRTT + max(4 * RTTVAR, tcp_rto_min), at most rto_max.
void Tcp::rtt_sample(TcpSock& sk, Nanos r) {
    r = std::max<Nanos>(r, 0);
    if (sk.srtt == 0) {
        sk.srtt = std::max<Nanos>(r, 1);
        sk.rttvar = r / 2;
    } else {
        const Nanos err = sk.srtt > r ? sk.srtt - r : r - sk.srtt;
        sk.rttvar = (3 * sk.rttvar + err) / 4;
        sk.srtt = (7 * sk.srtt + r) / 8;
    }
    sk.rto = std::min(sk.srtt + std::max(4 * sk.rttvar, config().tcp_rto_min), config().tcp_rto_max);
}

// tcp_event_data_recv / __tcp_ack_snd_check: ACK at once when asked, in quickack mode or for
// every second segment; otherwise within the delayed-ACK timeout (RFC 9293 3.8.6.3).
void Tcp::schedule_ack(TcpSock& sk, bool immediate) {
    ++sk.segs_since_ack;
    if (immediate || sk.quick_acks > 0 || sk.segs_since_ack >= 2) {
        if (sk.quick_acks > 0) --sk.quick_acks;
        return send_ack(sk);
    }
    if (!sk.ack_pending) {
        sk.ack_pending = true;
        sk.delack_timer.arm(stack_.clock().now_ns() + config().tcp_delack_min);
    }
}

void Tcp::on_delack_timer(TcpSock& sk) {
    if (!sk.ack_pending) return;
    stats_.ext.inc(TcpExtMib::DelayedACKs);
    send_ack(sk);
}

void Tcp::on_rexmit_timer(TcpSock& sk) {
    if (sk.state == TcpState::close || sk.state == TcpState::listen || sk.state == TcpState::time_wait) return;
    const Nanos now = stack_.clock().now_ns();
    // Zero window, nothing in flight, data waiting: probe (tcp_probe_timer / tcp_send_probe0),
    // a segment below snd_una that makes the peer ACK with its current window.
    if (sk.snd_wnd == 0 && sk.flight() == 0 && seq_before(sk.snd_nxt, sk.unsent_end())) {
        if (++sk.retransmits > config().tcp_retries2) {
            stats_.ext.inc(TcpExtMib::TCPAbortOnTimeout);
            return abort(sk, std::errc::timed_out);
        }
        transmit(sk, sk.snd_una - 1, wire::kTcpAck, 0, 0, false);
        sk.rexmit_timer.arm(now + std::min(sk.rto << std::min(sk.retransmits, 20), config().tcp_rto_max));
        return;
    }
    if (sk.snd_una == sk.snd_nxt) return;
    stats_.ext.inc(TcpExtMib::TCPTimeouts);
    const int limit = sk.state == TcpState::syn_sent   ? config().tcp_syn_retries
                      : sk.state == TcpState::syn_recv ? config().tcp_synack_retries
                                                       : config().tcp_retries2;
    if (++sk.retransmits > limit) {
        if (sk.state == TcpState::syn_sent) stats_.tcp.inc(TcpMib::AttemptFails);
        if (sk.state == TcpState::syn_recv && !sk.parent.expired()) return done(sk);
        stats_.ext.inc(TcpExtMib::TCPAbortOnTimeout);
        const std::error_code why = sk.soft_err ? sk.soft_err : std::make_error_code(std::errc::timed_out);
        if (sk.state == TcpState::syn_sent) {
            sk.err = why;
            return done(sk);
        }
        abort(sk, std::errc::timed_out);
        sk.err = why;
        return;
    }
    // RFC 6298 5.5-5.6: back off, retransmit the earliest, restart. RFC 5681 3.1 (eq. 4): the
    // window collapses to one segment. Karn: nothing retransmitted is timed.
    ++sk.backoff;
    sk.rto = std::min(sk.rto * 2, config().tcp_rto_max);
    if (sk.state != TcpState::syn_sent && sk.state != TcpState::syn_recv) {
        sk.ssthresh = std::max(sk.flight() / 2, 2u * sk.mss);
        sk.cwnd = sk.mss;
        sk.in_recovery = false;
        sk.recover = sk.snd_nxt;
        sk.dupacks = 0;
        stats_.ext.inc(TcpExtMib::TCPSlowStartRetrans);
    }
    sk.rtt_start = 0;
    retransmit_head(sk);
    arm_rexmit(sk);
}

// One timer, three jobs, as the kernel's sk_timer: keepalive probes, the FIN_WAIT2 limit of an
// orphan (tcp_fin_timeout) and the end of TIME_WAIT.
void Tcp::on_keepalive_timer(TcpSock& sk) {
    const Nanos now = stack_.clock().now_ns();
    switch (sk.state) {
        case TcpState::time_wait:
            stats_.ext.inc(TcpExtMib::TW);
            return done(sk);
        case TcpState::fin_wait2:
            if (sk.orphan) return done(sk);
            break;
        case TcpState::established:
        case TcpState::close_wait: {
            if (!sk.keepalive) return;
            const Nanos idle = now - sk.last_rcv;
            if (idle < config().tcp_keepalive_time && sk.keepalive_probes_sent == 0) {
                sk.keepalive_timer.arm(sk.last_rcv + config().tcp_keepalive_time);
                return;
            }
            if (sk.keepalive_probes_sent >= config().tcp_keepalive_probes) {
                return abort(sk, std::errc::timed_out);
            }
            ++sk.keepalive_probes_sent;
            stats_.ext.inc(TcpExtMib::TCPKeepAlive);
            transmit(sk, sk.snd_una - 1, wire::kTcpAck, 0, 0, false);  // tcp_write_wakeup
            sk.keepalive_timer.arm(now + config().tcp_keepalive_intvl);
            return;
        }
        default: return;
    }
}

}  // namespace vlo
