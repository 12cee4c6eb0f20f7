// TCP's sysctls (net.ipv4.tcp_*), with the kernel's defaults.
#pragma once

#include <cstddef>
#include <string>

#include "netif/clock.hpp"

namespace vlo {

struct TcpConfig {
    int tcp_syn_retries = 6;
    int tcp_synack_retries = 5;
    int tcp_retries2 = 15;
    Nanos tcp_fin_timeout = 60 * kNsPerSec;
    Nanos tcp_timewait_len = 60 * kNsPerSec;  // TCP_TIMEWAIT_LEN: 2 * MSL with MSL = 30 s
    Nanos tcp_keepalive_time = 7200 * kNsPerSec;
    Nanos tcp_keepalive_intvl = 75 * kNsPerSec;
    int tcp_keepalive_probes = 9;
    bool tcp_syncookies = true;
    bool tcp_timestamps = true;
    bool tcp_window_scaling = true;
    int somaxconn = 4096;
    int tcp_max_syn_backlog = 1024;
    Nanos tcp_rto_min = 200 * kNsPerMs;
    Nanos tcp_rto_max = 120 * kNsPerSec;
    Nanos tcp_timeout_init = kNsPerSec;        // RFC 6298 2.1
    Nanos tcp_delack_min = 40 * kNsPerMs;
    Nanos tcp_delack_max = 200 * kNsPerMs;
    // Buffer sizes: a socket's send and receive rings hold up to these many bytes. Linux
    // autotunes between tcp_rmem's min and max; vlo charges bytes exactly (no skb overhead), so
    // one fixed size stands for the autotuned ceiling.
    std::size_t tcp_wmem = 4 << 20;
    std::size_t tcp_rmem = 4 << 20;
    // tcp_rmem's default and maximum as Linux's (4096 131072 6291456): the default gives the
    // initial window (tcp_full_space), the maximum the window scale (tcp_select_initial_window).
    std::size_t tcp_rmem_default = 131072;
    std::size_t tcp_rmem_max = 6291456;
    // Loss recovery, with Linux's defaults (Documentation/networking/ip-sysctl.rst).
    bool tcp_sack = true;
    bool tcp_dsack = true;
    int tcp_recovery = 1;        // 1: RACK loss detection (TCP_RACK_LOSS_DETECTION)
    int tcp_early_retrans = 3;   // 3: tail loss probes (RACK-TLP)
    int tcp_frto = 2;            // F-RTO (RFC 5682) with SACK enhancement
    int tcp_reordering = 3;      // the initial dupthresh
    int tcp_max_reordering = 300;
    int tcp_ecn = 2;             // 2: answer ECN when the peer asks; 1: ask too; 0: never
    bool tcp_slow_start_after_idle = true;
    // Pacing rate and TSO/GSO sizing (tcp_update_pacing_rate, tcp_tso_autosize): the rate is
    // 200 % of cwnd * mss / srtt in slow start, 120 % after; a GSO packet carries about 1 ms of
    // it (sk_pacing_shift 10), at least tcp_min_tso_segs segments, more on short paths.
    int tcp_pacing_ss_ratio = 200;
    int tcp_pacing_ca_ratio = 120;
    int tcp_min_tso_segs = 2;
    int tcp_tso_rtt_log = 9;
    std::string tcp_congestion_control = "cubic";
};

}  // namespace vlo
