// TCP through the modeled lo on the deterministic setup (inline worker, virtual clock):
// handshakes, data, every order of closing, TIME_WAIT, refusals and timeouts in virtual time,
// loss and recovery, the listen backlog and SYN cookies, and what goes on the wire.
#include <functional>
#include <random>
#include <thread>

#include <catch2/catch.hpp>
#include <tins/tins.h>

#include "stack/tcp_socket.hpp"
#include "test_util.hpp"

using namespace vlo;

namespace {

struct Lo {
    VirtualClock clock;
    Stack stack;
    explicit Lo(StackConfig c = test::inline_config()) : stack(c, clock) {}
    std::uint64_t tcp(TcpMib c) { return stack.tcp().stats().tcp.get(c); }
    std::uint64_t ext(TcpExtMib c) { return stack.tcp().stats().ext.get(c); }
    // Moves virtual time in 10 ms steps, so timers fire in order and what they send is
    // processed in between.
    void advance(Nanos by) {
        for (; by > 0; by -= 10 * kNsPerMs) {
            clock.advance(std::min(10 * kNsPerMs, by));
            stack.run_timers();
        }
    }
};

std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

std::string recv_all(TcpSocket& s) {
    std::string out;
    std::vector<std::uint8_t> buf(65536);
    for (;;) {
        std::size_t n = 0;
        if (s.try_recv(buf, n) || n == 0) break;
        out.append(buf.begin(), buf.begin() + static_cast<long>(n));
    }
    return out;
}

std::vector<std::uint8_t> random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<std::uint8_t> v(n);
    for (auto& b : v) b = static_cast<std::uint8_t>(rng());
    return v;
}

// Drops a seeded fraction of what lo delivers: a test-local stand-in for fault rules.
struct LossySink final : RxSink {
    LossySink(RxSink& next, double p, unsigned seed) : next(next), p(p), rng(seed) {}
    NetRxResult netif_rx(PacketPtr pkt) override {
        if (std::uniform_real_distribution<>(0, 1)(rng) < p) {
            ++dropped;
            return NetRxResult::success;  // lost "on the wire"
        }
        return next.netif_rx(std::move(pkt));
    }
    RxSink& next;
    double p;
    std::mt19937 rng;
    int dropped = 0;
};

// Listener on 127.0.0.1:80 and one accepted connection.
struct Pair {
    Lo& lo;
    TcpSocket listener{lo.stack};
    TcpSocket client{lo.stack};
    std::unique_ptr<TcpSocket> server;
    explicit Pair(Lo& l, SockAddr at = {kInaddrLoopback, 80}) : lo(l) {
        REQUIRE_FALSE(listener.bind(at));
        REQUIRE_FALSE(listener.listen(16));
        REQUIRE_FALSE(client.connect(at, kNsPerSec));
        std::error_code ec;
        server = listener.try_accept(ec);
        REQUIRE(server);
    }
};

// Moves `data` from tx to rx in one thread, advancing virtual time when nothing moves, and
// closes tx's side at the end. Returns what rx read until end of stream.
std::vector<std::uint8_t> pump(Lo& lo, TcpSocket& tx, TcpSocket& rx, const std::vector<std::uint8_t>& data,
                               int max_rounds = 200000) {
    std::vector<std::uint8_t> got, buf(256 * 1024);
    std::size_t off = 0;
    bool shut = false;
    for (int round = 0; round < max_rounds; ++round) {
        bool progress = false;
        if (off < data.size()) {
            std::size_t n = 0;
            tx.try_send(std::span(data).subspan(off), n);
            off += n;
            progress |= n > 0;
        } else if (!shut) {
            tx.shutdown(Shutdown::write);
            shut = true;
        }
        std::size_t n = 0;
        const std::error_code ec = rx.try_recv(buf, n);
        if (!ec && n == 0) break;  // end of stream
        if (ec && ec != std::errc::resource_unavailable_try_again) break;
        got.insert(got.end(), buf.begin(), buf.begin() + static_cast<long>(n));
        progress |= n > 0;
        if (!progress) lo.advance(10 * kNsPerMs);
    }
    return got;
}

const SockAddr kServer{kInaddrLoopback, 80};

}  // namespace

