// A running vlod's live commands, in process on the deterministic setup (inline worker, virtual
// clock) with lo as the live device: iptables in its words and their effect on pings, tc's
// netem holding packets until the clock says, and a capture streamed over the control socket
// that can be taken again and again.
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "stack/ping_socket.hpp"
#include "test_util.hpp"
#include "tools/control/control_client.hpp"
#include "tools/control/control_server.hpp"
#include "tools/control/stack_stats.hpp"
#include "tools/vlod/live_commands.hpp"
#include "tools/vlod/live_devices.hpp"

using namespace vlo;
using control::Json;

namespace {

const Ipv4Address kLo{127, 0, 0, 1};

struct Live {
    VirtualClock clock;
    Stack stack{test::inline_config(), clock};
    vlod::LiveDevices live;
    boost::asio::io_context io;
    control::ControlServer ctl{io};
    Live() {
        REQUIRE_FALSE(live.add(stack, "lo"));
        vlod::register_live_commands(ctl, io, stack, live);
    }
    ~Live() { ctl.close(); }
    Json ask(const Json& req) { return Json::parse(ctl.answer(req.dump())); }
    void advance(Nanos by) {
        for (; by > 0; by -= kNsPerMs) {
            clock.advance(kNsPerMs);
            stack.run_timers();
        }
    }
};

bool reply_came(Live& l, PingSocket& sock, std::uint16_t seq) {
    EchoReply reply;
    std::vector<std::uint8_t> data(64);
    return !sock.recv_echo(reply, data, l.clock.now_ns()) && reply.seq == seq;
}

// One echo request to 127.0.0.1; true if its reply is queued by now.
bool ping(Live& l, PingSocket& sock, std::uint16_t seq) {
    const std::vector<std::uint8_t> payload(56, 0xa5);
    REQUIRE_FALSE(sock.send_echo(kLo, seq, payload));
    return reply_came(l, sock, seq);
}

std::vector<std::string> words(std::initializer_list<const char*> w) {
    return {w.begin(), w.end()};
}

}  // namespace

Json iptables(Live& l, std::initializer_list<const char*> w) {
    return l.ask({{"cmd", "iptables"}, {"args", words(w)}});
}
Json tc(Live& l, std::initializer_list<const char*> w) {
    return l.ask({{"cmd", "tc"}, {"args", words(w)}});
}

std::string read_exact(int fd, std::size_t n) {
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
        const ssize_t r = ::read(fd, out.data() + got, n - got);
        if (r <= 0) break;
        got += static_cast<std::size_t>(r);
    }
    out.resize(got);
    return out;
}

std::string read_to_eof(int fd) {
    std::string out;
    char buf[4096];
    for (ssize_t r; (r = ::read(fd, buf, sizeof buf)) > 0;)
        out.append(buf, static_cast<std::size_t>(r));
    return out;
}

std::uint32_t u32(const std::string& s, std::size_t at) {
    std::uint32_t v;
    std::memcpy(&v, s.data() + at, 4);
    return v;
}

// The ICMP types of the pcap records in `s` (records only, no global header), in order.
std::vector<int> icmp_types(const std::string& s) {
    std::vector<int> types;
    for (std::size_t at = 0; at + 16 <= s.size();) {
        const std::uint32_t caplen = u32(s, at + 8);
        const std::string pkt = s.substr(at + 16, caplen);
        REQUIRE(pkt.size() == caplen);
        CHECK(pkt[9] == 1);  // IPPROTO_ICMP
        types.push_back(static_cast<std::uint8_t>(pkt[20]));
        at += 16 + caplen;
    }
    return types;
}

