// TCP's sysctls (net.ipv4.tcp_*), with the kernel's defaults.
#pragma once

#include <cstddef>

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
    std::size_t tcp_wmem = 4 << 20;            // fixed buffers: vlo does not autotune
    std::size_t tcp_rmem = 4 << 20;
};

}  // namespace vlo