TEST_CASE("three-way handshake, data both ways, active close, TIME_WAIT expiry", "[tcp]") {
    Lo lo;
    Pair p(lo);
    TcpSocket& client = p.client;
    CHECK(client.state() == TcpState::established);
    CHECK(p.server->state() == TcpState::established);
    CHECK(p.server->peer_address() == client.local_address());
    CHECK(client.local_address().port >= 32768);
    CHECK(client.local_address().port <= 60999);
    CHECK(lo.tcp(TcpMib::ActiveOpens) == 1);
    CHECK(lo.tcp(TcpMib::PassiveOpens) == 1);
    CHECK(lo.tcp(TcpMib::CurrEstab) == 2);
    // /proc/net/snmp's order: ... IcmpMsg, Tcp, Udp; TcpExt as in netstat.
    const std::string snmp = lo.stack.snmp_text();
    CHECK(snmp.find("Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens") != std::string::npos);
    CHECK(snmp.find("Tcp: 1 200 120000 -1 1 1 0 0 2 ") != std::string::npos);
    CHECK(snmp.find("Tcp:") < snmp.find("Udp:"));
    CHECK(snmp.find("TcpExt:") != std::string::npos);

    std::size_t n = 0;
    REQUIRE_FALSE(client.send(bytes("hello"), n));
    CHECK(n == 5);
    CHECK(recv_all(*p.server) == "hello");
    REQUIRE_FALSE(p.server->send(bytes("world!"), n));
    CHECK(recv_all(client) == "world!");

    // The client closes first: FIN_WAIT2 until the server closes, then TIME_WAIT for 2*MSL.
    TcpSock& c = client.sock();
    REQUIRE_FALSE(client.shutdown(Shutdown::write));
    CHECK(c.state == TcpState::fin_wait2);
    CHECK(p.server->state() == TcpState::close_wait);
    std::vector<std::uint8_t> buf(16);
    REQUIRE_FALSE(p.server->try_recv(buf, n));
    CHECK(n == 0);  // end of stream
    REQUIRE_FALSE(p.server->close());
    CHECK(c.state == TcpState::time_wait);
    CHECK(lo.tcp(TcpMib::CurrEstab) == 0);
    lo.advance(59 * kNsPerSec);
    CHECK(c.state == TcpState::time_wait);
    lo.advance(2 * kNsPerSec);
    CHECK(c.state == TcpState::close);
    CHECK(lo.ext(TcpExtMib::TW) == 1);
}

TEST_CASE("the server closes first: the client goes CLOSE_WAIT then LAST_ACK, the server keeps TIME_WAIT", "[tcp]") {
    Lo lo;
    Pair p(lo);
    TcpSock& s = p.server->sock();
    REQUIRE_FALSE(p.server->shutdown(Shutdown::write));
    CHECK(s.state == TcpState::fin_wait2);
    CHECK(p.client.state() == TcpState::close_wait);
    REQUIRE_FALSE(p.client.close());
    CHECK(p.client.state() == TcpState::close);  // LAST_ACK, then acknowledged at once on lo
    CHECK(s.state == TcpState::time_wait);
}

TEST_CASE("simultaneous close: both FINs cross, both sides go CLOSING then TIME_WAIT", "[tcp]") {
    Lo lo;
    Pair p(lo);
    lo.stack.net_rx().hold(true);  // the FINs are in flight together
    REQUIRE_FALSE(p.client.shutdown(Shutdown::write));
    REQUIRE_FALSE(p.server->shutdown(Shutdown::write));
    CHECK(p.client.state() == TcpState::fin_wait1);
    CHECK(p.server->state() == TcpState::fin_wait1);
    lo.stack.net_rx().hold(false);
    while (lo.stack.net_rx().poll(0) > 0) {
    }
    CHECK(p.client.state() == TcpState::time_wait);
    CHECK(p.server->state() == TcpState::time_wait);
    lo.advance(61 * kNsPerSec);
    CHECK(p.client.state() == TcpState::close);
    CHECK(p.server->state() == TcpState::close);
}

TEST_CASE("simultaneous open: two SYNs cross and both ends reach ESTABLISHED", "[tcp]") {
    Lo lo;
    TcpSocket a(lo.stack), b(lo.stack);
    REQUIRE_FALSE(a.bind({kInaddrLoopback, 5000}));
    REQUIRE_FALSE(b.bind({kInaddrLoopback, 6000}));
    lo.stack.net_rx().hold(true);
    CHECK(a.connect_start({kInaddrLoopback, 6000}) == std::errc::operation_in_progress);
    CHECK(b.connect_start({kInaddrLoopback, 5000}) == std::errc::operation_in_progress);
    lo.stack.net_rx().hold(false);
    while (lo.stack.net_rx().poll(0) > 0) {
    }
    CHECK(a.state() == TcpState::established);
    CHECK(b.state() == TcpState::established);
    CHECK_FALSE(a.so_error());
    std::size_t n = 0;
    REQUIRE_FALSE(a.send(bytes("ping"), n));
    CHECK(recv_all(b) == "ping");
}

