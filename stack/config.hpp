// Every tunable of the stack in one place, named after its sysctl, with the kernel's default.
#pragma once

#include <cstdint>
#include <optional>

#include "netif/net_rx.hpp"
#include "stack/fib.hpp"
#include "stack/tcp_config.hpp"

namespace vlo {

// net.ipv4.ip_local_port_range: where ephemeral ports come from.
struct PortRange {
    std::uint16_t low = 32768;
    std::uint16_t high = 60999;
};

struct StackConfig {
    NetCoreConfig core;                                  // net.core.*
    TcpConfig tcp;                                       // net.ipv4.tcp_*
    LoopbackPolicy loopback_policy = LoopbackPolicy::linux;
    int ip_default_ttl = 64;                             // net.ipv4.ip_default_ttl
    bool ip_forward = false;                             // net.ipv4.ip_forward
    int icmp_ratelimit = 1000;                           // ms between errors to one peer
    std::uint32_t icmp_ratemask = 0x1818;                // 6168: unreach, quench, time exc., param
    int icmp_msgs_per_sec = 1000;                        // global ICMP output limit
    int icmp_msgs_burst = 50;
    bool icmp_echo_ignore_all = false;
    bool icmp_echo_ignore_broadcasts = true;
    std::uint32_t ping_rcvbuf = 212992;                  // net.core.rmem_default
    PortRange ip_local_port_range;                       // net.ipv4.ip_local_port_range
    std::uint32_t udp_rcvbuf = 212992;                   // net.core.rmem_default, for UDP
    std::uint32_t rmem_max = 212992;                     // net.core.rmem_max: SO_RCVBUF cap
    // Reassembly (net/ipv4/ip_fragment.c, ipv4_frags_init_net). Above ipfrag_high_thresh bytes
    // held in fragment queues (each queue's size plus its fragments' buffers) every fragment
    // is refused. ipfrag_low_thresh is obsolete since Linux 4.17 (nothing prunes down to it any
    // more); it is kept, as the sysctl is. A queue not complete ipfrag_time after its first
    // fragment is dropped (ip_expire).
    std::uint64_t ipfrag_high_thresh = 4 * 1024 * 1024;  // net.ipv4.ipfrag_high_thresh
    std::uint64_t ipfrag_low_thresh = 3 * 1024 * 1024;   // net.ipv4.ipfrag_low_thresh
    Nanos ipfrag_time = 30 * kNsPerSec;                  // net.ipv4.ipfrag_time (IP_FRAG_TIME)
    // Every random choice of the stack comes from this seed (stack_random.hpp); none: a
    // random one, which Stack::seed() tells.
    std::optional<std::uint64_t> seed;
};

}  // namespace vlo
