// The kernel side of a TUN interface, configured the way `ip link set` / `ip addr add` do it:
// rtnetlink requests (RTM_NEWLINK, RTM_NEWADDR) over a NETLINK_ROUTE socket, built with libmnl.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>

namespace vlo::rtnl {

// `ip link set dev IFINDEX mtu MTU up`.
std::error_code link_set_up(int ifindex, std::uint32_t mtu);

// `ip addr add ADDR/PREFIX_LEN dev IFINDEX` (ADDR in host byte order). EEXIST if it is there.
std::error_code addr_add(int ifindex, std::uint32_t addr, std::uint8_t prefix_len);

}  // namespace vlo::rtnl