TEST_CASE("half-close: after shutdown(SHUT_WR) the other direction still flows", "[tcp]") {
    Lo lo;
    Pair p(lo);
    REQUIRE_FALSE(p.client.shutdown(Shutdown::write));
    std::size_t n = 0;
    REQUIRE_FALSE(p.server->send(bytes("still talking"), n));
    CHECK(recv_all(p.client) == "still talking");
    CHECK(p.client.send(bytes("x"), n) == std::errc::broken_pipe);  // EPIPE after SHUT_WR
    REQUIRE_FALSE(p.server->close());
    std::vector<std::uint8_t> buf(8);
    REQUIRE_FALSE(p.client.try_recv(buf, n));
    CHECK(n == 0);
}

TEST_CASE("closing with unread data sends a RST: the peer sees ECONNRESET", "[tcp]") {
    Lo lo;
    Pair p(lo);
    std::size_t n = 0;
    REQUIRE_FALSE(p.client.send(bytes("unread"), n));
    REQUIRE_FALSE(p.server->close());  // RFC 2525 2.17
    CHECK(lo.ext(TcpExtMib::TCPAbortOnClose) == 1);
    CHECK(lo.tcp(TcpMib::OutRsts) == 1);
    std::vector<std::uint8_t> buf(8);
    CHECK(p.client.try_recv(buf, n) == std::errc::connection_reset);
    CHECK(p.client.state() == TcpState::close);
    // tcp_set_state counts every direct ESTABLISHED -> CLOSED step: both ends here.
    CHECK(lo.tcp(TcpMib::EstabResets) == 2);
}

TEST_CASE("a SYN to a closed port draws a RST: ECONNREFUSED", "[tcp]") {
    Lo lo;
    TcpSocket client(lo.stack);
    CHECK(client.connect({*Ipv4Address::parse("127.0.0.2"), 80}, kNsPerSec) == std::errc::connection_refused);
    CHECK(lo.tcp(TcpMib::OutRsts) == 1);
    CHECK(lo.tcp(TcpMib::AttemptFails) == 1);
}

TEST_CASE("the RST for a closed port carries what RFC 9293 3.10.7.1 says", "[tcp][wire]") {
    Lo lo;
    test::WireDevice& eth = test::add_wire(lo.stack);
    const Ipv4Address peer{198, 18, 0, 1}, us{198, 18, 0, 2};
    wire::TcpRepr syn;
    syn.src_port = 40000;
    syn.dst_port = 81;
    syn.seq = 1000;
    syn.flags = wire::kTcpSyn;
    syn.window = 64240;
    test::inject(lo.stack, eth, test::tcp_segment(peer, us, syn));
    REQUIRE(eth.sent.size() == 1);
    const auto b = eth.sent[0]->bytes();
    Tins::IP ip(b.data(), static_cast<std::uint32_t>(b.size()));
    const auto& tcp = ip.rfind_pdu<Tins::TCP>();
    CHECK(ip.src_addr() == Tins::IPv4Address("198.18.0.2"));
    CHECK(ip.dst_addr() == Tins::IPv4Address("198.18.0.1"));
    CHECK(ip.ttl() == 64);
    CHECK(tcp.sport() == 81);
    CHECK(tcp.dport() == 40000);
    CHECK(tcp.seq() == 0);
    CHECK(tcp.ack_seq() == 1001);  // SEG.SEQ + SEG.LEN, the SYN counting one
    CHECK(tcp.flags() == (Tins::TCP::RST | Tins::TCP::ACK));
    // A device without offload gets a full, valid checksum.
    CHECK(wire::tcp_checksum(us, peer, b.subspan(20)) == 0);
    // And a RST is never answered with a RST.
    syn.flags = wire::kTcpRst;
    test::inject(lo.stack, eth, test::tcp_segment(peer, us, syn));
    CHECK(eth.sent.size() == 1);
}

TEST_CASE("connect against a silent peer: SYN retries at 1, 2, 4... s, then ETIMEDOUT at 127 s", "[tcp]") {
    Lo lo;
    test::WireDevice& eth = test::add_wire(lo.stack);
    TcpSocket client(lo.stack);
    const Nanos start = lo.clock.now_ns();
    CHECK(client.connect_start({{198, 18, 0, 77}, 80}) == std::errc::operation_in_progress);
    std::vector<Nanos> syn_times{0};
    std::size_t seen = 1;
    while (client.state() == TcpState::syn_sent && lo.clock.now_ns() - start < 200 * kNsPerSec) {
        lo.advance(10 * kNsPerMs);
        for (; seen < eth.sent.size(); ++seen) syn_times.push_back(lo.clock.now_ns() - start);
    }
    // tcp_syn_retries = 6: the first SYN and six retransmissions, the timeout doubling each time.
    REQUIRE(syn_times.size() == 7);
    const Nanos expect[] = {0, 1, 3, 7, 15, 31, 63};
    for (std::size_t i = 0; i < 7; ++i) CHECK(syn_times[i] / kNsPerSec == expect[i]);
    CHECK(client.state() == TcpState::close);
    CHECK((lo.clock.now_ns() - start) / kNsPerSec == 127);
    CHECK(client.so_error() == std::errc::timed_out);
    CHECK(lo.tcp(TcpMib::AttemptFails) == 1);
}

