// vlo-ping: iputils ping through vlo's model of the Linux loopback path. Its own in-process
// stack answers; the output and exit status are ping's.
#include <arpa/inet.h>

#include <algorithm>
#include <bitset>
#include <cstdint>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "apps/ping/ping_options.hpp"
#include "apps/ping/ping_report.hpp"
#include "stack/stack.hpp"

namespace {

using namespace vlo;
using ping::PingOptions;

volatile std::sig_atomic_t g_exiting = 0;
void on_signal(int) { g_exiting = 1; }

constexpr std::size_t kTimevalLen = 16;  // struct timeval, as iputils stamps it into the data
constexpr long kMaxDatalen = 65535 - 20 - 8;

[[noreturn]] void die(int code, const std::string& msg) {
    std::fprintf(stderr, "vlo-ping: %s\n", msg.c_str());
    std::exit(code);
}

// inet_aton accepts "127.1" and friends, as ping does; beyond numbers only localhost resolves
// (vlo never asks a resolver: nothing may leave the host).
std::optional<Ipv4Address> resolve(const std::string& name) {
    in_addr a{};
    if (inet_aton(name.c_str(), &a)) return Ipv4Address{ntohl(a.s_addr)};
    if (name == "localhost" || name == "localhost.localdomain") return kInaddrLoopback;
    return std::nullopt;
}

void stamp_send_time(std::uint8_t* data, Nanos now) {
    const std::int64_t tv[2] = {now / kNsPerSec, (now % kNsPerSec) / 1000};
    std::memcpy(data, tv, sizeof tv);
}

long us_since_stamp(const std::uint8_t* data, Nanos now) {
    std::int64_t tv[2];
    std::memcpy(tv, data, sizeof tv);
    return static_cast<long>((now / kNsPerSec - tv[0]) * 1'000'000 + ((now % kNsPerSec) / 1000 - tv[1]));
}

class Pinger {
public:
    Pinger(Stack& stack, const PingOptions& o) : stack_(stack), o_(o), sock_(stack) {}

    int run() {
        setup();
        Nanos start = clock().now_ns();
        start_ = start;
        const Nanos interval = o_.interval_ms * kNsPerMs;
        constexpr Nanos kNever = INT64_MAX;
        const bool has_deadline = o_.deadline_s != 0;
        const Nanos deadline_at = has_deadline ? start + o_.deadline_s * kNsPerSec : kNever;
        Nanos next_send = start;
        Nanos final_wait_end = kNever;
        std::vector<std::uint8_t> rx(static_cast<std::size_t>(o_.datalen));

        while (!g_exiting) {
            const Nanos now = clock().now_ns();
            if (now >= deadline_at) break;
            if (o_.count && stats_.nreceived + stats_.nerrors >= o_.count) break;
            if (now >= final_wait_end) break;
            // With -w, ping keeps sending past -c until enough replies came or time is up.
            const bool may_send = !o_.count || stats_.ntransmitted < o_.count || has_deadline;
            if (may_send && final_wait_end == kNever && now >= next_send) {
                send_one();
                next_send += interval;
                if (next_send < now) next_send = now;  // a slow round does not build a burst
                if (o_.count && stats_.ntransmitted >= o_.count && !has_deadline) {
                    // The last one: linger for its reply (the one-shot timer of main_loop).
                    const Nanos linger = stats_.nreceived
                                             ? std::max<Nanos>(2 * stats_.tmax * kNsPerUs, interval)
                                             : o_.linger_ms * kNsPerMs;
                    final_wait_end = clock().now_ns() + linger;
                }
                continue;
            }
            Nanos wake = std::min({final_wait_end == kNever ? next_send : final_wait_end, deadline_at,
                                   now + 100 * kNsPerMs});  // 100 ms: notice ^C
            receive_until(wake, rx);
        }
        std::fputs(ping::statistics(o_.destination, stats_, (last_send_ - start_) / kNsPerUs,
                                    o_.interval_ms == 0)
                       .c_str(),
                   stdout);
        return ping::exit_status(stats_, o_.deadline_s != 0, o_.count);
    }

private:
    const Clock& clock() const { return stack_.clock(); }

