// struct socket and the protocol-independent part of struct sock: the operations a protocol
// provides (proto_ops: inet_stream_ops, inet_dgram_ops) and the SOL_SOCKET state every socket
// keeps (sk_rcvtimeo, sk_rcvlowat, sk_lingertime...). net/socket.c's system calls (syscalls.hpp)
// check their arguments and call these; errors are negative errno values, as in the kernel.
#pragma once

#include <linux/sock_diag.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "netif/clock.hpp"
#include "posix/file.hpp"
#include "stack/ipv4_address.hpp"

namespace vlo::posix {

struct InetAddr {
    Ipv4Address addr;
    std::uint16_t port = 0;  // host order
};

// socket->state (include/linux/net.h)
enum class SocketState { unconnected, connecting, connected };

class Socket : public File {
  public:
    Socket(Net& net, int type, int protocol) : File(net), type_(type), protocol_(protocol) {}
    Socket* socket() override { return this; }
    int type() const { return type_; }
    int protocol() const { return protocol_; }

    // proto_ops. Addresses are AF_INET's, already checked by the caller.
    virtual long bind(const InetAddr& a) = 0;
    virtual long connect(const InetAddr& a, bool nonblock) = 0;
    virtual long disconnect() = 0;  // connect(AF_UNSPEC)
    virtual long listen(int backlog) = 0;
    virtual long accept(std::shared_ptr<Socket>& child, bool nonblock) = 0;
    virtual long sendmsg(const msghdr& msg, const InetAddr* to, int flags) = 0;
    // msg_flags and the control data go back through msg.
    virtual long recvmsg(msghdr& msg, InetAddr* from, int flags) = 0;
    virtual long shutdown(int how) = 0;  // how already checked
    virtual long getname(InetAddr& a, bool peer) = 0;
    virtual long ioctl(unsigned long request, int& value) = 0;
    // The options of the protocol's own level (IPPROTO_TCP); SOL_SOCKET and IPPROTO_IP are common.
    virtual long setsockopt_proto(int level, int name, const void* val, socklen_t len) = 0;
    virtual long getsockopt_proto(int level, int name, void* val, socklen_t* len) = 0;
    // sock_error: the pending error (positive errno), cleared; 0 if none.
    virtual int take_error() = 0;
    // The SOL_SOCKET options that reach into the protocol.
    virtual long set_reuseaddr(bool on) = 0;
    virtual long set_keepalive(bool on) = 0;
    virtual void set_rcvbuf(int bytes) { rcvbuf = bytes; }
    virtual void set_sndbuf(int bytes) { sndbuf = bytes; }  // SO_SNDBUF, already doubled
    virtual bool listening() { return false; }
    // sk_get_meminfo (SO_MEMINFO): SK_MEMINFO_RMEM_ALLOC .. SK_MEMINFO_DROPS. vlo's queues
    // hold bytes, not skbs, so the allocations count payload where Linux counts truesize.
    virtual void get_meminfo(std::uint32_t (&mem)[SK_MEMINFO_VARS]) {
        mem[SK_MEMINFO_RCVBUF] = static_cast<std::uint32_t>(rcvbuf);
        mem[SK_MEMINFO_SNDBUF] = static_cast<std::uint32_t>(sndbuf);
    }

    // struct sock's common fields, as sock_setsockopt keeps them.
    bool reuseaddr = false, reuseport = false, keepalive = false;
    bool linger_on = false;
    int linger_secs = 0;
    int rcvbuf = 0, sndbuf = 0;  // as getsockopt reports them (doubled)
    int rcvlowat = 1;
    std::optional<Nanos> rcvtimeo, sndtimeo;  // nullopt: block forever
    int ip_ttl = -1;                          // -1: net.ipv4.ip_default_ttl
    int ip_tos = 0;
    bool ip_recverr = false;
    int ip_mtu_discover = 1;  // IP_PMTUDISC_WANT, ip_no_pmtu_disc's default

  protected:
    int type_;
    int protocol_;
};

}  // namespace vlo::posix
