// Local ports of one transport protocol and Linux's rules for sharing them (inet_csk_get_port,
// inet_csk_bind_conflict, udp_lib_get_port):
//  - the same port may be bound on different specific addresses (127.0.0.1:80 and 127.0.0.2:80);
//  - a wildcard (0.0.0.0) binding conflicts with every binding of the port, and vice versa;
//  - SO_REUSEADDR on both sides lifts the conflict, for TCP unless the other one listens;
//  - port 0 picks an ephemeral port from ip_local_port_range (32768-60999).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <random>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "stack/ipv4_address.hpp"

namespace vlo {

// What a socket holds in the table. The socket owns it; the table keeps a pointer while bound.
struct PortBinding {
    Ipv4Address addr;       // inet_rcv_saddr: 0.0.0.0 for a wildcard bind
    std::uint16_t port = 0;
    bool reuseaddr = false;  // SO_REUSEADDR
    bool listening = false;  // TCP: in LISTEN (reuse does not help against a listener)
    bool by_connect = false; // bound implicitly by connect(): such ports are shared per 4-tuple
    bool bound = false;
};

class PortTable {
public:
    enum class Kind { tcp, udp };
    // `secret` keys the ephemeral port offsets (RFC 6056's F); the stack's seed gives it.
    explicit PortTable(Kind kind, std::uint16_t low = 32768, std::uint16_t high = 60999,
                       std::uint32_t secret = 0);

    // bind(): `port` 0 picks a free ephemeral port. EADDRINUSE on conflict or exhaustion.
    std::error_code bind(PortBinding& b, Ipv4Address addr, std::uint16_t port);
    // connect() of an unbound socket (__inet_hash_connect, RFC 6056 section 3.3.3 "double-hash"):
    // an ephemeral port whose 4-tuple is unused, as `tuple_free(port)` tells. The port may be
    // shared with other connected sockets to other destinations.
    std::error_code bind_connect(PortBinding& b, Ipv4Address laddr, Ipv4Address raddr, std::uint16_t rport,
                                 const std::function<bool(std::uint16_t)>& tuple_free);
    // listen(): re-check conflicts now that the socket listens (inet_csk_listen_start).
    std::error_code start_listening(PortBinding& b);
    void unbind(PortBinding& b);

    std::uint16_t low() const { return low_; }
    std::uint16_t high() const { return high_; }

private:
    // A port's holders, by address (0: the wildcard), as the kernel's bhash2 buckets them by
    // (port, address): a bind to one address checks that address and the wildcard only, so
    // a listener on each of 127/8's 16 million addresses costs no scan of the others.
    struct PortBucket {
        std::unordered_multimap<std::uint32_t, PortBinding*> by_addr;
        std::size_t bind_owned = 0;  // holders that came by bind(), not connect()
    };

    bool conflicts(const PortBinding& b, Ipv4Address addr, std::uint16_t port) const;
    void insert(PortBinding& b, Ipv4Address addr, std::uint16_t port);

    const Kind kind_;
    const std::uint16_t low_, high_;
    std::mutex mu_;
    std::unordered_map<std::uint16_t, PortBucket> ports_;  // guarded by mu_
    std::uint32_t secret_;
    std::vector<std::uint16_t> perturb_;  // RFC 6056 algorithm 4's table (table_perturb)
    std::uint32_t connect_count_ = 0;
};

}  // namespace vlo
