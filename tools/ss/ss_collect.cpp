#include "tools/ss/ss_collect.hpp"

#include <mutex>

#include "stack/tcp_info.hpp"
#include "tools/ss/ss_info.hpp"

namespace vlo::ss {

namespace {

// inet_diag_msg_common_fill, the queues as tcp_diag_get_info gives them, and INET_DIAG_INFO /
// INET_DIAG_CONG unless the socket is one Linux keeps as a minisock (TIME-WAIT, SYN-RECV),
// whose dump carries no tcp_info.
SsSocket read_socket(TcpSock& sk, Nanos now) {
    SsSocket s;
    s.state = sk.state;
    s.laddr = sk.laddr;
    s.raddr = sk.raddr;
    s.lport = sk.lport;
    s.rport = sk.rport;
    if (sk.state == TcpState::listen) {
        std::lock_guard lock(sk.accept_mu);
        s.recv_q = static_cast<std::uint32_t>(sk.accept_queue.size());  // sk_ack_backlog
        s.send_q = static_cast<std::uint32_t>(sk.backlog);              // sk_max_ack_backlog
    } else {
        s.recv_q = static_cast<std::uint32_t>(sk.rcvq.size());  // rcv_nxt - copied_seq
        s.send_q = static_cast<std::uint32_t>(sk.sndq.size());  // write_seq - snd_una
    }
    if (sk.state != TcpState::time_wait && sk.state != TcpState::syn_recv) {
        tcp_info info{};
        tcp_get_info(sk, now, info);
        s.ca_name = tcp_ca_name(sk);
        s.info = ss_info_text(info, s.ca_name, sk.state);
    }
    return s;
}

}  // namespace

std::vector<SsSocket> ss_sockets(Stack& stack, bool all) {
    std::vector<SsSocket> out;
    for (const std::shared_ptr<TcpSock>& sk : stack.tcp().sockets()) {
        // lock_sock, as inet_diag's dump takes the socket before reading it: the fields are
        // the owner's, and a segment arriving meanwhile waits on the backlog.
        sk->lock();
        if (ss_listed(sk->state, all)) out.push_back(read_socket(*sk, stack.clock().now_ns()));
        sk->release();
    }
    return out;
}

std::string ss_text(Stack& stack, bool all) { return ss_listing(ss_sockets(stack, all)); }

}  // namespace vlo::ss
