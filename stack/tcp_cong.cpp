// The congestion-control registry and Reno (net/ipv4/tcp_cong.c).
#include "stack/tcp_cong.hpp"

#include <algorithm>
#include <list>
#include <mutex>

#include "stack/tcp.hpp"

namespace vlo {

namespace {
// Process-wide, as the kernel's tcp_cong_list: a std::list keeps each entry where it is, so
// the pointer a socket holds stays valid while other algorithms come and go.
struct Registry {
    std::mutex mu;
    std::list<TcpCongestionOps> algos;
    Registry() {
        algos.push_back(tcp_reno_ops());
        algos.push_back(tcp_cubic_ops());
    }
};
Registry& registry() {
    static Registry r;
    return r;
}
}  // namespace

std::error_code tcp_register_congestion_control(const TcpCongestionOps& ops) {
    if (ops.name.empty() || ops.name.size() >= 16 || !ops.ssthresh || !ops.undo_cwnd ||
        !ops.cong_avoid)  // TCP_CA_NAME_MAX; tcp_validate_congestion_control
        return std::make_error_code(std::errc::invalid_argument);
    auto& r = registry();
    std::lock_guard g(r.mu);
    for (const auto& a : r.algos)
        if (a.name == ops.name) return std::make_error_code(std::errc::file_exists);
    r.algos.push_back(ops);
    return {};
}

void tcp_unregister_congestion_control(std::string_view name) {
    // Sockets may still point at it (the kernel waits for an RCU grace period and a module's
    // reference count): the entry stays, so unregistering only hides it from new sockets.
    auto& r = registry();
    std::lock_guard g(r.mu);
    for (auto& a : r.algos)
        if (a.name == name) a.name.insert(0, "-");
}

const TcpCongestionOps* tcp_ca_find(std::string_view name) {
    auto& r = registry();
    std::lock_guard g(r.mu);
    for (const auto& a : r.algos)
        if (a.name == name) return &a;
    return nullptr;
}

std::vector<std::string> tcp_available_congestion_control() {
    auto& r = registry();
    std::lock_guard g(r.mu);
    std::vector<std::string> names;
    for (const auto& a : r.algos)
        if (a.name.front() != '-') names.push_back(a.name);
    return names;
}

bool tcp_in_slow_start(const TcpSock& sk) { return sk.snd_cwnd < sk.snd_ssthresh; }

// tcp_is_cwnd_limited: a sender that does not use its window must not grow it (RFC 7661).
bool tcp_is_cwnd_limited(const TcpSock& sk) {
    if (sk.is_cwnd_limited) return true;
    if (tcp_in_slow_start(sk)) return sk.snd_cwnd < 2 * sk.max_packets_out;
    return false;
}

// tcp_slow_start (RFC 5681 3.1): one segment per segment acknowledged, up to ssthresh; what
// is left over goes to congestion avoidance.
std::uint32_t tcp_slow_start(TcpSock& sk, std::uint32_t acked) {
    const std::uint32_t cwnd = std::min(sk.snd_cwnd + acked, sk.snd_ssthresh);
    acked -= cwnd - sk.snd_cwnd;
    sk.snd_cwnd = std::min(cwnd, sk.snd_cwnd_clamp);
    return acked;
}

// tcp_cong_avoid_ai: one segment per w segments acknowledged.
void tcp_cong_avoid_ai(TcpSock& sk, std::uint32_t w, std::uint32_t acked) {
    if (sk.snd_cwnd_cnt >= w) {
        sk.snd_cwnd_cnt = 0;
        ++sk.snd_cwnd;
    }
    sk.snd_cwnd_cnt += acked;
    if (sk.snd_cwnd_cnt >= w) {
        const std::uint32_t delta = sk.snd_cwnd_cnt / w;
        sk.snd_cwnd_cnt -= delta * w;
        sk.snd_cwnd += delta;
    }
    sk.snd_cwnd = std::min(sk.snd_cwnd, sk.snd_cwnd_clamp);
}

std::uint32_t tcp_reno_ssthresh(TcpSock& sk) { return std::max(sk.snd_cwnd >> 1u, 2u); }

void tcp_reno_cong_avoid(TcpSock& sk, std::uint32_t, std::uint32_t acked) {
    if (!tcp_is_cwnd_limited(sk)) return;
    if (tcp_in_slow_start(sk)) {
        acked = tcp_slow_start(sk, acked);
        if (!acked) return;
    }
    tcp_cong_avoid_ai(sk, sk.snd_cwnd, acked);
}

std::uint32_t tcp_reno_undo_cwnd(TcpSock& sk) { return std::max(sk.snd_cwnd, sk.prior_cwnd); }

const TcpCongestionOps& tcp_reno_ops() {
    static const TcpCongestionOps ops = [] {
        TcpCongestionOps o;
        o.name = "reno";
        o.ssthresh = tcp_reno_ssthresh;
        o.cong_avoid = tcp_reno_cong_avoid;
        o.undo_cwnd = tcp_reno_undo_cwnd;
        return o;
    }();
    return ops;
}

}  // namespace vlo
