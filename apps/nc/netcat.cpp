// The shape follows netcat.c of netcat-openbsd 1.219 (Debian): remote_connect, local_listen,
// udptest, report_sock and readwrite, with its messages. readwrite's poll loop becomes two
// threads: this one copies the network to stdout and decides when the session ends, a second
// copies stdin to the network.
#include "apps/nc/netcat.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "stack/tcp_socket.hpp"
#include "stack/udp_socket.hpp"

namespace vlo::nc {

namespace {

constexpr Nanos kSlice = 100 * kNsPerMs;  // the longest any wait lasts before a look around
constexpr std::size_t kBufSize = 16384;   // netcat's BUFSIZE: one stdin read, one UDP read
constexpr int kUdpScanTimeout = 3;        // UDP_SCAN_TIMEOUT, seconds

// warnx(3) and warn(3) with netcat's name replaced by ours; they return 1, netcat's err(1, ...).
int warnx(FILE* f, const std::string& msg) {
    std::fprintf(f, "vlo-nc: %s\n", msg.c_str());
    return 1;
}
int warn(FILE* f, const std::string& msg, const std::error_code& ec) {
    std::fprintf(f, "vlo-nc: %s: %s\n", msg.c_str(), ec.message().c_str());
    return 1;
}

struct HostsEntry {
    Ipv4Address addr;
    std::vector<std::string> names;
};

std::vector<HostsEntry> read_hosts() {
    std::vector<HostsEntry> out;
    std::ifstream f("/etc/hosts");
    std::string line;
    while (std::getline(f, line)) {
        line = line.substr(0, line.find('#'));
        std::istringstream words(line);
        std::string a;
        if (!(words >> a)) continue;
        auto addr = Ipv4Address::parse(a);
        if (!addr) continue;  // IPv6 lines
        HostsEntry e{*addr, {}};
        for (std::string n; words >> n;) e.names.push_back(n);
        if (!e.names.empty()) out.push_back(std::move(e));
    }
    return out;
}

// strtoport: a whole number 1..65535, else netcat's message.
std::optional<int> strtoport(const std::string& s, std::string& error) {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    const char* why = nullptr;
    if (end == s.c_str() || *end != '\0')
        why = "invalid";
    else if (v < 1)
        why = "too small";
    else if (v > 65535 || errno == ERANGE)
        why = "too large";
    if (why) {
        error = std::string("port number ") + why + ": " + s;
        return std::nullopt;
    }
    return static_cast<int>(v);
}

// build_ports: each argument a service name, a number or a range lo-hi.
std::optional<std::vector<int>> build_ports(const std::vector<std::string>& args, bool udp,
                                            std::string& error) {
    std::vector<int> ports;
    for (const std::string& p : args) {
        if (const servent* sv = getservbyname(p.c_str(), udp ? "udp" : "tcp")) {
            ports.push_back(ntohs(static_cast<std::uint16_t>(sv->s_port)));
            continue;
        }
        const std::size_t dash = p.find('-');
        if (!p.empty() && std::isdigit(static_cast<unsigned char>(p[0])) &&
            dash != std::string::npos) {
            auto hi = strtoport(p.substr(dash + 1), error);
            if (!hi) return std::nullopt;
            auto lo = strtoport(p.substr(0, dash), error);
            if (!lo) return std::nullopt;
            if (*lo > *hi) std::swap(*lo, *hi);
            for (int port = *lo; port <= *hi; ++port) ports.push_back(port);
            continue;
        }
        auto port = strtoport(p, error);
        if (!port) return std::nullopt;
        ports.push_back(*port);
    }
    return ports;
}

// A service as getaddrinfo takes it for a local socket (-p, the -l port): a number (glibc keeps
// its low 16 bits) or a name from /etc/services.
std::optional<std::uint16_t> service_port(const std::string& s, bool udp) {
    if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos)
        return static_cast<std::uint16_t>(std::strtoul(s.c_str(), nullptr, 10));
    if (const servent* sv = getservbyname(s.c_str(), udp ? "udp" : "tcp"))
        return ntohs(static_cast<std::uint16_t>(sv->s_port));
    return std::nullopt;
}

// The network end of a session, TCP or UDP, as readwrite uses it.
class NetEnd {
  public:
    virtual ~NetEnd() = default;
    // Writes all of data (TCP) or one datagram (UDP); gives up when `quit` is set.
    virtual std::error_code send(std::span<const std::uint8_t> data,
                                 const std::atomic<bool>& quit) = 0;
    // Up to out.size() bytes within `wait`: EAGAIN if none came; n = 0 at the end of stream.
    virtual std::error_code recv(std::span<std::uint8_t> out, std::size_t& n, Nanos wait) = 0;
    virtual void shutdown(Shutdown how) = 0;
    virtual std::size_t read_size() const = 0;
};

class TcpEnd final : public NetEnd {
  public:
    explicit TcpEnd(TcpSocket& s) : s_(s) {}
    std::error_code send(std::span<const std::uint8_t> data,
                         const std::atomic<bool>& quit) override {
        while (!data.empty()) {
            std::size_t sent = 0;
            const std::error_code ec = s_.send(data, sent, kSlice);
            data = data.subspan(sent);
            if (ec == std::errc::resource_unavailable_try_again && !quit) continue;
            if (ec) return ec;
        }
        return {};
    }
    std::error_code recv(std::span<std::uint8_t> out, std::size_t& n, Nanos wait) override {
        return s_.recv(out, n, wait);
    }
    void shutdown(Shutdown how) override { s_.shutdown(how); }
    std::size_t read_size() const override { return 64 * 1024; }  // fewer calls; same bytes