TEST_CASE("vlod live iptables: rules added in iptables words drop pings and -D brings them back",
          "[vlod]") {
    Live l;
    PingSocket sock(l.stack);
    REQUIRE(ping(l, sock, 1));
    Json r = iptables(l, {"-A", "INPUT", "-p", "icmp", "-j", "DROP"});
    CHECK(r == Json{{"ok", true}, {"output", ""}});
    CHECK_FALSE(ping(l, sock, 2));
    // The protocol carries the argument vector; a string is not one.
    r = l.ask({{"cmd", "iptables"}, {"args", "-L INPUT -n -v -x"}});
    CHECK(r["ok"] == false);
    CHECK(r["error"].get<std::string>().find("list of strings") != std::string::npos);
    r = iptables(l, {"-L", "INPUT", "-n", "-v", "-x"});
    INFO(r.dump());
    CHECK(r["output"].get<std::string>().find("       1       84 DROP       icmp --") !=
          std::string::npos);
    CHECK(iptables(l, {"-D", "INPUT", "-p", "icmp", "-j", "DROP"})["ok"] == true);
    CHECK(ping(l, sock, 3));

    // iptables' errors, and whether the command line was to blame (vlo-iptables' exit 2).
    CHECK(iptables(l, {"-A", "INPUT", "--bogus"}) ==
          Json{{"ok", false},
               {"error", "iptables v1.8.9 (vlo): unknown option \"--bogus\""},
               {"usage", true}});
    r = iptables(l, {"-D", "INPUT", "-p", "tcp", "-j", "DROP"});
    CHECK(r["ok"] == false);
    CHECK(r["usage"] == false);
    CHECK(r["error"].get<std::string>().rfind("iptables: Bad rule", 0) == 0);
    CHECK(l.ask({{"cmd", "iptables"}, {"args", 7}})["ok"] == false);

    // Words with blanks and quotes arrive as the same words.
    REQUIRE(iptables(l, {"-A", "INPUT", "-j", "LOG", "--log-prefix", "it's \"x\" "})["ok"] == true);
    CHECK(iptables(l, {"-S", "INPUT"})["output"] ==
          "-P INPUT ACCEPT\n-A INPUT -j LOG --log-prefix \"it's \\\"x\\\" \"\n");
}

TEST_CASE(
    "vlod live tc: netem added at run time holds packets for its delay and del passes them again",
    "[vlod]") {
    Live l;
    PingSocket sock(l.stack);
    CHECK(tc(l, {"qdisc", "show"}) ==
          Json{{"ok", true}, {"output", "qdisc noqueue 0: dev lo root refcnt 2 \n"}});
    // lo is noqueue, as Linux's: the reply is there at once.
    REQUIRE(ping(l, sock, 1));

    REQUIRE(tc(l, {"qdisc", "add", "dev", "lo", "root", "netem", "delay", "10ms"}) ==
            Json{{"ok", true}, {"output", ""}});
    CHECK_FALSE(ping(l, sock, 2));  // the request waits in netem
    l.advance(15 * kNsPerMs);       // the request went; its reply waits its own 10 ms
    CHECK_FALSE(reply_came(l, sock, 2));
    l.advance(10 * kNsPerMs);
    CHECK(reply_came(l, sock, 2));

    const std::string shown = tc(l, {"-s", "qdisc", "show", "dev", "lo"})["output"];
    CHECK(shown.rfind("qdisc netem 8001: dev lo root refcnt 2 limit 1000 delay 10ms", 0) == 0);
    CHECK(shown.find("\n Sent ") != std::string::npos);
    const Json stat = l.ask({{"cmd", "stat"}});
    CHECK(stat["netem"]["lo"]["qdisc"] == "netem");
    CHECK(stat["netem"]["lo"]["delayed"] == 2);
    CHECK(stat["netem"]["lo"]["sent_packets"] == 2);  // ping 2's: a qdisc counts from its creation
    CHECK(stat["snmp"]["Icmp"]["InEchos"] == 2);
    const std::string text = control::stats_text(stat);
    CHECK(text.find("qdisc netem 8001: dev lo root") != std::string::npos);
    CHECK(text.find("Chain INPUT (policy ACCEPT") != std::string::npos);

    // tc's refusals.
    CHECK(tc(l, {"qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"}) ==
          Json{{"ok", false},
               {"error", "Error: Exclusivity flag on, cannot modify."},
               {"usage", false}});
    CHECK(tc(l, {"qdisc", "add", "dev", "eth9", "root", "netem"}) ==
          Json{{"ok", false}, {"error", "Cannot find device \"eth9\""}, {"usage", false}});
    Json r = tc(l, {"qdisc", "change", "dev", "lo", "root", "netem", "delay", "soon"});
    CHECK(r["ok"] == false);
    CHECK(r["usage"] == true);
    CHECK(tc(l, {"qdisc", "show", "dev", "lo"})["output"].get<std::string>().find("delay 10ms") !=
          std::string::npos);
    CHECK(tc(l, {"qdisc", "bogus"})["usage"] == true);

    // change replaces the spec: everything lost now.
    REQUIRE(tc(l, {"qdisc", "change", "dev", "lo", "root", "netem", "loss", "100%"})["ok"] == true);
    CHECK_FALSE(ping(l, sock, 3));
    l.advance(50 * kNsPerMs);
    CHECK_FALSE(reply_came(l, sock, 3));
    CHECK(l.ask({{"cmd", "stat"}})["netem"]["lo"]["lost"] == 1);

    // del: back to pass-through, and tc's words for what is not there.
    REQUIRE(tc(l, {"qdisc", "del", "dev", "lo", "root", "netem"})["ok"] == true);
    CHECK(ping(l, sock, 4));
    CHECK(tc(l, {"qdisc", "show", "dev", "lo"})["output"] ==
          "qdisc noqueue 0: dev lo root refcnt 2 \n");
    CHECK(tc(l, {"qdisc", "del", "dev", "lo", "root"})["error"] ==
          "Error: Cannot delete qdisc with handle of zero.");
    CHECK(tc(l, {"qdisc", "change", "dev", "lo", "root", "netem", "delay", "1ms"})["error"] ==
          "Error: Qdisc not found. To create specify NLM_F_CREATE flag.");
    // replace creates as well as changes.
    CHECK(tc(l, {"qdisc", "replace", "dev", "lo", "root", "netem", "delay", "1ms"})["ok"] == true);
    CHECK(l.ask({{"cmd", "stat"}})["netem"]["lo"]["spec"].get<std::string>().find("delay 1ms") !=
          std::string::npos);
}

