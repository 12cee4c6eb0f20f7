// The netem qdisc against sch_netem.c and tc-netem(8): tc's words parsed (and refused) as
// tc does, each impairment's effect on what reaches the device behind it, time under a virtual
// clock (a 10 ms delay costs nothing), the watchdog wiring to the stack's TimerService, and
// repeatable runs from a seed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <numeric>
#include <set>
#include <thread>
#include <vector>

#include "frontend/netem_words.hpp"
#include "frontend/tc.hpp"
#include "netif/dev_xmit.hpp"
#include "netif/loopback.hpp"
#include "netif/net_rx.hpp"
#include "netif/netem.hpp"
#include "netif/packet_pool.hpp"
#include "stack/timer_service.hpp"

using namespace vlo;
using Bytes = std::vector<std::uint8_t>;

namespace {

// The device behind netem: what reached it, and when on the netem's clock.
class Recorder final : public NetDevice {
public:
    struct Sent {
        std::uint32_t seq;
        Nanos at;
        Bytes bytes;
        ChecksumState ip_summed;
    };

    explicit Recorder(const Clock& clock)
        : NetDevice("eth0", 2, 1500, IFF_UP | IFF_RUNNING, 0), clock_(clock) {}
    NetdevTx xmit(PacketPtr pkt) override {
        const std::uint8_t* d = pkt->data();
        const std::uint32_t seq = (std::uint32_t{d[0]} << 24) | (d[1] << 16) | (d[2] << 8) | d[3];
        sent.push_back({seq, clock_.now_ns(), Bytes(d, d + pkt->size()), pkt->ip_summed});
        return NetdevTx::ok;
    }
    std::vector<std::uint32_t> seqs() const {
        std::vector<std::uint32_t> out;
        for (const Sent& s : sent) out.push_back(s.seq);
        return out;
    }

    std::vector<Sent> sent;

private:
    const Clock& clock_;
};

// A packet whose first four bytes number it; the rest is a fixed pattern.
Bytes numbered_bytes(std::uint32_t seq, std::size_t size) {
    Bytes b(size);
    for (std::size_t i = 0; i < size; ++i) b[i] = static_cast<std::uint8_t>(i * 7 + 3);
    b[0] = static_cast<std::uint8_t>(seq >> 24);
    b[1] = static_cast<std::uint8_t>(seq >> 16);
    b[2] = static_cast<std::uint8_t>(seq >> 8);
    b[3] = static_cast<std::uint8_t>(seq);
    return b;
}

PacketPtr numbered(std::uint32_t seq, std::size_t size = 100) {
    const Bytes b = numbered_bytes(seq, size);
    PacketPtr p = PacketPool::instance().alloc(size);
    std::copy(b.begin(), b.end(), p->put(size));
    return p;
}

NetemSpec spec(std::string_view tc) {
    NetemParseResult r = parse_netem(tc);
    INFO(tc << ": " << r.error);
    REQUIRE(r);
    return *r.spec;
}

std::string parse_error(std::string_view tc) {
    NetemParseResult r = parse_netem(tc);
    INFO(tc);
    REQUIRE_FALSE(r);
    return r.error;
}

// Moves the virtual clock to each packet's time in turn until nothing waits.
void drain(VirtualClock& clock, NetemQdisc& netem) {
    while (std::optional<Nanos> due = netem.next_due()) {
        if (*due > clock.now_ns()) clock.set(*due);
        netem.run();
    }
}

// `tc qdisc change ... netem OPTIONS` on one netem: tc's complaint, or "" once changed.
std::string change(NetemQdisc& netem, std::string_view tc) {
    NetemParseResult r = parse_netem(tc);
    if (!r) return r.error;
    netem.change(*r.spec);
    return {};
}

// The recorder's root qdisc, as `tc qdisc add dev eth0 root netem ...` makes it.
NetemQdisc& graft_netem(Recorder& wire, const Clock& clock, const NetemSpec& s) {
    auto q = std::make_unique<NetemQdisc>(wire, clock, s);
    NetemQdisc& netem = *q;
    q->set_handle(0x8001);
    dev_graft_qdisc(wire, std::move(q), clock);
    return netem;
}

// A netem in front of a recorder, on a virtual clock.
struct Bench {
    VirtualClock clock;
    Recorder wire{clock};
    NetemQdisc& netem;

    explicit Bench(std::string_view tc) : netem(graft_netem(wire, clock, spec(tc))) {}

    void send(std::uint32_t n, std::size_t size = 100, Nanos gap = 0) {
        for (std::uint32_t i = 0; i < n; ++i) {
            netem.xmit(numbered(i, size));
            if (gap) {
                clock.advance(gap);
                netem.run();
            }
        }
    }
};

constexpr Nanos ms(std::int64_t n) { return n * kNsPerMs; }

// Of `sent` numbered packets, how many never arrived and in how many runs of consecutive ones.
struct LossRuns {
    std::size_t lost = 0;
    std::size_t runs = 0;
    double mean_run() const { return static_cast<double>(lost) / static_cast<double>(runs); }
    double rate(std::size_t sent) const {
        return static_cast<double>(lost) / static_cast<double>(sent);
    }
};
LossRuns loss_runs(const std::vector<std::uint32_t>& delivered, std::uint32_t sent) {
    LossRuns r;
    std::uint32_t expect = 0;
    for (std::uint32_t seq : delivered) {
        if (seq > expect) {
            r.lost += seq - expect;
            ++r.runs;
        }
        expect = seq + 1;
    }
    if (sent > expect) {
        r.lost += sent - expect;
        ++r.runs;
    }
    return r;
}

}  // namespace

