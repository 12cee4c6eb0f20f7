// vlo-ping: iputils ping through vlo's model of the Linux loopback path. Its own in-process
// stack answers; the output and exit status are ping's.
#include <arpa/inet.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <bitset>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "apps/common/stat_report.hpp"
#include "apps/common/trace_output.hpp"
#include "apps/ping/ping_options.hpp"
#include "apps/ping/ping_report.hpp"
#include "apps/ping/ping_schedule.hpp"
#include "netif/trace_log.hpp"
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
    return static_cast<long>((now / kNsPerSec - tv[0]) * 1'000'000 +
                             ((now % kNsPerSec) / 1000 - tv[1]));
}

class Pinger {
  public:
    Pinger(Stack& stack, const PingOptions& o) : stack_(stack), o_(o), sock_(stack) {}
    const std::vector<Trace>& traces() const { return traces_; }  // --trace's, for --trace-json

    // main_loop: send what the schedule admits, then wait for replies until the next request
    // is due; stop on -c replies, -w, the linger after the last request, or ^C.
    int run() {
        setup();
        start_ = clock().now_ns();
        if (o_.deadline_s) exit_at_ = start_ + o_.deadline_s * kNsPerSec;  // setitimer(deadline)
        std::vector<std::uint8_t> rx(static_cast<std::size_t>(o_.datalen));
        for (;;) {
            if (g_exiting || clock().now_ns() >= exit_at_) break;
            if (o_.count && stats_.nreceived + stats_.nerrors >= o_.count) break;
            if (o_.deadline_s && stats_.nerrors) break;
            long next;
            do {
                next = pinger();
                next = schedule_exit(next);
            } while (next <= 0);
            // recvmsg with SO_RCVTIMEO = SCHINT(interval), or poll for `next` when it is sooner;
            // a wait shorter than a scheduler tick (10 ms) becomes 10 ms if a reply is due, else
            // a spin (a non-blocking look and sched_yield).
            long wait_ms = std::min(next, ping::schint(o_.interval_ms));
            if (next < ping::schint(o_.interval_ms) && next <= ping::kMinIntervalMs) {
                wait_ms = in_flight() ? ping::kMinIntervalMs : 0;
                if (!wait_ms) sched_yield();
            }
            const Nanos now = clock().now_ns();
            receive(std::min({now + wait_ms * kNsPerMs, exit_at_, now + 100 * kNsPerMs}),
                    rx);  // 100 ms: ^C
        }
        std::fputs(ping::statistics(o_.destination, stats_,
                                    (schedule_.last_admitted() - start_) / kNsPerUs,
                                    o_.interval_ms == 0 || o_.flood)
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
        if (o_.stack.trace > 0) sock_.set_trace(true);  // --trace[=N]: the first N requests
        if (o_.ttl == 0) die(2, "cannot set unicast time-to-live: Invalid argument");
        if (o_.ttl > 0) sock_.set_ttl(o_.ttl);
        // As iputils does with its probe socket: ask the route which source and destination a
        // datagram would get (0.0.0.0 becomes 127.0.0.1).
        Route rt;
        if (auto ec = stack_.ip().route_output(*dst, source, device_, rt))
            die(2, "connect: " + ec.message());
        if (rt.type == RouteType::broadcast && !o_.broadcast)
            die(2,
                "Do you want to ping broadcast? Then -b. If not, check your local firewall rules");
        whereto_ = rt.dst;
        std::printf("PING %s (%s) ", o_.destination.c_str(), whereto_.to_string().c_str());
        if (!o_.interface.empty())
            std::printf("from %s %s: ", rt.src.to_string().c_str(),
                        device_ ? o_.interface.c_str() : "");
        std::printf("%ld(%ld) bytes of data.\n", o_.datalen, o_.datalen + 8 + 20);
        stats_.timing = o_.datalen >= static_cast<long>(kTimevalLen);
        winsize w{};
        if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 0)
            screen_width_ = w.ws_col;
        // iputils' fill: data byte i is i; the first 16 carry the send time.
        payload_.resize(static_cast<std::size_t>(o_.datalen));
        for (std::size_t i = 0; i < payload_.size(); ++i)
            payload_[i] = static_cast<std::uint8_t>(i);
    }

