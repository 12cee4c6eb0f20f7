// listeners: Linux makes all of 127/8 local, so one host can run a server on port 80 of every
// one of its 16 777 214 addresses (docs/architecture.md, "127/8"). This binds one listener per
// address, in order from 127.0.0.1, and measures how many, the heap each costs, the time to bind,
// and then connects to a random sample of them, each of which must be accepted by its own listener.
// The run stops early, and says so, at the time or memory limit; the projections for all of
// 127/8 are made at the measured rate and size.
#include <unistd.h>

#include <memory>
#include <random>
#include <vector>

#include "netif/cpu.hpp"
#include "stack/stack.hpp"
#include "stack/tcp_socket.hpp"
#include "tools/lab/timed.hpp"
#include "tools/lab/vlo_counters.hpp"
#include "tools/lab/workloads.hpp"

namespace vlo::lab {

namespace {

constexpr std::uint64_t kAllOf127 = (1u << 24) - 2;  // 127.0.0.1 .. 127.255.255.254
constexpr std::uint64_t kQuickListeners = 65536;
constexpr std::uint64_t kMemoryTarget = 4ull << 30;  // the goal for all of 127/8
constexpr double kFullTimeLimit = 60;                // the goal for all of 127/8
constexpr double kQuickTimeLimit = 8;
constexpr std::uint16_t kHttpPort = 80;
constexpr int kListenBacklog = 8;

std::uint64_t mem_available() {
    const long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0
               ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
               : 0;
}

Ipv4Address nth_address(std::uint64_t i) {
    return Ipv4Address{(127u << 24) + static_cast<std::uint32_t>(i)};
}

}  // namespace

CellResult run_listeners_cell(const CellSpec& spec) {
    CellResult r;
    r.spec = spec;
    ListenerFigures f;
    f.target = spec.listener_count ? std::min(spec.listener_count, kAllOf127)
               : spec.quick        ? kQuickListeners
                                   : kAllOf127;
    f.sizeof_tcp_sock = sizeof(TcpSock);
    const double time_limit = spec.quick ? kQuickTimeLimit : kFullTimeLimit;
    // The heap may grow to the target's 4 GiB, or half of what the machine has free.
    const std::uint64_t memory_limit = std::min(kMemoryTarget, mem_available() / 2);

    set_this_cpu(0);
    Stack stack(design_config(spec.design));
    std::vector<std::unique_ptr<TcpSocket>> listeners;
    listeners.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(f.target, 1u << 22)));
    const VloCounters before = VloCounters::read(stack);
    const std::uint64_t heap0 = heap_in_use();
    UsageWindow usage;
    const std::int64_t t0 = mono_ns();
    const std::int64_t time_end = t0 + static_cast<std::int64_t>(time_limit * 1e9);
    std::int64_t t = t0;
    for (std::uint64_t i = 1; i <= f.target; ++i) {
        if ((i & 1023) == 0) {  // limits, checked per thousand listeners
            if (t >= time_end) {
                f.stopped_by = "time";
                break;
            }
            if (heap_in_use() - heap0 >= memory_limit) {
                f.stopped_by = "memory";
                break;
            }
        }
        auto s = std::make_unique<TcpSocket>(stack);
        if (s->bind({nth_address(i), kHttpPort}) || s->listen(kListenBacklog)) {
            r.ok = false;
            r.error = "bind/listen failed at " + nth_address(i).to_string();
            break;
        }
        listeners.push_back(std::move(s));
        const std::int64_t t2 = mono_ns();
        r.latency.record(t2 - t);
        t = t2;
    }
    f.bound = listeners.size();
    f.bind_seconds = static_cast<double>(t - t0) / 1e9;
    usage.finish(r);
    const std::uint64_t heap1 = heap_in_use();
    if (f.bound) {
        f.bytes_per_listener = (heap1 > heap0 ? heap1 - heap0 : 0) / f.bound;
        f.projected_seconds_all =
            f.bind_seconds * static_cast<double>(kAllOf127) / static_cast<double>(f.bound);
        f.projected_gib_all =
            static_cast<double>(f.bytes_per_listener) * static_cast<double>(kAllOf127) / (1u << 30);
    }

    // A random sample, each connection accepted by the listener of its own address, and by
    // no other: the one after it must have nothing waiting.
    std::mt19937_64 rng(0x127);  // seeded: the same sample every run
    f.sample = std::min<std::uint64_t>(f.bound, spec.quick ? 64 : 1024);
    for (std::uint64_t k = 0; k < f.sample; ++k) {
        const std::size_t i = rng() % f.bound;
        const Ipv4Address addr = nth_address(i + 1);
        TcpSocket client(stack);
        if (client.connect({addr, kHttpPort}, kNsPerSec)) continue;
        std::error_code ec;
        std::unique_ptr<TcpSocket> child = listeners[i]->try_accept(ec);
        std::error_code other;
        const bool neighbour_empty =
            !listeners[(i + 1) % f.bound]->try_accept(other) || f.bound == 1;
        if (child && child->local_address() == SockAddr{addr, kHttpPort} &&
            child->peer_address() == client.local_address() && neighbour_empty)
            ++f.sample_ok;
    }
    (VloCounters::read(stack) - before).store(r);
    r.ops = f.bound;
    r.seconds = f.bind_seconds;
    if (r.ok && f.sample_ok != f.sample) {
        r.ok = false;
        r.error = "a connection missed its own listener";
    }
    r.listeners = std::move(f);
    return r;
}

}  // namespace vlo::lab
