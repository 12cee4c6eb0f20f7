// Interface addresses and the FIB: the local table (addresses of this host, consulted first)
// and the main table, as Linux's rules 0 and 32766. Readers on the packet path read the current
// snapshot under RCU (netif/rcu.hpp); writers copy, change and publish it, and a replaced
// snapshot is freed once no reader holds it.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <vector>

#include "netif/device.hpp"
#include "netif/rcu.hpp"
#include "stack/ipv4_address.hpp"

namespace vlo {

enum class RouteType { unicast, local, broadcast, unreachable, blackhole };  // RTN_*

// How 127/8 behaves (docs/architecture.md, "127/8"): Linux makes the prefix of an address on a
// loopback device a local route (fib_add_ifaddr), so all of 127/8 answers; BSD and macOS route the
// prefix to lo0 but answer only the addresses configured there.
enum class LoopbackPolicy { linux, bsd };

struct IfAddr {
    Device* dev;
    Ipv4Cidr cidr;
};

struct FibEntry {
    Ipv4Address prefix;
    int prefix_len;
    RouteType type;
    Device* dev;
    Ipv4Address prefsrc;
};

struct FibSnapshot {
    std::vector<IfAddr> addrs;
    std::vector<FibEntry> local;  // longest prefix first
    std::vector<FibEntry> main;
};

// The result of an output or input route decision (struct rtable, reduced).
struct Route {
    RouteType type = RouteType::unreachable;
    Device* dev = nullptr;
    Ipv4Address src;
    Ipv4Address dst;
};

class Fib {
public:
  explicit Fib(LoopbackPolicy policy)
      : policy_(policy), current_(std::make_unique<FibSnapshot>()) {}
  LoopbackPolicy policy() const { return policy_; }

  // `ip addr add CIDR dev DEV` and `ip addr del`: the address and the routes the kernel
  // derives from it (fib_add_ifaddr / fib_del_ifaddr).
  std::error_code add_address(Device& dev, Ipv4Cidr cidr);
  std::error_code del_address(Device& dev, Ipv4Cidr cidr);
  // `ip route add PREFIX dev DEV [src SRC]` into the main table.
  std::error_code add_route(Ipv4Cidr prefix, Device& dev, Ipv4Address prefsrc = {});

  // fib_lookup: the local table, then the main one; `oif` (when set) restricts to that device.
  std::optional<FibEntry> lookup(Ipv4Address dst, const Device* oif = nullptr) const;
  // Is `a` an address of this host (a local route covers it)? inet_addr_type == RTN_LOCAL.
  bool is_local(Ipv4Address a) const;
  // The first address configured on dev, if any (inet_select_addr, reduced).
  std::optional<Ipv4Address> primary_address(const Device& dev) const;

private:
    template <class Change>
    std::error_code update(Change change);

    const LoopbackPolicy policy_;
    std::mutex writer_;
    RcuPtr<const FibSnapshot> current_;  // never null; published under writer_
};

}  // namespace vlo
