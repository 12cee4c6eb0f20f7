#include "posix/packetdrill/sysctl_flags.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <vector>

namespace vlo::posix {

namespace {

bool parse_ints(std::string_view v, std::vector<long long>& out) {
    out.clear();
    while (!v.empty()) {
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.front() == ':'))
            v.remove_prefix(1);
        if (v.empty()) break;
        long long x = 0;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
        if (ec != std::errc{}) return false;
        out.push_back(x);
        v.remove_prefix(static_cast<std::size_t>(p - v.data()));
    }
    return !out.empty();
}

// The sysctls of defaults.sh that vlo has no model for: accepted (a script's defaults name
// them all), and listed in docs/posix.md as behaviour vlo does not have yet.
constexpr std::string_view kNotModelled[] = {
    "tcp_fack",     "tcp_tso_win_divisor", "tcp_ecn_option",  "tcp_notsent_lowat",
    "tcp_fastopen", "tcp_fastopen_key",    "tcp_mtu_probing", "tcp_base_mss",
};

bool apply_one(std::string_view name, std::string_view value, StackConfig& c, std::string& error) {
    for (std::string_view prefix : {"net.ipv4.", "net.core."})
        if (name.substr(0, prefix.size()) == prefix) name.remove_prefix(prefix.size());
    std::vector<long long> v;
    for (std::string_view n : kNotModelled)
        if (name == n) return true;
    if (name == "tcp_congestion_control") {
        c.tcp.tcp_congestion_control = std::string(value);
        return true;
    }
    if (!parse_ints(value, v)) {
        error = "bad value for " + std::string(name) + ": \"" + std::string(value) + "\"";
        return false;
    }
    TcpConfig& t = c.tcp;
    const long long x = v.front();
    if (name == "tcp_syn_retries")
        t.tcp_syn_retries = static_cast<int>(x);
    else if (name == "tcp_synack_retries")
        t.tcp_synack_retries = static_cast<int>(x);
    else if (name == "tcp_retries2")
        t.tcp_retries2 = static_cast<int>(x);
    else if (name == "tcp_timestamps")
        t.tcp_timestamps = x != 0;
    else if (name == "tcp_window_scaling")
        t.tcp_window_scaling = x != 0;
    else if (name == "tcp_syncookies")
        t.tcp_syncookies = x != 0;
    else if (name == "tcp_fin_timeout")
        t.tcp_fin_timeout = x * kNsPerSec;
    else if (name == "tcp_keepalive_time")
        t.tcp_keepalive_time = x * kNsPerSec;
    else if (name == "tcp_keepalive_intvl")
        t.tcp_keepalive_intvl = x * kNsPerSec;
    else if (name == "tcp_keepalive_probes")
        t.tcp_keepalive_probes = static_cast<int>(x);
    else if (name == "somaxconn")
        t.somaxconn = static_cast<int>(x);
    else if (name == "tcp_max_syn_backlog")
        t.tcp_max_syn_backlog = static_cast<int>(x);
    else if (name == "ip_default_ttl")
        c.ip_default_ttl = static_cast<int>(x);
    else if (name == "rmem_max")
        c.rmem_max = static_cast<std::uint32_t>(x);
    else if (name == "tcp_sack")
        t.tcp_sack = x != 0;
    else if (name == "tcp_dsack")
        t.tcp_dsack = x != 0;
    else if (name == "tcp_recovery")
        t.tcp_recovery = static_cast<int>(x);
    else if (name == "tcp_early_retrans")
        t.tcp_early_retrans = static_cast<int>(x);
    else if (name == "tcp_frto")
        t.tcp_frto = static_cast<int>(x);
    else if (name == "tcp_reordering")
        t.tcp_reordering = static_cast<int>(x);
    else if (name == "tcp_ecn")
        t.tcp_ecn = static_cast<int>(x);
    else if (name == "tcp_slow_start_after_idle")
        t.tcp_slow_start_after_idle = x != 0;
    else if (name == "tcp_pacing_ss_ratio")
        t.tcp_pacing_ss_ratio = static_cast<int>(x);
    else if (name == "tcp_pacing_ca_ratio")
        t.tcp_pacing_ca_ratio = static_cast<int>(x);
    else if (name == "tcp_min_tso_segs")
        t.tcp_min_tso_segs = static_cast<int>(x);
    else if (name == "tcp_tso_rtt_log")
        t.tcp_tso_rtt_log = static_cast<int>(x);
    else if (name == "tcp_rmem") {
        // vlo's ring holds up to the maximum; the default gives the initial window and the
        // maximum the window scale, as tcp_select_initial_window uses them.
        t.tcp_rmem = t.tcp_rmem_max = static_cast<std::size_t>(v.back());
        if (v.size() > 1) t.tcp_rmem_default = static_cast<std::size_t>(v[1]);
    } else if (name == "tcp_wmem")  // vlo's send ring is fixed: the default Linux starts from
        t.tcp_wmem = static_cast<std::size_t>(v.size() > 1 ? v[1] : v[0]);
    else {
        error = "unknown sysctl " + std::string(name);
        return false;
    }
    return true;
}

}  // namespace

