// TCP through netem on lo, in virtual time: loss, duplication, reordering, delay and corruption
// together, and still every byte arrives in order; retransmissions did the work; netem's
// counters match what lo received; the same seed gives the same run.
#include <random>

#include <catch2/catch.hpp>

#include "netif/dev_xmit.hpp"
#include "netif/netem.hpp"
#include "stack/testing/fixture.hpp"

using namespace vlo;

namespace {

struct Outcome {
    bool identical = false;
    std::uint64_t retrans = 0, csum_errors = 0, lo_rx = 0;
    NetemStats netem;
};

Outcome transfer(std::size_t bytes, std::uint64_t seed) {
    testing::Fixture f;
    f.netem("lo", "loss 5% duplicate 2% reorder 25% 50% delay 1ms corrupt 1%", seed);
    auto listener = f.listen("127.0.0.2", 7);
    TcpSocket client(f.stack());
    REQUIRE(client.connect_start({*Ipv4Address::parse("127.0.0.2"), 7}) == std::errc::operation_in_progress);
    std::unique_ptr<TcpSocket> server;
    REQUIRE(f.wait_until([&] {
        std::error_code ec;
        if (!server) server = listener->try_accept(ec);
        return server != nullptr;
    }, 10 * kNsPerSec));

    std::vector<std::uint8_t> data(bytes);
    std::mt19937_64 rng(seed);
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    std::vector<std::uint8_t> got;
    got.reserve(bytes);
    std::vector<std::uint8_t> buf(1 << 20);
    std::size_t sent = 0;
    const bool done = f.wait_until(
        [&] { return got.size() == bytes; }, 600 * kNsPerSec, 100 * kNsPerUs, [&] {
            std::size_t n = 0;
            if (sent < bytes && !client.try_send({data.data() + sent, bytes - sent}, n)) sent += n;
            while (!server->try_recv(buf, n) && n > 0) got.insert(got.end(), buf.begin(), buf.begin() + static_cast<long>(n));
        });
    Outcome o;
    o.identical = done && got == data;
    o.retrans = f.counter("TcpRetransSegs");
    // A flipped IP header bit is an InHdrErrors (a bad checksum counts there too), any other a
    // TCP InErrs: a checksum error, or a data offset that no longer fits, which tcp_v4_rcv
    // rejects before it looks at the checksum.
    o.csum_errors = f.counter("TcpInErrs") + f.counter("IpInHdrErrors");
    with_root_qdisc(f.stack().loopback(), [&](Qdisc* q) {
        auto* netem = dynamic_cast<NetemQdisc*>(q);
        REQUIRE(netem);
        o.netem = netem->xstats();
    });
    o.lo_rx = f.stack().loopback().stats().rx_packets.load();
    return o;
}

}  // namespace

TEST_CASE("netem on lo: 64 MiB byte-identical through loss, duplication, reordering and corruption", "[netem][slow]") {
    const Outcome a = transfer(64u << 20, 7);
    CHECK(a.identical);
    CHECK(a.retrans > 0);
    CHECK(a.netem.lost > 0);
    CHECK(a.netem.duplicated > 0);
    CHECK(a.netem.reordered > 0);
    CHECK(a.netem.corrupted > 0);
    // What netem released is what lo received, and every flipped bit was caught by a checksum.
    CHECK(a.lo_rx == a.netem.packets);
    CHECK(a.csum_errors == a.netem.corrupted);

    // The same seed: the same impairments. (TCP's own choices are not seeded: ISNs, ports and
    // IP IDs are random as in Linux, so how many segments the transfer took can differ a little.)
    const Outcome b = transfer(64u << 20, 7);
    CHECK(b.identical);
    CHECK(b.netem.lost == a.netem.lost);
    CHECK(b.netem.duplicated == a.netem.duplicated);
    CHECK(b.netem.reordered == a.netem.reordered);
    CHECK(b.netem.corrupted == a.netem.corrupted);
}
