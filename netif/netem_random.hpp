// netem's random sources (net/sched/sch_netem.c): the seeded generator every decision draws
// from, get_crandom's correlation, and tabledist's delay distributions. Everything comes from one
// seeded generator, so the same seed and the same packets give the same decisions (the kernel
// also draws a few values from get_random_u32, which no seed repeats; vlo does not).
#pragma once

#include <array>
#include <cstdint>

#include "netif/clock.hpp"
#include "netif/netem_spec.hpp"

namespace vlo {

// prandom_u32_state: L'Ecuyer's four-component Tausworthe generator (LFSR113), the generator
// the kernel's netem seeds with TCA_NETEM_PRNG_SEED, seeded as prandom_seed_state does.
class NetemPrng {
public:
    explicit NetemPrng(std::uint64_t seed = 0) { seed_state(seed); }
    void seed_state(std::uint64_t seed);
    std::uint32_t next();
    // get_random_u32_below: a value in [0, n), by multiply and shift.
    std::uint32_t below(std::uint32_t n) {
        return static_cast<std::uint32_t>((std::uint64_t{next()} * n) >> 32);
    }

private:
    std::uint32_t s1_ = 0, s2_ = 0, s3_ = 0, s4_ = 0;
};

// struct crndstate and get_crandom: the next value leans on the last one by rho (a fraction
// of 2^32, from tc's CORRELATION percent). Not a true statistical correlation, as tc-netem(8)
// warns, but the kernel's approximation, kept as it is.
class CorrelatedRandom {
public:
    // init_crandom: the starting `last` is itself random.
    void init(std::uint32_t rho, NetemPrng& prng) {
        rho_ = rho;
        last_ = prng.next();
    }
    std::uint32_t next(NetemPrng& prng);

private:
    std::uint32_t rho_ = 0;
    std::uint32_t last_ = 0;
};

// NETEM_DIST_SCALE: a table entry t stands for t / 8192 standard deviations.
constexpr std::int64_t kNetemDistScale = 8192;
constexpr std::size_t kNetemDistTableSize = 4096;
using NetemDistTable = std::array<std::int16_t, kNetemDistTableSize>;

// The tables tc loads from /usr/lib/tc/{normal,pareto,paretonormal}.dist, computed here from the
// same inverse CDFs iproute2's netem/normal.c, pareto.c and paretonormal.c print them from
// (normal: the standard normal's quantiles; pareto: a = 3, shifted and scaled as NIST Net did;
// paretonormal: (normal + 3 pareto) / 4 at the same quantile), rather than read from files.
// nullptr for uniform, which needs no table.
const NetemDistTable* netem_dist_table(NetemDistribution dist);

// tabledist: a delay with mean mu and spread sigma. Without a table, uniform over
// [mu - sigma, mu + sigma); with one, mu + sigma * table[rnd] / NETEM_DIST_SCALE, in the
// kernel's integer arithmetic. sigma is capped to INT32_MAX as netem_change caps jitter.
Nanos netem_tabledist(Nanos mu, Nanos sigma, CorrelatedRandom& state, NetemPrng& prng,
                      const NetemDistTable* table);

}  // namespace vlo
