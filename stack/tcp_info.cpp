#include "stack/tcp_info.hpp"

#include <algorithm>
#include <cstring>

#include "stack/tcp.hpp"

namespace vlo {

namespace {
std::uint32_t usecs(Nanos ns) { return static_cast<std::uint32_t>(std::max<Nanos>(ns, 0) / 1000); }
std::uint32_t msecs_since(Nanos now, Nanos then) {
    return then ? static_cast<std::uint32_t>((now - then) / kNsPerMs) : 0;
}
}  // namespace

const char* tcp_ca_name(const TcpSock& sk) { return sk.ca_ops ? sk.ca_ops->name.c_str() : "reno"; }

void tcp_get_info(const TcpSock& sk, Nanos now, struct tcp_info& info) {
    std::memset(&info, 0, sizeof info);
    info.tcpi_state = static_cast<std::uint8_t>(sk.state);
    info.tcpi_ca_state = static_cast<std::uint8_t>(sk.ca_state);
    info.tcpi_retransmits = static_cast<std::uint8_t>(std::min(sk.retransmits, 255));
    info.tcpi_backoff = static_cast<std::uint8_t>(std::min(sk.backoff, 255));
    if (sk.ts_ok) info.tcpi_options |= TCPI_OPT_TIMESTAMPS;
    if (sk.sack_ok) info.tcpi_options |= TCPI_OPT_SACK;
    if (sk.wscale_ok) {
        info.tcpi_options |= TCPI_OPT_WSCALE;
        info.tcpi_snd_wscale = sk.snd_wscale & 0xf;
        info.tcpi_rcv_wscale = sk.rcv_wscale & 0xf;
    }
    info.tcpi_rto = usecs(sk.rto);
    info.tcpi_ato = usecs(40 * kNsPerMs);
    info.tcpi_snd_mss = sk.mss;
    info.tcpi_rcv_mss = sk.rcv_mss;
    info.tcpi_unacked = sk.packets_out();
    info.tcpi_sacked = sk.sacked_out;
    info.tcpi_lost = sk.lost_out;
    info.tcpi_retrans = sk.retrans_out;
    info.tcpi_last_data_sent = msecs_since(now, sk.lsndtime);
    info.tcpi_last_data_recv = msecs_since(now, sk.last_data_recv);
    info.tcpi_last_ack_recv = msecs_since(now, sk.last_ack_recv);
    info.tcpi_pmtu = sk.advmss + 40u + (sk.ts_ok && sk.state != TcpState::listen ? 12u : 0u);
    info.tcpi_rcv_ssthresh = sk.rcv_ssthresh;
    info.tcpi_rtt = usecs(sk.srtt);
    info.tcpi_rttvar = usecs(sk.mdev / 4);
    info.tcpi_snd_ssthresh = sk.snd_ssthresh;
    info.tcpi_snd_cwnd = sk.snd_cwnd;
    info.tcpi_advmss = sk.advmss;
    info.tcpi_reordering = sk.reordering;
    info.tcpi_rcv_space = sk.rcv_wnd;
    info.tcpi_total_retrans = sk.total_retrans;
    info.tcpi_pacing_rate = sk.pacing_rate;
    info.tcpi_max_pacing_rate = ~0ull;  // sk_max_pacing_rate: SO_MAX_PACING_RATE unset
    info.tcpi_bytes_acked = sk.bytes_acked;
    info.tcpi_bytes_received = sk.bytes_received;
    info.tcpi_segs_out = sk.segs_out;
    info.tcpi_segs_in = sk.segs_in;
    info.tcpi_notsent_bytes =
        static_cast<std::uint32_t>(sk.sndq.size()) -
        std::min<std::uint32_t>(static_cast<std::uint32_t>(sk.sndq.size()), sk.flight());
    info.tcpi_min_rtt = sk.min_rtt ? usecs(sk.min_rtt) : ~0u;
    info.tcpi_data_segs_in = sk.data_segs_in;
    info.tcpi_data_segs_out = sk.data_segs_out;
    info.tcpi_delivered = sk.delivered;
    info.tcpi_snd_wnd = sk.snd_wnd;
    info.tcpi_bytes_sent = sk.bytes_acked + sk.flight() + sk.bytes_retrans;
    info.tcpi_bytes_retrans = sk.bytes_retrans;
    info.tcpi_reord_seen = sk.reord_seen;
    if (sk.state == TcpState::listen) {
        // A listener reports its backlog limit where a connection reports SACKed segments
        // (tcp_get_info); its accept queue's length is the listing's Recv-Q.
        info.tcpi_unacked = 0;
        info.tcpi_sacked = static_cast<std::uint32_t>(sk.backlog);
    }
}

void tcp_get_info(const TcpSock& sk, Nanos now, TcpInfo& info) {
    std::memset(&info, 0, sizeof info);
    tcp_get_info(sk, now, static_cast<tcp_info&>(info));
    info.tcpi_rcv_wnd = sk.rcv_wnd;
}

}  // namespace vlo
