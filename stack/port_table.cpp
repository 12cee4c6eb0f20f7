#include "stack/port_table.hpp"

#include <algorithm>

namespace vlo {

namespace {
std::uint32_t mix(std::uint32_t h) {
    h ^= h >> 16;
    h *= 0x7feb352d;
    h ^= h >> 15;
    h *= 0x846ca68b;
    h ^= h >> 16;
    return h;
}
}  // namespace

PortTable::PortTable(Kind kind, std::uint16_t low, std::uint16_t high, std::uint32_t secret)
    : kind_(kind), low_(low), high_(high), secret_(secret), perturb_(256) {}

bool PortTable::conflicts(const PortBinding& b, Ipv4Address addr, std::uint16_t port) const {
    auto it = ports_.find(port);
    if (it == ports_.end()) return false;
    // Only holders whose address overlaps ours can conflict: the same address, or the
    // wildcard on either side.
    auto conflict = [&](const PortBinding* other) {
        if (other == &b) return false;
        // SO_REUSEADDR on both: UDP shares; TCP shares unless the other one listens
        // (inet_csk_bind_conflict: sk2->sk_state != TCP_LISTEN).
        return !(b.reuseaddr && other->reuseaddr && (kind_ == Kind::udp || !other->listening));
    };
    const auto& by_addr = it->second.by_addr;
    if (addr.is_unspecified())
        return std::any_of(by_addr.begin(), by_addr.end(),
                           [&](const auto& e) { return conflict(e.second); });
    for (const std::uint32_t a : {addr.value, 0u}) {
        auto [first, last] = by_addr.equal_range(a);
        for (; first != last; ++first)
            if (conflict(first->second)) return true;
    }
    return false;
}

void PortTable::insert(PortBinding& b, Ipv4Address addr, std::uint16_t port) {
    b.addr = addr;
    b.port = port;
    b.bound = true;
    PortBucket& bucket = ports_[port];
    bucket.by_addr.emplace(addr.value, &b);
    if (!b.by_connect) ++bucket.bind_owned;
}

std::error_code PortTable::bind(PortBinding& b, Ipv4Address addr, std::uint16_t port) {
    std::lock_guard lock(mu_);
    if (b.bound) return std::make_error_code(std::errc::invalid_argument);
    b.by_connect = false;
    if (port != 0) {
        if (conflicts(b, addr, port)) return std::make_error_code(std::errc::address_in_use);
        insert(b, addr, port);
        return {};
    }
    // inet_csk_find_open_port: start at a random point of the range, prefer ports nobody holds.
    const std::uint32_t n = high_ - low_ + 1u;
    const std::uint32_t start = mix(secret_ ^ connect_count_++) % n;
    for (std::uint32_t i = 0; i < n; ++i) {
        const auto p = static_cast<std::uint16_t>(low_ + (start + i) % n);
        if (ports_.count(p)) continue;  // a bucket exists only while someone holds the port
        insert(b, addr, p);
        return {};
    }
    return std::make_error_code(std::errc::address_in_use);
}

std::error_code PortTable::bind_connect(PortBinding& b, Ipv4Address laddr, Ipv4Address raddr, std::uint16_t rport,
                                        const std::function<bool(std::uint16_t)>& tuple_free) {
    std::lock_guard lock(mu_);
    if (b.bound) return {};
    const std::uint32_t n = high_ - low_ + 1u;
    // RFC 6056 3.3.4/3.3.5: offset = F(laddr, raddr, rport, secret), plus a perturbation that
    // moves on after each use of a bucket, so successive connections to one peer do not reuse
    // the port just freed.
    const std::uint32_t offset = mix(laddr.value ^ mix(raddr.value ^ rport) ^ secret_);
    std::uint16_t& perturb = perturb_[mix(offset ^ 0x9e3779b9u) % perturb_.size()];
    for (std::uint32_t i = 0; i < n; ++i) {
        const auto p = static_cast<std::uint16_t>(low_ + (offset + perturb + i) % n);
        // A port someone bound with bind() is never borrowed (the bucket's fastreuse >= 0);
        // ports taken by connect() are shared while the 4-tuples differ.
        auto it = ports_.find(p);
        const bool bind_owned = it != ports_.end() && it->second.bind_owned > 0;
        if (bind_owned || !tuple_free(p)) continue;
        perturb = static_cast<std::uint16_t>(perturb + i + 2);
        b.by_connect = true;
        insert(b, laddr, p);
        return {};
    }
    return std::make_error_code(std::errc::address_not_available);  // EADDRNOTAVAIL, as Linux
}

std::error_code PortTable::start_listening(PortBinding& b) {
    std::lock_guard lock(mu_);
    if (conflicts(b, b.addr, b.port)) return std::make_error_code(std::errc::address_in_use);
    b.listening = true;
    return {};
}

void PortTable::unbind(PortBinding& b) {
    std::lock_guard lock(mu_);
    if (!b.bound) return;
    auto it = ports_.find(b.port);
    if (it != ports_.end()) {
        PortBucket& bucket = it->second;
        auto [first, last] = bucket.by_addr.equal_range(b.addr.value);
        for (; first != last; ++first)
            if (first->second == &b) {
                bucket.by_addr.erase(first);
                if (!b.by_connect) --bucket.bind_owned;
                break;
            }
        if (bucket.by_addr.empty()) ports_.erase(it);
    }
    b.bound = false;
}

}  // namespace vlo
