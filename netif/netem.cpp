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

// sprint_size: the backlog in bytes, as tc shows it ("0b", "12Kb", "3Mb").
std::string size_text(std::uint64_t sz) {
    constexpr double kilo = 1024, mega = kilo * kilo, giga = mega * kilo;
    const double v = static_cast<double>(sz);
    char buf[64];
    if (v >= giga && std::fabs(giga * std::rint(v / giga) - v) < 1024)
        std::snprintf(buf, sizeof buf, "%gGb", std::rint(v / giga));
    else if (v >= mega && std::fabs(mega * std::rint(v / mega) - v) < 1024)
        std::snprintf(buf, sizeof buf, "%gMb", std::rint(v / mega));
    else if (v >= kilo && std::fabs(kilo * std::rint(v / kilo) - v) < 16)
        std::snprintf(buf, sizeof buf, "%gKb", std::rint(v / kilo));
    else
        std::snprintf(buf, sizeof buf, "%llub", static_cast<unsigned long long>(sz));
    return buf;
}

std::uint64_t random_seed() {
    std::random_device rd;
    return (std::uint64_t{rd()} << 32) | rd();
}

}  // namespace

NetemDevice::NetemDevice(Device& inner, const Clock& clock, const NetemSpec& spec)
    : DeviceDecorator(inner), clock_(clock) {
    NetemSpec first = spec;
    // netem_init: a random seed unless one is given.
    if (!first.seed) first.seed = random_seed();
    std::lock_guard lock(mu_);
    apply(first);
}

NetemDevice::~NetemDevice() {
    // A watchdog timer's callback may be running run_due: its destructor waits for that, and
    // it must do so before anything it touches goes away. Queued packets die with the queues.
    watchdog_.reset();
}

void NetemDevice::apply(const NetemSpec& spec) {
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

void NetemDevice::change(const NetemSpec& spec) {
    std::lock_guard lock(mu_);
    apply(spec);
}

std::string NetemDevice::change(std::string_view options) {
    NetemParseResult parsed = parse_netem(options);
    if (!parsed) return parsed.error;
    change(*parsed.spec);
    return {};
}

void NetemDevice::set_checksum_help(ChecksumHelp help) {
    std::lock_guard lock(mu_);
    checksum_help_ = help;
}

void NetemDevice::set_watchdog(std::unique_ptr<NetemWatchdog> watchdog) {
    std::unique_ptr<NetemWatchdog> old;
    {
        std::lock_guard lock(mu_);
        old = std::exchange(watchdog_, std::move(watchdog));
        armed_at_.reset();
        arm_watchdog();
    }
    // The old one is destroyed unlocked: its timer may be waiting to run run_due.
}

NetemSpec NetemDevice::spec() const {
    std::lock_guard lock(mu_);
    return spec_;
}

std::uint64_t NetemDevice::seed() const {
    std::lock_guard lock(mu_);
    return seed_;
}

NetemStats NetemDevice::stats() const {
    std::lock_guard lock(mu_);
    return stats_;
}

std::optional<Nanos> NetemDevice::next_due() const {
    std::lock_guard lock(mu_);
    return next_due_locked();
}

std::optional<Nanos> NetemDevice::next_due_locked() const {
    if (!head_q_.empty()) return clock_.now_ns();  // reordered packets leave at once
    if (!tfifo_.empty()) return tfifo_.front()->tstamp;
    return std::nullopt;
}

NetdevTx NetemDevice::xmit(PacketPtr pkt) {
    std::unique_lock lock(mu_);
    enqueue(std::move(pkt), clock_.now_ns(), false);
    run_locked(lock);
    return NetdevTx::ok;
}

void NetemDevice::run_due() {
    std::unique_lock lock(mu_);
    run_locked(lock);
}

void NetemDevice::run_locked(std::unique_lock<std::mutex>& lock) {
    if (running_) {  // the running thread will send ours as well; keep the wakeup current
        arm_watchdog();
        return;
    }
    running_ = true;
    while (PacketPtr pkt = dequeue(clock_.now_ns())) {
        // The device's xmit runs unlocked, as sch_direct_xmit drops the qdisc lock: a packet
        // it sends back to us (lo answering itself inline) is only enqueued.
        lock.unlock();
        inner().xmit(std::move(pkt));
        lock.lock();
    }
    running_ = false;
    arm_watchdog();
}

void NetemDevice::arm_watchdog() {
    const std::optional<Nanos> due = next_due_locked();
    if (!due) {
        armed_at_.reset();
        return;
    }
    // qdisc_watchdog_schedule_ns: only a different expiry re-arms the timer.
    if (!watchdog_ || armed_at_ == due) return;
    armed_at_ = due;
    watchdog_->schedule(*due);
}

// netem_dequeue: the qdisc's own queue first (reordered packets), then the tfifo's head once its
// time has come.
PacketPtr NetemDevice::dequeue(Nanos now) {
    PacketPtr pkt = head_q_.pop_front();
    if (!pkt && !tfifo_.empty() && tfifo_.front()->tstamp <= now) pkt = tfifo_.pop_front();
    if (!pkt) return nullptr;
    const std::uint64_t len = pkt->size();
    stats_.backlog_bytes -= len;
    --stats_.backlog_packets;
    stats_.bytes += len;  // qdisc_bstats_update
    ++stats_.packets;
    return pkt;
}

// netem_enqueue, decision by decision in the kernel's order, so that each random draw happens
// where the kernel's does.
void NetemDevice::enqueue(PacketPtr pkt, Nanos now, bool is_duplicate) {
    int count = 1;
    // A duplicate is not duplicated again (the kernel marks it with tc_depth).
    if (!is_duplicate && spec_.duplicate && spec_.duplicate >= dup_cor_.next(prng_)) ++count;
    if (loss_event()) {
        // With `ecn` the loss marks an ECN-capable packet CE and lets it go on (and its
        // duplicate, copied below, with it); netem_enqueue counts the mark in qstats.drops all
        // the same. A not-ECT packet is lost as without `ecn`.
        if (spec_.ecn && inet_ecn_set_ce(*pkt)) {
            ++stats_.ecn_mark;
            ++stats_.drops;
        } else {
            --count;
        }
    }
    if (count == 0) {
        ++stats_.lost;
        ++stats_.drops;
        return;
    }

    PacketPtr dup;
    if (count > 1) {  // copied before the original is corrupted
        dup = PacketPool::instance().copy(*pkt);
        if (!dup) ++stats_.alloc_errors;
    }

    if (spec_.corrupt && spec_.corrupt >= corrupt_cor_.next(prng_) && !corrupt(*pkt)) {
        ++stats_.drops;
        return;
    }

    if (head_q_.size() + tfifo_.size() >= spec_.limit) {
        ++stats_.limit_drops;
        ++stats_.drops;
        return;  // and the duplicate with it, as qdisc_drop_all
    }

    // The duplicate goes in first, through the whole of netem_enqueue (rootq->enqueue).
    if (dup) {
        ++stats_.duplicated;
        enqueue(std::move(dup), now, true);
    }

    const std::uint64_t len = pkt->size();
    stats_.backlog_bytes += len;
    ++stats_.backlog_packets;
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
                if (last->tstamp > now) ++stats_.rate_waits;
                delay = std::max<Nanos>(0, delay - (last->tstamp - now));
                start = last->tstamp;
            }
            delay += packet_time_ns(len);
        }
        pkt->tstamp = start + delay;  // time_to_send
        if (pkt->tstamp > now) ++stats_.delayed;
        ++counter_;
        tfifo_.insert(std::move(pkt));
    } else {
        // One out of N goes to the front of the queue, to leave at once.
        pkt->tstamp = now;
        counter_ = 0;
        head_q_.push_front(std::move(pkt));
        ++stats_.requeues;
        ++stats_.reordered;
    }
}

