// TCP input: RFC 9293 section 3.10.7 "SEGMENT ARRIVES", with RFC 5961's defences against blind
// injection, RFC 7323 timestamps and window scaling, RFC 6298 RTT sampling and RFC 5681 /
// RFC 6582 congestion control (tcp_rcv_state_process, tcp_ack, tcp_data_queue).
#include <algorithm>

#include "stack/stack.hpp"
#include "stack/tcp.hpp"
#include "stack/tcp_seq.hpp"

namespace vlo {

using wire::TcpOptions;
using wire::TcpView;

void Tcp::set_state(TcpSock& sk, TcpState next) {
    const auto counted = [](TcpState s) { return s == TcpState::established || s == TcpState::close_wait; };
    if (counted(sk.state) && !counted(next)) stats_.tcp.dec(TcpMib::CurrEstab);
    // tcp_set_state: a direct step from ESTABLISHED or CLOSE_WAIT to CLOSED is a reset.
    if (counted(sk.state) && next == TcpState::close) stats_.tcp.inc(TcpMib::EstabResets);
    if (!counted(sk.state) && counted(next)) stats_.tcp.inc(TcpMib::CurrEstab);
    sk.state = next;
    sk.wake();  // sk_state_change
}

// The connection is synchronized in both directions (tcp_finish_connect / SYN_RECV -> ESTABLISHED).
void Tcp::established(TcpSock& sk) {
    set_state(sk, TcpState::established);
    sk.quick_acks = 16;  // TCP_MAX_QUICKACKS: ACK every segment while the peer's cwnd grows
    if (sk.keepalive) sk.keepalive_timer.arm(stack_.clock().now_ns() + config().tcp_keepalive_time);
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
    sk.peer_mss = opts.mss.value_or(536);
    sk.wscale_ok = opts.wscale.has_value() && config().tcp_window_scaling;
    sk.snd_wscale = sk.wscale_ok ? *opts.wscale : 0;
    if (!sk.wscale_ok) sk.rcv_wscale = 0;
    sk.ts_ok = opts.timestamp.has_value() && config().tcp_timestamps;
    if (sk.ts_ok) sk.ts_recent = opts.timestamp->first;
    sk.mss = std::min<std::uint16_t>(sk.peer_mss, route_mss(sk.raddr));
    if (sk.ts_ok) sk.mss = static_cast<std::uint16_t>(sk.mss - 12);  // TCPOLEN_TSTAMP_ALIGNED
    sk.cwnd = 10u * sk.mss;
    sk.snd_wnd = th.window();
    sk.snd_wl1 = th.seq();
    if (ack) {
        sk.snd_una = th.ack();
        sk.snd_wl2 = th.ack();
        if (sk.rtt_start && sk.retransmits == 0) rtt_sample(sk, stack_.clock().now_ns() - sk.rtt_start);
        sk.rtt_start = 0;
        sk.retransmits = 0;
        sk.backoff = 0;
        sk.rexmit_timer.cancel();
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
        case TcpState::close_wait: sk.err = std::make_error_code(std::errc::broken_pipe); break;
        case TcpState::time_wait: break;  // RFC 1337: Linux lets a RST kill TIME_WAIT
        default: sk.err = std::make_error_code(std::errc::connection_reset); break;
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
    if (sk.state == TcpState::syn_recv && (flags & wire::kTcpSyn) && !(flags & wire::kTcpAck) && seq == sk.irs) {
        send_synack(sk);
        return;
    }

    sk.last_rcv = stack_.clock().now_ns();
    sk.keepalive_probes_sent = 0;

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
                sk.keepalive_timer.arm(stack_.clock().now_ns() + config().tcp_timewait_len);
            }
            send_ack(sk);
        }
        return;
    }

    // Second: RST (RFC 5961 3.2): exact match resets, else a challenge ACK.
    if (flags & wire::kTcpRst) {
        if (seq == sk.rcv_nxt) return reset_received(sk);
        return send_challenge_ack(sk);
    }

    // Fourth: SYN in a synchronized state (RFC 5961 4.2): challenge ACK, drop.
    if (flags & wire::kTcpSyn) {
        stats_.ext.inc(TcpExtMib::TCPSYNChallenge);
        return send_challenge_ack(sk);
    }

    // Fifth: the ACK field.
    if (!(flags & wire::kTcpAck)) return;
    if (sk.state == TcpState::syn_recv) {
        if (seq_after(th.ack(), sk.snd_una) && seq_leq(th.ack(), sk.snd_nxt)) {
            sk.snd_una = th.ack();
            sk.snd_wnd = std::uint32_t{th.window()} << sk.snd_wscale;
            sk.snd_wl1 = seq;
            sk.snd_wl2 = th.ack();
            sk.max_window = std::max(sk.max_window, sk.snd_wnd);
            if (sk.rtt_start && sk.retransmits == 0) rtt_sample(sk, stack_.clock().now_ns() - sk.rtt_start);
            sk.rtt_start = 0;
            sk.retransmits = 0;
            sk.rexmit_timer.cancel();
            established(sk);
            if (!sk.parent.expired()) child_established(sk);
        } else {
            send_reset(*pkt, th);
            return;
        }
    } else if (!ack_process(sk, th, opts)) {
        return;
    }
    if (sk.state == TcpState::close) return;

    // Seventh: segment text, in states that still receive.
    if (!th.payload().empty()) {
        if (sk.state == TcpState::established || sk.state == TcpState::fin_wait1 ||
            sk.state == TcpState::fin_wait2) {
            if (sk.shut_rd && sk.orphan) {
                // Data for a closed socket: nobody will read it (tcp_reset via TCPAbortOnData).
                stats_.ext.inc(TcpExtMib::TCPAbortOnData);
                return abort(sk, std::errc::connection_reset);
            }
            data_queue(sk, th);
        }
    }
    if (sk.ts_ok && seq_leq(seq, sk.rcv_wup) && opts.timestamp) sk.ts_recent = opts.timestamp->first;

    // Eighth: FIN, once everything before it has arrived.
    if ((flags & wire::kTcpFin) && !sk.fin_rcvd &&
        seq + static_cast<std::uint32_t>(th.payload().size()) == sk.rcv_nxt)
        fin_received(sk);
}

