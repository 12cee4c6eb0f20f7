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
#include "stack/tcp_cong.hpp"
#include "stack/tcp_mib.hpp"
#include "stack/tcp_rtx_queue.hpp"
#include "stack/tcp_seq.hpp"
#include "stack/timer_service.hpp"
#include "stack/wire/tcp.hpp"

namespace vlo {

class Stack;
class Tcp;

// include/net/tcp_states.h numbering, so states print as /proc/net/tcp shows them.
enum class TcpState : std::uint8_t {
    established = 1,
    syn_sent,
    syn_recv,
    fin_wait1,
    fin_wait2,
    time_wait,
    close,
    close_wait,
    last_ack,
    listen,
    closing,
};
const char* tcp_state_name(TcpState s);

// tcp_time_stamp_ms: the clock TCP timestamps (TSval) and retrans_stamp count in.
constexpr std::uint32_t tcp_time_stamp_ms(Nanos now) {
    return static_cast<std::uint32_t>(now / kNsPerMs);
}

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
    std::size_t push(std::span<const std::uint8_t> in);                    // appends what fits
    void copy_out(std::size_t offset, std::span<std::uint8_t> out) const;  // peek
    void pop(std::size_t n);                                               // drops from the front
    void release_if_empty();                                               // gives the memory back

  private:
    void grow(std::size_t needed);  // to at least `needed` bytes, contents kept in order

    std::size_t capacity_;
    std::vector<std::uint8_t> buf_;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

// A write's flags beyond its bytes (tcp_sendmsg's MSG_MORE and MSG_EOR).
struct TcpSendFlags {
    bool more = false;  // MSG_MORE: more follows: no PSH, a final partial segment waits
    bool eor = false;   // MSG_EOR: the data ends a record: nothing later shares its segments
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
    std::uint32_t snd_wnd = 0;  // scaled, in bytes
    std::uint32_t max_window = 0;
    std::uint8_t snd_wscale = 0;
    std::uint16_t mss = 536;     // our segment payload limit (mss_cache), options excluded
    std::uint16_t advmss = 536;  // what our SYN announced: the route's MTU less 40
    // Receive sequence space.
    std::uint32_t irs = 0, rcv_nxt = 0, rcv_wup = 0, rcv_wnd = 0;  // rcv_wnd: last advertised
    std::uint32_t rcv_ssthresh = 0;  // how far the offered window may grow now (tcp_grow_window)
    std::uint32_t window_clamp = 0;  // the largest window we will ever offer
    std::uint16_t rcv_mss = 536;     // the peer's segment size as we see it (icsk_ack.rcv_mss)
    std::uint8_t rcv_wscale = 0;
    bool wscale_ok = false, ts_ok = false, sack_ok = false;
    std::uint32_t ts_recent = 0;
    Nanos ts_recent_stamp = 0;  // when ts_recent was stored (0: never), for PAWS
    std::uint16_t peer_mss = 536;
    std::uint16_t user_mss = 0;  // TCP_MAXSEG (rx_opt.user_mss): caps both MSSes; 0: none

    // Queues. sndq holds [snd_una, end of written data); rcvq holds in-order unread data.
    ByteRing sndq, rcvq;
    std::map<std::uint32_t, std::vector<std::uint8_t>, SeqLess> ooo;  // out-of-order, by sequence
    bool fin_queued = false;  // close()/shutdown(SHUT_WR): a FIN follows the data
    bool fin_sent = false;
    bool fin_rcvd = false;
    bool shut_rd = false;

    // SACK blocks we report (RFC 2018 4, most recent first, as tcp_sack_new_ofo_skb keeps them)
    // and a D-SACK for duplicate data (RFC 2883), sent once with the next ACK.
    std::array<wire::SackBlock, 4> selective_acks{};
    std::uint8_t num_sacks = 0;
    wire::SackBlock duplicate_sack{};
    bool dsack = false;

