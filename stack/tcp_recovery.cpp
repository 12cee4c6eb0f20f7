// Loss recovery as Linux's tcp_ack machinery does it (net/ipv4/tcp_input.c, tcp_recovery.c,
// tcp_output.c, tcp_timer.c): the SACK scoreboard (RFC 2018, RFC 2883), RACK-TLP loss
// detection (RFC 8985), proportional rate reduction (RFC 6937), F-RTO (RFC 5682) and the undo of
// spurious reductions, behind the congestion-control hooks of tcp_cong.hpp. Counts are in
// segments, as struct tcp_sock keeps them.
#include <algorithm>
#include <utility>

#include "stack/stack.hpp"
#include "stack/tcp.hpp"
#include "stack/tcp_ack_flags.hpp"
#include "stack/tcp_seq.hpp"

namespace vlo {

namespace {
constexpr Nanos kTimeoutMin = 2 * kNsPerMs;  // TCP_TIMEOUT_MIN: 2 jiffies
constexpr std::uint32_t kInfiniteSsthresh = 0x7fffffff;

// tcp_skb_sent_after: t1 later than t2, or the same time and a higher sequence.
bool sent_after(Nanos t1, Nanos t2, std::uint32_t seq1, std::uint32_t seq2) {
    return t1 > t2 || (t1 == t2 && seq_after(seq1, seq2));
}

bool is_rack(const TcpConfig& c) { return c.tcp_recovery & 1; }
bool any_retrans_done(const TcpSock& sk) {
    return sk.retrans_out || (!sk.rtx.empty() && (sk.rtx.front().sacked & kTcpcbEverRetrans));
}
}  // namespace

void Tcp::set_ca_state(TcpSock& sk, TcpCaState state) {
    if (sk.ca_ops->set_state) sk.ca_ops->set_state(sk, state);
    sk.ca_state = state;
}

void Tcp::ca_event(TcpSock& sk, TcpCaEvent event) {
    if (sk.ca_ops->cwnd_event) sk.ca_ops->cwnd_event(sk, event);
}

// ---- the scoreboard ----

// tcp_sacktag_one: a segment wholly inside a SACK block.
void Tcp::sacktag_one(TcpSock& sk, TxSeg& seg, bool dup_sack, SackState& st) {
    std::uint8_t sacked = seg.sacked;
    if (dup_sack && (sacked & (kTcpcbSackedRetrans | kTcpcbEverRetrans))) {
        // The receiver had it twice: one retransmission was not needed.
        if (sk.undo_marker && sk.undo_retrans > 0 && seq_after(seg.end_seq, sk.undo_marker))
            --sk.undo_retrans;
        if ((sacked & kTcpcbSackedAcked) && seq_before(seg.seq, st.reord)) st.reord = seg.seq;
    }
    if (!seq_after(seg.end_seq, sk.snd_una)) return;
    if (!(sacked & kTcpcbSackedAcked)) {
        rack_advance(sk, sacked, seg.end_seq, seg.xmit_time);
        if (sacked & kTcpcbSackedRetrans) {
            // Only a lost segment's retransmission is known delivered; otherwise the original was.
            if (sacked & kTcpcbLost) {
                sacked &= static_cast<std::uint8_t>(~(kTcpcbLost | kTcpcbSackedRetrans));
                --sk.lost_out;
                --sk.retrans_out;
            }
        } else {
            if (!(sacked & kTcpcbEverRetrans)) {
                // Newly SACKed below the highest SACK: delivered out of order.
                if (sk.sacked_out && seq_before(seg.seq, sk.highest_sack) &&
                    seq_before(seg.seq, st.reord))
                    st.reord = seg.seq;
                if (!seq_after(seg.end_seq, sk.high_seq)) st.flag |= kFlagOrigSackAcked;
                if (!st.first_sackt) st.first_sackt = seg.xmit_time;
                st.last_sackt = seg.xmit_time;
            }
            if (sacked & kTcpcbLost) {
                sacked &= static_cast<std::uint8_t>(~kTcpcbLost);
                --sk.lost_out;
            }
        }
        sacked |= kTcpcbSackedAcked;
        st.flag |= kFlagDataSacked;
        ++sk.sacked_out;
        ++sk.delivered;
        ++st.sack_delivered;
        if (!sk.sacked_out || seq_after(seg.end_seq, sk.highest_sack) || sk.sacked_out == 1)
            sk.highest_sack = seg.end_seq;
    }
    // A D-SACK for a retransmission still counted in flight: it left the network.
    if (dup_sack && (sacked & kTcpcbSackedRetrans)) {
        sacked &= static_cast<std::uint8_t>(~kTcpcbSackedRetrans);
        --sk.retrans_out;
    }
    seg.sacked = sacked;
}

// tcp_sacktag_write_queue with tcp_check_dsack and tcp_is_sackblock_valid.
int Tcp::sacktag(TcpSock& sk, const wire::TcpOptions& opts, std::uint32_t ack,
                 std::uint32_t prior_snd_una, SackState& st) {
    const int n = opts.num_sack;
    const wire::SackBlock& b0 = opts.sack[0];
    bool dup_sack = false;
    if (seq_before(b0.start, ack)) {
        dup_sack = true;
        stats_.ext.inc(TcpExtMib::TCPDSACKRecv);
    } else if (n > 1 && !seq_after(b0.end, opts.sack[1].end) &&
               !seq_before(b0.start, opts.sack[1].start)) {
        dup_sack = true;
        stats_.ext.inc(TcpExtMib::TCPDSACKOfoRecv);
    }
    if (dup_sack) {
        st.flag |= kFlagDsackingAck;
        // A D-SACK of data already acknowledged: count it against the retransmissions directly.
        if (sk.undo_marker && sk.undo_retrans > 0 && !seq_after(b0.end, prior_snd_una) &&
            seq_after(b0.end, sk.undo_marker))
            --sk.undo_retrans;
        // Did it report our loss probe? Then the probe and the original both arrived.
        if (sk.tlp_high_seq && sk.tlp_retrans && !seq_before(b0.start, sk.tlp_high_seq - sk.mss) &&
            !seq_after(b0.end, sk.tlp_high_seq))
            st.flag |= kFlagDsackTlp;
    }
    if (!sk.packets_out()) return st.flag;
    for (int i = 0; i < n; ++i) {
        const wire::SackBlock& b = opts.sack[i];
        const bool dsack = dup_sack && i == 0;
        // tcp_is_sackblock_valid: inside what we sent, and not wholly acknowledged already
        // (unless it is the D-SACK, which reports exactly that).
        if (seq_after(b.end, sk.snd_nxt) || !seq_before(b.start, b.end)) continue;
        if (!dsack && !seq_after(b.end, sk.snd_una)) continue;
        for (std::size_t j = 0; j < sk.rtx.size(); ++j) {
            TxSeg& seg = sk.rtx[j];
            if (!seq_after(seg.end_seq, b.start)) continue;
            if (seq_after(seg.end_seq, b.end) || seq_after(seg.seq, b.end)) break;
            if (seq_before(seg.seq, b.start)) continue;  // only partly covered: not delivered whole
            sacktag_one(sk, seg, dsack, st);
        }
    }
    // Newly SACKed data below the highest SACK, never retransmitted: the path reordered it.
    if (sk.ca_state != TcpCaState::loss || sk.undo_marker)
        check_sack_reordering(sk, st.reord, false);
    return st.flag;
}

// tcp_check_sack_reordering: data delivered out of order by `fack - low_seq` bytes widens the
// dupthresh and tells RACK that this path reorders.
void Tcp::check_sack_reordering(TcpSock& sk, std::uint32_t low_seq, bool ts) {
    const std::uint32_t fack = sk.sacked_out ? sk.highest_sack : sk.snd_una;
    if (!seq_before(low_seq, fack)) return;
    const std::uint32_t metric = fack - low_seq;
    if (sk.mss && metric > sk.reordering * sk.mss)
        sk.reordering =
            std::min<std::uint32_t>((metric + sk.mss - 1) / sk.mss, config().tcp_max_reordering);
    ++sk.reord_seen;
    stats_.ext.inc(ts ? TcpExtMib::TCPTSReorder : TcpExtMib::TCPSACKReorder);
}

// tcp_clean_rtx_queue: drops what the cumulative ACK covers, taking its RTT and delivery.
int Tcp::clean_rtx_queue(TcpSock& sk, std::uint32_t ack, std::uint32_t prior_fack, SackState& st) {
    const Nanos now = stack_.clock().now_ns();
    Nanos first_ackt = 0, last_ackt = 0;
    std::uint32_t reord = prior_fack;
    int flag = 0;
    std::uint32_t pkts_acked = 0;
    while (!sk.rtx.empty()) {
        TxSeg& seg = sk.rtx.front();
        if (seq_after(seg.end_seq, ack)) {
            // Partly acknowledged (tcp_trim_head): what is left starts at the ACK.
            if (seq_after(ack, seg.seq)) {
                seg.seq = ack;
                flag |= kFlagDataAcked;
            }
            break;
        }
        const std::uint8_t sacked = seg.sacked;
        if (sacked & (kTcpcbSackedRetrans | kTcpcbEverRetrans)) {
            if (sacked & kTcpcbSackedRetrans) --sk.retrans_out;
            flag |= kFlagRetransDataAcked;
        } else if (!(sacked & kTcpcbSackedAcked)) {
            last_ackt = seg.xmit_time;
            if (!first_ackt) first_ackt = last_ackt;
            if (seq_before(seg.seq, reord)) reord = seg.seq;
            if (!seq_after(seg.end_seq, sk.high_seq)) flag |= kFlagOrigSackAcked;
        }
        if (sacked & kTcpcbSackedAcked) {
            --sk.sacked_out;
        } else if (sk.sack_ok) {
            ++sk.delivered;
            rack_advance(sk, sacked, seg.end_seq, seg.xmit_time);
        }
        if (sacked & kTcpcbLost) --sk.lost_out;
        ++pkts_acked;
        flag |= seg.fin ? kFlagSynAcked : kFlagDataAcked;  // FIN: as the kernel's "control" ACK
        sk.rtx.pop_front();
    }
    if (!sk.sack_ok && pkts_acked) remove_reno_sacks(sk, static_cast<int>(pkts_acked));
    if (!pkts_acked && !(flag & kFlagDataAcked)) return flag;

    // RTT: from data never retransmitted (Karn), else from SACKed data, else the timestamp echo.
    const Nanos seq_rtt = first_ackt ? now - first_ackt : -1;
    Nanos ca_rtt = last_ackt ? now - last_ackt : -1;
    Nanos sack_rtt = -1;
    if (st.first_sackt) {
        sack_rtt = now - st.first_sackt;
        if (ca_rtt < 0) ca_rtt = now - st.last_sackt;
    }
    if (pkts_acked) {
        flag |= kFlagSetXmitTimer;  // the head moved: rearm the RTO or the probe
        ack_update_rtt(sk, flag, seq_rtt, sack_rtt, ca_rtt);
        if (!(flag & kFlagRetransDataAcked) && seq_before(reord, prior_fack) && sk.sack_ok)
            check_sack_reordering(sk, reord, false);
        TcpAckSample sample{pkts_acked, ca_rtt, sk.packets_in_flight()};
        if (sk.ca_ops->pkts_acked) sk.ca_ops->pkts_acked(sk, sample);
    }
    return flag;
}

// tcp_ack_update_rtt
void Tcp::ack_update_rtt(TcpSock& sk, int flag, Nanos seq_rtt, Nanos sack_rtt, Nanos ca_rtt) {
    if (seq_rtt < 0) seq_rtt = sack_rtt;
    // RFC 7323 4.3: with timestamps every ACK that acknowledges new data gives a sample, even
    // for retransmitted data (the echo says which transmission it answers).
    if (seq_rtt < 0 && sk.ts_ok && sk.rcv_tsecr && (flag & kFlagAcked)) {
        const Nanos now = stack_.clock().now_ns();
        seq_rtt = ca_rtt =
            Nanos{static_cast<std::int32_t>(tcp_time_stamp_ms(now) - sk.rcv_tsecr)} * kNsPerMs;
    }
    if (seq_rtt < 0) return;
    if (ca_rtt >= 0 && (!sk.min_rtt || ca_rtt < sk.min_rtt))
        sk.min_rtt = std::max<Nanos>(ca_rtt, 1000);
    rtt_estimator(sk, seq_rtt);
    sk.backoff = 0;
}

// ---- RACK (tcp_recovery.c) ----

void Tcp::rack_advance(TcpSock& sk, std::uint8_t sacked, std::uint32_t end_seq, Nanos xmit_time) {
    const Nanos rtt = stack_.clock().now_ns() - xmit_time;
    // A retransmitted segment acknowledged faster than the path can: the original's ACK.
    if (rtt < sk.min_rtt && (sacked & (kTcpcbSackedRetrans | kTcpcbEverRetrans))) return;
    sk.rack.advanced = true;
    sk.rack.rtt = rtt;
    if (sent_after(xmit_time, sk.rack.mstamp, end_seq, sk.rack.end_seq)) {
        sk.rack.mstamp = xmit_time;
        sk.rack.end_seq = end_seq;
    }
}

// tcp_rack_reo_wnd: no reordering window before reordering was seen, once recovery has begun
// or the dupthresh is met; then min_rtt/4 per step, at most SRTT.
Nanos Tcp::rack_reo_wnd(const TcpSock& sk) const {
    if (!sk.reord_seen) {
        if (sk.ca_state >= TcpCaState::recovery) return 0;
        if (sk.sacked_out >= sk.reordering) return 0;
    }
    return std::min<Nanos>((sk.min_rtt / 4) * sk.rack.reo_wnd_steps, sk.srtt);
}

// tcp_rack_detect_loss (RFC 8985 6.2): a segment sent before the most recently delivered one
// is lost once it is older than the RTT plus the reordering window.
Nanos Tcp::rack_detect_loss(TcpSock& sk) {
    const Nanos now = stack_.clock().now_ns();
    const Nanos reo_wnd = rack_reo_wnd(sk);
    Nanos reo_timeout = 0;
    for (std::size_t i = 0; i < sk.rtx.size(); ++i) {
        TxSeg& seg = sk.rtx[i];
        if (seg.sacked & kTcpcbSackedAcked) continue;
        if ((seg.sacked & kTcpcbLost) && !(seg.sacked & kTcpcbSackedRetrans))
            continue;  // awaiting retransmission
        if (!sent_after(sk.rack.mstamp, seg.xmit_time, sk.rack.end_seq, seg.end_seq)) continue;
        const Nanos remaining = seg.xmit_time + sk.rack.rtt + reo_wnd - now;
        if (remaining <= 0)
            mark_skb_lost(sk, seg);
        else
            reo_timeout = std::max(reo_timeout, remaining);
    }
    return reo_timeout;
}

bool Tcp::rack_mark_lost(TcpSock& sk) {
    if (!sk.rack.advanced) return false;
    sk.rack.advanced = false;
    const Nanos timeout = rack_detect_loss(sk);
    if (timeout) reset_xmit_timer(sk, TcpSock::Pending::reo_timeout, timeout + kTimeoutMin);
    return timeout != 0;
}

// tcp_rack_reo_timeout: the reordering window ran out for segments that were not yet due.
void Tcp::rack_reo_timeout(TcpSock& sk) {
    const std::uint32_t prior_inflight = sk.packets_in_flight();
    rack_detect_loss(sk);
    if (prior_inflight != sk.packets_in_flight()) {
        if (sk.ca_state != TcpCaState::recovery) {
            enter_recovery(sk);
            cwnd_reduction(sk, 1, 0, 0);
        }
        xmit_retransmit_queue(sk);
    }
    if (sk.pending != TcpSock::Pending::retrans) rearm_rto(sk);
}

// tcp_mark_skb_lost; a retransmission lost again goes back to waiting for one.
void Tcp::mark_skb_lost(TcpSock& sk, TxSeg& seg) {
    if (seg.sacked & kTcpcbSackedAcked) return;
    if (seg.sacked & kTcpcbLost) {
        if (seg.sacked & kTcpcbSackedRetrans) {
            seg.sacked &= static_cast<std::uint8_t>(~kTcpcbSackedRetrans);
            --sk.retrans_out;
            stats_.ext.inc(TcpExtMib::TCPLostRetransmit);
        }
    } else {
        ++sk.lost_out;
        seg.sacked |= kTcpcbLost;
    }
}

// tcp_newreno_mark_lost: without RACK, the head is lost after dupthresh duplicate ACKs, or on a
// partial ACK in recovery (RFC 6582).
void Tcp::newreno_mark_lost(TcpSock& sk, bool snd_una_advanced) {
    if ((sk.ca_state < TcpCaState::recovery && sk.sacked_out >= sk.reordering) ||
        (sk.ca_state == TcpCaState::recovery && snd_una_advanced)) {
        if (sk.rtx.empty() || (sk.rtx.front().sacked & kTcpcbLost)) return;
        mark_skb_lost(sk, sk.rtx.front());
    }
}

void Tcp::identify_packet_loss(TcpSock& sk, int& flag) {
    if (sk.rtx.empty()) return;
    if (!sk.sack_ok || !is_rack(config())) {
        newreno_mark_lost(sk, flag & kFlagSndUnaAdvanced);
        return;
    }
    const std::uint32_t prior_retrans = sk.retrans_out;
    if (rack_mark_lost(sk)) flag &= ~kFlagSetXmitTimer;
    if (prior_retrans > sk.retrans_out) flag |= kFlagLostRetrans;
}

// ---- duplicate ACKs without SACK (tcp_add_reno_sack) ----

void Tcp::add_reno_sack(TcpSock& sk, int num_dupack) {
    if (num_dupack <= 0) return;
    const std::uint32_t prior = sk.sacked_out;
    sk.sacked_out = std::min<std::uint32_t>(sk.sacked_out + static_cast<std::uint32_t>(num_dupack),
                                            sk.packets_out() > 0 ? sk.packets_out() - 1 : 0);
    if (sk.sacked_out > prior) sk.delivered += sk.sacked_out - prior;
    // More duplicates than segments beyond the head: the path reordered
    // (tcp_check_reno_reordering).
    if (sk.sacked_out + 1 > sk.packets_out() && sk.packets_out() > 0) {
        sk.reordering = std::min<std::uint32_t>(sk.packets_out() + 1, config().tcp_max_reordering);
        ++sk.reord_seen;
        stats_.ext.inc(TcpExtMib::TCPRenoReorder);
    }
}

void Tcp::remove_reno_sacks(TcpSock& sk, int acked) {
    // One ACK filled the hole; the rest of what it covers had drawn the duplicate ACKs.
    sk.delivered +=
        static_cast<std::uint32_t>(std::max(acked - static_cast<int>(sk.sacked_out), 1));
    if (static_cast<std::uint32_t>(acked - 1) >= sk.sacked_out)
        sk.sacked_out = 0;
    else
        sk.sacked_out -= static_cast<std::uint32_t>(acked - 1);
}

// ---- cwnd reduction and recovery states ----

std::uint32_t Tcp::current_ssthresh(const TcpSock& sk) const {
    if (sk.in_cwnd_reduction()) return sk.snd_ssthresh;
    return std::max(sk.snd_ssthresh, (sk.snd_cwnd >> 1) + (sk.snd_cwnd >> 2));
}

void Tcp::init_undo(TcpSock& sk) {
    sk.undo_marker = sk.snd_una;
    sk.undo_retrans = sk.retrans_out ? static_cast<int>(sk.retrans_out) : -1;
}

// tcp_init_cwnd_reduction: the episode starts; PRR counts from here.
void Tcp::init_cwnd_reduction(TcpSock& sk) {
    sk.high_seq = sk.snd_nxt;
    sk.tlp_high_seq = 0;
    sk.snd_cwnd_cnt = 0;
    sk.prior_cwnd = sk.snd_cwnd;
    sk.prr_delivered = 0;
    sk.prr_out = 0;
    sk.snd_ssthresh = sk.ca_ops->ssthresh(sk);
    if (sk.ecn_flags & TcpSock::kEcnOk) sk.ecn_flags |= TcpSock::kEcnQueueCwr;  // tcp_ecn_queue_cwr
}

void Tcp::enter_cwr(TcpSock& sk) {
    sk.prior_ssthresh = 0;
    if (sk.ca_state < TcpCaState::cwr) {
        sk.undo_marker = 0;  // a congestion signal, not a loss: nothing to undo
        init_cwnd_reduction(sk);
        set_ca_state(sk, TcpCaState::cwr);
    }
}

// tcp_cwnd_reduction (RFC 6937): while the pipe is above ssthresh, send in proportion to what
// is delivered (prr_delivered * ssthresh / prior_cwnd); below it, slow-start back up to it
// (PRR-SSRB), at most one segment more than was delivered.
void Tcp::cwnd_reduction(TcpSock& sk, int newly_acked_sacked, int newly_lost, int flag) {
    if (newly_acked_sacked <= 0 || !sk.prior_cwnd) return;
    sk.prr_delivered += static_cast<std::uint32_t>(newly_acked_sacked);
    const int in_flight = static_cast<int>(sk.packets_in_flight());
    const int delta = static_cast<int>(sk.snd_ssthresh) - in_flight;
    int sndcnt;
    if (delta < 0) {
        const std::uint64_t dividend =
            std::uint64_t{sk.snd_ssthresh} * sk.prr_delivered + sk.prior_cwnd - 1;
        sndcnt = static_cast<int>(dividend / sk.prior_cwnd) - static_cast<int>(sk.prr_out);
    } else {
        sndcnt = std::max(static_cast<int>(sk.prr_delivered) - static_cast<int>(sk.prr_out),
                          newly_acked_sacked);
        if ((flag & kFlagSndUnaAdvanced) && !newly_lost) ++sndcnt;
        sndcnt = std::min(delta, sndcnt);
    }
    // The fast retransmission goes out whatever PRR says.
    sndcnt = std::max(sndcnt, sk.prr_out ? 0 : 1);
    sk.snd_cwnd = static_cast<std::uint32_t>(std::max(in_flight + sndcnt, 1));
}

// tcp_end_cwnd_reduction: the window ends at ssthresh, unless the reduction was undone.
void Tcp::end_cwnd_reduction(TcpSock& sk) {
    if (sk.snd_ssthresh < kInfiniteSsthresh && (sk.ca_state == TcpCaState::cwr || sk.undo_marker))
        sk.snd_cwnd = sk.snd_ssthresh;
    ca_event(sk, TcpCaEvent::complete_cwr);
}

void Tcp::enter_recovery(TcpSock& sk) {
    stats_.ext.inc(sk.sack_ok ? TcpExtMib::TCPSackRecovery : TcpExtMib::TCPRenoRecovery);
    sk.prior_ssthresh = 0;
    init_undo(sk);
    if (!sk.in_cwnd_reduction()) {
        sk.prior_ssthresh = current_ssthresh(sk);
        init_cwnd_reduction(sk);
    }
    set_ca_state(sk, TcpCaState::recovery);
}

// tcp_enter_loss, on a retransmission timeout: everything not SACKed is presumed lost
// (tcp_timeout_mark_lost, with RACK sparing what is not yet due), cwnd restarts at one.
void Tcp::enter_loss(TcpSock& sk) {
    const bool new_recovery = sk.ca_state < TcpCaState::recovery;
    // tcp_timeout_mark_lost
    if (!sk.rtx.empty() && (sk.rtx.front().sacked & kTcpcbSackedAcked)) {
        // The receiver dropped data it had SACKed (reneging): forget every SACK.
        stats_.ext.inc(TcpExtMib::TCPSACKReneging);
        for (std::size_t i = 0; i < sk.rtx.size(); ++i)
            sk.rtx[i].sacked &= static_cast<std::uint8_t>(~kTcpcbSackedAcked);
        sk.sacked_out = 0;
    } else if (!sk.sack_ok) {
        sk.sacked_out = 0;
    }
    const Nanos now = stack_.clock().now_ns();
    for (std::size_t i = 0; i < sk.rtx.size(); ++i) {
        TxSeg& seg = sk.rtx[i];
        if (seg.sacked & kTcpcbSackedAcked) continue;
        if (i > 0 && sk.sack_ok && is_rack(config()) && seg.xmit_time + sk.rack.rtt - now > 0)
            continue;
        mark_skb_lost(sk, seg);
    }
    if (sk.ca_state <= TcpCaState::disorder || !seq_before(sk.snd_una, sk.high_seq) ||
        (sk.ca_state == TcpCaState::loss && !sk.retransmits)) {
        sk.prior_ssthresh = current_ssthresh(sk);
        sk.prior_cwnd = sk.snd_cwnd;
        sk.snd_ssthresh = sk.ca_ops->ssthresh(sk);
        ca_event(sk, TcpCaEvent::loss);
        init_undo(sk);
    }
    sk.snd_cwnd = sk.packets_in_flight() + 1;
    sk.snd_cwnd_cnt = 0;
    // A timeout after many duplicate ACKs: the reordering estimate was too high.
    if (sk.ca_state <= TcpCaState::disorder &&
        sk.sacked_out >= static_cast<std::uint32_t>(config().tcp_reordering))
        sk.reordering = std::min<std::uint32_t>(sk.reordering, config().tcp_reordering);
    set_ca_state(sk, TcpCaState::loss);
    sk.high_seq = sk.snd_nxt;
    sk.tlp_high_seq = 0;
    if (sk.ecn_flags & TcpSock::kEcnOk) sk.ecn_flags |= TcpSock::kEcnQueueCwr;
    // F-RTO step 1 (RFC 5682 3.1): judge this timeout by the ACKs that follow.
    sk.frto = config().tcp_frto && (new_recovery || sk.retransmits);
}

// tcp_packet_delayed: an ACK echoing a timestamp from before the first retransmission was
// caused by the original: the retransmission was unnecessary (RFC 3522 Eifel).
bool Tcp::packet_delayed(const TcpSock& sk) const {
    return sk.retrans_stamp && sk.ts_ok && sk.rcv_tsecr &&
           seq_before(sk.rcv_tsecr, sk.retrans_stamp);
}

bool Tcp::may_undo(const TcpSock& sk) const {
    return sk.undo_marker && (!sk.undo_retrans || packet_delayed(sk));
}

// tcp_undo_cwnd_reduction
void Tcp::undo_cwnd_reduction(TcpSock& sk, bool unmark_loss) {
    if (unmark_loss) {
        for (std::size_t i = 0; i < sk.rtx.size(); ++i)
            sk.rtx[i].sacked &= static_cast<std::uint8_t>(~kTcpcbLost);
        sk.lost_out = 0;
    }
    if (sk.prior_ssthresh) {
        sk.snd_cwnd = sk.ca_ops->undo_cwnd(sk);
        if (sk.prior_ssthresh > sk.snd_ssthresh) sk.snd_ssthresh = sk.prior_ssthresh;
    }
    sk.undo_marker = 0;
    sk.rack.advanced = true;  // look at the losses again with the restored state
}

bool Tcp::try_undo_recovery(TcpSock& sk) {
    if (may_undo(sk)) {
        // Everything retransmitted was in fact delivered: the loss was reordering or delay.
        stats_.ext.inc(sk.ca_state == TcpCaState::loss ? TcpExtMib::TCPLossUndo
                                                       : TcpExtMib::TCPFullUndo);
        undo_cwnd_reduction(sk, false);
    }
    if (sk.snd_una == sk.high_seq && !sk.sack_ok) {
        // NewReno: hold the state until something above high_seq is acknowledged (RFC 6582 3.2).
        if (!any_retrans_done(sk)) sk.retrans_stamp = 0;
        return true;
    }
    set_ca_state(sk, TcpCaState::open);
    return false;
}

bool Tcp::try_undo_dsack(TcpSock& sk) {
    if (sk.undo_marker && !sk.undo_retrans) {
        sk.rack.reo_wnd_steps = static_cast<std::uint8_t>(std::min(sk.rack.reo_wnd_steps + 1, 255));
        undo_cwnd_reduction(sk, false);
        stats_.ext.inc(TcpExtMib::TCPDSACKUndo);
        return true;
    }
    return false;
}

bool Tcp::try_undo_partial(TcpSock& sk, std::uint32_t prior_snd_una) {
    if (sk.undo_marker && packet_delayed(sk)) {
        check_sack_reordering(sk, prior_snd_una, true);
        if (sk.retrans_out) return true;  // wait for the other retransmissions' fate
        if (!any_retrans_done(sk)) sk.retrans_stamp = 0;
        undo_cwnd_reduction(sk, true);
        stats_.ext.inc(TcpExtMib::TCPPartialUndo);
        try_keep_open(sk);
        return true;
    }
    return false;
}

bool Tcp::try_undo_loss(TcpSock& sk, bool frto_undo) {
    if (frto_undo || may_undo(sk)) {
        undo_cwnd_reduction(sk, true);
        stats_.ext.inc(TcpExtMib::TCPLossUndo);
        if (frto_undo) stats_.ext.inc(TcpExtMib::TCPSpuriousRTOs);
        sk.retransmits = 0;
        if (frto_undo || sk.sack_ok) set_ca_state(sk, TcpCaState::open);
        return true;
    }
    return false;
}

void Tcp::try_keep_open(TcpSock& sk) {
    TcpCaState state = TcpCaState::open;
    if (sk.sacked_out + sk.lost_out || any_retrans_done(sk)) state = TcpCaState::disorder;
    if (sk.ca_state != state) {
        set_ca_state(sk, state);
        sk.high_seq = sk.snd_nxt;
    }
}

void Tcp::try_to_open(TcpSock& sk, int flag) {
    if (!any_retrans_done(sk)) sk.retrans_stamp = 0;
    if (flag & kFlagEce) enter_cwr(sk);
    if (sk.ca_state != TcpCaState::cwr) try_keep_open(sk);
}

// tcp_process_loss: ACKs after a timeout, with F-RTO's test of whether it was spurious.
void Tcp::process_loss(TcpSock& sk, int flag, int num_dupack, Rexmit& rexmit) {
    const bool recovered = !seq_before(sk.snd_una, sk.high_seq);
    if ((flag & kFlagSndUnaAdvanced) && try_undo_loss(sk, false)) return;
    if (sk.frto) {
        // Step 3.b: data never retransmitted was (s)acked: the timeout was spurious.
        if ((flag & kFlagOrigSackAcked) && try_undo_loss(sk, true)) return;
        if (seq_after(sk.snd_nxt, sk.high_seq)) {
            if ((flag & kFlagDataSacked) || num_dupack)
                sk.frto = false;  // step 3.a: the loss was real
        } else if ((flag & kFlagSndUnaAdvanced) && !recovered) {
            sk.high_seq = sk.snd_nxt;
            // Step 2.b: send new data instead of retransmitting, if there is any and room for it.
            if (seq_before(sk.snd_nxt, sk.unsent_end()) &&
                seq_after(sk.snd_una + sk.snd_wnd, sk.snd_nxt)) {
                rexmit = Rexmit::new_data;
                return;
            }
            sk.frto = false;
        }
    }
    if (recovered) {
        try_undo_recovery(sk);
        return;
    }
    if (!sk.sack_ok && (flag & kFlagSndUnaAdvanced)) sk.sacked_out = 0;
    rexmit = Rexmit::lost;
}

// tcp_fastretrans_alert: the state machine of recovery, run for every dubious ACK.
void Tcp::fastretrans_alert(TcpSock& sk, std::uint32_t prior_snd_una, int num_dupack, int& flag,
                            Rexmit& rexmit) {
    if (!sk.packets_out() && sk.sacked_out) sk.sacked_out = 0;
    // The episode ends when everything sent before it is acknowledged.
    if (sk.ca_state != TcpCaState::open && !seq_before(sk.snd_una, sk.high_seq)) {
        if (sk.ca_state == TcpCaState::cwr) {
            if (sk.snd_una != sk.high_seq) {
                end_cwnd_reduction(sk);
                set_ca_state(sk, TcpCaState::open);
            }
        } else if (sk.ca_state == TcpCaState::recovery) {
            if (!sk.sack_ok) sk.sacked_out = 0;
            if (try_undo_recovery(sk)) return;
            end_cwnd_reduction(sk);
        }
    }
    switch (sk.ca_state) {
        case TcpCaState::recovery:
            if (!(flag & kFlagSndUnaAdvanced)) {
                if (!sk.sack_ok && num_dupack) add_reno_sack(sk, num_dupack);
            } else if (try_undo_partial(sk, prior_snd_una)) {
                return;
            }
            if (try_undo_dsack(sk)) try_keep_open(sk);
            identify_packet_loss(sk, flag);
            break;
        case TcpCaState::loss:
            process_loss(sk, flag, num_dupack, rexmit);
            if (sk.ca_state != TcpCaState::loss) identify_packet_loss(sk, flag);
            if (!(sk.ca_state == TcpCaState::open || (flag & kFlagLostRetrans))) return;
            [[fallthrough]];
        default:
            if (!sk.sack_ok) {
                if (flag & kFlagSndUnaAdvanced) sk.sacked_out = 0;
                add_reno_sack(sk, num_dupack);
            }
            if (sk.ca_state <= TcpCaState::disorder) try_undo_dsack(sk);
            identify_packet_loss(sk, flag);
            // tcp_time_to_recover: a loss is proven (RACK or dupthresh marked one).
            if (!sk.lost_out) {
                try_to_open(sk, flag);
                return;
            }
            enter_recovery(sk);
            break;
    }
    rexmit = Rexmit::lost;
}

// tcp_cong_control: PRR while reducing, else the algorithm grows the window.
void Tcp::cong_control(TcpSock& sk, std::uint32_t ack, std::uint32_t acked_sacked, int newly_lost,
                       int flag) {
    if (sk.in_cwnd_reduction()) {
        cwnd_reduction(sk, static_cast<int>(acked_sacked), newly_lost, flag);
    } else {
        // tcp_may_raise_cwnd: only for in-order delivery, unless the path reorders a lot.
        const bool may_raise = sk.reordering > static_cast<std::uint32_t>(config().tcp_reordering)
                                   ? (flag & kFlagForwardProgress)
                                   : (flag & kFlagDataAcked);
        if (may_raise && acked_sacked) sk.ca_ops->cong_avoid(sk, ack, acked_sacked);
    }
    update_pacing_rate(sk);
}

// ---- retransmission ----

// __tcp_retransmit_skb: the segment again. A loss probe stops here; it is not counted as a
// retransmission in flight (retrans_out) nor as one to undo.
void Tcp::retransmit_once(TcpSock& sk, TxSeg& seg, bool gso_psh) {
    if (seq_before(seg.seq, sk.snd_una)) seg.seq = sk.snd_una;
    const std::uint32_t len = seg.len();
    std::uint8_t flags = wire::kTcpAck;
    if (seg.fin) flags |= wire::kTcpFin;
    if (seg.psh || gso_psh) flags |= wire::kTcpPsh;
    transmit(sk, seg.seq, flags, seg.seq - sk.snd_una, len, false);
    stats_.tcp.inc(TcpMib::RetransSegs);
    seg.sacked |= kTcpcbEverRetrans;  // its RTT samples are ambiguous from now on
    seg.xmit_time = stack_.clock().now_ns();
    ++sk.total_retrans;
    sk.bytes_retrans += len;
}

// tcp_retransmit_skb: a retransmission of a lost segment, in flight until (s)acked or lost again.
void Tcp::retransmit_seg(TcpSock& sk, TxSeg& seg, bool gso_psh) {
    retransmit_once(sk, seg, gso_psh);
    seg.sacked |= kTcpcbSackedRetrans;
    ++sk.retrans_out;
    if (!sk.retrans_stamp) sk.retrans_stamp = tcp_time_stamp_ms(seg.xmit_time);
    if (sk.undo_retrans < 0) sk.undo_retrans = 0;
    ++sk.undo_retrans;
}

// tcp_xmit_retransmit_queue: what is marked lost goes again, as the window allows.
void Tcp::xmit_retransmit_queue(TcpSock& sk) {
    if (!sk.packets_out()) return;
    bool rearm = false;
    for (std::size_t i = 0; i < sk.rtx.size(); ++i) {
        if (sk.retrans_out >= sk.lost_out) break;
        if (sk.packets_in_flight() >= sk.snd_cwnd) break;
        const auto due = [](const TxSeg& s) {
            return (s.sacked & kTcpcbLost) &&
                   !(s.sacked & (kTcpcbSackedAcked | kTcpcbSackedRetrans));
        };
        if (!due(sk.rtx[i])) continue;
        // tcp_retransmit_skb(sk, skb, segs): the segment's skb goes again as one GSO packet,
        // as far as the window and tcp_tso_segs allow; a cut leaves a new skb boundary.
        const std::uint32_t segs =
            std::min(sk.snd_cwnd - sk.packets_in_flight(), tso_segs(sk, current_mss(sk)));
        std::size_t n = 1;
        while (n < segs && i + n < sk.rtx.size() && !sk.rtx[i + n - 1].skb_end &&
               due(sk.rtx[i + n]))
            ++n;
        for (std::size_t k = 0; k < n; ++k) {
            retransmit_seg(sk, sk.rtx[i + k], n > 1 && k == n - 1);
            stats_.ext.inc(sk.ca_state == TcpCaState::loss ? TcpExtMib::TCPSlowStartRetrans
                                                           : TcpExtMib::TCPFastRetrans);
            if (sk.in_cwnd_reduction()) ++sk.prr_out;
        }
        sk.rtx[i + n - 1].skb_end = true;
        if (i == 0 && sk.pending != TcpSock::Pending::reo_timeout) rearm = true;
        i += n - 1;
    }
    if (rearm) reset_xmit_timer(sk, TcpSock::Pending::retrans, sk.rto);
}

void Tcp::xmit_recovery(TcpSock& sk, Rexmit rexmit) {
    if (rexmit == Rexmit::none || sk.state == TcpState::syn_sent) return;
    if (rexmit == Rexmit::new_data) {
        push_pending(sk);
        if (seq_after(sk.snd_nxt, sk.high_seq)) return;
        sk.frto = false;
    }
    xmit_retransmit_queue(sk);
}

// ---- the transmit timer: RTO, loss probe, reordering timeout ----

void Tcp::reset_xmit_timer(TcpSock& sk, TcpSock::Pending what, Nanos timeout) {
    sk.pending = what;
    sk.rexmit_timer.arm(stack_.clock().now_ns() + std::min(timeout, config().tcp_rto_max));
}

// tcp_rto_delta_us: what is left of the RTO measured from the head's transmission.
Nanos Tcp::rto_delta(const TcpSock& sk) const {
    if (sk.rtx.empty()) return sk.rto;
    return sk.rtx.front().xmit_time + sk.rto - stack_.clock().now_ns();
}

void Tcp::rearm_rto(TcpSock& sk) {
    if (!sk.packets_out()) {
        sk.rexmit_timer.cancel();
        sk.pending = TcpSock::Pending::none;
        return;
    }
    Nanos rto = sk.rto;
    if (sk.pending == TcpSock::Pending::reo_timeout || sk.pending == TcpSock::Pending::loss_probe)
        rto = std::max<Nanos>(rto_delta(sk), 1000);  // the RTO runs from the head's send time
    reset_xmit_timer(sk, TcpSock::Pending::retrans, rto);
}

void Tcp::set_xmit_timer(TcpSock& sk) {
    if (!schedule_loss_probe(sk, true)) rearm_rto(sk);
}

// tcp_schedule_loss_probe (RFC 8985 7.2): a probe 2*SRTT after the last send, plus room for a
// delayed ACK when a single segment is out, never later than the RTO.
bool Tcp::schedule_loss_probe(TcpSock& sk, bool advancing_rto) {
    const int early_retrans = config().tcp_early_retrans;
    if ((early_retrans != 3 && early_retrans != 4) || !sk.packets_out() || !sk.sack_ok ||
        (sk.ca_state != TcpCaState::open && sk.ca_state != TcpCaState::cwr))
        return false;
    Nanos timeout;
    if (sk.srtt) {
        timeout = 2 * sk.srtt + (sk.packets_out() == 1 ? config().tcp_rto_min : kTimeoutMin);
    } else {
        timeout = config().tcp_timeout_init;
    }
    const Nanos rto_left = advancing_rto ? sk.rto : rto_delta(sk);
    if (rto_left > 0) timeout = std::min(timeout, rto_left);
    reset_xmit_timer(sk, TcpSock::Pending::loss_probe, timeout);
    return true;
}

// tcp_send_loss_probe: new data if the windows allow, else the last segment again.
void Tcp::send_loss_probe(TcpSock& sk) {
    if (sk.tlp_high_seq) return rearm_rto(sk);  // one probe per tail loss episode
    sk.tlp_retrans = false;
    const std::uint32_t prior_packets = sk.packets_out();
    if (seq_before(sk.snd_nxt, sk.unsent_end()) && seq_after(sk.snd_una + sk.snd_wnd, sk.snd_nxt)) {
        const std::uint32_t cwnd = sk.snd_cwnd;
        sk.snd_cwnd =
            std::max(sk.snd_cwnd, sk.packets_in_flight() + 1);  // the probe is outside cwnd
        push_pending(sk);
        sk.snd_cwnd = cwnd;
    }
    if (sk.packets_out() == prior_packets) {
        if (sk.rtx.empty()) return rearm_rto(sk);
        TxSeg& last = sk.rtx.back();
        if (last.sacked & kTcpcbSackedAcked) return rearm_rto(sk);
        retransmit_once(sk, last);
        sk.tlp_retrans = true;
    }
    sk.tlp_high_seq = sk.snd_nxt;
    stats_.ext.inc(TcpExtMib::TCPLossProbes);
    sk.pending = TcpSock::Pending::none;
    rearm_rto(sk);
}

// tcp_process_tlp_ack: did the probe repair a loss? Then the window is reduced once.
void Tcp::process_tlp_ack(TcpSock& sk, std::uint32_t ack, int flag) {
    if (seq_before(ack, sk.tlp_high_seq)) return;
    if (!sk.tlp_retrans) {
        sk.tlp_high_seq = 0;  // a probe of new data was acknowledged
    } else if (flag & kFlagDsackTlp) {
        sk.tlp_high_seq = 0;  // the original and the probe both arrived: no loss
    } else if (seq_after(ack, sk.tlp_high_seq)) {
        init_cwnd_reduction(sk);
        set_ca_state(sk, TcpCaState::cwr);
        end_cwnd_reduction(sk);
        try_keep_open(sk);
        stats_.ext.inc(TcpExtMib::TCPLossProbeRecovery);
    } else if (!(flag & (kFlagSndUnaAdvanced | kFlagNotDup | kFlagDataSacked))) {
        sk.tlp_high_seq = 0;  // a pure duplicate: both arrived
    }
}

// tcp_cwnd_validate (RFC 7661): remember whether the window, not the application, limited us.
void Tcp::cwnd_validate(TcpSock& sk, bool is_cwnd_limited) {
    if (!seq_before(sk.snd_una, sk.cwnd_usage_seq) || is_cwnd_limited ||
        sk.packets_out() > sk.max_packets_out) {
        sk.max_packets_out = sk.packets_out();
        sk.cwnd_usage_seq = sk.snd_nxt;
        sk.is_cwnd_limited = is_cwnd_limited;
    }
}

// tcp_retransmit_timer: RFC 6298 5.5-5.7 with tcp_enter_loss.
void Tcp::retransmit_timer(TcpSock& sk) {
    if (sk.rtx.empty()) return;
    stats_.ext.inc(TcpExtMib::TCPTimeouts);
    // tcp_write_timeout: tcp_retries2 timeouts, or TCP_USER_TIMEOUT since the first
    // retransmitted segment was sent (retransmits_timed_out from retrans_stamp).
    const std::uint32_t now_ms = tcp_time_stamp_ms(stack_.clock().now_ns());
    const bool user_expired =
        sk.user_timeout && sk.retransmits && sk.retrans_stamp &&
        Nanos{static_cast<std::int32_t>(now_ms - sk.retrans_stamp)} * kNsPerMs >= sk.user_timeout;
    if (++sk.retransmits > config().tcp_retries2 || user_expired) {
        stats_.ext.inc(TcpExtMib::TCPAbortOnTimeout);
        const std::error_code why =
            sk.soft_err ? sk.soft_err : std::make_error_code(std::errc::timed_out);
        abort(sk, std::errc::timed_out);
        sk.err = why;
        return;
    }
    if (sk.ca_state == TcpCaState::loss) {
        if (sk.sack_ok) stats_.ext.inc(TcpExtMib::TCPSackRecoveryFail);
    } else if (sk.ca_state == TcpCaState::recovery) {
        stats_.ext.inc(sk.sack_ok ? TcpExtMib::TCPSackRecoveryFail
                                  : TcpExtMib::TCPRenoRecoveryFail);
    }
    enter_loss(sk);
    TxSeg& head = sk.rtx.front();
    if (head.sacked & kTcpcbSackedRetrans) {  // lost again: it goes once more
        head.sacked &= static_cast<std::uint8_t>(~kTcpcbSackedRetrans);
        --sk.retrans_out;
    }
    retransmit_seg(sk, head);
    stats_.ext.inc(TcpExtMib::TCPSlowStartRetrans);
    ++sk.backoff;
    sk.rto = std::min(sk.rto * 2, config().tcp_rto_max);
    reset_xmit_timer(sk, TcpSock::Pending::retrans, clamp_rto_to_user_timeout(sk));
}

// tcp_clamp_rto_to_user_timeout: the next timeout comes no later than TCP_USER_TIMEOUT's end.
Nanos Tcp::clamp_rto_to_user_timeout(const TcpSock& sk) const {
    if (!sk.user_timeout || !sk.retrans_stamp) return sk.rto;
    const std::uint32_t now_ms = tcp_time_stamp_ms(stack_.clock().now_ns());
    const Nanos remaining =
        sk.user_timeout - Nanos{static_cast<std::int32_t>(now_ms - sk.retrans_stamp)} * kNsPerMs;
    return remaining <= 0 ? kNsPerMs : std::min(sk.rto, remaining);
}

}  // namespace vlo

