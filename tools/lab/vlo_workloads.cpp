// The request/response and stream workloads over a vlo stack, shaped as netperf runs them: one
// operation in flight, the application threads on the design's logical CPUs (client on CPU 0,
// server on CPU 1 when there are two), every blocking call bounded by a timeout.
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "apps/common/stack_options.hpp"
#include "netif/cpu.hpp"
#include "stack/stack.hpp"
#include "stack/tcp_socket.hpp"
#include "tools/lab/loss_counters.hpp"
#include "tools/lab/timed.hpp"
#include "tools/lab/vlo_counters.hpp"
#include "tools/lab/workloads.hpp"

namespace vlo::lab {

namespace {

constexpr Nanos kOpTimeout = kNsPerSec;      // a reply later than this is lost
constexpr Nanos kPollSlice = 20 * kNsPerMs;  // how often a server looks at its stop flag
constexpr std::uint16_t kServerPort = 5001;
constexpr std::size_t kBulkWrite = 64 * 1024;  // netperf's TCP_STREAM send size on lo

bool would_block(const std::error_code& ec) {
    return ec == std::errc::resource_unavailable_try_again;
}

unsigned client_cpu(const Design&, unsigned i = 0) { return i; }
unsigned server_cpu(const Design& d, unsigned i = 0) { return (i + 1) % d.cpus; }

// The timed part over a stack: counters and CPU time around the loop.
template <class Op>
void measure(CellResult& r, Stack& stack, Op&& op) {
    if (!warm_up(r, warmup_seconds(r.spec.seconds), op)) {
        r.ok = false;
        r.error = "warm-up failed";
        return;
    }
    const VloCounters before = VloCounters::read(stack);
    UsageWindow usage;
    timed_loop(r, r.spec.seconds, op);
    usage.finish(r);
    (VloCounters::read(stack) - before).store(r);
}

void icmp_echo(CellResult& r, Stack& stack) {
    PingSocket sock(stack);
    std::vector<std::uint8_t> payload(56, 0x42), got(56);  // ping's default 56 data bytes
    std::uint16_t seq = 0;
    EchoReply reply;
    measure(r, stack, [&] {
        if (sock.send_echo(kInaddrLoopback, ++seq, payload)) return OpStatus::fatal;
        const Nanos deadline = stack.clock().now_ns() + kOpTimeout;
        for (;;) {  // one in flight: a late reply to an earlier request is skipped
            if (sock.recv_echo(reply, got, deadline)) return OpStatus::retry;
            if (reply.seq == seq) return OpStatus::ok;
        }
    });
}

void udp_rr(CellResult& r, Stack& stack) {
    UdpSocket server(stack), client(stack);
    if (server.bind(kInaddrLoopback, kServerPort) || client.connect(kInaddrLoopback, kServerPort)) {
        r.ok = false;
        r.error = "udp bind/connect failed";
        return;
    }
    std::atomic<bool> stop{false};
    std::thread echo([&] {
        set_this_cpu(server_cpu(r.spec.design));
        std::uint8_t buf[64];
        Ipv4Address from;
        std::uint16_t port = 0;
        std::size_t n = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            if (server.recvfrom(buf, from, port, n, stack.clock().now_ns() + kPollSlice)) continue;
            server.sendto(from, port, {buf, n});
        }
    });
    const std::uint8_t req[1] = {'r'};
    std::uint8_t resp[64];
    measure(r, stack, [&] {
        if (client.send(req)) return OpStatus::fatal;
        std::size_t n = 0;
        return client.recv(resp, n, stack.clock().now_ns() + kOpTimeout) ? OpStatus::retry
                                                                         : OpStatus::ok;
    });
    stop = true;
    echo.join();
}

// Reads exactly out.size() bytes: false on end of stream, an error or the deadline.
bool recv_all(TcpSocket& s, std::span<std::uint8_t> out, Nanos timeout) {
    std::size_t got = 0;
    while (got < out.size()) {
        std::size_t n = 0;
        if (s.recv(out.subspan(got), n, timeout) || n == 0) return false;
        got += n;
    }
    return true;
}

void tcp_rr(CellResult& r, Stack& stack, std::size_t size) {
    TcpSocket listener(stack), client(stack);
    if (listener.bind({kInaddrLoopback, kServerPort}) || listener.listen(16) ||
        client.connect({kInaddrLoopback, kServerPort}, kOpTimeout)) {
        r.ok = false;
        r.error = "tcp connect failed";
        return;
    }
    client.set_nodelay(true);
    std::error_code ec;
    std::unique_ptr<TcpSocket> conn = listener.accept(ec, kOpTimeout);
    if (!conn) {
        r.ok = false;
        r.error = "accept failed";
        return;
    }
    conn->set_nodelay(true);
    std::thread echo([&] {
        set_this_cpu(server_cpu(r.spec.design));
        std::vector<std::uint8_t> buf(size);
        for (;;) {  // until the client closes (or errors)
            std::size_t got = 0, n = 0;
            while (got < size) {
                const std::error_code e = conn->recv(std::span(buf).subspan(got), n, kPollSlice);
                if (would_block(e)) continue;
                if (e || n == 0) return;
                got += n;
            }
            std::size_t sent = 0;
            if (conn->send(buf, sent, kOpTimeout)) return;
        }
    });
    std::vector<std::uint8_t> req(size, 'r'), resp(size);
    measure(r, stack, [&] {
        std::size_t sent = 0;
        if (client.send(req, sent, kOpTimeout)) return OpStatus::fatal;
        return recv_all(client, resp, kOpTimeout) ? OpStatus::ok : OpStatus::fatal;
    });
    client.close();  // the echo thread sees the end of the stream
    echo.join();
}

// connect, request, response, close (netperf TCP_CRR, 1-byte messages). The client closes
// first and keeps TIME_WAIT, so it cycles through 127.0.0.1-127.0.0.254 as destinations:
// 28 232 ephemeral ports to one destination would run out within a long cell.
void tcp_crr(CellResult& r, Stack& stack) {
    TcpSocket listener(stack);
    if (listener.bind({kInaddrAny, kServerPort}) || listener.listen(128)) {
        r.ok = false;
        r.error = "listen failed";
        return;
    }
    std::atomic<bool> stop{false};
    std::thread server([&] {
        set_this_cpu(server_cpu(r.spec.design));
        std::uint8_t buf[1];
        while (!stop.load(std::memory_order_relaxed)) {
            std::error_code ec;
            std::unique_ptr<TcpSocket> conn = listener.accept(ec, kPollSlice);
            if (!conn) continue;
            std::size_t n = 0;
            if (!recv_all(*conn, buf, kOpTimeout)) continue;
            conn->send(buf, n, kOpTimeout);
            conn->recv(buf, n, kOpTimeout);  // the client's FIN: end of stream
        }
    });
    std::uint32_t i = 0;
    const std::uint8_t req[1] = {'c'};
    std::uint8_t resp[1];
    measure(r, stack, [&] {
        TcpSocket s(stack);
        const Ipv4Address dst{127, 0, 0, static_cast<std::uint8_t>(1 + i++ % 254)};
        if (s.connect({dst, kServerPort}, kOpTimeout)) return OpStatus::retry;
        std::size_t sent = 0;
        if (s.send(req, sent, kOpTimeout)) return OpStatus::retry;
        return recv_all(s, resp, kOpTimeout) ? OpStatus::ok : OpStatus::retry;
    });  // ~TcpSocket: close
    stop = true;
    server.join();
}

// `streams` connections, each with a writer thread (64 KiB writes, an op each) and a reader.
// `lossy`: the stack's lo is impaired; a write may wait out several backed-off RTOs, and the
// TCP recovery counters are read over the timed part.
void tcp_bulk(CellResult& r, Stack& stack, unsigned streams, bool lossy = false) {
    const Nanos op_timeout = lossy ? 60 * kNsPerSec : kOpTimeout;
    const Design& d = r.spec.design;
    TcpSocket listener(stack);
    if (listener.bind({kInaddrLoopback, kServerPort}) || listener.listen(16)) {
        r.ok = false;
        r.error = "listen failed";
        return;
    }
    std::vector<std::unique_ptr<TcpSocket>> clients, conns;
    for (unsigned i = 0; i < streams; ++i) {
        clients.push_back(std::make_unique<TcpSocket>(stack));
        std::error_code ec;
        if (clients.back()->connect({kInaddrLoopback, kServerPort}, op_timeout) ||
            !(conns.emplace_back(listener.accept(ec, op_timeout)))) {
            r.ok = false;
            r.error = "connect failed";
            return;
        }
    }
    enum Phase : int { warming, measuring, stopping };
    std::atomic<int> phase{warming};
    std::vector<LatencyHistogram> hist(streams);
    std::vector<std::uint64_t> ops(streams, 0);
    std::atomic<bool> failed{false};
    std::atomic<bool> clients_closed{false};
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < streams; ++i) {
        threads.emplace_back([&, i] {  // reader: drains until the end of the stream
            set_this_cpu(server_cpu(d, i));
            std::vector<std::uint8_t> buf(kBulkWrite);
            for (;;) {
                std::size_t n = 0;
                const std::error_code e = conns[i]->recv(buf, n, kPollSlice);
                if (would_block(e)) {
                    if (clients_closed.load()) return;
                    continue;
                }
                if (e || n == 0) return;
            }
        });
        threads.emplace_back([&, i] {  // writer
            set_this_cpu(client_cpu(d, i));
            std::vector<std::uint8_t> buf(kBulkWrite, 'b');
            std::int64_t t = mono_ns();
            std::uint64_t n = 0;
            for (int p;
                 (p = phase.load(std::memory_order_relaxed)) != stopping && n < kMaxOpsPerCell;) {
                std::size_t sent = 0;
                if (clients[i]->send(buf, sent, op_timeout)) {
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
    const VloCounters before = VloCounters::read(stack);
    const LossCounters losses_before = LossCounters::read(stack);
    UsageWindow usage;
    const std::int64_t t0 = mono_ns();
    phase = measuring;
    sleep_s(r.spec.seconds);
    phase = stopping;
    const std::int64_t t1 = mono_ns();
    usage.finish(r);
    (VloCounters::read(stack) - before).store(r);
    if (lossy) r.losses = LossCounters::read(stack) - losses_before;
    for (unsigned i = 0; i < streams; ++i) threads[2 * i + 1].join();  // writers
    for (auto& c : clients) c->close();                                // FIN: readers see the end
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

CellResult run_vlo_cell(const CellSpec& spec) {
    CellResult r;
    r.spec = spec;
    set_this_cpu(0);
    Stack stack(design_config(spec.design));
    switch (spec.workload) {
        case Workload::icmp_echo:
            icmp_echo(r, stack);
            break;
        case Workload::udp_rr_1B:
            udp_rr(r, stack);
            break;
        case Workload::tcp_rr_1B:
            tcp_rr(r, stack, 1);
            break;
        case Workload::tcp_rr_64B:
            tcp_rr(r, stack, 64);
            break;
        case Workload::tcp_crr:
            tcp_crr(r, stack);
            break;
        case Workload::tcp_bulk_1:
            tcp_bulk(r, stack, 1);
            break;
        case Workload::tcp_bulk_4:
            tcp_bulk(r, stack, 4);
            break;
        case Workload::tcp_bulk_lossy: {
            // netem on lo as `vlo-nc --netem 'dev lo ...' --seed N` puts it there, on the real
            // clock: every packet of the stream and of its ACKs crosses it.
            apps::StackOptions so;
            so.netem.push_back(std::string("dev lo ") + kLossyNetem);
            so.seed = kLossySeed;
            if (auto e = so.configure(stack)) {
                r.ok = false;
                r.error = *e;
                break;
            }
            tcp_bulk(r, stack, 1, true);
            break;
        }
        case Workload::overload:
        case Workload::listeners:
            r.ok = false;
            r.error = "not a request/response or stream workload";
            break;
    }
    return r;
}

}  // namespace vlo::lab