  private:
    TcpSocket& s_;
};

class UdpEnd final : public NetEnd {
  public:
    UdpEnd(UdpSocket& s, const Clock& clock) : s_(s), clock_(clock) {}
    std::error_code send(std::span<const std::uint8_t> data, const std::atomic<bool>&) override {
        return s_.send(data);
    }
    std::error_code recv(std::span<std::uint8_t> out, std::size_t& n, Nanos wait) override {
        return s_.recv(out, n, clock_.now_ns() + wait);
    }
    void shutdown(Shutdown) override {}  // shutdown(2) on UDP changes nothing netcat relies on
    std::size_t read_size() const override { return kBufSize; }

  private:
    UdpSocket& s_;
    const Clock& clock_;
};

bool write_all(int fd, const std::uint8_t* p, std::size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

class Netcat {
  public:
    Netcat(Stack& stack, const NcOptions& o, const NcIo& io) : stack_(stack), o_(o), io_(io) {}

    int run() {
        if (o_.listen) return o_.udp ? listen_udp() : listen_tcp();
        return connect_all();
    }

  private:
    Nanos now() const { return stack_.clock().now_ns(); }
    const char* proto() const { return o_.udp ? "udp" : "tcp"; }

    // readwrite(): copies stdin to the network and the network to stdout until netcat would stop:
    // both inputs gone; both outputs gone; with -l, the network input gone; an error on the
    // socket (poll's POLLERR ends every use of it); or -w seconds without any event.
    void readwrite(NetEnd& net) {
        std::atomic<bool> quit{false};
        std::atomic<Nanos> last_event{now()};
        std::mutex mu;
        std::condition_variable cv;
        bool stdin_done = o_.detach;  // guarded by mu
        bool netout_dead = false;     // guarded by mu
        auto finish_stdin = [&](bool net_failed) {
            std::lock_guard lock(mu);
            stdin_done = true;
            netout_dead = net_failed;
            cv.notify_all();
        };
        if (o_.detach && o_.shutdown_eof) net.shutdown(Shutdown::write);

        std::thread from_stdin;
        if (!o_.detach) {
            from_stdin = std::thread([&] {
                std::vector<std::uint8_t> buf(kBufSize);
                bool failed = false;
                while (!quit) {
                    pollfd p{io_.in, POLLIN, 0};
                    const int r = ::poll(&p, 1, static_cast<int>(kSlice / kNsPerMs));
                    if (r < 0 && errno == EINTR) continue;
                    if (r < 0) break;
                    if (r == 0) continue;
                    const ssize_t n = ::read(io_.in, buf.data(), buf.size());
                    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
                    if (n <= 0) break;  // EOF (or an error: netcat drops stdin alike)
                    last_event = now();
                    if (net.send({buf.data(), static_cast<std::size_t>(n)}, quit)) {
                        failed = !quit;
                        break;
                    }
                    last_event = now();
                }
                // "stdin gone and queue empty": with -N, shutdown(SHUT_WR).
                if (!failed && !quit && o_.shutdown_eof) net.shutdown(Shutdown::write);
                finish_stdin(failed);
            });
        }

        std::vector<std::uint8_t> buf(net.read_size());
        bool netin_done = false;
        for (;;) {
            {
                std::unique_lock lock(mu);
                if (netin_done && stdin_done) break;   // both inputs gone
                if (netin_done && o_.listen) break;    // listen and net in gone
                if (netout_dead && netin_done) break;  // both outputs gone (stdout follows net in)
            }
            Nanos wait = kSlice;
            if (o_.timeout_ms >= 0) {
                const Nanos left = last_event.load() + o_.timeout_ms * kNsPerMs - now();
                if (left <= 0) break;  // poll() timed out
                wait = std::min(wait, left);
            }
            if (netin_done) {
                std::unique_lock lock(mu);
                cv.wait_for(lock, std::chrono::nanoseconds(wait), [&] { return stdin_done; });
                continue;
            }
            std::size_t n = 0;
            const std::error_code ec = net.recv(buf, n, wait);
            if (ec == std::errc::resource_unavailable_try_again) continue;
            if (ec) break;  // POLLERR: netcat stops using the socket in both directions
            last_event = now();
            if (n == 0) {  // EOF on net in (for UDP an empty datagram reads as one, too)
                net.shutdown(Shutdown::read);
                netin_done = true;
                continue;
            }
            if (!write_all(io_.out, buf.data(), n)) {
                // No stdout: stop watching net in.
                net.shutdown(Shutdown::read);
                netin_done = true;
            }
        }
        quit = true;
        if (from_stdin.joinable()) from_stdin.join();
    }

    // udptest(): a few writes to see whether the port answers with ICMP port unreachable.
    bool udptest(UdpSocket& s) {
        const std::uint8_t x[1] = {'X'};
        if (s.send(x) || s.send(x) == std::errc::connection_refused) return false;
        const int t = o_.timeout_ms == -1 ? kUdpScanTimeout : o_.timeout_ms / 1000;
        for (int i = 0; i < t; ++i) {
            // "Give the remote host some time to reply."
            std::this_thread::sleep_for(std::chrono::seconds(1));
            if (s.send(x) == std::errc::connection_refused) return false;
        }
        return true;
    }

    // Binds a client socket as -s and -p ask (getaddrinfo(sflag, pflag, AI_PASSIVE) and bind):
    // false after netcat's message.
    template <class Bind>
    bool bind_source(Bind bind) {
        if (o_.source_addr.empty() && o_.source_port.empty()) return true;
        Ipv4Address addr = kInaddrAny;
        std::uint16_t port = 0;
        if (!o_.source_addr.empty()) {
            auto a = resolve_host(o_.source_addr, o_.numeric);
            if (!a) {
                warnx(io_.err, "getaddrinfo: Name or service not known");
                return false;
            }
            addr = *a;
        }
        if (!o_.source_port.empty()) {
            auto p = service_port(o_.source_port, o_.udp);
            if (!p) {
                warnx(io_.err, "getaddrinfo: Servname not supported for ai_socktype");
                return false;
            }
            port = *p;
        }
        if (std::error_code ec = bind(addr, port)) {
            warn(io_.err, "bind failed", ec);
            return false;
        }
        return true;
    }

    void report_connect_failure(const std::string& ipaddr, int port, const std::error_code& ec) {
        if (!o_.verbose) return;
        // "only print IP if there is something to report"
        std::string where = o_.host;
        if (!o_.numeric && o_.host != ipaddr) where += " (" + ipaddr + ")";
        warn(io_.err,
             "connect to " + where + " port " + std::to_string(port) + " (" + proto() + ") failed",
             ec);
    }

    void report_success(const std::string& ipaddr, int port) {
        const servent* sv =
            o_.numeric ? nullptr : getservbyport(htons(static_cast<std::uint16_t>(port)), proto());
        std::string line = "Connection to " + o_.host;
        if (!o_.numeric && o_.host != ipaddr) line += " (" + ipaddr + ")";
        line += " " + std::to_string(port) + " port [" + proto() + "/" + (sv ? sv->s_name : "*") +
                "] succeeded!";
        std::fprintf(io_.err, "%s\n", line.c_str());
    }

    // The client: each port in turn (remote_connect), then -v's report and readwrite (or, with
    // -z, nothing). 0 if any port connected.
    int connect_all() {
        std::string error;
        auto ports = build_ports(o_.ports, o_.udp, error);
        if (!ports) return warnx(io_.err, error);
        const auto dst = resolve_host(o_.host, o_.numeric);
        if (!dst) {
            return warnx(io_.err, "getaddrinfo for host \"" + o_.host + "\" port " +
                                      std::to_string(ports->front()) +
                                      ": Name or service not known");
        }
        const std::string ipaddr = dst->to_string();
        const std::optional<Nanos> timeout =
            o_.timeout_ms >= 0 ? std::optional<Nanos>(Nanos{o_.timeout_ms} * kNsPerMs)
                               : std::nullopt;
        int ret = 1;
        for (const int port : *ports) {
            const auto rport = static_cast<std::uint16_t>(port);
            if (o_.udp) {
                UdpSocket s(stack_);
                if (!bind_source([&](Ipv4Address a, std::uint16_t p) { return s.bind(a, p); }))
                    return 1;
                if (std::error_code ec = s.connect(*dst, rport)) {
                    report_connect_failure(ipaddr, port, ec);
                    continue;
                }
                ret = 0;
                if (o_.verbose) {
                    if (!udptest(s)) {  // for UDP, make sure we are connected
                        ret = 1;
                        continue;
                    }
                    report_success(ipaddr, port);
                }
                if (!o_.zero_io) {
                    UdpEnd end(s, stack_.clock());
                    readwrite(end);
                }
            } else {
                TcpSocket s(stack_);
                if (!bind_source([&](Ipv4Address a, std::uint16_t p) { return s.bind({a, p}); }))
                    return 1;
                if (std::error_code ec = s.connect({*dst, rport}, timeout)) {
                    report_connect_failure(ipaddr, port, ec);
                    continue;
                }
                ret = 0;
                if (o_.verbose) report_success(ipaddr, port);
                if (!o_.zero_io) {
                    TcpEnd end(s);
                    readwrite(end);
                }
                if (io_.session_end) io_.session_end();
                s.close();
            }
        }
        return ret;
    }

    // local_listen's address and port: false after netcat's message.
    bool listen_address(Ipv4Address& addr, std::uint16_t& port) {
        addr = kInaddrAny;
        if (!o_.host.empty()) {
            auto a = resolve_host(o_.host, o_.numeric);
            if (!a) {
                warnx(io_.err, "getaddrinfo: Name or service not known");
                return false;
            }
            addr = *a;
        }
        auto p = service_port(o_.ports.front(), o_.udp);
        if (!p) {
            warnx(io_.err, "getaddrinfo: Servname not supported for ai_socktype");
            return false;
        }
        port = *p;
        return true;
    }

    void report_sock(const char* msg, Ipv4Address addr, std::uint16_t port) {
        std::fprintf(io_.err, "%s on %s %u\n", msg, host_name(addr, o_.numeric).c_str(),
                     unsigned{port});
    }

    // nc -l: one connection, then readwrite until the peer closes.
    int listen_tcp() {
        Ipv4Address addr;
        std::uint16_t port = 0;
        if (!listen_address(addr, port)) return 1;
        TcpSocket l(stack_);
        l.set_reuseaddr(true);  // local_listen sets SO_REUSEADDR
        if (std::error_code ec = l.bind({addr, port}))
            return warnx(io_.err, ec.message());  // err(1, NULL)
        if (std::error_code ec = l.listen(1)) return warn(io_.err, "listen", ec);
        if (o_.verbose) report_sock("Listening", l.local_address().addr, l.local_address().port);
        std::unique_ptr<TcpSocket> conn;
        while (!conn) {
            std::error_code ec;
            conn = l.accept(ec, kSlice);
            if (!conn && ec != std::errc::resource_unavailable_try_again)
                return warn(io_.err, "accept", ec);
        }
        if (o_.verbose)
            report_sock("Connection received", conn->peer_address().addr,
                        conn->peer_address().port);
        TcpEnd end(*conn);
        readwrite(end);
        if (io_.session_end) io_.session_end();
        conn->close();
        l.close();
        return 0;
    }

    // nc -u -l: wait for the first datagram, connect to its sender (only it is heard from then
    // on), print it, then readwrite.
    int listen_udp() {
        Ipv4Address addr;
        std::uint16_t port = 0;
        if (!listen_address(addr, port)) return 1;
        UdpSocket s(stack_);
        s.set_reuseaddr(true);
        if (std::error_code ec = s.bind(addr, port)) return warnx(io_.err, ec.message());
        if (o_.verbose) report_sock("Bound", s.local_address(), s.local_port());
        std::vector<std::uint8_t> first(kBufSize);
        Ipv4Address from;
        std::uint16_t from_port = 0;
        std::size_t n = 0;
        for (;;) {
            const std::error_code ec = s.recvfrom(first, from, from_port, n, now() + kSlice);
            if (!ec) break;
            if (ec != std::errc::resource_unavailable_try_again)
                return warn(io_.err, "recvfrom", ec);
        }
        if (std::error_code ec = s.connect(from, from_port)) return warn(io_.err, "connect", ec);
        if (o_.verbose) report_sock("Connection received", from, from_port);
        write_all(io_.out, first.data(), n);
        UdpEnd end(s, stack_.clock());
        readwrite(end);
        return 0;
    }

    Stack& stack_;
    const NcOptions& o_;
    const NcIo& io_;
};

}  // namespace

std::string host_name(Ipv4Address addr, bool numeric) {
    if (!numeric)
        for (const HostsEntry& e : read_hosts())
            if (e.addr == addr) return e.names.front();
    return addr.to_string();
}

std::optional<Ipv4Address> resolve_host(const std::string& name, bool numeric) {
    in_addr a{};
    if (inet_aton(name.c_str(), &a)) return Ipv4Address{ntohl(a.s_addr)};
    if (numeric) return std::nullopt;  // AI_NUMERICHOST
    for (const HostsEntry& e : read_hosts())
        for (const std::string& n : e.names)
            if (n == name) return e.addr;
    if (name == "localhost") return kInaddrLoopback;
    return std::nullopt;
}

int run_nc(Stack& stack, const NcOptions& options, const NcIo& io) {
    Netcat nc(stack, options, io);
    return nc.run();
}

}  // namespace vlo::nc
