// Zero heap allocations per packet in the steady state (issue 7's rule for the hot path).
// This binary replaces the global operator new with one that counts, on every thread, so a
// std::vector growing in a timer heap or a std::function built per packet shows up here even
// where the packet pool's own counter would not see it.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <thread>

#include <catch2/catch.hpp>

#include "stack/ping_socket.hpp"
#include "stack/stack.hpp"
#include "stack/tcp_socket.hpp"
#include "stack/udp_socket.hpp"

namespace {
std::atomic<std::uint64_t> g_allocations{0};
}

void* operator new(std::size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

using namespace vlo;

namespace {

constexpr int kWarmup = 2000;
constexpr int kMeasured = 20000;
const Ipv4Address kLo{127, 0, 0, 1};

// Heap allocations made (by any thread) while `round` runs kMeasured times after kWarmup.
template <typename Round>
std::uint64_t allocations_in_steady_state(Round round) {
    for (int i = 0; i < kWarmup; ++i) REQUIRE(round());
    // The stack's own threads (timers, ksoftirqd) name themselves once when first scheduled,
    // which a fast warm-up can outrun: that is start-up, not the steady state.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::uint64_t before = g_allocations.load();
    int ok = 0;
    for (int i = 0; i < kMeasured; ++i) ok += round();
    const std::uint64_t made = g_allocations.load() - before;
    REQUIRE(ok == kMeasured);
    return made;
}

StackConfig config(WorkerKind worker) {
    StackConfig c;
    c.core.worker = worker;
    return c;
}

}  // namespace

TEST_CASE("ICMP echo through lo allocates nothing per packet once warm", "[alloc]") {
    const WorkerKind worker = GENERATE(WorkerKind::softirq, WorkerKind::inline_);
    CAPTURE(worker_kind_name(worker));
    Stack stack(config(worker));
    PingSocket ping(stack);
    std::vector<std::uint8_t> payload(56, 0x5a), data(2048);
    std::uint16_t seq = 0;
    const auto made = allocations_in_steady_state([&] {
        EchoReply reply;
        if (ping.send_echo(kLo, ++seq, payload)) return false;
        return !ping.recv_echo(reply, data, stack.clock().now_ns() + kNsPerSec) && reply.seq == seq;
    });
    CHECK(made == 0);
}

TEST_CASE("UDP request and response through lo allocate nothing per packet once warm", "[alloc]") {
    const WorkerKind worker = GENERATE(WorkerKind::softirq, WorkerKind::inline_);
    CAPTURE(worker_kind_name(worker));
    Stack stack(config(worker));
    UdpSocket server(stack), client(stack);
    REQUIRE_FALSE(server.bind(kLo, 7));
    REQUIRE_FALSE(client.connect(kLo, 7));
    std::vector<std::uint8_t> req(1, 'x'), buf(2048);
    const auto made = allocations_in_steady_state([&] {
        std::size_t n = 0;
        Ipv4Address from;
        std::uint16_t port = 0;
        const Nanos deadline = stack.clock().now_ns() + kNsPerSec;
        return !client.send(req) && !server.recvfrom(buf, from, port, n, deadline) &&
               !server.sendto(from, port, std::span(buf).first(n)) && !client.recv(buf, n, deadline) && n == 1;
    });
    CHECK(made == 0);
}

TEST_CASE("TCP request and response through lo allocate nothing per packet once warm", "[alloc]") {
    const WorkerKind worker = GENERATE(WorkerKind::softirq, WorkerKind::inline_);
    CAPTURE(worker_kind_name(worker));
    Stack stack(config(worker));
    TcpSocket listener(stack), client(stack);
    REQUIRE_FALSE(listener.bind({kLo, 80}));
    REQUIRE_FALSE(listener.listen(4));
    REQUIRE_FALSE(client.set_nodelay(true));
    REQUIRE_FALSE(client.connect({kLo, 80}, kNsPerSec));
    std::error_code ec;
    auto server = listener.accept(ec, kNsPerSec);
    REQUIRE(server);
    REQUIRE_FALSE(server->set_nodelay(true));
    std::vector<std::uint8_t> req(1, 'q'), buf(64);
    const auto made = allocations_in_steady_state([&] {
        std::size_t n = 0;
        return !client.send(req, n) && !server->recv(buf, n, kNsPerSec) && n == 1 &&
               !server->send(std::span(buf).first(1), n) && !client.recv(buf, n, kNsPerSec) && n == 1;
    });
    CHECK(made == 0);
}
