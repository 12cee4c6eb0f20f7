// The baseline: the same workloads over the kernel's own lo, with kernel sockets on 127.0.0.1,
// in this process. Every blocking call carries SO_RCVTIMEO/SO_SNDTIMEO so no loop can hang.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "stack/wire/checksum.hpp"
#include "tools/lab/timed.hpp"
#include "tools/lab/workloads.hpp"

namespace vlo::lab {

namespace {

constexpr int kOpTimeoutMs = 1000;
constexpr int kPollSliceMs = 20;
constexpr std::size_t kBulkWrite = 64 * 1024;

class Fd {
  public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(Fd&& o) noexcept : fd_(o.release()) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = o.release();
        }
        return *this;
    }
    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

  private:
    int fd_;
};

void set_timeouts(int fd, int rcv_ms, int snd_ms = kOpTimeoutMs) {
    const timeval rcv{rcv_ms / 1000, (rcv_ms % 1000) * 1000},
        snd{snd_ms / 1000, (snd_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof rcv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof snd);
}

void set_nodelay(int fd) {
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

sockaddr_in loopback(std::uint16_t port = 0) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    return a;
}

sockaddr* sa(sockaddr_in& a) { return reinterpret_cast<sockaddr*>(&a); }

// A socket of `type` bound to 127.0.0.1 on an ephemeral port (never the wildcard: nothing
// outside the host may reach the lab's servers); its address in `addr`.
Fd bound_socket(int type, sockaddr_in& addr) {
    Fd fd(socket(AF_INET, type, 0));
    if (!fd) return fd;
    addr = loopback();
    socklen_t len = sizeof addr;
    if (bind(fd.get(), sa(addr), sizeof addr) || getsockname(fd.get(), sa(addr), &len)) return Fd();
    return fd;
}

Fd tcp_connect(sockaddr_in to) {
    Fd fd(socket(AF_INET, SOCK_STREAM, 0));
    if (!fd) return fd;
    set_timeouts(fd.get(), kOpTimeoutMs);
    if (connect(fd.get(), sa(to), sizeof to)) return Fd();
    return fd;
}

bool recv_all(int fd, std::uint8_t* buf, std::size_t len) {
    std::size_t got = 0;
    while (got < len) {
        const ssize_t n = recv(fd, buf + got, len - got, 0);
        if (n <= 0) return false;
        got += static_cast<std::size_t>(n);
    }
    return true;
}

bool send_all(int fd, const std::uint8_t* buf, std::size_t len) {
    std::size_t sent = 0;
    while (sent < len) {
        const ssize_t n = send(fd, buf + sent, len - sent, MSG_NOSIGNAL);
        if (n <= 0) return false;
        sent += static_cast<std::size_t>(n);
    }
    return true;
}

// The timed part: /proc/net/softnet_stat and CPU time around the loop.
template <class Op>
void measure(CellResult& r, Op&& op) {
    if (!warm_up(r, warmup_seconds(r.spec.seconds), op)) {
        r.ok = false;
        r.error = std::string("warm-up failed: ") + std::strerror(errno);
        return;
    }
    const auto before = KernelSoftnet::read();
    UsageWindow usage;
    timed_loop(r, r.spec.seconds, op);
    usage.finish(r);
    if (const auto after = KernelSoftnet::read(); before && after) {
        r.drops = after->dropped - before->dropped;
        r.time_squeeze = after->time_squeeze - before->time_squeeze;
    }
}

void fail(CellResult& r, const char* what) {
    r.ok = false;
    r.error = std::string(what) + ": " + std::strerror(errno);
}

// ping 127.0.0.1 -f: a ping socket where net.ipv4.ping_group_range allows (the kernel fills in
// the identifier and hands back only our replies), else a raw socket (which also sees our own
// requests, looped back).
void icmp_echo(CellResult& r) {
    bool raw = false;
    Fd fd(socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP));
    if (!fd) {
        raw = true;
        fd = Fd(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
    }
    if (!fd) return fail(r, "no ping or raw ICMP socket");
    set_timeouts(fd.get(), kOpTimeoutMs);
    sockaddr_in to = loopback();
    std::uint8_t req[8 + 56], buf[2048];
    std::memset(req, 0x42, sizeof req);
    const auto id = static_cast<std::uint16_t>(getpid());
    std::uint16_t seq = 0;
    measure(r, [&] {
        ++seq;
        req[0] = ICMP_ECHO;
        req[1] = 0;
        req[2] = req[3] = 0;
        req[4] = static_cast<std::uint8_t>(id >> 8);
        req[5] = static_cast<std::uint8_t>(id);
        req[6] = static_cast<std::uint8_t>(seq >> 8);
        req[7] = static_cast<std::uint8_t>(seq);
        const std::uint16_t sum = wire::checksum(req);
        req[2] = static_cast<std::uint8_t>(sum >> 8);
        req[3] = static_cast<std::uint8_t>(sum);
        if (sendto(fd.get(), req, sizeof req, 0, sa(to), sizeof to) < 0) return OpStatus::fatal;
        for (;;) {
            const ssize_t n = recv(fd.get(), buf, sizeof buf, 0);
            if (n < 0) return OpStatus::retry;
            const std::size_t at = raw ? static_cast<std::size_t>(buf[0] & 0x0f) * 4 : 0;
            if (n < static_cast<ssize_t>(at + 8) || buf[at] != ICMP_ECHOREPLY) continue;
            if (raw && (buf[at + 4] << 8 | buf[at + 5]) != id) continue;
            if ((buf[at + 6] << 8 | buf[at + 7]) == seq) return OpStatus::ok;
        }
    });
}

void udp_rr(CellResult& r) {
    sockaddr_in server_addr{}, client_addr{};
    Fd server = bound_socket(SOCK_DGRAM, server_addr),
       client = bound_socket(SOCK_DGRAM, client_addr);
    if (!server || !client || connect(client.get(), sa(server_addr), sizeof server_addr))
        return fail(r, "udp sockets");
    set_timeouts(server.get(), kPollSliceMs);
    set_timeouts(client.get(), kOpTimeoutMs);
    std::atomic<bool> stop{false};
    std::thread echo([&] {
        std::uint8_t buf[64];
        while (!stop.load(std::memory_order_relaxed)) {
            sockaddr_in from{};
            socklen_t len = sizeof from;
            const ssize_t n = recvfrom(server.get(), buf, sizeof buf, 0, sa(from), &len);
            if (n >= 0) sendto(server.get(), buf, static_cast<std::size_t>(n), 0, sa(from), len);
        }
    });
    const std::uint8_t req[1] = {'r'};
    std::uint8_t resp[64];
    measure(r, [&] {
        if (send(client.get(), req, sizeof req, 0) < 0) return OpStatus::fatal;
        return recv(client.get(), resp, sizeof resp, 0) < 0 ? OpStatus::retry : OpStatus::ok;
    });
    stop = true;
    echo.join();
}

// A listener on 127.0.0.1 with an ephemeral port; accept() gives up after the poll slice.
Fd tcp_listener(sockaddr_in& addr) {
    Fd fd = bound_socket(SOCK_STREAM, addr);
    if (!fd || listen(fd.get(), 128)) return Fd();
    set_timeouts(fd.get(), kPollSliceMs);
    return fd;
}

void tcp_rr(CellResult& r, std::size_t size) {
    sockaddr_in addr{};
    Fd listener = tcp_listener(addr);
    if (!listener) return fail(r, "listen");
    Fd client = tcp_connect(addr);
    Fd conn(accept(listener.get(), nullptr, nullptr));
    if (!client || !conn) return fail(r, "connect");
    set_nodelay(client.get());
    set_nodelay(conn.get());
    set_timeouts(conn.get(), kPollSliceMs);
    std::thread echo([&] {
        std::vector<std::uint8_t> buf(size);
        for (;;) {  // until the client closes
            std::size_t got = 0;
            while (got < size) {
                const ssize_t n = recv(conn.get(), buf.data() + got, size - got, 0);
                if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                if (n <= 0) return;
                got += static_cast<std::size_t>(n);
            }
            if (!send_all(conn.get(), buf.data(), size)) return;
        }
    });
    std::vector<std::uint8_t> req(size, 'r'), resp(size);
    measure(r, [&] {
        if (!send_all(client.get(), req.data(), size)) return OpStatus::fatal;
        return recv_all(client.get(), resp.data(), size) ? OpStatus::ok : OpStatus::fatal;
    });
    client.reset();
    echo.join();
}

void tcp_crr(CellResult& r) {
    sockaddr_in addr{};
    Fd listener = tcp_listener(addr);
    if (!listener) return fail(r, "listen");
    std::atomic<bool> stop{false};
    std::thread server([&] {
        std::uint8_t buf[1];
        while (!stop.load(std::memory_order_relaxed)) {
            Fd conn(accept(listener.get(), nullptr, nullptr));
            if (!conn) continue;
            set_timeouts(conn.get(), kOpTimeoutMs);
            if (!recv_all(conn.get(), buf, 1)) continue;
            send_all(conn.get(), buf, 1);
            recv(conn.get(), buf, 1, 0);  // the client's FIN
        }
    });
    const std::uint8_t req[1] = {'c'};
    std::uint8_t resp[1];
    measure(r, [&] {
        Fd s = tcp_connect(addr);
        if (!s) return OpStatus::retry;
        if (!send_all(s.get(), req, 1)) return OpStatus::retry;
        return recv_all(s.get(), resp, 1) ? OpStatus::ok : OpStatus::retry;
    });
    stop = true;
    server.join();
}

void tcp_bulk(CellResult& r, unsigned streams) {
    sockaddr_in addr{};
    Fd listener = tcp_listener(addr);
    if (!listener) return fail(r, "listen");
    std::vector<Fd> clients, conns;
    for (unsigned i = 0; i < streams; ++i) {
        clients.push_back(tcp_connect(addr));
        conns.emplace_back(accept(listener.get(), nullptr, nullptr));
        if (!clients.back() || !conns.back()) return fail(r, "connect");
        set_timeouts(conns.back().get(), kPollSliceMs);
    }
    enum Phase : int { warming, measuring, stopping };
    std::atomic<int> phase{warming};
    std::atomic<bool> clients_closed{false}, failed{false};
    std::vector<LatencyHistogram> hist(streams);
    std::vector<std::uint64_t> ops(streams, 0);
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < streams; ++i) {
        threads.emplace_back([&, i] {  // reader
            std::vector<std::uint8_t> buf(kBulkWrite);
            for (;;) {
                const ssize_t n = recv(conns[i].get(), buf.data(), buf.size(), 0);
                if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                    if (clients_closed.load()) return;
                    continue;
                }
                if (n <= 0) return;
            }
        });
        threads.emplace_back([&, i] {  // writer
            std::vector<std::uint8_t> buf(kBulkWrite, 'b');
            std::int64_t t = mono_ns();
            std::uint64_t n = 0;
            for (int p;
                 (p = phase.load(std::memory_order_relaxed)) != stopping && n < kMaxOpsPerCell;) {
                if (!send_all(clients[i].get(), buf.data(), buf.size())) {
                    failed = true;
                    break;
                }
                const std::int64_t t2 = mono_ns();
                if (p == measuring) {
                    hist[i].record(t2 - t);
                    ++n;
                }
                t = t2;
            }
            ops[i] = n;
        });
    }
    auto sleep_s = [](double s) {
        std::this_thread::sleep_for(std::chrono::nanoseconds(static_cast<std::int64_t>(s * 1e9)));
    };
    sleep_s(warmup_seconds(r.spec.seconds));
    const auto before = KernelSoftnet::read();
    UsageWindow usage;
    const std::int64_t t0 = mono_ns();
    phase = measuring;
    sleep_s(r.spec.seconds);
    phase = stopping;
    const std::int64_t t1 = mono_ns();
    usage.finish(r);
    if (const auto after = KernelSoftnet::read(); before && after) {
        r.drops = after->dropped - before->dropped;
        r.time_squeeze = after->time_squeeze - before->time_squeeze;
    }
    for (unsigned i = 0; i < streams; ++i) threads[2 * i + 1].join();
    for (auto& c : clients) shutdown(c.get(), SHUT_WR);  // readers see the end of the stream
    clients_closed = true;
    for (unsigned i = 0; i < streams; ++i) threads[2 * i].join();
    for (unsigned i = 0; i < streams; ++i) {
        r.latency.merge(hist[i]);
        r.ops += ops[i];
    }
    r.seconds = static_cast<double>(t1 - t0) / 1e9;
    r.bytes = r.ops * kBulkWrite;
    if (failed) {
        r.ok = false;
        r.error = "send failed";
    }
}

}  // namespace

CellResult run_kernel_cell(const CellSpec& spec) {
    CellResult r;
    r.spec = spec;
    switch (spec.workload) {
        case Workload::icmp_echo:
            icmp_echo(r);
            break;
        case Workload::udp_rr_1B:
            udp_rr(r);
            break;
        case Workload::tcp_rr_1B:
            tcp_rr(r, 1);
            break;
        case Workload::tcp_rr_64B:
            tcp_rr(r, 64);
            break;
        case Workload::tcp_crr:
            tcp_crr(r);
            break;
        case Workload::tcp_bulk_1:
            tcp_bulk(r, 1);
            break;
        case Workload::tcp_bulk_4:
            tcp_bulk(r, 4);
            break;
        case Workload::tcp_bulk_lossy:
            r.ok = false;
            r.error = kernel_not_applicable(spec.workload);
            break;
        case Workload::overload:
        case Workload::listeners:
            r.ok = false;
            r.error = "vlo only";
            break;
    }
    return r;
}

}  // namespace vlo::lab
