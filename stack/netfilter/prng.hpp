// The table's random source for `-m statistic --mode random` (the kernel's get_random_u32):
// seeded, so a run with random drops repeats exactly (docs/architecture.md, "One seed"). A
// SplitMix64 sequence on one atomic counter: lock-free, and one fetch_add per draw.
#pragma once

#include <atomic>
#include <cstdint>

namespace vlo::nf {

class Prng {
  public:
    explicit Prng(std::uint64_t seed = 0) : state_(seed) {}
    void seed(std::uint64_t s) { state_.store(s, std::memory_order_relaxed); }

    std::uint32_t next_u32() {
        std::uint64_t z = state_.fetch_add(0x9e3779b97f4a7c15ull, std::memory_order_relaxed) +
                          0x9e3779b97f4a7c15ull;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return static_cast<std::uint32_t>((z ^ (z >> 31)) >> 32);
    }

  private:
    std::atomic<std::uint64_t> state_;
};

}  // namespace vlo::nf
