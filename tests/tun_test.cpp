// TunDevice against the real kernel: each case runs in a child process that first moves into a
// network namespace of its own (unshare(CLONE_NEWNET)), so the TUN interface, the kernel's
// sockets and every packet exist only there and vanish with the child. Without root (or
// /dev/net/tun) the cases say why and check nothing.
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "apps/common/tun_options.hpp"
#include "apps/servers/servers.hpp"
#include "netif/rtnetlink.hpp"
#include "netif/tun_device.hpp"
#include "stack/tcp_socket.hpp"

using namespace vlo;

namespace {

constexpr int kSkipped = 77;

// Runs `body` in a child inside a fresh network namespace. The body returns what went wrong
// ("" when nothing did); the parent gets it back through a pipe.
std::string in_netns(const std::function<std::string()>& body) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        if (access("/dev/net/tun", R_OK | W_OK) != 0 || unshare(CLONE_NEWNET) != 0) _exit(kSkipped);
        rtnl::link_set_up(1, 65536);  // the namespace's lo
        std::string failures;
        try {
            failures = body();
        } catch (const std::exception& e) {
            failures = std::string("exception: ") + e.what();
        }
        [[maybe_unused]] ssize_t n = write(fds[1], failures.data(), failures.size());
        _exit(failures.empty() ? 0 : 1);
    }
    close(fds[1]);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == kSkipped) {
        WARN("skipped: no /dev/net/tun or no right to make a network namespace (run as root)");
        return "";
    }
    if (out.empty() && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) out = "the child died";
    return out;
}

// A kernel socket with 2 s timeouts, bound to nothing yet.
int kernel_socket(int type) {
    const int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

sockaddr_in inet(const char* addr, std::uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    inet_pton(AF_INET, addr, &sa.sin_addr);
    return sa;
}

// A stack with 198.18.0.2/24 on TUN "vlot0", the kernel side 198.18.0.1.
std::string attach(Stack& stack) {
    apps::TunOptions tun;
    if (auto e = tun.apply(apps::kOptTun, "vlot0")) return *e;
    if (auto e = tun.apply(apps::kOptAddr, "198.18.0.2/24")) return *e;
    if (auto e = tun.attach(stack)) return *e;
    return "";
}

#define EXPECT(cond) \
    if (!(cond)) failures += std::string(#cond) + " (line " + std::to_string(__LINE__) + ", errno " + std::strerror(errno) + ")\n"

}  // namespace

TEST_CASE("tun: the kernel's UDP and TCP reach vlo's echo server and a closed port is refused", "[tun]") {
    const std::string failures = in_netns([] {
        std::string failures;
        Stack stack;
        if (std::string e = attach(stack); !e.empty()) return e;
        auto* dev = dynamic_cast<TunDevice*>(stack.find_device("vlot0"));
        EXPECT(dev && dev->created() && dev->kernel_ifindex() == static_cast<int>(if_nametoindex("vlot0")));
        servers::ServerHost host(stack);
        if (auto e = host.start("echo@:7")) return *e;

        const sockaddr_in echo = inet("198.18.0.2", 7);
        const int u = kernel_socket(SOCK_DGRAM);
        EXPECT(sendto(u, "hello", 5, 0, reinterpret_cast<const sockaddr*>(&echo), sizeof echo) == 5);
        char buf[65536];
        EXPECT(recv(u, buf, sizeof buf, 0) == 5 && std::memcmp(buf, "hello", 5) == 0);
        close(u);

        // 200 KB through TCP: several windows, every checksum computed and verified both ways.
        const int t = kernel_socket(SOCK_STREAM);
        EXPECT(connect(t, reinterpret_cast<const sockaddr*>(&echo), sizeof echo) == 0);
        std::vector<char> data(200000);
        for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + (i >> 11));
        EXPECT(send(t, data.data(), data.size(), 0) == static_cast<ssize_t>(data.size()));
        shutdown(t, SHUT_WR);
        std::vector<char> back;
        for (ssize_t n; (n = recv(t, buf, sizeof buf, 0)) > 0;) back.insert(back.end(), buf, buf + n);
        EXPECT(back == data);
        close(t);

        const int r = kernel_socket(SOCK_STREAM);
        const sockaddr_in closed = inet("198.18.0.2", 4444);
        EXPECT(connect(r, reinterpret_cast<const sockaddr*>(&closed), sizeof closed) == -1 && errno == ECONNREFUSED);
        close(r);

        EXPECT(dev->stats().rx_packets.load() > 0 && dev->stats().tx_packets.load() > 0);
        EXPECT(stack.tcp().stats().tcp.get(TcpMib::InCsumErrors) == 0);
        return failures;
    });
    CHECK(failures == "");
}

