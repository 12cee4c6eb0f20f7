// TCP loss recovery segment by segment, against a scripted peer on a wire device (as
// packetdrill drives a stack): the receiver's SACK blocks and D-SACKs, a retransmission driven
// by SACK (RACK) before any timeout, the tail loss probe's timing, PRR's pacing of the window
// during recovery, an undo by D-SACK, PAWS, and CUBIC's window against RFC 9438's formula.
#include <cmath>

#include <catch2/catch.hpp>

#include "stack/tcp_info.hpp"
#include "tcp_peer.hpp"

using namespace vlo;
using vlo::test::kMss;
using vlo::test::off;
using vlo::test::Out;
using vlo::test::Peer;

TEST_CASE("SACK blocks report the holes, most recent first, and a D-SACK reports a duplicate",
          "[tcp][sack]") {
    Peer p;
    p.open();
    const std::uint32_t base = p.peer_seq;
    const auto data_at = [&](std::uint32_t at) {
        p.peer_seq = base + at;
        p.send(0, {}, 1000);
    };
    data_at(1000);  // hole [0, 1000)
    auto o = p.out();
    REQUIRE(o.size() == 1);
    CHECK(o[0].tcp.ack == base);
    REQUIRE(o[0].tcp.options.num_sack == 1);
    CHECK(o[0].tcp.options.sack[0] == wire::SackBlock{base + 1000, base + 2000});
    data_at(3000);  // a second hole [2000, 3000): the new block goes first (RFC 2018 4)
    o = p.out();
    REQUIRE(o.back().tcp.options.num_sack == 2);
    CHECK(o.back().tcp.options.sack[0] == wire::SackBlock{base + 3000, base + 4000});
    CHECK(o.back().tcp.options.sack[1] == wire::SackBlock{base + 1000, base + 2000});
    data_at(2000);  // fills the second hole: the blocks merge, and the merged one leads
    o = p.out();
    REQUIRE(o.back().tcp.options.num_sack == 1);
    CHECK(o.back().tcp.options.sack[0] == wire::SackBlock{base + 1000, base + 4000});
    data_at(2000);  // again: a duplicate of held data, reported first as a D-SACK (RFC 2883 4.1.2)
    o = p.out();
    REQUIRE(o.back().tcp.options.num_sack == 2);
    CHECK(o.back().tcp.options.sack[0] == wire::SackBlock{base + 2000, base + 3000});
    CHECK(o.back().tcp.options.sack[1] == wire::SackBlock{base + 1000, base + 4000});
    CHECK(p.ext(TcpExtMib::TCPDSACKOfoSent) == 1);
    CHECK(p.stack.net_rx().drops().count(DropReason::tcp_ofomerge) == 1);  // its trace ends there
    data_at(0);  // the first hole: all in order, no blocks left
    o = p.out();
    CHECK(o.back().tcp.ack == base + 4000);
    CHECK(o.back().tcp.options.num_sack == 0);
    data_at(0);  // old data: a D-SACK below the ACK (RFC 2883 4.1.1)
    o = p.out();
    REQUIRE(o.back().tcp.options.num_sack == 1);
    CHECK(o.back().tcp.options.sack[0] == wire::SackBlock{base, base + 1000});
    CHECK(p.ext(TcpExtMib::TCPDSACKOldSent) == 1);
    CHECK(p.stack.net_rx().drops().count(DropReason::tcp_old_data) == 1);
}

