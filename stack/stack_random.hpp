// One seed per stack: every random choice the stack makes (TCP's ISN, SYN-cookie and IP ID
// secrets, the ephemeral port secrets, the IP ID seed, the reassembly hash key, each netem's
// generator, `-m statistic`) is drawn from this, in construction order. A stack given a seed
// (StackConfig::seed) makes the same choices each run, and with a virtual clock sends the same
// bytes; without one it draws its seed from std::random_device, as the kernel from its entropy.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <random>

#include "stack/siphash.hpp"

namespace vlo {

class StackRandom {
  public:
    explicit StackRandom(std::optional<std::uint64_t> seed)
        : seed_(seed ? *seed
                     : (std::uint64_t{std::random_device{}()} << 32 | std::random_device{}())),
          state_(seed_) {}

    std::uint64_t seed() const { return seed_; }
    // SplitMix64: one atomic step per draw.
    std::uint64_t u64() {
        std::uint64_t z = state_.fetch_add(0x9e3779b97f4a7c15ull, std::memory_order_relaxed) +
                          0x9e3779b97f4a7c15ull;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    std::uint32_t u32() { return static_cast<std::uint32_t>(u64() >> 32); }
    SipKey key() { return SipKey{u64(), u64()}; }

  private:
    const std::uint64_t seed_;
    std::atomic<std::uint64_t> state_;
};

}  // namespace vlo
