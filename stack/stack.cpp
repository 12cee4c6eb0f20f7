#include "stack/stack.hpp"

#include <chrono>
#include <cstdio>
#include <thread>

#include "netif/dev_xmit.hpp"

namespace vlo {

Stack::Stack(const StackConfig& config, const Clock& clock)
    : config_(config),
      clock_(clock),
      random_(config.seed),
      fib_(config.loopback_policy),
      ip_(*this),
      icmp_(*this),
      ping_table_(*this),
      udp_ports_(PortTable::Kind::udp, config.ip_local_port_range.low,
                 config.ip_local_port_range.high, random_.u32()),
      udp_(*this),
      netfilter_(*this, random_.u64()),
      net_rx_(std::make_unique<NetRx>(config.core, clock)) {
    timers_ = std::make_unique<TimerService>(clock, *net_rx_);
    tcp_ = std::make_unique<Tcp>(*this);
    net_rx_->add_pack(kEthPIp, &ip_);
    ip_.add_protocol(wire::kIpProtoIcmp, &icmp_);
    ip_.add_protocol(wire::kIpProtoUdp, &udp_);
    ip_.add_protocol(wire::kIpProtoTcp, tcp_.get());
    // Bringing lo up gives it 127.0.0.1/8 (inetdev_event, NETDEV_UP on a loopback device).
    add_device(std::make_unique<LoopbackDevice>(1));
    fib_.add_address(loopback(), Ipv4Cidr{kInaddrLoopback, 8});
}

Stack::~Stack() {
    // No timer may fire and no packet arrive while the protocols go away: stop the receive
    // core's threads, then the timer thread, then free the sockets. Devices with a reader
    // thread (TUN) stop handing packets over before anything they would reach goes away.
    for (auto& dev : devices_) dev->stop();
    net_rx_->hold(true);
    timers_->stop();  // joins the timer thread; the sockets' timers die with them below
    ip_.defrag().exit();  // pending reassembly queues and their timer, while the service lives
    tcp_.reset();
    captures_.clear();  // each writes out what it holds and leaves its device
    // A device's qdisc may hold a timer of the service (netem's watchdog): devices go first.
    devices_.clear();
    timers_.reset();
    net_rx_.reset();
}

bool Stack::linger(Nanos timeout) {
    const Nanos end = clock_.now_ns() + timeout;
    while (tcp_->sending()) {
        if (clock_.now_ns() >= end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

Device& Stack::add_device(std::unique_ptr<Device> dev) {
    dev->set_rx_sink(net_rx_.get());
    dev_activate(*dev, clock_);
    devices_.push_back(std::move(dev));
    return *devices_.back();
}

Capture* Stack::add_capture(std::string_view dev, const CaptureConfig& config) {
    Device* d = find_device(dev);
    if (!d) return nullptr;
    captures_.push_back(std::make_unique<Capture>(*d, clock_, config));
    return captures_.back().get();
}

Device* Stack::find_device(std::string_view name) {
    for (auto& d : devices_)
        if (d->name() == name) return d.get();
    return nullptr;
}

Device* Stack::find_device(int ifindex) {
    for (auto& d : devices_)
        if (d->ifindex() == ifindex) return d.get();
    return nullptr;
}

std::error_code Stack::addr_add(std::string_view dev, Ipv4Cidr cidr) {
    Device* d = find_device(dev);
    if (!d) return std::make_error_code(std::errc::no_such_device);
    return fib_.add_address(*d, cidr);
}

std::error_code Stack::addr_del(std::string_view dev, Ipv4Cidr cidr) {
    Device* d = find_device(dev);
    if (!d) return std::make_error_code(std::errc::no_such_device);
    return fib_.del_address(*d, cidr);
}

std::string Stack::snmp_text() const {
    // /proc/net/snmp's order puts Tcp between IcmpMsg and Udp; TcpExt comes from netstat.
    std::string text = snmp_.to_text(config_.ip_forward ? 1 : 2, config_.ip_default_ttl);
    const std::string tcp = tcp_->stats().to_text(config_.tcp.tcp_rto_min / kNsPerMs, config_.tcp.tcp_rto_max / kNsPerMs);
    const auto ext = tcp.find("TcpExt:");
    const auto udp = text.find("Udp:");
    text.insert(udp == std::string::npos ? text.size() : udp, tcp.substr(0, ext));
    return text + tcp.substr(ext);
}

std::string Stack::link_stats_text() const {
    std::string out;
    char line[256];
    for (const auto& d : devices_) {
        DeviceStats& s = d->stats();
        std::snprintf(line, sizeof line, "%d: %s: <%s%s> mtu %u\n", d->ifindex(), d->name().c_str(),
                      d->is_loopback() ? "LOOPBACK," : "", d->is_up() ? "UP,LOWER_UP" : "DOWN", d->mtu());
        out += line;
        std::snprintf(line, sizeof line,
                      "    RX:  bytes packets errors dropped  missed   mcast\n"
                      "    %10llu %7llu %6llu %7llu %7u %7llu\n"
                      "    TX:  bytes packets errors dropped carrier collsns\n"
                      "    %10llu %7llu %6llu %7llu %7u %7llu\n",
                      (unsigned long long)s.rx_bytes.load(), (unsigned long long)s.rx_packets.load(),
                      (unsigned long long)s.rx_errors.load(), (unsigned long long)s.rx_dropped.load(), 0u,
                      (unsigned long long)s.multicast.load(), (unsigned long long)s.tx_bytes.load(),
                      (unsigned long long)s.tx_packets.load(), (unsigned long long)s.tx_errors.load(),
                      (unsigned long long)s.tx_dropped.load(), 0u, (unsigned long long)s.collisions.load());
        out += line;
    }
    return out;
}

}  // namespace vlo
