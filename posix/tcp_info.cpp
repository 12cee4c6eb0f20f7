#include "posix/tcp_info.hpp"

#include <algorithm>

#include "stack/tcp.hpp"

namespace vlo::posix {

void fill_tcp_info(const TcpSock& sk, Nanos now, tcp_info& info) {
    info = tcp_info{};
    info.tcpi_state = static_cast<std::uint8_t>(sk.state);
    info.tcpi_ca_state = sk.in_recovery ? 3 : 0;  // TCP_CA_Recovery : TCP_CA_Open
    info.tcpi_retransmits = static_cast<std::uint8_t>(sk.retransmits);
    info.tcpi_backoff = static_cast<std::uint8_t>(sk.backoff);
    if (sk.ts_ok) info.tcpi_options |= TCPI_OPT_TIMESTAMPS;
    if (sk.wscale_ok) {
        info.tcpi_options |= TCPI_OPT_WSCALE;
        info.tcpi_snd_wscale = sk.snd_wscale & 0xf;
        info.tcpi_rcv_wscale = sk.rcv_wscale & 0xf;
    }
    const std::uint32_t mss = std::max<std::uint32_t>(sk.mss, 1);
    info.tcpi_rto = static_cast<std::uint32_t>(sk.rto / kNsPerUs);
    info.tcpi_snd_mss = sk.mss;
    info.tcpi_rcv_mss = std::min<std::uint32_t>(sk.peer_mss, sk.mss);
    info.tcpi_advmss = sk.mss;
    info.tcpi_unacked = (sk.flight() + mss - 1) / mss;
    if (sk.last_rcv)
        info.tcpi_last_data_recv = static_cast<std::uint32_t>((now - sk.last_rcv) / kNsPerMs);
    info.tcpi_rtt = static_cast<std::uint32_t>(sk.srtt / kNsPerUs);
    info.tcpi_rttvar = static_cast<std::uint32_t>(sk.rttvar / kNsPerUs);
    info.tcpi_snd_ssthresh =
        sk.ssthresh >= 0x7fffffffu ? 0x7fffffffu : sk.ssthresh / mss;  // TCP_INFINITE_SSTHRESH
    info.tcpi_snd_cwnd = sk.cwnd / mss;  // vlo counts cwnd in bytes, Linux in segments
    info.tcpi_rcv_space = sk.rcv_wnd;
    info.tcpi_snd_wnd = sk.snd_wnd;
    const auto unsent = static_cast<std::int32_t>(sk.unsent_end() - sk.snd_nxt);
    info.tcpi_notsent_bytes = unsent > 0 ? static_cast<std::uint32_t>(unsent) : 0;
    info.tcpi_bytes_acked = sk.snd_una - sk.iss - (sk.state == TcpState::syn_sent ? 0 : 1);
    info.tcpi_bytes_received = sk.rcv_nxt - sk.irs - (sk.state == TcpState::syn_sent ? 0 : 1);
    if (sk.state == TcpState::close || sk.state == TcpState::listen) {
        info.tcpi_bytes_acked = 0;
        info.tcpi_bytes_received = 0;
    }
}

}  // namespace vlo::posix
