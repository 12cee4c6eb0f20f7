// vlo-ping against iputils ping: the report arithmetic on known values, and the whole output's
// shape compared line by line with the real ping on this machine.
#include <array>
#include <cstdio>
#include <regex>
#include <sstream>

#include <catch2/catch.hpp>

#include "apps/ping/ping_options.hpp"
#include "apps/ping/ping_report.hpp"

using namespace vlo::ping;

namespace {

std::string run(const std::string& cmd, int* status = nullptr) {
    std::string out;
    FILE* f = popen((cmd + " 2>&1").c_str(), "r");
    REQUIRE(f);
    std::array<char, 4096> buf;
    while (std::size_t n = std::fread(buf.data(), 1, buf.size(), f)) out.append(buf.data(), n);
    const int rc = pclose(f);
    if (status) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    return out;
}

// A line's shape: numbers become N, so "time=0.087 ms" and "time=0.012 ms" compare equal.
std::vector<std::string> shape(const std::string& text) {
    static const std::regex number("[0-9]+(\\.[0-9]+)?");
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(std::regex_replace(line, number, "N"));
    return lines;
}

ParseResult parse(std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    return parse_ping_options(static_cast<int>(args.size()), argv.data());
}

}  // namespace

TEST_CASE("time= uses iputils' four precisions", "[ping]") {
    CHECK(format_time(87) == " time=0.087 ms");
    CHECK(format_time(1234) == " time=1.23 ms");
    CHECK(format_time(12345) == " time=12.3 ms");
    CHECK(format_time(123456) == " time=123 ms");
    CHECK(format_time(99950) == " time=100 ms");  // the branch boundaries round as ping's
}

TEST_CASE("statistics match iputils' integer arithmetic", "[ping]") {
    PingStats s;
    s.ntransmitted = 3;
    for (long t : {37L, 54L, 48L}) s.add_reply(t);
    // Measured with the real ping: 37, 54, 48 µs print as below (mdev = floor(sqrt(49))).
    CHECK(statistics("127.0.0.1", s, 408000, false) ==
          "\n--- 127.0.0.1 ping statistics ---\n"
          "3 packets transmitted, 3 received, 0% packet loss, time 408ms\n"
          "rtt min/avg/max/mdev = 0.037/0.046/0.054/0.007 ms\n");
    PingStats lost;
    lost.ntransmitted = 6;
    lost.nreceived = 1;
    lost.tsum = lost.tmin = lost.tmax = 10;
    lost.tsum2 = 100;
    CHECK(statistics("h", lost, 0, false).find("6 packets transmitted, 1 received, 83.3333% packet loss") !=
          std::string::npos);
    PingStats none;
    none.ntransmitted = 2;
    none.nerrors = 2;
    CHECK(statistics("h", none, 1000000, false) ==
          "\n--- h ping statistics ---\n2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 1000ms\n\n");
    CHECK(exit_status(none, false, 2) == 1);
    CHECK(exit_status(s, false, 3) == 0);
    CHECK(exit_status(lost, true, 6) == 1);  // -w: every reply must come
}

TEST_CASE("command line errors give iputils' messages and exit codes", "[ping]") {
    auto r = parse({"vlo-ping", "-c", "abc", "127.0.0.1"});
    CHECK_FALSE(r.options);
    CHECK(r.exit_code == 1);
    CHECK(r.message == "invalid argument: 'abc'");
    r = parse({"vlo-ping", "-c", "0", "127.0.0.1"});
    CHECK(r.message == "invalid argument: '0': out of range: 1 <= value <= 9223372036854775807");
    r = parse({"vlo-ping", "-t", "256", "127.0.0.1"});
    CHECK(r.exit_code == 1);
    r = parse({"vlo-ping", "-i", "x", "127.0.0.1"});
    CHECK(r.exit_code == 2);
    CHECK(r.message == "bad timing interval: x");
    r = parse({"vlo-ping", "-W", "-1", "127.0.0.1"});
    CHECK(r.message == "bad linger time: -1");
    r = parse({"vlo-ping", "-q"});
    CHECK(r.exit_code == 1);
    CHECK(r.message == "usage error: Destination address required");
    r = parse({"vlo-ping", "--worker", "nope", "127.0.0.1"});
    CHECK(r.exit_code == 2);
    CHECK(r.show_usage);
    r = parse({"vlo-ping", "-c", "2", "-i", "0.2", "-s", "100", "-t", "9", "--policy", "bsd", "--alias",
               "127.0.0.2", "--cpus", "2", "--queue", "ring", "--worker", "ksoftirqd", "127.0.0.2"});
    REQUIRE(r.options);
    CHECK(r.options->count == 2);
    CHECK(r.options->interval_ms == 200);
    CHECK(r.options->datalen == 100);
    CHECK(r.options->ttl == 9);
    CHECK(r.options->stack.config.loopback_policy == vlo::LoopbackPolicy::bsd);
    CHECK(r.options->stack.aliases.size() == 1);
    CHECK(r.options->stack.config.core.cpus == 2);
    CHECK(r.options->stack.config.core.queue == vlo::QueueKind::ring);
    CHECK(r.options->stack.config.core.worker == vlo::WorkerKind::ksoftirqd);
    CHECK(r.options->destination == "127.0.0.2");
}

TEST_CASE("vlo-ping's output has the real ping's shape, line by line", "[ping][process]") {
    // Both answer from 127.0.0.1: the kernel's lo and vlo's. Only numbers may differ.
    int kernel_rc = -1, vlo_rc = -1;
    const std::string args = " -c 3 -i 0.2 127.0.0.1";
    const std::string kernel = run("ping" + args, &kernel_rc);
    REQUIRE(kernel_rc == 0);  // tools/setup.sh installs iputils-ping; the tests run as root
    const std::string vlo = run(VLO_PING_PATH + args, &vlo_rc);
    CHECK(vlo_rc == 0);
    CHECK(shape(vlo) == shape(kernel));

    // And with no answer at all: loss, exit status 1, no rtt line.
    const std::string bsd = run(std::string(VLO_PING_PATH) + " --policy bsd -c 2 -i 0.2 -W 0.3 127.0.0.2", &vlo_rc);
    CHECK(vlo_rc == 1);
    const auto lines = shape(bsd);
    REQUIRE(lines.size() == 5);
    CHECK(lines[0] == "PING N.N (N.N) N(N) bytes of data.");  // addresses shape as N.N
    CHECK(lines[1].empty());
    CHECK(lines[2] == "--- N.N ping statistics ---");
    CHECK(lines[3] == "N packets transmitted, N received, N% packet loss, time Nms");
    CHECK(lines[4].empty());

    const std::string quiet = run(std::string(VLO_PING_PATH) + " -q -c 2 -i 0.2 127.0.0.1");
    const std::string kquiet = run("ping -q -c 2 -i 0.2 127.0.0.1");
    CHECK(shape(quiet) == shape(kquiet));

    run(std::string(VLO_PING_PATH) + " --no-such-flag 127.0.0.1", &vlo_rc);
    CHECK(vlo_rc == 2);
}
