// TCP (RFC 9293, net/ipv4/tcp*.c). A TcpSock is one endpoint: the control block, its buffers,
// timers and the socket lock. The Tcp protocol object owns the lookup tables, ISN and SYN-cookie
// secrets and demultiplexes segments (tcp_v4_rcv).
//
// Locking follows the kernel (lock_sock / bh_lock_sock): `slock` is a short mutex; a user call
// marks the socket `owned` for its whole duration without holding slock; a segment arriving in
// NET_RX takes slock and, if the socket is owned, parks on the socket backlog, which the owner
// processes in release_sock. So a thread that sends and thereby runs NET_RX inline never
// deadlocks on its own socket. All control-block fields are touched only by the owner or by
// the holder of slock when not owned.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "netif/packet_queue.hpp"
#include "stack/ip.hpp"
#include "stack/port_table.hpp"
#include "stack/seq_wait.hpp"
#include "stack/siphash.hpp"
#include "stack/tcp_config.hpp"
#include "stack/tcp_mib.hpp"
#include "stack/tcp_seq.hpp"
#include "stack/timer_service.hpp"
#include "stack/wire/tcp.hpp"

namespace vlo {

class Stack;
class Tcp;

// include/net/tcp_states.h numbering, so states print as /proc/net/tcp shows them.
enum class TcpState : std::uint8_t {
    established = 1, syn_sent, syn_recv, fin_wait1, fin_wait2, time_wait, close, close_wait,
    last_ack, listen, closing,
};
const char* tcp_state_name(TcpState s);

// A byte ring with a fixed capacity: the send queue (from snd_una) and the receive queue. The
// memory is taken as data arrives, growing by doubling up to the capacity (as the kernel
// charges sk_wmem/sk_rmem per skb rather than reserving sk_sndbuf up front), so listeners,
// idle and request/response sockets cost little and a connection never zero-fills megabytes.
class ByteRing {
public:
    static constexpr std::size_t kMinAlloc = 4096;

    explicit ByteRing(std::size_t capacity = 0) : capacity_(capacity) {}
    std::size_t size() const { return size_; }
    std::size_t capacity() const { return capacity_; }
    std::size_t free() const { return capacity_ - size_; }
    std::size_t allocated() const { return buf_.size(); }
    std::size_t push(std::span<const std::uint8_t> in);       // appends what fits
    void copy_out(std::size_t offset, std::span<std::uint8_t> out) const;  // peek
    void pop(std::size_t n);                                   // drops from the front
    void release_if_empty();                                   // gives the memory back

private:
    void grow(std::size_t needed);  // to at least `needed` bytes, contents kept in order

    std::size_t capacity_;
    std::vector<std::uint8_t> buf_;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

struct TcpSock : std::enable_shared_from_this<TcpSock> {
    TcpSock(Tcp& tcp, std::size_t sndbuf, std::size_t rcvbuf);
    ~TcpSock();

    Tcp& tcp;
    TcpState state = TcpState::close;

    // Addresses and the port binding.
    Ipv4Address laddr, raddr;
    std::uint16_t lport = 0, rport = 0;
    PortBinding binding;
    bool hashed = false;  // in the established table

    // Send sequence space (RFC 9293 3.3.1).
    std::uint32_t iss = 0, snd_una = 0, snd_nxt = 0, snd_wl1 = 0, snd_wl2 = 0;
    std::uint32_t snd_wnd = 0;   // scaled, in bytes
    std::uint32_t max_window = 0;
    std::uint8_t snd_wscale = 0;
    std::uint16_t mss = 536;     // our segment payload limit (mss_cache), options excluded
    // Receive sequence space.
    std::uint32_t irs = 0, rcv_nxt = 0, rcv_wup = 0, rcv_wnd = 0;  // rcv_wnd: last advertised
    std::uint8_t rcv_wscale = 0;
    bool wscale_ok = false, ts_ok = false;
    std::uint32_t ts_recent = 0;
    std::uint16_t peer_mss = 536;

    // Queues. sndq holds [snd_una, end of written data); rcvq holds in-order unread data.
    ByteRing sndq, rcvq;
    std::map<std::uint32_t, std::vector<std::uint8_t>, SeqLess> ooo;  // out-of-order, by sequence
    bool fin_queued = false;  // close()/shutdown(SHUT_WR): a FIN follows the data
    bool fin_sent = false;
    bool fin_rcvd = false;
    bool shut_rd = false;

