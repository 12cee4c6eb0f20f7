#include "frontend/netem_words.hpp"

#include <strings.h>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace vlo {

namespace {

constexpr std::string_view kUsage =
    "Usage: ... netem [ limit PACKETS ]\n"
    "                 [ delay TIME [ JITTER [ CORRELATION ] ] ]\n"
    "                 [ distribution {uniform|normal|pareto|paretonormal} ]\n"
    "                 [ corrupt PERCENT [ CORRELATION ] ]\n"
    "                 [ duplicate PERCENT [ CORRELATION ] ]\n"
    "                 [ loss random PERCENT [ CORRELATION ] ]\n"
    "                 [ loss state P13 [ P31 [ P32 [ P23 [ P14 ] ] ] ] ]\n"
    "                 [ loss gemodel PERCENT [ R [ 1-H [ 1-K ] ] ] ]\n"
    "                 [ seed SEED ]\n"
    "                 [ ecn ]\n"
    "                 [ reorder PERCENT [ CORRELATION ] [ gap DISTANCE ] ]\n"
    "                 [ rate RATE [ PACKETOVERHEAD ] [ CELLSIZE ] [ CELLOVERHEAD ] ]\n";

// ---- iproute2's number readers (lib/utils.c, lib/utils_math.c, tc/tc_util.c) ----------------

// matches(): `word` is a non-empty prefix of `keyword` (tc takes "del" for "delay").
bool matches(std::string_view word, std::string_view keyword) {
    return !word.empty() && keyword.substr(0, word.size()) == word;
}

bool iequals(const char* a, const char* b) { return strcasecmp(a, b) == 0; }

// strtod with tc's checks: something was read, and it is neither negative nor out of range.
// NaN is refused too (tc lets it through to undefined conversions).
bool read_double(const std::string& s, double& v, const char*& rest) {
    char* end = nullptr;
    errno = 0;
    v = std::strtod(s.c_str(), &end);
    rest = end;
    if (end == s.c_str() || std::isnan(v) || v < 0) return false;
    return !(v == HUGE_VAL && errno == ERANGE);
}

// get_time64: a TIME with an optional unit (s, ms, us, ns and their long forms); no unit means
// nanoseconds.
bool get_time64(const std::string& s, Nanos& out) {
    double t;
    const char* p;
    if (!read_double(s, t, p)) return false;
    if (*p) {
        if (iequals(p, "s") || iequals(p, "sec") || iequals(p, "secs"))
            t *= 1e9;
        else if (iequals(p, "ms") || iequals(p, "msec") || iequals(p, "msecs"))
            t *= 1e6;
        else if (iequals(p, "us") || iequals(p, "usec") || iequals(p, "usecs"))
            t *= 1e3;
        else if (!(iequals(p, "ns") || iequals(p, "nsec") || iequals(p, "nsecs")))
            return false;
    }
    if (t >= 9.2e18) return false;  // beyond s64
    out = static_cast<Nanos>(t);
    return true;
}

// parse_percent + set_percent: "30%" or "30", 0 to 100.
bool get_percent(const std::string& s, NetemProb& out) {
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end) / 100.;
    if (std::isnan(v) || v > 1.0 || v < 0.0) return false;
    if (*end && std::strcmp(end, "%") != 0) return false;
    out = static_cast<NetemProb>(std::rint(v * UINT32_MAX));
    return true;
}

// get_rate64: bits per second with tc's suffixes, kept in bytes per second.
bool get_rate64(const std::string& s, std::uint64_t& out) {
    static constexpr struct {
        const char* name;
        double scale;
    } kSuffixes[] = {
        {"bit", 1.},
        {"Kibit", 1024.},
        {"kbit", 1000.},
        {"mibit", 1024. * 1024.},
        {"mbit", 1e6},
        {"gibit", 1024. * 1024. * 1024.},
        {"gbit", 1e9},
        {"tibit", 1024. * 1024. * 1024. * 1024.},
        {"tbit", 1e12},
        {"Bps", 8.},
        {"KiBps", 8. * 1024.},
        {"KBps", 8000.},
        {"MiBps", 8. * 1024 * 1024.},
        {"MBps", 8e6},
        {"GiBps", 8. * 1024. * 1024. * 1024.},
        {"GBps", 8e9},
        {"TiBps", 8. * 1024. * 1024. * 1024. * 1024.},
        {"TBps", 8e12},
    };
    double bps;
    const char* p;
    if (!read_double(s, bps, p)) return false;
    if (*p) {
        bool known = false;
        for (const auto& suffix : kSuffixes) {
            if (iequals(suffix.name, p)) {
                bps *= suffix.scale;
                known = true;
                break;
            }
        }
        if (!known) return false;
    }
    bps /= 8;
    if (bps >= 1.8e19) return false;
    out = static_cast<std::uint64_t>(bps);
    return true;
}