    // The sender's scoreboard, in segments as struct tcp_sock counts them.
    RtxQueue rtx;                   // [snd_una, snd_nxt) segment by segment
    std::uint32_t sacked_out = 0;   // SACKed segments
    std::uint32_t lost_out = 0;     // segments marked lost
    std::uint32_t retrans_out = 0;  // retransmitted segments not yet delivered
    std::uint32_t total_retrans = 0;
    std::uint32_t delivered = 0;   // segments delivered (acked or sacked), ever
    std::uint32_t reordering = 3;  // tcp_reordering: the dupthresh in segments
    std::uint32_t reord_seen = 0;  // reordering events (RACK widens its window after one)
    std::uint32_t high_seq = 0;    // snd_nxt when recovery or loss began
    TcpCaState ca_state = TcpCaState::open;
    // Undo of a spurious reduction (tcp_undo_cwnd_reduction): the marker is snd_una when the
    // episode began (0: nothing to undo); undo_retrans counts retransmissions not yet proved
    // unnecessary by a D-SACK; retrans_stamp is the first retransmission's TSval.
    std::uint32_t undo_marker = 0;
    int undo_retrans = -1;
    std::uint32_t retrans_stamp = 0;
    std::uint32_t prior_ssthresh = 0, prior_cwnd = 0;
    // Proportional rate reduction (RFC 6937) during recovery.
    std::uint32_t prr_delivered = 0, prr_out = 0;
    // RACK (RFC 8985): the send time and end of the most recently sent segment delivered.
    struct Rack {
        Nanos mstamp = 0;
        std::uint32_t end_seq = 0;
        Nanos rtt = 0;
        std::uint8_t reo_wnd_steps = 1;
        bool advanced = false;
    } rack;
    std::uint32_t tlp_high_seq = 0;  // snd_nxt when a loss probe went out (0: none in flight)
    bool tlp_retrans = false;        // the probe was a retransmission, not new data
    bool frto = false;               // F-RTO (RFC 5682) is judging the last timeout
    std::uint32_t highest_sack = 0;  // end of the highest SACKed segment (the forward ACK)
    std::uint32_t rcv_tsecr = 0;     // the TSecr of the last ACK, 0 if it had none
    // ECN (RFC 3168), tp->ecn_flags: negotiated; a CWR owed on the next new data; ECE owed on
    // every segment until the peer's CWR (a CE mark arrived).
    enum EcnFlags : std::uint8_t { kEcnOk = 1, kEcnQueueCwr = 2, kEcnDemandCwr = 4 };
    std::uint8_t ecn_flags = 0;
    std::uint16_t mtu_info = 0;  // an ICMP's next-hop MTU waiting to be applied (tp->mtu_info)
    std::uint16_t pmtu = 0;      // the path MTU this connection sends with (icsk_pmtu_cookie)
    // What the retransmission timer is armed for (icsk_pending).
    enum class Pending : std::uint8_t {
        none,
        retrans,
        probe0,
        loss_probe,
        reo_timeout
    } pending = Pending::none;

    // RTT and retransmission (RFC 6298).
    Nanos srtt = 0, rttvar = 0, rto, min_rtt = 0;  // min_rtt 0: no sample yet
    Nanos mdev = 0, mdev_max = 0;  // tcp_rtt_estimator's mdev_us (4x the mean deviation)
    std::uint32_t rttvar_seq = 0;  // rttvar decays once per window of data (tp->rtt_seq)
    int backoff = 0;               // icsk_backoff: doublings since the last good ACK
    int retransmits = 0;           // consecutive timeouts of the same data
    std::uint32_t rtt_seq = 0;
    Nanos rtt_start = 0;  // 0: no SYN being timed (Karn)
    // Congestion control, in segments (snd_cwnd...), with the algorithm's hooks and state.
    std::uint32_t snd_cwnd = 10, snd_ssthresh = 0x7fffffff, snd_cwnd_cnt = 0, snd_cwnd_clamp = ~0u;
    std::uint32_t max_packets_out = 0, cwnd_usage_seq = 0;
    bool is_cwnd_limited = false;
    std::uint64_t pacing_rate = ~0ull;  // sk_pacing_rate, bytes/s (tcp_update_pacing_rate)
    const TcpCongestionOps* ca_ops = nullptr;
    alignas(8) std::array<std::uint64_t, 13> ca_priv{};  // ICSK_CA_PRIV_SIZE
    template <class T>
    T& ca() {
        static_assert(sizeof(T) <= sizeof(ca_priv) && alignof(T) <= 8);
        return *reinterpret_cast<T*>(ca_priv.data());
    }

