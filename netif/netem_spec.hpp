// A netem configuration as the kernel receives it (struct tc_netem_qopt and its attributes):
// probabilities as fractions of UINT32_MAX, times in nanoseconds, rates in bytes per second.
// tc's words for it (netem_parse_opt, netem_print_opt) are the front end's
// (frontend/netem_words.hpp).
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>

#include "netif/clock.hpp"

namespace vlo {

// `distribution`: the shape of the jitter around the delay (tabledist).
enum class NetemDistribution : std::uint8_t { uniform, normal, pareto, paretonormal };

// The loss generators of sch_netem.c: CLG_RANDOM, CLG_4_STATES, CLG_GILB_ELL.
enum class NetemLossModel : std::uint8_t { random, state, gemodel };

// A probability as tc hands it to the kernel: rint(fraction * UINT32_MAX) (set_percent).
using NetemProb = std::uint32_t;
inline NetemProb netem_percent(double percent) {
    return static_cast<NetemProb>(std::rint(percent / 100. * UINT32_MAX));
}
constexpr NetemProb kNetemAlways = UINT32_MAX;

struct NetemSpec {
    std::uint32_t limit = 1000;  // packets the qdisc holds (tc's default)
    Nanos latency = 0;
    Nanos jitter = 0;
    NetemProb delay_corr = 0;
    NetemDistribution distribution = NetemDistribution::uniform;

    NetemLossModel loss_model = NetemLossModel::random;
    NetemProb loss = 0;  // loss random
    NetemProb loss_corr = 0;
    // loss state P13 [P31 [P32 [P23 [P14]]]] (struct tc_netem_gimodel)
    NetemProb p13 = 0, p31 = 0, p32 = 0, p23 = 0, p14 = 0;
    // loss gemodel P [R [1-H [1-K]]] (struct tc_netem_gemodel): ge_h is h itself, as the kernel
    // keeps it (tc turns the 1-H it reads into h); ge_k1 is 1-k, the loss in the good state.
    NetemProb ge_p = 0, ge_r = 0, ge_h = 0, ge_k1 = 0;

    NetemProb duplicate = 0;
    NetemProb dup_corr = 0;
    NetemProb reorder = 0;
    NetemProb reorder_corr = 0;
    std::uint32_t gap = 0;
    NetemProb corrupt = 0;
    NetemProb corrupt_corr = 0;

    std::uint64_t rate = 0;  // bytes per second; 0: no rate
    std::int32_t packet_overhead = 0;
    std::uint32_t cell_size = 0;
    std::int32_t cell_overhead = 0;

    std::optional<std::uint64_t> seed;  // none: the stack's seed, or a random one
    // TCA_NETEM_ECN: a loss marks an ECN-capable packet CE instead of dropping it.
    bool ecn = false;
};

}  // namespace vlo
