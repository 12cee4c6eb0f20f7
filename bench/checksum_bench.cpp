// The Internet checksum (RFC 1071) over the sizes the stack sums: an IPv4 header, a ping, an
// Ethernet-MTU segment, a jumbo frame and lo's 64 KiB.
#include <vector>

#include <benchmark/benchmark.h>

#include "stack/wire/checksum.hpp"

namespace {

void BM_Checksum(benchmark::State& state) {
    const auto len = static_cast<std::size_t>(state.range(0));
    std::vector<std::uint8_t> data(len);
    for (std::size_t i = 0; i < len; ++i) data[i] = static_cast<std::uint8_t>(i * 7);
    for (auto _ : state) benchmark::DoNotOptimize(vlo::wire::checksum(data));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(len));
}
BENCHMARK(BM_Checksum)->Arg(20)->Arg(64)->Arg(1500)->Arg(9000)->Arg(65536);

}  // namespace