TEST_CASE("tun: vlo's TCP client reaches a kernel server and the interface goes with the stack", "[tun]") {
    const std::string failures = in_netns([] {
        std::string failures;
        {
            Stack stack;
            if (std::string e = attach(stack); !e.empty()) return e;
            const int l = kernel_socket(SOCK_STREAM);
            const sockaddr_in any = inet("0.0.0.0", 5555);
            const int one = 1;
            setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            EXPECT(bind(l, reinterpret_cast<const sockaddr*>(&any), sizeof any) == 0 && listen(l, 4) == 0);

            TcpSocket client(stack);
            EXPECT(!client.connect({*Ipv4Address::parse("198.18.0.1"), 5555}, 2 * kNsPerSec));
            const int c = accept(l, nullptr, nullptr);
            EXPECT(c >= 0);
            const std::string msg = "from vlo to the kernel";
            std::size_t sent = 0;
            EXPECT(!client.send({reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()}, sent, 2 * kNsPerSec));
            char buf[64] = {};
            EXPECT(recv(c, buf, msg.size(), MSG_WAITALL) == static_cast<ssize_t>(msg.size()));
            EXPECT(std::string(buf) == msg);
            EXPECT(send(c, "and back", 8, 0) == 8);
            std::vector<std::uint8_t> in(64);
            std::size_t n = 0;
            EXPECT(!client.recv(in, n, 2 * kNsPerSec) && n == 8);
            client.close();
            close(c);
            close(l);
            EXPECT(stack.linger(2 * kNsPerSec));
        }
        // The stack closed the device; a non-persistent interface dies with its descriptor.
        EXPECT(if_nametoindex("vlot0") == 0);
        return failures;
    });
    CHECK(failures == "");
}

TEST_CASE("tun: bad names and MTUs are refused with the reason", "[tun]") {
    std::string error;
    TunConfig config;
    config.name = "a-name-far-too-long-for-ifnamsiz";
    CHECK(TunDevice::open(config, 2, error) == nullptr);
    CHECK(error.find("invalid interface name") != std::string::npos);
    config.name = "vlot1";
    config.mtu = 40;
    CHECK(TunDevice::open(config, 2, error) == nullptr);
    CHECK(error == "invalid MTU 40 (68 to 65535)");

    apps::TunOptions o;
    CHECK(o.apply(apps::kOptAddr, "127.0.0.2/8").value_or("").find("not 127/8") != std::string::npos);
    CHECK(o.apply(apps::kOptAddr, "10.1.2.3").has_value());  // a prefix length is required
    CHECK(o.apply(apps::kOptMtu, "70000") == "invalid --mtu: '70000' (68 to 65535)");
    CHECK_FALSE(o.apply(apps::kOptAddr, "10.1.2.1/24"));
    CHECK(o.kernel_address().to_string() == "10.1.2.2");  // the first host is ours: the next
    CHECK_FALSE(o.apply(apps::kOptAddr, "10.1.2.9/24"));
    CHECK(o.kernel_address().to_string() == "10.1.2.1");
}
