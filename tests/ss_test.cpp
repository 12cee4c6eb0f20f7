// The ss -tni view: iproute2 6.1's field order, omissions and column layout for tcp_info values
// set by hand (ss_format), then the listing of a live stack, in process and through vlod's
// control socket.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tools/ss/ss_format.hpp"
#include "tools/ss/ss_info.hpp"

using namespace vlo;
using namespace vlo::ss;

namespace {

// What a fresh Linux socket reports before any traffic: tcp_reordering's 3, no ssthresh yet.
tcp_info quiet_info() {
    tcp_info i{};
    i.tcpi_reordering = 3;
    i.tcpi_snd_ssthresh = 0x7fffffff;  // TCP_INFINITE_SSTHRESH
    i.tcpi_max_pacing_rate = ~0ULL;
    return i;
}

std::string sp(std::size_t n) { return std::string(n, ' '); }

}  // namespace

TEST_CASE("ss: the info line has tcp_stats_print's fields in its order", "[ss]") {
    tcp_info i = quiet_info();
    i.tcpi_options = TCPI_OPT_WSCALE | TCPI_OPT_SACK | TCPI_OPT_TIMESTAMPS;
    i.tcpi_snd_wscale = 7;
    i.tcpi_rcv_wscale = 7;
    i.tcpi_rto = 204000;
    i.tcpi_rtt = 31;
    i.tcpi_rttvar = 15;
    i.tcpi_ato = 40000;
    i.tcpi_snd_mss = 65483;
    i.tcpi_pmtu = 65535;
    i.tcpi_rcv_mss = 536;
    i.tcpi_advmss = 65483;
    i.tcpi_snd_cwnd = 10;
    i.tcpi_snd_ssthresh = 7;
    i.tcpi_bytes_sent = 200;
    i.tcpi_bytes_acked = 201;
    i.tcpi_bytes_received = 100;
    i.tcpi_segs_out = 12;
    i.tcpi_segs_in = 11;
    i.tcpi_data_segs_out = 3;
    i.tcpi_data_segs_in = 2;
    i.tcpi_last_data_sent = 8;
    i.tcpi_last_data_recv = 9;
    i.tcpi_last_ack_recv = 7;
    i.tcpi_pacing_rate = 1000;
    i.tcpi_delivery_rate = 125;
    i.tcpi_delivered = 4;
    i.tcpi_delivery_rate_app_limited = 1;
    i.tcpi_unacked = 1;
    i.tcpi_retrans = 1;
    i.tcpi_total_retrans = 3;
    i.tcpi_lost = 2;
    i.tcpi_sacked = 1;
    i.tcpi_rcv_space = 65483;
    i.tcpi_rcv_ssthresh = 65483;
    i.tcpi_min_rtt = 12;
    i.tcpi_snd_wnd = 65536;
    // -i without -o: no "ts sack"; -n: rates as whole bits per second (sprint_bw's "%.0f"),
    // send = cwnd * mss * 8 / rtt.
    CHECK(ss_info_text(i, "cubic", TcpState::established) ==
          " cubic wscale:7,7 rto:204 rtt:0.031/0.015 ato:40 mss:65483 pmtu:65535 rcvmss:536"
          " advmss:65483 cwnd:10 ssthresh:7 bytes_sent:200 bytes_acked:201 bytes_received:100"
          " segs_out:12 segs_in:11 data_segs_out:3 data_segs_in:2 send 168988387097bps"
          " lastsnd:8 lastrcv:9 lastack:7 pacing_rate 8000bps delivery_rate 1000bps delivered:4"
          " app_limited unacked:1 retrans:1/3 lost:2 sacked:1 rcv_space:65483"
          " rcv_ssthresh:65483 minrtt:0.012 snd_wnd:65536");
}