TEST_CASE("SYN-ACK as Linux's: MSS, SACK permitted, timestamps, window scale 7, window 45 x 1448", "[tcp][wire]") {
    Lo lo;
    test::WireDevice& eth = test::add_wire(lo.stack);
    TcpSocket listener(lo.stack);
    REQUIRE_FALSE(listener.bind({{}, 80}));
    REQUIRE_FALSE(listener.listen(8));
    const Ipv4Address peer{198, 18, 0, 1}, us{198, 18, 0, 2};
    wire::TcpRepr syn;
    syn.src_port = 40001;
    syn.dst_port = 80;
    syn.seq = 5000;
    syn.flags = wire::kTcpSyn;
    syn.window = 64240;
    syn.options.mss = 1460;
    syn.options.sack_permitted = true;
    syn.options.timestamp = std::pair{123456u, 0u};
    syn.options.wscale = 7;
    test::inject(lo.stack, eth, test::tcp_segment(peer, us, syn));
    REQUIRE(eth.sent.size() == 1);
    const auto b = eth.sent[0]->bytes();
    Tins::IP ip(b.data(), static_cast<std::uint32_t>(b.size()));
    const auto& tcp = ip.rfind_pdu<Tins::TCP>();
    CHECK(tcp.flags() == (Tins::TCP::SYN | Tins::TCP::ACK));
    CHECK(tcp.ack_seq() == 5001);
    CHECK(tcp.mss() == 1460);        // eth0's MTU 1500 less 40
    CHECK(tcp.winscale() == 7);
    CHECK(tcp.timestamp().second == 123456u);  // TSecr echoes the peer's TSval
    CHECK(tcp.has_sack_permitted());
    // tcp_select_initial_window: 65536 (tcp_rmem[1] at the default scaling ratio) rounded down
    // to whole segments of 1460 - 12 bytes of timestamp option.
    CHECK(tcp.window() == 65160);
    // tcp_options_write's layout: MSS, SACK_PERM folded into the timestamp's NOPs, NOP, WSCALE.
    const auto opt = b.subspan(40, 20);
    const std::vector<std::uint8_t> kinds{opt[0], opt[4], opt[6], opt[16], opt[17]};
    CHECK(kinds == std::vector<std::uint8_t>{2, 4, 8, 1, 3});
    CHECK(ip.flags() == Tins::IP::DONT_FRAGMENT);
    // The handshake completes with the third ACK and the child is accepted.
    wire::TcpRepr ack;
    ack.src_port = 40001;
    ack.dst_port = 80;
    ack.seq = 5001;
    ack.ack = tcp.seq() + 1;
    ack.flags = wire::kTcpAck;
    ack.window = 502;
    ack.options.timestamp = std::pair{123457u, tcp.timestamp().first};
    test::inject(lo.stack, eth, test::tcp_segment(peer, us, ack));
    std::error_code ec;
    auto child = listener.try_accept(ec);
    REQUIRE(child);
    CHECK(child->peer_address() == SockAddr{peer, 40001});
    CHECK(child->sock().snd_wnd == 502u << 7);  // the peer's window, scaled
    CHECK(child->sock().mss == 1460 - 12);      // timestamps take 12 bytes of each segment
}