TEST_CASE(
    "SACK drives a retransmission before any RTO: RACK marks the hole lost, PRR paces the rest",
    "[tcp][sack][rack][prr]") {
    Peer p;
    p.open();
    // Slow start to a window of 20: ten segments, all acknowledged.
    p.write(10);
    REQUIRE(p.out().size() == 10);  // the initial window: 10 segments (RFC 6928)
    p.advance(10 * kNsPerMs);
    p.send(10 * kMss);
    CHECK(p.sk().snd_cwnd == 20);
    p.write(40);
    REQUIRE(p.out().size() == 20);
    p.advance(10 * kNsPerMs);
    // Segment 10 is lost; the peer SACKs 11, 12, 13: three segments above the hole (dupthresh).
    const std::uint32_t hole = 10 * kMss;
    for (std::uint32_t k = 1; k <= 3; ++k) p.send(hole, {{hole + kMss, hole + (k + 1) * kMss}});
    // The first two SACKs each let a new segment out (limited transmit, RFC 3042: SACKed
    // segments left the network); the third proves the loss and the hole goes at once.
    auto o = p.out();
    REQUIRE(o.size() == 3);
    CHECK(off(p, o[0]) == 30 * kMss);
    CHECK(off(p, o[1]) == 31 * kMss);
    CHECK(off(p, o[2]) == hole);
    CHECK(o[2].len == kMss);
    CHECK(p.ext(TcpExtMib::TCPSackRecovery) == 1);
    CHECK(p.ext(TcpExtMib::TCPFastRetrans) == 1);
    CHECK(p.ext(TcpExtMib::TCPTimeouts) == 0);
    CHECK(p.sk().ca_state == TcpCaState::recovery);
    // CUBIC's reduction: ssthresh = 20 * 717 / 1024 = 14. While the pipe is above it, PRR
    // (RFC 6937 3) sends ceil(prr_delivered * ssthresh / prior_cwnd) - prr_out per ACK.
    CHECK(p.sk().snd_ssthresh == 14);
    CHECK(p.sk().prior_cwnd == 20);
    std::uint32_t sent = 1;  // prr_delivered = 1 (the third SACK's): ceil(14 / 20) = 1
    for (std::uint32_t d = 2; d <= 5; ++d) {
        p.send(hole, {{hole + kMss, hole + (d + 3) * kMss}});  // one more segment SACKed
        sent += static_cast<std::uint32_t>(p.out().size());
        CHECK(p.sk().packets_in_flight() >= p.sk().snd_ssthresh);
        CHECK(sent == (d * 14 + 19) / 20);
    }
    // Everything sent is acknowledged: recovery ends with the window at ssthresh (and what
    // this ACK lets congestion avoidance add).
    p.send(p.sk().snd_nxt - p.our_isn - 1);
    CHECK(p.sk().ca_state == TcpCaState::open);
    CHECK(p.sk().snd_cwnd >= 14);
    CHECK(p.sk().snd_cwnd <= 16);
    CHECK(p.ext(TcpExtMib::TCPTimeouts) == 0);
}

TEST_CASE("a tail loss probe goes out 2 SRTT after the last ACK, retransmitting the last segment",
          "[tcp][tlp]") {
    Peer p;
    p.open(20 * kNsPerMs);
    p.write(4);
    REQUIRE(p.out().size() == 4);
    p.advance(20 * kNsPerMs);
    p.send(2 * kMss);  // the first two arrive, the last two are lost: a tail loss
    const Nanos srtt = p.sk().srtt;
    CHECK(srtt >= 19 * kNsPerMs);
    CHECK(srtt <= 21 * kNsPerMs);
    const Nanos acked_at = p.clock.now_ns();
    Nanos probe_at = 0;
    std::vector<Out> o;
    while (o.empty() && p.clock.now_ns() - acked_at < kNsPerSec) {
        p.advance(kNsPerMs);
        o = p.out();
        if (!o.empty()) probe_at = p.clock.now_ns() - acked_at;
    }
    REQUIRE(o.size() == 1);
    CHECK(off(p, o[0]) == 3 * kMss);  // the last segment (RFC 8985 7.3: no new data to send)
    // PTO = 2 * SRTT + TCP_TIMEOUT_MIN (more than one segment out), well before the 200 ms RTO.
    CHECK(probe_at >= 2 * srtt);
    CHECK(probe_at <= 2 * srtt + 3 * kNsPerMs);
    CHECK(p.ext(TcpExtMib::TCPLossProbes) == 1);
    // The probe's ACK reveals segment 2 is missing: SACK recovery repairs it, still no RTO.
    p.advance(20 * kNsPerMs);
    p.send(2 * kMss, {{3 * kMss, 4 * kMss}});
    o = p.out();
    REQUIRE_FALSE(o.empty());
    CHECK(off(p, o[0]) == 2 * kMss);
    p.send(4 * kMss);
    CHECK(p.ext(TcpExtMib::TCPTimeouts) == 0);
    CHECK(p.sk().packets_out() == 0);
}

