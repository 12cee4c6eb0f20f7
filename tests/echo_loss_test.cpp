// Both directions through an impaired lo at once (an echo), in virtual time: every byte comes
// back, and loss recovery, not timeouts, does the work.
#include <random>

#include <catch2/catch.hpp>

#include "stack/testing/fixture.hpp"

using namespace vlo;

namespace {
struct EchoOutcome {
    bool identical = false;
    std::uint64_t timeouts = 0, recoveries = 0, probes = 0;
    std::size_t got = 0;
};

EchoOutcome echo(const char* impairment, std::size_t bytes, std::uint64_t seed) {
    testing::Fixture f;
    f.netem("lo", impairment, seed);
    auto listener = f.listen("127.0.0.2", 7);
    auto [client_sock, server] = f.connect(*listener, "127.0.0.2", 7);
    TcpSocket& client = *client_sock;
    std::vector<std::uint8_t> data(bytes);
    std::mt19937_64 rng(seed);
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    std::vector<std::uint8_t> got, pending;
    std::vector<std::uint8_t> buf(1 << 20);
    std::size_t sent = 0;
    f.wait_until([&] { return got.size() == bytes; }, 120 * kNsPerSec, 100 * kNsPerUs,
                 [&] {
                     std::size_t n = 0;
                     if (sent < bytes && !client.try_send({data.data() + sent, bytes - sent}, n))
                         sent += n;
                     while (!server->try_recv(buf, n) && n > 0)
                         pending.insert(pending.end(), buf.begin(),
                                        buf.begin() + static_cast<long>(n));
                     if (!pending.empty() && !server->try_send(pending, n))
                         pending.erase(pending.begin(), pending.begin() + static_cast<long>(n));
                     while (!client.try_recv(buf, n) && n > 0)
                         got.insert(got.end(), buf.begin(), buf.begin() + static_cast<long>(n));
                 });
    EchoOutcome o;
    o.got = got.size();
    o.identical = got == data;
    o.timeouts = f.counter("TcpExtTCPTimeouts");
    o.recoveries = f.counter("TcpExtTCPSackRecovery");
    o.probes = f.counter("TcpExtTCPLossProbes");
    return o;
}
}  // namespace

// Both directions carry data and SACK blocks at once: a data segment must leave room for its
// blocks (tcp_current_mss), or on lo, where a segment fills the 64 KiB MTU, it is too big to
// send and every retransmission is lost the same way.
TEST_CASE(
    "an echo through lo losing 5% with 1 ms delay comes back whole, recovered by SACK and probes",
    "[tcp][netem]") {
    const EchoOutcome o = echo("loss 5% delay 1ms", 8u << 20, 7);
    CHECK(o.got == 8u << 20);
    CHECK(o.identical);
    CHECK(o.recoveries + o.probes > 0);
    CHECK(o.timeouts <= 2);
}

TEST_CASE(
    "an echo through lo with loss, duplication, reordering, delay and corruption comes back whole",
    "[tcp][netem]") {
    const EchoOutcome o =
        echo("loss 5% duplicate 2% reorder 25% 50% delay 1ms corrupt 1%", 8u << 20, 11);
    CHECK(o.got == 8u << 20);
    CHECK(o.identical);
    CHECK(o.recoveries + o.probes > 0);
    CHECK(o.timeouts <= 2);
}