    // What TCP_INFO reports beyond the above.
    std::uint64_t bytes_acked = 0, bytes_received = 0, bytes_retrans = 0;
    std::uint32_t segs_out = 0, segs_in = 0, data_segs_out = 0, data_segs_in = 0;
    Nanos lsndtime = 0, last_ack_recv = 0, last_data_recv = 0;

    // Delayed ACK (tcp_send_delayed_ack) and what is owed.
    int quick_acks = 0;  // ACK every segment for a while after start (quickack mode)
    int segs_since_ack = 0;
    bool ack_pending = false;

    Nanos last_rcv = 0;  // for keepalive's idle time

    // Options from setsockopt.
    bool nodelay = false;
    Nanos user_timeout = 0;     // TCP_USER_TIMEOUT: unacknowledged this long, the connection dies
    bool cork = false;          // TCP_CORK (TCP_NAGLE_CORK): only full segments go
    bool nagle_push = false;    // TCP_NAGLE_PUSH: the next push ignores Nagle and the cork
    bool push_mark = true;      // tcp_mark_push: the end of the queued data carries PSH
    std::uint32_t snd_sml = 0;  // end of the last small segment sent (Minshall's Nagle)
    // Ends of MSG_EOR records not yet sent (TCP_SKB_CB(skb)->eor), with the PSH the write
    // left there: segments and GSO packets stop at each.
    struct EorMark {
        std::uint32_t seq;
        bool psh;
    };
    std::deque<EorMark> eor_marks;
    bool keepalive = false;
    int keepalive_probes_sent = 0;

    // Listener state. The accept queue has its own lock, as the kernel's rskq_lock: children
    // join it from their own context.
    int backlog = 0;
    std::atomic<int> syn_queue{0};  // children in SYN_RECV
    std::mutex accept_mu;
    std::deque<std::shared_ptr<TcpSock>> accept_queue;  // guarded by accept_mu
    std::weak_ptr<TcpSock> parent;                      // a SYN_RECV child's listener
    int synack_retries = 0;

    // Errors and user-visible state.
    std::error_code err;       // sk_err: reported once by the next call
    std::error_code soft_err;  // sk_err_soft: reported only if the connection then times out
    bool orphan = false;       // closed by the user, lingering in the protocol
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

    Timer rexmit_timer;  // retransmission, SYN, persist
    Timer delack_timer;
    Timer keepalive_timer;  // also FIN_WAIT2 and TIME_WAIT

    void lock();     // lock_sock
    void release();  // release_sock: process the backlog, then drop ownership
    void wake();     // sk_data_ready / sk_state_change / sk_write_space

    std::uint32_t flight() const { return snd_nxt - snd_una; }  // bytes
    // tcp_in_cwnd_reduction: CWR or Recovery, where PRR sets the window.
    bool in_cwnd_reduction() const {
        return ca_state == TcpCaState::cwr || ca_state == TcpCaState::recovery;
    }
    std::uint32_t packets_out() const { return static_cast<std::uint32_t>(rtx.size()); }
    // tcp_packets_in_flight: sent, less what left the network (sacked or lost), plus
    // retransmissions.
    std::uint32_t packets_in_flight() const {
        return packets_out() - (sacked_out + lost_out) + retrans_out;
    }
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
    Nanos now() const;  // the stack's clock

