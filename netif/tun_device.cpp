#include "netif/tun_device.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "netif/cpu.hpp"
#include "netif/packet_pool.hpp"
#include "netif/rtnetlink.hpp"

namespace vlo {

namespace {
constexpr std::uint16_t kEthPIpv6 = 0x86dd;

std::string errno_text(const char* what, int e) { return std::string(what) + ": " + std::strerror(e); }
}  // namespace

std::unique_ptr<TunDevice> TunDevice::open(const TunConfig& config, int ifindex, std::string& error) {
    if (config.name.empty() || config.name.size() >= IFNAMSIZ) {
        error = "invalid interface name '" + config.name + "'";
        return nullptr;
    }
    if (config.mtu < 68 || config.mtu > 65535) {  // IPv4's minimum (RFC 791) to tun's maximum
        error = "invalid MTU " + std::to_string(config.mtu) + " (68 to 65535)";
        return nullptr;
    }
    const bool existed = if_nametoindex(config.name.c_str()) != 0;
    const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        error = errno_text("/dev/net/tun", errno);
        return nullptr;
    }
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::memcpy(ifr.ifr_name, config.name.data(), config.name.size());
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        error = errno_text(("TUNSETIFF " + config.name).c_str(), errno);
        ::close(fd);
        return nullptr;
    }
    const int kernel_ifindex = static_cast<int>(if_nametoindex(config.name.c_str()));
    std::error_code ec = rtnl::link_set_up(kernel_ifindex, config.mtu);
    if (ec) error = "bringing " + config.name + " up: " + ec.message();
    if (!ec && config.kernel_addr != 0) {
        ec = rtnl::addr_add(kernel_ifindex, config.kernel_addr, config.kernel_prefix_len);
        if (ec == std::errc::file_exists) ec.clear();  // attached to an interface that has it
        if (ec) error = "adding the kernel address to " + config.name + ": " + ec.message();
    }
    const int stop_fd = ec ? -1 : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!ec && stop_fd < 0) error = errno_text("eventfd", errno);
    if (ec || stop_fd < 0) {
        ::close(fd);  // a non-persistent interface we created goes with its last descriptor
        return nullptr;
    }
    return std::unique_ptr<TunDevice>(
        new TunDevice(config.name, ifindex, config.mtu, fd, stop_fd, kernel_ifindex, !existed));
}

TunDevice::TunDevice(std::string name, int ifindex, std::uint32_t mtu, int fd, int stop_fd, int kernel_ifindex,
                     bool created)
    : NetDevice(std::move(name), ifindex, mtu, IFF_UP | IFF_RUNNING | IFF_LOWER_UP | IFF_POINTOPOINT | IFF_NOARP |
                                                   IFF_MULTICAST,
                0),
      fd_(fd),
      stop_fd_(stop_fd),
      kernel_ifindex_(kernel_ifindex),
      created_(created) {}

TunDevice::~TunDevice() {
    stop();
    ::close(stop_fd_);
    ::close(fd_);
}

void TunDevice::set_rx_sink(RxSink* sink) {
    NetDevice::set_rx_sink(sink);
    if (sink && !reader_.joinable() && !stopped_) reader_ = std::thread([this] { reader_main(); });
}

void TunDevice::stop() {
    if (stopped_.exchange(true)) return;
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(stop_fd_, &one, sizeof one);
    if (reader_.joinable()) reader_.join();
    set_up(false);
}

// tun_net_xmit, from the other side: the kernel receives what we write as one packet.
NetdevTx TunDevice::xmit(PacketPtr pkt) {
    pkt->trace.stamp(Stage::tun_xmit);
    const std::size_t len = pkt->size();
    const ssize_t n = ::write(fd_, pkt->data(), len);
    if (n != static_cast<ssize_t>(len)) {
        // EAGAIN: the kernel's backlog for the interface is full, as a NIC ring would be.
        DeviceStats::inc(stats().tx_dropped);
        if (n < 0 && errno != EAGAIN) DeviceStats::inc(stats().tx_errors);
        return NetdevTx::ok;
    }
    DeviceStats::inc(stats().tx_packets);
    DeviceStats::inc(stats().tx_bytes, len);
    return NetdevTx::ok;
}

bool TunDevice::read_one(PacketPtr& pkt) {
    if (!pkt) pkt = PacketPool::instance().alloc(mtu());
    const ssize_t n = ::read(fd_, pkt->data(), pkt->tailroom());
    if (n <= 0) return false;  // EAGAIN: drained
    pkt->put(static_cast<std::size_t>(n));
    return true;
}

// The driver's receive loop: sleep until the fd is readable, then take up to kReadBatch packets
// and hand them to netif_rx inside one bh-disabled section, so NET_RX runs once per batch.
void TunDevice::reader_main() {
    name_this_thread(name() + "-rx");
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    PacketPtr pkt;
    while (!stopped_.load(std::memory_order_relaxed)) {
        if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
        if (fds[1].revents) break;
        RxSink* sink = rx_sink();
        sink->local_bh_disable();
        for (int i = 0; i < kReadBatch && read_one(pkt); ++i) {
            // IFF_NO_PI: the protocol comes from the version nibble (tun_get_user).
            const std::uint8_t version = pkt->data()[0] >> 4;
            if (version != 4 && version != 6) {
                DeviceStats::inc(stats().rx_errors);
                DeviceStats::inc(stats().rx_dropped);
                pkt->reset();
                continue;
            }
            pkt->protocol = version == 4 ? kEthPIp : kEthPIpv6;
            pkt->dev = this;
            pkt->pkt_type = PacketType::host;
            pkt->ip_summed = ChecksumState::none;  // no RXCSUM: the stack verifies
            const std::uint64_t len = pkt->size();
            if (sink->netif_rx(std::move(pkt)) == NetRxResult::success) {
                DeviceStats::inc(stats().rx_packets);
                DeviceStats::inc(stats().rx_bytes, len);
            }
        }
        sink->local_bh_enable();
    }
}

}  // namespace vlo