TEST_CASE("a D-SACK proving the retransmission unnecessary undoes the window reduction",
          "[tcp][sack][undo]") {
    Peer p;
    p.open();
    p.write(10);
    REQUIRE(p.out().size() == 10);
    p.advance(10 * kNsPerMs);
    // Segment 0 is only delayed: the SACKs for 1-3 make it look lost.
    for (std::uint32_t k = 1; k <= 3; ++k) p.send(0, {{kMss, (k + 1) * kMss}});
    auto o = p.out();
    REQUIRE_FALSE(o.empty());
    CHECK(off(p, o[0]) == 0);
    CHECK(p.sk().snd_ssthresh == 7);
    // The original arrives and everything is acknowledged, then the retransmission arrives
    // too: the peer reports it with a D-SACK below the ACK.
    p.send(10 * kMss);
    p.send(10 * kMss, {{0, kMss}});
    CHECK(p.ext(TcpExtMib::TCPDSACKRecv) == 1);
    CHECK(p.ext(TcpExtMib::TCPDSACKUndo) + p.ext(TcpExtMib::TCPFullUndo) == 1);
    CHECK(p.sk().snd_cwnd >= 10);  // undo_cwnd: the window before the reduction
    CHECK(p.sk().snd_ssthresh > 7);
}

TEST_CASE("PAWS drops a segment with an old timestamp and ACKs it", "[tcp][paws]") {
    Peer p;
    p.open();
    const std::uint32_t base = p.peer_seq;
    p.send(0, {}, 100);
    p.peer_seq += 100;
    auto o = p.out();
    REQUIRE_FALSE(o.empty());
    CHECK(o.back().tcp.ack == base + 100);
    const auto drops = p.stack.net_rx().drops().count(DropReason::tcp_rfc7323_paws);
    p.send(0, {}, 100, wire::kTcpAck, p.ts - 100);  // TSval older than ts_recent
    o = p.out();
    REQUIRE(o.size() == 1);
    CHECK(o[0].tcp.ack == base + 100);  // the data was not taken
    CHECK(p.ext(TcpExtMib::PAWSEstab) == 1);
    CHECK(p.stack.net_rx().drops().count(DropReason::tcp_rfc7323_paws) == drops + 1);
    std::vector<std::uint8_t> buf(1000);
    std::size_t n = 0;
    CHECK_FALSE(p.sock->try_recv(buf, n));
    CHECK(n == 100);
}

TEST_CASE("TCP_INFO reports cubic's state, the scoreboard and the RTT in Linux's units",
          "[tcp][info]") {
    Peer p;
    p.open(10 * kNsPerMs);
    p.write(10);
    REQUIRE(p.out().size() == 10);
    p.advance(10 * kNsPerMs);
    for (std::uint32_t k = 1; k <= 3; ++k) p.send(0, {{kMss, (k + 1) * kMss}});
    struct tcp_info info;
    tcp_get_info(p.sk(), p.clock.now_ns(), info);
    CHECK(std::string(tcp_ca_name(p.sk())) == "cubic");
    CHECK(info.tcpi_state == 1);     // TCP_ESTABLISHED
    CHECK(info.tcpi_ca_state == 3);  // TCP_CA_Recovery
    CHECK(info.tcpi_snd_mss == kMss);
    CHECK(info.tcpi_unacked == 10);
    CHECK(info.tcpi_sacked == 3);
    CHECK(info.tcpi_lost == 1);
    CHECK(info.tcpi_retrans == 1);
    CHECK(info.tcpi_total_retrans == 1);
    CHECK(info.tcpi_snd_ssthresh == 7);
    CHECK(info.tcpi_rtt >= 9000);
    CHECK(info.tcpi_rtt <= 11000);
    CHECK((info.tcpi_options & (TCPI_OPT_SACK | TCPI_OPT_TIMESTAMPS | TCPI_OPT_WSCALE)) ==
          (TCPI_OPT_SACK | TCPI_OPT_TIMESTAMPS | TCPI_OPT_WSCALE));
    CHECK(info.tcpi_snd_wscale == 7);
    CHECK(info.tcpi_rcv_wscale == 7);
}

