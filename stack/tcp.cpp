// TCP: sockets, lookup tables, demultiplexing (tcp_v4_rcv), passive open and SYN cookies,
// and the user-side operations. The state machine proper is in tcp_input.cpp, segment output
// and timers in tcp_output.cpp.
#include "stack/tcp.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <utility>

#include "stack/stack.hpp"
#include "stack/tcp_seq.hpp"

namespace vlo {

const char* tcp_state_name(TcpState s) {
    static const char* const names[] = {"?",          "ESTABLISHED", "SYN_SENT",  "SYN_RECV",
                                        "FIN_WAIT1",  "FIN_WAIT2",   "TIME_WAIT", "CLOSE",
                                        "CLOSE_WAIT", "LAST_ACK",    "LISTEN",    "CLOSING"};
    return names[static_cast<int>(s)];
}

// ---- ByteRing ----

void ByteRing::grow(std::size_t needed) {
    std::size_t cap = std::max(buf_.size(), kMinAlloc);
    while (cap < needed) cap *= 2;
    cap = std::min(cap, capacity_);
    std::vector<std::uint8_t> bigger(cap);
    if (size_) copy_out(0, {bigger.data(), size_});
    buf_ = std::move(bigger);
    head_ = 0;
}

void ByteRing::release_if_empty() {
    if (size_ != 0) return;
    std::vector<std::uint8_t>().swap(buf_);
    head_ = 0;
}

std::size_t ByteRing::push(std::span<const std::uint8_t> in) {
    const std::size_t n = std::min(in.size(), free());
    if (n == 0) return 0;
    if (size_ + n > buf_.size()) grow(size_ + n);
    const std::size_t cap = buf_.size();
    std::size_t tail = (head_ + size_) % (cap ? cap : 1);
    const std::size_t first = std::min(n, cap - tail);
    std::memcpy(buf_.data() + tail, in.data(), first);
    std::memcpy(buf_.data(), in.data() + first, n - first);
    size_ += n;
    return n;
}

void ByteRing::copy_out(std::size_t offset, std::span<std::uint8_t> out) const {
    const std::size_t cap = buf_.size();
    const std::size_t at = (head_ + offset) % cap;
    const std::size_t first = std::min(out.size(), cap - at);
    std::memcpy(out.data(), buf_.data() + at, first);
    std::memcpy(out.data() + first, buf_.data(), out.size() - first);
}

void ByteRing::pop(std::size_t n) {
    n = std::min(n, size_);
    head_ = buf_.empty() ? 0 : (head_ + n) % buf_.size();
    size_ -= n;
}

// ---- TcpSock ----

TcpSock::TcpSock(Tcp& t, std::size_t sndbuf, std::size_t rcvbuf)
    : tcp(t),
      sndq(sndbuf),
      rcvq(rcvbuf),
      rto(t.config().tcp_timeout_init),
      rexmit_timer(t.timers(),
                   [this] {
                       if (auto self = weak_from_this().lock()) {
                           std::unique_lock l(slock);
                           if (owned)
                               return rexmit_timer.arm(tcp.timers().clock().now_ns() +
                                                       kNsPerMs);  // deferred
                           tcp.on_rexmit_timer(*this);
                       }
                   }),
      delack_timer(t.timers(),
                   [this] {
                       if (auto self = weak_from_this().lock()) {
                           std::unique_lock l(slock);
                           if (owned)
                               return delack_timer.arm(tcp.timers().clock().now_ns() + kNsPerMs);
                           tcp.on_delack_timer(*this);
                       }
                   }),
      keepalive_timer(t.timers(), [this] {
          if (auto self = weak_from_this().lock()) {
              std::unique_lock l(slock);
              if (owned) return keepalive_timer.arm(tcp.timers().clock().now_ns() + kNsPerMs);
              tcp.on_keepalive_timer(*this);
          }
      }) {}

TcpSock::~TcpSock() {
    if (binding.bound) tcp.ports().unbind(binding);
}

void TcpSock::lock() {
    std::unique_lock l(slock);
    owner_cv.wait(l, [&] { return !owned; });
    owned = true;
}

void TcpSock::release() {
    std::unique_lock l(slock);
    while (!backlog_q.empty()) {
        PacketQueue q;
        q.splice_tail(backlog_q);
        backlog_bytes = 0;
        l.unlock();
        // __release_sock runs with bottom halves on, but the kernel's request socks have no
        // lock of their own. Ours do, and rcv_listen holds the child's while it sends the
        // SYN-ACK: NET_RX run inside that send would deliver the ACK to the same child and
        // wait on the lock its own thread holds. So each segment is processed as in softirq,
        // and the NET_RX it raised runs once the child's lock is free.
        while (PacketPtr p = q.pop_front()) {
            BhDisabled bh(tcp.stack().net_rx());
            tcp.do_rcv(*this, std::move(p));
        }
        l.lock();
    }
    if (mtu_info) tcp.mtu_reduced(*this);  // tcp_release_cb: TCP_MTU_REDUCED_DEFERRED
    owned = false;
    owner_cv.notify_one();
}

namespace {
// The socket whose lock this thread holds while NET_RX processes a segment for it (Tcp::rcv):
// its wakes wait until the lock is dropped, so the woken owner does not find it still taken
// and sleep again (the kernel's bh_lock_sock is a spinlock; ours puts a loser to sleep).
thread_local TcpSock* tl_rcv_locked = nullptr;
thread_local bool tl_rcv_wake = false;
}  // namespace

void TcpSock::wake() {
    if (tl_rcv_locked == this) {
        tl_rcv_wake = true;
        return;
    }
    wake_seq.notify_all();
    std::lock_guard l(wait_mu);
    if (on_wake) on_wake();
}

std::uint32_t TcpSock::unsent_end() const {
    return snd_una + static_cast<std::uint32_t>(sndq.size());
}

// ---- Tcp ----

// The secrets come from the stack's seed (stack_random.hpp), so a seeded run repeats.
Tcp::Tcp(Stack& stack)
    : stack_(stack),
      ports_(PortTable::Kind::tcp, stack.config().ip_local_port_range.low,
             stack.config().ip_local_port_range.high, stack.random().u32()),
      isn_key_(stack.random().key()),
      cookie_key_(stack.random().key()),
      id_key_(stack.random().key()) {}

Tcp::~Tcp() {
    // Break the cycles: sockets hold timers, tables hold sockets.
    std::unordered_map<Key, std::shared_ptr<TcpSock>, KeyHash> e;
    std::unordered_map<std::uint64_t, std::shared_ptr<TcpSock>> l;
    {
        std::lock_guard lock(tables_mu_);
        e.swap(ehash_);
        l.swap(listeners_);
    }
    for (auto& [k, sk] : l) {
        std::lock_guard g(sk->accept_mu);
        sk->accept_queue.clear();
    }
}

const TcpConfig& Tcp::config() const { return stack_.config().tcp; }
TimerService& Tcp::timers() { return stack_.timers(); }
Nanos Tcp::now() const { return stack_.clock().now_ns(); }

std::size_t Tcp::KeyHash::operator()(const Key& k) const {
    std::uint64_t h = (std::uint64_t{k.laddr} << 32 | k.raddr) * 0x9e3779b97f4a7c15ULL;
    h ^= (std::uint64_t{k.lport} << 16 | k.rport) * 0xc2b2ae3d27d4eb4fULL;
    return static_cast<std::size_t>(h ^ (h >> 29));
}

std::shared_ptr<TcpSock> Tcp::create() {
    auto sk = std::make_shared<TcpSock>(*this, config().tcp_wmem, config().tcp_rmem);
    // tcp_assign_congestion_control: the default algorithm from the start (a listener shows
    // it too); its init runs when the connection is established.
    sk->ca_ops = tcp_ca_find(config().tcp_congestion_control);
    if (!sk->ca_ops) sk->ca_ops = tcp_ca_find("reno");
    // A random first IP ID (get_random_u16). Keyed SipHash over a counter: std::random_device per
    // socket cost more than the rest of a connection (its init probes the CPU on every call).
    const std::uint32_t n = sockets_created_.fetch_add(1, std::memory_order_relaxed);
    sk->ip_id = static_cast<std::uint16_t>(siphash_4u32(n, 0, 0, 0, id_key_));
    return sk;
}

void Tcp::hash(TcpSock& sk) {
    std::lock_guard lock(tables_mu_);
    ehash_[Key{sk.laddr.value, sk.raddr.value, sk.lport, sk.rport}] = sk.shared_from_this();
    sk.hashed = true;
}

void Tcp::unhash(TcpSock& sk) {
    std::shared_ptr<TcpSock> keep;  // freed outside the table lock
    std::lock_guard lock(tables_mu_);
    if (sk.state == TcpState::listen) {
        auto it = listeners_.find(std::uint64_t{sk.laddr.value} << 16 | sk.lport);
        if (it != listeners_.end() && it->second.get() == &sk) {
            keep = std::move(it->second);
            listeners_.erase(it);
        }
    }
    if (!sk.hashed) return;
    auto it = ehash_.find(Key{sk.laddr.value, sk.raddr.value, sk.lport, sk.rport});
    if (it != ehash_.end() && it->second.get() == &sk) {
        keep = std::move(it->second);
        ehash_.erase(it);
    }
    sk.hashed = false;
}

std::shared_ptr<TcpSock> Tcp::lookup_established(Ipv4Address laddr, std::uint16_t lport,
                                                 Ipv4Address raddr, std::uint16_t rport) {
    std::lock_guard lock(tables_mu_);
    auto it = ehash_.find(Key{laddr.value, raddr.value, lport, rport});
    return it == ehash_.end() ? nullptr : it->second;
}

// __inet_lookup_listener: the listener bound to the exact address first, then the wildcard.
std::shared_ptr<TcpSock> Tcp::lookup_listener(Ipv4Address laddr, std::uint16_t lport) {
    std::lock_guard lock(tables_mu_);
    auto it = listeners_.find(std::uint64_t{laddr.value} << 16 | lport);
    if (it == listeners_.end()) it = listeners_.find(lport);
    return it == listeners_.end() ? nullptr : it->second;
}

// tcp_v4_rcv
void Tcp::rcv(PacketPtr pkt) {
    pkt->trace.stamp(Stage::tcp_v4_rcv);
    const wire::Ipv4View iph(pkt->network_bytes());
    auto drop = [&](DropReason r) { stack_.net_rx().drops().kfree_skb_reason(std::move(pkt), r); };
    if (wire::TcpView::check(pkt->bytes()) != wire::TcpView::Error::none) {
        stats_.tcp.inc(TcpMib::InErrs);
        return drop(DropReason::pkt_too_small);
    }
    // lo vouches for the checksum (CHECKSUM_UNNECESSARY); anything else is verified.
    if (pkt->ip_summed != ChecksumState::unnecessary &&
        wire::tcp_checksum(iph.src(), iph.dst(), pkt->bytes()) != 0) {
        stats_.tcp.inc(TcpMib::InCsumErrors);
        stats_.tcp.inc(TcpMib::InErrs);
        return drop(DropReason::tcp_csum);
    }
    if (pkt->pkt_type != PacketType::host) return drop(DropReason::not_specified);
    stats_.tcp.inc(TcpMib::InSegs);
    const wire::TcpView th(pkt->bytes());
    std::shared_ptr<TcpSock> sk =
        lookup_established(iph.dst(), th.dst_port(), iph.src(), th.src_port());
    if (!sk) sk = lookup_listener(iph.dst(), th.dst_port());
    if (!sk) {
        // No socket: a RST (tcp_v4_send_reset), never in reply to a RST.
        send_reset(*pkt, th);
        return drop(DropReason::no_socket);
    }
    std::unique_lock l(sk->slock);
    if (sk->owned) {
        // The owner processes it at release_sock; bounded like sk_add_backlog.
        const std::size_t limit = sk->rcvq.capacity() + sk->sndq.capacity();
        if (sk->backlog_bytes + pkt->capacity() > limit) {
            stats_.ext.inc(TcpExtMib::TCPBacklogDrop);
            l.unlock();
            return drop(DropReason::socket_backlog);
        }
        sk->backlog_bytes += pkt->capacity();
        sk->backlog_q.push_back(std::move(pkt));
        return;
    }
    TcpSock* const outer = std::exchange(tl_rcv_locked, sk.get());
    const bool outer_wake = std::exchange(tl_rcv_wake, false);
    do_rcv(*sk, std::move(pkt));
    l.unlock();
    tl_rcv_locked = outer;
    if (std::exchange(tl_rcv_wake, outer_wake)) sk->wake();
}

bool Tcp::sending() {
    std::vector<std::shared_ptr<TcpSock>> socks;
    {
        std::lock_guard g(tables_mu_);  // copied out: slock is never taken under tables_mu_
        for (const auto& [key, sk] : ehash_) socks.push_back(sk);
    }
    for (const auto& sk : socks) {
        std::lock_guard l(sk->slock);
        if (sk->owned) return true;  // an owner at work: in flux, so busy
        switch (sk->state) {
            case TcpState::established:
            case TcpState::close_wait:
                if (sk->flight() > 0 || sk->sndq.size() > 0) return true;
                break;
            case TcpState::fin_wait1:
            case TcpState::closing:
            case TcpState::last_ack:
                return true;  // our FIN is not acknowledged yet
            default:
                break;
        }
    }
    return false;
}

std::vector<std::shared_ptr<TcpSock>> Tcp::sockets() {
    std::vector<std::shared_ptr<TcpSock>> socks;
    std::lock_guard g(tables_mu_);
    socks.reserve(listeners_.size() + ehash_.size());
    for (const auto& [key, sk] : listeners_) socks.push_back(sk);
    for (const auto& [key, sk] : ehash_) socks.push_back(sk);
    return socks;
}

void Tcp::do_rcv(TcpSock& sk, PacketPtr pkt) {
    const wire::TcpView th(pkt->bytes());
    const wire::TcpOptions opts = th.options();
    if (sk.state == TcpState::listen) return rcv_listen(sk, std::move(pkt), th, opts);
    rcv_state_process(sk, std::move(pkt), th, opts);
}

std::uint16_t Tcp::route_mss(Ipv4Address raddr) {
    Route rt;
    if (stack_.ip().route_output(raddr, {}, nullptr, rt)) return 536;
    // ipv4_default_advmss: the route's MTU less 40 bytes of headers, at most 65535 - 40.
    const std::uint32_t mtu = std::min<std::uint32_t>(rt.dev->mtu(), 65535);
    return static_cast<std::uint16_t>(mtu - 40);
}

std::uint32_t Tcp::isn(Ipv4Address laddr, std::uint16_t lport, Ipv4Address raddr,
                       std::uint16_t rport) {
    // RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a 4 µs clock
    // (secure_tcp_seq: the clock in ns >> 6, ~64 ns; the RFC's 4 µs is a minimum rate).
    const auto f = static_cast<std::uint32_t>(
        siphash_4u32(laddr.value, raddr.value, std::uint32_t{lport} << 16 | rport, 0, isn_key_));
    const auto m = static_cast<std::uint32_t>(stack_.clock().now_ns() >> 6);  // the stack's clock
    return f + m;
}

// ---- passive open ----

namespace {
constexpr std::uint16_t kCookieMss[] = {536, 1300, 1440, 1460};  // msstab (syncookies.c)
constexpr std::uint32_t kCookieBits = 24;
constexpr std::uint32_t kCookieMask = (1u << kCookieBits) - 1;
}  // namespace

std::uint32_t Tcp::cookie(Ipv4Address laddr, std::uint16_t lport, Ipv4Address raddr,
                          std::uint16_t rport, std::uint32_t seq, std::uint32_t minute,
                          std::uint32_t mssind) {
    // secure_tcp_syn_cookie: H1 + their ISN + (minute << 24) + ((H2(minute) + data) & mask)
    const std::uint32_t ports = std::uint32_t{lport} << 16 | rport;
    const auto h1 =
        static_cast<std::uint32_t>(siphash_4u32(raddr.value, laddr.value, ports, 0, cookie_key_));
    const auto h2 = static_cast<std::uint32_t>(
        siphash_4u32(raddr.value, laddr.value, ports, minute, cookie_key_) >> 32);
    return h1 + seq + (minute << kCookieBits) + ((h2 + mssind) & kCookieMask);
}

std::optional<std::uint16_t> Tcp::cookie_check(const wire::TcpView& th, Ipv4Address laddr,
                                               Ipv4Address raddr) {
    const std::uint32_t their_isn = th.seq() - 1, cookie_val = th.ack() - 1;
    const std::uint32_t ports = std::uint32_t{th.dst_port()} << 16 | th.src_port();
    const auto h1 =
        static_cast<std::uint32_t>(siphash_4u32(raddr.value, laddr.value, ports, 0, cookie_key_));
    const std::uint32_t diff = cookie_val - h1 - their_isn;
    const std::uint32_t minute = diff >> kCookieBits;
    const auto now_minute = static_cast<std::uint32_t>(stack_.clock().now_ns() / (60 * kNsPerSec));
    if (((now_minute - minute) & (0xffffffffu >> kCookieBits)) > 2)
        return std::nullopt;  // MAX_SYNCOOKIE_AGE
    const auto h2 = static_cast<std::uint32_t>(
        siphash_4u32(raddr.value, laddr.value, ports, minute, cookie_key_) >> 32);
    const std::uint32_t mssind = (diff - h2) & kCookieMask;
    if (mssind >= std::size(kCookieMss)) return std::nullopt;
    return kCookieMss[mssind];
}

std::shared_ptr<TcpSock> Tcp::make_child(TcpSock& listener, Ipv4Address laddr, Ipv4Address raddr,
                                         const wire::TcpView& th, const wire::TcpOptions& opts) {
    auto child = create();
    child->laddr = laddr;
    child->raddr = raddr;
    child->lport = th.dst_port();
    child->rport = th.src_port();
    child->nodelay = listener.nodelay;
    child->parent = listener.weak_from_this();
    child->irs = th.seq();
    child->rcv_nxt = th.seq() + 1;
    child->rcv_wup = child->rcv_nxt;
    child->snd_wnd = th.window();  // a SYN's window is never scaled (RFC 7323 2.2)
    child->snd_wl1 = th.seq();
    child->user_mss = listener.user_mss;
    child->peer_mss = mss_clamp(listener, opts.mss.value_or(536));  // tcp_parse_options' clamp
    child->wscale_ok = opts.wscale.has_value() && config().tcp_window_scaling;
    child->snd_wscale = child->wscale_ok ? *opts.wscale : 0;
    child->ts_ok = opts.timestamp.has_value() && config().tcp_timestamps;
    if (child->ts_ok) {
        child->ts_recent = opts.timestamp->first;
        child->ts_recent_stamp = stack_.clock().now_ns();
    }
    child->sack_ok = opts.sack_permitted && config().tcp_sack;
    // tcp_ecn_create_request: an ECN-setup SYN (ECE and CWR) and tcp_ecn 1 or 2.
    if ((th.flags() & wire::kTcpEce) && (th.flags() & wire::kTcpCwr) && config().tcp_ecn)
        child->ecn_flags = TcpSock::kEcnOk;
    child->ca_ops = listener.ca_ops;  // TCP_CONGESTION set on the listener is inherited
    // tcp_openreq_init_rwin: the SYN-ACK's window in segments of what we will receive.
    child->advmss = mss_clamp(listener, route_mss(raddr));
    select_initial_window(*child,
                          static_cast<std::uint16_t>(child->advmss - (child->ts_ok ? 12 : 0)),
                          child->wscale_ok);
    return child;
}

void Tcp::rcv_listen(TcpSock& listener, PacketPtr pkt, const wire::TcpView& th,
                     const wire::TcpOptions& opts) {
    const wire::Ipv4View iph(pkt->network_bytes());
    auto drop = [&](DropReason r) { stack_.net_rx().drops().kfree_skb_reason(std::move(pkt), r); };
    const std::uint8_t flags = th.flags();
    if (flags & wire::kTcpRst) return drop(DropReason::not_specified);
    if (flags & wire::kTcpAck) {
        // A bare ACK may complete a SYN-cookie handshake (cookie_v4_check).
        if (config().tcp_syncookies && !(flags & wire::kTcpSyn)) {
            if (auto mss = cookie_check(th, iph.dst(), iph.src())) {
                stats_.ext.inc(TcpExtMib::SyncookiesRecv);
                auto child = make_child(listener, iph.dst(), iph.src(), th, wire::TcpOptions{});
                child->peer_mss = *mss;
                child->iss = th.ack() - 1;
                child->snd_sml = child->iss;
                child->snd_una = child->iss;  // the ACK in hand acknowledges our (cookie) SYN
                child->snd_nxt = th.ack();
                child->irs = th.seq() - 1;
                child->rcv_nxt = child->rcv_wup = th.seq();
                child->wscale_ok = child->ts_ok = child->sack_ok =
                    false;  // the cookie kept no options
                child->snd_wscale = 0;
                child->snd_wnd = th.window();
                child->advmss = route_mss(iph.src());
                select_initial_window(*child, child->advmss, false);
                child->mss = std::min<std::uint16_t>(*mss, child->advmss);
                child->state = TcpState::syn_recv;
                hash(*child);
                listener.syn_queue.fetch_add(1);
                std::lock_guard g(child->slock);
                rcv_state_process(*child, std::move(pkt), th, opts);
                return;
            }
            stats_.ext.inc(TcpExtMib::SyncookiesFailed);
        }
        send_reset(*pkt, th);  // RFC 9293 3.10.7.2: <SEQ=SEG.ACK><CTL=RST>
        return drop(DropReason::no_socket);
    }
    if (!(flags & wire::kTcpSyn)) return drop(DropReason::not_specified);

    // A SYN. The accept queue full: drop it (tcp_conn_request, ListenOverflows + ListenDrops).
    {
        std::lock_guard g(listener.accept_mu);
        if (static_cast<int>(listener.accept_queue.size()) >= listener.backlog + 1) {
            stats_.ext.inc(TcpExtMib::ListenOverflows);
            stats_.ext.inc(TcpExtMib::ListenDrops);
            return drop(DropReason::not_specified);
        }
    }
    const bool syn_queue_full =
        listener.syn_queue.load() >= std::min(listener.backlog + 1, config().tcp_max_syn_backlog);
    if (syn_queue_full) {
        if (!config().tcp_syncookies) {
            stats_.ext.inc(TcpExtMib::ListenDrops);
            return drop(DropReason::not_specified);
        }
        // SYN flood: answer statelessly with a cookie as our ISN (RFC 4987 3.6).
        stats_.ext.inc(TcpExtMib::SyncookiesSent);
        const std::uint16_t their_mss = opts.mss.value_or(536);
        std::uint32_t mssind = 0;
        for (std::uint32_t i = 0; i < std::size(kCookieMss); ++i)
            if (kCookieMss[i] <= their_mss) mssind = i;
        const auto minute = static_cast<std::uint32_t>(stack_.clock().now_ns() / (60 * kNsPerSec));
        TcpSock tmp(*this, 0, config().tcp_rmem);  // the window it offers; no memory is taken
        tmp.laddr = iph.dst();
        tmp.raddr = iph.src();
        tmp.lport = th.dst_port();
        tmp.rport = th.src_port();
        tmp.iss =
            cookie(iph.dst(), th.dst_port(), iph.src(), th.src_port(), th.seq(), minute, mssind);
        tmp.snd_nxt = tmp.iss;
        tmp.rcv_nxt = th.seq() + 1;
        tmp.state = TcpState::syn_recv;
        tmp.peer_mss = their_mss;
        tmp.advmss = route_mss(iph.src());
        select_initial_window(tmp, tmp.advmss, false);
        send_synack(tmp);
        return;  // consumed
    }
    auto child = make_child(listener, iph.dst(), iph.src(), th, opts);
    child->iss = isn(child->laddr, child->lport, child->raddr, child->rport);
    child->snd_sml = child->iss;
    child->snd_una = child->iss;
    child->snd_nxt = child->iss;
    child->state = TcpState::syn_recv;
    child->mss = std::min<std::uint16_t>(child->peer_mss, child->advmss);
    if (child->ts_ok) child->mss = static_cast<std::uint16_t>(child->mss - 12);
    listener.syn_queue.fetch_add(1);
    hash(*child);
    std::lock_guard g(child->slock);
    send_synack(*child);
    arm_rexmit(*child);
}

// The third ACK arrived for a passive open: the child joins its listener's accept queue.
void Tcp::child_established(TcpSock& child) {
    auto listener = child.parent.lock();
    if (!listener) return abort(child, std::errc::connection_reset);
    listener->syn_queue.fetch_sub(1);
    stats_.tcp.inc(TcpMib::PassiveOpens);
    {
        std::lock_guard g(listener->accept_mu);
        listener->accept_queue.push_back(child.shared_from_this());
    }
    child.parent.reset();
    listener->wake();
}

// ---- user operations (the socket is owned by the caller) ----

std::error_code Tcp::connect(TcpSock& sk, Ipv4Address addr, std::uint16_t port) {
    if (sk.state == TcpState::listen) return std::make_error_code(std::errc::invalid_argument);
    if (sk.state != TcpState::close) return std::make_error_code(std::errc::already_connected);
    if (port == 0) return std::make_error_code(std::errc::connection_refused);
    Route rt;
    const Ipv4Address src = sk.binding.bound ? sk.binding.addr : Ipv4Address{};
    if (std::error_code ec = stack_.ip().route_output(addr, src, nullptr, rt)) return ec;
    if (rt.type == RouteType::broadcast)
        return std::make_error_code(std::errc::network_unreachable);
    sk.laddr = rt.src;
    sk.raddr = rt.dst;
    sk.rport = port;
    if (!sk.binding.bound) {
        auto free = [&](std::uint16_t p) {
            return !lookup_established(sk.laddr, p, sk.raddr, port);
        };
        if (std::error_code ec = ports_.bind_connect(sk.binding, sk.laddr, sk.raddr, port, free))
            return ec;
    } else if (lookup_established(sk.laddr, sk.binding.port, sk.raddr, port)) {
        return std::make_error_code(std::errc::address_not_available);
    }
    sk.lport = sk.binding.port;
    sk.iss = isn(sk.laddr, sk.lport, sk.raddr, sk.rport);
    sk.snd_sml = sk.iss;
    sk.snd_una = sk.iss;
    sk.snd_nxt = sk.iss;
    set_state(sk, TcpState::syn_sent);
    sk.advmss = mss_clamp(sk, route_mss(sk.raddr));
    sk.mss = sk.advmss;
    sk.wscale_ok = config().tcp_window_scaling;  // offered; rcv_syn_sent learns if accepted
    select_initial_window(sk, sk.advmss, sk.wscale_ok);
    hash(sk);
    stats_.tcp.inc(TcpMib::ActiveOpens);
    send_syn(sk);
    arm_rexmit(sk);
    return {};
}

std::error_code Tcp::listen(TcpSock& sk, int backlog) {
    if (sk.state != TcpState::close && sk.state != TcpState::listen)
        return std::make_error_code(std::errc::invalid_argument);
    // listen(fd, n) holds min(n, somaxconn) (__sys_listen).
    sk.backlog = std::clamp(backlog, 0, config().somaxconn);
    if (sk.state == TcpState::listen) return {};
    if (!sk.binding.bound)
        if (std::error_code ec = ports_.bind(sk.binding, Ipv4Address{}, 0)) return ec;
    if (std::error_code ec = ports_.start_listening(sk.binding)) return ec;
    sk.laddr = sk.binding.addr;
    sk.lport = sk.binding.port;
    sk.state = TcpState::listen;
    std::lock_guard lock(tables_mu_);
    listeners_[std::uint64_t{sk.laddr.value} << 16 | sk.lport] = sk.shared_from_this();
    return {};
}

std::size_t Tcp::sendmsg(TcpSock& sk, std::span<const std::uint8_t> data, TcpSendFlags flags) {
    const std::size_t n = sk.sndq.push(data);
    if (n) {
        sk.push_mark = !flags.more;  // tcp_push marks the write's end unless MSG_MORE
        sk.nagle_push = false;       // tcp_skb_entail: new data ends a TCP_NAGLE_PUSH
        // MSG_EOR on the whole write: its last skb takes nothing more, so its PSH stays.
        if (flags.eor && n == data.size()) sk.eor_marks.push_back({sk.unsent_end(), !flags.more});
        push_pending(sk, flags.more ? Push::more : Push::normal);
    }
    return n;
}

// __tcp_sock_set_cork: corked, only full segments leave; uncorking pushes what waited
// (regardless of Nagle with TCP_NODELAY).
void Tcp::set_cork(TcpSock& sk, bool on) {
    sk.cork = on;
    if (on) return;
    if (sk.nodelay) sk.nagle_push = true;
    push_pending(sk);
}

std::size_t Tcp::recvmsg(TcpSock& sk, std::span<std::uint8_t> out) {
    const std::size_t n = std::min(out.size(), sk.rcvq.size());
    if (n == 0) return 0;
    sk.rcvq.copy_out(0, out.first(n));
    sk.rcvq.pop(n);
    // __tcp_cleanup_rbuf: an ACK owed for more than a segment goes now; else one only when
    // reading lets the offered window at least double (a sender stalled on a small window
    // waits for it), and never once the peer has closed its side.
    bool time_to_ack = sk.ack_pending && sk.rcv_nxt - sk.rcv_wup > sk.rcv_mss;
    if (!time_to_ack && !sk.fin_rcvd) {
        const std::uint32_t now = receive_window(sk);
        if (2 * now <= sk.window_clamp) {
            const std::uint32_t offered = window_space(sk);
            time_to_ack = offered && offered >= 2 * now;
        }
    }
    if (time_to_ack) send_ack(sk);
    return n;
}

void Tcp::shutdown_wr(TcpSock& sk) {
    if (sk.fin_queued) return;
    switch (sk.state) {
        case TcpState::established:
            set_state(sk, TcpState::fin_wait1);
            break;
        case TcpState::close_wait:
            set_state(sk, TcpState::last_ack);
            break;
        case TcpState::syn_sent:
        case TcpState::close:
        case TcpState::listen:
            return;
        default:
            break;
    }
    sk.fin_queued = true;
    push_pending(sk);
}

void Tcp::close(TcpSock& sk) {
    sk.orphan = true;
    sk.shut_rd = true;
    switch (sk.state) {
        case TcpState::listen: {
            unhash(sk);
            ports_.unbind(sk.binding);
            sk.state = TcpState::close;
            std::deque<std::shared_ptr<TcpSock>> pending;
            {
                std::lock_guard g(sk.accept_mu);
                pending.swap(sk.accept_queue);
            }
            for (auto& child : pending) {  // inet_csk_listen_stop: unaccepted children are reset
                child->lock();
                abort(*child, std::errc::connection_reset);
                child->release();
            }
            return;
        }
        case TcpState::syn_sent:
        case TcpState::close:
            done(sk);
            return;
        default:
            break;
    }
    // Unread data at close means the application lost it: RST, not FIN (RFC 2525 2.17).
    if (sk.rcvq.size() > 0) {
        stats_.ext.inc(TcpExtMib::TCPAbortOnClose);
        return abort(sk, std::errc::connection_reset);
    }
    shutdown_wr(sk);
}

void Tcp::abort(TcpSock& sk, std::errc reason) {
    const bool synchronized = sk.state != TcpState::close && sk.state != TcpState::listen &&
                              sk.state != TcpState::syn_sent && sk.state != TcpState::time_wait;
    if (synchronized) {
        transmit(sk, sk.snd_nxt, wire::kTcpRst | wire::kTcpAck, 0, 0, false);
        stats_.tcp.inc(TcpMib::OutRsts);
    }
    sk.err = std::make_error_code(reason);
    done(sk);
}

// tcp_done: the connection is over; the socket leaves the tables.
void Tcp::done(TcpSock& sk) {
    if (sk.state == TcpState::syn_recv)
        if (auto listener = sk.parent.lock()) listener->syn_queue.fetch_sub(1);
    set_state(sk, TcpState::close);
    sk.rexmit_timer.cancel();
    sk.delack_timer.cancel();
    sk.keepalive_timer.cancel();
    sk.shut_rd = true;
    sk.sndq.release_if_empty();  // what is left unread stays readable
    sk.rcvq.release_if_empty();
    unhash(sk);
}

}  // namespace vlo

