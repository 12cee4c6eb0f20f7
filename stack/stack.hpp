// One network stack: its devices (lo first, as in a new network namespace), the receive core,
// the FIB, the protocols and their counters, all under one StackConfig and one Clock.
#pragma once

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "netif/capture.hpp"
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
#include "stack/stack_random.hpp"
#include "stack/tcp.hpp"
#include "stack/timer_service.hpp"
#include "stack/udp.hpp"
#include "stack/udp_socket.hpp"

namespace vlo {

class NetemQdisc;
struct NetemSpec;

// `tc qdisc add|change|replace`: how a new root qdisc meets the one there (NLM_F_EXCL,
// NLM_F_REPLACE, neither).
enum class QdiscOp { add, change, replace };

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
    // The stack's random source and the seed it was drawn from (stack_random.hpp).
    StackRandom& random() { return random_; }
    std::uint64_t seed() const { return random_.seed(); }
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
    // iptables' tables on the IPv4 hooks, as typed rules (frontend/iptables.hpp has the words).
    Netfilter& netfilter() { return netfilter_; }
    // Runs the timers that are due now. A VirtualClock's advance already runs every timer that
    // falls due on the way; this is for a caller that set the clock itself.
    void run_timers() { timers_->run_due(); }
    // Waits, at most `timeout` on the clock, until TCP has nothing left to deliver (see
    // Tcp::sending): a program calls it before its stack goes away, as the kernel would go on
    // sending for a process that has exited. True if everything was delivered.
    bool linger(Nanos timeout);

    Device& loopback() { return *devices_.front(); }
    // Registers a device: its received frames go to this stack's netif_rx, and it gets its
    // default qdisc (noqueue for lo, pfifo_fast for a device with a tx queue). Returns it.
    Device& add_device(std::unique_ptr<Device> dev);

    // `tc qdisc add|change|replace dev DEV root netem ...` with a typed spec (an unseeded spec
    // is seeded from the stack's seed). Errors as the kernel's: no_such_device; for add over a
    // netem file_exists ("Exclusivity flag on"); for change without one no_such_file_or_directory.
    std::error_code qdisc_netem(std::string_view dev, QdiscOp op, const NetemSpec& spec);
    // `tc qdisc del dev DEV root`: the default qdisc back; no_such_file_or_directory when the
    // root already is the default ("Cannot delete qdisc with handle of zero").
    std::error_code qdisc_del(std::string_view dev);

    // tcpdump on a device: a capture the stack keeps (and removes before its devices go), idle
    // until started. Null if there is no such device.
    Capture* add_capture(std::string_view dev, const CaptureConfig& config = {});
    const std::vector<std::unique_ptr<Capture>>& captures() const { return captures_; }

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
    StackRandom random_;  // before everything that draws from it
    Snmp snmp_;
    Fib fib_;
    std::vector<std::unique_ptr<Device>> devices_;  // only grows while the stack lives
    std::atomic<std::uint32_t> next_handle_{0x8001};  // qdisc_alloc_handle's autohandle
    std::vector<std::unique_ptr<Capture>> captures_;  // taps on devices_: declared after them
    Ip ip_;
    Icmp icmp_;
    PingTable ping_table_;
    PortTable udp_ports_;
    Udp udp_;
    Netfilter netfilter_;
    // Torn down by ~Stack in this order: devices stopped, NET_RX held, the timer thread stopped,
    // TCP's sockets freed (their timers need the service), the devices with their qdiscs (a
    // netem's watchdog is a timer), then the service, then the receive core.
    std::unique_ptr<NetRx> net_rx_;
    std::unique_ptr<TimerService> timers_;
    std::unique_ptr<Tcp> tcp_;
};

}  // namespace vlo
