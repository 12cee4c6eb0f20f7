// packetdrill's --so_filename interface over one vlo stack: packetdrill_interface_init builds
// a stack on a virtual clock with the packetdrill device (tun0) and fills the function table.
//
// Addresses as packetdrill picks them: the local address is random in 192.168.0.0/16, so the
// whole prefix is local (on lo, as `ip route add local 192.168.0.0/16 dev lo` would make it);
// the remote 192.0.2.0/24 is reached through tun0.
//
// A script's backtick lines run on the host (defaults.sh: sysctls, `tc qdisc add dev tun0`).
// So that they neither change the host's TCP settings nor fail for want of packetdrill's tun0,
// the adapter moves packetdrill into a network namespace of its own with an idle tun0 (never
// up, no address: nothing is ever sent on it). The stack's settings come from the adapter's
// defaults and --so_flags, then from the sysctls the script itself writes in that namespace
// (`sysctl -q net.ipv4.tcp_ecn=1`): before each system call the adapter applies those that
// changed.
//
// Time is the virtual clock: gettimeofday reads it, usleep moves it (each timer runs at its
// own expiry), netdev_receive moves it to the next timer while no packet is waiting, up to
// kReceiveLimit. A call blocked in packetdrill's system-call thread only sleeps: before time
// moves, the adapter lets every woken call run until it sleeps again, so nothing it would do
// is overtaken by a timer.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "posix/net.hpp"
#include "posix/packetdrill/code_getsockopt.hpp"
#include "posix/packetdrill/packetdrill_device.hpp"
#include "posix/packetdrill/packetdrill_interface.hpp"
#include "posix/packetdrill/sysctl_flags.hpp"
#include "posix/syscalls.hpp"
#include "stack/stack.hpp"

