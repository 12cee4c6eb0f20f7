// vlo-ping -f and -i 0 as iputils ping: pinger's schedule (one in flight, or the next after
// MININTERVAL without a reply), the root-only check, the dot/backspace output and the summary's
// "ipg/ewma" ending, compared with the real ping on this machine.
#include <array>
#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include <algorithm>

#include <catch2/catch.hpp>

#include "apps/ping/ping_options.hpp"
#include "apps/ping/ping_report.hpp"
#include "apps/ping/ping_schedule.hpp"

using namespace vlo;
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

ParseResult parse(std::vector<std::string> args, uid_t uid) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    return parse_ping_options(static_cast<int>(args.size()), argv.data(), uid);
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos;
         at = text.find(what, at + what.size()))
        ++n;
    return n;
}

constexpr Nanos kT0 = 5 * kNsPerSec;  // any start: the schedule only looks at differences
Nanos ms(double v) { return static_cast<Nanos>(v * 1e6); }

// The flood's output between the header and the summary: a '.' per request, "\b \b" per reply.
const std::regex kFloodSummary(
    "\n--- 127\\.0\\.0\\.1 ping statistics ---\n"
    "([0-9]+) packets transmitted, ([0-9]+) received, 0% packet loss, time [0-9]+ms\n"
    "rtt min/avg/max/mdev = [0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+ ms, (pipe [0-9]+, )?ipg/ewma "
    "[0-9]+\\.[0-9]{3}/[0-9]+\\.[0-9]{3} ms\n$");

}  // namespace

TEST_CASE("a flood sends the next request when the reply is in", "[ping][flood]") {
    PingSchedule s(0, 1);
    CHECK(s.admit(kT0, 0) == 0);             // the first always goes
    CHECK(s.after_send() == 0);              // and the next is due at once...
    CHECK(s.admit(kT0 + ms(0.2), 1) == 10);  // ...but one is in flight: wait up to MININTERVAL
    CHECK(s.admit(kT0 + ms(3.5), 1) == 7);   // whole ms, truncated as pinger counts them
    CHECK(s.admit(kT0 + ms(3.6), 0) == 0);   // the reply came: the next goes now
    CHECK(s.last_admitted() == kT0 + ms(3.6));
}

TEST_CASE("a flood with no reply probes every MININTERVAL", "[ping][flood]") {
    PingSchedule s(0, 1);
    REQUIRE(s.admit(kT0, 0) == 0);
    CHECK(s.admit(kT0 + ms(9.99), 1) == 1);
    CHECK(s.admit(kT0 + ms(10), 1) == 0);  // 10 ms without a reply: one more goes anyway
    CHECK(s.admit(kT0 + ms(10.5), 2) == 10);
}

TEST_CASE("preload lets that many go at once and then keeps the interval", "[ping][flood]") {
    PingSchedule flood(0, 3);
    CHECK(flood.admit(kT0, 0) == 0);
    CHECK(flood.admit(kT0, 1) == 0);
    CHECK(flood.admit(kT0, 2) == 0);
    CHECK(flood.admit(kT0, 3) == 10);  // three unanswered: wait

    PingSchedule paced(200, 2);
    CHECK(paced.admit(kT0, 0) == 0);
    CHECK(paced.after_send() == 0);  // a token of 200 ms was left for the second
    CHECK(paced.admit(kT0 + ms(1), 1) == 0);
    CHECK(paced.after_send() == 199);
    CHECK(paced.admit(kT0 + ms(150), 2) == 50);
    CHECK(paced.admit(kT0 + ms(201), 2) == 0);
}

TEST_CASE("an interval bucket sends on the millisecond", "[ping][flood]") {
    PingSchedule s(1000, 1);
    REQUIRE(s.admit(kT0, 0) == 0);
    CHECK(s.after_send() == 1000);
    CHECK(s.admit(kT0 + ms(999.9), 0) == 1);
    CHECK(s.admit(kT0 + ms(1000), 0) == 0);
    CHECK(s.admit(kT0 + ms(1500), 0) == 500);  // no credit for the idle half second
    CHECK(schint(0) == 10);
    CHECK(schint(2) == 10);
    CHECK(schint(200) == 200);
}

TEST_CASE("ping flood: -f and -i 0 are root's and the user gets iputils' refusal", "[ping][flood]") {
    auto r = parse({"vlo-ping", "-f", "127.0.0.1"}, 0);
    REQUIRE(r.options);
    CHECK(r.options->flood);
    CHECK(r.options->interval_ms == 0);  // no -i: as fast as the replies come
    r = parse({"vlo-ping", "-f", "-i", "0.5", "127.0.0.1"}, 0);
    REQUIRE(r.options);
    CHECK(r.options->interval_ms == 500);
    r = parse({"vlo-ping", "-i", "0", "-c", "3", "127.0.0.1"}, 0);
    REQUIRE(r.options);
    CHECK(r.options->interval_ms == 0);
    CHECK_FALSE(r.options->flood);

    r = parse({"vlo-ping", "-f", "127.0.0.1"}, 1000);
    CHECK_FALSE(r.options);
    CHECK(r.exit_code == 2);
    CHECK(r.message == "cannot flood; minimal interval allowed for user is 2ms");
    r = parse({"vlo-ping", "-i", "0.001", "127.0.0.1"}, 1000);
    CHECK(r.exit_code == 2);
    CHECK(r.message == "cannot flood; minimal interval allowed for user is 2ms");
    r = parse({"vlo-ping", "-f", "-i", "0.002", "127.0.0.1"}, 1000);
    CHECK(r.options);  // 2 ms is the user's minimum, allowed

    r = parse({"vlo-ping", "-l", "4", "127.0.0.1"}, 1000);
    CHECK(r.exit_code == 2);
    CHECK(r.message == "cannot set preload to value greater than 3: 4");
    r = parse({"vlo-ping", "-l", "4", "127.0.0.1"}, 0);
    REQUIRE(r.options);
    CHECK(r.options->preload == 4);
    r = parse({"vlo-ping", "-l", "0", "127.0.0.1"}, 0);
    CHECK(r.exit_code == 1);
    CHECK(r.message == "invalid argument: '0': out of range: 1 <= value <= 65536");
}