    // RTT and retransmission (RFC 6298).
    Nanos srtt = 0, rttvar = 0, rto;
    int backoff = 0;         // icsk_backoff: doublings since the last good ACK
    int retransmits = 0;     // consecutive timeouts of the same data
    std::uint32_t rtt_seq = 0;
    Nanos rtt_start = 0;     // 0: no segment being timed (Karn)
    // Congestion control: Reno with NewReno recovery (RFC 5681, RFC 6582).
    std::uint32_t cwnd = 0, ssthresh = 0x7fffffff, bytes_acked = 0;
    int dupacks = 0;
    bool in_recovery = false;
    std::uint32_t recover = 0;

    // Delayed ACK (tcp_send_delayed_ack) and what is owed.
    int quick_acks = 0;      // ACK every segment for a while after start (quickack mode)
    int segs_since_ack = 0;
    bool ack_pending = false;

    Nanos last_rcv = 0;  // for keepalive's idle time

    // Options from setsockopt.
    bool nodelay = false;
    bool keepalive = false;
    int keepalive_probes_sent = 0;

    // Listener state. The accept queue has its own lock, as the kernel's rskq_lock: children
    // join it from their own context.
    int backlog = 0;
    std::atomic<int> syn_queue{0};  // children in SYN_RECV
    std::mutex accept_mu;
    std::deque<std::shared_ptr<TcpSock>> accept_queue;  // guarded by accept_mu
    std::weak_ptr<TcpSock> parent;  // a SYN_RECV child's listener
    int synack_retries = 0;

    // Errors and user-visible state.
    std::error_code err;       // sk_err: reported once by the next call
    std::error_code soft_err;  // sk_err_soft: reported only if the connection then times out
    bool orphan = false;  // closed by the user, lingering in the protocol
    std::uint16_t ip_id = 0;

    // The socket lock (see the file comment).
    std::mutex slock;
    std::condition_variable owner_cv;  // owned went false
    bool owned = false;                // guarded by slock
    PacketQueue backlog_q;             // guarded by slock
    std::size_t backlog_bytes = 0;     // guarded by slock
    // Waiting for data or a state change: wake() moves wake_seq on (seq_wait.hpp).
    SeqEvent wake_seq;
    // Called on every wake (data, space, state change) from whatever thread caused it, with
    // the socket lock possibly held: it must only hand off (e.g. post to an event loop).
    std::mutex wait_mu;
    std::function<void()> on_wake;  // guarded by wait_mu

    Timer rexmit_timer;     // retransmission, SYN, persist
    Timer delack_timer;
    Timer keepalive_timer;  // also FIN_WAIT2 and TIME_WAIT

    void lock();     // lock_sock
    void release();  // release_sock: process the backlog, then drop ownership
    void wake();     // sk_data_ready / sk_state_change / sk_write_space

    std::uint32_t flight() const { return snd_nxt - snd_una; }
    std::uint32_t unsent_end() const;  // sequence just past the last byte written (not FIN)
};


class Tcp final : public InetProtocol {
public:
    explicit Tcp(Stack& stack);
    ~Tcp() override;

    Stack& stack() { return stack_; }
    TcpStats& stats() { return stats_; }
    std::shared_ptr<TcpSock> create();  // socket(AF_INET, SOCK_STREAM, 0)
    const TcpConfig& config() const;
    PortTable& ports() { return ports_; }
    TimerService& timers();

    // tcp_v4_rcv
    void rcv(PacketPtr pkt) override;
    void err(std::uint8_t type, std::uint8_t code, std::uint32_t info, const wire::Ipv4View& inner,
             std::span<const std::uint8_t> transport) override;

    // Socket operations, called by TcpSocket with the socket owned.
    std::error_code connect(TcpSock& sk, Ipv4Address addr, std::uint16_t port);
    std::error_code listen(TcpSock& sk, int backlog);
    std::size_t sendmsg(TcpSock& sk, std::span<const std::uint8_t> data);  // bytes queued
    std::size_t recvmsg(TcpSock& sk, std::span<std::uint8_t> out);         // bytes read
    void shutdown_wr(TcpSock& sk);
    void close(TcpSock& sk);  // tcp_close: FIN or RST (unread data), then orphaned
    void abort(TcpSock& sk, std::errc reason);
    void hash(TcpSock& sk);
    void unhash(TcpSock& sk);
    // Whether some connection still has data or a FIN its peer has not acknowledged: what the
    // kernel goes on sending after a process closes its sockets and exits (orphans). A
    // program whose stack dies with it waits for this to clear first.
    bool sending();

