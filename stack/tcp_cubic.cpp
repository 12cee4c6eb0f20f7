// CUBIC (RFC 9438) with HyStart, as net/ipv4/tcp_cubic.c with its default parameters:
// beta 717/1024, bic_scale 41, fast convergence, TCP friendliness, HyStart's ACK-train and
// delay detection from a window of 16 segments. Time is in ms (HZ = 1000) and µs as the kernel's.
#include <algorithm>
#include <cmath>

#include "stack/tcp.hpp"
#include "stack/tcp_cong.hpp"

namespace vlo {

namespace {
constexpr std::uint32_t kBetaScale = 1024;  // BICTCP_BETA_SCALE
constexpr std::uint32_t kBeta = 717;        // beta: 0.7 * 1024
constexpr std::uint32_t kBicScale = 41;
constexpr int kHz = 1000;      // jiffies per second: vlo's jiffy is 1 ms
constexpr int kBictcpHz = 10;  // BICTCP_HZ: t in 1/1024 s
constexpr std::uint32_t kHystartLowWindow = 16;
constexpr std::uint32_t kHystartMinSamples = 8;
constexpr std::uint32_t kHystartAckDeltaUs = 2000;
// cubictcp_register: beta_scale = 8*(BETA_SCALE+beta) / 3 / (BETA_SCALE - beta), cube_rtt_scale
// = bic_scale * 10, cube_factor = 2^(10+3*BICTCP_HZ) / cube_rtt_scale.
constexpr std::uint32_t kBetaScaleFriendly = 8 * (kBetaScale + kBeta) / 3 / (kBetaScale - kBeta);
constexpr std::uint64_t kCubeRttScale = kBicScale * 10;
constexpr std::uint64_t kCubeFactor = (std::uint64_t{1} << (10 + 3 * kBictcpHz)) / kCubeRttScale;

struct Bictcp {
    std::uint32_t cnt;            // increase cwnd by 1 after this many ACKs
    std::uint32_t last_max_cwnd;  // W_max before the last reduction
    std::uint32_t last_cwnd;
    std::uint32_t last_time;  // ms
    std::uint32_t bic_origin_point;
    std::uint32_t bic_K;        // time to reach W_max, in 1/1024 s
    std::uint32_t delay_min;    // µs
    std::uint32_t epoch_start;  // ms; 0: no epoch
    std::uint32_t ack_cnt;
    std::uint32_t tcp_cwnd;  // the Reno-friendly window estimate
    std::uint16_t unused;
    std::uint8_t sample_cnt;
    std::uint8_t found;
    std::uint32_t round_start;  // µs
    std::uint32_t end_seq;
    std::uint32_t last_ack;  // µs
    std::uint32_t curr_rtt;  // µs
};

std::uint32_t jiffies(const TcpSock& sk) {
    return static_cast<std::uint32_t>(sk.tcp.now() / kNsPerMs);
}
std::uint32_t clock_us(const TcpSock& sk) {
    return static_cast<std::uint32_t>(sk.tcp.now() / 1000);
}

void bictcp_reset(Bictcp& ca) { ca = Bictcp{}; }

void hystart_reset(TcpSock& sk) {
    auto& ca = sk.ca<Bictcp>();
    ca.round_start = ca.last_ack = clock_us(sk);
    ca.end_seq = sk.snd_nxt;
    ca.curr_rtt = ~0u;
    ca.sample_cnt = 0;
}

void cubic_init(TcpSock& sk) {
    bictcp_reset(sk.ca<Bictcp>());
    hystart_reset(sk);
}

// bictcp_update: the window W_cubic(t) = C (t - K)^3 + W_max asks for, as a count of ACKs per
// one-segment increase (RFC 9438 4.2-4.3), never slower than Reno would grow (4.3).
void bictcp_update(TcpSock& sk, Bictcp& ca, std::uint32_t cwnd, std::uint32_t acked) {
    ca.ack_cnt += acked;
    const std::uint32_t now = jiffies(sk);
    if (ca.last_cwnd == cwnd && static_cast<std::int32_t>(now - ca.last_time) <= kHz / 32) return;
    if (!(ca.epoch_start && now == ca.last_time)) {
        ca.last_cwnd = cwnd;
        ca.last_time = now;
        if (ca.epoch_start == 0) {
            ca.epoch_start = now;
            ca.ack_cnt = acked;
            ca.tcp_cwnd = cwnd;
            if (ca.last_max_cwnd <= cwnd) {
                ca.bic_K = 0;
                ca.bic_origin_point = cwnd;
            } else {
                // K = cbrt(W_max - cwnd) / C in BICTCP_HZ units (cubic_root)
                ca.bic_K = static_cast<std::uint32_t>(
                    std::cbrt(static_cast<double>(kCubeFactor * (ca.last_max_cwnd - cwnd))));
                ca.bic_origin_point = ca.last_max_cwnd;
            }
        }
        // t: the time since the epoch plus the minimum delay, in 1/1024 s.
        std::uint64_t t = now - ca.epoch_start;
        t = t * kNsPerMs / 1000 + ca.delay_min;  // µs
        t = (t << kBictcpHz) / 1000000;
        const std::uint64_t offs = t < ca.bic_K ? ca.bic_K - t : t - ca.bic_K;
        const std::uint32_t delta = static_cast<std::uint32_t>(
            (kCubeRttScale * offs * offs * offs) >> (10 + 3 * kBictcpHz));
        const std::uint32_t target =
            t < ca.bic_K ? ca.bic_origin_point - delta : ca.bic_origin_point + delta;
        ca.cnt = target > cwnd ? cwnd / (target - cwnd) : 100 * cwnd;
        // Before the first loss, grow at least as fast as 5% a round trip.
        if (ca.last_max_cwnd == 0 && ca.cnt > 20) ca.cnt = 20;
    }
    // TCP friendliness: the window Reno would have with beta 0.7.
    const std::uint32_t d = (cwnd * kBetaScaleFriendly) >> 3;
    if (d) {
        while (ca.ack_cnt > d) {
            ca.ack_cnt -= d;
            ++ca.tcp_cwnd;
        }
    }
    if (ca.tcp_cwnd > cwnd) {
        const std::uint32_t max_cnt = cwnd / (ca.tcp_cwnd - cwnd);
        if (ca.cnt > max_cnt) ca.cnt = max_cnt;
    }
    ca.cnt = std::max(ca.cnt, 2u);
}

void cubic_cong_avoid(TcpSock& sk, std::uint32_t ack, std::uint32_t acked) {
    auto& ca = sk.ca<Bictcp>();
    if (!tcp_is_cwnd_limited(sk)) return;
    if (tcp_in_slow_start(sk)) {
        if (seq_after(ack, ca.end_seq)) hystart_reset(sk);
        acked = tcp_slow_start(sk, acked);
        if (!acked) return;
    }
    bictcp_update(sk, ca, sk.snd_cwnd, acked);
    tcp_cong_avoid_ai(sk, ca.cnt, acked);
}

// cubictcp_recalc_ssthresh: multiplicative decrease by beta; with fast convergence a flow
// that lost before reaching its old maximum releases more (RFC 9438 4.7).
std::uint32_t cubic_ssthresh(TcpSock& sk) {
    auto& ca = sk.ca<Bictcp>();
    ca.epoch_start = 0;
    if (sk.snd_cwnd < ca.last_max_cwnd)
        ca.last_max_cwnd = (sk.snd_cwnd * (kBetaScale + kBeta)) / (2 * kBetaScale);
    else
        ca.last_max_cwnd = sk.snd_cwnd;
    return std::max((sk.snd_cwnd * kBeta) / kBetaScale, 2u);
}

void cubic_set_state(TcpSock& sk, TcpCaState state) {
    if (state == TcpCaState::loss) {
        bictcp_reset(sk.ca<Bictcp>());
        hystart_reset(sk);
    }
}

void cubic_cwnd_event(TcpSock& sk, TcpCaEvent event) {
    if (event != TcpCaEvent::tx_start) return;
    // After an idle period the epoch moves on by the idle time: the curve does not jump.
    auto& ca = sk.ca<Bictcp>();
    if (!ca.epoch_start) return;
    const std::uint32_t now = jiffies(sk);
    const auto delta =
        static_cast<std::int32_t>(now - static_cast<std::uint32_t>(sk.lsndtime / kNsPerMs));
    if (delta > 0) {
        ca.epoch_start += static_cast<std::uint32_t>(delta);
        if (seq_after(ca.epoch_start, now)) ca.epoch_start = now;
    }
}

void hystart_update(TcpSock& sk, std::uint32_t delay) {
    auto& ca = sk.ca<Bictcp>();
    if (seq_after(sk.snd_una, ca.end_seq)) hystart_reset(sk);
    // ACK train: ACKs of one round arriving for longer than half the minimum delay mean the
    // pipe is full.
    const std::uint32_t now = clock_us(sk);
    if (static_cast<std::int32_t>(now - ca.last_ack) <=
        static_cast<std::int32_t>(kHystartAckDeltaUs)) {
        ca.last_ack = now;
        const std::uint32_t threshold = ca.delay_min >> 1;  // no pacing: half the minimum delay
        if (static_cast<std::int32_t>(now - ca.round_start) >
            static_cast<std::int32_t>(threshold)) {
            ca.found = 1;
            sk.tcp.stats().ext.inc(TcpExtMib::TCPHystartTrainDetect);
            sk.tcp.stats().ext.inc(TcpExtMib::TCPHystartTrainCwnd, sk.snd_cwnd);
            sk.snd_ssthresh = sk.snd_cwnd;
            return;
        }
    }
    // Delay increase: the round's minimum RTT rose by an eighth of the minimum (4-16 ms).
    if (ca.curr_rtt > delay) ca.curr_rtt = delay;
    if (ca.sample_cnt < kHystartMinSamples) {
        ++ca.sample_cnt;
        return;
    }
    const std::uint32_t thresh =
        std::clamp(ca.delay_min >> 3, 4000u, 16000u);  // HYSTART_DELAY_THRESH
    if (ca.curr_rtt > ca.delay_min + thresh) {
        ca.found = 1;
        sk.tcp.stats().ext.inc(TcpExtMib::TCPHystartDelayDetect);
        sk.tcp.stats().ext.inc(TcpExtMib::TCPHystartDelayCwnd, sk.snd_cwnd);
        sk.snd_ssthresh = sk.snd_cwnd;
    }
}

void cubic_pkts_acked(TcpSock& sk, const TcpAckSample& sample) {
    if (sample.rtt < 0) return;
    auto& ca = sk.ca<Bictcp>();
    // Discard delay samples right after a reduction: they still carry the queue.
    if (ca.epoch_start && static_cast<std::int32_t>(jiffies(sk) - ca.epoch_start) < kHz) return;
    std::uint32_t delay = static_cast<std::uint32_t>(sample.rtt / 1000);
    if (delay == 0) delay = 1;
    if (ca.delay_min == 0 || ca.delay_min > delay) ca.delay_min = delay;
    if (!ca.found && tcp_in_slow_start(sk) && sk.snd_cwnd >= kHystartLowWindow)
        hystart_update(sk, delay);
}
}  // namespace

const TcpCongestionOps& tcp_cubic_ops() {
    static const TcpCongestionOps ops = [] {
        TcpCongestionOps o;
        o.name = "cubic";
        o.init = cubic_init;
        o.ssthresh = cubic_ssthresh;
        o.cong_avoid = cubic_cong_avoid;
        o.set_state = cubic_set_state;
        o.undo_cwnd = tcp_reno_undo_cwnd;
        o.cwnd_event = cubic_cwnd_event;
        o.pkts_acked = cubic_pkts_acked;
        return o;
    }();
    return ops;
}

}  // namespace vlo