// get_size: a count with an optional size suffix ("limit 1k" is 1024 packets, as in tc).
bool get_size(const std::string& s, std::uint32_t& out) {
    double sz;
    const char* p;
    if (!read_double(s, sz, p)) return false;
    if (*p) {
        if (iequals(p, "kb") || iequals(p, "k"))
            sz *= 1024;
        else if (iequals(p, "gb") || iequals(p, "g"))
            sz *= 1024. * 1024 * 1024;
        else if (iequals(p, "gbit"))
            sz *= 1024. * 1024 * 1024 / 8;
        else if (iequals(p, "mb") || iequals(p, "m"))
            sz *= 1024 * 1024;
        else if (iequals(p, "mbit"))
            sz *= 1024 * 1024 / 8;
        else if (iequals(p, "kbit"))
            sz *= 1024 / 8;
        else if (!iequals(p, "b"))
            return false;
    }
    if (sz > UINT_MAX) return false;
    out = static_cast<std::uint32_t>(sz);
    return true;
}

// get_u32 / get_u64 / get_s32: a whole number, nothing after it, in range.
bool get_unsigned(const std::string& s, int base, std::uint64_t max, std::uint64_t& out) {
    if (s.empty() || s[0] == '-') return false;
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(s.c_str(), &end, base);
    if (end == s.c_str() || *end || errno == ERANGE || v > max) return false;
    out = v;
    return true;
}

bool get_s32(const std::string& s, std::int32_t& out) {
    if (s.empty()) return false;
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(s.c_str(), &end, 0);
    if (end == s.c_str() || *end || errno == ERANGE || v < INT32_MIN || v > INT32_MAX) return false;
    out = static_cast<std::int32_t>(v);
    return true;
}

bool get_distribution(std::string_view name, NetemDistribution& out) {
    if (name == "uniform")
        out = NetemDistribution::uniform;
    else if (name == "normal")
        out = NetemDistribution::normal;
    else if (name == "pareto")
        out = NetemDistribution::pareto;
    else if (name == "paretonormal")
        out = NetemDistribution::paretonormal;
    else
        return false;
    return true;
}

std::string illegal(std::string_view what) { return "Illegal \"" + std::string(what) + "\""; }

// ---- netem_parse_opt -------------------------------------------------------------------------

// The word cursor of tc's argv loop: NEXT_ARG, NEXT_ARG_OK, NEXT_IS_NUMBER.
class Words {
  public:
    explicit Words(std::span<const std::string_view> words) : w_(words) {}
    bool done() const { return i_ >= w_.size(); }
    std::string_view word() const { return w_[i_]; }
    std::string arg() const { return std::string(w_[i_]); }
    void advance() { ++i_; }
    bool next_ok() const { return i_ + 1 < w_.size(); }
    // NEXT_ARG: false when the command line ends here.
    bool next() {
        if (!next_ok()) return false;
        ++i_;
        return true;
    }
    bool next_is_number() const {
        return next_ok() && !w_[i_ + 1].empty() &&
               std::isdigit(static_cast<unsigned char>(w_[i_ + 1][0]));
    }
    bool next_is_signed_number() const {
        return next_is_number() || (next_ok() && !w_[i_ + 1].empty() && w_[i_ + 1][0] == '-');
    }

  private:
    std::span<const std::string_view> w_;
    std::size_t i_ = 0;
};

const std::string kIncomplete = "Command line is not complete. Try option \"help\"";

class Parser {
  public:
    explicit Parser(std::span<const std::string_view> words) : w_(words) {}

    NetemParseResult run() {
        while (!w_.done()) {
            if (!option()) return {std::nullopt, error_};
            w_.advance();
        }
        if (!final_checks()) return {std::nullopt, error_};
        return {spec_, {}};
    }

