// The transmit half of net/core/dev.c and the qdisc attach points of net/sched/sch_api.c:
//
//   dev_queue_xmit ─► root qdisc (enqueue, qdisc_run ─► dequeue) ─► dev_hard_start_xmit
//                  └► noqueue: dev_hard_start_xmit directly
//   dev_hard_start_xmit ─► dev_queue_xmit_nit (the taps, PACKET_OUTGOING) ─► ndo_start_xmit
//
// and the receive side's taps (__netif_receive_skb's ptype_all, PACKET_HOST), which NetRx calls.
// A device keeps its identity throughout: a qdisc or a tap attaches to it; nothing replaces it.
#pragma once

#include <memory>

#include "netif/device.hpp"
#include "netif/packet.hpp"

namespace vlo {

class Qdisc;

// __dev_queue_xmit: bottom halves off across the qdisc and the driver (rcu_read_lock_bh); the
// enable on the way out is where lo's NET_RX runs in the sender (the softirq design). A device
// that is down drops the packet (DEV_READY) and counts tx_dropped.
void dev_queue_xmit(PacketPtr pkt, Device& dev);

// dev_hard_start_xmit: the taps see the packet leave, then the driver takes it.
NetdevTx dev_hard_start_xmit(PacketPtr pkt, Device& dev);

// dev_queue_xmit_nit and the ptype_all loop of __netif_receive_skb_core: every tap on `dev`
// sees the packet.
void dev_queue_xmit_nit(const Packet& pkt, Device& dev);
void netif_receive_taps(const Packet& pkt, Device& dev);

// dev_activate's default qdisc: noqueue for a device with no tx queue (lo), else pfifo_fast
// with txqueuelen packets. Done by Stack::add_device; harmless to repeat.
void dev_activate(Device& dev, const Clock& clock);
bool dev_has_default_qdisc(Device& dev);

// qdisc_graft at the root: `q` (null: the default back) replaces the root qdisc. The old one is
// freed once no packet path holds it; what it still queued is freed with it.
void dev_graft_qdisc(Device& dev, std::unique_ptr<Qdisc> q, const Clock& clock);

// Reads the root qdisc under RCU and calls fn(Qdisc*) (null: noqueue).
template <class Fn>
auto with_root_qdisc(Device& dev, Fn fn) {
    RcuPtr<Qdisc>::ReadGuard q(dev.qdisc_ptr());
    return fn(q.get());
}

// dev_add_pack / dev_remove_pack for ptype_all on one device. After dev_remove_tap returns no
// thread is inside the tap any more.
void dev_add_tap(Device& dev, PacketTap& tap);
void dev_remove_tap(Device& dev, PacketTap& tap);

}  // namespace vlo