    // pinger: one request if the schedule admits it; the ms until the next is due.
    long pinger() {
        if (g_exiting || (o_.count && stats_.ntransmitted >= o_.count && !o_.deadline_s))
            return 1000;
        if (const long wait = schedule_.admit(clock().now_ns(), in_flight())) return wait;
        const auto seq = static_cast<std::uint16_t>(stats_.ntransmitted + 1);
        rcvd_.reset(seq);
        if (stats_.timing) stamp_send_time(payload_.data(), clock().now_ns());
        std::error_code ec;
        if (o_.datalen > kMaxDatalen)
            ec = std::make_error_code(std::errc::message_size);
        else
            ec = sock_.send_echo(whereto_, seq, payload_);
        advance_ntransmitted();
        if (o_.stack.trace > 0 && stats_.ntransmitted >= o_.stack.trace) sock_.set_trace(false);
        if (!ec) {
            // The dots stop once more are in flight than the screen is wide.
            if (o_.flood && !o_.quiet &&
                ((o_.preload < screen_width_ && stats_.pipesize < screen_width_) ||
                 in_flight() < screen_width_))
                write_out(".");
            return schedule_.after_send();
        }
        // A hard local error: counted as sent, reported, and the bucket emptied.
        ++stats_.nerrors;
        if (!o_.quiet) {
            if (o_.flood)
                write_out("E");
            else if (ec == std::errc::message_size)
                std::fprintf(stderr, "vlo-ping: local error: message too long, mtu=65535\n");
            else
                std::fprintf(stderr, "vlo-ping: sendmsg: %s\n", ec.message().c_str());
        }
        schedule_.reset_tokens();
        return ping::schint(o_.interval_ms);
    }

    // __schedule_exit: once the last request went, linger 2 x the slowest reply (at least an
    // interval), or -W if nothing came back, then stop (ping's one-shot SIGALRM).
    long schedule_exit(long next) {
        if (!o_.count || stats_.ntransmitted < o_.count || o_.deadline_s) return next;
        if (!linger_us_) {
            linger_us_ = stats_.nreceived ? std::max(2 * stats_.tmax, 1000 * o_.interval_ms)
                                          : o_.linger_ms * 1000;
            exit_at_ = std::min(exit_at_, clock().now_ns() + linger_us_ * kNsPerUs);
        }
        if (next < 0 || next < linger_us_ / 1000) next = linger_us_ / 1000;
        return next;
    }

    // ping.h's in_flight: requests after the highest acknowledged one.
    long in_flight() const {
        const auto diff =
            static_cast<std::uint16_t>(static_cast<std::uint16_t>(stats_.ntransmitted) - acked_);
        return diff <= 0x7fff ? diff : stats_.ntransmitted - stats_.nreceived - stats_.nerrors;
    }
    void advance_ntransmitted() {
        ++stats_.ntransmitted;
        // The 16-bit sequence wrapped past the acknowledged one: forget it.
        if (static_cast<std::uint16_t>(static_cast<std::uint16_t>(stats_.ntransmitted) - acked_) >
            0x7fff)
            acked_ = static_cast<std::uint16_t>(stats_.ntransmitted + 1);
    }
    // acknowledge: the largest distance from the newest request to a reply is the pipe size.
    void acknowledge(std::uint16_t seq) {
        const auto diff =
            static_cast<std::uint16_t>(static_cast<std::uint16_t>(stats_.ntransmitted) - seq);
        if (diff > 0x7fff) return;
        stats_.pipesize = std::max(stats_.pipesize, diff + 1);
        if (static_cast<std::int16_t>(seq - acked_) > 0 ||
            static_cast<std::uint16_t>(static_cast<std::uint16_t>(stats_.ntransmitted) - acked_) >
                0x7fff)
            acked_ = seq;
    }

    // Flood output goes out unbuffered, as ping's write_stdout.
    static void write_out(const char* text) {
        std::fputs(text, stdout);
        std::fflush(stdout);
    }

    // The replies that come by `until`; after the first, only those already queued (ping's
    // recvmsg turns MSG_DONTWAIT), and none once nothing is in flight.
    void receive(Nanos until, std::vector<std::uint8_t>& rx) {
        EchoReply reply;
        for (bool first = true;; first = false) {
            if (sock_.recv_echo(reply, rx, first ? until : 0)) return;
            handle_reply(reply, rx);
            if (in_flight() == 0) return;
        }
    }