  private:
    bool fail(std::string message) {
        error_ = std::move(message);
        return false;
    }
    // NEXT_ARG, or tc's incomplete_command().
    bool need_next() { return w_.next() || fail(kIncomplete); }

    bool option() {
        const std::string_view w = w_.word();
        if (matches(w, "limit")) {
            if (!need_next()) return false;
            return get_size(w_.arg(), spec_.limit) || fail(illegal("limit"));
        }
        if (matches(w, "latency") || matches(w, "delay")) return delay();
        if (matches(w, "loss") || matches(w, "drop")) return loss();
        if (matches(w, "seed")) {
            if (!need_next()) return false;
            std::uint64_t seed;
            if (!get_unsigned(w_.arg(), 10, UINT64_MAX, seed)) return fail(illegal("seed"));
            spec_.seed = seed;
            return true;
        }
        if (matches(w, "ecn")) {
            spec_.ecn = true;
            return true;
        }
        if (matches(w, "reorder")) return probability("reorder", spec_.reorder, spec_.reorder_corr);
        if (matches(w, "corrupt")) return probability("corrupt", spec_.corrupt, spec_.corrupt_corr);
        if (matches(w, "gap")) {
            if (!need_next()) return false;
            std::uint64_t gap;
            if (!get_unsigned(w_.arg(), 0, UINT32_MAX, gap)) return fail(illegal("gap"));
            spec_.gap = static_cast<std::uint32_t>(gap);
            return true;
        }
        if (matches(w, "duplicate"))
            return probability("duplicate", spec_.duplicate, spec_.dup_corr);
        if (matches(w, "distribution")) {
            if (!need_next()) return false;
            if (!get_distribution(w_.word(), spec_.distribution))
                return fail("No distribution data for " + w_.arg());
            dist_given_ = true;
            return true;
        }
        if (matches(w, "rate")) return rate();
        if (matches(w, "slot")) return fail("\"slot\" is not supported by vlo's netem");
        if (w == "help") return fail(std::string(kUsage.substr(0, kUsage.size() - 1)));
        return fail("What is \"" + std::string(w) + "\"?");
    }

    bool delay() {
        if (!need_next()) return false;
        if (!get_time64(w_.arg(), spec_.latency)) return fail(illegal("latency"));
        if (w_.next_is_number()) {
            w_.next();
            if (!get_time64(w_.arg(), spec_.jitter)) return fail(illegal("latency"));
            if (w_.next_is_number()) {
                w_.next();
                if (!get_percent(w_.arg(), spec_.delay_corr)) return fail(illegal("latency"));
            }
        }
        return true;
    }

    // PERCENT [CORRELATION], as duplicate, reorder and corrupt take it.
    bool probability(const char* name, NetemProb& p, NetemProb& corr) {
        if (!need_next()) return false;
        if (!get_percent(w_.arg(), p)) return fail(illegal(name));
        if (w_.next_is_number()) {
            w_.next();
            if (!get_percent(w_.arg(), corr)) return fail(illegal(name));
        }
        return true;
    }

    // An optional percentage: the next word if it starts with a digit (NEXT_IS_NUMBER).
    enum class Next { absent, read, bad };
    Next optional_percent(NetemProb& out, const char* what) {
        if (!w_.next_is_number()) return Next::absent;
        w_.next();
        if (get_percent(w_.arg(), out)) return Next::read;
        fail(illegal(what));
        return Next::bad;
    }

    // Reads as many of the optional percentages as are given, in order.
    template <std::size_t N>
    bool optional_percents(NetemProb* const (&out)[N], const char* const (&what)[N]) {
        for (std::size_t i = 0; i < N; ++i) {
            const Next n = optional_percent(*out[i], what[i]);
            if (n == Next::bad) return false;
            if (n == Next::absent) return true;
        }
        return true;
    }

