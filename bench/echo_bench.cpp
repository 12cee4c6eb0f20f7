// ICMP echo round trip through vlo's lo, per worker design, beside the kernel's own
// `ping 127.0.0.1` measured in the same binary (a raw ICMP socket, one request in flight).
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include <benchmark/benchmark.h>

#include "stack/stack.hpp"
#include "stack/wire/checksum.hpp"

using namespace vlo;

namespace {

void BM_VloEchoRtt(benchmark::State& state) {
    StackConfig c;
    c.core.worker = static_cast<WorkerKind>(state.range(0));
    Stack stack(c);
    PingSocket sock(stack);
    std::vector<std::uint8_t> payload(56, 0x42), got(56);
    std::uint16_t seq = 0;
    EchoReply r;
    for (auto _ : state) {
        if (sock.send_echo(kInaddrLoopback, ++seq, payload) ||
            sock.recv_echo(r, got, stack.clock().now_ns() + kNsPerSec)) {
            state.SkipWithError("no echo reply");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations());
    state.SetLabel(std::string(worker_kind_name(c.core.worker)));
}
BENCHMARK(BM_VloEchoRtt)
    ->Arg(static_cast<int>(WorkerKind::softirq))
    ->Arg(static_cast<int>(WorkerKind::ksoftirqd))
    ->Arg(static_cast<int>(WorkerKind::busypoll))
    ->Arg(static_cast<int>(WorkerKind::inline_))
    ->UseRealTime();

// The baseline: the kernel answering ping 127.0.0.1. A raw socket needs CAP_NET_RAW; without it,
// a ping socket (SOCK_DGRAM, IPPROTO_ICMP) where net.ipv4.ping_group_range allows.
void BM_KernelEchoRtt(benchmark::State& state) {
    bool raw = true;
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (fd < 0) {
        raw = false;
        fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    }
    if (fd < 0) {
        state.SkipWithError("no raw or ping socket allowed");
        return;
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::vector<std::uint8_t> req(8 + 56, 0x42), buf(2048);
    const std::uint16_t id = static_cast<std::uint16_t>(getpid());
    std::uint16_t seq = 0;
    for (auto _ : state) {
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
        if (sendto(fd, req.data(), req.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) <
            0) {
            state.SkipWithError("sendto failed");
            break;
        }
        // A raw socket also sees our own request (lo loops it back): wait for the reply.
        for (;;) {
            pollfd p{fd, POLLIN, 0};
            if (poll(&p, 1, 1000) <= 0) {
                state.SkipWithError("no kernel echo reply");
                break;
            }
            const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
            const std::size_t at = raw ? static_cast<std::size_t>(buf[0] & 0x0f) * 4 : 0;
            if (n >= static_cast<ssize_t>(at + 8) && buf[at] == ICMP_ECHOREPLY &&
                (raw ? (buf[at + 4] << 8 | buf[at + 5]) == id : true) &&
                (buf[at + 6] << 8 | buf[at + 7]) == seq)
                break;
        }
    }
    close(fd);
    state.SetItemsProcessed(state.iterations());
    state.SetLabel(raw ? "kernel lo, raw socket" : "kernel lo, ping socket");
}
BENCHMARK(BM_KernelEchoRtt)->UseRealTime();

}  // namespace