    // Processing of a segment for sk, with sk locked (by slock or ownership).
    void do_rcv(TcpSock& sk, PacketPtr pkt);
    void push_pending(TcpSock& sk);  // tcp_push: send what Nagle and the windows allow
    void send_ack(TcpSock& sk);
    // Timer bodies, with sk locked.
    void on_rexmit_timer(TcpSock& sk);
    void on_delack_timer(TcpSock& sk);
    void on_keepalive_timer(TcpSock& sk);


private:
    struct Key {
        std::uint32_t laddr, raddr;
        std::uint16_t lport, rport;
        bool operator==(const Key&) const = default;
    };
    struct KeyHash {
        std::size_t operator()(const Key& k) const;
    };

    std::shared_ptr<TcpSock> lookup_established(Ipv4Address laddr, std::uint16_t lport, Ipv4Address raddr,
                                                std::uint16_t rport);
    std::shared_ptr<TcpSock> lookup_listener(Ipv4Address laddr, std::uint16_t lport);
    void rcv_listen(TcpSock& listener, PacketPtr pkt, const wire::TcpView& th, const wire::TcpOptions& opts);
    void rcv_syn_sent(TcpSock& sk, const wire::TcpView& th, const wire::TcpOptions& opts, const Packet& pkt);
    void rcv_state_process(TcpSock& sk, PacketPtr pkt, const wire::TcpView& th, const wire::TcpOptions& opts);
    bool ack_process(TcpSock& sk, const wire::TcpView& th, const wire::TcpOptions& opts);
    void data_queue(TcpSock& sk, const wire::TcpView& th);
    void fin_received(TcpSock& sk);
    void established(TcpSock& sk);
    void child_established(TcpSock& child);
    void time_wait(TcpSock& sk);
    void done(TcpSock& sk);
    void reset_received(TcpSock& sk);
    void send_challenge_ack(TcpSock& sk);
    void send_reset(const Packet& pkt, const wire::TcpView& th);  // tcp_v4_send_reset
    void send_syn(TcpSock& sk);
    void send_synack(TcpSock& sk);
    void retransmit_head(TcpSock& sk);
    void arm_rexmit(TcpSock& sk);
    void rtt_sample(TcpSock& sk, Nanos rtt);
    void schedule_ack(TcpSock& sk, bool immediate);
    // Builds and sends one segment; `payload_off` is the offset into sndq.
    void transmit(TcpSock& sk, std::uint32_t seq, std::uint8_t flags, std::size_t payload_off,
                  std::size_t payload_len, bool syn_options);
    void set_state(TcpSock& sk, TcpState next);
    static std::uint32_t receive_window(const TcpSock& sk);  // tcp_receive_window
    std::uint16_t select_window(TcpSock& sk);                // tcp_select_window
    std::uint32_t isn(Ipv4Address laddr, std::uint16_t lport, Ipv4Address raddr, std::uint16_t rport);
    std::uint32_t cookie(Ipv4Address laddr, std::uint16_t lport, Ipv4Address raddr, std::uint16_t rport,
                         std::uint32_t seq, std::uint32_t minute, std::uint32_t mssind);
    std::optional<std::uint16_t> cookie_check(const wire::TcpView& th, Ipv4Address laddr, Ipv4Address raddr);
    std::shared_ptr<TcpSock> new_sock();
    std::shared_ptr<TcpSock> make_child(TcpSock& listener, Ipv4Address laddr, Ipv4Address raddr,
                                        const wire::TcpView& th, const wire::TcpOptions& opts);
    std::uint16_t route_mss(Ipv4Address raddr);

    Stack& stack_;
    PortTable ports_;
    std::mutex tables_mu_;  // guards both tables
    std::unordered_map<Key, std::shared_ptr<TcpSock>, KeyHash> ehash_;
    std::unordered_map<std::uint64_t, std::shared_ptr<TcpSock>> listeners_;  // addr << 16 | port
    SipKey isn_key_, cookie_key_, id_key_;
    std::atomic<std::uint32_t> sockets_created_{0};  // numbers the IP ID seeds (get_random_u16)
    TcpStats stats_;
};

}  // namespace vlo