    bool loss() {
        if (spec_.loss > 0 || loss_model_given_) return fail(illegal("duplicate loss argument"));
        if (!need_next()) return false;
        const std::string_view w = w_.word();
        // The deprecated form "loss PERCENT" is "loss random PERCENT".
        const bool bare = !w.empty() && std::isdigit(static_cast<unsigned char>(w[0]));
        if (bare || w == "random") {
            if (!bare && !need_next()) return false;
            spec_.loss_model = NetemLossModel::random;
            if (!get_percent(w_.arg(), spec_.loss)) return fail(illegal("loss percent"));
            return optional_percent(spec_.loss_corr, "loss correlation") != Next::bad;
        }
        if (w == "state") return loss_state();
        if (w == "gemodel") return loss_gemodel();
        return fail("Unknown loss parameter: " + std::string(w));
    }

    bool loss_state() {
        if (!need_next()) return false;
        NetemProb p13;
        if (!get_percent(w_.arg(), p13)) return fail(illegal("loss p13"));
        loss_model_given_ = true;
        spec_.loss_model = NetemLossModel::state;
        // tc's defaults: the 2-state Bernoulli case.
        spec_.p13 = p13;
        spec_.p31 = kNetemAlways - p13;
        spec_.p32 = 0;
        spec_.p23 = kNetemAlways;
        spec_.p14 = 0;
        return optional_percents({&spec_.p31, &spec_.p32, &spec_.p23, &spec_.p14},
                                 {"loss p31", "loss p32", "loss p23", "loss p14"});
    }

    bool loss_gemodel() {
        if (!need_next()) return false;
        NetemProb p;
        if (!get_percent(w_.arg(), p)) return fail(illegal("loss gemodel p"));
        loss_model_given_ = true;
        spec_.loss_model = NetemLossModel::gemodel;
        // tc's defaults: r = 1 - p, 1-h = 100% (h = 0), 1-k = 0.
        spec_.ge_p = p;
        spec_.ge_r = kNetemAlways - p;
        spec_.ge_h = 0;
        spec_.ge_k1 = 0;
        NetemProb one_minus_h = kNetemAlways - spec_.ge_h;
        const bool ok = optional_percents({&spec_.ge_r, &one_minus_h, &spec_.ge_k1},
                                          {"loss gemodel r", "loss gemodel h", "loss gemodel k"});
        spec_.ge_h = kNetemAlways - one_minus_h;  // tc reads 1-h; the kernel wants h
        return ok;
    }

    bool rate() {
        if (!need_next()) return false;
        // A percentage of the device's speed needs its ethtool speed, which vlo's devices lack.
        if (w_.word().find('%') != std::string_view::npos) return fail(illegal("rate"));
        if (!get_rate64(w_.arg(), spec_.rate)) return fail(illegal("rate"));
        if (w_.next_is_signed_number()) {
            w_.next();
            if (!get_s32(w_.arg(), spec_.packet_overhead)) return fail(illegal("rate"));
        }
        if (w_.next_is_number()) {
            w_.next();
            std::uint64_t cell;
            if (!get_unsigned(w_.arg(), 0, UINT32_MAX, cell)) return fail(illegal("rate"));
            spec_.cell_size = static_cast<std::uint32_t>(cell);
        }
        if (w_.next_is_signed_number()) {
            w_.next();
            if (!get_s32(w_.arg(), spec_.cell_overhead)) return fail(illegal("rate"));
        }
        return true;
    }

    bool final_checks() {
        if (spec_.reorder) {
            if (spec_.latency == 0)
                return fail("reordering not possible without specifying some delay");
            if (spec_.gap == 0) spec_.gap = 1;
        } else if (spec_.gap > 0) {
            return fail("gap specified without reorder probability");
        }
        // Marking replaces losses: without a loss model there is nothing to mark.
        if (spec_.ecn && spec_.loss_model == NetemLossModel::random && spec_.loss == 0)
            return fail("ecn requested without loss model");
        if (dist_given_ && (spec_.latency == 0 || spec_.jitter == 0))
            return fail("distribution specified but no latency and jitter values");
        return true;
    }

    Words w_;
    NetemSpec spec_;
    std::string error_;
    bool loss_model_given_ = false;
    bool dist_given_ = false;
};

// ---- netem_print_opt -------------------------------------------------------------------------