namespace vlo::posix {
namespace {

// How far netdev_receive moves time looking for a packet: beyond tcp_rto_max's 120 s and a
// few backoffs, so a late packet still arrives (and packetdrill reports its lateness).
constexpr Nanos kReceiveLimit = 600 * kNsPerSec;
// How long (real time) a woken system call may take to run before time moves anyway.
constexpr auto kSettleLimit = std::chrono::seconds(2);

// unshare(CLONE_NEWNET) plus a tun0 that stays down, held open by the returned descriptor
// (-1 if the process may not: then the host's own commands run as they are).
int sandbox_host_commands() {
    if (unshare(CLONE_NEWNET) != 0) {
        std::fprintf(stderr,
                     "vlo: no network namespace of its own (%s): script commands run on the host\n",
                     std::strerror(errno));
        return -1;
    }
    const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) return -1;
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, "tun0", IFNAMSIZ - 1);
    if (::ioctl(fd, TUNSETIFF, &ifr) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

class Adapter {
  public:
    explicit Adapter(const StackConfig& config) : stack_(config, clock_) {
        auto dev = std::make_unique<PacketdrillDevice>(stack_.next_ifindex(), clock_);
        dev_ = dev.get();
        stack_.add_device(std::move(dev));
        stack_.fib().add_address(stack_.loopback(), Ipv4Cidr{Ipv4Address{192, 168, 0, 1}, 16});
        stack_.fib().add_route(Ipv4Cidr{Ipv4Address{192, 0, 2, 0}, 24}, *dev_,
                               Ipv4Address{192, 168, 0, 1});
        net_ = std::make_unique<Net>(stack_, &clock_, TimeMode::driven);
    }
    ~Adapter() {
        net_.reset();
        if (host_tun_ >= 0) ::close(host_tun_);
    }
    // Inside its own namespace, the adapter follows the sysctls a script writes there.
    void set_host_tun(int fd) {
        host_tun_ = fd;
        if (fd >= 0) sysctls_.emplace();
    }
    // --so_flags win over the namespace's values, until the script writes a sysctl itself.
    void set_flags(std::string flags) { flags_ = std::move(flags); }
    void sync_sysctls() {
        if (!sysctls_) return;
        std::lock_guard l(sysctl_mu_);
        const bool first = !synced_;
        synced_ = true;
        if (sysctls_->apply_changes(stack_.sysctl()) && first) {
            std::string ignored;
            apply_sysctl_flags(flags_, stack_.sysctl(), ignored);  // checked at init
        }
    }

    Net& net() { return *net_; }
    PacketdrillDevice& dev() { return *dev_; }
    VirtualClock& clock() { return clock_; }
    std::atomic<int>& in_calls() { return in_calls_; }
    std::atomic<bool>& spinning() { return spinning_; }

    // Lets calls woken in other threads run until each sleeps again (or returns).
    void settle() {
        const auto give_up = std::chrono::steady_clock::now() + kSettleLimit;
        while (in_calls_.load() > 0 && !net_->asleep(in_calls_.load())) {
            if (std::chrono::steady_clock::now() > give_up) return;
            std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
    }
    // Moves time to `t`, timer by timer, letting the calls each timer wakes run in between.
    void advance_to(Nanos t) {
        for (;;) {
            settle();
            const std::optional<Nanos> next = stack_.timers().next_expiry();
            if (!next || *next > t) break;
            net_->advance_to(std::max(*next, clock_.now_ns()));
        }
        net_->advance_to(t);
        settle();
    }
    // netdev_receive: the next packet out, moving time to the next timer while there is none.
    bool receive(void* buf, std::size_t& count, Nanos& at) {
        const Nanos limit = clock_.now_ns() + kReceiveLimit;
        for (;;) {
            settle();
            if (dev_->pop(buf, count, at)) return true;
            const std::optional<Nanos> next = stack_.timers().next_expiry();
            if (!next || *next > limit) return false;
            net_->advance_to(std::max(*next, clock_.now_ns()));
        }
    }

  private:
    VirtualClock clock_{kNsPerSec};
    Stack stack_;
    PacketdrillDevice* dev_ = nullptr;
    std::unique_ptr<Net> net_;
    std::atomic<int> in_calls_{0};
    std::atomic<bool> spinning_{false};
    int host_tun_ = -1;
    std::mutex sysctl_mu_;
    std::optional<NetnsSysctls> sysctls_;
    bool synced_ = false;
    std::string flags_;
};

Adapter& A(void* u) { return *static_cast<Adapter*>(u); }
// The adapter whose descriptors packetdrill's code events read (code_getsockopt.hpp).
Adapter* code_adapter = nullptr;

// Every system call: counted while it runs (settle waits for it), -1 and errno on failure.
template <class F>
long call(void* u, F f) {
    Adapter& a = A(u);
    a.spinning() = false;
    a.sync_sysctls();
    a.in_calls().fetch_add(1);
    const long r = f(a.net());
    a.in_calls().fetch_sub(1);
    if (r >= 0) return r;
    errno = static_cast<int>(-r);
    return -1;
}

void pd_free(void* u) {
    if (code_adapter == u) code_adapter = nullptr;
    delete static_cast<Adapter*>(u);
}
int pd_socket(void* u, int d, int t, int p) {
    return static_cast<int>(call(u, [&](Net& n) { return sys_socket(n, d, t, p); }));
}
int pd_bind(void* u, int fd, const sockaddr* a, socklen_t l) {
    return static_cast<int>(call(u, [&](Net& n) { return sys_bind(n, fd, a, l); }));
}
int pd_listen(void* u, int fd, int b) {
    return static_cast<int>(call(u, [&](Net& n) { return sys_listen(n, fd, b); }));
}
int pd_accept(void* u, int fd, sockaddr* a, socklen_t* l) {
    return static_cast<int>(call(u, [&](Net& n) { return sys_accept4(n, fd, a, l, 0); }));
}
int pd_connect(void* u, int fd, const sockaddr* a, socklen_t l) {
    return static_cast<int>(call(u, [&](Net& n) { return sys_connect(n, fd, a, l); }));
}
ssize_t pd_read(void* u, int fd, void* b, size_t c) {
    return call(u, [&](Net& n) { return sys_read(n, fd, b, c); });
}
ssize_t pd_readv(void* u, int fd, const iovec* v, int c) {
    return call(u, [&](Net& n) { return sys_readv(n, fd, v, c); });
}
ssize_t pd_recv(void* u, int fd, void* b, size_t l, int f) {
    return call(u, [&](Net& n) { return sys_recvfrom(n, fd, b, l, f, nullptr, nullptr); });
}
ssize_t pd_recvfrom(void* u, int fd, void* b, size_t l, int f, sockaddr* a, socklen_t* al) {
    return call(u, [&](Net& n) { return sys_recvfrom(n, fd, b, l, f, a, al); });
}
ssize_t pd_recvmsg(void* u, int fd, msghdr* m, int f) {
    return call(u, [&](Net& n) { return sys_recvmsg(n, fd, m, f); });
}
ssize_t pd_write(void* u, int fd, const void* b, size_t c) {
    return call(u, [&](Net& n) { return sys_write(n, fd, b, c); });
}
ssize_t pd_writev(void* u, int fd, const iovec* v, int c) {
    return call(u, [&](Net& n) { return sys_writev(n, fd, v, c); });
}
ssize_t pd_send(void* u, int fd, const void* b, size_t l, int f) {
    return call(u, [&](Net& n) { return sys_sendto(n, fd, b, l, f, nullptr, 0); });
}
ssize_t pd_sendto(void* u, int fd, const void* b, size_t l, int f, const sockaddr* a,
                  socklen_t al) {
    return call(u, [&](Net& n) { return sys_sendto(n, fd, b, l, f, a, al); });
}
ssize_t pd_sendmsg(void* u, int fd, const msghdr* m, int f) {
    return call(u, [&](Net& n) { return sys_sendmsg(n, fd, m, f); });
}
int pd_fcntl(void* u, int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    const long arg = fcntl_arg(cmd, ap);
    va_end(ap);
    return static_cast<int>(call(u, [&](Net& n) { return sys_fcntl(n, fd, cmd, arg); }));
}
int pd_ioctl(void* u, int fd, unsigned long req, ...) {
    va_list ap;
    va_start(ap, req);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    return static_cast<int>(call(u, [&](Net& n) { return sys_ioctl(n, fd, req, arg); }));
}
int pd_close(void* u, int fd) {
    return static_cast<int>(call(u, [&](Net& n) { return sys_close(n, fd); }));
}
int pd_shutdown(void* u, int fd, int how) {
    return static_cast<int>(call(u, [&](Net& n) { return sys_shutdown(n, fd, how); }));
}
int pd_getsockopt(void* u, int fd, int level, int name, void* v, socklen_t* l) {
    return static_cast<int>(
        call(u, [&](Net& n) { return sys_getsockopt(n, fd, level, name, v, l); }));
}
int code_getsockopt(int fd, int level, int name, void* v, socklen_t* l) {
    if (code_adapter && code_adapter->net().fds().get(fd))
        return pd_getsockopt(code_adapter, fd, level, name, v, l);
    return ::getsockopt(fd, level, name, v, l);
}

int pd_setsockopt(void* u, int fd, int level, int name, const void* v, socklen_t l) {
    return static_cast<int>(
        call(u, [&](Net& n) { return sys_setsockopt(n, fd, level, name, v, l); }));
}
int pd_poll(void* u, pollfd* fds, nfds_t nfds, int timeout) {
    return static_cast<int>(call(u, [&](Net& n) { return sys_poll(n, fds, nfds, timeout); }));
}
int pd_epoll_create(void* u, int size) {
    return static_cast<int>(call(u, [&](Net& n) { return sys_epoll_create(n, size); }));
}
int pd_epoll_ctl(void* u, int epfd, int op, int fd, epoll_event* ev) {
    return static_cast<int>(call(u, [&](Net& n) { return sys_epoll_ctl(n, epfd, op, fd, ev); }));
}
int pd_epoll_wait(void* u, int epfd, epoll_event* evs, int max, int timeout) {
    return static_cast<int>(
        call(u, [&](Net& n) { return sys_epoll_wait(n, epfd, evs, max, timeout); }));
}
int pd_pipe(void*, int*) {
    errno = ENOSYS;  // vlo has no pipes: its descriptors are sockets and epoll instances
    return -1;
}
int pd_splice(void*, int, loff_t*, int, loff_t*, size_t, unsigned int) {
    errno = ENOSYS;
    return -1;
}

int pd_netdev_send(void* u, const void* buf, size_t count) {
    Adapter& a = A(u);
    a.spinning() = false;
    return a.dev().inject(buf, count);
}

int pd_netdev_receive(void* u, void* buf, size_t* count, long long* time_usecs) {
    Adapter& a = A(u);
    a.spinning() = false;
    Nanos at = 0;
    if (!a.receive(buf, *count, at)) {
        // packetdrill's so_netdev_receive has no timeout: an empty packet fails its parse
        // and ends the script with an error instead of a wait forever.
        std::fprintf(stderr, "vlo: the stack sent nothing in %lld s of virtual time\n",
                     static_cast<long long>(kReceiveLimit / kNsPerSec));
        *count = 0;
        *time_usecs = a.clock().now_ns() / kNsPerUs;
        return 0;
    }
    *time_usecs = at / kNsPerUs;
    return 0;
}

int pd_usleep(void* u, useconds_t usec) {
    Adapter& a = A(u);
    a.spinning() = false;
    a.advance_to(a.clock().now_ns() + Nanos{usec} * kNsPerUs);
    return 0;
}

int pd_gettimeofday(void* u, timeval* tv, struct timezone*) {
    Adapter& a = A(u);
    // packetdrill spins on gettimeofday for the last microseconds before an event (and for
    // the whole wait before the first): a call right after another is a spin, and a spin
    // takes a microsecond.
    if (a.spinning().exchange(true)) a.advance_to(a.clock().now_ns() + kNsPerUs);
    const Nanos now = a.clock().now_ns();
    tv->tv_sec = static_cast<time_t>(now / kNsPerSec);
    tv->tv_usec = static_cast<suseconds_t>((now % kNsPerSec) / kNsPerUs);
    return 0;
}

}  // namespace
}  // namespace vlo::posix

extern "C" __attribute__((visibility("default"))) void packetdrill_interface_init(
    const char* flags, packetdrill_interface* ifc) {
    using namespace vlo::posix;
    vlo::StackConfig config;
    config.core.worker = vlo::WorkerKind::inline_;
    apply_packetdrill_defaults(config);
    std::string error;
    if (flags && !apply_sysctl_flags(flags, config, error)) {
        std::fprintf(stderr, "vlo: --so_flags: %s\n", error.c_str());
        std::exit(EXIT_FAILURE);
    }
    *ifc = packetdrill_interface{};
    auto* adapter = new Adapter(config);
    adapter->set_host_tun(sandbox_host_commands());
    if (flags) adapter->set_flags(flags);
    ifc->userdata = adapter;
    code_adapter = adapter;
    if (!redirect_program_getsockopt(code_getsockopt))
        std::fprintf(stderr, "vlo: packetdrill's %%{ }%% code cannot read vlo's TCP_INFO here\n");
    ifc->free = pd_free;
    ifc->socket = pd_socket;
    ifc->bind = pd_bind;
    ifc->listen = pd_listen;
    ifc->accept = pd_accept;
    ifc->connect = pd_connect;
    ifc->read = pd_read;
    ifc->readv = pd_readv;
    ifc->recv = pd_recv;
    ifc->recvfrom = pd_recvfrom;
    ifc->recvmsg = pd_recvmsg;
    ifc->write = pd_write;
    ifc->writev = pd_writev;
    ifc->send = pd_send;
    ifc->sendto = pd_sendto;
    ifc->sendmsg = pd_sendmsg;
    ifc->fcntl = pd_fcntl;
    ifc->ioctl = pd_ioctl;
    ifc->close = pd_close;
    ifc->shutdown = pd_shutdown;
    ifc->getsockopt = pd_getsockopt;
    ifc->setsockopt = pd_setsockopt;
    ifc->poll = pd_poll;
    ifc->netdev_send = pd_netdev_send;
    ifc->netdev_receive = pd_netdev_receive;
    ifc->usleep = pd_usleep;
    ifc->gettimeofday = pd_gettimeofday;
    ifc->epoll_create = pd_epoll_create;
    ifc->epoll_ctl = pd_epoll_ctl;
    ifc->epoll_wait = pd_epoll_wait;
    ifc->pipe = pd_pipe;
    ifc->splice = pd_splice;
}