// tcp_ack: returns false when the segment must go no further.
bool Tcp::ack_process(TcpSock& sk, const TcpView& th, const TcpOptions& opts) {
    const std::uint32_t ack = th.ack();
    // RFC 5961 5.2: an ACK beyond what we sent, or far below what was acknowledged, is
    // answered by an ACK and dropped.
    if (seq_after(ack, sk.snd_nxt)) {
        send_challenge_ack(sk);
        return false;
    }
    if (seq_before(ack, sk.snd_una - std::max<std::uint32_t>(sk.max_window, 1))) {
        send_challenge_ack(sk);
        return false;
    }
    const std::uint32_t wnd = std::uint32_t{th.window()} << sk.snd_wscale;
    const Nanos now = stack_.clock().now_ns();

    if (seq_after(ack, sk.snd_una)) {
        const std::uint32_t acked = ack - sk.snd_una;
        // Data acknowledged: drop it from the send queue (the FIN occupies no byte of it).
        const std::uint32_t data_acked = std::min<std::uint32_t>(acked, static_cast<std::uint32_t>(sk.sndq.size()));
        sk.sndq.pop(data_acked);
        sk.snd_una = ack;
        // RTT: timestamps echo our clock (RFC 7323 4.3); otherwise one timed segment (Karn).
        if (sk.ts_ok && opts.timestamp && opts.timestamp->second)
            rtt_sample(sk, now / kNsPerMs * kNsPerMs - Nanos{opts.timestamp->second} * kNsPerMs);
        else if (sk.rtt_start && seq_after(ack, sk.rtt_seq) && sk.retransmits == 0)
            rtt_sample(sk, now - sk.rtt_start);
        if (sk.rtt_start && seq_after(ack, sk.rtt_seq)) sk.rtt_start = 0;
        sk.retransmits = 0;
        sk.backoff = 0;
        // Congestion control (RFC 5681 3.1, RFC 6582 3.2).
        if (sk.in_recovery) {
            if (seq_geq(ack, sk.recover)) {  // full acknowledgment: leave recovery
                sk.in_recovery = false;
                sk.cwnd = std::min(sk.ssthresh, std::max(sk.flight(), std::uint32_t{sk.mss}) + sk.mss);
            } else {  // partial: retransmit the next hole, deflate by what was acked
                retransmit_head(sk);
                sk.cwnd = sk.cwnd > acked ? sk.cwnd - acked + sk.mss : sk.mss;
            }
        } else if (sk.cwnd < sk.ssthresh) {
            sk.cwnd += std::min<std::uint32_t>(acked, sk.mss);  // slow start
        } else {
            sk.bytes_acked += acked;  // congestion avoidance: one MSS per cwnd acknowledged
            if (sk.bytes_acked >= sk.cwnd) {
                sk.bytes_acked -= sk.cwnd;
                sk.cwnd += sk.mss;
            }
        }
        sk.dupacks = 0;
        if (sk.snd_una == sk.snd_nxt)
            sk.rexmit_timer.cancel();
        else
            arm_rexmit(sk);  // RFC 6298 5.3: restart for the rest
        sk.wake();  // sk_write_space
    } else if (ack == sk.snd_una && th.payload().empty() && wnd == sk.snd_wnd && sk.snd_una != sk.snd_nxt &&
               !(th.flags() & (wire::kTcpSyn | wire::kTcpFin))) {
        // A duplicate ACK (RFC 5681 2): three of them are a loss signal.
        if (++sk.dupacks == 3 && !sk.in_recovery && seq_after(sk.snd_nxt, sk.recover)) {
            stats_.ext.inc(TcpExtMib::TCPFastRetrans);
            sk.ssthresh = std::max(sk.flight() / 2, 2u * sk.mss);
            sk.recover = sk.snd_nxt;
            sk.in_recovery = true;
            retransmit_head(sk);
            sk.cwnd = sk.ssthresh + 3u * sk.mss;
        } else if (sk.in_recovery) {
            sk.cwnd += sk.mss;  // each further duplicate: a segment has left the network
        }
    }
    // Window update (RFC 9293 3.10.7.4): only from a newer segment, or the same with a newer ACK.
    if (seq_before(sk.snd_wl1, th.seq()) || (sk.snd_wl1 == th.seq() && seq_leq(sk.snd_wl2, ack))) {
        const bool opened = sk.snd_wnd == 0 && wnd > 0;
        sk.snd_wnd = wnd;
        sk.snd_wl1 = th.seq();
        sk.snd_wl2 = ack;
        sk.max_window = std::max(sk.max_window, wnd);
        if (opened) {
            sk.retransmits = 0;
            sk.backoff = 0;
        }
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
        default: break;
    }
    push_pending(sk);
    return true;
}