TEST_CASE("vlod live capture: a client gets the pcap stream of lo and can capture again after",
          "[vlod]") {
    Live l;
    const std::string path =
        (std::filesystem::temp_directory_path() / ("vlo-live-" + std::to_string(getpid())))
            .string();
    std::string error;
    REQUIRE(l.ctl.listen(path, error));
    std::thread io([&] { l.io.run(); });
    PingSocket sock(l.stack);

    // -c 2: the request and the reply, each once (lo's transmit side is not recorded).
    Json reply;
    int fd =
        control::open_stream(path, {{"cmd", "capture"}, {"dev", "lo"}, {"count", 2}}, reply, error);
    REQUIRE(fd >= 0);
    CHECK(reply == Json{{"ok", true}, {"dev", "lo"}, {"linktype", 101}, {"snaplen", 262144}});
    const std::string header = read_exact(fd, 24);  // written by start(): the capture runs
    REQUIRE(header.size() == 24);
    CHECK(u32(header, 0) == 0xa1b23c4d);
    CHECK(u32(header, 20) == 101);

    // One capture of a device at a time: the second is refused in its reply.
    Json busy;
    const int fd2 = control::open_stream(path, {{"cmd", "capture"}, {"dev", "lo"}}, busy, error);
    REQUIRE(fd2 >= 0);
    ::close(fd2);
    CHECK(busy == Json{{"ok", false}, {"error", "lo: a capture is already running"}});
    CHECK(control::request(path, {{"cmd", "capture"}, {"dev", "eth9"}}, error).value()["error"] ==
          "eth9: No such device exists");

    REQUIRE(ping(l, sock, 1));
    REQUIRE(ping(l, sock, 2));                                     // past -c: not in the stream
    CHECK(icmp_types(read_to_eof(fd)) == std::vector<int>{8, 0});  // the daemon closed it after 2
    ::close(fd);
    Json stats = control::request(path, {{"cmd", "capture-stats"}, {"dev", "lo"}}, error).value();
    CHECK(stats["running"] == false);
    CHECK(stats["captured"] == 2);
    CHECK(stats["received"] == 2);
    CHECK(stats["dropped"] == 0);

    // Again, with no count (lo is vlod's first device here, so the default): it runs until the
    // client hangs up.
    fd = control::open_stream(path, {{"cmd", "capture"}}, reply, error);
    REQUIRE(fd >= 0);
    REQUIRE(reply["ok"] == true);
    REQUIRE(read_exact(fd, 24).size() == 24);
    REQUIRE(ping(l, sock, 3));
    CHECK(icmp_types(read_exact(fd, 2 * (16 + 84))) == std::vector<int>{8, 0});
    ::close(fd);
    for (int i = 0; i < 500; ++i) {  // the daemon looks for the hang-up every 50 ms
        stats = control::request(path, {{"cmd", "capture-stats"}}, error).value();
        if (stats["running"] == false) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(stats["running"] == false);
    CHECK(stats["captured"] == 2);

    l.io.stop();
    io.join();
}