    // tcp_v4_rcv
    void rcv(PacketPtr pkt) override;
    void err(std::uint8_t type, std::uint8_t code, std::uint32_t info, const wire::Ipv4View& inner,
             std::span<const std::uint8_t> transport) override;

    // Socket operations, called by TcpSocket with the socket owned.
    std::error_code connect(TcpSock& sk, Ipv4Address addr, std::uint16_t port);
    std::error_code listen(TcpSock& sk, int backlog);
    std::size_t sendmsg(TcpSock& sk, std::span<const std::uint8_t> data,
                        TcpSendFlags flags = {});                   // tcp_sendmsg: bytes queued
    std::size_t recvmsg(TcpSock& sk, std::span<std::uint8_t> out);  // bytes read
    void shutdown_wr(TcpSock& sk);
    // TCP_CONGESTION (tcp_set_congestion_control): ENOENT for a name nobody registered.
    std::error_code set_congestion_control(TcpSock& sk, std::string_view name);
    void close(TcpSock& sk);  // tcp_close: FIN or RST (unread data), then orphaned
    void abort(TcpSock& sk, std::errc reason);
    void hash(TcpSock& sk);
    void unhash(TcpSock& sk);
    // Whether some connection still has data or a FIN its peer has not acknowledged: what the
    // kernel goes on sending after a process closes its sockets and exits (orphans). A
    // program whose stack dies with it waits for this to clear first.
    bool sending();
    // Every socket in the tables (listeners, then connections), for ss and TCP_INFO listings.
    std::vector<std::shared_ptr<TcpSock>> sockets();

    // Processing of a segment for sk, with sk locked (by slock or ownership).
    void do_rcv(TcpSock& sk, PacketPtr pkt);
    // How a push treats a final partial segment (tcp_push's nonagle): as the socket's options
    // say; corked for this call (MSG_MORE); regardless (TCP_NAGLE_PUSH); or one segment,
    // PSH set, whatever Nagle and cwnd say (tcp_write_wakeup, for the probe timer).
    enum class Push : std::uint8_t { normal, more, forced, probe };
    // tcp_push / tcp_write_xmit: send what Nagle and the windows allow.
    void push_pending(TcpSock& sk, Push mode = Push::normal);
    void set_cork(TcpSock& sk, bool on);  // TCP_CORK
    Nanos clamp_rto_to_user_timeout(const TcpSock& sk) const;
    void send_ack(TcpSock& sk);
    // tcp_v4_mtu_reduced: an ICMP said the path takes less; with sk locked.
    void mtu_reduced(TcpSock& sk);
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