    void setup() {
        const auto dst = resolve(o_.destination);
        if (!dst) die(2, o_.destination + ": Name or service not known");
        Ipv4Address source;
        if (!o_.interface.empty()) {
            if (auto a = Ipv4Address::parse(o_.interface)) {
                source = *a;
                if (auto ec = sock_.bind(source)) die(2, "bind: " + ec.message());
            } else if (auto ec = sock_.bind_to_device(o_.interface)) {
                die(2, "SO_BINDTODEVICE " + o_.interface + ": " + ec.message());
            } else {
                device_ = stack_.find_device(o_.interface);
            }
        }
        if (o_.ttl == 0) die(2, "cannot set unicast time-to-live: Invalid argument");
        if (o_.ttl > 0) sock_.set_ttl(o_.ttl);
        // As iputils does with its probe socket: ask the route which source and destination a
        // datagram would get (0.0.0.0 becomes 127.0.0.1).
        Route rt;
        if (auto ec = stack_.ip().route_output(*dst, source, device_, rt)) die(2, "connect: " + ec.message());
        if (rt.type == RouteType::broadcast && !o_.broadcast)
            die(2, "Do you want to ping broadcast? Then -b. If not, check your local firewall rules");
        whereto_ = rt.dst;
        std::printf("PING %s (%s) ", o_.destination.c_str(), whereto_.to_string().c_str());
        if (!o_.interface.empty())
            std::printf("from %s %s: ", rt.src.to_string().c_str(), device_ ? o_.interface.c_str() : "");
        std::printf("%ld(%ld) bytes of data.\n", o_.datalen, o_.datalen + 8 + 20);
        stats_.timing = o_.datalen >= static_cast<long>(kTimevalLen);
        // iputils' fill: data byte i is i; the first 16 carry the send time.
        payload_.resize(static_cast<std::size_t>(o_.datalen));
        for (std::size_t i = 0; i < payload_.size(); ++i) payload_[i] = static_cast<std::uint8_t>(i);
    }

    void send_one() {
        const auto seq = static_cast<std::uint16_t>(stats_.ntransmitted + 1);
        rcvd_.reset(seq);
        last_send_ = clock().now_ns();
        if (stats_.timing) stamp_send_time(payload_.data(), last_send_);
        ++stats_.ntransmitted;
        if (o_.datalen > kMaxDatalen) {
            std::fprintf(stderr, "vlo-ping: local error: message too long, mtu=65535\n");
            ++stats_.nerrors;
            return;
        }
        if (auto ec = sock_.send_echo(whereto_, seq, payload_)) {
            std::fprintf(stderr, "vlo-ping: sendmsg: %s\n", ec.message().c_str());
            ++stats_.nerrors;
        }
    }

    void receive_until(Nanos wake, std::vector<std::uint8_t>& rx) {
        EchoReply reply;
        if (sock_.recv_echo(reply, rx, wake)) return;
        const long triptime = stats_.timing ? std::max(0L, us_since_stamp(rx.data(), reply.tstamp)) : 0;
        const bool dup = rcvd_.test(reply.seq);
        if (dup) {
            ++stats_.nrepeats;
        } else {
            rcvd_.set(reply.seq);
            stats_.add_reply(triptime);
        }
        if (o_.quiet) return;
        std::string line = ping::reply_line(reply.icmp_len, reply.from.to_string(), reply.seq, reply.ttl,
                                            stats_.timing, triptime);
        if (dup) line += " (DUP!)";
        for (std::size_t i = kTimevalLen; i < reply.data_len; ++i)
            if (rx[i] != payload_[i]) {
                char buf[96];
                std::snprintf(buf, sizeof buf, "\nwrong data byte #%zu should be 0x%x but was 0x%x", i,
                              payload_[i], rx[i]);
                line += buf;
                break;
            }
        std::puts(line.c_str());
    }

    Stack& stack_;
    const PingOptions& o_;
    PingSocket sock_;
    Device* device_ = nullptr;
    Ipv4Address whereto_;
    std::vector<std::uint8_t> payload_;
    ping::PingStats stats_;
    std::bitset<65536> rcvd_;
    Nanos start_ = 0;
    Nanos last_send_ = 0;
};

void print_stat(Stack& stack) {
    std::printf("\nsoftnet_stat:\n%s", stack.softnet_stat().c_str());
    std::printf("\nlinks:\n%s", stack.link_stats_text().c_str());
    const NetRx& rx = stack.net_rx();
    for (unsigned cpu = 0; cpu < rx.cpus(); ++cpu) {
        const Softnet& sd = rx.softnet(cpu);
        std::printf("\ncpu%u NET_RX runs: in sender %llu, in ksoftirqd %llu, busy-polled %llu; ksoftirqd wakeups %llu\n",
                    cpu, (unsigned long long)sd.runs_in_sender.load(), (unsigned long long)sd.runs_in_ksoftirqd.load(),
                    (unsigned long long)sd.runs_in_busypoll.load(), (unsigned long long)sd.ksoftirqd_wakeups.load());
    }
}

}  // namespace

int main(int argc, char** argv) {
    argv[0] = const_cast<char*>("vlo-ping");  // getopt's messages say "vlo-ping:"
    auto parsed = ping::parse_ping_options(argc, argv);
    if (!parsed.options) {
        if (!parsed.message.empty()) std::fprintf(stderr, "vlo-ping: %s\n", parsed.message.c_str());
        if (parsed.show_usage) std::fputs(ping::ping_usage(), stderr), std::fputs(apps::stack_options_usage(), stderr);
        return parsed.exit_code;
    }
    const PingOptions& o = *parsed.options;
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::signal(SIGINT, on_signal);
    std::signal(SIGALRM, on_signal);

    Stack stack(o.stack.config);
    if (auto err = o.stack.configure(stack)) die(2, *err);
    int rc;
    {
        Pinger pinger(stack, o);
        rc = pinger.run();
    }
    if (o.stat) print_stat(stack);
    return rc;
}