TEST_CASE("ss: fields ss leaves out, and the ones it shows only when unusual", "[ss]") {
    tcp_info i = quiet_info();
    i.tcpi_snd_cwnd = 10;
    CHECK(ss_info_text(i, "cubic", TcpState::established) == " cubic cwnd:10");
    // No RTT sample yet: the initial 3 s RTO, no rtt, no send rate, no min_rtt (~0).
    i.tcpi_rto = 3000000;
    i.tcpi_min_rtt = ~0U;
    i.tcpi_snd_mss = 536;
    CHECK(ss_info_text(i, "reno", TcpState::syn_sent) == " reno mss:536 cwnd:10");
    // Reordering other than 3, backoff, retransmissions only in the total, busy time with the
    // share limited by the peer's window, out-of-order packets.
    i.tcpi_reordering = 5;
    i.tcpi_rto = 408000;
    i.tcpi_backoff = 1;
    i.tcpi_total_retrans = 2;
    i.tcpi_busy_time = 2500000;
    i.tcpi_rwnd_limited = 500000;
    i.tcpi_rcv_ooopack = 4;
    i.tcpi_notsent_bytes = 100;
    CHECK(ss_info_text(i, "cubic", TcpState::established) ==
          " cubic rto:408 backoff:1 mss:536 cwnd:10 busy:2500ms rwnd_limited:500ms(20.0%)"
          " retrans:0/2 reordering:5 notsent:100 rcv_ooopack:4");
    // A listener's tcpi_sacked is its backlog, tcpi_unacked its accept queue.
    tcp_info l = quiet_info();
    l.tcpi_unacked = 1;
    l.tcpi_sacked = 128;
    CHECK(ss_info_text(l, "cubic", TcpState::listen) == " cubic unacked:1");
    CHECK(ss_info_text(l, "cubic", TcpState::established) == " cubic unacked:1 sacked:128");
}

TEST_CASE("ss: state names and which states ss -t lists without -a", "[ss]") {
    CHECK(ss_state_name(TcpState::established) == "ESTAB");
    CHECK(ss_state_name(TcpState::fin_wait1) == "FIN-WAIT-1");
    CHECK(ss_state_name(TcpState::close_wait) == "CLOSE-WAIT");
    CHECK(ss_state_name(TcpState::time_wait) == "TIME-WAIT");
    CHECK(ss_state_name(TcpState::close) == "UNCONN");
    CHECK(ss_listed(TcpState::established, false));
    CHECK(ss_listed(TcpState::fin_wait2, false));
    CHECK_FALSE(ss_listed(TcpState::listen, false));
    CHECK_FALSE(ss_listed(TcpState::time_wait, false));
    CHECK_FALSE(ss_listed(TcpState::syn_recv, false));
    CHECK(ss_listed(TcpState::listen, true));
}

TEST_CASE("ss: columns as wide as render() makes them without a terminal", "[ss]") {
    SECTION("no sockets: the header alone") {
        CHECK(ss_listing({}) ==
              "State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n");
    }
    SECTION("a listener, a connection and a TIME-WAIT") {
        std::vector<SsSocket> s(3);
        s[0].state = TcpState::listen;
        s[0].send_q = 128;
        s[0].lport = 7;
        tcp_info listener = quiet_info();
        listener.tcpi_snd_cwnd = 10;
        s[0].info = ss_info_text(listener, "cubic", TcpState::listen);
        s[1].state = TcpState::established;
        s[1].recv_q = 12345;
        s[1].laddr = Ipv4Address{127, 0, 0, 1};
        s[1].lport = 5001;
        s[1].raddr = Ipv4Address{127, 0, 0, 1};
        s[1].rport = 40000;
        tcp_info conn = quiet_info();
        conn.tcpi_rto = 204000;
        conn.tcpi_rtt = 31;
        conn.tcpi_rttvar = 15;
        conn.tcpi_snd_mss = 65483;
        conn.tcpi_snd_cwnd = 10;
        s[1].info = ss_info_text(conn, "cubic", TcpState::established);
        s[2].state = TcpState::time_wait;
        s[2].laddr = Ipv4Address{127, 0, 0, 1};
        s[2].lport = 40002;
        s[2].raddr = Ipv4Address{127, 0, 0, 2};
        s[2].rport = 7;
        const std::string estab_info =
            "\t cubic rto:204 rtt:0.031/0.015 mss:65483 cwnd:10 send 168988387097bps";
        // The info column is as wide as its longest flushed token, the "\n" included; the last
        // socket's token was never flushed, so it does not widen the column, yet is padded to it.
        const std::size_t ext = 1 + estab_info.size();
        CHECK(ss_listing(s) ==
              "State     Recv-Q Send-Q Local Address:Port  Peer Address:Port Process" +
                  sp(ext - 7) + "\n" +
                  "LISTEN    0      128          0.0.0.0:7          0.0.0.0:*    \n"
                  "\t cubic cwnd:10" +
                  sp(ext - 16) + "\n" +
                  "ESTAB     12345  0          127.0.0.1:5001     127.0.0.1:40000\n" + estab_info +
                  "\n" + "TIME-WAIT 0      0          127.0.0.1:40002    127.0.0.2:7    \n" + "\t" +
                  sp(ext - 2) + "\n");
    }
}