bool NetemDevice::loss_event() {
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
bool NetemDevice::loss_4state() {
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
bool NetemDevice::loss_gilb_ell() {
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
bool NetemDevice::corrupt(Packet& pkt) {
    if (pkt.ip_summed == ChecksumState::partial) {
        if (checksum_help_ && !checksum_help_(pkt)) return false;
        pkt.ip_summed = ChecksumState::none;  // as skb_checksum_help leaves it
    }
    if (pkt.size() == 0) return true;
    const std::uint32_t at = prng_.below(static_cast<std::uint32_t>(pkt.size()));
    pkt.data()[at] ^= static_cast<std::uint8_t>(1u << prng_.below(8));
    ++stats_.corrupted;
    return true;
}

// packet_time_ns: how long `len` bytes (plus overhead, in whole cells) take at `rate`.
Nanos NetemDevice::packet_time_ns(std::uint64_t len) const {
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

std::string NetemDevice::tc_show() const {
    std::lock_guard lock(mu_);
    const NetemStats& s = stats_;
    char buf[512];
    std::string out = "qdisc netem 8001: root refcnt 2 " + spec_.to_string(seed_) + "\n";
    std::snprintf(
        buf, sizeof buf, " Sent %llu bytes %llu pkt (dropped %llu, overlimits 0 requeues %llu) \n",
        static_cast<unsigned long long>(s.bytes), static_cast<unsigned long long>(s.packets),
        static_cast<unsigned long long>(s.drops), static_cast<unsigned long long>(s.requeues));
    out += buf;
    std::snprintf(buf, sizeof buf, " backlog %s %llup requeues %llu\n",
                  size_text(s.backlog_bytes).c_str(),
                  static_cast<unsigned long long>(s.backlog_packets),
                  static_cast<unsigned long long>(s.requeues));
    out += buf;
    std::snprintf(
        buf, sizeof buf,
        "  delayed %llu dropped %llu corrupted %llu duplicated %llu reordered %llu ecn_marked %llu",
        static_cast<unsigned long long>(s.delayed), static_cast<unsigned long long>(s.lost),
        static_cast<unsigned long long>(s.corrupted), static_cast<unsigned long long>(s.duplicated),
        static_cast<unsigned long long>(s.reordered), static_cast<unsigned long long>(s.ecn_mark));
    out += buf;
    if (s.alloc_errors) out += " alloc_errors " + std::to_string(s.alloc_errors);
    out += " rate_waits " + std::to_string(s.rate_waits) + " limit_drops " +
           std::to_string(s.limit_drops) + "\n";
    return out;
}

}  // namespace vlo
