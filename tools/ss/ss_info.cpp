#include "tools/ss/ss_info.hpp"

#include <cstdarg>
#include <cstdio>

namespace vlo::ss {

namespace {

[[gnu::format(printf, 2, 3)]] void out(std::string& s, const char* fmt, ...) {
    char buf[256];
    std::va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    s += buf;
}

// sprint_bw under -n: bits per second as a whole number.
std::string bw(double bps) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.0f", bps);
    return buf;
}

}  // namespace

// tcp_show_info's reading of struct tcp_info, then tcp_stats_print's output, field by field.
std::string ss_info_text(const tcp_info& i, std::string_view ca_name, TcpState state) {
    std::string s;
    if (!ca_name.empty()) s += " " + std::string(ca_name);
    if (i.tcpi_options & TCPI_OPT_WSCALE)
        out(s, " wscale:%d,%d", int{i.tcpi_snd_wscale}, int{i.tcpi_rcv_wscale});
    // 3 s is TCP_TIMEOUT_INIT, a socket that never had an RTT sample: ss leaves it out.
    if (i.tcpi_rto && i.tcpi_rto != 3000000) out(s, " rto:%g", i.tcpi_rto / 1000.0);
    if (i.tcpi_backoff) out(s, " backoff:%u", unsigned{i.tcpi_backoff});
    if (i.tcpi_rtt) out(s, " rtt:%g/%g", i.tcpi_rtt / 1000.0, i.tcpi_rttvar / 1000.0);
    if (i.tcpi_ato) out(s, " ato:%g", i.tcpi_ato / 1000.0);
    if (i.tcpi_snd_mss) out(s, " mss:%d", static_cast<int>(i.tcpi_snd_mss));
    if (i.tcpi_pmtu) out(s, " pmtu:%u", i.tcpi_pmtu);
    if (i.tcpi_rcv_mss) out(s, " rcvmss:%d", static_cast<int>(i.tcpi_rcv_mss));
    if (i.tcpi_advmss) out(s, " advmss:%d", static_cast<int>(i.tcpi_advmss));
    if (i.tcpi_snd_cwnd) out(s, " cwnd:%u", i.tcpi_snd_cwnd);
    // An ssthresh of TCP_INFINITE_SSTHRESH (no loss yet) is not shown.
    if (i.tcpi_snd_ssthresh < 0xFFFF && i.tcpi_snd_ssthresh)
        out(s, " ssthresh:%d", static_cast<int>(i.tcpi_snd_ssthresh));
    auto u64 = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
    if (i.tcpi_bytes_sent) out(s, " bytes_sent:%llu", u64(i.tcpi_bytes_sent));
    if (i.tcpi_bytes_retrans) out(s, " bytes_retrans:%llu", u64(i.tcpi_bytes_retrans));
    if (i.tcpi_bytes_acked) out(s, " bytes_acked:%llu", u64(i.tcpi_bytes_acked));
    if (i.tcpi_bytes_received) out(s, " bytes_received:%llu", u64(i.tcpi_bytes_received));
    if (i.tcpi_segs_out) out(s, " segs_out:%u", i.tcpi_segs_out);
    if (i.tcpi_segs_in) out(s, " segs_in:%u", i.tcpi_segs_in);
    if (i.tcpi_data_segs_out) out(s, " data_segs_out:%u", i.tcpi_data_segs_out);
    if (i.tcpi_data_segs_in) out(s, " data_segs_in:%u", i.tcpi_data_segs_in);
    // send: what cwnd allows per RTT, cwnd * mss * 8 bits per tcpi_rtt µs.
    if (i.tcpi_rtt && i.tcpi_snd_mss && i.tcpi_snd_cwnd)
        s += " send " +
             bw(static_cast<double>(i.tcpi_snd_cwnd) * static_cast<double>(i.tcpi_snd_mss) *
                8000000. / static_cast<double>(i.tcpi_rtt)) +
             "bps";
    if (i.tcpi_last_data_sent) out(s, " lastsnd:%u", i.tcpi_last_data_sent);
    if (i.tcpi_last_data_recv) out(s, " lastrcv:%u", i.tcpi_last_data_recv);
    if (i.tcpi_last_ack_recv) out(s, " lastack:%u", i.tcpi_last_ack_recv);
    // ~0: unlimited (sk_pacing_rate / sk_max_pacing_rate's default), not a rate.
    if (i.tcpi_pacing_rate && i.tcpi_pacing_rate != ~0ULL) {
        s += " pacing_rate " + bw(static_cast<double>(i.tcpi_pacing_rate) * 8.) + "bps";
        if (i.tcpi_max_pacing_rate && i.tcpi_max_pacing_rate != ~0ULL)
            s += "/" + bw(static_cast<double>(i.tcpi_max_pacing_rate) * 8.) + "bps";
    }
    if (i.tcpi_delivery_rate)
        s += " delivery_rate " + bw(static_cast<double>(i.tcpi_delivery_rate) * 8.) + "bps";
    if (i.tcpi_delivered) out(s, " delivered:%u", i.tcpi_delivered);
    if (i.tcpi_delivered_ce) out(s, " delivered_ce:%u", i.tcpi_delivered_ce);
    if (i.tcpi_delivery_rate_app_limited) s += " app_limited";
    if (i.tcpi_busy_time) {
        out(s, " busy:%llums", u64(i.tcpi_busy_time / 1000));
        if (i.tcpi_rwnd_limited)
            out(s, " rwnd_limited:%llums(%.1f%%)", u64(i.tcpi_rwnd_limited / 1000),
                100.0 * static_cast<double>(i.tcpi_rwnd_limited) /
                    static_cast<double>(i.tcpi_busy_time));
        if (i.tcpi_sndbuf_limited)
            out(s, " sndbuf_limited:%llums(%.1f%%)", u64(i.tcpi_sndbuf_limited / 1000),
                100.0 * static_cast<double>(i.tcpi_sndbuf_limited) /
                    static_cast<double>(i.tcpi_busy_time));
    }
    if (i.tcpi_unacked) out(s, " unacked:%u", i.tcpi_unacked);
    if (i.tcpi_retrans || i.tcpi_total_retrans)
        out(s, " retrans:%u/%u", unsigned{i.tcpi_retrans}, i.tcpi_total_retrans);
    if (i.tcpi_lost) out(s, " lost:%u", i.tcpi_lost);
    // A listener's tcpi_sacked is its accept queue's limit, not SACKed segments.
    if (i.tcpi_sacked && state != TcpState::listen) out(s, " sacked:%u", i.tcpi_sacked);
    if (i.tcpi_dsack_dups) out(s, " dsack_dups:%u", i.tcpi_dsack_dups);
    if (i.tcpi_fackets) out(s, " fackets:%u", i.tcpi_fackets);
    if (i.tcpi_reordering != 3) out(s, " reordering:%d", static_cast<int>(i.tcpi_reordering));
    if (i.tcpi_reord_seen) out(s, " reord_seen:%d", static_cast<int>(i.tcpi_reord_seen));
    if (i.tcpi_rcv_rtt) out(s, " rcv_rtt:%g", i.tcpi_rcv_rtt / 1000.0);
    if (i.tcpi_rcv_space) out(s, " rcv_space:%d", static_cast<int>(i.tcpi_rcv_space));
    if (i.tcpi_rcv_ssthresh) out(s, " rcv_ssthresh:%u", i.tcpi_rcv_ssthresh);
    if (i.tcpi_notsent_bytes) out(s, " notsent:%u", i.tcpi_notsent_bytes);
    if (i.tcpi_min_rtt && i.tcpi_min_rtt != ~0U) out(s, " minrtt:%g", i.tcpi_min_rtt / 1000.0);
    if (i.tcpi_rcv_ooopack) out(s, " rcv_ooopack:%u", i.tcpi_rcv_ooopack);
    if (i.tcpi_snd_wnd) out(s, " snd_wnd:%u", i.tcpi_snd_wnd);
    return s;
}

}  // namespace vlo::ss