namespace vlo {

// tcp_v4_mtu_reduced with tcp_sync_mss and tcp_simple_retransmit: a smaller segment size, and
// what was sent larger than it goes again in pieces. The window is left alone: no more data is
// in flight, only in smaller units (the kernel's comment).
void Tcp::mtu_reduced(TcpSock& sk) {
    const std::uint32_t mtu = std::exchange(sk.mtu_info, 0);
    if (sk.state == TcpState::listen || sk.state == TcpState::close) return;
    const std::uint32_t current = sk.pmtu ? sk.pmtu : sk.mss + 40u + (sk.ts_ok ? 12u : 0u);
    if (mtu < 68 || mtu >= current) return;  // only ever lower, never below IPv4's minimum
    sk.soft_err = std::make_error_code(std::errc::message_size);
    sk.pmtu = static_cast<std::uint16_t>(mtu);
    const std::uint32_t mss =
        std::max<std::uint32_t>(mtu - 40 - (sk.ts_ok ? 12 : 0), 48);  // tcp_min_snd_mss
    sk.mss = static_cast<std::uint16_t>(std::min<std::uint32_t>(sk.mss, mss));
    for (std::size_t i = 0; i < sk.rtx.size(); ++i) {
        if (sk.rtx[i].len() <= sk.mss || (sk.rtx[i].sacked & kTcpcbSackedAcked)) continue;
        if (sk.rtx[i].sacked & kTcpcbSackedRetrans) {  // the retransmission was too big as well
            sk.rtx[i].sacked &= static_cast<std::uint8_t>(~kTcpcbSackedRetrans);
            --sk.retrans_out;
        }
        const bool was_lost = sk.rtx[i].sacked & kTcpcbLost;
        std::size_t last = i;
        while (sk.rtx[last].len() > sk.mss) {  // tcp_fragment, piece by piece
            sk.rtx.split(last, sk.rtx[last].seq + sk.mss);
            if (was_lost) ++sk.lost_out;  // each new piece inherits the mark
            ++last;
        }
        for (std::size_t k = i; k <= last; ++k) mark_skb_lost(sk, sk.rtx[k]);
        i = last;
    }
    if (!sk.lost_out) return;
    if (sk.ca_state != TcpCaState::loss) {
        sk.high_seq = sk.snd_nxt;
        sk.snd_ssthresh = current_ssthresh(sk);
        sk.prior_ssthresh = 0;
        sk.undo_marker = 0;
        set_ca_state(sk, TcpCaState::loss);
    }
    xmit_retransmit_queue(sk);
}

}  // namespace vlo
