// The ss -tni listing of a live stack: in process (what vlo-nc --stat prints) and through
// vlod's control socket ({"cmd": "ss"}, what vlo-stat ss prints).
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <string>

#include "stack/tcp_socket.hpp"
#include "test_util.hpp"
#include "tools/control/control_server.hpp"
#include "tools/ss/ss_collect.hpp"
#include "tools/vlod/live_commands.hpp"

using namespace vlo;
using control::Json;

namespace {

// A listener on 127.0.0.1:5001 and one connection to it that has carried a few bytes each way.
struct Connected {
    Stack stack{test::inline_config()};
    TcpSocket listener{stack};
    TcpSocket client{stack};
    std::unique_ptr<TcpSocket> server;

    Connected() {
        REQUIRE_FALSE(listener.bind({kInaddrLoopback, 5001}));
        REQUIRE_FALSE(listener.listen(16));
        REQUIRE_FALSE(client.connect({kInaddrLoopback, 5001}, kNsPerSec));
        std::error_code ec;
        server = listener.try_accept(ec);
        REQUIRE(server);
        const std::uint8_t hello[5] = {'h', 'e', 'l', 'l', 'o'};
        std::size_t n = 0;
        REQUIRE_FALSE(client.send(hello, n));
        REQUIRE_FALSE(server->send(hello, n));
    }
};

std::size_t count(const std::string& text, const std::string& word) {
    std::size_t n = 0;
    for (std::size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1))
        ++n;
    return n;
}

}  // namespace

TEST_CASE("ss lists a live connection's two ends with cubic, rtt and cwnd", "[ss]") {
    Connected c;
    const std::string text = ss::ss_text(c.stack);
    INFO(text);
    CHECK(text.rfind("State Recv-Q Send-Q Local Address:Port", 0) == 0);
    CHECK(text.find("Peer Address:Port Process") != std::string::npos);
    CHECK(count(text, "ESTAB") == 2);
    CHECK(text.find("LISTEN") == std::string::npos);  // ss -t without -a: connected only
    CHECK(text.find("127.0.0.1:5001") != std::string::npos);
    CHECK(count(text, "\t cubic ") == 2);
    CHECK(count(text, " rtt:") == 2);
    CHECK(count(text, " cwnd:") == 2);
    CHECK(text.find("bytes_acked:") != std::string::npos);
    // The server's 5 bytes wait unread in the client's receive queue: Recv-Q 5.
    CHECK(text.find("ESTAB 5 ") != std::string::npos);

    const std::string all = ss::ss_text(c.stack, true);
    CHECK(count(all, "LISTEN") == 1);
    CHECK(count(all, "ESTAB") == 2);
}

TEST_CASE("ss over vlod's control socket: the listing and each socket's fields", "[ss][vlod]") {
    Connected c;
    vlod::LiveDevices live;
    boost::asio::io_context io;
    control::ControlServer ctl{io};
    REQUIRE_FALSE(live.add(c.stack, "lo"));
    vlod::register_live_commands(ctl, io, c.stack, live);
    const Json reply = Json::parse(ctl.answer(R"({"cmd":"ss"})"));
    INFO(reply.dump(1));
    REQUIRE(reply.at("ok") == true);
    const std::string text = reply.at("text");
    CHECK(count(text, "ESTAB") == 2);
    CHECK(text.find("cubic") != std::string::npos);
    CHECK(text.find("rtt:") != std::string::npos);
    CHECK(text.find("cwnd:") != std::string::npos);
    REQUIRE(reply.at("sockets").size() == 2);
    for (const Json& s : reply.at("sockets")) {
        CHECK(s.at("state") == "ESTAB");
        CHECK(s.at("ca") == "cubic");
        CHECK(s.at("info").get<std::string>().find(" cwnd:") != std::string::npos);
    }
    const Json all = Json::parse(ctl.answer(R"({"cmd":"ss","all":true})"));
    CHECK(all.at("sockets").size() == 3);
    CHECK(all.at("sockets")[0].at("state") == "LISTEN");  // listeners first, as inet_diag
    const Json bad = Json::parse(ctl.answer(R"({"cmd":"ss","all":"yes"})"));
    CHECK(bad.at("ok") == false);
    ctl.close();
}
