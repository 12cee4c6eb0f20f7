// One network stack: its devices (lo first, as in a new network namespace), the receive core,
// the FIB, the protocols and their counters, all under one StackConfig and one Clock.
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "netif/loopback.hpp"
#include "netif/net_rx.hpp"
#include "stack/config.hpp"
#include "stack/fib.hpp"
#include "stack/icmp.hpp"
#include "stack/ip.hpp"
#include "stack/netfilter/netfilter.hpp"
#include "stack/ping_socket.hpp"
#include "stack/port_table.hpp"
#include "stack/snmp.hpp"
#include "stack/tcp.hpp"
#include "stack/timer_service.hpp"
#include "stack/udp.hpp"
#include "stack/udp_socket.hpp"

namespace vlo {

class Stack {
  public:
    explicit Stack(const StackConfig& config = {}, const Clock& clock = MonotonicClock::instance());
    ~Stack();
    Stack(const Stack&) = delete;
    Stack& operator=(const Stack&) = delete;

    const StackConfig& config() const { return config_; }
    // A sysctl write (net.ipv4.*): as in Linux it takes effect where the value is next read.
    // The caller keeps it from racing the stack's own threads (no worker running meanwhile).
    StackConfig& sysctl() { return config_; }
    const Clock& clock() const { return clock_; }
    NetRx& net_rx() { return *net_rx_; }
    Fib& fib() { return fib_; }
    const Fib& fib() const { return fib_; }
    Snmp& snmp() { return snmp_; }
    const Snmp& snmp() const { return snmp_; }
    Ip& ip() { return ip_; }
    Icmp& icmp() { return icmp_; }
    PingTable& ping_table() { return ping_table_; }
    Udp& udp() { return udp_; }
    PortTable& udp_ports() { return udp_ports_; }
    Tcp& tcp() { return *tcp_; }
    TimerService& timers() { return *timers_; }
    // iptables' tables on the IPv4 hooks: Netfilter::command takes iptables' words.
    Netfilter& netfilter() { return netfilter_; }
    // Under a virtual clock: run the timers that are due now (call after advancing the clock).
    void run_timers() { timers_->run_due(); }
    // Waits, at most `timeout` on the clock, until TCP has nothing left to deliver (see
    // Tcp::sending): a program calls it before its stack goes away, as the kernel would go on
    // sending for a process that has exited. True if everything was delivered.
    bool linger(Nanos timeout);

    Device& loopback() { return *devices_.front(); }
    // Registers a device: its received frames go to this stack's netif_rx. Returns it.
    Device& add_device(std::unique_ptr<Device> dev);
    // Wraps the device called `name` in a decorator made by `wrap(inner)` (capture, netem): the
    // decorator takes the device's place in the list and in every route, and the inner device
    // lives on behind it. For set-up, before traffic flows. Returns the decorator, or null if
    // there is no such device.
    template <class Decorator, class Make>
    Decorator* wrap_device(std::string_view name, Make make) {
        const auto it = std::find_if(devices_.begin(), devices_.end(),
                                     [&](auto& d) { return d->name() == name; });
        if (it == devices_.end()) return nullptr;
        std::unique_ptr<Decorator> outer = make(**it);
        Decorator* raw = outer.get();
        fib_.replace_device(**it, *raw);
        wrapped_.push_back(std::move(*it));
        *it = std::move(outer);
        raw->set_rx_sink(net_rx_.get());
        return raw;
    }
    int next_ifindex() const { return static_cast<int>(devices_.size()) + 1; }
    Device* find_device(std::string_view name);
    Device* find_device(int ifindex);
    const std::vector<std::unique_ptr<Device>>& devices() const { return devices_; }

    // `ip addr add CIDR dev NAME` / `ip addr del`
    std::error_code addr_add(std::string_view dev, Ipv4Cidr cidr);
    std::error_code addr_del(std::string_view dev, Ipv4Cidr cidr);

    // Text in the kernel's formats: /proc/net/softnet_stat, /proc/net/snmp, `ip -s link`.
    std::string softnet_stat() const { return net_rx_->softnet_stat(); }
    std::string snmp_text() const;
    std::string link_stats_text() const;

  private:
    StackConfig config_;  // written only through sysctl()
    const Clock& clock_;
    Snmp snmp_;
    Fib fib_;
    // Devices behind decorators: declared first, so freed after the decorators in devices_.
    std::vector<std::unique_ptr<Device>> wrapped_;
    std::vector<std::unique_ptr<Device>> devices_;  // only grows while the stack lives
    Ip ip_;
    Icmp icmp_;
    PingTable ping_table_;
    PortTable udp_ports_;
    Udp udp_;
    Netfilter netfilter_;
    // Torn down by ~Stack in this order: NET_RX held, the timer thread stopped, TCP's sockets
    // freed (their timers need the service), then the service, then the receive core.
    std::unique_ptr<NetRx> net_rx_;
    std::unique_ptr<TimerService> timers_;
    std::unique_ptr<Tcp> tcp_;
};

}  // namespace vlo
