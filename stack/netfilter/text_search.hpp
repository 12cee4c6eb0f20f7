// The string match's search (lib/textsearch.c with lib/ts_bm.c or lib/ts_kmp.c): Boyer-Moore
// (the Horspool form: one bad-character table) or Knuth-Morris-Pratt, optionally ignoring case
// (TS_IGNORECASE). Both find the same first occurrence. The tables are built with the rule, so a
// search over a packet allocates nothing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace vlo::nf {

class TextSearch {
  public:
    enum class Algo : std::uint8_t { bm, kmp };
    static constexpr std::size_t kMaxPattern = 128;  // XT_STRING_MAX_PATTERN_SIZE
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    TextSearch() = default;
    // `pattern` holds at most kMaxPattern bytes (the parser checks); longer is cut.
    TextSearch(Algo algo, std::span<const std::uint8_t> pattern, bool icase);

    // The offset of the first occurrence of the pattern in `text`, or npos.
    std::size_t find(std::span<const std::uint8_t> text) const;
    std::size_t pattern_len() const { return len_; }

  private:
    std::uint8_t fold(std::uint8_t c) const;
    std::size_t find_bm(std::span<const std::uint8_t> text) const;
    std::size_t find_kmp(std::span<const std::uint8_t> text) const;

    Algo algo_ = Algo::bm;
    bool icase_ = false;
    std::size_t len_ = 0;
    std::array<std::uint8_t, kMaxPattern> pattern_{};  // folded if icase_
    std::array<std::uint8_t, 256> shift_{};            // bm: how far a text byte lets us jump
    std::array<std::uint8_t, kMaxPattern> prefix_{};   // kmp: the failure function
};

}  // namespace vlo::nf