TEST_CASE("segments held out of order across the sequence wrap are delivered once the hole fills", "[tcp][wire]") {
    Lo lo;
    test::WireDevice& eth = test::add_wire(lo.stack);
    TcpSocket listener(lo.stack);
    REQUIRE_FALSE(listener.bind({{}, 80}));
    REQUIRE_FALSE(listener.listen(8));
    const Ipv4Address peer{198, 18, 0, 1}, us{198, 18, 0, 2};
    // The peer's ISN puts its first 3000 bytes across 2^32: [-2000, -1000) [-1000, 0) [0, 1000).
    const std::uint32_t isn = 0u - 2001u;
    wire::TcpRepr seg;
    seg.src_port = 40002;
    seg.dst_port = 80;
    seg.seq = isn;
    seg.flags = wire::kTcpSyn;
    seg.window = 65535;
    seg.options.mss = 1460;
    test::inject(lo.stack, eth, test::tcp_segment(peer, us, seg));
    REQUIRE(eth.sent.size() == 1);
    const auto synack = eth.sent[0]->bytes();
    const std::uint32_t our_isn = Tins::IP(synack.data(), static_cast<std::uint32_t>(synack.size())).rfind_pdu<Tins::TCP>().seq();
    seg.options = {};
    seg.flags = wire::kTcpAck;
    seg.seq = isn + 1;
    seg.ack = our_isn + 1;
    test::inject(lo.stack, eth, test::tcp_segment(peer, us, seg));
    std::error_code ec;
    auto child = listener.try_accept(ec);
    REQUIRE(child);

    const auto data = random_bytes(3000, 11);
    const auto send = [&](std::size_t at) {
        seg.seq = isn + 1 + static_cast<std::uint32_t>(at);
        seg.flags = wire::kTcpAck | wire::kTcpPsh;
        test::inject(lo.stack, eth, test::tcp_segment(peer, us, seg, std::span(data).subspan(at, 1000)));
    };
    send(1000);  // held: the part just below the wrap
    send(2000);  // held: the part above it
    CHECK(recv_all(*child).empty());
    send(0);  // fills the hole: everything is in order now
    const std::string got = recv_all(*child);
    CHECK(got == std::string(data.begin(), data.end()));
    CHECK(child->sock().rcv_nxt == 1000u);
    CHECK(child->sock().ooo.empty());
    const auto last = eth.sent.back()->bytes();
    CHECK(Tins::IP(last.data(), static_cast<std::uint32_t>(last.size())).rfind_pdu<Tins::TCP>().ack_seq() == 1000u);
}

TEST_CASE("lo's MSS is 65495 (65535 - 40), with timestamps a segment carries 65483", "[tcp]") {
    Lo lo;
    Pair p(lo);
    CHECK(p.client.sock().peer_mss == 65495);
    CHECK(p.client.sock().mss == 65483);
    CHECK(p.server->sock().mss == 65483);
    CHECK(p.client.sock().ts_ok);
    CHECK(p.client.sock().snd_wscale == 7);
}

TEST_CASE("127.0.0.1:80 and 127.0.0.2:80 are two servers, bind errors as Linux", "[tcp]") {
    Lo lo;
    TcpSocket one(lo.stack), two(lo.stack);
    REQUIRE_FALSE(one.bind({kInaddrLoopback, 80}));
    REQUIRE_FALSE(two.bind({{127, 0, 0, 2}, 80}));
    REQUIRE_FALSE(one.listen(4));
    REQUIRE_FALSE(two.listen(4));
    TcpSocket c1(lo.stack), c2(lo.stack);
    REQUIRE_FALSE(c1.connect({kInaddrLoopback, 80}, kNsPerSec));
    REQUIRE_FALSE(c2.connect({{127, 0, 0, 2}, 80}, kNsPerSec));
    std::error_code ec;
    auto s1 = one.try_accept(ec);
    auto s2 = two.try_accept(ec);
    REQUIRE(s1);
    REQUIRE(s2);
    CHECK(s1->local_address() == SockAddr{kInaddrLoopback, 80});
    CHECK(s2->local_address() == SockAddr{{127, 0, 0, 2}, 80});
    CHECK(s1->peer_address() == c1.local_address());
    CHECK(s2->peer_address() == c2.local_address());
    CHECK_FALSE(one.try_accept(ec));

    TcpSocket wild(lo.stack), same(lo.stack), far(lo.stack);
    CHECK(wild.bind({{}, 80}) == std::errc::address_in_use);               // wildcard vs specific
    CHECK(same.bind({kInaddrLoopback, 80}) == std::errc::address_in_use);  // the same addr:port
    CHECK(far.bind({{10, 1, 1, 1}, 80}) == std::errc::address_not_available);

    // SO_REUSEADDR on both lifts the conflict for sockets that are not listening.
    TcpSocket r1(lo.stack), r2(lo.stack);
    REQUIRE_FALSE(r1.set_reuseaddr(true));
    REQUIRE_FALSE(r2.set_reuseaddr(true));
    REQUIRE_FALSE(r1.bind({kInaddrLoopback, 8080}));
    CHECK_FALSE(r2.bind({kInaddrLoopback, 8080}));
    REQUIRE_FALSE(r1.listen(1));
    CHECK(r2.listen(1) == std::errc::address_in_use);  // never two listeners
}