TEST_CASE("netem parses delay with jitter correlation and distribution as tc does", "[netem]") {
    NetemSpec s = spec("delay 10ms");
    CHECK(s.latency == ms(10));
    CHECK(s.jitter == 0);
    CHECK(s.limit == 1000);

    s = spec("delay 100ms 10ms 25%");
    CHECK(s.latency == ms(100));
    CHECK(s.jitter == ms(10));
    CHECK(s.delay_corr == netem_percent(25));

    // Units as get_time64 takes them; a bare number is nanoseconds in today's tc.
    CHECK(spec("delay 1s").latency == kNsPerSec);
    CHECK(spec("delay 1.5sec").latency == 1'500'000'000);
    CHECK(spec("delay 250us").latency == 250'000);
    CHECK(spec("delay 7usecs").latency == 7'000);
    CHECK(spec("delay 40ns").latency == 40);
    CHECK(spec("delay 100").latency == 100);
    CHECK(spec("delay 2MS").latency == ms(2));
    // "latency" is the old name, and any prefix tc's matches() accepts will do.
    CHECK(spec("latency 3ms").latency == ms(3));
    CHECK(spec("del 3ms").latency == ms(3));

    CHECK(spec("delay 100ms 20ms distribution normal").distribution == NetemDistribution::normal);
    CHECK(spec("delay 100ms 20ms distribution pareto").distribution == NetemDistribution::pareto);
    CHECK(spec("delay 100ms 20ms distribution paretonormal").distribution ==
          NetemDistribution::paretonormal);
    CHECK(spec("delay 100ms 20ms distribution uniform").distribution == NetemDistribution::uniform);
}

TEST_CASE("netem parses loss in its three models as tc does", "[netem]") {
    NetemSpec s = spec("loss 5%");
    CHECK(s.loss_model == NetemLossModel::random);
    CHECK(s.loss == netem_percent(5));
    CHECK(s.loss_corr == 0);
    s = spec("loss 0.3% 25%");
    CHECK(s.loss == netem_percent(0.3));
    CHECK(s.loss_corr == netem_percent(25));
    CHECK(spec("loss random 7%").loss == netem_percent(7));
    CHECK(spec("drop 7").loss == netem_percent(7));  // the % is optional

    // gemodel P [R [1-H [1-K]]]: the kernel is handed h, not 1-h.
    s = spec("loss gemodel 1% 10% 70% 0.1%");
    CHECK(s.loss_model == NetemLossModel::gemodel);
    CHECK(s.ge_p == netem_percent(1));
    CHECK(s.ge_r == netem_percent(10));
    CHECK(s.ge_h == kNetemAlways - netem_percent(70));
    CHECK(s.ge_k1 == netem_percent(0.1));
    // Bernoulli defaults: r = 1 - p, 1-h = 100%, 1-k = 0.
    s = spec("loss gemodel 2%");
    CHECK(s.ge_r == kNetemAlways - netem_percent(2));
    CHECK(s.ge_h == 0);
    CHECK(s.ge_k1 == 0);

    s = spec("loss state 1% 2% 3% 4% 5%");
    CHECK(s.loss_model == NetemLossModel::state);
    CHECK(s.p13 == netem_percent(1));
    CHECK(s.p31 == netem_percent(2));
    CHECK(s.p32 == netem_percent(3));
    CHECK(s.p23 == netem_percent(4));
    CHECK(s.p14 == netem_percent(5));
    s = spec("loss state 10%");
    CHECK(s.p31 == kNetemAlways - netem_percent(10));
    CHECK(s.p23 == kNetemAlways);
    CHECK(s.p32 == 0);
    CHECK(s.p14 == 0);
}

TEST_CASE("netem parses duplicate reorder corrupt rate limit and seed as tc does", "[netem]") {
    NetemSpec s = spec("duplicate 1% 10% corrupt 0.1% 5% limit 50 seed 42");
    CHECK(s.duplicate == netem_percent(1));
    CHECK(s.dup_corr == netem_percent(10));
    CHECK(s.corrupt == netem_percent(0.1));
    CHECK(s.corrupt_corr == netem_percent(5));
    CHECK(s.limit == 50);
    CHECK(s.seed == 42u);
    CHECK(spec("limit 1k").limit == 1024);  // get_size's suffixes

    s = spec("delay 10ms reorder 25% 50%");
    CHECK(s.reorder == netem_percent(25));
    CHECK(s.reorder_corr == netem_percent(50));
    CHECK(s.gap == 1);  // reorder implies gap 1
    CHECK(spec("delay 10ms reorder 100% gap 5").gap == 5);

    // Rates are bits per second with tc's units, kept as bytes per second.
    CHECK(spec("rate 1mbit").rate == 125'000);
    CHECK(spec("rate 1gbit").rate == 125'000'000);
    CHECK(spec("rate 100kbit").rate == 12'500);
    CHECK(spec("rate 1Kibit").rate == 128);
    CHECK(spec("rate 2MBps").rate == 2'000'000);
    CHECK(spec("rate 8000").rate == 1'000);  // no unit: bit/s
    s = spec("rate 5kbit 20 100 -5");
    CHECK(s.rate == 625);
    CHECK(s.packet_overhead == 20);
    CHECK(s.cell_size == 100);
    CHECK(s.cell_overhead == -5);
    CHECK(spec("rate 5kbit -14").packet_overhead == -14);
}

TEST_CASE("netem refuses bad words with tc's message naming them", "[netem]") {
    const std::string incomplete = "Command line is not complete. Try option \"help\"";
    CHECK(parse_error("delay") == incomplete);
    CHECK(parse_error("loss") == incomplete);
    CHECK(parse_error("loss gemodel") == incomplete);
    CHECK(parse_error("delay abc") == "Illegal \"latency\"");
    CHECK(parse_error("delay -5ms") == "Illegal \"latency\"");
    CHECK(parse_error("delay 10ms 1x") == "Illegal \"latency\"");
    CHECK(parse_error("delay 10ms 1ms 101%") == "Illegal \"latency\"");
    CHECK(parse_error("delay 10parsecs") == "Illegal \"latency\"");
    CHECK(parse_error("loss 150%") == "Illegal \"loss percent\"");
    CHECK(parse_error("loss 5% 2x") == "Illegal \"loss correlation\"");
    CHECK(parse_error("loss bogus") == "Unknown loss parameter: bogus");
    CHECK(parse_error("loss 1% loss 2%") == "Illegal \"duplicate loss argument\"");
    CHECK(parse_error("loss gemodel x") == "Illegal \"loss gemodel p\"");
    CHECK(parse_error("loss gemodel 1% 200%") == "Illegal \"loss gemodel r\"");
    CHECK(parse_error("loss gemodel 1% 2% 300%") == "Illegal \"loss gemodel h\"");
    CHECK(parse_error("loss gemodel 1% 2% 3% 400%") == "Illegal \"loss gemodel k\"");
    CHECK(parse_error("loss state 1x") == "Illegal \"loss p13\"");
    CHECK(parse_error("loss state 1% 200%") == "Illegal \"loss p31\"");
    CHECK(parse_error("loss state 1% 2% 3% 4% 500%") == "Illegal \"loss p14\"");
    CHECK(parse_error("duplicate 1x") == "Illegal \"duplicate\"");
    CHECK(parse_error("delay 1ms reorder x") == "Illegal \"reorder\"");
    CHECK(parse_error("corrupt -1%") == "Illegal \"corrupt\"");
    CHECK(parse_error("rate fast") == "Illegal \"rate\"");
    CHECK(parse_error("rate 10%") == "Illegal \"rate\"");
    CHECK(parse_error("rate 1mbit 99999999999") == "Illegal \"rate\"");
    CHECK(parse_error("limit lots") == "Illegal \"limit\"");
    CHECK(parse_error("seed -1") == "Illegal \"seed\"");
    CHECK(parse_error("delay 1ms reorder 5% gap x") == "Illegal \"gap\"");
    CHECK(parse_error("xyz") == "What is \"xyz\"?");
    CHECK(parse_error("delay 10ms .5ms") == "What is \".5ms\"?");  // NEXT_IS_NUMBER wants a digit
    CHECK(parse_error("reorder 10%") == "reordering not possible without specifying some delay");
    CHECK(parse_error("delay 10ms gap 5") == "gap specified without reorder probability");
    CHECK(parse_error("delay 10ms distribution normal") ==
          "distribution specified but no latency and jitter values");
    CHECK(parse_error("delay 10ms 1ms distribution weird") == "No distribution data for weird");
    CHECK(parse_error("ecn") == "ecn requested without loss model");
    CHECK(parse_error("delay 1ms loss 0% ecn") == "ecn requested without loss model");
    CHECK(parse_error("help").rfind("Usage: ... netem [ limit PACKETS ]", 0) == 0);
}

TEST_CASE("a netem change that does not parse changes nothing", "[netem]") {
    Bench b("delay 10ms limit 10 seed 1");
    CHECK(change(b.netem, "delay 20ms loss 200%") == "Illegal \"loss percent\"");
    CHECK(b.netem.spec().latency == ms(10));
    CHECK(b.netem.spec().limit == 10);
    CHECK(change(b.netem, "delay 5ms") == "");
    CHECK(b.netem.spec().latency == ms(5));
    CHECK(b.netem.spec().limit == 1000);
    CHECK(b.netem.seed() == 1u);  // no seed given: the generator runs on
}

TEST_CASE("netem prints its options as tc qdisc show does", "[netem]") {
    CHECK(netem_print_opt(spec("delay 1ms loss 5%"), 7) == "limit 1000 delay 1ms loss 5% seed 7");
    CHECK(netem_print_opt(spec("delay 100ms 10ms 25% distribution normal limit 30"), 1) ==
          "limit 30 delay 100ms  10ms 25% seed 1");
    CHECK(netem_print_opt(spec("delay 1.5s 250us"), 1) == "limit 1000 delay 1.5s  250us seed 1");
    CHECK(netem_print_opt(spec("loss 0.3% 25% duplicate 1% corrupt 0.1%"), 2) ==
          "limit 1000 loss 0.3% 25% duplicate 1% corrupt 0.1% seed 2");
    CHECK(netem_print_opt(spec("loss gemodel 1% 10% 70% 0.1%"), 3) ==
          "limit 1000 loss gemodel p 1% r 10% 1-h 70% 1-k 0.1% seed 3");
    CHECK(netem_print_opt(spec("loss state 1%"), 3) ==
          "limit 1000 loss state p13 1% p31 99% p32 0% p23 100% p14 0% seed 3");
    CHECK(netem_print_opt(spec("delay 10ms reorder 25% 50% gap 5"), 4) ==
          "limit 1000 delay 10ms reorder 25% 50% seed 4 gap 5");
    CHECK(netem_print_opt(spec("rate 1mbit"), 5) == "limit 1000 rate 1Mbit seed 5");
    CHECK(netem_print_opt(spec("rate 1500kbit 20 100 5"), 5) ==
          "limit 1000 rate 1500Kbit packetoverhead 20 cellsize 100 celloverhead 5 seed 5");
    CHECK(netem_print_opt(spec("delay 40ns"), 6) == "limit 1000 delay 40ns seed 6");
    // netem_print_opt prints " ecn " after the seed, trailing blank and all.
    CHECK(netem_print_opt(spec("loss 5% ecn"), 7) == "limit 1000 loss 5% seed 7 ecn ");
    CHECK(netem_print_opt(spec("delay 10ms reorder 25% gap 5 loss 1% ecn"), 8) ==
          "limit 1000 delay 10ms loss 1% reorder 25% seed 8 ecn  gap 5");
}

TEST_CASE("netem with no impairment passes packets straight through in order", "[netem]") {
    Bench b("seed 1");
    b.send(5);
    // Nothing delays them: each went out from its own xmit.
    CHECK(b.wire.seqs() == std::vector<std::uint32_t>{0, 1, 2, 3, 4});
    CHECK_FALSE(b.netem.next_due());
    const NetemStats s = b.netem.xstats();
    CHECK(s.packets == 5);
    CHECK(s.bytes == 500);
    CHECK(s.delayed == 0);
    CHECK(s.drops == 0);
    CHECK(s.backlog_packets == 0);
}

TEST_CASE("netem loss 100% drops every packet and loss 0% none", "[netem]") {
    Bench all("loss 100% seed 3");
    all.send(1000);
    CHECK(all.wire.sent.empty());
    CHECK(all.netem.xstats().lost == 1000);
    CHECK(all.netem.xstats().drops == 1000);

    Bench none("loss 0% seed 3");
    none.send(1000);
    CHECK(none.wire.sent.size() == 1000);
    CHECK(none.netem.xstats().lost == 0);
}

TEST_CASE("netem loss 30% with a seed loses about 30% and the same packets every run", "[netem]") {
    Bench a("loss 30% seed 12345");
    Bench b("loss 30% seed 12345");
    a.send(10'000);
    b.send(10'000);
    const std::uint64_t lost = a.netem.xstats().lost;
    CHECK(lost + a.wire.sent.size() == 10'000);
    CHECK(lost > 2'800);
    CHECK(lost < 3'200);
    CHECK(a.wire.seqs() == b.wire.seqs());

    Bench c("loss 30% seed 54321");
    c.send(10'000);
    CHECK(c.wire.seqs() != a.wire.seqs());

    // Correlated, the losses come in runs: longer than independent losses at the same rate
    // give (a mean run of 1 / (1 - rate)). Correlation also lowers the rate, as tc-netem(8)
    // warns: get_crandom pulls every value toward the last.
    Bench d("loss 30% 50% seed 12345");
    d.send(10'000);
    const LossRuns runs = loss_runs(d.wire.seqs(), 10'000);
    REQUIRE(runs.runs > 0);
    CHECK(runs.lost == d.netem.xstats().lost);
    CHECK(runs.mean_run() > 1.2 / (1 - runs.rate(10'000)));
}

TEST_CASE("netem gemodel loses in bursts as loss_gilb_ell", "[netem]") {
    // Always into the bad state, never out of it, lose all there, nothing in the good state:
    // the first packet (decided in the good state) passes and every later one is lost.
    Bench stuck("loss gemodel 100% 0% 100% 0% seed 9");
    stuck.send(100);
    CHECK(stuck.wire.seqs() == std::vector<std::uint32_t>{0});
    CHECK(stuck.netem.xstats().lost == 99);

    // p 1%, r 10%, 1-h 70%, 1-k 0.1%: in the long run p/(p+r) of the time is bad, so the
    // loss rate is 0.0909 * 0.7 + 0.909 * 0.001 = 6.45%, in bursts of about 1/(r (1-h)).
    Bench ge("loss gemodel 1% 10% 70% 0.1% seed 2024");
    ge.send(20'000);
    const double rate = static_cast<double>(ge.netem.xstats().lost) / 20'000;
    CHECK(rate > 0.05);
    CHECK(rate < 0.08);
    Bench ge2("loss gemodel 1% 10% 70% 0.1% seed 2024");
    ge2.send(20'000);
    CHECK(ge2.wire.seqs() == ge.wire.seqs());
    // Bursts: the mean run of consecutive losses is well above what independent losses at the
    // same rate give (1 / (1 - 0.0645), about 1.07).
    const LossRuns runs = loss_runs(ge.wire.seqs(), 20'000);
    REQUIRE(runs.runs > 0);
    CHECK(runs.mean_run() > 2.0);
}

TEST_CASE("netem 4-state loss follows loss_4state", "[netem]") {
    // p13 100%, then p31 100%: lose, pass, lose, pass... (1 -> 3 -> 1 -> 3).
    Bench b("loss state 100% 100% 0% 0% 0% seed 5");
    b.send(10);
    CHECK(b.wire.seqs() == std::vector<std::uint32_t>{1, 3, 5, 7, 9});
    CHECK(b.netem.xstats().lost == 5);
}

TEST_CASE("netem duplicate 100% sends every packet twice as independent copies", "[netem]") {
    Bench b("duplicate 100% seed 4");
    b.send(50);
    REQUIRE(b.wire.sent.size() == 100);
    for (std::uint32_t i = 0; i < 50; ++i) {
        CHECK(b.wire.sent[2 * i].seq == i);
        CHECK(b.wire.sent[2 * i + 1].seq == i);
        CHECK(b.wire.sent[2 * i].bytes == numbered_bytes(i, 100));
        CHECK(b.wire.sent[2 * i + 1].bytes == numbered_bytes(i, 100));
    }
    CHECK(b.netem.xstats().duplicated == 50);
    CHECK(b.netem.xstats().packets == 100);

    // The copy is taken before the original is corrupted and goes through netem itself: each
    // of the two carries its own single flipped bit (shared bytes would show two).
    Bench c("duplicate 100% corrupt 100% seed 4");
    c.send(20);
    REQUIRE(c.wire.sent.size() == 40);
    for (const auto& w : c.wire.sent) {
        const Bytes want = numbered_bytes(w.seq, 100);
        int flipped = 0;
        for (std::size_t k = 0; k < want.size(); ++k)
            flipped += std::popcount(static_cast<unsigned>(w.bytes[k] ^ want[k]));
        CHECK(flipped == 1);
    }
    CHECK(c.netem.xstats().corrupted == 40);
}

TEST_CASE("netem corrupt flips exactly one bit of each packet", "[netem]") {
    Bench b("corrupt 100% seed 8");
    b.send(200, 64);
    REQUIRE(b.wire.sent.size() == 200);
    std::set<std::size_t> positions;
    for (std::uint32_t i = 0; i < 200; ++i) {
        const Bytes want = numbered_bytes(i, 64);
        const Bytes& got = b.wire.sent[i].bytes;
        REQUIRE(got.size() == want.size());
        int flipped = 0;
        for (std::size_t k = 0; k < got.size(); ++k) {
            flipped += std::popcount(static_cast<unsigned>(got[k] ^ want[k]));
            if (got[k] != want[k]) positions.insert(k);
        }
        CHECK(flipped == 1);
    }
    CHECK(positions.size() > 40);  // anywhere in the packet
    CHECK(b.netem.xstats().corrupted == 200);
}

namespace {
int help_calls = 0;
bool help_ok(Packet& pkt) {
    ++help_calls;
    pkt.data()[pkt.size() - 1] = 0xee;  // stands for the completed checksum
    return true;
}
bool help_fails(Packet&) { return false; }
}  // namespace

TEST_CASE("netem completes an offloaded checksum before corrupting the packet", "[netem]") {
    Bench b("corrupt 100% seed 8");
    auto partial = [](std::uint32_t seq) {
        PacketPtr p = numbered(seq, 64);
        p->ip_summed = ChecksumState::partial;
        return p;
    };
    // Without the stack's helper the receiver is told to verify (and so to catch the flip).
    b.netem.xmit(partial(0));
    REQUIRE(b.wire.sent.size() == 1);
    CHECK(b.wire.sent[0].ip_summed == ChecksumState::none);

    help_calls = 0;
    b.netem.set_checksum_help(&help_ok);
    b.netem.xmit(partial(1));
    REQUIRE(b.wire.sent.size() == 2);
    CHECK(help_calls == 1);
    CHECK(b.wire.sent[1].ip_summed == ChecksumState::none);

    // A packet whose checksum cannot be completed is dropped, as skb_checksum_help failing.
    b.netem.set_checksum_help(&help_fails);
    b.netem.xmit(partial(2));
    CHECK(b.wire.sent.size() == 2);
    CHECK(b.netem.xstats().drops == 1);
}

TEST_CASE("netem delay holds packets until virtual time passes and keeps their order", "[netem]") {
    Bench b("delay 10ms seed 1");
    const Nanos t0 = b.clock.now_ns();
    b.netem.xmit(numbered(0));
    b.clock.advance(ms(1));
    b.netem.xmit(numbered(1));
    b.clock.advance(ms(1));
    b.netem.xmit(numbered(2));
    CHECK(b.wire.sent.empty());
    CHECK(b.netem.next_due() == t0 + ms(10));
    CHECK(b.netem.xstats().backlog_packets == 3);
    CHECK(b.netem.xstats().backlog_bytes == 300);

    b.clock.set(t0 + ms(10) - 1);
    b.netem.run();
    CHECK(b.wire.sent.empty());
    b.clock.set(t0 + ms(10));
    b.netem.run();
    REQUIRE(b.wire.sent.size() == 1);
    CHECK(b.wire.sent[0].at == t0 + ms(10));
    CHECK(b.netem.next_due() == t0 + ms(11));
    b.clock.set(t0 + ms(20));
    b.netem.run();
    CHECK(b.wire.seqs() == std::vector<std::uint32_t>{0, 1, 2});
    CHECK_FALSE(b.netem.next_due());
    CHECK(b.netem.xstats().delayed == 3);
    CHECK(b.netem.xstats().backlog_packets == 0);
}

namespace {
// A watchdog that only writes down what it was asked: the "call me at T" contract.
struct ScheduleLog final : NetemWatchdog {
    std::vector<Nanos>* log;
    explicit ScheduleLog(std::vector<Nanos>* l) : log(l) {}
    void schedule(Nanos when) override { log->push_back(when); }
};
}  // namespace

TEST_CASE("netem asks its watchdog for a wakeup only when its next due time changes", "[netem]") {
    Bench b("delay 10ms 5ms seed 77");
    std::vector<Nanos> asked;
    b.netem.set_watchdog(std::make_unique<ScheduleLog>(&asked));
    CHECK(asked.empty());  // nothing waits
    for (std::uint32_t i = 0; i < 20; ++i) b.netem.xmit(numbered(i));
    // Every request was for the then-earliest packet, and the last one is the current head.
    REQUIRE_FALSE(asked.empty());
    CHECK(std::is_sorted(asked.rbegin(), asked.rend()));  // only ever earlier
    CHECK(asked.back() == *b.netem.next_due());
    const std::size_t before = asked.size();
    // Woken at that time: it sends what is due and asks for the next one.
    b.clock.set(asked.back());
    b.netem.run();
    REQUIRE(asked.size() == before + 1);
    CHECK(asked.back() == *b.netem.next_due());
    CHECK(asked.back() > b.clock.now_ns());
}

TEST_CASE("netem on the stack's TimerService releases delayed packets on virtual time", "[netem]") {
    // lo behind netem, NET_RX inline, the stack's timers driving the watchdog: the delayed
    // packet arrives when the timers run at its time, in TIMER_SOFTIRQ context.
    VirtualClock clock;
    NetCoreConfig core;
    core.worker = WorkerKind::inline_;
    NetRx rx(core, clock);
    struct Counter final : PacketHandler {
        int received = 0;
        void receive(PacketPtr) override { ++received; }
    } handler;
    rx.add_pack(kEthPIp, &handler);
    TimerService timers(clock, rx);
    LoopbackDevice lo;
    lo.set_rx_sink(&rx);
    NetemQdisc netem(lo, clock, spec("delay 30ms seed 1"));
    netem.set_watchdog(std::make_unique<NetemTimerWatchdog<Timer>>(timers, netem));

    for (std::uint32_t i = 0; i < 3; ++i) netem.xmit(numbered(i));
    timers.run_due();
    CHECK(handler.received == 0);
    clock.advance(ms(29));
    timers.run_due();
    CHECK(handler.received == 0);
    clock.advance(ms(1));
    timers.run_due();
    CHECK(handler.received == 3);
    CHECK(lo.stats().tx_packets == 3);
    CHECK(netem.stats().packets == 3);
    timers.stop();
}

TEST_CASE("netem on a real clock releases a delayed packet from the timer thread", "[netem]") {
    const Clock& clock = MonotonicClock::instance();
    NetCoreConfig core;
    core.worker = WorkerKind::inline_;
    NetRx rx(core, clock);
    struct Stamper final : PacketHandler {
        std::atomic<Nanos> at{0};
        const Clock* clock = nullptr;
        void receive(PacketPtr) override { at.store(clock->now_ns()); }
    } handler;
    handler.clock = &clock;
    rx.add_pack(kEthPIp, &handler);
    TimerService timers(clock, rx);
    LoopbackDevice lo;
    lo.set_rx_sink(&rx);
    NetemQdisc netem(lo, clock, spec("delay 20ms seed 1"));
    netem.set_watchdog(std::make_unique<NetemTimerWatchdog<Timer>>(timers, netem));

    const Nanos sent = clock.now_ns();
    netem.xmit(numbered(0));
    for (int i = 0; i < 1000 && handler.at.load() == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(handler.at.load() != 0);
    CHECK(handler.at.load() - sent >= ms(20));  // never early
    netem.set_watchdog(nullptr);
    timers.stop();
}

TEST_CASE("netem jitter reorders packets as its tfifo sorts by time to send", "[netem]") {
    // 1 ms apart with 10 ms +- 5 ms: later packets often overtake earlier ones.
    Bench b("delay 10ms 5ms seed 31");
    b.send(200, 100, ms(1));
    drain(b.clock, b.netem);
    REQUIRE(b.wire.sent.size() == 200);
    const std::vector<std::uint32_t> seqs = b.wire.seqs();
    CHECK_FALSE(std::is_sorted(seqs.begin(), seqs.end()));
    // The release times themselves are in order, each within 5 ms of its 10 ms delay.
    for (std::size_t i = 1; i < b.wire.sent.size(); ++i)
        CHECK(b.wire.sent[i].at >= b.wire.sent[i - 1].at);
    const Nanos t0 = VirtualClock().now_ns();
    for (const auto& s : b.wire.sent) {
        const Nanos delay = s.at - (t0 + ms(s.seq));
        CHECK(delay >= ms(5));
        CHECK(delay <= ms(15));  // sent on the next 1 ms step after its time
    }
}

TEST_CASE("netem reorder sends some packets at once ahead of the delayed ones", "[netem]") {
    Bench b("delay 10ms reorder 25% seed 6");
    b.send(400, 100, ms(1));
    drain(b.clock, b.netem);
    REQUIRE(b.wire.sent.size() == 400);
    const NetemStats s = b.netem.xstats();
    CHECK(s.reordered > 60);
    CHECK(s.reordered < 140);
    CHECK(s.requeues == s.reordered);
    CHECK(s.delayed == 400 - s.reordered);
    // A reordered packet left when it was sent; the others 10 ms later.
    const Nanos t0 = VirtualClock().now_ns();
    std::size_t at_once = 0;
    for (const auto& w : b.wire.sent) {
        const Nanos delay = w.at - (t0 + ms(w.seq));
        CHECK((delay == 0 || delay == ms(10)));
        at_once += delay == 0;
    }
    CHECK(at_once == s.reordered);
    const std::vector<std::uint32_t> seqs = b.wire.seqs();
    CHECK_FALSE(std::is_sorted(seqs.begin(), seqs.end()));

    // gap 5 with reorder 100%: every 5th packet goes at once, the others wait (tc-netem(8)).
    Bench g("delay 10ms reorder 100% gap 5 seed 6");
    g.send(15, 100, ms(1));
    drain(g.clock, g.netem);
    std::vector<std::uint32_t> immediate;
    for (const auto& w : g.wire.sent)
        if (w.at == t0 + ms(w.seq)) immediate.push_back(w.seq);
    CHECK(immediate == std::vector<std::uint32_t>{4, 9, 14});
}

TEST_CASE("netem rate spaces packets by their size over the rate", "[netem]") {
    // 1 Mbit/s: 1250 bytes take 10 ms on the link.
    Bench b("rate 1mbit seed 1");
    const Nanos t0 = b.clock.now_ns();
    for (std::uint32_t i = 0; i < 5; ++i) b.netem.xmit(numbered(i, 1250));
    CHECK(b.wire.sent.empty());
    drain(b.clock, b.netem);
    REQUIRE(b.wire.sent.size() == 5);
    for (std::uint32_t i = 0; i < 5; ++i) {
        CHECK(b.wire.sent[i].seq == i);
        CHECK(b.wire.sent[i].at == t0 + ms(10) * (i + 1));
    }
    CHECK(b.netem.xstats().rate_waits == 4);

    // Packet overhead and cells: 100 + 20 bytes in 48-byte cells of 53: 3 cells, 159 bytes.
    Bench c("rate 1272kbit 20 48 5 seed 1");  // 159000 bytes/s: one packet per ms
    const Nanos c0 = c.clock.now_ns();
    c.netem.xmit(numbered(0, 100));
    c.netem.xmit(numbered(1, 100));
    drain(c.clock, c.netem);
    REQUIRE(c.wire.sent.size() == 2);
    CHECK(c.wire.sent[0].at == c0 + ms(1));
    CHECK(c.wire.sent[1].at == c0 + ms(2));

    // Delay and rate: the delay runs concurrently with waiting for the link.
    Bench d("delay 5ms rate 1mbit seed 1");
    const Nanos d0 = d.clock.now_ns();
    for (std::uint32_t i = 0; i < 3; ++i) d.netem.xmit(numbered(i, 1250));
    drain(d.clock, d.netem);
    REQUIRE(d.wire.sent.size() == 3);
    CHECK(d.wire.sent[0].at == d0 + ms(15));
    CHECK(d.wire.sent[1].at == d0 + ms(25));
    CHECK(d.wire.sent[2].at == d0 + ms(35));
}

TEST_CASE("netem drops and counts packets over its limit", "[netem]") {
    Bench b("delay 10ms limit 5 seed 1");
    b.send(8);
    NetemStats s = b.netem.xstats();
    CHECK(s.backlog_packets == 5);
    CHECK(s.limit_drops == 3);
    CHECK(s.drops == 3);
    drain(b.clock, b.netem);
    CHECK(b.wire.seqs() == std::vector<std::uint32_t>{0, 1, 2, 3, 4});
    // Room again once they left.
    b.send(2);
    drain(b.clock, b.netem);
    CHECK(b.wire.sent.size() == 7);
    CHECK(b.netem.xstats().limit_drops == 3);
}

TEST_CASE("netem delay distributions have the kernel tables' shape", "[netem]") {
    auto delays = [](std::string_view tc) {
        Bench b(tc);
        const Nanos t0 = b.clock.now_ns();
        b.send(4000);
        drain(b.clock, b.netem);
        std::vector<double> out;
        for (const auto& s : b.wire.sent) out.push_back(static_cast<double>(s.at - t0) / 1e6);
        return out;
    };
    auto mean = [](const std::vector<double>& v) {
        return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    };
    auto stddev = [&](const std::vector<double>& v) {
        const double m = mean(v);
        double sq = 0;
        for (double x : v) sq += (x - m) * (x - m);
        return std::sqrt(sq / static_cast<double>(v.size()));
    };

    const std::vector<double> normal = delays("delay 100ms 10ms distribution normal seed 3");
    CHECK(std::abs(mean(normal) - 100) < 1.0);
    CHECK(std::abs(stddev(normal) - 10) < 1.0);
    CHECK(*std::min_element(normal.begin(), normal.end()) > 100 - 4.1 * 10);

    // NIST Net's pareto: never below mu - 2/3 sigma, a long tail above.
    const std::vector<double> pareto = delays("delay 100ms 10ms distribution pareto seed 3");
    CHECK(*std::min_element(pareto.begin(), pareto.end()) >= 100 - 6.67 - 0.01);
    CHECK(*std::max_element(pareto.begin(), pareto.end()) > 100 + 2 * 10);
    std::vector<double> sorted = pareto;
    std::sort(sorted.begin(), sorted.end());
    CHECK(mean(pareto) > sorted[sorted.size() / 2]);  // skewed right

    // Uniform (no table): within mu +- sigma, about flat.
    const std::vector<double> uniform = delays("delay 100ms 10ms seed 3");
    CHECK(*std::min_element(uniform.begin(), uniform.end()) >= 90);
    CHECK(*std::max_element(uniform.begin(), uniform.end()) < 110);
    CHECK(std::abs(stddev(uniform) - 20 / std::sqrt(12.0)) < 0.5);

    const std::vector<double> mixed = delays("delay 100ms 10ms distribution paretonormal seed 3");
    CHECK(std::abs(mean(mixed) - 100) < 3.0);
}

TEST_CASE("netem with the same seed and packets makes the same decisions", "[netem]") {
    const char* tc = "delay 10ms 5ms 25% loss 5% 25% duplicate 3% reorder 10% corrupt 2% seed 99";
    auto run = [&](const char* options) {
        auto b = std::make_unique<Bench>(options);
        b->send(3000, 120, ms(1) / 4);
        drain(b->clock, b->netem);
        return b;
    };
    const auto one = run(tc);
    const auto two = run(tc);
    const NetemStats a = one->netem.xstats(), b = two->netem.xstats();
    CHECK(a.lost == b.lost);
    CHECK(a.duplicated == b.duplicated);
    CHECK(a.reordered == b.reordered);
    CHECK(a.corrupted == b.corrupted);
    CHECK(a.delayed == b.delayed);
    CHECK(a.packets == b.packets);
    CHECK(a.bytes == b.bytes);
    CHECK(a.lost > 0);
    CHECK(a.duplicated > 0);
    CHECK(a.reordered > 0);
    CHECK(a.corrupted > 0);
    REQUIRE(one->wire.sent.size() == two->wire.sent.size());
    for (std::size_t i = 0; i < one->wire.sent.size(); ++i) {
        CHECK(one->wire.sent[i].bytes == two->wire.sent[i].bytes);
        CHECK(one->wire.sent[i].at == two->wire.sent[i].at);
    }
    CHECK(frontend::tc_qdisc_show(one->wire, true) == frontend::tc_qdisc_show(two->wire, true));
}

TEST_CASE("netem shows its counters as tc -s qdisc show", "[netem]") {
    Bench b("delay 1ms loss 5% limit 5 seed 7");
    b.send(200, 100, ms(1) / 10);
    const NetemStats s = b.netem.xstats();
    REQUIRE(s.limit_drops > 0);  // a packet every 0.1 ms held 1 ms: about 10 at once
    REQUIRE(s.backlog_packets > 0);
    const std::string head =
        "qdisc netem 8001: dev eth0 root refcnt 2 limit 5 delay 1ms loss 5% seed 7\n";
    const std::string text = frontend::tc_qdisc_show(b.wire, true);
    CHECK(text ==
          head + " Sent " + std::to_string(s.bytes) + " bytes " + std::to_string(s.packets) +
              " pkt (dropped " + std::to_string(s.lost + s.limit_drops) +
              ", overlimits 0 requeues 0) \n backlog " + std::to_string(s.backlog_bytes) + "b " +
              std::to_string(s.backlog_packets) + "p requeues 0\n  delayed " +
              std::to_string(s.delayed) + " dropped " + std::to_string(s.lost) +
              " corrupted 0 duplicated 0 reordered 0 ecn_marked 0 rate_waits 0 limit_drops " +
              std::to_string(s.limit_drops) + "\n");
    CHECK(s.packets + s.backlog_packets + s.lost + s.limit_drops == 200);
    CHECK(s.bytes == 100 * s.packets);
}

namespace {

// A 20-byte IPv4 header (then 8 bytes of payload) with the given TOS and a valid checksum.
PacketPtr ipv4_packet(std::uint8_t tos) {
    Bytes b = {0x45, tos, 0, 28, 0x12, 0x34, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 2};
    b.resize(28, 0xab);
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < 20; i += 2) sum += std::uint32_t(b[i] << 8 | b[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    b[10] = static_cast<std::uint8_t>(~sum >> 8);
    b[11] = static_cast<std::uint8_t>(~sum);
    PacketPtr p = PacketPool::instance().alloc(b.size());
    std::copy(b.begin(), b.end(), p->put(b.size()));
    return p;
}

// The ones' complement sum of an IPv4 header, its checksum included: 0xffff when it checks.
std::uint16_t ip_header_sum(const Bytes& b) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < 20; i += 2) sum += std::uint32_t(b[i] << 8 | b[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

}  // namespace

TEST_CASE("netem ecn marks CE on ECN-capable packets where loss would drop them", "[netem]") {
    Bench b("loss 100% ecn seed 1");
    b.netem.xmit(ipv4_packet(0x02));  // ECT(0)
    b.netem.xmit(ipv4_packet(0xb9));  // DSCP 46, ECT(1)
    b.netem.xmit(ipv4_packet(0x03));  // CE already: INET_ECN_set_ce says marked, changes nothing
    b.netem.xmit(ipv4_packet(0x00));  // not-ECT: lost
    b.netem.xmit(numbered(7));        // not IP at all: lost
    REQUIRE(b.wire.sent.size() == 3);
    CHECK(b.wire.sent[0].bytes[1] == 0x03);
    CHECK(b.wire.sent[1].bytes[1] == 0xbb);  // the DSCP kept
    CHECK(b.wire.sent[2].bytes[1] == 0x03);
    for (const auto& s : b.wire.sent) {
        CHECK(ip_header_sum(s.bytes) == 0xffff);  // the header checksum follows the TOS
        CHECK(std::equal(s.bytes.begin() + 20, s.bytes.end(), Bytes(8, 0xab).begin()));
    }
    const NetemStats st = b.netem.xstats();
    CHECK(st.ecn_mark == 3);
    CHECK(st.lost == 2);
    CHECK(st.drops == 5);  // netem_enqueue counts a mark in qstats.drops too
    CHECK(frontend::tc_qdisc_show(b.wire, true).find(" ecn_marked 3 ") != std::string::npos);

    // Without ecn the same ECT packet is simply lost.
    Bench plain("loss 100% seed 1");
    plain.netem.xmit(ipv4_packet(0x02));
    CHECK(plain.wire.sent.empty());
    CHECK(plain.netem.xstats().ecn_mark == 0);
}

TEST_CASE("netem ecn marks an IPv6 packet's traffic class and leaves the rest", "[netem]") {
    Bench b("loss 100% ecn seed 1");
    Bytes h(48, 0);
    h[0] = 0x6b;  // version 6, traffic class 0xb1: DSCP 44, ECT(1)
    h[1] = 0x10;
    h[6] = 17;
    h[7] = 64;
    PacketPtr p = PacketPool::instance().alloc(h.size());
    std::copy(h.begin(), h.end(), p->put(h.size()));
    b.netem.xmit(std::move(p));
    REQUIRE(b.wire.sent.size() == 1);
    CHECK(b.wire.sent[0].bytes[0] == 0x6b);
    CHECK(b.wire.sent[0].bytes[1] == 0x30);  // traffic class 0xb3: CE
    CHECK(std::equal(h.begin() + 2, h.end(), b.wire.sent[0].bytes.begin() + 2));
}

TEST_CASE("netem ecn with partial loss marks the lost share and passes the rest", "[netem]") {
    Bench b("loss 30% ecn seed 12345");
    for (int i = 0; i < 1000; ++i) b.netem.xmit(ipv4_packet(0x01));
    REQUIRE(b.wire.sent.size() == 1000);  // nothing lost: every loss became a mark
    std::size_t ce = 0;
    for (const auto& s : b.wire.sent) ce += (s.bytes[1] & 3) == 3;
    CHECK(ce == b.netem.xstats().ecn_mark);
    CHECK(ce > 250);
    CHECK(ce < 350);
}
