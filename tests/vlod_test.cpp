// vlod's command line, its control socket's protocol, and the counters it serves.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <thread>

#include <catch2/catch.hpp>

#include "test_util.hpp"
#include "tools/control/control_client.hpp"
#include "tools/control/control_server.hpp"
#include "tools/control/stack_stats.hpp"
#include "tools/vlod/vlod_options.hpp"

using namespace vlo;
using control::Json;

namespace {
vlod::Parse parse(std::vector<std::string> args) {
    args.insert(args.begin(), "vlod");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    return vlod::parse_options(static_cast<int>(args.size()), argv.data());
}
}  // namespace

TEST_CASE("vlod options: defaults and every flag", "[vlod]") {
    auto p = parse({});
    REQUIRE(p.options);
    CHECK(p.options->stack.tun.name == "vlo0");
    CHECK(p.options->stack.tun.addr.to_string() == "198.18.0.2/24");
    CHECK(p.options->stack.tun.kernel_address().to_string() == "198.18.0.1");
    CHECK(p.options->stack.tun.mtu == 1500);
    CHECK(p.options->control.empty());

    p = parse({"--tun", "t1", "--addr", "10.9.0.5/16", "--kernel-addr", "10.9.0.1", "--mtu", "9000",
               "--serve", "echo", "--serve", "http@:8080", "--serve", "chargen/udp@10.9.0.5:1919",
               "--control", "/tmp/x.sock", "--worker", "ksoftirqd", "--cpus", "2"});
    REQUIRE(p.options);
    const vlod::Options& o = *p.options;
    CHECK(o.stack.tun.name == "t1");
    CHECK(o.stack.tun.kernel_address().to_string() == "10.9.0.1");
    CHECK(o.stack.tun.mtu == 9000);
    REQUIRE(o.serve.size() == 3);
    CHECK(o.serve[0].to_string() == "echo@0.0.0.0:7");
    CHECK(o.serve[1].to_string() == "http@0.0.0.0:8080");
    CHECK(o.serve[2].to_string() == "chargen/udp@10.9.0.5:1919");
    CHECK(o.control == "/tmp/x.sock");
    CHECK(o.stack.config.core.worker == WorkerKind::ksoftirqd);
    CHECK(o.stack.config.core.cpus == 2);
}

TEST_CASE("vlod options: bad ones are refused with a one-line reason", "[vlod]") {
    CHECK(parse({"--bogus"}).error == "unrecognized option '--bogus'");
    CHECK(parse({"--serve"}).error == "option '--serve' requires an argument");
    CHECK(parse({"--serve", "ftp"}).error.find("unknown kind 'ftp'") != std::string::npos);
    CHECK(parse({"--mtu", "12"}).error == "invalid --mtu: '12' (68 to 65535)");
    CHECK(parse({"--addr", "198.18.0.2"}).error.find("invalid --addr") == 0);
    CHECK(parse({"--worker", "nope"}).error.find("invalid --worker") == 0);
    CHECK(parse({"stray"}).error == "unexpected argument 'stray'");
}

TEST_CASE("control protocol: one JSON object per line with a cmd, errors say why", "[vlod]") {
    boost::asio::io_context io;
    control::ControlServer server(io);
    server.on("echo", [](const Json& req) { return Json{{"got", req.value("x", 0)}}; });
    server.on("boom", [](const Json&) -> Json { throw std::runtime_error("went wrong"); });
    CHECK(server.answer(R"({"cmd":"echo","x":7})") == R"({"ok":true,"got":7})");
    CHECK(server.answer(R"({"cmd":"boom"})") == R"({"ok":false,"error":"went wrong"})");
    CHECK(server.answer("not json") == R"({"ok":false,"error":"expected a JSON object with a \"cmd\" string"})");
    CHECK(server.answer(R"({"cmd":"nope"})") == R"j({"ok":false,"error":"unknown command 'nope' (boom, echo)"})j");
}

TEST_CASE("control socket: mode 0600, answers a client, refuses a second daemon, cleans up", "[vlod]") {
    const std::string path = (std::filesystem::temp_directory_path() / ("vlo-ctl-" + std::to_string(getpid()))).string();
    boost::asio::io_context io;
    control::ControlServer server(io);
    server.on("ping", [](const Json&) { return Json{{"pong", true}}; });
    std::string error;
    REQUIRE(server.listen(path, error));
    struct stat st {};
    REQUIRE(stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    std::thread loop([&] { io.run_for(std::chrono::seconds(5)); });
    auto reply = control::request(path, {{"cmd", "ping"}}, error);
    REQUIRE(reply);
    CHECK(reply->dump() == R"({"ok":true,"pong":true})");

    boost::asio::io_context io2;
    control::ControlServer second(io2);
    CHECK_FALSE(second.listen(path, error));
    CHECK(error == path + ": another daemon is answering there");

    io.stop();
    loop.join();
    server.close();
    CHECK(access(path.c_str(), F_OK) != 0);
    CHECK_FALSE(control::request(path, {{"cmd", "ping"}}, error));
    CHECK(error.find(path + ": ") == 0);
}

TEST_CASE("stack stats: the counters as JSON and as nstat lines", "[vlod]") {
    Stack stack(test::inline_config());
    test::inject(stack, stack.loopback(), test::echo_request(Ipv4Address(127, 0, 0, 1), Ipv4Address(127, 0, 0, 1), 1, 1));
    const Json j = control::stack_stats(stack);
    CHECK(j["snmp"]["Ip"]["InReceives"] == 2);  // the request, then the reply
    CHECK(j["snmp"]["Icmp"]["InEchos"] == 1);
    CHECK(j["snmp"]["Icmp"]["OutEchoReps"] == 1);
    CHECK(j["devices"][0]["name"] == "lo");
    CHECK(j["devices"][0]["rx_packets"] == 1);  // only the reply went through lo's xmit
    CHECK(j["softnet"][0]["processed"] == 2);
    CHECK(j["softnet_stat"].get<std::string>().rfind("00000002 ", 0) == 0);
    const std::string nstat = control::nstat_text(j["snmp"]);
    CHECK(nstat.find("IpInReceives                    2 ") != std::string::npos);
    CHECK(nstat.find("IcmpInEchos ") != std::string::npos);
    CHECK(nstat.find("IpInHdrErrors") == std::string::npos);  // zero: left out
    CHECK(control::nstat_text(j["snmp"], true).find("IpInHdrErrors") != std::string::npos);
    CHECK(nstat.find("IpInReceives") < nstat.find("IcmpInEchos"));  // nstat's order, Ip first
}
