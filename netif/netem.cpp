#include "netif/netem.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <utility>

#include "netif/inet_ecn.hpp"
#include "netif/packet_pool.hpp"

namespace vlo {

namespace {

// The states of the loss chains (sch_netem.c's _4_state_model and GE_state_model enums).
constexpr std::uint8_t TX_IN_GAP_PERIOD = 1;
constexpr std::uint8_t TX_IN_BURST_PERIOD = 2;
constexpr std::uint8_t LOST_IN_GAP_PERIOD = 3;
constexpr std::uint8_t LOST_IN_BURST_PERIOD = 4;
constexpr std::uint8_t GOOD_STATE = 1;
constexpr std::uint8_t BAD_STATE = 2;

std::uint64_t random_seed() {
    std::random_device rd;
    return (std::uint64_t{rd()} << 32) | rd();
}

}  // namespace

NetemQdisc::NetemQdisc(Device& dev, const Clock& clock, const NetemSpec& spec) : Qdisc(dev, clock) {
    NetemSpec first = spec;
    // netem_init: a random seed unless one is given.
    if (!first.seed) first.seed = random_seed();
    std::lock_guard l(lock());
    apply(first);
}

NetemQdisc::~NetemQdisc() {
    // A watchdog timer's callback may be running run(): its destructor waits for that, and it
    // must do so before anything it touches goes away. Queued packets die with the queues.
    watchdog_.reset();
}

void NetemQdisc::apply(const NetemSpec& spec) {
    const std::optional<std::uint64_t> old_seed = spec_.seed;
    spec_ = spec;
    if (spec.seed) {
        seed_ = *spec.seed;
        prng_.seed_state(seed_);
    } else {
        spec_.seed = old_seed;
    }
    // init_crandom for each correlation, its first `last` drawn from the seeded generator.
    delay_cor_.init(spec.delay_corr, prng_);
    loss_cor_.init(spec.loss_corr, prng_);
    dup_cor_.init(spec.dup_corr, prng_);
    reorder_cor_.init(spec.reorder_corr, prng_);
    corrupt_cor_.init(spec.corrupt_corr, prng_);
    dist_ = netem_dist_table(spec.distribution);
    clg_state_ = spec.loss_model == NetemLossModel::gemodel ? GOOD_STATE : TX_IN_GAP_PERIOD;
    counter_ = 0;
}

void NetemQdisc::change(const NetemSpec& spec) {
    std::lock_guard l(lock());
    apply(spec);
}

void NetemQdisc::set_checksum_help(ChecksumHelp help) {
    std::lock_guard l(lock());
    checksum_help_ = help;
}

void NetemQdisc::set_watchdog(std::unique_ptr<NetemWatchdog> watchdog) {
    std::unique_ptr<NetemWatchdog> old;
    {
        std::lock_guard l(lock());
        old = std::exchange(watchdog_, std::move(watchdog));
        armed_at_.reset();
        after_run();
    }
    // The old one is destroyed unlocked: its timer may be waiting to run run().
}

NetemSpec NetemQdisc::spec() const {
    std::lock_guard l(lock());
    return spec_;
}

std::uint64_t NetemQdisc::seed() const {
    std::lock_guard l(lock());
    return seed_;
}

NetemStats NetemQdisc::xstats() const {
    const QdiscStats q = stats();
    std::lock_guard l(lock());
    NetemStats s = x_;
    static_cast<QdiscStats&>(s) = q;
    return s;
}

std::optional<Nanos> NetemQdisc::next_due_locked() const {
    if (!head_q_.empty()) return clock().now_ns();  // reordered packets leave at once
    if (!tfifo_.empty()) return tfifo_.front()->tstamp;
    return std::nullopt;
}

NetXmit NetemQdisc::enqueue(PacketPtr pkt, Nanos now) {
    const std::uint64_t drops = qstats().drops;
    enqueue_one(std::move(pkt), now, false);
    return qstats().drops == drops ? NetXmit::success : NetXmit::drop;
}

// qdisc_watchdog_schedule_ns, after each run: only a different expiry re-arms the timer.
void NetemQdisc::after_run() {
    const std::optional<Nanos> due = next_due_locked();
    if (!due) {
        armed_at_.reset();
        return;
    }
    if (!watchdog_ || armed_at_ == due) return;
    armed_at_ = due;
    watchdog_->schedule(*due);
}

// netem_dequeue: the qdisc's own queue first (reordered packets), then the tfifo's head once its
// time has come.
PacketPtr NetemQdisc::dequeue(Nanos now) {
    PacketPtr pkt = head_q_.pop_front();
    if (!pkt && !tfifo_.empty() && tfifo_.front()->tstamp <= now) pkt = tfifo_.pop_front();
    if (pkt) backlog_sub(*pkt);
    return pkt;
}

// netem_enqueue, decision by decision in the kernel's order, so that each random draw happens
// where the kernel's does.
void NetemQdisc::enqueue_one(PacketPtr pkt, Nanos now, bool is_duplicate) {
    int count = 1;
    // A duplicate is not duplicated again (the kernel marks it with tc_depth).
    if (!is_duplicate && spec_.duplicate && spec_.duplicate >= dup_cor_.next(prng_)) ++count;
    if (loss_event()) {
        // With `ecn` the loss marks an ECN-capable packet CE and lets it go on (and its
        // duplicate, copied below, with it); netem_enqueue counts the mark in qstats.drops all
        // the same. A not-ECT packet is lost as without `ecn`.
        if (spec_.ecn && inet_ecn_set_ce(*pkt)) {
            ++x_.ecn_mark;
            ++qstats().drops;
        } else {
            --count;
        }
    }
    if (count == 0) {
        ++x_.lost;
        return drop(std::move(pkt), DropReason::netem_loss);
    }

    PacketPtr dup;
    if (count > 1) {  // copied before the original is corrupted
        dup = PacketPool::instance().copy(*pkt);
        if (!dup) ++x_.alloc_errors;
    }

    if (spec_.corrupt && spec_.corrupt >= corrupt_cor_.next(prng_) && !corrupt(*pkt))
        return drop(std::move(pkt), DropReason::netem_corrupt);

    if (head_q_.size() + tfifo_.size() >= spec_.limit) {
        ++x_.limit_drops;
        return drop(std::move(pkt),
                    DropReason::qdisc_drop);  // and the duplicate, as qdisc_drop_all
    }

    // The duplicate goes in first, through the whole of netem_enqueue (rootq->enqueue).
    if (dup) {
        ++x_.duplicated;
        enqueue_one(std::move(dup), now, true);
    }

    const std::uint64_t len = pkt->size();
    backlog_add(*pkt);
    if (spec_.gap == 0 ||            // not reordering
        counter_ < spec_.gap - 1 ||  // inside the last reordering gap
        spec_.reorder < reorder_cor_.next(prng_)) {
        Nanos delay = netem_tabledist(spec_.latency, spec_.jitter, delay_cor_, prng_, dist_);
        Nanos start = now;
        if (spec_.rate) {
            // The link is busy until the last queued packet leaves: start from there, less the
            // delay already spent waiting, plus this packet's own transmission time.
            const Packet* last = head_q_.back();
            if (const Packet* t = tfifo_.back(); t && (!last || t->tstamp > last->tstamp)) last = t;
            if (last) {
                if (last->tstamp > now) ++x_.rate_waits;
                delay = std::max<Nanos>(0, delay - (last->tstamp - now));
                start = last->tstamp;
            }
            delay += packet_time_ns(len);
        }
        pkt->tstamp = start + delay;  // time_to_send
        if (pkt->tstamp > now) ++x_.delayed;
        ++counter_;
        tfifo_.insert(std::move(pkt));
    } else {
        // One out of N goes to the front of the queue, to leave at once.
        pkt->tstamp = now;
        counter_ = 0;
        head_q_.push_front(std::move(pkt));
        ++qstats().requeues;
        ++x_.reordered;
    }
}

bool NetemQdisc::loss_event() {
    switch (spec_.loss_model) {
        case NetemLossModel::random:
            // 0 => none, ~0 => all
            return spec_.loss && spec_.loss >= loss_cor_.next(prng_);
        case NetemLossModel::state:
            return loss_4state();
        case NetemLossModel::gemodel:
            return loss_gilb_ell();
    }
    return false;
}

// loss_4state: the GI model's 4-state Markov chain. The sums wrap in 32 bits as the kernel's do.
bool NetemQdisc::loss_4state() {
    const std::uint32_t a1 = spec_.p13, a2 = spec_.p31, a3 = spec_.p32, a4 = spec_.p14,
                        a5 = spec_.p23;
    const std::uint32_t rnd = prng_.next();
    switch (clg_state_) {
        case TX_IN_GAP_PERIOD:
            if (rnd < a4) {
                clg_state_ = LOST_IN_GAP_PERIOD;
                return true;
            }
            if (rnd < static_cast<std::uint32_t>(a1 + a4)) {
                clg_state_ = LOST_IN_BURST_PERIOD;
                return true;
            }
            clg_state_ = TX_IN_GAP_PERIOD;
            break;
        case TX_IN_BURST_PERIOD:
            if (rnd < a5) {
                clg_state_ = LOST_IN_BURST_PERIOD;
                return true;
            }
            clg_state_ = TX_IN_BURST_PERIOD;
            break;
        case LOST_IN_BURST_PERIOD:
            if (rnd < a3) {
                clg_state_ = TX_IN_BURST_PERIOD;
            } else if (rnd < static_cast<std::uint32_t>(a2 + a3)) {
                clg_state_ = TX_IN_GAP_PERIOD;
            } else {
                clg_state_ = LOST_IN_BURST_PERIOD;
                return true;
            }
            break;
        case LOST_IN_GAP_PERIOD:
            clg_state_ = TX_IN_GAP_PERIOD;
            break;
    }
    return false;
}

// loss_gilb_ell: one draw for the transition, a second against the current state's loss
// probability (1-k in the good state, 1-h in the bad one).
bool NetemQdisc::loss_gilb_ell() {
    switch (clg_state_) {
        case GOOD_STATE:
            if (prng_.next() < spec_.ge_p) clg_state_ = BAD_STATE;
            if (prng_.next() < spec_.ge_k1) return true;
            break;
        case BAD_STATE:
            if (prng_.next() < spec_.ge_r) clg_state_ = GOOD_STATE;
            if (prng_.next() > spec_.ge_h) return true;
            break;
    }
    return false;
}

// Flips one random bit of the packet, as netem does to skb->data (here the IP header on, there
// being no link header).
bool NetemQdisc::corrupt(Packet& pkt) {
    if (pkt.ip_summed == ChecksumState::partial) {
        if (checksum_help_ && !checksum_help_(pkt)) return false;
        pkt.ip_summed = ChecksumState::none;  // as skb_checksum_help leaves it
    }
    if (pkt.size() == 0) return true;
    const std::uint32_t at = prng_.below(static_cast<std::uint32_t>(pkt.size()));
    pkt.data()[at] ^= static_cast<std::uint8_t>(1u << prng_.below(8));
    ++x_.corrupted;
    return true;
}

// packet_time_ns: how long `len` bytes (plus overhead, in whole cells) take at `rate`.
Nanos NetemQdisc::packet_time_ns(std::uint64_t len) const {
    std::int64_t bytes = static_cast<std::int64_t>(len) + spec_.packet_overhead;
    if (spec_.cell_size) {
        const std::int64_t cell = spec_.cell_size;
        std::int64_t cells = bytes / cell;
        if (bytes > cells * cell) ++cells;  // an extra cell for the remainder
        bytes = cells * (cell + spec_.cell_overhead);
    }
    if (bytes <= 0) return 0;
    __extension__ typedef unsigned __int128 Wide;  // bytes * 1e9 can outgrow 64 bits
    return static_cast<Nanos>(static_cast<Wide>(bytes) * kNsPerSec / spec_.rate);
}

}  // namespace vlo