// tcp_data_queue: in-order data to the receive queue, out-of-order kept for later.
void Tcp::data_queue(TcpSock& sk, const TcpView& th) {
    auto payload = th.payload();
    std::uint32_t seq = th.seq();
    // Trim what we already have at the front.
    if (seq_before(seq, sk.rcv_nxt)) {
        const std::uint32_t dup = sk.rcv_nxt - seq;
        if (dup >= payload.size()) return schedule_ack(sk, true);
        payload = payload.subspan(dup);
        seq = sk.rcv_nxt;
    }
    // And what does not fit in the buffer (we never advertised it).
    const std::size_t room = sk.rcvq.free();
    const std::uint32_t offset = seq - sk.rcv_nxt;
    if (offset >= room) {
        stats_.ext.inc(TcpExtMib::TCPZeroWindowDrop);
        return schedule_ack(sk, true);
    }
    payload = payload.first(std::min<std::size_t>(payload.size(), room - offset));
    if (seq != sk.rcv_nxt) {
        // A hole before it: keep it (RFC 9293 3.10.7.4 seventh, "may be held") and send a
        // duplicate ACK at once so the sender's fast retransmit can start.
        stats_.ext.inc(TcpExtMib::TCPOFOQueue);
        auto& held = sk.ooo[seq];
        if (held.size() < payload.size()) held.assign(payload.begin(), payload.end());
        return schedule_ack(sk, true);
    }
    sk.rcvq.push(payload);
    sk.rcv_nxt += static_cast<std::uint32_t>(payload.size());
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
        }
        sk.ooo.erase(it);
    }
    sk.wake();  // sk_data_ready
    schedule_ack(sk, filled_hole);
}

void Tcp::fin_received(TcpSock& sk) {
    sk.fin_rcvd = true;
    sk.rcv_nxt += 1;
    sk.wake();
    switch (sk.state) {
        case TcpState::syn_recv:
        case TcpState::established: set_state(sk, TcpState::close_wait); break;
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
        default: break;
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
