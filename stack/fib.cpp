#include "stack/fib.hpp"

#include <algorithm>

namespace vlo {

namespace {
void insert_sorted(std::vector<FibEntry>& table, FibEntry e) {
    auto at = std::find_if(table.begin(), table.end(),
                           [&](const FibEntry& x) { return x.prefix_len < e.prefix_len; });
    table.insert(at, e);
}

bool same_route(const FibEntry& a, const FibEntry& b) {
    return a.prefix == b.prefix && a.prefix_len == b.prefix_len && a.type == b.type && a.dev == b.dev &&
           a.prefsrc == b.prefsrc;
}

const FibEntry* match(const std::vector<FibEntry>& table, Ipv4Address dst, const Device* oif) {
    for (const FibEntry& e : table) {
        if (((dst.value ^ e.prefix.value) & prefix_mask(e.prefix_len)) != 0) continue;
        if (oif && e.type == RouteType::unicast && e.dev != oif) continue;
        return &e;
    }
    return nullptr;
}
}  // namespace

template <class Change>
std::error_code Fib::update(Change change) {
    std::lock_guard lock(writer_);
    auto next = std::make_unique<FibSnapshot>(*current_.peek());
    if (std::error_code ec = change(*next)) return ec;
    current_.publish(std::move(next));
    return {};
}

std::error_code Fib::add_address(Device& dev, Ipv4Cidr cidr) {
    if (cidr.address.is_unspecified() || cidr.address.is_multicast() || cidr.address.is_limited_broadcast())
        return std::make_error_code(std::errc::invalid_argument);
    return update([&](FibSnapshot& t) -> std::error_code {
        for (const IfAddr& a : t.addrs)
            if (a.dev == &dev && a.cidr.address == cidr.address)
                return std::make_error_code(std::errc::file_exists);  // EEXIST, as `ip addr add`
        t.addrs.push_back({&dev, cidr});
        const Ipv4Address addr = cidr.address;
        // fib_add_ifaddr: the address itself is local ...
        insert_sorted(t.local, {addr, 32, RouteType::local, &dev, addr});
        if (cidr.prefix_len < 32) {
            // ... its prefix is local on a loopback device (Linux) or reached through it (BSD) ...
            const bool prefix_local = dev.is_loopback() && policy_ == LoopbackPolicy::linux;
            FibEntry prefix{cidr.network(), cidr.prefix_len, prefix_local ? RouteType::local : RouteType::unicast,
                            &dev, addr};
            insert_sorted(prefix_local ? t.local : t.main, prefix);
            // ... and the subnet's broadcast address is a broadcast route (not for /31).
            if (cidr.prefix_len < 31)
                insert_sorted(t.local, {cidr.broadcast(), 32, RouteType::broadcast, &dev, addr});
        }
        return {};
    });
}

std::error_code Fib::del_address(Device& dev, Ipv4Cidr cidr) {
    return update([&](FibSnapshot& t) -> std::error_code {
        auto it = std::find_if(t.addrs.begin(), t.addrs.end(), [&](const IfAddr& a) {
            return a.dev == &dev && a.cidr.address == cidr.address && a.cidr.prefix_len == cidr.prefix_len;
        });
        if (it == t.addrs.end()) return std::make_error_code(std::errc::address_not_available);
        t.addrs.erase(it);
        // Remove every route this address created (their prefsrc is the address).
        auto derived = [&](const FibEntry& e) { return e.dev == &dev && e.prefsrc == cidr.address; };
        std::erase_if(t.local, derived);
        std::erase_if(t.main, derived);
        return {};
    });
}

std::error_code Fib::add_route(Ipv4Cidr prefix, Device& dev, Ipv4Address prefsrc) {
    return update([&](FibSnapshot& t) -> std::error_code {
        FibEntry e{prefix.network(), prefix.prefix_len, RouteType::unicast, &dev, prefsrc};
        for (const FibEntry& x : t.main)
            if (same_route(x, e)) return std::make_error_code(std::errc::file_exists);
        insert_sorted(t.main, e);
        return {};
    });
}

std::optional<FibEntry> Fib::lookup(Ipv4Address dst, const Device* oif) const {
    RcuPtr<const FibSnapshot>::ReadGuard guard(current_);
    const FibSnapshot& t = *guard.get();
    if (const FibEntry* e = match(t.local, dst, oif)) return *e;
    if (const FibEntry* e = match(t.main, dst, oif)) return *e;
    return std::nullopt;
}

bool Fib::is_local(Ipv4Address a) const {
    RcuPtr<const FibSnapshot>::ReadGuard t(current_);
    const FibEntry* e = match(t->local, a, nullptr);
    return e && e->type == RouteType::local;
}

std::optional<Ipv4Address> Fib::primary_address(const Device& dev) const {
    RcuPtr<const FibSnapshot>::ReadGuard t(current_);
    for (const IfAddr& a : t->addrs)
        if (a.dev == &dev) return a.cidr.address;
    return std::nullopt;
}

}  // namespace vlo
