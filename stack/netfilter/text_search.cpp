#include "stack/netfilter/text_search.hpp"

#include <algorithm>

namespace vlo::nf {

TextSearch::TextSearch(Algo algo, std::span<const std::uint8_t> pattern, bool icase)
    : algo_(algo), icase_(icase), len_(std::min(pattern.size(), kMaxPattern)) {
    for (std::size_t i = 0; i < len_; ++i) pattern_[i] = fold(pattern[i]);
    // Horspool's table: a text byte that is not in the pattern (but for its last byte) lets
    // the window move by the whole pattern length.
    shift_.fill(static_cast<std::uint8_t>(len_));  // len_ <= 128 fits
    for (std::size_t i = 0; i + 1 < len_; ++i)
        shift_[pattern_[i]] = static_cast<std::uint8_t>(len_ - 1 - i);
    // compute_prefix_tbl (ts_kmp.c): the longest proper prefix that is also a suffix.
    std::size_t k = 0;
    for (std::size_t q = 1; q < len_; ++q) {
        while (k > 0 && pattern_[k] != pattern_[q]) k = prefix_[k - 1];
        if (pattern_[k] == pattern_[q]) ++k;
        prefix_[q] = static_cast<std::uint8_t>(k);
    }
}

std::uint8_t TextSearch::fold(std::uint8_t c) const {
    return icase_ && c >= 'A' && c <= 'Z' ? static_cast<std::uint8_t>(c - 'A' + 'a') : c;
}

std::size_t TextSearch::find(std::span<const std::uint8_t> text) const {
    if (len_ == 0 || text.size() < len_) return npos;
    return algo_ == Algo::bm ? find_bm(text) : find_kmp(text);
}

std::size_t TextSearch::find_bm(std::span<const std::uint8_t> text) const {
    for (std::size_t at = 0; at + len_ <= text.size();) {
        std::size_t i = len_;
        while (i > 0 && fold(text[at + i - 1]) == pattern_[i - 1]) --i;
        if (i == 0) return at;
        at += shift_[fold(text[at + len_ - 1])];
    }
    return npos;
}

std::size_t TextSearch::find_kmp(std::span<const std::uint8_t> text) const {
    std::size_t q = 0;  // pattern bytes matched so far
    for (std::size_t i = 0; i < text.size(); ++i) {
        const std::uint8_t c = fold(text[i]);
        while (q > 0 && pattern_[q] != c) q = prefix_[q - 1];
        if (pattern_[q] == c) ++q;
        if (q == len_) return i + 1 - len_;
    }
    return npos;
}

}  // namespace vlo::nf
