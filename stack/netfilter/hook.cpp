#include "stack/netfilter/hook.hpp"

#include <array>

namespace vlo::nf {

namespace {
constexpr std::array<std::string_view, kHookCount> kChainNames = {"PREROUTING", "INPUT", "FORWARD",
                                                                  "OUTPUT", "POSTROUTING"};
constexpr std::array<std::string_view, kTableCount> kTableNames = {"raw", "mangle", "filter"};
}  // namespace

std::string_view chain_name(Hook h) { return kChainNames[static_cast<std::size_t>(h)]; }

std::optional<Hook> parse_chain(std::string_view name) {
    for (std::size_t i = 0; i < kChainNames.size(); ++i)
        if (kChainNames[i] == name) return static_cast<Hook>(i);
    return std::nullopt;
}

std::string_view table_name(Table t) { return kTableNames[static_cast<std::size_t>(t)]; }

std::optional<Table> parse_table(std::string_view name) {
    for (std::size_t i = 0; i < kTableNames.size(); ++i)
        if (kTableNames[i] == name) return static_cast<Table>(i);
    return std::nullopt;
}

}  // namespace vlo::nf
