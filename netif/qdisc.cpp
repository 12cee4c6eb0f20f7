#include "netif/qdisc.hpp"

#include "netif/dev_xmit.hpp"

namespace vlo {

NetXmit Qdisc::xmit(PacketPtr pkt) {
    std::unique_lock lock(mu_);
    const NetXmit rc = enqueue(std::move(pkt), clock_.now_ns());
    run_locked(lock);
    return rc;
}

void Qdisc::run() {
    std::unique_lock lock(mu_);
    run_locked(lock);
}

std::optional<Nanos> Qdisc::next_due() const {
    std::lock_guard lock(mu_);
    return next_due_locked();
}

QdiscStats Qdisc::stats() const {
    std::lock_guard lock(mu_);
    return stats_;
}

// __qdisc_run: qdisc_restart until nothing may leave. The driver is called unlocked, as
// sch_direct_xmit drops the qdisc lock: a packet it sends back here (lo answering itself
// inline) is only enqueued, and the thread already running sends it.
void Qdisc::run_locked(std::unique_lock<std::mutex>& lock) {
    if (running_) {  // qdisc_run_begin failed: the running thread sends ours too
        after_run();
        return;
    }
    running_ = true;
    while (PacketPtr pkt = dequeue(clock_.now_ns())) {
        const std::uint64_t len = pkt->size();
        stats_.bytes += len;  // qdisc_bstats_update
        ++stats_.packets;
        lock.unlock();
        dev_hard_start_xmit(std::move(pkt), dev_);
        lock.lock();
    }
    running_ = false;
    after_run();
}

void Qdisc::drop(PacketPtr pkt, DropReason reason) {
    ++stats_.drops;
    if (RxSink* sink = dev_.rx_sink()) return sink->kfree_skb_reason(std::move(pkt), reason);
    pkt->trace.drop = reason;  // a device on its own (tests): freed here
    pkt->trace.stamp(Stage::kfree_skb, static_cast<std::uint32_t>(reason));
}

// ---- pfifo_fast ----

PfifoFastQdisc::~PfifoFastQdisc() {
    for (Band& b : bands_)
        while (Packet* p = b.head) {
            b.head = p->next;
            p->next = nullptr;
            PacketPtr freed{p};  // qdisc_reset: freed with the qdisc
        }
}

// pfifo_fast_enqueue: over txqueuelen packets the newcomer is dropped (qdisc_drop).
NetXmit PfifoFastQdisc::enqueue(PacketPtr pkt, Nanos) {
    if (qlen_ >= limit_) {
        drop(std::move(pkt), DropReason::qdisc_drop);
        return NetXmit::drop;
    }
    Band& b = bands_[kPriomap[0]];  // skb->priority 0 (TC_PRIO_BESTEFFORT)
    backlog_add(*pkt);
    Packet* p = pkt.release();
    p->next = nullptr;
    (b.tail ? b.tail->next : b.head) = p;
    b.tail = p;
    ++qlen_;
    return NetXmit::success;
}

PacketPtr PfifoFastQdisc::dequeue(Nanos) {
    for (Band& b : bands_) {
        Packet* p = b.head;
        if (!p) continue;
        b.head = p->next;
        if (!b.head) b.tail = nullptr;
        p->next = nullptr;
        --qlen_;
        PacketPtr pkt{p};
        backlog_sub(*pkt);
        return pkt;
    }
    return nullptr;
}

}  // namespace vlo
