#include "netif/netem_random.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

namespace vlo {

namespace {

// __seed: each component needs its low bits non-zero to have its full period.
std::uint32_t min_seed(std::uint32_t x, std::uint32_t m) { return x < m ? x + m : x; }

// One Tausworthe component step (the TAUSWORTHE macro of lib/random32.c).
std::uint32_t taus(std::uint32_t s, unsigned a, unsigned b, std::uint32_t c, unsigned d) {
    return ((s & c) << d) ^ (((s << a) ^ s) >> b);
}

// The generators in iproute2's netem/ build their tables on 16384 quantiles and keep every 4th.
constexpr int kQuantiles = 16384;

double clamp_to_short(double v) { return std::clamp(v, double{SHRT_MIN}, double{SHRT_MAX}); }

// The standard normal's quantile function by bisection on erfc: built once per table, so
// precision matters more than speed.
double normal_quantile(double q) {
    double lo = -10.0, hi = 10.0;
    for (int i = 0; i < 200; ++i) {
        const double mid = (lo + hi) / 2;
        const double cdf = 0.5 * std::erfc(-mid / std::sqrt(2.0));
        (cdf < q ? lo : hi) = mid;
    }
    return (lo + hi) / 2;
}

// normal.c: table[i] is the x whose CDF rounds to quantile i, i.e. the (i + 0.5)th quantile.
std::int16_t normal_entry(int i) {
    const double x = normal_quantile((i + 0.5) / kQuantiles);
    return static_cast<std::int16_t>(clamp_to_short(std::rint(x * kNetemDistScale)));
}

// pareto.c / paretovalue(): a Pareto variate with a = 3 (mean 1.5), centred and scaled by 4/3.
std::int16_t pareto_entry(int i) {
    const double u = static_cast<double>(65536 - 4 * i) / 65536;
    double v = (1.0 / std::pow(u, 1.0 / 3.0) - 1.5) * (4.0 / 3.0) * kNetemDistScale;
    v = std::min(v, double{SHRT_MAX});
    return static_cast<std::int16_t>(std::rint(v));
}

NetemDistTable make_table(NetemDistribution dist) {
    NetemDistTable t{};
    for (std::size_t k = 0; k < t.size(); ++k) {
        const int i = static_cast<int>(4 * k);
        switch (dist) {
            case NetemDistribution::normal:
                t[k] = normal_entry(i);
                break;
            case NetemDistribution::pareto:
                t[k] = pareto_entry(i);
                break;
            case NetemDistribution::paretonormal: {
                // paretonormal.c: .25 normal + .75 pareto, in integer arithmetic.
                const int v = (normal_entry(i) + 3 * pareto_entry(i)) / 4;
                t[k] = static_cast<std::int16_t>(std::clamp(v, SHRT_MIN, SHRT_MAX));
                break;
            }
            case NetemDistribution::uniform:
                break;
        }
    }
    return t;
}

}  // namespace

void NetemPrng::seed_state(std::uint64_t seed) {
    // prandom_seed_state: fold the 64-bit seed to 32 bits, one value for all four components.
    const auto i = static_cast<std::uint32_t>((seed >> 32) ^ (seed << 10) ^ seed);
    s1_ = min_seed(i, 2);
    s2_ = min_seed(i, 8);
    s3_ = min_seed(i, 16);
    s4_ = min_seed(i, 128);
}

std::uint32_t NetemPrng::next() {
    s1_ = taus(s1_, 6, 13, 0xfffffffeu, 18);
    s2_ = taus(s2_, 2, 27, 0xfffffff8u, 2);
    s3_ = taus(s3_, 13, 21, 0xfffffff0u, 7);
    s4_ = taus(s4_, 3, 12, 0xffffff80u, 13);
    return s1_ ^ s2_ ^ s3_ ^ s4_;
}

std::uint32_t CorrelatedRandom::next(NetemPrng& prng) {
    if (rho_ == 0) return prng.next();  // no correlation
    const std::uint64_t value = prng.next();
    const std::uint64_t rho = std::uint64_t{rho_} + 1;
    last_ =
        static_cast<std::uint32_t>((value * ((std::uint64_t{1} << 32) - rho) + last_ * rho) >> 32);
    return last_;
}

const NetemDistTable* netem_dist_table(NetemDistribution dist) {
    // Function-local statics: built on first use, once, thread-safely.
    switch (dist) {
        case NetemDistribution::normal: {
            static const NetemDistTable t = make_table(dist);
            return &t;
        }
        case NetemDistribution::pareto: {
            static const NetemDistTable t = make_table(dist);
            return &t;
        }
        case NetemDistribution::paretonormal: {
            static const NetemDistTable t = make_table(dist);
            return &t;
        }
        case NetemDistribution::uniform:
            break;
    }
    return nullptr;
}

Nanos netem_tabledist(Nanos mu, Nanos sigma, CorrelatedRandom& state, NetemPrng& prng,
                      const NetemDistTable* table) {
    sigma = std::min<Nanos>(sigma < 0 ? -sigma : sigma, INT32_MAX);
    if (sigma == 0) return mu;
    const std::uint32_t rnd = state.next(prng);
    if (!table) {
        const auto span = static_cast<std::uint32_t>(2 * sigma);
        return static_cast<Nanos>(rnd % span) + mu - sigma;
    }
    const std::int64_t t = (*table)[rnd % table->size()];
    // Split sigma so sigma * t cannot overflow, rounding the small part to nearest.
    std::int64_t x = (sigma % kNetemDistScale) * t;
    x += x >= 0 ? kNetemDistScale / 2 : -kNetemDistScale / 2;
    return x / kNetemDistScale + (sigma / kNetemDistScale) * t + mu;
}

}  // namespace vlo