    std::shared_ptr<TcpSock> lookup_established(Ipv4Address laddr, std::uint16_t lport,
                                                Ipv4Address raddr, std::uint16_t rport);
    std::shared_ptr<TcpSock> lookup_listener(Ipv4Address laddr, std::uint16_t lport);
    void rcv_listen(TcpSock& listener, PacketPtr pkt, const wire::TcpView& th,
                    const wire::TcpOptions& opts);
    void rcv_syn_sent(TcpSock& sk, const wire::TcpView& th, const wire::TcpOptions& opts,
                      const Packet& pkt);
    void rcv_state_process(TcpSock& sk, PacketPtr pkt, const wire::TcpView& th,
                           const wire::TcpOptions& opts);
    bool paws_discard(const TcpSock& sk, const wire::TcpView& th,
                      const wire::TcpOptions& opts) const;
    // tcp_ack: false when the segment must go no further; `reason` says why if it is a discard.
    bool ack_process(TcpSock& sk, const wire::TcpView& th, const wire::TcpOptions& opts,
                     DropReason& reason);
    DropReason data_queue(TcpSock& sk,
                          const wire::TcpView& th);  // why it took none, or not_dropped
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
    void retransmit_timer(TcpSock& sk);          // tcp_retransmit_timer
    void probe_timer(TcpSock& sk);               // tcp_probe_timer: the zero-window probe
    void arm_rexmit(TcpSock& sk);                // the SYN and SYN-ACK timer
    void rtt_estimator(TcpSock& sk, Nanos rtt);  // tcp_rtt_estimator + tcp_set_rto
    void schedule_ack(TcpSock& sk, bool immediate);
    // Builds and sends one segment; `payload_off` is the offset into sndq.
    void transmit(TcpSock& sk, std::uint32_t seq, std::uint8_t flags, std::size_t payload_off,
                  std::size_t payload_len, bool syn_options);
    void drop(PacketPtr pkt, DropReason reason);         // tcp_drop_reason
    std::uint32_t current_mss(const TcpSock& sk) const;  // tcp_current_mss
    // tcp_mss_clamp: an MSS no larger than the user's TCP_MAXSEG.
    static std::uint16_t mss_clamp(const TcpSock& sk, std::uint16_t mss) {
        return sk.user_mss && sk.user_mss < mss ? sk.user_mss : mss;
    }
    void update_pacing_rate(TcpSock& sk);                                // tcp_update_pacing_rate
    std::uint32_t tso_segs(const TcpSock& sk, std::uint32_t mss) const;  // tcp_tso_segs
    std::uint32_t gso_packet_len(const TcpSock& sk, std::uint32_t avail, std::uint32_t room,
                                 Push mode, bool tail) const;
    bool nagle_holds(const TcpSock& sk, Push mode) const;  // tcp_nagle_test, for a partial segment
    void send_dupack(TcpSock& sk, const wire::TcpView& th);  // tcp_send_dupack (with a D-SACK)
    void init_transfer(TcpSock& sk);  // tcp_init_transfer: cwnd, congestion control, windows
    void select_initial_window(TcpSock& sk, std::uint16_t mss,
                               bool wscale_ok);  // tcp_select_initial_window