TEST_CASE("a full accept queue drops SYNs and counts ListenOverflows, accepting makes room", "[tcp]") {
    Lo lo;
    TcpSocket listener(lo.stack);
    REQUIRE_FALSE(listener.bind(kServer));
    REQUIRE_FALSE(listener.listen(1));  // the kernel holds backlog + 1
    std::vector<std::unique_ptr<TcpSocket>> clients;
    for (int i = 0; i < 4; ++i) {
        clients.push_back(std::make_unique<TcpSocket>(lo.stack));
        clients.back()->connect_start(kServer);
    }
    CHECK(clients[0]->state() == TcpState::established);
    CHECK(clients[1]->state() == TcpState::established);
    CHECK(clients[2]->state() == TcpState::syn_sent);
    CHECK(lo.ext(TcpExtMib::ListenOverflows) == 2);
    CHECK(lo.ext(TcpExtMib::ListenDrops) == 2);
    std::error_code ec;
    auto a = listener.try_accept(ec);
    auto b = listener.try_accept(ec);
    REQUIRE(a);
    REQUIRE(b);
    // The dropped SYNs come back after their retransmission timeout and now fit.
    lo.advance(1100 * kNsPerMs);
    CHECK(clients[2]->state() == TcpState::established);
    CHECK(clients[3]->state() == TcpState::established);
}

TEST_CASE("a SYN flood fills the SYN queue, then SYN cookies keep real clients coming", "[tcp]") {
    Lo lo;
    test::WireDevice& eth = test::add_wire(lo.stack);
    TcpSocket listener(lo.stack);
    REQUIRE_FALSE(listener.bind({{}, 80}));
    REQUIRE_FALSE(listener.listen(8));
    const Ipv4Address attacker{198, 18, 0, 66}, us{198, 18, 0, 2};
    for (std::uint16_t port = 1000; port < 1100; ++port) {  // spoofed SYNs, never completed
        wire::TcpRepr syn;
        syn.src_port = port;
        syn.dst_port = 80;
        syn.seq = port * 7919u;
        syn.flags = wire::kTcpSyn;
        syn.window = 1024;
        syn.options.mss = 1460;
        test::inject(lo.stack, eth, test::tcp_segment(attacker, us, syn));
    }
    CHECK(listener.sock().syn_queue == 9);
    CHECK(lo.ext(TcpExtMib::SyncookiesSent) == 91);
    // A real client still gets in: its SYN draws a cookie, its ACK proves it.
    TcpSocket client(lo.stack);
    REQUIRE_FALSE(client.connect({{198, 18, 0, 2}, 80}, kNsPerSec));
    CHECK(lo.ext(TcpExtMib::SyncookiesRecv) == 1);
    std::error_code ec;
    auto s = listener.try_accept(ec);
    REQUIRE(s);
    std::size_t n = 0;
    REQUIRE_FALSE(client.send(bytes("through the flood"), n));
    CHECK(recv_all(*s) == "through the flood");
    CHECK(s->sock().mss == 1460);  // the cookie's MSS table caps lo's 65495
}

TEST_CASE("RFC 5961: a RST or SYN that is in the window but not exact draws a challenge ACK", "[tcp]") {
    Lo lo;
    Pair p(lo);
    TcpSock& s = p.server->sock();
    wire::TcpRepr rst;
    rst.src_port = p.client.local_address().port;
    rst.dst_port = 80;
    rst.seq = s.rcv_nxt + 100;  // in window, not RCV.NXT: a blind attacker's guess
    rst.flags = wire::kTcpRst;
    const auto before = lo.tcp(TcpMib::OutSegs);
    test::inject(lo.stack, lo.stack.loopback(), test::tcp_segment(kInaddrLoopback, kInaddrLoopback, rst));
    CHECK(s.state == TcpState::established);
    CHECK(lo.ext(TcpExtMib::TCPChallengeACK) == 1);
    CHECK(lo.tcp(TcpMib::OutSegs) > before);
    rst.flags = wire::kTcpSyn;
    test::inject(lo.stack, lo.stack.loopback(), test::tcp_segment(kInaddrLoopback, kInaddrLoopback, rst));
    CHECK(s.state == TcpState::established);
    CHECK(lo.ext(TcpExtMib::TCPChallengeACK) == 2);
    // The exact sequence number resets.
    rst.flags = wire::kTcpRst;
    rst.seq = s.rcv_nxt;
    test::inject(lo.stack, lo.stack.loopback(), test::tcp_segment(kInaddrLoopback, kInaddrLoopback, rst));
    CHECK(s.state == TcpState::close);
}

TEST_CASE("Nagle holds a small segment while one is unacknowledged, TCP_NODELAY sends it", "[tcp]") {
    Lo lo;
    Pair p(lo);
    lo.stack.net_rx().hold(true);  // nothing is acknowledged meanwhile
    const auto before = lo.tcp(TcpMib::OutSegs);
    std::size_t n = 0;
    REQUIRE_FALSE(p.client.send(bytes("a"), n));
    REQUIRE_FALSE(p.client.send(bytes("b"), n));
    CHECK(lo.tcp(TcpMib::OutSegs) == before + 1);
    REQUIRE_FALSE(p.client.set_nodelay(true));
    CHECK(lo.tcp(TcpMib::OutSegs) == before + 2);
    lo.stack.net_rx().hold(false);
    while (lo.stack.net_rx().poll(0) > 0) {
    }
    CHECK(recv_all(*p.server) == "ab");
}

