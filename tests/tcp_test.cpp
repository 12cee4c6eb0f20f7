// TCP through the modeled lo on the deterministic setup (inline worker, virtual clock):
// handshakes, data, every order of closing, TIME_WAIT, refusals and timeouts in virtual time.
#include <random>

#include <catch2/catch.hpp>

#include "stack/tcp_socket.hpp"
#include "test_util.hpp"

using namespace vlo;

namespace {

struct Lo {
    VirtualClock clock;
    Stack stack{test::inline_config(), clock};
    TcpMib m{};
    std::uint64_t tcp(TcpMib c) { return stack.tcp().stats().tcp.get(c); }
    std::uint64_t ext(TcpExtMib c) { return stack.tcp().stats().ext.get(c); }
    void advance(Nanos by) {
        // In steps, so timers fire in order and what they send is processed between them.
        for (Nanos step = 10 * kNsPerMs; by > 0; by -= step) {
            clock.advance(std::min(step, by));
            stack.run_timers();
        }
    }
};

std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

std::string recv_all(TcpSocket& s, std::size_t max = 1 << 20) {
    std::string out;
    std::vector<std::uint8_t> buf(65536);
    while (out.size() < max) {
        std::size_t n = 0;
        if (s.try_recv(buf, n) || n == 0) break;
        out.append(buf.begin(), buf.begin() + static_cast<long>(n));
    }
    return out;
}

const SockAddr kServer{kInaddrLoopback, 80};

}  // namespace

TEST_CASE("three-way handshake, data both ways, active close, TIME_WAIT expiry", "[tcp]") {
    Lo lo;
    TcpSocket listener(lo.stack);
    REQUIRE_FALSE(listener.bind(kServer));
    REQUIRE_FALSE(listener.listen(16));
    TcpSocket client(lo.stack);
    REQUIRE_FALSE(client.connect(kServer, kNsPerSec));
    CHECK(client.state() == TcpState::established);
    std::error_code ec;
    auto server = listener.try_accept(ec);
    REQUIRE(server);
    CHECK(server->state() == TcpState::established);
    CHECK(server->peer_address() == client.local_address());
    CHECK(client.local_address().port >= 32768);
    CHECK(client.local_address().port <= 60999);
    CHECK(lo.tcp(TcpMib::ActiveOpens) == 1);
    CHECK(lo.tcp(TcpMib::PassiveOpens) == 1);
    CHECK(lo.tcp(TcpMib::CurrEstab) == 2);

    std::size_t n = 0;
    REQUIRE_FALSE(client.send(bytes("hello"), n));
    CHECK(n == 5);
    CHECK(recv_all(*server) == "hello");
    REQUIRE_FALSE(server->send(bytes("world!"), n));
    CHECK(recv_all(client) == "world!");

    // The client closes first: FIN_WAIT2 until the server closes, then TIME_WAIT for 2*MSL.
    TcpSock& c = client.sock();
    REQUIRE_FALSE(client.shutdown(Shutdown::write));
    CHECK(c.state == TcpState::fin_wait2);
    CHECK(server->state() == TcpState::close_wait);
    std::vector<std::uint8_t> buf(16);
    REQUIRE_FALSE(server->try_recv(buf, n));
    CHECK(n == 0);  // end of stream
    REQUIRE_FALSE(server->close());
    CHECK(c.state == TcpState::time_wait);
    CHECK(server->state() == TcpState::close);
    CHECK(lo.tcp(TcpMib::CurrEstab) == 0);
    lo.advance(59 * kNsPerSec);
    CHECK(c.state == TcpState::time_wait);
    lo.advance(2 * kNsPerSec);
    CHECK(c.state == TcpState::close);
}

TEST_CASE("a SYN to a closed port draws a RST: ECONNREFUSED", "[tcp]") {
    Lo lo;
    TcpSocket client(lo.stack);
    CHECK(client.connect({*Ipv4Address::parse("127.0.0.2"), 80}, kNsPerSec) == std::errc::connection_refused);
    CHECK(lo.tcp(TcpMib::OutRsts) == 1);
    CHECK(lo.tcp(TcpMib::AttemptFails) == 1);
}
