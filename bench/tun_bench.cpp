// The kernel talking to vlo over a TUN interface, beside the kernel talking to itself over its
// own lo, in the same run: ping RTT (a raw ICMP socket, one request in flight) and TCP
// throughput (64 KiB writes to a discard server). The binary moves into a network namespace of
// its own first (unshare, so root is needed); without it, it says so and runs nothing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "apps/common/tun_options.hpp"
#include "apps/servers/servers.hpp"
#include "netif/rtnetlink.hpp"
#include "stack/wire/checksum.hpp"

using namespace vlo;

namespace {

constexpr const char* kVloAddr = "198.18.0.2";

// vlo on TUN "vlob0" with the discard server, for the whole run.
struct VloOnTun {
    Stack stack;
    std::unique_ptr<servers::ServerHost> host;
    std::string error;
    VloOnTun() {
        apps::TunOptions tun;
        tun.apply(apps::kOptTun, "vlob0");
        if (auto e = tun.attach(stack)) {
            error = *e;
            return;
        }
        host = std::make_unique<servers::ServerHost>(stack);
        if (auto e = host->start("discard/tcp@:9")) error = *e;
    }
};

sockaddr_in inet(const char* addr, std::uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    inet_pton(AF_INET, addr, &sa.sin_addr);
    return sa;
}

void ping_rtt(benchmark::State& state, const char* dst, const char* label) {
    const int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (fd < 0) return state.SkipWithError("no raw socket");
    const sockaddr_in to = inet(dst, 0);
    std::vector<std::uint8_t> req(8 + 56, 0x42), buf(2048);
    const std::uint16_t id = static_cast<std::uint16_t>(getpid());
    std::uint16_t seq = 0;
    for (auto _ : state) {
        ++seq;
        req[0] = ICMP_ECHO;
        req[1] = req[2] = req[3] = 0;
        req[4] = static_cast<std::uint8_t>(id >> 8);
        req[5] = static_cast<std::uint8_t>(id);
        req[6] = static_cast<std::uint8_t>(seq >> 8);
        req[7] = static_cast<std::uint8_t>(seq);
        const std::uint16_t sum = wire::checksum(req);
        req[2] = static_cast<std::uint8_t>(sum >> 8);
        req[3] = static_cast<std::uint8_t>(sum);
        if (sendto(fd, req.data(), req.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0) {
            state.SkipWithError("sendto failed");
            break;
        }
        bool replied = false;
        while (!replied) {  // a raw socket also sees other ICMP (on lo, our own request)
            pollfd p{fd, POLLIN, 0};
            if (poll(&p, 1, 1000) <= 0) break;
            const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
            const std::size_t at = static_cast<std::size_t>(buf[0] & 0x0f) * 4;
            replied = n >= static_cast<ssize_t>(at + 8) && buf[at] == ICMP_ECHOREPLY &&
                      (buf[at + 4] << 8 | buf[at + 5]) == id && (buf[at + 6] << 8 | buf[at + 7]) == seq;
        }
        if (!replied) {
            state.SkipWithError("no echo reply");
            break;
        }
    }
    close(fd);
    state.SetItemsProcessed(state.iterations());
    state.SetLabel(label);
}

void BM_PingRtt_VloOverTun(benchmark::State& state) { ping_rtt(state, kVloAddr, "kernel -> TUN -> vlo"); }
void BM_PingRtt_KernelLo(benchmark::State& state) { ping_rtt(state, "127.0.0.1", "kernel -> kernel lo"); }
BENCHMARK(BM_PingRtt_VloOverTun)->UseRealTime();
BENCHMARK(BM_PingRtt_KernelLo)->UseRealTime();

// 64 KiB writes to a discard server; the connection is made outside the timed loop.
void tcp_throughput(benchmark::State& state, const char* dst, std::uint16_t port, const char* label) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    const sockaddr_in to = inet(dst, port);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
        close(fd);
        return state.SkipWithError("connect failed");
    }
    std::vector<char> chunk(65536, 'v');
    for (auto _ : state) {
        for (std::size_t off = 0; off < chunk.size();) {
            const ssize_t n = send(fd, chunk.data() + off, chunk.size() - off, 0);
            if (n <= 0) {
                state.SkipWithError("send failed");
                break;
            }
            off += static_cast<std::size_t>(n);
        }
    }
    close(fd);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 65536);
    state.SetLabel(label);
}

void BM_TcpThroughput_VloOverTun(benchmark::State& state) {
    tcp_throughput(state, kVloAddr, 9, "kernel -> TUN -> vlo discard");
}

void BM_TcpThroughput_KernelLo(benchmark::State& state) {
    // A kernel discard server on 127.0.0.1, reading until the client closes.
    const int l = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in any = inet("127.0.0.1", 0);
    socklen_t len = sizeof any;
    if (bind(l, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0 || listen(l, 1) != 0 ||
        getsockname(l, reinterpret_cast<sockaddr*>(&any), &len) != 0) {
        close(l);
        return state.SkipWithError("no kernel listener");
    }
    std::thread server([l] {
        const int c = accept(l, nullptr, nullptr);
        std::vector<char> buf(65536);
        while (c >= 0 && recv(c, buf.data(), buf.size(), 0) > 0) {
        }
        if (c >= 0) close(c);
    });
    tcp_throughput(state, "127.0.0.1", ntohs(any.sin_port), "kernel -> kernel lo -> kernel discard");
    server.join();
    close(l);
}
BENCHMARK(BM_TcpThroughput_VloOverTun)->UseRealTime();
BENCHMARK(BM_TcpThroughput_KernelLo)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
    if (access("/dev/net/tun", R_OK | W_OK) != 0 || unshare(CLONE_NEWNET) != 0) {
        std::puts("skipped: needs root and /dev/net/tun (it makes a network namespace of its own)");
        return 0;
    }
    rtnl::link_set_up(1, 65536);  // the namespace's lo
    VloOnTun setup;
    if (!setup.error.empty()) {
        std::printf("skipped: %s\n", setup.error.c_str());
        return 0;
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