TEST_CASE("a lost segment is retransmitted on timeout, with backoff, until tcp_retries2", "[tcp]") {
    Lo lo;
    Pair p(lo);
    LossySink all_lost(lo.stack.net_rx(), 1.0, 1);
    lo.stack.loopback().set_rx_sink(&all_lost);
    std::size_t n = 0;
    REQUIRE_FALSE(p.client.send(bytes("into the void"), n));
    lo.advance(30 * 60 * kNsPerSec);
    CHECK(p.client.state() == TcpState::close);
    std::vector<std::uint8_t> buf(8);
    CHECK(p.client.try_recv(buf, n) == std::errc::timed_out);
    // One tail loss probe (RFC 8985 7), then tcp_retries2 timeouts' retransmissions.
    CHECK(lo.ext(TcpExtMib::TCPLossProbes) == 1);
    CHECK(lo.tcp(TcpMib::RetransSegs) == 1 + 15);
    CHECK(lo.ext(TcpExtMib::TCPTimeouts) == 16);
    lo.stack.loopback().set_rx_sink(&lo.stack.net_rx());
}

TEST_CASE("a transfer through a link that loses 5% arrives byte-identical, with retransmissions", "[tcp]") {
    Lo lo;
    Pair p(lo);
    LossySink lossy(lo.stack.net_rx(), 0.05, 42);
    lo.stack.loopback().set_rx_sink(&lossy);
    const auto data = random_bytes(4 << 20, 7);
    const auto got = pump(lo, p.client, *p.server, data);
    lo.stack.loopback().set_rx_sink(&lo.stack.net_rx());
    CHECK(lossy.dropped > 0);
    CHECK(got.size() == data.size());
    CHECK(got == data);
    CHECK(lo.tcp(TcpMib::RetransSegs) > 0);
}

TEST_CASE("a receiver that stops reading closes the window, zero-window probes, reading reopens it", "[tcp]") {
    StackConfig c = test::inline_config();
    c.tcp.tcp_rmem = 64 * 1024;
    Lo lo(c);
    Pair p(lo);
    const auto data = random_bytes(1 << 20, 3);
    std::size_t off = 0, n = 0;
    while (off < data.size()) {
        if (p.client.try_send(std::span(data).subspan(off), n)) break;
        off += n;
    }
    CHECK(p.server->sock().rcvq.free() < 128);  // less than one unit of the window scale (2^7)
    CHECK(p.client.sock().snd_wnd == 0);
    const auto probes_before = lo.tcp(TcpMib::OutSegs);
    lo.advance(5 * kNsPerSec);
    CHECK(lo.tcp(TcpMib::OutSegs) > probes_before);  // persist probes went out
    CHECK(p.client.state() == TcpState::established);
    const auto got = pump(lo, p.client, *p.server, std::vector<std::uint8_t>(data.begin() + static_cast<long>(off), data.end()));
    std::vector<std::uint8_t> all;
    // pump read everything queued at the server, the first `off` bytes included.
    CHECK(got.size() == data.size());
    CHECK(got == data);
}

TEST_CASE("keepalive probes an idle, silent peer and gives up with ETIMEDOUT", "[tcp]") {
    Lo lo;
    Pair p(lo);
    REQUIRE_FALSE(p.client.set_keepalive(true));
    LossySink all_lost(lo.stack.net_rx(), 1.0, 1);
    lo.stack.loopback().set_rx_sink(&all_lost);
    lo.advance(7200 * kNsPerSec - kNsPerSec);
    CHECK(lo.ext(TcpExtMib::TCPKeepAlive) == 0);
    lo.advance(2 * kNsPerSec);
    CHECK(lo.ext(TcpExtMib::TCPKeepAlive) == 1);
    lo.advance(9 * 75 * kNsPerSec);
    CHECK(lo.ext(TcpExtMib::TCPKeepAlive) == 9);
    CHECK(p.client.state() == TcpState::close);
    CHECK(p.client.so_error() == std::errc::timed_out);
    lo.stack.loopback().set_rx_sink(&lo.stack.net_rx());
}