    // ---- loss recovery (tcp_recovery.cpp), Linux's tcp_ack machinery ----
    struct SackState {            // what one ACK's SACK blocks revealed (tcp_sacktag_state)
        std::uint32_t reord = 0;  // the lowest sequence delivered out of order
        Nanos first_sackt =
            0;  // send times of the first and last newly SACKed, never retransmitted
        Nanos last_sackt = 0;
        std::uint32_t sack_delivered = 0;
        int flag = 0;
    };
    enum class Rexmit : std::uint8_t { none, lost, new_data };  // REXMIT_*
    int sacktag(TcpSock& sk, const wire::TcpOptions& opts, std::uint32_t ack,
                std::uint32_t prior_snd_una, SackState& st);
    void sacktag_one(TcpSock& sk, TxSeg& seg, bool dup_sack, SackState& st);
    int clean_rtx_queue(TcpSock& sk, std::uint32_t ack, std::uint32_t prior_fack, SackState& st);
    void ack_update_rtt(TcpSock& sk, int flag, Nanos seq_rtt, Nanos sack_rtt, Nanos ca_rtt);
    void check_sack_reordering(TcpSock& sk, std::uint32_t low_seq, bool ts);
    void rack_advance(TcpSock& sk, std::uint8_t sacked, std::uint32_t end_seq, Nanos xmit_time);
    Nanos rack_reo_wnd(const TcpSock& sk) const;
    Nanos rack_detect_loss(TcpSock& sk);  // returns the longest wait for a segment not yet due
    bool rack_mark_lost(TcpSock& sk);
    void rack_reo_timeout(TcpSock& sk);
    void mark_skb_lost(TcpSock& sk, TxSeg& seg);
    void newreno_mark_lost(TcpSock& sk, bool snd_una_advanced);
    void identify_packet_loss(TcpSock& sk, int& flag);
    void set_ca_state(TcpSock& sk, TcpCaState state);
    void ca_event(TcpSock& sk, TcpCaEvent event);
    std::uint32_t current_ssthresh(const TcpSock& sk) const;
    void init_undo(TcpSock& sk);
    void init_cwnd_reduction(TcpSock& sk);
    void enter_cwr(TcpSock& sk);  // tcp_enter_cwr: an ECN echo reduces the window once per RTT
    void cwnd_reduction(TcpSock& sk, int newly_acked_sacked, int newly_lost, int flag);
    void end_cwnd_reduction(TcpSock& sk);
    void enter_recovery(TcpSock& sk);
    void enter_loss(TcpSock& sk);
    void cong_control(TcpSock& sk, std::uint32_t ack, std::uint32_t acked_sacked, int newly_lost,
                      int flag);
    void fastretrans_alert(TcpSock& sk, std::uint32_t prior_snd_una, int num_dupack, int& flag,
                           Rexmit& rexmit);
    void process_loss(TcpSock& sk, int flag, int num_dupack, Rexmit& rexmit);
    bool packet_delayed(const TcpSock& sk) const;
    bool may_undo(const TcpSock& sk) const;
    void undo_cwnd_reduction(TcpSock& sk, bool unmark_loss);
    bool try_undo_recovery(TcpSock& sk);
    bool try_undo_dsack(TcpSock& sk);
    bool try_undo_partial(TcpSock& sk, std::uint32_t prior_snd_una);
    bool try_undo_loss(TcpSock& sk, bool frto_undo);
    void try_keep_open(TcpSock& sk);
    void try_to_open(TcpSock& sk, int flag);
    void add_reno_sack(TcpSock& sk, int num_dupack);
    void remove_reno_sacks(TcpSock& sk, int acked);
    void xmit_recovery(TcpSock& sk, Rexmit rexmit);
    void xmit_retransmit_queue(TcpSock& sk);
    // __tcp_retransmit_skb; `gso_psh`: the segment ends a GSO packet of several.
    void retransmit_once(TcpSock& sk, TxSeg& seg, bool gso_psh = false);
    void retransmit_seg(TcpSock& sk, TxSeg& seg, bool gso_psh = false);  // tcp_retransmit_skb
    bool schedule_loss_probe(TcpSock& sk, bool advancing_rto);
    void send_loss_probe(TcpSock& sk);
    void process_tlp_ack(TcpSock& sk, std::uint32_t ack, int flag);
    void reset_xmit_timer(TcpSock& sk, TcpSock::Pending what, Nanos timeout);
    void rearm_rto(TcpSock& sk);
    void set_xmit_timer(TcpSock& sk);
    Nanos rto_delta(const TcpSock& sk) const;  // tcp_rto_delta_us
    void cwnd_validate(TcpSock& sk, bool is_cwnd_limited);
    // ---- the receiver's SACK blocks (tcp_input.cpp) ----
    void sack_new_ofo(TcpSock& sk, std::uint32_t seq, std::uint32_t end_seq);
    void sack_remove(TcpSock& sk);
    void dsack_set(TcpSock& sk, std::uint32_t seq, std::uint32_t end_seq);
    void set_state(TcpSock& sk, TcpState next);
    static std::uint32_t receive_window(const TcpSock& sk);  // tcp_receive_window
    std::uint16_t select_window(TcpSock& sk);                // tcp_select_window
    std::uint32_t window_space(const TcpSock& sk) const;     // __tcp_select_window, in bytes
    std::uint32_t isn(Ipv4Address laddr, std::uint16_t lport, Ipv4Address raddr,
                      std::uint16_t rport);
    std::uint32_t cookie(Ipv4Address laddr, std::uint16_t lport, Ipv4Address raddr,
                         std::uint16_t rport, std::uint32_t seq, std::uint32_t minute,
                         std::uint32_t mssind);
    std::optional<std::uint16_t> cookie_check(const wire::TcpView& th, Ipv4Address laddr,
                                              Ipv4Address raddr);
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
