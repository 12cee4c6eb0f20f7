// The sample servers (echo, discard, chargen, http) in a stack, netcat's loops in-process over
// pipes, and the vlo-nc program: byte-identical echo through every worker design, netcat's
// messages and exit codes (compared with the real netcat-openbsd where it is installed), one
// listener per address on :80, UDP echo. Everything runs on the real clock: the servers and nc
// wait in 100 ms slices.
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "apps/nc/nc_options.hpp"
#include "apps/nc/netcat.hpp"
#include "apps/servers/servers.hpp"
#include "stack/tcp_socket.hpp"
#include "stack/udp_socket.hpp"

using namespace vlo;
using servers::ServerHost;

namespace {

constexpr Nanos kWait = 5 * kNsPerSec;  // what any single step may take before a test fails

std::span<const std::uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string random_string(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

bool send_all(TcpSocket& s, std::string_view data) {
    std::size_t sent = 0;
    return !s.send(bytes(data), sent, kWait) && sent == data.size();
}

// Reads until `want` bytes came, the peer closed, an error, or kWait without progress.
std::string recv_some(TcpSocket& s, std::size_t want, bool* eof = nullptr) {
    std::string out;
    std::vector<std::uint8_t> buf(65536);
    if (eof) *eof = false;
    while (out.size() < want) {
        std::size_t n = 0;
        if (s.recv(buf, n, kWait)) break;
        if (n == 0) {
            if (eof) *eof = true;
            break;
        }
        out.append(buf.begin(), buf.begin() + static_cast<long>(n));
    }
    return out;
}

std::string recv_to_eof(TcpSocket& s, bool* eof = nullptr) { return recv_some(s, SIZE_MAX, eof); }

// A client connected to addr:port of `stack`.
std::unique_ptr<TcpSocket> connect_to(Stack& stack, const char* addr, std::uint16_t port) {
    auto s = std::make_unique<TcpSocket>(stack);
    REQUIRE_FALSE(s->connect({*Ipv4Address::parse(addr), port}, kWait));
    return s;
}

// Waits (bounded) until pred() holds.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

std::string http_get(Stack& stack, const char* addr, std::uint16_t port,
                     const std::string& request) {
    auto c = connect_to(stack, addr, port);
    REQUIRE(send_all(*c, request));
    bool eof = false;
    std::string response = recv_to_eof(*c, &eof);
    CHECK(eof);  // the server closes after the response
    return response;
}

std::string body_of(const std::string& response) {
    const std::size_t end = response.find("\r\n\r\n");
    return end == std::string::npos ? "" : response.substr(end + 4);
}

std::string header(const std::string& response, const std::string& name) {
    const std::size_t at = response.find("\r\n" + name + ": ");
    if (at == std::string::npos) return "";
    const std::size_t from = at + name.size() + 4;
    return response.substr(from, response.find("\r\n", from) - from);
}

// --- running programs ---

struct Run {
    int rc = -1;
    std::string out, err;
};

std::string slurp(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/vlo-nc-test-XXXXXX";
        REQUIRE(mkdtemp(tmpl));
        path = tmpl;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::filesystem::path operator/(const char* name) const { return path / name; }
};

// Runs `args` (a shell word list) with stdin from `input`, under timeout(1): every run is bounded.
Run run(const std::string& program, const std::string& args, const std::string& input = "",
        int limit_s = 60) {
    TempDir dir;
    std::ofstream(dir / "in", std::ios::binary) << input;
    const std::string cmd = "timeout " + std::to_string(limit_s) + " " + program + " " + args +
                            " <" + (dir / "in").string() + " >" + (dir / "out").string() + " 2>" +
                            (dir / "err").string();
    const int status = std::system(cmd.c_str());
    Run r;
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(dir / "out");
    r.err = slurp(dir / "err");
    return r;
}

Run vlo_nc(const std::string& args, const std::string& input = "", int limit_s = 60) {
    return run(VLO_NC_PATH, args, input, limit_s);
}

// netcat-openbsd's service name for a TCP port, as -v prints it.
std::string service(int port) {
    const servent* sv = getservbyport(htons(static_cast<std::uint16_t>(port)), "tcp");
    return sv ? sv->s_name : "*";
}

// --- netcat in-process ---

struct Pipe {
    int r = -1, w = -1;
    Pipe() { REQUIRE(pipe2(&r, O_CLOEXEC) == 0); }
    ~Pipe() {
        close_r();
        close_w();
    }
    void close_r() {
        if (r >= 0) ::close(r);
        r = -1;
    }
    void close_w() {
        if (w >= 0) ::close(w);
        w = -1;
    }
    void write(std::string_view s) const {
        REQUIRE(::write(w, s.data(), s.size()) == static_cast<ssize_t>(s.size()));
    }
    // Reads what is there within `limit` until `want` bytes or EOF.
    std::string read(std::size_t want,
                     std::chrono::milliseconds limit = std::chrono::seconds(5)) const {
        std::string out;
        const auto end = std::chrono::steady_clock::now() + limit;
        char buf[4096];
        while (out.size() < want && std::chrono::steady_clock::now() < end) {
            pollfd p{r, POLLIN, 0};
            if (::poll(&p, 1, 10) <= 0) continue;
            const ssize_t n = ::read(r, buf, sizeof buf);
            if (n <= 0) break;
            out.append(buf, static_cast<std::size_t>(n));
        }
        return out;
    }
};

nc::NcOptions nc_options(std::vector<std::string> args) {
    args.insert(args.begin(), "vlo-nc");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    auto r = nc::parse_nc_options(static_cast<int>(args.size()), argv.data());
    REQUIRE(r.options);
    return *r.options;
}

// Runs run_nc on a thread with pipes for stdin, stdout and stderr.
struct NcRun {
    Pipe in, out, errp;
    FILE* err;
    std::string messages_;  // what came through errp so far
    nc::NcOptions options;
    std::future<int> rc;

    NcRun(Stack& stack, std::vector<std::string> args) : options(nc_options(std::move(args))) {
        err = fdopen(errp.w, "w");
        REQUIRE(err);
        errp.w = -1;  // the FILE owns it now
        std::setvbuf(err, nullptr, _IONBF, 0);
        rc = std::async(std::launch::async, [this, &stack] {
            const int status = nc::run_nc(stack, options, {in.r, out.w, err});
            out.close_w();  // EOF for the readers
            std::fclose(err);
            return status;
        });
    }
    ~NcRun() {
        in.close_w();
        if (rc.valid()) rc.wait();
    }
    // The exit status once run_nc returned within `limit`, else -1.
    int wait(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
        if (rc.wait_for(limit) != std::future_status::ready) return -1;
        return rc.get();
    }
    // netcat's messages so far, waiting (bounded) until they contain `needle`; after run_nc
    // returned, all of them.
    const std::string& messages(const std::string& needle = "\x01never") {
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (messages_.find(needle) == std::string::npos &&
               std::chrono::steady_clock::now() < end) {
            pollfd p{errp.r, POLLIN, 0};
            if (::poll(&p, 1, 10) <= 0) continue;
            char buf[1024];
            const ssize_t n = ::read(errp.r, buf, sizeof buf);
            if (n <= 0) break;  // EOF: run_nc is done
            messages_.append(buf, static_cast<std::size_t>(n));
        }
        return messages_;
    }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// The servers, in-process

TEST_CASE("server specs: KIND@ADDR[:PORT], default ports, errors in one line", "[servers]") {
    using servers::Kind;
    auto ok = [](const char* text) {
        auto p = servers::parse_spec(text);
        INFO(text << ": " << p.error);
        REQUIRE(p.spec);
        return *p.spec;
    };
    auto spec = ok("echo@127.0.0.2");
    CHECK(spec.kind == Kind::echo);
    CHECK(spec.addr == Ipv4Address(127, 0, 0, 2));
    CHECK(spec.port == 7);
    CHECK((spec.tcp && spec.udp));
    CHECK(ok("discard@127.0.0.1").port == 9);
    CHECK(ok("chargen@127.0.0.1").port == 19);
    spec = ok("http@:8080");
    CHECK(spec.addr == kInaddrAny);
    CHECK(spec.port == 8080);
    CHECK((spec.tcp && !spec.udp));
    CHECK(ok("http@0.0.0.0").port == 80);
    spec = ok("chargen/udp@127.0.0.3:1919");
    CHECK((!spec.tcp && spec.udp));
    CHECK(spec.to_string() == "chargen/udp@127.0.0.3:1919");
    CHECK(ok("echo@127.0.0.2:7").to_string() == "echo@127.0.0.2:7");

    for (const char* bad :
         {"echo", "gopher@127.0.0.1", "echo@127.0.0:7", "echo@127.0.0.1:70000", "echo@127.0.0.1:x",
          "echo@127.0.0.1:", "http/udp@:80", "echo/sctp@:7", "echo@localhost:7"}) {
        auto p = servers::parse_spec(bad);
        INFO(bad);
        CHECK_FALSE(p.spec);
        CHECK(p.error.find("invalid server '" + std::string(bad) + "': ") == 0);
        CHECK(p.error.find('\n') == std::string::npos);
    }
}

TEST_CASE("chargen's lines are RFC 864's: 72 of the 95 printable characters, rotating",
          "[servers]") {
    const std::string first = servers::chargen_line(0);
    CHECK(first ==
          " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n");
    CHECK(servers::chargen_line(1).substr(0, 3) == "!\"#");
    CHECK(servers::chargen_line(94).substr(0, 3) == "~ !");  // wraps after '~'
    CHECK(servers::chargen_line(95) == first);
    for (std::size_t i = 0; i < 95; ++i) CHECK(servers::chargen_line(i).size() == 74);
}

TEST_CASE("echo server: TCP sends back every byte until the client closes, UDP each datagram",
          "[servers]") {
    Stack stack;
    ServerHost host(stack);
    REQUIRE_FALSE(host.start("echo@127.0.0.2:7"));

    auto c = connect_to(stack, "127.0.0.2", 7);
    const std::string data = random_string(300000, 1);
    std::string back;
    std::thread reader([&] { back = recv_to_eof(*c); });
    REQUIRE(send_all(*c, data));
    REQUIRE_FALSE(c->shutdown(Shutdown::write));
    reader.join();
    CHECK(back.size() == data.size());
    const bool identical = back == data;
    CHECK(identical);

    UdpSocket u(stack);
    REQUIRE_FALSE(u.sendto(Ipv4Address(127, 0, 0, 2), 7, bytes("ping")));
    std::array<std::uint8_t, 64> buf{};
    Ipv4Address from;
    std::uint16_t port = 0;
    std::size_t n = 0;
    REQUIRE_FALSE(u.recvfrom(buf, from, port, n, stack.clock().now_ns() + kWait));
    CHECK(std::string(buf.begin(), buf.begin() + static_cast<long>(n)) == "ping");
    CHECK(from == Ipv4Address(127, 0, 0, 2));
    CHECK(port == 7);

    // The same spec again: the port is taken, the message says by what call.
    auto err = host.start("echo@127.0.0.2:7");
    REQUIRE(err);
    CHECK(*err == "echo@127.0.0.2:7: tcp bind: Address already in use");
}

TEST_CASE("echo server: closing with unsent data still delivers all of it (LAST_ACK pushes)",
          "[servers][tcp]") {
    // The client sends 6 MiB and its FIN without reading: 4 MiB of echo fill its receive
    // buffer, the other 2 MiB wait in the server's send queue when the server reads EOF and
    // closes (CLOSE_WAIT -> LAST_ACK). Once the client reads, the window opens and the rest,
    // then the FIN, must follow (RFC 9293 3.10.7.4: LAST_ACK processes ACKs as ESTABLISHED
    // does, and the data queued before the close is still sent).
    Stack stack;
    ServerHost host(stack);
    REQUIRE_FALSE(host.start("echo/tcp@127.0.0.2:7"));
    auto c = connect_to(stack, "127.0.0.2", 7);
    const std::string data = random_string(6 << 20, 2);
    REQUIRE(send_all(*c, data));
    REQUIRE_FALSE(c->shutdown(Shutdown::write));
    REQUIRE(eventually([&] { return host.open_connections() == 0; }));  // the server has closed
    bool eof = false;
    const std::string back = recv_to_eof(*c, &eof);
    CHECK(back.size() == data.size());
    const bool identical = back == data;
    CHECK(identical);
    CHECK(eof);
}

TEST_CASE("discard server reads and throws away, sends nothing", "[servers]") {
    Stack stack;
    ServerHost host(stack);
    REQUIRE_FALSE(host.start("discard@127.0.0.1"));
    auto c = connect_to(stack, "127.0.0.1", 9);
    REQUIRE(send_all(*c, random_string(100000, 3)));
    REQUIRE_FALSE(c->shutdown(Shutdown::write));
    bool eof = false;
    CHECK(recv_to_eof(*c, &eof).empty());
    CHECK(eof);

    UdpSocket u(stack);
    REQUIRE_FALSE(u.sendto(kInaddrLoopback, 9, bytes("into the void")));
    std::array<std::uint8_t, 64> buf{};
    std::size_t n = 0;
    CHECK(u.recv(buf, n, stack.clock().now_ns() + 300 * kNsPerMs) ==
          std::errc::resource_unavailable_try_again);

    std::uint64_t tcp_in = 0, out = 0, datagrams = 0;
    for (const auto& l : host.listening()) {
        if (l.udp)
            datagrams += l.counters->datagrams;
        else
            tcp_in += l.counters->bytes_in;
        out += l.counters->bytes_out;
    }
    CHECK(tcp_in == 100000);
    CHECK(datagrams == 1);
    CHECK(out == 0);
}

TEST_CASE("chargen server: TCP streams the rotating lines, UDP answers with 0 to 512 of them",
          "[servers]") {
    Stack stack;
    ServerHost host(stack);
    REQUIRE_FALSE(host.start("chargen@127.0.0.1"));
    {
        auto c = connect_to(stack, "127.0.0.1", 19);
        const std::string got = recv_some(*c, 200 * 74);
        REQUIRE(got.size() >= 200 * 74);
        std::string expected;
        for (std::size_t i = 0; i < 200; ++i) expected += servers::chargen_line(i);
        CHECK(got.substr(0, expected.size()) == expected);
        CHECK(host.open_connections() == 1);
    }  // the client closes: the server's next sends fail and its thread ends
    CHECK(eventually([&] { return host.open_connections() == 0; }));

    UdpSocket u(stack);
    std::size_t replies = 0;
    for (int i = 0; i < 5; ++i) {
        REQUIRE_FALSE(u.sendto(kInaddrLoopback, 19, bytes("x")));
        std::vector<std::uint8_t> buf(2048);
        std::size_t n = 0;
        REQUIRE_FALSE(u.recv(buf, n, stack.clock().now_ns() + kWait));
        ++replies;
        CHECK(n <= 512);
        const std::string got(buf.begin(), buf.begin() + static_cast<long>(n));
        if (got.empty()) continue;
        // Each datagram is the pattern from the start of some line: its first character says
        // which line.
        const std::size_t first = static_cast<unsigned char>(got[0]) - ' ';
        std::string lines;
        for (std::size_t i = first; lines.size() < got.size(); ++i)
            lines += servers::chargen_line(i);
        CHECK(lines.substr(0, got.size()) == got);
    }
    CHECK(replies == 5);
}

TEST_CASE("http server: GET / is the stack's counters, other paths 404, close after", "[servers]") {
    Stack stack;
    ServerHost host(stack);
    REQUIRE_FALSE(host.start("http@127.0.0.1:80"));

    const std::string r =
        http_get(stack, "127.0.0.1", 80, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    CHECK(r.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(header(r, "Content-Type") == "text/plain; charset=utf-8");
    CHECK(header(r, "Connection") == "close");
    const std::string body = body_of(r);
    CHECK(header(r, "Content-Length") == std::to_string(body.size()));
    CHECK(body.find("softnet_stat") != std::string::npos);
    CHECK(body.find("\nIp: Forwarding DefaultTTL") != std::string::npos);  // /proc/net/snmp
    CHECK(body.find("\nTcp: RtoAlgorithm RtoMin RtoMax MaxConn") != std::string::npos);
    CHECK(body.find("\nTcp: 1 200 120000 -1 ") != std::string::npos);  // to_text(200, 120000)
    CHECK(body.find("TcpExt: ") != std::string::npos);
    CHECK(body.find("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536") != std::string::npos);
    CHECK(body.find("PassiveOpens") != std::string::npos);
    const std::size_t tcp_line = body.find("Tcp: RtoAlgorithm");
    CHECK(body.find("Tcp: RtoAlgorithm", tcp_line + 1) == std::string::npos);  // once

    const std::string nf = http_get(stack, "127.0.0.1", 80, "GET /x HTTP/1.0\r\n\r\n");
    CHECK(nf.rfind("HTTP/1.0 404 Not Found\r\n", 0) == 0);
    CHECK(header(nf, "Content-Length") == std::to_string(body_of(nf).size()));

    // A browser asking for HTML gets it; HEAD has no body; other methods are 501.
    const std::string html =
        http_get(stack, "127.0.0.1", 80, "GET / HTTP/1.1\r\nAccept: text/html\r\n\r\n");
    CHECK(header(html, "Content-Type") == "text/html; charset=utf-8");
    CHECK(body_of(html).find("<pre>") != std::string::npos);
    const std::string head = http_get(stack, "127.0.0.1", 80, "HEAD / HTTP/1.0\n\n");  // bare LFs
    CHECK(head.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
    CHECK(body_of(head).empty());
    CHECK(std::stoul(header(head, "Content-Length")) > 0);
    CHECK(servers::http_response(stack, "POST / HTTP/1.1\r\n\r\n")
              .rfind("HTTP/1.1 501 Not Implemented\r\n", 0) == 0);
    CHECK(servers::http_response(stack, "nonsense\r\n\r\n")
              .rfind("HTTP/1.0 400 Bad Request\r\n", 0) == 0);

    // Only TCP: no UDP socket is bound for http.
    CHECK(host.listening().size() == 1);
}

TEST_CASE("two servers on port 80, one per address, and 127.0.0.3:80 is refused", "[servers]") {
    Stack stack;
    ServerHost host(stack);
    REQUIRE_FALSE(host.start("http@127.0.0.1:80"));
    REQUIRE_FALSE(host.start("echo/tcp@127.0.0.2:80"));
    auto e = connect_to(stack, "127.0.0.2", 80);
    REQUIRE(send_all(*e, "one\n"));
    CHECK(recv_some(*e, 4) == "one\n");
    CHECK(http_get(stack, "127.0.0.1", 80, "GET / HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 200 OK", 0) ==
          0);
    TcpSocket refused(stack);
    CHECK(refused.connect({Ipv4Address(127, 0, 0, 3), 80}, kWait) == std::errc::connection_refused);

    // As on Linux, 0.0.0.0:80 conflicts with a listener on 127.0.0.1:80, SO_REUSEADDR or not.
    auto err = host.start("discard/tcp@:80");
    REQUIRE(err);
    CHECK(*err == "discard/tcp@0.0.0.0:80: tcp bind: Address already in use");
}

TEST_CASE("ServerHost stops in bounded time: threads joined, sockets closed, idle clients too",
          "[servers]") {
    Stack stack;
    auto host = std::make_unique<ServerHost>(stack);
    REQUIRE_FALSE(host->start("echo@127.0.0.1"));
    REQUIRE_FALSE(host->start("chargen@127.0.0.1"));
    REQUIRE_FALSE(host->start("http@127.0.0.1"));
    auto idle = connect_to(stack, "127.0.0.1", 7);      // says nothing
    auto flooded = connect_to(stack, "127.0.0.1", 19);  // never reads: chargen blocks
    auto half = connect_to(stack, "127.0.0.1", 80);     // half a request head
    REQUIRE(send_all(*half, "GET / HT"));
    REQUIRE(eventually([&] { return host->open_connections() == 3; }));
    CHECK(host->threads() == 3 + 5);  // 3 connections; 3 acceptors, 2 UDP servers

    const auto t0 = std::chrono::steady_clock::now();
    host.reset();
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took < std::chrono::seconds(2));

    // Every listener is gone: connects are refused; the clients see their servers close.
    TcpSocket late(stack);
    CHECK(late.connect({kInaddrLoopback, 7}, kWait) == std::errc::connection_refused);
    bool eof = false;
    recv_to_eof(*idle, &eof);
    CHECK(eof);
}

// ---------------------------------------------------------------------------------------------
// netcat's loops in-process

TEST_CASE("nc -l: listens, reports as netcat -v does, copies both ways, ends when the peer closes",
          "[nc]") {
    Stack stack;
    NcRun nc(stack, {"-lv", "-p", "5000"});
    std::unique_ptr<TcpSocket> c;
    REQUIRE(eventually([&] {
        c = std::make_unique<TcpSocket>(stack);
        return !c->connect({kInaddrLoopback, 5000}, kWait);
    }));
    REQUIRE(send_all(*c, "to stdout\n"));
    CHECK(nc.out.read(10) == "to stdout\n");
    nc.in.write("to the network\n");
    CHECK(recv_some(*c, 15) == "to the network\n");
    const std::uint16_t client_port = c->local_address().port;
    REQUIRE_FALSE(c->close());  // netcat -l ends when the network input ends, stdin open or not
    CHECK(nc.wait() == 0);
    const std::string expected = "Listening on 0.0.0.0 5000\nConnection received on " +
                                 nc::host_name(kInaddrLoopback, false) + " " +
                                 std::to_string(client_port) + "\n";
    CHECK(nc.messages() == expected);
}

TEST_CASE("nc -u -l: the first sender is the peer, its datagrams out, stdin back to it", "[nc]") {
    Stack stack;
    NcRun nc(stack, {"-u", "-l", "-v", "-n", "-w", "1", "127.0.0.5", "6000"});
    UdpSocket u(stack);
    REQUIRE_FALSE(u.bind(Ipv4Address(127, 0, 0, 9), 41000));
    REQUIRE(nc.messages("Bound on 127.0.0.5 6000\n").find("Bound on") != std::string::npos);
    REQUIRE_FALSE(u.sendto(Ipv4Address(127, 0, 0, 5), 6000, bytes("first\n")));
    CHECK(nc.out.read(6) == "first\n");
    REQUIRE_FALSE(u.sendto(Ipv4Address(127, 0, 0, 5), 6000, bytes("second\n")));
    CHECK(nc.out.read(7) == "second\n");
    nc.in.write("reply\n");
    std::array<std::uint8_t, 64> buf{};
    std::size_t n = 0;
    REQUIRE_FALSE(u.recv(buf, n, stack.clock().now_ns() + kWait));
    CHECK(std::string(buf.begin(), buf.begin() + static_cast<long>(n)) == "reply\n");
    // Another sender is not heard: the socket is connected to the first.
    UdpSocket other(stack);
    REQUIRE_FALSE(other.sendto(Ipv4Address(127, 0, 0, 5), 6000, bytes("intruder\n")));
    CHECK(nc.out.read(9, std::chrono::milliseconds(300)).empty());
    CHECK(nc.messages("41000\n") ==
          "Bound on 127.0.0.5 6000\nConnection received on 127.0.0.9 41000\n");
    // UDP has no end of stream: -w 1 ends the session after a second without events.
    nc.in.close_w();
    CHECK(nc.wait() == 0);
}

TEST_CASE(
    "nc without -N keeps reading after stdin's EOF until the peer closes, and -w ends idleness",
    "[nc]") {
    Stack stack;
    TcpSocket l(stack);
    REQUIRE_FALSE(l.bind({kInaddrLoopback, 7000}));
    REQUIRE_FALSE(l.listen(4));
    NcRun nc(stack, {"127.0.0.1", "7000"});
    std::error_code ec;
    auto conn = l.accept(ec, kWait);
    REQUIRE(conn);
    nc.in.write("question\n");
    nc.in.close_w();  // EOF on stdin: no FIN without -N
    CHECK(recv_some(*conn, 9) == "question\n");
    std::array<std::uint8_t, 16> buf{};
    std::size_t n = 0;
    CHECK(conn->recv(buf, n, 300 * kNsPerMs) ==
          std::errc::resource_unavailable_try_again);  // no FIN
    CHECK(nc.wait(std::chrono::milliseconds(100)) == -1);
    REQUIRE(send_all(*conn, "late answer\n"));
    CHECK(nc.out.read(12) == "late answer\n");
    REQUIRE_FALSE(conn->close());
    CHECK(nc.wait() == 0);

    // -w 1 against a peer that never speaks: the session ends after a second without events.
    NcRun idle(stack, {"-w", "1", "127.0.0.1", "7000"});
    auto conn2 = l.accept(ec, kWait);
    REQUIRE(conn2);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(idle.wait() == 0);
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took > std::chrono::milliseconds(700));
    CHECK(took < std::chrono::seconds(3));
}

TEST_CASE("nc -N: shutdown(SHUT_WR) after stdin's EOF, the echo comes back whole", "[nc]") {
    Stack stack;
    ServerHost host(stack);
    REQUIRE_FALSE(host.start("echo/tcp@127.0.0.2:7"));
    NcRun nc(stack, {"-N", "127.0.0.2", "7"});
    const std::string data = random_string(200000, 4);
    std::thread writer([&] {
        nc.in.write(data);
        nc.in.close_w();
    });
    const std::string back = nc.out.read(data.size() + 1, std::chrono::seconds(20));
    writer.join();
    CHECK(nc.wait() == 0);
    CHECK(back.size() == data.size());
    const bool identical = back == data;
    CHECK(identical);
}

// ---------------------------------------------------------------------------------------------
// The vlo-nc program

TEST_CASE("vlo-nc echoes 1 MiB byte-identical through every worker design", "[nc][process]") {
    // Run a few times each: the echo server's close races the last of its sends, and a close
    // with data still queued must not lose it (see the LAST_ACK case above).
    const std::string data = random_string(1 << 20, 5);
    for (int round = 0; round < 3; ++round)
        for (const char* worker : {"softirq", "ksoftirqd", "busypoll", "inline"}) {
            INFO("--worker " << worker << ", round " << round);
            const Run r = vlo_nc(
                std::string("--worker ") + worker + " -N --serve echo@127.0.0.2:7 127.0.0.2 7",
                data, 30);
            CHECK(r.rc == 0);
            CHECK(r.err.empty());
            CHECK(r.out.size() == data.size());
            const bool identical = r.out == data;
            CHECK(identical);
        }
}

TEST_CASE("vlo-nc echoes 16 MiB byte-identical within seconds (default design)", "[nc][process]") {
    const std::string data = random_string(16 << 20, 6);
    const auto t0 = std::chrono::steady_clock::now();
    const Run r = vlo_nc("-N --serve echo@127.0.0.2:7 127.0.0.2 7", data, 60);
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(r.rc == 0);
    CHECK(r.out.size() == data.size());
    const bool identical = r.out == data;
    CHECK(identical);
    CHECK(took < std::chrono::seconds(20));  // a bound for a hang, not a benchmark
}

TEST_CASE("vlo-nc -zv: netcat's refused and succeeded lines, exit 1 and 0", "[nc][process]") {
    Run r = vlo_nc("-zv 127.0.0.2 80");
    CHECK(r.rc == 1);
    CHECK(r.err == "vlo-nc: connect to 127.0.0.2 port 80 (tcp) failed: Connection refused\n");
    CHECK(r.out.empty());

    r = vlo_nc("-zv --serve echo@127.0.0.1:80 127.0.0.1 80");
    CHECK(r.rc == 0);
    CHECK(r.err == "Connection to 127.0.0.1 80 port [tcp/" + service(80) + "] succeeded!\n");

    // Without -v netcat says nothing either way; the status tells.
    r = vlo_nc("-z 127.0.0.1 80");
    CHECK(r.rc == 1);
    CHECK(r.err.empty());
    // A name is reported with its address; -n leaves the service out.
    r = vlo_nc("-zv --serve echo@127.0.0.1:7 localhost 7");
    CHECK(r.rc == 0);
    CHECK(r.err ==
          "Connection to localhost (127.0.0.1) 7 port [tcp/" + service(7) + "] succeeded!\n");
    r = vlo_nc("-zvn --serve echo@127.0.0.1:7 127.0.0.1 7");
    CHECK(r.err == "Connection to 127.0.0.1 7 port [tcp/*] succeeded!\n");
    // A scan of a range: 0 if any port answered.
    r = vlo_nc("-zv --serve discard@127.0.0.1 127.0.0.1 8-10");
    CHECK(r.rc == 0);
    CHECK(r.err ==
          "vlo-nc: connect to 127.0.0.1 port 8 (tcp) failed: Connection refused\n"
          "Connection to 127.0.0.1 9 port [tcp/" +
              service(9) +
              "] succeeded!\n"
              "vlo-nc: connect to 127.0.0.1 port 10 (tcp) failed: Connection refused\n");
}

TEST_CASE("vlo-nc --stat prints the stack's counters to stderr at exit", "[nc][process]") {
    const Run r = vlo_nc("-z --stat --serve echo@127.0.0.1:7 127.0.0.1 7");
    CHECK(r.rc == 0);
    CHECK(r.out.empty());
    for (const char* part :
         {"softnet_stat", "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536", "\n#kernel\nIpForwarding ",
          "\nTcpActiveOpens                  1\n", "\nTcpPassiveOpens                 1\n",
          "Chain INPUT (policy ACCEPT", "cpu0 NET_RX runs: in sender "}) {
        INFO(part);
        CHECK(r.err.find(part) != std::string::npos);
    }
}

TEST_CASE("vlo-nc: 127.0.0.2:80 is refused while only 127.0.0.1:80 listens", "[nc][process]") {
    Run r = vlo_nc("-zv --serve echo@127.0.0.1:80 127.0.0.2 80");
    CHECK(r.rc == 1);
    CHECK(r.err == "vlo-nc: connect to 127.0.0.2 port 80 (tcp) failed: Connection refused\n");
    // With the BSD policy 127.0.0.2 is not even an address of this host.
    r = vlo_nc("--policy bsd -zv --serve echo@127.0.0.1:80 127.0.0.1 80");
    CHECK(r.rc == 0);
}

TEST_CASE("vlo-nc: two listeners on :80, http on 127.0.0.1 and echo on 127.0.0.2, each reached",
          "[nc][process]") {
    const std::string serve = "--serve http@127.0.0.1:80 --serve echo@127.0.0.2:80 ";
    Run r = vlo_nc("-N " + serve + "127.0.0.2 80", "one\n");
    CHECK(r.rc == 0);
    CHECK(r.out == "one\n");
    r = vlo_nc("-N " + serve + "127.0.0.1 80", "GET / HTTP/1.0\r\n\r\n");
    CHECK(r.rc == 0);
    CHECK(r.out.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
    CHECK(r.out.find("softnet_stat") != std::string::npos);
    CHECK(header(r.out, "Content-Length") == std::to_string(body_of(r.out).size()));
}

TEST_CASE("vlo-nc -u: a datagram per stdin read, the replies printed, -w 1 ends it",
          "[nc][process]") {
    const auto t0 = std::chrono::steady_clock::now();
    Run r = vlo_nc("-u -w 1 --serve echo@127.0.0.3:7 127.0.0.3 7", "hello-udp\n");
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(r.rc == 0);
    CHECK(r.out == "hello-udp\n");
    CHECK(r.err.empty());
    CHECK(took < std::chrono::seconds(10));
    // -v first sends netcat's udptest probes ("X"), then reports; to a closed port it fails
    // silently with exit 1, as netcat-openbsd does.
    r = vlo_nc("-zvu 127.0.0.3 7");
    CHECK(r.rc == 1);
    CHECK(r.err.empty());
}

TEST_CASE("vlo-nc: bad flags and values exit as netcat does (1), vlo's own options 2",
          "[nc][process]") {
    Run r = vlo_nc("-Q 127.0.0.1 80");
    CHECK(r.rc == 1);
    CHECK(r.err.rfind("vlo-nc: invalid option -- 'Q'\nusage: vlo-nc ", 0) == 0);
    r = vlo_nc("--bogus-flag");
    CHECK(r.rc == 1);
    CHECK(r.err.find("usage: vlo-nc ") != std::string::npos);
    r = vlo_nc("");
    CHECK(r.rc == 1);
    CHECK(r.err.rfind("usage: vlo-nc ", 0) == 0);
    r = vlo_nc("127.0.0.1");
    CHECK(r.rc == 1);
    CHECK(r.err == "vlo-nc: missing port number\n");
    r = vlo_nc("-w abc 127.0.0.1 80");
    CHECK(r.rc == 1);
    CHECK(r.err == "vlo-nc: timeout invalid: abc\n");
    r = vlo_nc("127.0.0.1 99999");
    CHECK(r.err == "vlo-nc: port number too large: 99999\n");
    r = vlo_nc("-z -l 9000");
    CHECK(r.err == "vlo-nc: cannot use -z and -l\n");
    r = vlo_nc("-s 10.1.1.1 127.0.0.1 80");
    CHECK(r.rc == 1);
    CHECK(r.err == "vlo-nc: bind failed: Cannot assign requested address\n");

    r = vlo_nc("--serve gopher@127.0.0.1 127.0.0.1 70");
    CHECK(r.rc == 2);
    CHECK(r.err ==
          "vlo-nc: invalid server 'gopher@127.0.0.1': unknown kind 'gopher' (echo, discard, "
          "chargen, http)\n");
    r = vlo_nc("--worker fast 127.0.0.1 80");
    CHECK(r.rc == 2);
    CHECK(r.err == "vlo-nc: invalid --worker: 'fast' (softirq, ksoftirqd, busypoll or inline)\n");
    r = vlo_nc("--serve echo@127.0.0.1 --serve discard@127.0.0.1:7 127.0.0.1 7");
    CHECK(r.rc == 2);
    CHECK(r.err == "vlo-nc: --serve discard@127.0.0.1:7: tcp bind: Address already in use\n");
    r = vlo_nc("-h");
    CHECK(r.rc == 0);
    CHECK(r.err.find("Command Summary:") != std::string::npos);
    CHECK(r.err.find("--serve") != std::string::npos);
}

TEST_CASE("vlo-nc's messages are netcat-openbsd's, word for word, where both can say them",
          "[nc][process]") {
    // The real nc talks to the kernel's lo, vlo-nc to its own: the same closed port and the
    // same bad arguments must give the same line, "nc:" becoming "vlo-nc:".
    if (std::system("test -x /bin/nc && /bin/nc -h 2>&1 | grep -q 'OpenBSD netcat'") != 0) {
        WARN("skipped: /bin/nc is not netcat-openbsd");
        return;
    }
    for (const char* args :
         {"-zv 127.0.0.1 1", "-zv 127.1 1", "-zv localhost 1", "-zv 127.0.0.1 1-2", "127.0.0.1",
          "-w abc 127.0.0.1 1", "127.0.0.1 0", "127.0.0.1 99999", "-vn 127.0.0.1 abc", "-z -l 9000",
          "-l", "-s 10.1.1.1 127.0.0.1 1", "-w 99999999 127.0.0.1 1", "-z 127.0.0.1 1",
          "-zvu 127.0.0.1 1"}) {
        INFO(args);
        const Run real = run("/bin/nc", args, "", 20);
        const Run ours = vlo_nc(args, "", 20);
        std::string expected = real.err;
        for (std::size_t at = 0; (at = expected.find("nc: ", at)) != std::string::npos; at += 8)
            if (at == 0 || expected[at - 1] == '\n') expected.replace(at, 4, "vlo-nc: ");
        CHECK(ours.err == expected);
        CHECK(ours.rc == real.rc);
        CHECK(ours.out == real.out);
    }
}
