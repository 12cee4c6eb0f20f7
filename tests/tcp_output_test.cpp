// What TCP puts on the wire for a write, against a scripted peer (tcp_peer.hpp): GSO packets
// with PSH on their last segment, TCP_MAXSEG in the SYN-ACK, TCP_CORK and MSG_MORE holding a
// partial segment, MSG_EOR ending segments at a record, TCP_USER_TIMEOUT ending a connection,
// and the reset that answers data for a closed socket.
#include <catch2/catch.hpp>

#include "tcp_peer.hpp"

using namespace vlo;
using vlo::test::kMss;
using vlo::test::off;
using vlo::test::Out;
using vlo::test::Peer;

namespace {

bool psh(const Out& o) { return o.tcp.flags & wire::kTcpPsh; }

std::error_code write_bytes(Peer& p, std::size_t n, TcpSendFlags flags = {}) {
    std::vector<std::uint8_t> data(n, 0xa5);
    std::size_t sent = 0;
    const std::error_code ec = p.sock->try_send(data, sent, flags);
    REQUIRE(sent == n);
    return ec;
}

}  // namespace

TEST_CASE("a write leaves as GSO packets of tcp_tso_segs segments, PSH on each one's last",
          "[tcp][output]") {
    Peer p;
    p.open();  // 10 ms RTT: the pacing rate makes GSO packets of tcp_min_tso_segs (2) segments
    p.write(10);
    const auto o = p.out();
    REQUIRE(o.size() == 10);
    for (std::size_t i = 0; i < o.size(); ++i) {
        INFO("segment " << i);
        CHECK(o[i].len == kMss);
        CHECK(psh(o[i]) == (i % 2 == 1));  // the second of each pair ends a GSO packet
    }
    CHECK(p.sk().pacing_rate > 0);
    // The peer loses the first pair's tail; the retransmission alone carries no PSH (it was the
    // transmitted clone's, not the skb's) and no longer belongs to a two-segment packet.
    p.send(0, {{2 * kMss, 10 * kMss}});
    p.send(0, {{2 * kMss, 10 * kMss}});
    p.send(0, {{2 * kMss, 10 * kMss}});
    const auto r = p.out();
    REQUIRE_FALSE(r.empty());
    CHECK(off(p, r[0]) == 0);
}

TEST_CASE("TCP_MAXSEG on a listener caps the MSS its children announce and send", "[tcp][output]") {
    Peer p;
    p.listener_mss = 1100;
    p.open();
    CHECK(p.synack_mss == 1100);
    CHECK(p.sk().advmss <= 1100);
    p.write(1);  // 1448 bytes: two segments now, of at most 1100 less 12 of timestamps
    const auto o = p.out();
    REQUIRE(o.size() == 2);
    CHECK(o[0].len == 1100 - 12);
    CHECK(o[1].len == kMss - (1100 - 12));
}

TEST_CASE("MSG_MORE holds a partial segment without PSH; the probe timer sends it after the RTO",
          "[tcp][output]") {
    Peer p;
    p.open();  // TCP_NODELAY is on: only the MSG_MORE cork holds data back
    write_bytes(p, 40, {.more = true});
    CHECK(p.out().empty());
    p.advance(p.sk().rto - kNsPerMs);
    CHECK(p.out().empty());
    p.advance(2 * kNsPerMs);
    auto o = p.out();
    REQUIRE(o.size() == 1);
    CHECK(o[0].len == 40);
    CHECK(psh(o[0]));  // tcp_write_wakeup marks what it sends
    p.send(40);
    // Full segments go at once; the partial rest waits, and a write without MSG_MORE ends it.
    write_bytes(p, kMss + 100, {.more = true});
    o = p.out();
    REQUIRE(o.size() == 1);
    CHECK(o[0].len == kMss);
    CHECK_FALSE(psh(o[0]));
    write_bytes(p, 5);
    o = p.out();
    REQUIRE(o.size() == 1);
    CHECK(o[0].len == 105);
    CHECK(psh(o[0]));
}

TEST_CASE("TCP_CORK sends only full segments; uncorking sends the rest", "[tcp][output]") {
    Peer p;
    p.open();
    p.stack.tcp().set_cork(p.sk(), true);
    write_bytes(p, 40);
    write_bytes(p, 40);
    CHECK(p.out().empty());
    p.stack.tcp().set_cork(p.sk(), false);
    const auto o = p.out();
    REQUIRE(o.size() == 1);
    CHECK(o[0].len == 80);
    CHECK(psh(o[0]));
}

TEST_CASE("MSG_EOR ends a record: no segment carries bytes of both sides", "[tcp][output]") {
    Peer p;
    p.open();
    write_bytes(p, kMss + 400, {.eor = true});
    write_bytes(p, kMss);
    const auto o = p.out();
    REQUIRE(o.size() == 3);
    CHECK(o[0].len == kMss);
    CHECK(o[1].len == 400);
    CHECK(psh(o[1]));  // the record's end keeps its PSH: nothing was appended to its skb
    CHECK(o[2].len == kMss);
}

TEST_CASE(
    "TCP_USER_TIMEOUT ends a connection unacknowledged that long after its first retransmission",
    "[tcp][output]") {
    Peer p;
    p.open();
    p.sk().user_timeout = 3 * kNsPerSec;
    p.write(1);
    REQUIRE(p.out().size() == 1);
    // retransmits_timed_out counts from retrans_stamp, the first retransmission's send time.
    // (The tail loss probe before it is no retransmission of that kind.)
    Nanos first_retrans = 0;
    const Nanos t0 = p.clock.now_ns();
    const std::uint64_t timeouts = p.ext(TcpExtMib::TCPTimeouts);
    while (p.sock->state() != TcpState::close && p.clock.now_ns() - t0 < 60 * kNsPerSec) {
        p.advance(kNsPerMs);
        if (!first_retrans && p.ext(TcpExtMib::TCPTimeouts) > timeouts)
            first_retrans = p.clock.now_ns();
    }
    REQUIRE(first_retrans);
    const Nanos took = p.clock.now_ns() - first_retrans;
    CHECK(took >= 3 * kNsPerSec);
    CHECK(took <= 3 * kNsPerSec + 2 * kNsPerMs);  // the RTO was clamped to the timeout's end
    CHECK(p.sock->so_error() == std::errc::timed_out);
    CHECK(p.eth.sent.back()->bytes()[wire::kIpv4MinHeader + 13] & wire::kTcpRst);
}

TEST_CASE("data for a closed socket is answered with a reset at SEG.ACK, without ACK",
          "[tcp][output]") {
    Peer p;
    p.open();
    REQUIRE_FALSE(p.sock->close());
    auto o = p.out();
    REQUIRE(o.size() == 1);
    CHECK(o[0].tcp.flags & wire::kTcpFin);
    const std::uint64_t aborts = p.ext(TcpExtMib::TCPAbortOnData);
    p.send(0, {}, 100);
    o = p.out();
    REQUIRE(o.size() == 1);
    CHECK(o[0].tcp.flags == wire::kTcpRst);  // tcp_v4_send_reset: RST alone
    CHECK(o[0].tcp.seq == p.our_seq(0));     // SEQ = the segment's ACK
    CHECK(p.ext(TcpExtMib::TCPAbortOnData) == aborts + 1);
}
