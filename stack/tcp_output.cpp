// TCP output and timers: building segments (tcp_transmit_skb, tcp_options_write), sending what
// the windows and Nagle allow (tcp_write_xmit), retransmission with RFC 6298's timer, delayed
// ACKs, zero-window probes, keepalive, FIN_WAIT2 and TIME_WAIT expiry, and the RST for a
// segment nobody owns (tcp_v4_send_reset).
#include <algorithm>

#include "netif/packet_pool.hpp"
#include "stack/stack.hpp"
#include "stack/tcp.hpp"
#include "stack/tcp_seq.hpp"
#include "stack/wire/checksum.hpp"

namespace vlo {

namespace {

// Fills in the checksum as the device wants it: lo (NETIF_F_HW_CSUM) gets CHECKSUM_PARTIAL, the
// pseudo-header sum for "hardware" to finish, which nobody does on lo; other devices the full sum.
void set_checksum(Packet& pkt, const Device& dev, Ipv4Address src, Ipv4Address dst,
                  std::uint8_t proto) {
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

// tcp_select_initial_window with tcp_full_space: the window a SYN offers is the default
// receive buffer's worth (tcp_rmem[1] at the default scaling ratio of one half, 65536) in
// whole segments, and the scale is what tcp_rmem[2] needs (7 for 6 MiB). So Linux offers
// 65495 on lo, 64240 (44 x 1460) on a 1500-byte link, 65160 (45 x 1448) with timestamps.
void Tcp::select_initial_window(TcpSock& sk, std::uint16_t mss, bool wscale_ok) {
    const std::uint32_t capacity =
        static_cast<std::uint32_t>(std::min<std::size_t>(sk.rcvq.capacity(), 0x7fffffff));
    std::uint32_t space =
        static_cast<std::uint32_t>(config().tcp_rmem_default / 2);  // tcp_win_from_space
    space = std::min(space, capacity);
    if (space > mss) space -= space % mss;  // rounddown(space, mss)
    sk.rcv_wnd = space;
    sk.rcv_wscale = 0;
    if (wscale_ok && config().tcp_window_scaling) {
        std::uint32_t max_space =
            static_cast<std::uint32_t>(std::max(config().tcp_rmem_max, std::size_t{space}));
        int log2 = 0;
        while ((max_space >>= 1) != 0) ++log2;
        sk.rcv_wscale = static_cast<std::uint8_t>(std::clamp(log2 - 15, 0, 14));
    }
    sk.window_clamp = std::min<std::uint32_t>(65535u << sk.rcv_wscale, capacity);
    sk.rcv_ssthresh = sk.rcv_wnd;
    sk.rcv_wup = sk.rcv_nxt;
}

// tcp_select_window / __tcp_select_window: what the buffer can take, held to rcv_ssthresh
// (which grows as data arrives), never less than what was already offered (RFC 9293
// 3.8.6.2.2: do not shrink the window), in units of our scale.
std::uint32_t Tcp::window_space(const TcpSock& sk) const {
    const std::uint32_t full_space =
        static_cast<std::uint32_t>(std::min<std::size_t>(sk.rcvq.capacity(), sk.window_clamp));
    std::uint32_t free_space =
        static_cast<std::uint32_t>(std::min<std::size_t>(sk.rcvq.free(), full_space));
    // Receiver-side silly window avoidance (RFC 9293 3.8.6.2.2): with less than half the
    // buffer free, offer nothing rather than less than a segment.
    const std::uint32_t mss = std::min<std::uint32_t>(sk.rcv_mss, full_space);
    if (free_space < full_space / 2 && free_space < mss) free_space = 0;
    free_space = std::min(free_space, sk.rcv_ssthresh);
    std::uint32_t wnd = free_space;
    if (sk.rcv_wscale) {
        wnd &= ~((1u << sk.rcv_wscale) - 1);
    } else if (sk.rcv_wnd + mss <= free_space || sk.rcv_wnd > free_space) {
        // The largest window that is a multiple of the segment size (no scale).
        if (free_space > mss) wnd = free_space - free_space % mss;
    } else {
        wnd = sk.rcv_wnd;
    }
    return std::min<std::uint32_t>(wnd, 65535u << sk.rcv_wscale);
}

std::uint16_t Tcp::select_window(TcpSock& sk) {
    const std::uint32_t wnd = window_space(sk);
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
    if ((sk.ecn_flags & TcpSock::kEcnOk) && !(flags & (wire::kTcpSyn | wire::kTcpRst))) {
        if (payload_len && !seq_before(seq, sk.snd_nxt) && (sk.ecn_flags & TcpSock::kEcnQueueCwr)) {
            r.flags |= wire::kTcpCwr;
            sk.ecn_flags &= static_cast<std::uint8_t>(~TcpSock::kEcnQueueCwr);
        }
        if (sk.ecn_flags & TcpSock::kEcnDemandCwr) r.flags |= wire::kTcpEce;
    }
    if (flags & wire::kTcpSyn) {
        r.window = static_cast<std::uint16_t>(
            std::min<std::uint32_t>(sk.rcv_wnd, 65535));  // never scaled (RFC 7323 2.2)
    } else {
        r.window = select_window(sk);  // a RST too (tcp_send_active_reset goes through here)
    }
    // Options in tcp_options_write's order: MSS, SACK_PERM folded with TS (or NOP NOP TS),
    // NOP WSCALE; on established segments TS, then NOP NOP SACK with the D-SACK first.
    if (syn_options) {
        const bool is_synack = flags & wire::kTcpAck;
        r.options.mss = sk.advmss;
        if (config().tcp_timestamps && (!is_synack || sk.ts_ok))
            r.options.timestamp = std::pair{tcp_time_stamp_ms(now), is_synack ? sk.ts_recent : 0u};
        if (config().tcp_window_scaling && (!is_synack || sk.wscale_ok))
            r.options.wscale = sk.rcv_wscale;
        r.options.sack_permitted = config().tcp_sack && (!is_synack || sk.sack_ok);
    } else {
        if (sk.ts_ok) r.options.timestamp = std::pair{tcp_time_stamp_ms(now), sk.ts_recent};
        if (sk.sack_ok && (sk.dsack || sk.num_sacks)) {
            // 40 bytes of options: 4 blocks, or 3 beside a timestamp (MAX_TCP_OPTION_SPACE).
            // New data is cut to leave room for them (tcp_current_mss); a retransmission cut
            // before there were blocks to send carries as many as still fit the MTU (Linux
            // would split it instead).
            const std::size_t fit_bytes =
                rt.dev->mtu() - wire::kIpv4MinHeader - wire::kTcpMinHeader - (sk.ts_ok ? 12 : 0);
            const std::size_t spare = fit_bytes > payload_len + 4 ? fit_bytes - payload_len - 4 : 0;
            const std::size_t room = std::min<std::size_t>(sk.ts_ok ? 3 : 4, spare / 8);
            std::uint8_t n = 0;
            if (sk.dsack && room) {
                r.options.sack[n++] = sk.duplicate_sack;
                sk.dsack = false;  // a D-SACK is reported once
            }
            for (std::size_t i = 0; i < sk.num_sacks && n < room; ++i)
                r.options.sack[n++] = sk.selective_acks[i];
            r.options.num_sack = n;
        }
    }
    const std::size_t hlen = r.header_len();
    // The headers go into the headroom (Packet::kHeadroom covers IP and TCP with options).
    PacketPtr pkt = PacketPool::instance().alloc(payload_len);
    if (!pkt) return;
    if (payload_len) sk.sndq.copy_out(payload_off, {pkt->put(payload_len), payload_len});
    r.emit({pkt->push(hlen), hlen});
    set_checksum(*pkt, *rt.dev, rt.src, rt.dst, wire::kIpProtoTcp);

    stats_.tcp.inc(TcpMib::OutSegs);
    ++sk.segs_out;
    if (payload_len) ++sk.data_segs_out;
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
    // tcp_ecn_send: new data is ECN-capable (ECT(0)) and carries a CWR owed; ACKs and
    // retransmissions are not ECT (RFC 3168 6.1.5); every segment echoes ECE while owed.
    if ((sk.ecn_flags & TcpSock::kEcnOk) && payload_len && !seq_before(seq, sk.snd_nxt))
        ip.tos = 0x02;
    stack_.ip().ip_local_out(std::move(pkt), rt, ip);
}

void Tcp::send_syn(TcpSock& sk) {
    if (!sk.rtt_start && !sk.retransmits) {
        sk.rtt_start = stack_.clock().now_ns();
        sk.rtt_seq = sk.iss;
    }
    // tcp_ecn_send_syn: with tcp_ecn = 1 the SYN asks for ECN (ECE and CWR, RFC 3168 6.1.1).
    const bool ask_ecn = config().tcp_ecn == 1;
    transmit(sk, sk.iss, wire::kTcpSyn | (ask_ecn ? wire::kTcpEce | wire::kTcpCwr : 0), 0, 0, true);
    sk.snd_nxt = sk.iss + 1;
}

void Tcp::send_synack(TcpSock& sk) {
    if (!sk.rtt_start && !sk.retransmits) {
        sk.rtt_start = stack_.clock().now_ns();
        sk.rtt_seq = sk.iss;
    }
    // tcp_ecn_make_synack: ECE alone says yes to the peer's ECN-setup SYN.
    const std::uint8_t ece = (sk.ecn_flags & TcpSock::kEcnOk) ? wire::kTcpEce : 0;
    transmit(sk, sk.iss, wire::kTcpSyn | wire::kTcpAck | ece, 0, 0, true);
    sk.snd_nxt = sk.iss + 1;
}

void Tcp::send_ack(TcpSock& sk) {
    if (sk.state == TcpState::close || sk.state == TcpState::listen ||
        sk.state == TcpState::syn_sent)
        return;
    transmit(sk, sk.snd_nxt, wire::kTcpAck, 0, 0, false);
}

void Tcp::send_reset(const Packet& pkt, const wire::TcpView& th) {
    if (th.flags() & wire::kTcpRst) return;
    const wire::Ipv4View iph(pkt.network_bytes());
    Route rt;
    if (stack_.ip().route_output(iph.src(), iph.dst(), nullptr, rt)) return;
    // RFC 9293 3.10.7.1: with an ACK, <SEQ=SEG.ACK><CTL=RST>; without,
    // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
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

// tcp_current_mss: the segment size less the SACK blocks this segment will carry.
std::uint32_t Tcp::current_mss(const TcpSock& sk) const {
    std::uint32_t mss = sk.mss;
    if (sk.sack_ok && (sk.dsack || sk.num_sacks)) {
        const std::uint32_t blocks =
            std::min<std::uint32_t>(sk.num_sacks + (sk.dsack ? 1 : 0), sk.ts_ok ? 3 : 4);
        mss -= 4 + 8 * blocks;  // NOP NOP SACK len + the blocks (TCPOLEN_SACK_BASE_ALIGNED)
    }
    return mss;
}

// tcp_update_pacing_rate: 200 % of the current rate (cwnd * mss / srtt) in slow start, 120 %
// once cwnd reaches half of ssthresh. vlo does not pace; the rate sizes GSO packets.
void Tcp::update_pacing_rate(TcpSock& sk) {
    const int ratio = sk.snd_cwnd < sk.snd_ssthresh / 2 ? config().tcp_pacing_ss_ratio
                                                        : config().tcp_pacing_ca_ratio;
    // In Linux's units: srtt_us holds 8x the smoothed RTT in microseconds.
    std::uint64_t rate = std::uint64_t{sk.mss} * ((1'000'000 / 100) << 3);
    rate *= static_cast<std::uint64_t>(ratio) * std::max(sk.snd_cwnd, sk.packets_out());
    const auto srtt_us8 = static_cast<std::uint64_t>(sk.srtt / kNsPerUs) << 3;
    sk.pacing_rate = srtt_us8 ? rate / srtt_us8 : ~0ull;
}

// tcp_tso_segs / tcp_tso_autosize: how many segments one GSO packet carries: about 1 ms at
// the pacing rate (sk_pacing_shift 10), plus up to 64 KiB on paths with a short min RTT
// (tcp_tso_rtt_log), at most GSO_LEGACY_MAX_SIZE, at least tcp_min_tso_segs.
std::uint32_t Tcp::tso_segs(const TcpSock& sk, std::uint32_t mss) const {
    constexpr std::uint64_t kGsoMaxSize = 65536;
    std::uint64_t bytes = sk.pacing_rate >> 10;
    if (sk.min_rtt) {
        const auto r =
            static_cast<std::uint64_t>(sk.min_rtt / kNsPerUs) >> config().tcp_tso_rtt_log;
        if (r < 32) bytes += kGsoMaxSize >> r;
    }
    bytes = std::min(bytes, kGsoMaxSize);
    return std::max(static_cast<std::uint32_t>(bytes / std::max(mss, 1u)),
                    static_cast<std::uint32_t>(config().tcp_min_tso_segs));
}

// tcp_mss_split_point with tcp_cwnd_test's quota: the bytes of the next GSO packet out of
// `avail` unsent bytes (`tail`: up to the queue's end) and `room` in the peer's window. Whole
// segments, and a last partial one unless Nagle holds it back at the tail.
std::uint32_t Tcp::gso_packet_len(const TcpSock& sk, std::uint32_t avail, std::uint32_t room,
                                  Push mode, bool tail) const {
    const std::uint32_t mss = current_mss(sk);
    const std::uint32_t cwnd = sk.snd_cwnd, in_flight = sk.packets_in_flight();
    const std::uint32_t quota =
        in_flight < cwnd ? std::min(std::max(cwnd >> 1, 1u), cwnd - in_flight) : 1;
    const std::uint32_t max_len = mss * std::min(quota, tso_segs(sk, mss));
    const std::uint32_t needed = std::min(avail, room);
    if (max_len <= needed) return max_len;
    const std::uint32_t partial = needed % mss;
    const bool held = partial && tail && needed == avail && nagle_holds(sk, mode);
    return held && needed > partial ? needed - partial : needed;
}

// tcp_nagle_test / tcp_nagle_check with Minshall's variant (tcp_minshall_check): a final
// partial segment waits while corked (TCP_CORK, MSG_MORE), or, without TCP_NODELAY, while an
// earlier small segment is unacknowledged. A FIN or TCP_NAGLE_PUSH sends it anyway.
bool Tcp::nagle_holds(const TcpSock& sk, Push mode) const {
    if (mode == Push::forced || mode == Push::probe || sk.nagle_push || sk.fin_queued) return false;
    if (mode == Push::more || sk.cork) return true;
    if (sk.nodelay) return false;
    return sk.packets_out() > 0 && seq_after(sk.snd_sml, sk.snd_una) &&
           !seq_after(sk.snd_sml, sk.snd_nxt);
}

// tcp_cwnd_restart: after an idle period longer than the RTO the window's measure of the path
// is stale: halve it per RTO idle, down to the initial window (RFC 5681 4.1, RFC 7661).
static void cwnd_restart(TcpSock& sk, Nanos idle, std::uint32_t ssthresh) {
    std::uint32_t cwnd = sk.snd_cwnd;
    const std::uint32_t restart = std::min(10u, cwnd);
    sk.snd_ssthresh = ssthresh;
    while ((idle -= sk.rto) > 0 && cwnd > restart) cwnd >>= 1;
    sk.snd_cwnd = std::max(cwnd, restart);
    sk.snd_cwnd_cnt = 0;
}

// tcp_write_xmit with Nagle (RFC 9293 3.7.4), the congestion window in segments
// (tcp_cwnd_test) and the receive window; each segment joins the retransmission queue.
//
// Linux sends GSO packets of up to tcp_tso_segs segments (tcp_mss_split_point cuts them at
// the cwnd quota and the window) and __tcp_transmit_skb sets PSH on every packet of more than
// one segment, to flush the receiver's GRO. vlo puts segments on the wire one by one, as
// software GSO (tcp_gso_segment) would cut such a packet: PSH on its last segment only.
void Tcp::push_pending(TcpSock& sk, Push mode) {
    const bool can_send = sk.state == TcpState::established || sk.state == TcpState::close_wait ||
                          sk.state == TcpState::fin_wait1 || sk.state == TcpState::last_ack ||
                          sk.state == TcpState::closing;
    if (!can_send || sk.fin_sent) return;
    const Nanos now = stack_.clock().now_ns();
    // tcp_slow_start_after_idle_check (at tcp_skb_entail, before anything is sized): an idle
    // connection's window is stale.
    if (config().tcp_slow_start_after_idle && sk.packets_out() == 0 && sk.lsndtime &&
        now - sk.lsndtime > sk.rto)
        cwnd_restart(sk, now - sk.lsndtime, current_ssthresh(sk));
    const std::uint32_t prior_packets = sk.packets_out();
    std::uint32_t sent = 0;
    bool is_cwnd_limited = false;
    std::uint32_t unit_left = 0;  // bytes the current GSO packet still takes
    std::uint32_t unit_segs = 0;  // segments it has in all
    for (;;) {
        const std::uint32_t end = sk.unsent_end();
        const bool fin_only = !seq_before(sk.snd_nxt, end);
        if (fin_only && !(sk.fin_queued && !sk.fin_sent)) break;
        if (sk.packets_in_flight() >= sk.snd_cwnd && mode != Push::probe) {
            is_cwnd_limited = true;
            break;
        }
        std::uint32_t seg = 0;
        bool with_fin = false, psh = false;
        if (!fin_only) {
            // A MSG_EOR record's end bounds segments and GSO packets (tcp_skb_can_collapse).
            while (!sk.eor_marks.empty() && !seq_after(sk.eor_marks.front().seq, sk.snd_nxt))
                sk.eor_marks.pop_front();
            const std::uint32_t to_end = end - sk.snd_nxt;
            const TcpSock::EorMark* eor = sk.eor_marks.empty() ? nullptr : &sk.eor_marks.front();
            const std::uint32_t avail = eor ? std::min(eor->seq - sk.snd_nxt, to_end) : to_end;
            const std::uint32_t limit = sk.snd_una + sk.snd_wnd;
            const std::uint32_t room = seq_after(limit, sk.snd_nxt) ? limit - sk.snd_nxt : 0;
            seg = std::min({avail, current_mss(sk), room});
            if (seg == 0) break;              // the window is closed: the probe timer below
            const bool last = seg == to_end;  // the end of the queue (tcp_skb_is_last)
            if (seg < current_mss(sk) && last && nagle_holds(sk, mode)) break;
            with_fin = last && sk.fin_queued && seg < room;
            if (unit_left == 0) {
                unit_left = mode == Push::probe
                                ? seg
                                : gso_packet_len(sk, avail, room, mode, avail == to_end);
                unit_segs = (unit_left + current_mss(sk) - 1) / current_mss(sk);
            }
            seg = std::min(seg, unit_left);
            unit_left -= seg;
            // tcp_mark_push: the end of a write not sent with MSG_MORE.
            psh = seg == avail && (avail < to_end ? eor->psh : sk.push_mark);
        }
        // tcp_event_data_sent: the first send after the pipe drained.
        if (sk.packets_in_flight() == 0) ca_event(sk, TcpCaEvent::tx_start);
        std::uint8_t flags = wire::kTcpAck;
        if (fin_only) {
            flags |= wire::kTcpFin;
        } else {
            if (psh) flags |= wire::kTcpPsh;
            if (mode == Push::probe) flags |= wire::kTcpPsh;  // tcp_write_wakeup marks its skb
            if (with_fin) flags |= wire::kTcpFin;
        }
        // The GSO packet's PSH is set on the transmitted clone only: a retransmission of the
        // segment does not inherit it.
        const bool gso_psh = unit_left == 0 && unit_segs > 1;
        transmit(sk, sk.snd_nxt, gso_psh ? flags | wire::kTcpPsh : flags, sk.snd_nxt - sk.snd_una,
                 seg, false);
        const bool fin = flags & wire::kTcpFin;
        sk.rtx.push_back(TxSeg{sk.snd_nxt, sk.snd_nxt + seg + (fin ? 1u : 0u), now, 0, fin,
                               (flags & wire::kTcpPsh) != 0, unit_left == 0});
        sk.snd_nxt += seg + (fin ? 1u : 0u);
        if (fin) sk.fin_sent = true;
        if (seg) sk.lsndtime = now;
        if (seg < current_mss(sk)) sk.snd_sml = sk.snd_nxt;  // tcp_minshall_update
        if (sk.in_cwnd_reduction()) ++sk.prr_out;
        ++sent;
        if (fin || mode == Push::probe) break;
    }
    // tcp_check_probe_timer: nothing in flight to bring an ACK, yet data waits (a closed
    // window, a cork): the probe timer will send it, unless a timer is already running.
    if (sk.packets_out() == 0 && seq_before(sk.snd_nxt, sk.unsent_end()) &&
        sk.pending == TcpSock::Pending::none)
        reset_xmit_timer(sk, TcpSock::Pending::probe0, std::max(sk.rto, config().tcp_rto_min));
    if (!sent) {
        if (is_cwnd_limited) cwnd_validate(sk, true);
        return;
    }
    sk.rtx[sk.rtx.size() - 1].skb_end = true;  // what went out last ends its skb
    cwnd_validate(sk, is_cwnd_limited);
    // tcp_event_new_data_sent: the RTO runs from the first segment in flight; one loss probe
    // per tail (RFC 8985 7.2).
    if (!prior_packets || sk.pending == TcpSock::Pending::loss_probe ||
        sk.pending == TcpSock::Pending::probe0 || sk.pending == TcpSock::Pending::none)
        rearm_rto(sk);
    schedule_loss_probe(sk, false);
}

void Tcp::arm_rexmit(TcpSock& sk) {
    sk.pending = TcpSock::Pending::retrans;
    sk.rexmit_timer.arm(stack_.clock().now_ns() + sk.rto);
}

// tcp_rtt_estimator (Jacobson/Karels, RFC 6298 2.2-2.3 in Linux's form) and tcp_set_rto: the
// variance term is held at tcp_rto_min and decays once per window, so RTO = SRTT +
// max(4 * RTTVAR, rto_min) at most rto_max.
void Tcp::rtt_estimator(TcpSock& sk, Nanos m) {
    m = std::max<Nanos>(m, 1000);  // 1 us: the kernel's clock granularity
    const Nanos rto_min = config().tcp_rto_min;
    if (sk.srtt != 0) {
        Nanos err = m - sk.srtt;
        sk.srtt += err / 8;
        if (err < 0) {
            err = -err - sk.mdev / 4;
            if (err > 0) err /= 8;
        } else {
            err -= sk.mdev / 4;
        }
        sk.mdev += err;
        if (sk.mdev > sk.mdev_max) {
            sk.mdev_max = sk.mdev;
            if (sk.mdev_max > sk.rttvar) sk.rttvar = sk.mdev_max;
        }
        if (seq_after(sk.snd_una, sk.rttvar_seq)) {
            if (sk.mdev_max < sk.rttvar) sk.rttvar -= (sk.rttvar - sk.mdev_max) / 4;
            sk.rttvar_seq = sk.snd_nxt;
            sk.mdev_max = rto_min;
        }
    } else {
        sk.srtt = m;
        sk.mdev = 2 * m;
        sk.rttvar = std::max(sk.mdev, rto_min);
        sk.mdev_max = sk.rttvar;
        sk.rttvar_seq = sk.snd_nxt;
    }
    // __tcp_set_rto: usecs_to_jiffies rounds up to the timer's 1 ms granularity.
    const Nanos rto = (sk.srtt + sk.rttvar + kNsPerMs - 1) / kNsPerMs * kNsPerMs;
    sk.rto = std::min(rto, config().tcp_rto_max);
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

// tcp_probe_timer / tcp_send_probe0: the peer's window is closed and data waits: a segment
// below snd_una makes it ACK with its current window.
void Tcp::probe_timer(TcpSock& sk) {
    if (sk.packets_out() || !seq_before(sk.snd_nxt, sk.unsent_end())) {
        sk.retransmits = 0;
        sk.pending = TcpSock::Pending::none;
        return;
    }
    if (sk.snd_wnd != 0) {  // tcp_write_wakeup: the window is open, send what waits
        sk.retransmits = 0;
        sk.pending = TcpSock::Pending::none;
        return push_pending(sk, Push::probe);
    }
    if (++sk.retransmits > config().tcp_retries2) {
        stats_.ext.inc(TcpExtMib::TCPAbortOnTimeout);
        return abort(sk, std::errc::timed_out);
    }
    transmit(sk, sk.snd_una - 1, wire::kTcpAck, 0, 0, false);
    reset_xmit_timer(sk, TcpSock::Pending::probe0,
                     std::min(sk.rto << std::min(sk.retransmits, 20), config().tcp_rto_max));
}

void Tcp::on_rexmit_timer(TcpSock& sk) {
    if (sk.state == TcpState::close || sk.state == TcpState::listen ||
        sk.state == TcpState::time_wait)
        return;
    if (sk.state == TcpState::syn_sent || sk.state == TcpState::syn_recv) {
        // The SYN or SYN-ACK again (tcp_retransmit_timer's handshake branch), RFC 6298 5.5.
        stats_.ext.inc(TcpExtMib::TCPTimeouts);
        const int limit =
            sk.state == TcpState::syn_sent ? config().tcp_syn_retries : config().tcp_synack_retries;
        if (++sk.retransmits > limit) {
            if (sk.state == TcpState::syn_sent) stats_.tcp.inc(TcpMib::AttemptFails);
            if (sk.state == TcpState::syn_recv && !sk.parent.expired()) return done(sk);
            stats_.ext.inc(TcpExtMib::TCPAbortOnTimeout);
            sk.err = sk.soft_err ? sk.soft_err : std::make_error_code(std::errc::timed_out);
            return done(sk);
        }
        ++sk.backoff;
        sk.rto = std::min(sk.rto * 2, config().tcp_rto_max);
        sk.rtt_start = 0;  // Karn: nothing retransmitted is timed
        stats_.tcp.inc(TcpMib::RetransSegs);
        ++sk.total_retrans;
        if (sk.state == TcpState::syn_sent)
            send_syn(sk);
        else
            send_synack(sk);
        return arm_rexmit(sk);
    }
    const TcpSock::Pending what = sk.pending;
    sk.pending = TcpSock::Pending::none;
    switch (what) {
        case TcpSock::Pending::reo_timeout:
            return rack_reo_timeout(sk);
        case TcpSock::Pending::loss_probe:
            return send_loss_probe(sk);
        case TcpSock::Pending::probe0:
            return probe_timer(sk);
        case TcpSock::Pending::retrans:
            return retransmit_timer(sk);
        case TcpSock::Pending::none:
            return;
    }
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
        default:
            return;
    }
}

}  // namespace vlo
