// ICMP echo through the modeled lo, end to end through a ping socket: which addresses answer
// under each loopback policy, what the reply carries, and where NET_RX ran.
#include <catch2/catch.hpp>

#include "stack/stack.hpp"
#include "test_util.hpp"

using namespace vlo;

namespace {

std::vector<std::uint8_t> pattern(std::size_t n) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i * 7 + 3);
    return v;
}

// Sends one echo request and waits up to `wait` for its reply.
std::optional<EchoReply> ping_once(Stack& stack, PingSocket& sock, Ipv4Address dst, std::uint16_t seq,
                                   std::vector<std::uint8_t>& got, Nanos wait = kNsPerSec) {
    const auto payload = pattern(56);
    REQUIRE_FALSE(sock.send_echo(dst, seq, payload));
    EchoReply r;
    got.assign(56, 0);
    if (sock.recv_echo(r, got, stack.clock().now_ns() + wait)) return std::nullopt;
    return r;
}

}  // namespace

TEST_CASE("echo through lo answers all of 127/8 under the linux policy, with every worker", "[echo]") {
    const WorkerKind worker = GENERATE(WorkerKind::softirq, WorkerKind::ksoftirqd, WorkerKind::busypoll,
                                       WorkerKind::inline_);
    const char* target = GENERATE("127.0.0.1", "127.0.0.2", "127.255.255.254");
    StackConfig c;
    c.core.worker = worker;
    Stack stack(c);
    PingSocket sock(stack);
    const Ipv4Address dst = *Ipv4Address::parse(target);
    std::vector<std::uint8_t> got;
    for (std::uint16_t seq = 1; seq <= 3; ++seq) {
        auto reply = ping_once(stack, sock, dst, seq, got);
        REQUIRE(reply);
        CHECK(reply->from == dst);
        CHECK(reply->seq == seq);
        CHECK(reply->ttl == 64);  // ip_default_ttl
        CHECK(reply->icmp_len == 64);
        CHECK(got == pattern(56));  // payload preserved byte for byte
    }
    CHECK(stack.snmp().icmp.get(IcmpMib::InEchos) == 3);
    CHECK(stack.snmp().icmp.get(IcmpMib::OutEchoReps) == 3);
    CHECK(stack.snmp().icmp.get(IcmpMib::InEchoReps) == 3);
    CHECK(stack.loopback().stats().tx_packets == 6);  // three requests, three replies
    CHECK(stack.loopback().stats().rx_packets == 6);
}

TEST_CASE("the bsd policy answers only addresses configured on lo", "[echo]") {
    StackConfig c = test::inline_config();
    c.loopback_policy = LoopbackPolicy::bsd;
    VirtualClock clock;
    Stack stack(c, clock);
    PingSocket sock(stack);
    std::vector<std::uint8_t> got;

    // 127.0.0.2 is routed to lo (the prefix route) but is not ours: dropped on input.
    CHECK_FALSE(ping_once(stack, sock, *Ipv4Address::parse("127.0.0.2"), 1, got, 0));
    CHECK(stack.snmp().ip.get(IpMib::InAddrErrors) == 1);
    CHECK(stack.snmp().icmp.get(IcmpMib::OutEchoReps) == 0);

    CHECK(ping_once(stack, sock, kInaddrLoopback, 2, got, 0));

    // `ifconfig lo0 alias 127.0.0.2`
    REQUIRE_FALSE(stack.addr_add("lo", *Ipv4Cidr::parse("127.0.0.2/32")));
    auto reply = ping_once(stack, sock, *Ipv4Address::parse("127.0.0.2"), 3, got, 0);
    REQUIRE(reply);
    CHECK(reply->from == *Ipv4Address::parse("127.0.0.2"));
}

TEST_CASE("under the linux policy an address on lo makes its whole prefix local", "[echo]") {
    Stack stack(test::inline_config());
    CHECK(stack.fib().is_local(*Ipv4Address::parse("127.1.2.3")));
    CHECK_FALSE(stack.fib().is_local(*Ipv4Address::parse("127.255.255.255")));  // broadcast route
    CHECK_FALSE(stack.fib().is_local(*Ipv4Address::parse("10.0.0.1")));
    Route rt;
    // ping 127.0.0.2 leaves from 127.0.0.1, the route's preferred source.
    REQUIRE_FALSE(stack.ip().route_output(*Ipv4Address::parse("127.0.0.2"), {}, nullptr, rt));
    CHECK(rt.type == RouteType::local);
    CHECK(rt.src == kInaddrLoopback);
    CHECK(rt.dev == &stack.loopback());
    // Nothing routes 10/8 in a fresh namespace.
    CHECK(stack.ip().route_output(*Ipv4Address::parse("10.0.0.1"), {}, nullptr, rt) ==
          std::errc::network_unreachable);
}

TEST_CASE("a datagram to 0.0.0.0 goes to 127.0.0.1, as on Linux", "[echo]") {
    Stack stack(test::inline_config());
    Route rt;
    REQUIRE_FALSE(stack.ip().route_output(Ipv4Address{}, {}, nullptr, rt));
    CHECK(rt.dst == kInaddrLoopback);
    CHECK(rt.src == kInaddrLoopback);
    PingSocket sock(stack);
    std::vector<std::uint8_t> got;
    auto reply = ping_once(stack, sock, Ipv4Address{}, 1, got, 0);
    REQUIRE(reply);
    CHECK(reply->from == kInaddrLoopback);
}

TEST_CASE("a ping socket cannot bind an address that is not local or send to broadcast", "[echo]") {
    Stack stack(test::inline_config());
    PingSocket sock(stack);
    CHECK(sock.bind(*Ipv4Address::parse("10.9.9.9")) == std::errc::address_not_available);
    CHECK(sock.send_echo(*Ipv4Address::parse("127.255.255.255"), 1, pattern(8)) == std::errc::permission_denied);
    CHECK(sock.set_ttl(0) == std::errc::invalid_argument);
    PingSocket first(stack), second(stack);
    REQUIRE_FALSE(first.bind(*Ipv4Address::parse("127.0.0.3"), 77));
    CHECK(first.ident() == 77);
    CHECK(second.bind({}, 77) == std::errc::address_in_use);
}

TEST_CASE("with the softirq design the reply is delivered inside the sender's call", "[echo]") {
    Stack stack;  // defaults: softirq worker, real clock
    PingSocket sock(stack);
    REQUIRE_FALSE(sock.send_echo(kInaddrLoopback, 1, pattern(56)));
    // Already queued when send_echo returned: a receive that may not wait at all gets it.
    EchoReply r;
    std::vector<std::uint8_t> got(56);
    REQUIRE_FALSE(sock.recv_echo(r, got, stack.clock().now_ns() - 1));
    const Softnet& sd = stack.net_rx().this_softnet();
    CHECK(sd.runs_in_sender >= 1);
    CHECK(sd.runs_in_ksoftirqd == 0);
    CHECK(sd.processed == 2);  // request and reply, both by the sender's NET_RX
}

TEST_CASE("ping -t sets the request's TTL, the reply always carries ip_default_ttl", "[echo]") {
    StackConfig c = test::inline_config();
    c.ip_default_ttl = 42;
    Stack stack(c);
    PingSocket sock(stack);
    REQUIRE_FALSE(sock.set_ttl(5));
    std::vector<std::uint8_t> got;
    auto reply = ping_once(stack, sock, kInaddrLoopback, 1, got, 0);
    REQUIRE(reply);
    CHECK(reply->ttl == 42);
}