void apply_packetdrill_defaults(StackConfig& c) {
    std::string ignored;
    for (auto [n, v] :
         {std::pair<std::string_view, std::string_view>{"tcp_rmem", "4096 540000 15728640"},
          {"tcp_wmem", "4096 262144 4194304"},
          {"tcp_timestamps", "1"},
          {"tcp_syn_retries", "5"},
          {"tcp_synack_retries", "5"},
          {"tcp_syncookies", "1"},
          {"tcp_frto", "2"},
          {"tcp_sack", "1"},
          {"tcp_dsack", "1"},
          {"tcp_reordering", "3"},
          {"tcp_congestion_control", "cubic"},
          {"tcp_slow_start_after_idle", "0"},
          {"tcp_early_retrans", "4"},
          {"tcp_recovery", "1"},
          {"tcp_ecn", "0"},
          {"tcp_pacing_ss_ratio", "200"},
          {"tcp_pacing_ca_ratio", "120"}})
        apply_one(n, v, c, ignored);
}

bool apply_sysctl_flags(std::string_view flags, StackConfig& config, std::string& error) {
    while (!flags.empty()) {
        const std::size_t end = flags.find_first_of(" ,;\t");
        std::string_view pair = flags.substr(0, end);
        flags.remove_prefix(end == std::string_view::npos ? flags.size() : end + 1);
        if (pair.empty()) continue;
        const std::size_t eq = pair.find('=');
        if (eq == std::string_view::npos) {
            error = "expected name=value, got \"" + std::string(pair) + "\"";
            return false;
        }
        if (!apply_one(pair.substr(0, eq), pair.substr(eq + 1), config, error)) return false;
    }
    return true;
}

namespace {

// Per-namespace sysctls apply_one models (net.core.* are the host's, not the namespace's).
constexpr std::string_view kNetnsSysctls[] = {
    "tcp_syn_retries",
    "tcp_synack_retries",
    "tcp_retries2",
    "tcp_timestamps",
    "tcp_window_scaling",
    "tcp_syncookies",
    "tcp_fin_timeout",
    "tcp_keepalive_time",
    "tcp_keepalive_intvl",
    "tcp_keepalive_probes",
    "tcp_max_syn_backlog",
    "ip_default_ttl",
    "tcp_sack",
    "tcp_dsack",
    "tcp_recovery",
    "tcp_early_retrans",
    "tcp_frto",
    "tcp_reordering",
    "tcp_ecn",
    "tcp_slow_start_after_idle",
    "tcp_pacing_ss_ratio",
    "tcp_pacing_ca_ratio",
    "tcp_min_tso_segs",
    "tcp_tso_rtt_log",
    "tcp_rmem",
    "tcp_wmem",
    "tcp_congestion_control",
};

// A read through a descriptor opened in the adapter's namespace: /proc/sys/net resolves a
// path in the namespace of the thread that opens it, and packetdrill's system-call thread
// lives in the host's.
std::string read_sysctl(int fd) {
    char buf[256];
    const ssize_t n = fd >= 0 ? ::pread(fd, buf, sizeof buf - 1, 0) : -1;
    std::string v(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
    while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
    return v;
}

}  // namespace

NetnsSysctls::NetnsSysctls() {
    for (std::string_view n : kNetnsSysctls) {
        const std::string path = "/proc/sys/net/ipv4/" + std::string(n);
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        seen_.push_back({std::string(n), fd, read_sysctl(fd)});
    }
}

NetnsSysctls::~NetnsSysctls() {
    for (const Watched& w : seen_)
        if (w.fd >= 0) ::close(w.fd);
}

bool NetnsSysctls::apply_changes(StackConfig& config) {
    bool changed = false;
    for (Watched& w : seen_) {
        std::string now = read_sysctl(w.fd);
        if (now.empty() || (now == w.last && !first_)) continue;
        std::string error;
        if (apply_one(w.name, now, config, error)) changed = true;
        w.last = std::move(now);
    }
    first_ = false;
    return changed;
}

}  // namespace vlo::posix