TEST_CASE("CUBIC's window after a loss follows RFC 9438's W_cubic(t) = C (t - K)^3 + W_max",
          "[tcp][cubic]") {
    VirtualClock clock;
    Stack stack(test::inline_config(), clock);
    auto sk = stack.tcp().create();
    const TcpCongestionOps& cubic = *tcp_ca_find("cubic");
    sk->ca_ops = &cubic;
    cubic.init(*sk);
    const Nanos rtt = 100 * kNsPerMs;
    sk->snd_cwnd = 100;
    sk->is_cwnd_limited = true;
    // A loss at W_max = 100: ssthresh = cwnd = 100 * 0.7 (RFC 9438 4.6).
    sk->snd_ssthresh = cubic.ssthresh(*sk);
    sk->snd_cwnd = sk->snd_ssthresh;
    CHECK(sk->snd_cwnd == 70);  // 100 * 717 / 1024
    const double C = 0.4, beta = 717.0 / 1024, wmax = 100;
    const double K = std::cbrt(wmax * (1 - beta) / C);  // RFC 9438 eq. 2
    // A window's worth of ACKs every RTT, each with an RTT sample.
    double t = 0;
    auto run_until = [&](double until) {
        while (t < until) {
            clock.advance(rtt);
            t += 0.1;
            const std::uint32_t acks = sk->snd_cwnd;
            for (std::uint32_t i = 0; i < acks; ++i) {
                cubic.pkts_acked(*sk, TcpAckSample{1, rtt, sk->snd_cwnd});
                cubic.cong_avoid(*sk, 0, 1);
            }
        }
    };
    auto w_cubic = [&](double at) { return C * std::pow(at - K, 3) + wmax; };
    run_until(K);
    // At K the window is back at W_max (the plateau), within a few segments (ACK clocking and
    // the RTT that t includes).
    CHECK(std::abs(sk->snd_cwnd - w_cubic(t)) <= 5);
    run_until(K + 2);
    CHECK(std::abs(sk->snd_cwnd - w_cubic(t + 0.1)) <= 0.06 * w_cubic(t + 0.1));
    CHECK(sk->snd_cwnd > 100);  // convex growth beyond W_max
}

TEST_CASE("a congestion control registered from outside is used by new connections",
          "[tcp][cong]") {
    TcpCongestionOps fixed;
    fixed.name = "fixed5";
    fixed.ssthresh = [](TcpSock&) { return 5u; };
    fixed.cong_avoid = [](TcpSock& s, std::uint32_t, std::uint32_t) { s.snd_cwnd = 5; };
    fixed.undo_cwnd = [](TcpSock& s) { return s.snd_cwnd; };
    fixed.init = [](TcpSock& s) { s.snd_cwnd = 5; };
    REQUIRE_FALSE(tcp_register_congestion_control(fixed));
    CHECK(tcp_register_congestion_control(fixed) == std::errc::file_exists);
    StackConfig c = test::inline_config();
    c.tcp.tcp_congestion_control = "fixed5";
    VirtualClock clock;
    Stack stack(c, clock);
    test::WireDevice& eth = test::add_wire(stack);
    TcpSocket client(stack);
    REQUIRE(client.connect_start({{198, 18, 0, 1}, 80}) == std::errc::operation_in_progress);
    const auto syn = wire::TcpRepr::parse(wire::TcpView(eth.sent.at(0)->bytes().subspan(20)));
    wire::TcpRepr synack;
    synack.src_port = 80;
    synack.dst_port = syn.src_port;
    synack.seq = 7000;
    synack.ack = syn.seq + 1;
    synack.flags = wire::kTcpSyn | wire::kTcpAck;
    synack.window = 65535;
    synack.options.mss = 1460;
    test::inject(stack, eth, test::tcp_segment({198, 18, 0, 1}, {198, 18, 0, 2}, synack));
    REQUIRE(client.state() == TcpState::established);
    CHECK(std::string(tcp_ca_name(client.sock())) == "fixed5");
    std::vector<std::uint8_t> data(20 * 1460);
    std::size_t n = 0;
    const std::size_t before = eth.sent.size();
    REQUIRE_FALSE(client.try_send(data, n));
    CHECK(eth.sent.size() - before == 5);  // its window, not IW10
    tcp_unregister_congestion_control("fixed5");
    CHECK(tcp_ca_find("fixed5") == nullptr);
}