TEST_CASE("ipg/ewma and pipe end the summary as iputils prints them", "[ping][flood]") {
    PingStats s;
    s.ntransmitted = 3;
    for (long t : {37L, 54L, 48L}) s.add_reply(t);
    // ewma x 8: 296, then 296 + 54 - 37 = 313, then 313 + 48 - 39 = 322; printed 322/8000 .
    // (322/8)%1000.
    CHECK(s.rtt == 322);
    CHECK(statistics("127.0.0.1", s, 408000, true) ==
          "\n--- 127.0.0.1 ping statistics ---\n"
          "3 packets transmitted, 3 received, 0% packet loss, time 408ms\n"
          "rtt min/avg/max/mdev = 0.037/0.046/0.054/0.007 ms, ipg/ewma 204.000/0.040 ms\n");
    s.pipesize = 2;
    CHECK(statistics("127.0.0.1", s, 408000, true)
              .find("0.007 ms, pipe 2, ipg/ewma 204.000/0.040 ms\n") != std::string::npos);
    PingStats one;  // one request: no gap to average
    one.ntransmitted = 1;
    one.add_reply(10);
    CHECK(statistics("h", one, 0, true).find("ipg") == std::string::npos);
}

TEST_CASE("vlo-ping -f prints a dot per request and a backspace per reply as ping -f",
          "[ping][flood][process]") {
    int rc = -1;
    const std::string vlo = run(std::string(VLO_PING_PATH) + " -f -c 500 127.0.0.1", &rc);
    CHECK(rc == 0);
    const std::string header = "PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.\n";
    REQUIRE(vlo.rfind(header, 0) == 0);
    // A dot per request and a "\b \b" per reply (on a loaded machine a reply can come after the
    // 10 ms that lets the next request go, so dots may run ahead; the counts never differ).
    std::string progress;
    for (int i = 0; i < 500; ++i) progress += ".\b \b";
    const std::string body = vlo.substr(header.size(), progress.size());
    CHECK(std::count(body.begin(), body.end(), '.') == 500);
    CHECK(std::count(body.begin(), body.end(), '\b') == 1000);
    std::smatch m;
    const std::string tail = vlo.substr(header.size() + progress.size());
    REQUIRE(std::regex_match(tail, m, kFloodSummary));
    CHECK(m[1] == "500");
    CHECK(m[2] == "500");

    // The kernel's ping -f over its lo: the same bytes but for the numbers.
    const std::string kernel = run("ping -f -c 500 127.0.0.1", &rc);
    REQUIRE(rc == 0);
    CHECK(count(kernel, "\b \b") == 500);
    CHECK(count(vlo, "\b \b") == 500);
    CHECK(std::regex_match(kernel.substr(kernel.find("\n---")), kFloodSummary));

    // Quiet: no dots, and the same summary.
    const std::string quiet = run(std::string(VLO_PING_PATH) + " -q -f -c 50 127.0.0.1", &rc);
    CHECK(rc == 0);
    CHECK(count(quiet, "\b") == 0);
    CHECK(std::regex_match(quiet.substr(quiet.find("\n---")), kFloodSummary));
}

TEST_CASE("vlo-ping -f without replies sends one every 10 ms and erases nothing",
          "[ping][flood][process]") {
    int rc = -1;
    const std::string out =
        run(std::string(VLO_PING_PATH) + " --policy bsd -f -c 5 -W 0.1 127.0.0.2", &rc);
    CHECK(rc == 1);
    CHECK(count(out, "\b") == 0);
    CHECK(out.find("\n.....\n---") != std::string::npos);
    CHECK(out.find("5 packets transmitted, 0 received, 100% packet loss") != std::string::npos);
}

TEST_CASE("vlo-ping -i 0 has the real ping's shape with ipg/ewma", "[ping][flood][process]") {
    static const std::regex number("[0-9]+(\\.[0-9]+)?");
    int rc = -1;
    const std::string vlo = run(std::string(VLO_PING_PATH) + " -i 0 -c 4 127.0.0.1", &rc);
    CHECK(rc == 0);
    const std::string kernel = run("ping -i 0 -c 4 127.0.0.1", &rc);
    REQUIRE(rc == 0);
    CHECK(std::regex_replace(vlo, number, "N") == std::regex_replace(kernel, number, "N"));
    CHECK(vlo.find(" ms, ipg/ewma ") != std::string::npos);
}