// print_time64 (sprint_time64).
std::string time_text(Nanos t) {
    char buf[64];
    const double ns = static_cast<double>(t);
    if (t >= kNsPerSec)
        std::snprintf(buf, sizeof buf, "%.3gs", ns / 1e9);
    else if (t >= kNsPerMs)
        std::snprintf(buf, sizeof buf, "%.3gms", ns / 1e6);
    else if (t >= kNsPerUs)
        std::snprintf(buf, sizeof buf, "%.3gus", ns / 1e3);
    else
        std::snprintf(buf, sizeof buf, "%lldns", static_cast<long long>(t));
    return buf;
}

// __print_percent: percentage points, %g.
std::string percent_text(NetemProb p) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g%%", (100. * p) / UINT32_MAX);
    return buf;
}

// print_rate without -iec: bits per second, scaled by 1000 while it divides evenly or is large.
std::string rate_text(std::uint64_t bytes_per_sec) {
    static const char* const kUnits[] = {"", "K", "M", "G", "T"};
    std::uint64_t rate = bytes_per_sec << 3;
    std::size_t i = 0;
    for (; i < std::size(kUnits) - 1; ++i) {
        if (rate < 1000) break;
        if (rate % 1000 != 0 && rate < 1000 * 1000) break;
        rate /= 1000;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.0f%sbit", static_cast<double>(rate), kUnits[i]);
    return buf;
}

}  // namespace

std::string_view netem_usage() { return kUsage; }

NetemParseResult parse_netem(std::span<const std::string_view> words) {
    return Parser(words).run();
}

NetemParseResult parse_netem(std::string_view options) {
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < options.size()) {
        while (i < options.size() && std::isspace(static_cast<unsigned char>(options[i]))) ++i;
        const std::size_t start = i;
        while (i < options.size() && !std::isspace(static_cast<unsigned char>(options[i]))) ++i;
        if (i > start) words.push_back(options.substr(start, i - start));
    }
    return parse_netem(std::span<const std::string_view>(words));
}

std::string netem_print_opt(const NetemSpec& spec, std::uint64_t seed_in_use) {
    std::string s = "limit " + std::to_string(spec.limit);
    if (spec.latency != 0) {
        s += " delay " + time_text(spec.latency);
        if (spec.jitter != 0) {
            s += "  " + time_text(spec.jitter);
            if (spec.delay_corr) s += " " + percent_text(spec.delay_corr);
        }
    }
    if (spec.loss_model == NetemLossModel::random && spec.loss) {
        s += " loss " + percent_text(spec.loss);
        if (spec.loss_corr) s += " " + percent_text(spec.loss_corr);
    }
    if (spec.loss_model == NetemLossModel::state) {
        s += " loss state p13 " + percent_text(spec.p13) + " p31 " + percent_text(spec.p31) +
             " p32 " + percent_text(spec.p32) + " p23 " + percent_text(spec.p23) + " p14 " +
             percent_text(spec.p14);
    }
    if (spec.loss_model == NetemLossModel::gemodel) {
        s += " loss gemodel p " + percent_text(spec.ge_p) + " r " + percent_text(spec.ge_r) +
             " 1-h " + percent_text(kNetemAlways - spec.ge_h) + " 1-k " + percent_text(spec.ge_k1);
    }
    if (spec.duplicate) {
        s += " duplicate " + percent_text(spec.duplicate);
        if (spec.dup_corr) s += " " + percent_text(spec.dup_corr);
    }
    if (spec.reorder) {
        s += " reorder " + percent_text(spec.reorder);
        if (spec.reorder_corr) s += " " + percent_text(spec.reorder_corr);
    }
    if (spec.corrupt) {
        s += " corrupt " + percent_text(spec.corrupt);
        if (spec.corrupt_corr) s += " " + percent_text(spec.corrupt_corr);
    }
    if (spec.rate) {
        s += " rate " + rate_text(spec.rate);
        if (spec.packet_overhead) s += " packetoverhead " + std::to_string(spec.packet_overhead);
        if (spec.cell_size) s += " cellsize " + std::to_string(spec.cell_size);
        if (spec.cell_overhead) s += " celloverhead " + std::to_string(spec.cell_overhead);
    }
    // The kernel dumps TCA_NETEM_PRNG_SEED always, so tc always shows it.
    s += " seed " + std::to_string(seed_in_use);
    if (spec.ecn) s += " ecn ";  // netem_print_opt's own spacing
    if (spec.gap) s += " gap " + std::to_string(spec.gap);
    return s;
}

}  // namespace vlo