TEST_CASE(
    "ECN as RFC 3168: negotiated on request, CE echoed as ECE until CWR, ECE halves cwnd once",
    "[tcp][ecn]") {
    Peer p;
    p.open(10 * kNsPerMs, wire::kTcpEce | wire::kTcpCwr);  // tcp_ecn = 2: answer when asked
    CHECK((p.synack_flags & (wire::kTcpEce | wire::kTcpCwr)) == wire::kTcpEce);
    // Receiver: a CE-marked segment is ACKed with ECE, and so is everything until CWR.
    p.send_ce(100);
    auto o = p.out();
    REQUIRE_FALSE(o.empty());
    CHECK((o.back().tcp.flags & wire::kTcpEce));
    p.send(0, {}, 100);
    p.peer_seq += 100;
    o = p.out();
    REQUIRE_FALSE(o.empty());
    CHECK((o.back().tcp.flags & wire::kTcpEce));
    p.send(0, {}, 100, wire::kTcpAck | wire::kTcpCwr);
    p.peer_seq += 100;
    p.advance(50 * kNsPerMs);  // let a delayed ACK go
    o = p.out();
    REQUIRE_FALSE(o.empty());
    CHECK_FALSE((o.back().tcp.flags & wire::kTcpEce));
    // Sender: new data is ECT(0); an ECE reduces the window (CWR state), and the next new
    // segment says CWR.
    const std::size_t first = p.seen;
    p.write(4);
    o = p.out();
    REQUIRE(o.size() == 4);
    CHECK((p.tos(first) & 0x3) == 0x2);
    p.advance(10 * kNsPerMs);
    p.send(kMss, {}, 0, wire::kTcpAck | wire::kTcpEce);
    CHECK(p.sk().ca_state == TcpCaState::cwr);
    CHECK(p.sk().snd_ssthresh == 7);  // cubic: 10 * 0.7
    CHECK(p.ext(TcpExtMib::TCPDeliveredCE) == 1);
    p.write(1);
    o = p.out();
    REQUIRE_FALSE(o.empty());
    CHECK((o.back().tcp.flags & wire::kTcpCwr));
    CHECK(p.ext(TcpExtMib::TCPTimeouts) == 0);
}

TEST_CASE("an ICMP fragmentation-needed lowers the MSS and what was too big goes again in pieces",
          "[tcp][pmtu]") {
    Peer p;
    p.open();
    p.write(2);
    REQUIRE(p.out().size() == 2);
    // A router on the path: "fragmentation needed, next-hop MTU 1280", quoting our first
    // segment's IP header and 8 bytes of TCP (RFC 792, RFC 1191).
    const auto first = p.eth.sent[p.seen - 2]->bytes();
    const std::vector<std::uint8_t> quoted(first.begin(), first.begin() + 28);
    const wire::IcmpRepr icmp{wire::kIcmpDestUnreach, wire::kIcmpFragNeeded, 1280, quoted};
    std::vector<std::uint8_t> pkt(wire::kIpv4MinHeader + icmp.buffer_len());
    wire::Ipv4Repr ip;
    ip.src = Ipv4Address{198, 18, 0, 254};
    ip.dst = p.us;
    ip.protocol = wire::kIpProtoIcmp;
    ip.payload_len = icmp.buffer_len();
    ip.emit({pkt.data(), wire::kIpv4MinHeader});
    icmp.emit({pkt.data() + wire::kIpv4MinHeader, icmp.buffer_len()});
    test::inject(p.stack, p.eth, pkt);
    // tcp_sync_mss: 1280 - 40 - 12 of timestamps.
    CHECK(p.sk().mss == 1228);
    const auto o = p.out();
    REQUIRE(o.size() == 4);  // each 1448-byte segment again as 1228 + 220
    CHECK(off(p, o[0]) == 0);
    CHECK(o[0].len == 1228);
    CHECK(off(p, o[1]) == 1228);
    CHECK(o[1].len == 220);
    CHECK(off(p, o[2]) == kMss);
    CHECK(o[2].len == 1228);
    CHECK(o[3].len == 220);
    for (std::size_t n = p.seen - 4; n < p.seen; ++n) CHECK(p.eth.sent[n]->bytes().size() <= 1280);
    // New data is cut to the new size too.
    p.send(2 * kMss);
    p.write(1);
    const auto more = p.out();
    REQUIRE_FALSE(more.empty());
    CHECK(more[0].len == 1228);
}