namespace vlo {

// tcp_v4_err: an ICMP error about one of our segments. Only a segment we have in flight counts
// (RFC 5927 4.1: the quoted sequence number must lie between SND.UNA and SND.NXT). A hard error
// ends a connection still being set up; an established one only remembers it (sk_err_soft), as a
// router's complaint is no proof the path is gone (RFC 1122 4.2.3.9).
void Tcp::err(std::uint8_t type, std::uint8_t code, std::uint32_t info, const wire::Ipv4View& inner,
              std::span<const std::uint8_t> transport) {
    (void)info;
    const std::uint16_t sport = wire::load16(&transport[0]), dport = wire::load16(&transport[2]);
    const std::uint32_t seq = wire::load32(&transport[4]);
    auto sk = lookup_established(inner.src(), sport, inner.dst(), dport);
    if (!sk) return;
    std::unique_lock l(sk->slock);
    // A user call holds the socket (connect() sending its SYN, say): the error can only be
    // remembered, not acted on (tcp_v4_err: LockDroppedIcmps, then sk_err_soft below). A SYN
    // retransmitted later draws the error again, with the socket free.
    const bool owned = sk->owned;
    if (owned && !(type == wire::kIcmpDestUnreach && code == wire::kIcmpFragNeeded))
        stats_.ext.inc(TcpExtMib::LockDroppedIcmps);
    // between(seq, snd_una, snd_nxt), both ends included: connect() moves snd_nxt past the SYN
    // only after sending it, and on lo the error is back before that.
    if (!seq_leq(sk->snd_una, seq) || !seq_leq(seq, sk->snd_nxt)) return;
    int e;
    if (type == wire::kIcmpDestUnreach) {
        // icmp_err_convert (net/ipv4/icmp.c), codes 0..NR_ICMP_UNREACH; beyond: ignored.
        static constexpr int kIcmpErrConvert[] = {
            ENETUNREACH,   // ICMP_NET_UNREACH
            EHOSTUNREACH,  // ICMP_HOST_UNREACH
            ENOPROTOOPT,   // ICMP_PROT_UNREACH
            ECONNREFUSED,  // ICMP_PORT_UNREACH
            EMSGSIZE,      // ICMP_FRAG_NEEDED
            EOPNOTSUPP,    // ICMP_SR_FAILED
            ENETUNREACH,   // ICMP_NET_UNKNOWN
            EHOSTDOWN,     // ICMP_HOST_UNKNOWN
            ENONET,        // ICMP_HOST_ISOLATED
            ENETUNREACH,   // ICMP_NET_ANO (net-prohibited)
            EHOSTUNREACH,  // ICMP_HOST_ANO (host-prohibited)
            ENETUNREACH,   // ICMP_NET_UNR_TOS
            EHOSTUNREACH,  // ICMP_HOST_UNR_TOS
            EHOSTUNREACH,  // ICMP_PKT_FILTERED (admin-prohibited)
            EHOSTUNREACH,  // ICMP_PREC_VIOLATION
            EHOSTUNREACH,  // ICMP_PREC_CUTOFF
        };
        if (code >= std::size(kIcmpErrConvert)) return;
        if (code == wire::kIcmpFragNeeded) {
            // PMTU discovery (RFC 1191): the path's MTU, now or when the owner lets go.
            if (sk->state == TcpState::listen) return;
            sk->mtu_info = info & 0xffff;
            if (!owned) mtu_reduced(*sk);
            return;
        }
        e = kIcmpErrConvert[code];
    } else if (type == wire::kIcmpParameterProb) {
        e = EPROTO;
    } else if (type == wire::kIcmpTimeExceeded) {
        e = EHOSTUNREACH;
    } else {
        return;
    }
    const std::error_code ec(e, std::generic_category());
    if ((sk->state == TcpState::syn_sent || sk->state == TcpState::syn_recv) && !owned) {
        if (sk->state == TcpState::syn_sent) stats_.tcp.inc(TcpMib::AttemptFails);
        sk->err = ec;
        done(*sk);
    } else {
        sk->soft_err = ec;
    }
}

}  // namespace vlo