    // gather_statistics for one reply.
    void handle_reply(const EchoReply& reply, const std::vector<std::uint8_t>& rx) {
        const long triptime =
            stats_.timing ? std::max(0L, us_since_stamp(rx.data(), reply.tstamp)) : 0;
        acknowledge(reply.seq);
        const bool dup = rcvd_.test(reply.seq);
        if (dup) {
            ++stats_.nrepeats;
        } else {
            rcvd_.set(reply.seq);
            stats_.add_reply(triptime);
        }
        if (o_.quiet) return;
        if (o_.flood) return write_out("\b \b");
        std::string line = ping::reply_line(reply.icmp_len, reply.from.to_string(), reply.seq,
                                            reply.ttl, stats_.timing, triptime);
        if (dup) line += " (DUP!)";
        for (std::size_t i = kTimevalLen; i < reply.data_len; ++i)
            if (rx[i] != payload_[i]) {
                char buf[96];
                std::snprintf(buf, sizeof buf, "\nwrong data byte #%zu should be 0x%x but was 0x%x",
                              i, payload_[i], rx[i]);
                line += buf;
                break;
            }
        std::puts(line.c_str());
        print_traces(reply.seq);
    }

    // --trace: the request's path and the reply's, one stage a line with the time it took.
    void print_traces(std::uint16_t seq) {
        if (o_.stack.trace == 0) return;
        std::vector<Trace> t = TraceLog::instance().take(sock_.trace_id(seq));
        std::sort(t.begin(), t.end(), [](const Trace& a, const Trace& b) { return a.generation < b.generation; });
        for (const Trace& one : t) {
            if (o_.stack.trace_json.empty() || !o_.quiet)
                std::printf("  %s:\n%s", one.generation == 0 ? "request" : "reply", apps::trace_text(one).c_str());
            traces_.push_back(one);
        }
    }


    Stack& stack_;
    const PingOptions& o_;
    PingSocket sock_;
    Device* device_ = nullptr;
    Ipv4Address whereto_;
    std::vector<std::uint8_t> payload_;
    ping::PingStats stats_;
    std::bitset<65536> rcvd_;
    ping::PingSchedule schedule_{o_.interval_ms, o_.preload};
    std::uint16_t acked_ = 0;
    long linger_us_ = 0;
    Nanos start_ = 0;
    Nanos exit_at_ = INT64_MAX;
    long screen_width_ = INT_MAX;  // the terminal's columns, when stdout is one
    std::vector<Trace> traces_;    // every printed trace, for --trace-json
};

}  // namespace

int main(int argc, char** argv) {
    argv[0] = const_cast<char*>("vlo-ping");  // getopt's messages say "vlo-ping:"
    auto parsed = ping::parse_ping_options(argc, argv);
    if (!parsed.options) {
        if (!parsed.message.empty()) std::fprintf(stderr, "vlo-ping: %s\n", parsed.message.c_str());
        if (parsed.show_usage)
            std::fputs(ping::ping_usage(), stderr), std::fputs(apps::stack_options_usage(), stderr);
        return parsed.exit_code;
    }
    const PingOptions& o = *parsed.options;
    std::setvbuf(stdout, nullptr, o.flood ? _IONBF : _IOLBF, 0);  // -f: setbuf(stdout, NULL)
    std::signal(SIGINT, on_signal);
    std::signal(SIGALRM, on_signal);

    Stack stack(o.stack.config);
    if (auto err = o.stack.configure(stack)) die(2, *err);
    int rc;
    {
        Pinger pinger(stack, o);
        rc = pinger.run();
        if (!o.stack.trace_json.empty() && !apps::write_trace_json(o.stack.trace_json, pinger.traces()))
            die(2, o.stack.trace_json + ": " + std::strerror(errno));
    }
    if (std::string capture = o.stack.finish(stack); !capture.empty()) std::fputs(capture.c_str(), stderr);
    if (o.stat) std::fputs(apps::stat_report(stack).c_str(), stdout);
    return rc;
}
