#include "tools/lab/histogram.hpp"

#include <bit>
#include <cmath>

namespace vlo::lab {

std::size_t LatencyHistogram::index(std::uint64_t v) {
    if (v < kSub) return static_cast<std::size_t>(v);
    const int e = std::bit_width(v) - 1;  // floor(log2 v) >= kSubBits
    if (e > kMaxExponent) return kBuckets - 1;
    const std::uint64_t sub = (v >> (e - kSubBits)) - kSub;  // the top kSubBits below the leading 1
    return static_cast<std::size_t>(kSub + static_cast<std::uint64_t>(e - kSubBits) * kSub + sub);
}

double LatencyHistogram::midpoint(std::size_t i) {
    if (i < kSub) return static_cast<double>(i);
    const std::size_t e = (i - kSub) / kSub + kSubBits;
    const std::size_t sub = (i - kSub) % kSub;
    const double width = std::ldexp(1.0, static_cast<int>(e) - kSubBits);
    return static_cast<double>(kSub + sub) * width + width / 2;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
    for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
}

void LatencyHistogram::clear() {
    counts_.fill(0);
    total_ = 0;
}

double LatencyHistogram::percentile(double q) const {
    if (total_ == 0) return 0;
    // The rank of the sample at quantile q, 1-based: ceil(q * n), at least 1.
    const auto rank = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total_))));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
        seen += counts_[i];
        if (seen >= rank) return midpoint(i);
    }
    return midpoint(kBuckets - 1);
}

std::vector<std::pair<double, double>> LatencyHistogram::cdf(std::size_t max_points) const {
    std::vector<std::pair<double, double>> all;
    if (total_ == 0) return all;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
        if (!counts_[i]) continue;
        seen += counts_[i];
        all.emplace_back(midpoint(i) / 1000.0,
                         static_cast<double>(seen) / static_cast<double>(total_));
    }
    if (all.size() <= max_points || max_points < 2) return all;
    std::vector<std::pair<double, double>> thin;
    const double step = static_cast<double>(all.size() - 1) / static_cast<double>(max_points - 1);
    for (std::size_t k = 0; k < max_points; ++k)
        thin.push_back(all[static_cast<std::size_t>(std::lround(static_cast<double>(k) * step))]);
    return thin;
}

}  // namespace vlo::lab
