// One seed per stack: every random choice (ISNs, ephemeral ports, IP IDs, netem's loss, the
// statistic match) comes from it, and the virtual clock runs timers as it moves, so the same
// seed gives the same bytes on the wire, packet for packet, and another seed other bytes.
#include <catch2/catch.hpp>

#include <cstdint>
#include <mutex>
#include <vector>

#include "netif/capture.hpp"
#include "netif/dev_xmit.hpp"
#include "netif/netem.hpp"
#include "stack/testing/fixture.hpp"

using namespace vlo;
using Bytes = std::vector<std::uint8_t>;

namespace {

struct Run {
    Bytes pcap;
    std::uint64_t netem_lost = 0, statistic_drops = 0, retrans = 0;
    std::size_t delivered = 0;
};

// A client on an ephemeral port sends 2 MiB to 127.0.0.2:7 through lo losing 3% (netem) and a
// further 1% of everything to port 7 (-m statistic), captured on lo into memory as pcap.
Run lossy_exchange(std::uint64_t seed) {
    testing::Fixture f(WorkerKind::inline_, seed);
    f.netem("lo", "loss 3% delay 1ms");  // unseeded: from the stack's seed
    f.iptables("-A INPUT -p tcp --dport 7 -m statistic --mode random --probability 0.1 -j DROP");
    Run run;
    std::mutex mu;
    Capture* cap = f.stack().add_capture("lo");
    REQUIRE(cap);
    REQUIRE_FALSE(
        cap->start(std::make_unique<CallbackPcapSink>([&](std::span<const std::uint8_t> b) {
            std::lock_guard lock(mu);
            run.pcap.insert(run.pcap.end(), b.begin(), b.end());
            return std::error_code{};
        })));

    auto listener = f.listen("127.0.0.2", 7);
    auto [client, server] = f.connect(*listener, "127.0.0.2", 7);
    Bytes data(2 * 1024 * 1024);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 131 + 7);
    Bytes buf(1 << 16);
    std::size_t sent = 0;
    REQUIRE(f.wait_until([&] { return run.delivered == data.size(); }, 120 * kNsPerSec,
                         100 * kNsPerUs,
                         [&] {
                             std::size_t n = 0;
                             if (sent < data.size() &&
                                 !client->try_send({data.data() + sent, data.size() - sent}, n))
                                 sent += n;
                             while (!server->try_recv(buf, n) && n > 0) run.delivered += n;
                         }));
    REQUIRE_FALSE(cap->close());
    with_root_qdisc(f.stack().loopback(), [&](Qdisc* q) {
        if (auto* netem = dynamic_cast<NetemQdisc*>(q)) run.netem_lost = netem->xstats().lost;
    });
    run.statistic_drops = f.stack().net_rx().drops().count(DropReason::netfilter_drop);
    // Every packet netem lost was freed under its reason.
    CHECK(f.stack().net_rx().drops().count(DropReason::netem_loss) == run.netem_lost);
    run.retrans = f.counter("TcpRetransSegs");
    return run;
}

}  // namespace

TEST_CASE("the same seed gives identical pcap bytes for a lossy TCP exchange on the virtual clock",
          "[seed][capture][netem]") {
    const Run a = lossy_exchange(11);
    const Run b = lossy_exchange(11);
    REQUIRE(a.delivered == 2 * 1024 * 1024);
    CHECK(a.netem_lost > 0);  // the run had losses to repeat
    CHECK(a.statistic_drops > 0);
    CHECK(a.retrans > 0);
    CHECK(a.pcap.size() > 2 * 1024 * 1024);
    CHECK(a.netem_lost == b.netem_lost);
    CHECK(a.statistic_drops == b.statistic_drops);
    CHECK(a.pcap.size() == b.pcap.size());
    CHECK(a.pcap == b.pcap);  // byte for byte: ISNs, ports, IP IDs, timestamps, losses

    const Run c = lossy_exchange(12);  // another seed: other choices, other bytes
    CHECK(c.delivered == 2 * 1024 * 1024);
    CHECK(c.pcap != a.pcap);
}
