#include "netif/rtnetlink.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <array>
#include <cerrno>
#include <ctime>
#include <memory>

namespace vlo::rtnl {

namespace {

// MNL_SOCKET_BUFFER_SIZE is a sysconf call; a page is plenty for these requests and replies.
constexpr std::size_t kBufSize = 8192;

std::error_code errno_code(int e) { return {e, std::generic_category()}; }

struct SocketCloser {
    void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};

// Sends one request with NLM_F_ACK and returns the kernel's answer: 0 or its errno.
std::error_code transact(nlmsghdr* req) {
    std::unique_ptr<mnl_socket, SocketCloser> nl(mnl_socket_open(NETLINK_ROUTE));
    if (!nl) return errno_code(errno);
    if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) return errno_code(errno);
    const unsigned portid = mnl_socket_get_portid(nl.get());
    req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    req->nlmsg_seq = static_cast<std::uint32_t>(time(nullptr));
    if (mnl_socket_sendto(nl.get(), req, req->nlmsg_len) < 0) return errno_code(errno);
    std::array<char, kBufSize> buf{};
    const ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
    if (n < 0) return errno_code(errno);
    // mnl_cb_run turns an NLMSG_ERROR with a non-zero error into -1 and errno.
    if (mnl_cb_run(buf.data(), static_cast<std::size_t>(n), req->nlmsg_seq, portid, nullptr, nullptr) < 0)
        return errno_code(errno);
    return {};
}

}  // namespace

std::error_code link_set_up(int ifindex, std::uint32_t mtu) {
    std::array<char, kBufSize> buf{};
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = RTM_NEWLINK;
    auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifm->ifi_family = AF_UNSPEC;
    ifm->ifi_index = ifindex;
    ifm->ifi_change = IFF_UP;
    ifm->ifi_flags = IFF_UP;
    mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    return transact(nlh);
}

std::error_code addr_add(int ifindex, std::uint32_t addr, std::uint8_t prefix_len) {
    std::array<char, kBufSize> buf{};
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = RTM_NEWADDR;
    nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = prefix_len;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = static_cast<unsigned>(ifindex);
    const std::uint32_t be = htonl(addr);
    // IFA_LOCAL is the interface's own address, IFA_ADDRESS the same on a non-p2p link (iproute2
    // sets both), and the broadcast as `ip addr add ... brd +` would.
    mnl_attr_put_u32(nlh, IFA_LOCAL, be);
    mnl_attr_put_u32(nlh, IFA_ADDRESS, be);
    if (prefix_len < 31) {
        const std::uint32_t mask = prefix_len == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix_len);
        mnl_attr_put_u32(nlh, IFA_BROADCAST, htonl(addr | ~mask));
    }
    return transact(nlh);
}

}  // namespace vlo::rtnl
