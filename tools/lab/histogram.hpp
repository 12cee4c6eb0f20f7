// A latency histogram with every bucket preallocated, so recording in a timed loop allocates
// nothing: log-linear buckets (32 per power of two, ~3% resolution) from 1 ns to ~68 s, as
// HdrHistogram lays them out.
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

namespace vlo::lab {

class LatencyHistogram {
  public:
    static constexpr int kSubBits = 5;
    static constexpr std::uint64_t kSub = 1u << kSubBits;  // sub-buckets per power of two
    static constexpr int kMaxExponent = 36;                // 2^36 ns ~ 68.7 s: larger values clamp
    static constexpr std::size_t kBuckets = kSub + (kMaxExponent - kSubBits + 1) * kSub;

    void record(std::int64_t ns) {
        ++counts_[index(ns < 0 ? 0 : static_cast<std::uint64_t>(ns))];
        ++total_;
    }
    void merge(const LatencyHistogram& other);
    void clear();

    std::uint64_t count() const { return total_; }
    // The value (ns, the bucket's midpoint) below which a fraction q of the samples lie.
    double percentile(double q) const;
    // (value in µs, cumulative fraction) for each non-empty bucket, at most max_points of them
    // (evenly thinned), ending at fraction 1.
    std::vector<std::pair<double, double>> cdf(std::size_t max_points) const;

  private:
    static std::size_t index(std::uint64_t v);
    static double midpoint(std::size_t i);

    std::array<std::uint64_t, kBuckets> counts_{};
    std::uint64_t total_ = 0;
};

}  // namespace vlo::lab