TEST_CASE("an orphaned FIN_WAIT2 ends after tcp_fin_timeout", "[tcp]") {
    Lo lo;
    Pair p(lo);
    TcpSock& c = p.client.sock();
    REQUIRE_FALSE(p.client.close());
    CHECK(c.state == TcpState::fin_wait2);
    lo.advance(59 * kNsPerSec);
    CHECK(c.state == TcpState::fin_wait2);
    lo.advance(2 * kNsPerSec);
    CHECK(c.state == TcpState::close);
}

TEST_CASE("a bulk transfer through lo arrives byte-identical with every real-time worker", "[tcp][slow]") {
    // 64 MiB with the kernel's design, 8 MiB with each of the others.
    const WorkerKind worker = GENERATE(WorkerKind::softirq, WorkerKind::ksoftirqd, WorkerKind::busypoll);
    StackConfig config;
    config.core.worker = worker;
    Stack stack(config);  // real clock
    TcpSocket listener(stack);
    REQUIRE_FALSE(listener.bind(kServer));
    REQUIRE_FALSE(listener.listen(4));
    const std::size_t total = worker == WorkerKind::softirq ? 64 << 20 : 8 << 20;
    std::uint64_t sent_hash = 1469598103934665603ULL, got_hash = 1469598103934665603ULL;
    std::size_t got = 0;
    std::thread receiver([&] {
        std::error_code ec;
        auto s = listener.accept(ec, 10 * kNsPerSec);
        if (!s) return;
        std::vector<std::uint8_t> buf(1 << 20);
        for (;;) {
            std::size_t n = 0;
            if (s->recv(buf, n, 10 * kNsPerSec) || n == 0) break;
            for (std::size_t i = 0; i < n; ++i) got_hash = (got_hash ^ buf[i]) * 1099511628211ULL;  // FNV-1a
            got += n;
        }
    });
    TcpSocket client(stack);
    REQUIRE_FALSE(client.connect(kServer, 10 * kNsPerSec));
    std::mt19937 rng(99);
    std::vector<std::uint8_t> chunk(1 << 20);
    for (std::size_t off = 0; off < total; off += chunk.size()) {
        for (auto& b : chunk) b = static_cast<std::uint8_t>(rng());
        for (auto b : chunk) sent_hash = (sent_hash ^ b) * 1099511628211ULL;
        std::size_t n = 0;
        REQUIRE_FALSE(client.send(chunk, n, 10 * kNsPerSec));
    }
    REQUIRE_FALSE(client.shutdown(Shutdown::write));
    receiver.join();
    CHECK(got == total);
    CHECK(got_hash == sent_hash);
}

TEST_CASE("full duplex: one thread sends while another receives on the same socket, every worker",
          "[tcp][slow]") {
    const WorkerKind worker = GENERATE(WorkerKind::softirq, WorkerKind::ksoftirqd, WorkerKind::busypoll,
                                       WorkerKind::inline_);
    StackConfig config;
    config.core.worker = worker;
    Stack stack(config);
    TcpSocket listener(stack);
    REQUIRE_FALSE(listener.bind(kServer));
    REQUIRE_FALSE(listener.listen(4));
    std::string echo_end;  // why the echo server stopped
    std::thread echo([&] {  // an echo server
        std::error_code ec;
        auto s = listener.accept(ec, 10 * kNsPerSec);
        if (!s) return;
        std::vector<std::uint8_t> buf(64 * 1024);
        std::size_t echoed = 0;
        for (;;) {
            std::size_t n = 0, m = 0;
            if (auto e = s->recv(buf, n, 10 * kNsPerSec); e || n == 0) {
                echo_end = "recv: " + (e ? e.message() : "end of stream") + " after " + std::to_string(echoed);
                break;
            }
            if (auto e = s->send(std::span(buf).first(n), m, 10 * kNsPerSec)) {
                echo_end = "send: " + e.message() + " after " + std::to_string(echoed);
                break;
            }
            echoed += n;
        }
        s->shutdown(Shutdown::write);
    });
    TcpSocket client(stack);
    REQUIRE_FALSE(client.connect(kServer, 10 * kNsPerSec));
    const auto data = random_bytes(4 << 20, 11);
    std::vector<std::uint8_t> got;
    std::thread reader([&] {
        std::vector<std::uint8_t> buf(64 * 1024);
        for (;;) {
            std::size_t n = 0;
            if (client.recv(buf, n, 10 * kNsPerSec) || n == 0) break;
            got.insert(got.end(), buf.begin(), buf.begin() + static_cast<long>(n));
        }
    });
    std::size_t n = 0;
    CHECK_FALSE(client.send(data, n, 10 * kNsPerSec));
    CHECK_FALSE(client.shutdown(Shutdown::write));
    reader.join();
    echo.join();
    CHECK(echo_end == "recv: end of stream after " + std::to_string(data.size()));
    CHECK(got.size() == data.size());
    CHECK((got == data));
}
