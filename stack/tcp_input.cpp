// TCP input: RFC 9293 section 3.10.7 "SEGMENT ARRIVES", with RFC 5961's defences against blind
// injection, RFC 7323 timestamps, window scaling and PAWS, the receiver's SACK blocks (RFC 2018,
// RFC 2883) and tcp_ack's bookkeeping (tcp_rcv_state_process, tcp_ack, tcp_data_queue). What
// an ACK means for loss recovery is in tcp_recovery.cpp.
#include <algorithm>

#include "stack/stack.hpp"
#include "stack/tcp.hpp"
#include "stack/tcp_ack_flags.hpp"
#include "stack/tcp_seq.hpp"

namespace vlo {

using wire::TcpOptions;
using wire::TcpView;

void Tcp::set_state(TcpSock& sk, TcpState next) {
    const auto counted = [](TcpState s) {
        return s == TcpState::established || s == TcpState::close_wait;
    };
    if (counted(sk.state) && !counted(next)) stats_.tcp.dec(TcpMib::CurrEstab);
    // tcp_set_state: a direct step from ESTABLISHED or CLOSE_WAIT to CLOSED is a reset.
    if (counted(sk.state) && next == TcpState::close) stats_.tcp.inc(TcpMib::EstabResets);
    if (!counted(sk.state) && counted(next)) stats_.tcp.inc(TcpMib::CurrEstab);
    sk.state = next;
    sk.wake();  // sk_state_change
}

// The connection is synchronized in both directions (tcp_finish_connect / SYN_RECV -> ESTABLISHED).
void Tcp::established(TcpSock& sk) {
    init_transfer(sk);
    set_state(sk, TcpState::established);
    sk.quick_acks = 16;  // TCP_MAX_QUICKACKS: ACK every segment while the peer's cwnd grows
    if (sk.keepalive) sk.keepalive_timer.arm(stack_.clock().now_ns() + config().tcp_keepalive_time);
}

// tcp_init_transfer: the connection starts with the initial window of RFC 6928 (10 segments)
// and its congestion control, and measures the peer's segments from TCP_MSS_DEFAULT up.
void Tcp::init_transfer(TcpSock& sk) {
    sk.snd_cwnd = 10;
    sk.snd_ssthresh = 0x7fffffff;
    sk.snd_cwnd_cnt = 0;
    sk.reordering = static_cast<std::uint32_t>(config().tcp_reordering);
    sk.rcv_mss =
        std::clamp<std::uint16_t>(std::min<std::uint16_t>({sk.advmss, sk.mss, 536}), 88, 536);
    sk.lsndtime = stack_.clock().now_ns();
    sk.last_data_recv =
        sk.lsndtime;  // icsk_ack.lrcvtime (tcp_finish_connect, tcp_create_openreq_child)
    // With timestamps every segment's header is 12 bytes longer: advmss says what fits now
    // (tcp_rcv_synsent_state_process, tcp_create_openreq_child).
    if (sk.ts_ok) sk.advmss = static_cast<std::uint16_t>(sk.advmss - 12);
    if (sk.ca_ops->init) sk.ca_ops->init(sk);
    update_pacing_rate(sk);  // tcp_rcv_state_process (SYN_RECV), tcp_ack of the SYN-ACK
}

std::error_code Tcp::set_congestion_control(TcpSock& sk, std::string_view name) {
    const TcpCongestionOps* ops = tcp_ca_find(name);
    if (!ops) return std::make_error_code(std::errc::no_such_file_or_directory);
    if (ops == sk.ca_ops) return {};
    if (sk.ca_ops->release) sk.ca_ops->release(sk);
    sk.ca_ops = ops;
    sk.ca_priv.fill(0);
    // Before the handshake completes, init_transfer initialises it; after, at once.
    if (sk.state == TcpState::established || sk.state == TcpState::close_wait) {
        if (ops->init) ops->init(sk);
    }
    return {};
}

void Tcp::drop(PacketPtr pkt, DropReason reason) {
    stack_.net_rx().drops().kfree_skb_reason(std::move(pkt), reason);
}

void Tcp::rcv_syn_sent(TcpSock& sk, const TcpView& th, const TcpOptions& opts, const Packet& pkt) {
    const std::uint8_t flags = th.flags();
    const bool ack = flags & wire::kTcpAck;
    // First: an ACK that does not acknowledge our SYN draws a RST (unless it is one).
    if (ack && (seq_leq(th.ack(), sk.iss) || seq_after(th.ack(), sk.snd_nxt))) {
        if (!(flags & wire::kTcpRst)) send_reset(pkt, th);
        return;
    }
    if (flags & wire::kTcpRst) {
        // With an acceptable ACK, the peer refused: ECONNREFUSED. Without one, ignore it.
        if (ack) {
            stats_.tcp.inc(TcpMib::AttemptFails);
            sk.err = std::make_error_code(std::errc::connection_refused);
            done(sk);
        }
        return;
    }
    if (!(flags & wire::kTcpSyn)) return;
    sk.irs = th.seq();
    sk.rcv_nxt = th.seq() + 1;
    sk.rcv_wup = sk.rcv_nxt;
    sk.peer_mss = mss_clamp(sk, opts.mss.value_or(536));  // tcp_parse_options: user_mss caps it
    sk.wscale_ok = opts.wscale.has_value() && config().tcp_window_scaling;
    sk.snd_wscale = sk.wscale_ok ? *opts.wscale : 0;
    if (!sk.wscale_ok) sk.rcv_wscale = 0;
    if (!sk.wscale_ok) sk.window_clamp = std::min<std::uint32_t>(sk.window_clamp, 65535);
    sk.ts_ok = opts.timestamp.has_value() && config().tcp_timestamps;
    if (sk.ts_ok) {
        sk.ts_recent = opts.timestamp->first;
        sk.ts_recent_stamp = stack_.clock().now_ns();
    }
    sk.sack_ok = opts.sack_permitted && config().tcp_sack;
    // tcp_ecn_rcv_synack: ECE without CWR accepts the ECN we asked for.
    if (config().tcp_ecn == 1 && (flags & wire::kTcpEce) && !(flags & wire::kTcpCwr))
        sk.ecn_flags = TcpSock::kEcnOk;
    sk.mss = std::min<std::uint16_t>(sk.peer_mss, sk.advmss);
    if (sk.ts_ok) sk.mss = static_cast<std::uint16_t>(sk.mss - 12);  // TCPOLEN_TSTAMP_ALIGNED
    sk.snd_wnd = th.window();
    sk.snd_wl1 = th.seq();
    if (ack) {
        sk.snd_una = th.ack();
        sk.snd_wl2 = th.ack();
        // tcp_ack_update_rtt for the SYN: the first sample, min_rtt's too.
        if (sk.rtt_start && sk.retransmits == 0) {
            const Nanos rtt = stack_.clock().now_ns() - sk.rtt_start;
            ack_update_rtt(sk, 0, rtt, -1, rtt);
        }
        sk.rtt_start = 0;
        sk.retransmits = 0;
        sk.backoff = 0;
        sk.rexmit_timer.cancel();
        sk.pending = TcpSock::Pending::none;
        established(sk);
        send_ack(sk);
        push_pending(sk);
        return;
    }
    // Simultaneous open (RFC 9293 3.5, figure 8): SYN_RECV, and our SYN becomes a SYN-ACK.
    set_state(sk, TcpState::syn_recv);
    send_synack(sk);
}

void Tcp::send_challenge_ack(TcpSock& sk) {
    // RFC 5961 sections 3-5, rate limited per socket in Linux (tcp_send_challenge_ack); one
    // ACK per offending segment here.
    stats_.ext.inc(TcpExtMib::TCPChallengeACK);
    send_ack(sk);
}

void Tcp::reset_received(TcpSock& sk) {
    switch (sk.state) {
        case TcpState::syn_recv:
            // From a passive open: back to LISTEN, i.e. the child simply goes (RFC 9293 3.10.7.4).
            if (!sk.parent.expired()) return done(sk);
            sk.err = std::make_error_code(std::errc::connection_refused);
            break;
        case TcpState::close_wait:
            sk.err = std::make_error_code(std::errc::broken_pipe);
            break;
        case TcpState::time_wait:
            break;  // RFC 1337: Linux lets a RST kill TIME_WAIT
        default:
            sk.err = std::make_error_code(std::errc::connection_reset);
            break;
    }
    done(sk);
}

void Tcp::rcv_state_process(TcpSock& sk, PacketPtr pkt, const TcpView& th, const TcpOptions& opts) {
    pkt->trace.stamp(Stage::tcp_data_queue);
    if (sk.state == TcpState::close) return;
    if (sk.state == TcpState::syn_sent) return rcv_syn_sent(sk, th, opts, *pkt);

    const std::uint8_t flags = th.flags();
    const std::uint32_t seq = th.seq();
    std::uint32_t len = static_cast<std::uint32_t>(th.payload().size());
    if (flags & wire::kTcpSyn) ++len;
    if (flags & wire::kTcpFin) ++len;

    // A retransmitted SYN in SYN_RECV: our SYN-ACK was lost, send it again.
    if (sk.state == TcpState::syn_recv && (flags & wire::kTcpSyn) && !(flags & wire::kTcpAck) &&
        seq == sk.irs) {
        send_synack(sk);
        return;
    }

    const Nanos now = stack_.clock().now_ns();
    sk.last_rcv = now;
    sk.keepalive_probes_sent = 0;
    ++sk.segs_in;
    if (sk.ecn_flags & TcpSock::kEcnOk) {
        // tcp_ecn_accept_cwr / tcp_ecn_check_ce: the sender reacted; a CE mark asks us to echo
        // ECE until it does (RFC 3168 6.1.3), and to ACK at once.
        if (flags & wire::kTcpCwr)
            sk.ecn_flags &= static_cast<std::uint8_t>(~TcpSock::kEcnDemandCwr);
        if ((wire::Ipv4View(pkt->network_bytes()).tos() & 0x3) == 0x3 && !th.payload().empty()) {
            sk.ecn_flags |= TcpSock::kEcnDemandCwr;
            sk.quick_acks = std::max(sk.quick_acks, 1);
        }
    }

    // PAWS (RFC 7323 5): a timestamp older than the last one in order is an old duplicate.
    if (sk.ts_ok && opts.timestamp && !(flags & wire::kTcpRst) && paws_discard(sk, th, opts)) {
        stats_.ext.inc(TcpExtMib::PAWSEstab);
        send_dupack(sk, th);
        return drop(std::move(pkt), DropReason::tcp_rfc7323_paws);
    }

    // First: the acceptability test (RFC 9293 3.10.7.4, the four cases).
    const std::uint32_t wnd = receive_window(sk);
    bool acceptable;
    if (len == 0)
        acceptable = wnd == 0 ? seq == sk.rcv_nxt : seq_in(seq, sk.rcv_nxt, sk.rcv_nxt + wnd);
    else
        acceptable = wnd != 0 && (seq_in(seq, sk.rcv_nxt, sk.rcv_nxt + wnd) ||
                                  seq_in(seq + len - 1, sk.rcv_nxt, sk.rcv_nxt + wnd));
    // A segment that is all old (a retransmission we have) is not acceptable but must be ACKed.
    if (!acceptable) {
        if (!(flags & wire::kTcpRst)) {
            if (sk.state == TcpState::time_wait && (flags & wire::kTcpFin)) {
                // A retransmitted FIN: ACK it and restart 2MSL (RFC 9293 3.10.7.4, TIME-WAIT).
                sk.keepalive_timer.arm(now + config().tcp_timewait_len);
            }
            send_dupack(sk, th);
        }
        const bool old = seq_before(seq + len, sk.rcv_nxt) || (len && seq + len == sk.rcv_nxt);
        return drop(std::move(pkt),
                    old ? DropReason::tcp_old_data : DropReason::tcp_invalid_sequence);
    }

    // Second: RST (RFC 5961 3.2): exact match resets, else a challenge ACK.
    if (flags & wire::kTcpRst) {
        if (seq == sk.rcv_nxt)
            reset_received(sk);
        else
            send_challenge_ack(sk);
        return drop(std::move(pkt), DropReason::tcp_reset);
    }

    // Fourth: SYN in a synchronized state (RFC 5961 4.2): challenge ACK, drop.
    if (flags & wire::kTcpSyn) {
        stats_.ext.inc(TcpExtMib::TCPSYNChallenge);
        send_challenge_ack(sk);
        return drop(std::move(pkt), DropReason::tcp_invalid_syn);
    }

    // Fifth: the ACK field.
    if (!(flags & wire::kTcpAck)) return drop(std::move(pkt), DropReason::tcp_flags);
    if (sk.state == TcpState::syn_recv) {
        if (seq_after(th.ack(), sk.snd_una) && seq_leq(th.ack(), sk.snd_nxt)) {
            sk.snd_una = th.ack();
            sk.snd_wnd = std::uint32_t{th.window()} << sk.snd_wscale;
            sk.snd_wl1 = seq;
            sk.snd_wl2 = th.ack();
            sk.max_window = std::max(sk.max_window, sk.snd_wnd);
            // tcp_synack_rtt_meas: the SYN-ACK's round trip, min_rtt's first sample too.
            if (sk.rtt_start && sk.retransmits == 0)
                ack_update_rtt(sk, 0, now - sk.rtt_start, -1, now - sk.rtt_start);
            sk.rtt_start = 0;
            sk.retransmits = 0;
            sk.rexmit_timer.cancel();
            sk.pending = TcpSock::Pending::none;
            established(sk);
            if (!sk.parent.expired()) child_established(sk);
        } else {
            send_reset(*pkt, th);
            return drop(std::move(pkt), DropReason::tcp_ack_unsent_data);
        }
    } else {
        DropReason why = DropReason::not_dropped;
        if (!ack_process(sk, th, opts, why)) {
            if (why != DropReason::not_dropped) drop(std::move(pkt), why);
            return;
        }
    }
    if (sk.state == TcpState::close) return;

    // tcp_replace_ts_recent: the newest timestamp of a segment at the left edge (RFC 7323 4.3).
    if (sk.ts_ok && opts.timestamp && seq_leq(seq, sk.rcv_wup) &&
        static_cast<std::int32_t>(sk.ts_recent - opts.timestamp->first) <= 0) {
        sk.ts_recent = opts.timestamp->first;
        sk.ts_recent_stamp = now;
    }

    // Seventh: segment text, in states that still receive.
    if (!th.payload().empty()) {
        if (sk.state == TcpState::established || sk.state == TcpState::fin_wait1 ||
            sk.state == TcpState::fin_wait2) {
            if (sk.shut_rd && sk.orphan) {
                // Data for a closed socket: nobody will read it. tcp_reset ends the socket and
                // tcp_v4_do_rcv answers the segment itself (tcp_v4_send_reset: SEQ=SEG.ACK).
                stats_.ext.inc(TcpExtMib::TCPAbortOnData);
                sk.err = std::make_error_code(std::errc::connection_reset);
                done(sk);
                send_reset(*pkt, th);
                return drop(std::move(pkt), DropReason::tcp_close);
            }
            // Data the queue would not take ends its trace with tcp_data_queue's reason.
            if (const DropReason why = data_queue(sk, th); why != DropReason::not_dropped)
                return drop(std::move(pkt), why);
            if (sk.state == TcpState::close) return;
        }
    }

    // Eighth: FIN, once everything before it has arrived.
    if ((flags & wire::kTcpFin) && !sk.fin_rcvd &&
        seq + static_cast<std::uint32_t>(th.payload().size()) == sk.rcv_nxt)
        fin_received(sk);
}

// tcp_paws_discard: an old timestamp, unless it is a disordered pure ACK (tcp_disordered_ack)
// or the last timestamp is too old to judge by (24 days).
bool Tcp::paws_discard(const TcpSock& sk, const TcpView& th, const TcpOptions& opts) const {
    const std::uint32_t tsval = opts.timestamp->first;
    if (!sk.ts_recent_stamp || !sk.ts_recent) return false;
    if (static_cast<std::int32_t>(sk.ts_recent - tsval) <= 1) return false;  // TCP_PAWS_WINDOW
    if (stack_.clock().now_ns() - sk.ts_recent_stamp > 24 * 86400 * kNsPerSec)
        return false;  // TCP_PAWS_24DAYS
    const bool disordered_ack =
        (th.flags() & wire::kTcpAck) && th.payload().empty() && th.seq() == sk.rcv_nxt &&
        th.ack() == sk.snd_una && (std::uint32_t{th.window()} << sk.snd_wscale) == sk.snd_wnd &&
        static_cast<std::int32_t>(sk.ts_recent - tsval) <= sk.rto / kNsPerMs;
    return !disordered_ack;
}

// tcp_send_dupack: an ACK for a segment we did not take; for data we already had, with a
// D-SACK saying so (RFC 2883 4.1).
void Tcp::send_dupack(TcpSock& sk, const TcpView& th) {
    const std::uint32_t len = static_cast<std::uint32_t>(th.payload().size());
    if (len && seq_before(th.seq(), sk.rcv_nxt) && sk.sack_ok && config().tcp_dsack) {
        std::uint32_t end = th.seq() + len;
        if (seq_after(end, sk.rcv_nxt)) end = sk.rcv_nxt;
        dsack_set(sk, th.seq(), end);
    }
    send_ack(sk);
}

// tcp_ack: the window, the scoreboard, RTT, congestion control and loss recovery.
bool Tcp::ack_process(TcpSock& sk, const TcpView& th, const TcpOptions& opts, DropReason& reason) {
    const std::uint32_t ack = th.ack();
    const std::uint32_t prior_snd_una = sk.snd_una;
    // RFC 5961 5.2: an ACK beyond what we sent, or far below what was acknowledged, is
    // answered by an ACK and dropped.
    if (seq_after(ack, sk.snd_nxt)) {
        send_challenge_ack(sk);
        reason = DropReason::tcp_ack_unsent_data;
        return false;
    }
    if (seq_before(ack, prior_snd_una - std::max<std::uint32_t>(sk.max_window, 1))) {
        send_challenge_ack(sk);
        reason = DropReason::tcp_too_old_ack;
        return false;
    }
    const Nanos now = stack_.clock().now_ns();
    sk.rcv_tsecr = (sk.ts_ok && opts.timestamp) ? opts.timestamp->second : 0;
    const std::uint32_t prior_fack = sk.sacked_out ? sk.highest_sack : sk.snd_una;
    const std::uint32_t prior_packets = sk.packets_out();
    const std::uint32_t prior_delivered = sk.delivered;
    const std::uint32_t prior_lost = sk.lost_out;
    SackState st;
    st.reord = sk.snd_nxt;
    Rexmit rexmit = Rexmit::none;

    if (seq_before(ack, prior_snd_una)) {
        // An old ACK (reordered): only its SACK blocks are news.
        if (sk.sack_ok && opts.num_sack && prior_packets) {
            int flag = sacktag(sk, opts, ack, prior_snd_una, st);
            fastretrans_alert(sk, prior_snd_una, 0, flag, rexmit);
            xmit_recovery(sk, rexmit);
        }
        return true;
    }
    sk.last_ack_recv = now;
    int flag = 0;
    if (!th.payload().empty()) flag |= kFlagData;
    if ((th.flags() & wire::kTcpEce) && (sk.ecn_flags & TcpSock::kEcnOk))
        flag |= kFlagEce;  // tcp_ecn_rcv_ecn_echo
    // tcp_ack_update_window with tcp_may_update_window: a newer ACK, a newer segment, or the
    // same segment with a larger window (or a zero one).
    const std::uint32_t nwin = std::uint32_t{th.window()} << sk.snd_wscale;
    if (seq_after(ack, sk.snd_una) || seq_after(th.seq(), sk.snd_wl1) ||
        (th.seq() == sk.snd_wl1 && (nwin > sk.snd_wnd || !nwin))) {
        flag |= kFlagWinUpdate;
        const bool opened = sk.snd_wnd == 0 && nwin > 0;
        sk.snd_wl1 = th.seq();
        sk.snd_wl2 = ack;
        if (sk.snd_wnd != nwin) {
            sk.snd_wnd = nwin;
            sk.max_window = std::max(sk.max_window, nwin);
        }
        if (opened) {
            sk.retransmits = 0;
            sk.backoff = 0;
        }
    }
    if (seq_after(ack, prior_snd_una)) {
        flag |= kFlagSndUnaAdvanced;
        const std::uint32_t acked = ack - prior_snd_una;
        // The FIN occupies no byte of the send queue.
        sk.sndq.pop(std::min<std::uint32_t>(acked, static_cast<std::uint32_t>(sk.sndq.size())));
        sk.snd_una = ack;
        sk.bytes_acked += acked;
        sk.retransmits = 0;
    }
    if (sk.sack_ok && opts.num_sack) flag |= sacktag(sk, opts, ack, prior_snd_una, st);

    if (prior_packets) {
        flag |= clean_rtx_queue(sk, ack, prior_fack, st);
        if (sk.tlp_high_seq) process_tlp_ack(sk, ack, flag);
        // tcp_ack_is_dubious: not a plain step forward, or recovery is under way.
        if (!(flag & kFlagNotDup) || (flag & kFlagCaAlert) || sk.ca_state != TcpCaState::open) {
            const int num_dupack =
                (flag & (kFlagSndUnaAdvanced | kFlagNotDup | kFlagDsackingAck)) ? 0 : 1;
            fastretrans_alert(sk, prior_snd_una, num_dupack, flag, rexmit);
        }
        if (flag & kFlagSetXmitTimer) set_xmit_timer(sk);
        if (flag & kFlagEce)
            stats_.ext.inc(TcpExtMib::TCPDeliveredCE, sk.delivered - prior_delivered);
        const int newly_lost =
            std::max(0, static_cast<int>(sk.lost_out) - static_cast<int>(prior_lost));
        cong_control(sk, ack, sk.delivered - prior_delivered, newly_lost, flag);
        xmit_recovery(sk, rexmit);
    } else if (flag & kFlagDsackingAck) {
        // Nothing outstanding, but a D-SACK may still prove a reduction unnecessary.
        fastretrans_alert(sk, prior_snd_una, 0, flag, rexmit);
        xmit_recovery(sk, rexmit);
    }
    if (flag & kFlagSndUnaAdvanced) sk.wake();  // sk_write_space
    // tcp_ack_probe: the window opened for data that waited on the persist timer.
    if (sk.pending == TcpSock::Pending::probe0 && sk.snd_wnd > 0) {
        sk.rexmit_timer.cancel();
        sk.pending = TcpSock::Pending::none;
        sk.retransmits = 0;
    }
    if (!sk.packets_out() && sk.pending != TcpSock::Pending::probe0) {
        sk.rexmit_timer.cancel();
        sk.pending = TcpSock::Pending::none;
    }

    // Our FIN acknowledged?
    const bool fin_acked = sk.fin_sent && sk.snd_una == sk.snd_nxt;
    switch (sk.state) {
        case TcpState::fin_wait1:
            if (fin_acked) {
                set_state(sk, TcpState::fin_wait2);
                // An orphan does not wait forever for the peer's FIN (tcp_fin_timeout).
                if (sk.orphan) sk.keepalive_timer.arm(now + config().tcp_fin_timeout);
            }
            break;
        case TcpState::closing:
            if (fin_acked) time_wait(sk);
            return false;
        case TcpState::last_ack:
            if (fin_acked) {
                done(sk);
                return false;
            }
            push_pending(sk);  // data queued before the FIN may still be waiting for window
            return false;
        case TcpState::time_wait:
            send_ack(sk);
            sk.keepalive_timer.arm(now + config().tcp_timewait_len);
            return false;
        default:
            break;
    }
    push_pending(sk);
    return true;
}

// tcp_data_queue: in-order data to the receive queue, out-of-order kept for later, with the
// SACK blocks and D-SACKs that tell the sender what arrived.
DropReason Tcp::data_queue(TcpSock& sk, const TcpView& th) {
    auto payload = th.payload();
    std::uint32_t seq = th.seq();
    ++sk.data_segs_in;
    sk.last_data_recv = stack_.clock().now_ns();
    // tcp_measure_rcv_mss: the largest segment the peer sends, for our window's rounding.
    if (payload.size() >= sk.rcv_mss)
        sk.rcv_mss = static_cast<std::uint16_t>(std::min<std::size_t>(payload.size(), sk.advmss));
    // Trim what we already have at the front, and say so with a D-SACK (RFC 2883 4.1.1).
    if (seq_before(seq, sk.rcv_nxt)) {
        const std::uint32_t dup = sk.rcv_nxt - seq;
        if (dup >= payload.size()) {
            dsack_set(sk, seq, seq + static_cast<std::uint32_t>(payload.size()));
            // Old data with a FIN that is new: the FIN is taken (its end_seq is past rcv_nxt).
            if ((th.flags() & wire::kTcpFin) && !sk.fin_rcvd &&
                seq + payload.size() == sk.rcv_nxt) {
                fin_received(sk);
                return DropReason::not_dropped;
            }
            schedule_ack(sk, true);
            return DropReason::tcp_old_data;
        }
        dsack_set(sk, seq, sk.rcv_nxt);
        payload = payload.subspan(dup);
        seq = sk.rcv_nxt;
    }
    // And what does not fit in the buffer (we never advertised it).
    const std::size_t room = sk.rcvq.free();
    const std::uint32_t offset = seq - sk.rcv_nxt;
    if (offset >= room) {
        const bool in_order = seq == sk.rcv_nxt;
        stats_.ext.inc(in_order ? TcpExtMib::TCPZeroWindowDrop : TcpExtMib::TCPOFODrop);
        schedule_ack(sk, true);
        return in_order ? DropReason::tcp_zerowindow : DropReason::tcp_ofo_drop;
    }
    payload = payload.first(std::min<std::size_t>(payload.size(), room - offset));
    const std::uint32_t end_seq = seq + static_cast<std::uint32_t>(payload.size());
    if (seq != sk.rcv_nxt) {
        // A hole before it: keep it (RFC 9293 3.10.7.4 seventh, "may be held"), report it in
        // a SACK block and ACK at once so the sender's recovery can start (tcp_data_queue_ofo).
        stats_.ext.inc(TcpExtMib::TCPOFOQueue);
        auto covering = sk.ooo.upper_bound(seq);
        if (covering != sk.ooo.begin()) {
            --covering;
            const std::uint32_t held_end =
                covering->first + static_cast<std::uint32_t>(covering->second.size());
            if (!seq_after(end_seq, held_end)) {  // all of it held already
                stats_.ext.inc(TcpExtMib::TCPOFOMerge);
                dsack_set(sk, seq, end_seq);
                schedule_ack(sk, true);
                return DropReason::tcp_ofomerge;
            }
        }
        auto& held = sk.ooo[seq];
        if (held.size() < payload.size()) held.assign(payload.begin(), payload.end());
        if (sk.sack_ok) sack_new_ofo(sk, seq, end_seq);
        schedule_ack(sk, true);
        return DropReason::not_dropped;
    }
    sk.rcvq.push(payload);
    sk.rcv_nxt += static_cast<std::uint32_t>(payload.size());
    sk.bytes_received += payload.size();
    const bool filled_hole = !sk.ooo.empty();
    // Pull in whatever the new data made contiguous.
    while (!sk.ooo.empty()) {
        auto it = sk.ooo.begin();
        if (seq_after(it->first, sk.rcv_nxt)) break;
        const std::uint32_t skip = sk.rcv_nxt - it->first;
        if (skip < it->second.size()) {
            const auto rest = std::span<const std::uint8_t>(it->second).subspan(skip);
            const std::size_t n = sk.rcvq.push(rest.first(std::min(rest.size(), sk.rcvq.free())));
            sk.rcv_nxt += static_cast<std::uint32_t>(n);
            sk.bytes_received += n;
        }
        sk.ooo.erase(it);
    }
    if (sk.num_sacks) sack_remove(sk);
    // tcp_data_queue: a FIN in order is taken with its data, and its ACK covers both.
    if ((th.flags() & wire::kTcpFin) && !sk.fin_rcvd &&
        sk.rcv_nxt == th.seq() + static_cast<std::uint32_t>(th.payload().size())) {
        sk.wake();
        fin_received(sk);
        return DropReason::not_dropped;
    }
    // tcp_grow_window: the offered window opens by two segments per segment received, up
    // to the clamp, as long as the buffer has the room.
    if (sk.rcv_ssthresh < sk.window_clamp && sk.rcv_ssthresh < sk.rcvq.free()) {
        const std::uint32_t incr = std::max<std::uint32_t>(
            2u * sk.advmss, 2u * static_cast<std::uint32_t>(payload.size()));
        sk.rcv_ssthresh += std::min(sk.window_clamp - sk.rcv_ssthresh, incr);
    }
    sk.wake();  // sk_data_ready
    schedule_ack(sk, filled_hole);
    return DropReason::not_dropped;
}

// tcp_sack_new_ofo_skb: the block that grew moves to the front; a new block goes in front
// and the oldest falls off when all four are in use (RFC 2018 4: most recent first).
void Tcp::sack_new_ofo(TcpSock& sk, std::uint32_t seq, std::uint32_t end_seq) {
    auto extend = [](wire::SackBlock& b, std::uint32_t s, std::uint32_t e) {  // tcp_sack_extend
        if (seq_after(s, b.end) || seq_after(b.start, e)) return false;
        if (seq_before(s, b.start)) b.start = s;
        if (seq_after(e, b.end)) b.end = e;
        return true;
    };
    auto& sp = sk.selective_acks;
    for (std::size_t i = 0; i < sk.num_sacks; ++i) {
        if (!extend(sp[i], seq, end_seq)) continue;
        for (; i > 0; --i) std::swap(sp[i], sp[i - 1]);
        // tcp_sack_maybe_coalesce: the grown block may now reach others.
        for (std::size_t j = 1; j < sk.num_sacks;) {
            if (extend(sp[0], sp[j].start, sp[j].end)) {
                for (std::size_t k = j; k + 1 < sk.num_sacks; ++k) sp[k] = sp[k + 1];
                --sk.num_sacks;
                continue;
            }
            ++j;
        }
        return;
    }
    std::size_t n = sk.num_sacks;
    if (n >= sp.size()) n = sp.size() - 1;
    for (std::size_t i = n; i > 0; --i) sp[i] = sp[i - 1];
    sp[0] = {seq, end_seq};
    sk.num_sacks = static_cast<std::uint8_t>(n + 1);
}

// tcp_sack_remove: blocks that rcv_nxt has reached are acknowledged cumulatively now.
void Tcp::sack_remove(TcpSock& sk) {
    if (sk.ooo.empty()) {
        sk.num_sacks = 0;
        return;
    }
    for (std::size_t i = 0; i < sk.num_sacks;) {
        if (!seq_before(sk.rcv_nxt, sk.selective_acks[i].start)) {
            for (std::size_t k = i; k + 1 < sk.num_sacks; ++k)
                sk.selective_acks[k] = sk.selective_acks[k + 1];
            --sk.num_sacks;
            continue;
        }
        ++i;
    }
}

// tcp_dsack_set: report duplicate data once, in the next segment's first SACK block.
void Tcp::dsack_set(TcpSock& sk, std::uint32_t seq, std::uint32_t end_seq) {
    if (!sk.sack_ok || !config().tcp_dsack) return;
    stats_.ext.inc(seq_before(seq, sk.rcv_nxt) ? TcpExtMib::TCPDSACKOldSent
                                               : TcpExtMib::TCPDSACKOfoSent);
    sk.dsack = true;
    sk.duplicate_sack = {seq, end_seq};
}

void Tcp::fin_received(TcpSock& sk) {
    sk.fin_rcvd = true;
    sk.rcv_nxt += 1;
    sk.wake();
    switch (sk.state) {
        case TcpState::syn_recv:
        case TcpState::established:
            set_state(sk, TcpState::close_wait);
            break;
        case TcpState::fin_wait1:
            // Simultaneous close (RFC 9293 3.6): both FINs out, ours not yet acknowledged.
            if (sk.fin_sent && sk.snd_una == sk.snd_nxt) {
                send_ack(sk);
                return time_wait(sk);
            }
            set_state(sk, TcpState::closing);
            break;
        case TcpState::fin_wait2:
            send_ack(sk);
            return time_wait(sk);
        default:
            break;
    }
    send_ack(sk);
}

// TIME_WAIT for 2*MSL (tcp_time_wait), holding the 4-tuple so an old duplicate cannot be
// taken for a new connection's segment.
void Tcp::time_wait(TcpSock& sk) {
    set_state(sk, TcpState::time_wait);
    sk.rexmit_timer.cancel();
    sk.delack_timer.cancel();
    // Nothing more is sent or received: like the kernel's small inet_timewait_sock, the
    // lingering socket keeps no buffers (unread data, after a shutdown, stays readable).
    sk.sndq.release_if_empty();
    sk.rcvq.release_if_empty();
    sk.keepalive_timer.arm(stack_.clock().now_ns() + config().tcp_timewait_len);
}

}  // namespace vlo
