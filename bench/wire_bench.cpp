// Header parse and emit: the checked views and repr structs of stack/wire/ for IPv4, ICMP and
// TCP, each on one realistic packet (a ping's 84 bytes, a SYN with Linux's options).
#include <array>
#include <vector>

#include <benchmark/benchmark.h>

#include "stack/wire/icmp.hpp"
#include "stack/wire/ipv4.hpp"
#include "stack/wire/tcp.hpp"

using namespace vlo;
using namespace vlo::wire;

namespace {

// An echo request as ping sends it: IPv4 header, ICMP header, 56 data bytes.
std::vector<std::uint8_t> ping_packet() {
    std::vector<std::uint8_t> pkt(kIpv4MinHeader + kIcmpHeader + 56);
    std::vector<std::uint8_t> data(56, 0x42);
    const IcmpRepr icmp = IcmpRepr::echo(kIcmpEcho, 0x1234, 1, data);
    icmp.emit({pkt.data() + kIpv4MinHeader, icmp.buffer_len()});
    Ipv4Repr ip;
    ip.src = ip.dst = kInaddrLoopback;
    ip.protocol = kIpProtoIcmp;
    ip.dont_fragment = true;
    ip.payload_len = icmp.buffer_len();
    ip.emit({pkt.data(), kIpv4MinHeader});
    return pkt;
}

// A SYN with MSS, SACK-permitted, timestamps and window scale (40-byte header).
TcpRepr syn() {
    TcpRepr t;
    t.src_port = 40000;
    t.dst_port = 80;
    t.seq = 0x12345678;
    t.flags = kTcpSyn;
    t.window = 65495;
    t.options.mss = 65495;
    t.options.sack_permitted = true;
    t.options.timestamp = std::pair{1000u, 0u};
    t.options.wscale = 7;
    return t;
}

void BM_Ipv4CheckParse(benchmark::State& state) {
    const auto pkt = ping_packet();
    for (auto _ : state) {
        if (Ipv4View::check(pkt) != Ipv4Error::none) state.SkipWithError("bad header");
        const Ipv4Repr r = Ipv4Repr::parse(Ipv4View(pkt));
        benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ipv4CheckParse);

void BM_Ipv4Emit(benchmark::State& state) {
    std::array<std::uint8_t, kIpv4MinHeader> h{};
    Ipv4Repr ip;
    ip.src = ip.dst = kInaddrLoopback;
    ip.protocol = kIpProtoTcp;
    ip.payload_len = 40;
    for (auto _ : state) {
        ++ip.id;
        ip.emit(h);  // with the header checksum
        benchmark::DoNotOptimize(h.data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ipv4Emit);

void BM_IcmpCheckParse(benchmark::State& state) {
    const auto pkt = ping_packet();
    const std::span<const std::uint8_t> icmp(pkt.data() + kIpv4MinHeader,
                                             pkt.size() - kIpv4MinHeader);
    for (auto _ : state) {
        if (IcmpView::check(icmp) != IcmpView::Error::none) state.SkipWithError("bad ICMP");
        const IcmpRepr r = IcmpRepr::parse(IcmpView(icmp));
        benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IcmpCheckParse);

void BM_IcmpEmit(benchmark::State& state) {
    std::vector<std::uint8_t> data(56, 0x42), out(kIcmpHeader + 56);
    std::uint16_t seq = 0;
    for (auto _ : state) {
        IcmpRepr::echo(kIcmpEchoReply, 0x1234, ++seq, data).emit(out);  // copy and checksum
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IcmpEmit);

void BM_TcpCheckParse(benchmark::State& state) {
    const TcpRepr t = syn();
    std::vector<std::uint8_t> seg(t.header_len());
    t.emit(seg);
    for (auto _ : state) {
        if (TcpView::check(seg) != TcpView::Error::none) state.SkipWithError("bad TCP");
        const TcpRepr r = TcpRepr::parse(TcpView(seg));  // options included
        benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TcpCheckParse);

void BM_TcpEmit(benchmark::State& state) {
    TcpRepr t = syn();
    std::vector<std::uint8_t> seg(t.header_len());
    for (auto _ : state) {
        ++t.seq;
        t.emit(seg);
        store16(&seg[16],
                tcp_checksum(kInaddrLoopback, kInaddrLoopback, seg));  // a TUN device's sum
        benchmark::DoNotOptimize(seg.data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TcpEmit);

}  // namespace
