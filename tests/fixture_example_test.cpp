// vlo as a test double, the way a user of vlo would test their own code: a small Asio client
// ("greet": connect, send a line, read the answer) run against a vlo stack with rules and
// impairments on a virtual clock. The seed's story: a client rejected with
// `-A INPUT -s 127.0.0.1 -j REJECT` never learns it was rejected (the ICMP error comes from
// 127.0.0.1 too, is rejected in turn, and an ICMP error is never answered with one), so its
// connect times out after the SYN retries; pointed at 127.0.0.2 with `-d 127.0.0.2 -p tcp -j
// REJECT` it is refused, because the error from 127.0.0.2 to 127.0.0.1 matches no rule.
#include <utility>  // before Asio: 1.74's awaitable.hpp uses std::exchange unincluded

#include <boost/asio.hpp>
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "stack/asio/asio_tcp.hpp"
#include "stack/testing/fixture.hpp"

using namespace vlo;
using boost::system::error_code;

namespace {

// The code under test: generic Asio, nothing vlo-specific but the stream type it is given.
template <class Stream, class Endpoint>
void greet(Stream& s, Endpoint peer, std::string& answer, error_code& result, bool& done) {
    s.async_connect(peer, [&](error_code ec) {
        if (ec) {
            result = ec;
            done = true;
            return;
        }
        static const std::string hello = "hello\n";
        boost::asio::async_write(s, boost::asio::buffer(hello), [&](error_code ec2, std::size_t) {
            if (ec2) {
                result = ec2;
                done = true;
                return;
            }
            answer.resize(6);
            boost::asio::async_read(s, boost::asio::buffer(answer), [&](error_code ec3, std::size_t) {
                result = ec3;
                done = true;
            });
        });
    });
}

struct Run {
    error_code ec;
    std::string answer;
    bool done = false;
    Nanos took = 0;
};

Run greet_through(testing::Fixture& f, const char* addr, std::uint16_t port, Nanos limit) {
    boost::asio::io_context io;
    asio_adapter::TcpStream s(io, f.stack());
    Run r;
    const Nanos start = f.now();
    greet(s, SockAddr{*Ipv4Address::parse(addr), port}, r.answer, r.ec, r.done);
    f.wait_until([&] { return r.done; }, limit, 10 * kNsPerMs, [&] { io.poll(); });
    r.took = f.now() - start;
    return r;
}

// An echo server in the fixture's stack, served from the test's own loop (no threads).
struct EchoOnce {
    std::unique_ptr<TcpSocket> listener;
    std::unique_ptr<TcpSocket> conn;
    void poll() {
        std::error_code ec;
        if (!conn) conn = listener->try_accept(ec);
        if (!conn) return;
        std::uint8_t buf[64];
        std::size_t n = 0;
        if (!conn->try_recv(buf, n) && n > 0) {
            std::size_t sent = 0;
            conn->try_send({buf, n}, sent);
        }
    }
};

}  // namespace

TEST_CASE("fixture: an Asio client rejected by a rule on 127.0.0.1 times out in virtual time", "[fixture]") {
    testing::Fixture f;
    auto server = f.listen("127.0.0.1", 80);
    f.iptables("-A INPUT -s 127.0.0.1 -j REJECT");
    const Run r = greet_through(f, "127.0.0.1", 80, 300 * kNsPerSec);
    REQUIRE(r.done);
    CHECK(r.ec == boost::asio::error::timed_out);
    // tcp_syn_retries 6: 1 + 2 + 4 + 8 + 16 + 32 + 64 = 127 s of backoff, none of it real.
    CHECK(r.took >= 127 * kNsPerSec);
    CHECK(r.took < 130 * kNsPerSec);
    CHECK(f.counter("IcmpOutDestUnreachs") >= 7);  // an error per SYN, each rejected in turn
}

TEST_CASE("fixture: the same client pointed at 127.0.0.2 is refused within a second", "[fixture]") {
    testing::Fixture f;
    auto server = f.listen("127.0.0.2", 80);
    f.iptables("-A INPUT -d 127.0.0.2 -p tcp -j REJECT");
    const Run r = greet_through(f, "127.0.0.2", 80, 10 * kNsPerSec);
    REQUIRE(r.done);
    CHECK(r.ec == boost::asio::error::connection_refused);
    CHECK(r.took <= kNsPerSec);
}

TEST_CASE("fixture: the client gets its answer through loss and delay, with retransmissions", "[fixture]") {
    testing::Fixture f;
    f.netem("lo", "delay 20ms loss 30%", 42);
    EchoOnce server{f.listen("127.0.0.1", 7), nullptr};
    boost::asio::io_context io;
    asio_adapter::TcpStream s(io, f.stack());
    Run r;
    greet(s, SockAddr{kInaddrLoopback, 7}, r.answer, r.ec, r.done);
    const bool finished = f.wait_until([&] { return r.done; }, 120 * kNsPerSec, kNsPerMs, [&] {
        io.poll();
        server.poll();
    });
    REQUIRE(finished);
    CHECK_FALSE(r.ec);
    CHECK(r.answer == "hello\n");
    CHECK(f.now() >= 40 * kNsPerMs);  // at least one delayed round trip
    CHECK(f.counter("TcpRetransSegs") > 0);  // the seed loses at least one segment
}

TEST_CASE("fixture: bad rules and impairments say why", "[fixture]") {
    testing::Fixture f;
    CHECK_THROWS_WITH(f.iptables("-A INPUT --bogus"), Catch::Contains("unknown option \"--bogus\""));
    CHECK_THROWS_WITH(f.netem("lo", "loss lots"), Catch::Contains("loss"));
    CHECK_THROWS_WITH(f.netem("eth9", "delay 1ms"), "Cannot find device \"eth9\"");
}
