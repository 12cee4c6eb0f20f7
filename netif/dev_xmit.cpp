#include "netif/dev_xmit.hpp"

#include <algorithm>

#include "netif/qdisc.hpp"

namespace vlo {

namespace {

// rcu_read_lock_bh .. rcu_read_unlock_bh through the device's receive core.
class BhOff {
  public:
    explicit BhOff(Device& dev) : sink_(dev.rx_sink()) {
        if (sink_) sink_->local_bh_disable();
    }
    ~BhOff() {
        if (sink_) sink_->local_bh_enable();
    }
    BhOff(const BhOff&) = delete;
    BhOff& operator=(const BhOff&) = delete;

  private:
    RxSink* sink_;
};

void run_taps(const Packet& pkt, Device& dev, TapDirection dir) {
    if (!dev.taps_ptr().peek()) [[likely]]  // list_empty(&ptype_all): nothing to protect
        return;
    RcuPtr<TapList>::ReadGuard taps(dev.taps_ptr());
    if (!taps) return;
    for (PacketTap* t : taps->taps) t->tap(pkt, dev, dir);
}

}  // namespace

void dev_queue_xmit(PacketPtr pkt, Device& dev) {
    BhOff bh(dev);
    pkt->trace.stamp(Stage::dev_queue_xmit);
    pkt->dev = &dev;
    if (!dev.is_up()) {
        DeviceStats::inc(dev.stats().tx_dropped);
        if (RxSink* sink = dev.rx_sink())
            sink->kfree_skb_reason(std::move(pkt), DropReason::dev_ready);
        return;
    }
    if (!dev.qdisc_ptr().peek()) {  // noqueue: no qdisc to protect either
        dev_hard_start_xmit(std::move(pkt), dev);
        return;
    }
    RcuPtr<Qdisc>::ReadGuard q(dev.qdisc_ptr());
    if (!q) {
        dev_hard_start_xmit(std::move(pkt), dev);
        return;
    }
    q->xmit(std::move(pkt));  // __dev_xmit_skb
}

NetdevTx dev_hard_start_xmit(PacketPtr pkt, Device& dev) {
    dev_queue_xmit_nit(*pkt, dev);
    return dev.xmit(std::move(pkt));  // netdev_start_xmit
}

void dev_queue_xmit_nit(const Packet& pkt, Device& dev) {
    run_taps(pkt, dev, TapDirection::outgoing);
}

void netif_receive_taps(const Packet& pkt, Device& dev) { run_taps(pkt, dev, TapDirection::host); }

void dev_activate(Device& dev, const Clock& clock) {
    std::lock_guard lock(dev.config_mu());
    if (dev.qdisc_ptr().peek() || dev.tx_queue_len() == 0) return;
    dev.qdisc_ptr().publish(std::make_unique<PfifoFastQdisc>(dev, clock, dev.tx_queue_len()));
}

bool dev_has_default_qdisc(Device& dev) {
    Qdisc* q = dev.qdisc_ptr().peek();
    return q == nullptr || q->kind() == "pfifo_fast";
}

void dev_graft_qdisc(Device& dev, std::unique_ptr<Qdisc> q, const Clock& clock) {
    if (!q && dev.tx_queue_len() != 0)
        q = std::make_unique<PfifoFastQdisc>(dev, clock, dev.tx_queue_len());
    std::unique_ptr<Qdisc> old;
    {
        std::lock_guard lock(dev.config_mu());
        old = dev.qdisc_ptr().take();  // waits for the packets inside it (synchronize_net)
        dev.qdisc_ptr().publish(std::move(q));
    }
    // qdisc_put: freed outside the device's lock; a watchdog running it is waited for.
}

void dev_add_tap(Device& dev, PacketTap& tap) {
    std::lock_guard lock(dev.config_mu());
    auto next = std::make_unique<TapList>();
    if (TapList* cur = dev.taps_ptr().peek()) *next = *cur;
    next->taps.push_back(&tap);
    dev.taps_ptr().publish(std::move(next));
}

void dev_remove_tap(Device& dev, PacketTap& tap) {
    std::lock_guard lock(dev.config_mu());
    TapList* cur = dev.taps_ptr().peek();
    if (!cur) return;
    auto next = std::make_unique<TapList>(*cur);
    std::erase(next->taps, &tap);
    if (next->taps.empty()) next.reset();
    dev.taps_ptr().publish(std::move(next));
    dev.taps_ptr().synchronize();  // nobody is inside the tap after this
}

}  // namespace vlo
