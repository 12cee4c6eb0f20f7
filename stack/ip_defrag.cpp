#include "stack/ip_defrag.hpp"

#include <algorithm>
#include <cstring>
#include <random>

#include "netif/packet_pool.hpp"
#include "stack/stack.hpp"
#include "stack/wire/checksum.hpp"
#include "stack/wire/icmp.hpp"
#include "stack/wire/ipv4.hpp"

namespace vlo {

namespace {
enum : std::uint8_t { kFirstIn = 1, kLastIn = 2 };  // INET_FRAG_FIRST_IN, INET_FRAG_LAST_IN
constexpr std::uint8_t kIcmpExcFragtime = 1;        // ICMP_EXC_FRAGTIME
constexpr std::size_t kIpMaxDatagram = 0xffff;

// IPFRAG_ECN_*: which ECN codepoints the fragments carried, one bit each (ip4_frag_ecn).
enum : std::uint8_t { kEcnNotEct = 1, kEcnEct1 = 2, kEcnEct0 = 4, kEcnCe = 8 };
constexpr std::uint8_t kEcnInvalid = 0xff;
constexpr std::uint8_t ip4_frag_ecn(std::uint8_t tos) {
    return static_cast<std::uint8_t>(1u << (tos & 3));
}
// ip_frag_ecn_table (RFC 3168 5.3): CE on any fragment of an ECN-capable datagram marks the
// whole; a mix of ECN-capable and not-ECT fragments is invalid and the datagram is dropped.
constexpr std::uint8_t ip_frag_ecn(std::uint8_t seen) {
    if ((seen & kEcnNotEct) && (seen & ~kEcnNotEct)) return kEcnInvalid;
    if ((seen & kEcnCe) && (seen & (kEcnEct0 | kEcnEct1))) return 3;  // INET_ECN_CE
    return 0;
}

// A queued fragment has data() at its data and keeps its IP header at network().
std::size_t frag_offset(const Packet& p) {
    return static_cast<std::size_t>(wire::load16(p.network() + 6) & wire::kIpOffset) << 3;
}
std::size_t frag_end(const Packet& p) { return frag_offset(p) + p.size(); }
// skb->truesize: what a queued fragment costs, its whole buffer.
std::size_t truesize(const Packet& p) { return p.capacity(); }
}  // namespace

// struct ipq / inet_frag_queue.
struct IpDefrag::FragQueue {
    // frag_v4_compare_key, without the kernel's defrag user and VRF
    std::uint32_t saddr = 0, daddr = 0;
    std::uint16_t id = 0;
    std::uint8_t protocol = 0;
    std::uint8_t flags = 0;       // kFirstIn | kLastIn
    std::uint8_t ecn = 0;         // IPFRAG_ECN_* bits seen
    std::size_t len = 0;          // end of the data known so far; the total once kLastIn
    std::size_t meat = 0;         // bytes queued
    std::size_t max_size = 0;     // largest fragment (header included)
    std::size_t max_df_size = 0;  // largest fragment with DF
    Nanos expires = 0;
    Packet* fragments = nullptr;  // by offset, linked through Packet::next
    Packet* tail = nullptr;       // fragments_tail: the last, by offset
    // The kernel keeps fragments in "runs": a fragment that arrives right after the tail joins
    // the tail's run, any other starts a run of its own. A fragment wholly inside one run is a
    // duplicate, one touching data anywhere else an overlap. Fragments never share an offset,
    // so one bit per 8-byte unit says where a run begins.
    std::bitset<(kIpMaxDatagram + 1) / 8> run_head;
    FragQueue* hash_next = nullptr;  // chain; the free list when recycled
    FragQueue* older = nullptr;
    FragQueue* newer = nullptr;
};

IpDefrag::IpDefrag(Stack& stack) : stack_(stack), hash_key_(stack.random().key()) {}

IpDefrag::~IpDefrag() {
    // After exit() nothing is left; otherwise the buffers still go back to the pool (the drop
    // monitor may be gone by now: nothing is counted).
    while (oldest_) kill(*oldest_, DropReason::not_dropped);
}

std::size_t IpDefrag::queues() const {
    std::lock_guard lock(mu_);
    return nqueues_;
}

std::size_t IpDefrag::mem() const {
    std::lock_guard lock(mu_);
    return mem_;
}

std::size_t IpDefrag::bucket(std::uint32_t saddr, std::uint32_t daddr, std::uint16_t id,
                             std::uint8_t protocol) const {
    return siphash_4u32(saddr, daddr, std::uint32_t{id} << 16 | protocol, 0, hash_key_) % kHashSize;
}

PacketPtr IpDefrag::ip_defrag(PacketPtr frag) {
    Snmp& snmp = stack_.snmp();
    snmp.ip.inc(IpMib::ReasmReqds);
    const wire::Ipv4View iph(frag->network_bytes());
    std::lock_guard lock(mu_);
    // inet_frag_find: above ipfrag_high_thresh no fragment is taken, whether its queue exists
    // or not, until expiries bring the memory down; nor once the stack is going away.
    const std::uint64_t high_thresh = stack_.config().ipfrag_high_thresh;
    if (dead_ || high_thresh == 0 || mem_ > high_thresh) {
        snmp.ip.inc(IpMib::ReasmFails);
        stack_.net_rx().drops().kfree_skb_reason(std::move(frag), DropReason::ip_frag);
        return nullptr;
    }
    FragQueue& q = *find_or_create(iph.src().value, iph.dst().value, iph.id(), iph.protocol());
    return ip_frag_queue(q, std::move(frag));
}

IpDefrag::FragQueue* IpDefrag::find_or_create(std::uint32_t saddr, std::uint32_t daddr,
                                              std::uint16_t id, std::uint8_t protocol) {
    FragQueue*& chain = hash_[bucket(saddr, daddr, id, protocol)];
    for (FragQueue* q = chain; q; q = q->hash_next)
        if (q->saddr == saddr && q->daddr == daddr && q->id == id && q->protocol == protocol)
            return q;
    // inet_frag_create
    FragQueue* q = free_;
    if (q) {
        free_ = q->hash_next;
    } else {
        storage_.push_back(std::make_unique<FragQueue>());
        q = storage_.back().get();
    }
    q->saddr = saddr;
    q->daddr = daddr;
    q->id = id;
    q->protocol = protocol;
    q->flags = q->ecn = 0;
    q->len = q->meat = q->max_size = q->max_df_size = 0;
    q->fragments = q->tail = nullptr;
    q->run_head.reset();
    // The kernel arms the queue's timer once, at creation: RFC 791's advice to extend it on
    // every fragment would let a queue outlive the MSL (the note above ipfrag_time).
    q->expires = stack_.clock().now_ns() + stack_.config().ipfrag_time;
    q->hash_next = chain;
    chain = q;
    q->older = newest_;
    q->newer = nullptr;
    (newest_ ? newest_->newer : oldest_) = q;
    newest_ = q;
    ++nqueues_;
    mem_ += sizeof(FragQueue);  // inet_frag_alloc charges f->qsize
    if (oldest_ == q) arm_timer();
    return q;
}

PacketPtr IpDefrag::ip_frag_queue(FragQueue& q, PacketPtr frag) {
    Snmp& snmp = stack_.snmp();
    DropMonitor& drops = stack_.net_rx().drops();
    const wire::Ipv4View iph(frag->network_bytes());
    const std::uint16_t frag_off = iph.frag_off();
    const std::size_t offset = static_cast<std::size_t>(frag_off & wire::kIpOffset) << 3;
    const std::size_t ihl = iph.header_len();
    std::size_t end = offset + iph.total_len() - ihl;
    // discard_qp: the fragment says the datagram is broken; all of it goes.
    auto discard_qp = [&](DropReason reason) {
        kill(q, reason);
        snmp.ip.inc(IpMib::ReasmFails);
        drops.kfree_skb_reason(std::move(frag), reason);
        return PacketPtr{};
    };
    if ((frag_off & wire::kIpMf) == 0) {
        // The last fragment: no data may lie beyond it, and a second "last" must agree.
        if (end < q.len || ((q.flags & kLastIn) && end != q.len))
            return discard_qp(DropReason::ip_frag);
        q.flags |= kLastIn;
        q.len = end;
    } else {
        // RFC 791: all but the last fragment carry multiples of 8 bytes. The kernel does not
        // refuse one that does not; it cuts the excess off.
        if (end & 7) {
            end &= ~std::size_t{7};
            if (frag->ip_summed != ChecksumState::unnecessary)
                frag->ip_summed = ChecksumState::none;
        }
        if (end > q.len) {
            if (q.flags & kLastIn) return discard_qp(DropReason::ip_frag);  // beyond the last
            q.len = end;
        }
    }
    if (end == offset) return discard_qp(DropReason::ip_frag);  // no data left
    frag->pull(ihl);
    frag->trim(end - offset);

    Packet* const p = frag.get();
    switch (insert(q, frag, offset, end)) {
        case Insert::ok:
            break;
        case Insert::dup:  // dropped alone; the queue carries on
            drops.kfree_skb_reason(std::move(frag), DropReason::dup_frag);
            return nullptr;
        case Insert::overlap:
            snmp.ip.inc(IpMib::ReasmOverlaps);
            return discard_qp(DropReason::ip_frag_overlap);
    }
    q.meat += p->size();
    q.ecn |= ip4_frag_ecn(iph.tos());
    mem_ += truesize(*p);
    if (offset == 0) q.flags |= kFirstIn;
    const std::size_t fragsize = p->size() + ihl;
    q.max_size = std::max(q.max_size, fragsize);
    if (iph.dont_fragment()) q.max_df_size = std::max(q.max_df_size, fragsize);
    if (q.flags == (kFirstIn | kLastIn) && q.meat == q.len) return ip_frag_reasm(q, *p);
    return nullptr;
}

// inet_frag_queue_insert (RFC 5722 section 4 and its erratum 3089, applied to IPv4 too: an
// overlapping fragment discards the datagram; an exact or inner duplicate is only ignored).
IpDefrag::Insert IpDefrag::insert(FragQueue& q, PacketPtr& frag, std::size_t offset,
                                  std::size_t end) {
    Packet* const p = frag.get();
    if (!q.tail) {  // the first to arrive
        p->next = nullptr;
        q.fragments = q.tail = p;
        q.run_head.set(offset / 8);
    } else if (const std::size_t tail_end = frag_end(*q.tail); tail_end < end) {
        // The common case, fragments in order: it goes after the tail, right after it (joining
        // the tail's run) or after a hole (a run of its own).
        if (offset < tail_end) return Insert::overlap;
        if (offset > tail_end) q.run_head.set(offset / 8);
        p->next = nullptr;
        q.tail->next = p;
        q.tail = p;
    } else {
        // Somewhere before the tail's end: it must fit a hole between runs.
        Packet* before = nullptr;  // the last fragment ahead of the hole
        for (Packet* run = q.fragments; run;) {
            Packet* run_last = run;
            while (run_last->next && !q.run_head.test(frag_offset(*run_last->next) / 8))
                run_last = run_last->next;
            const std::size_t run_start = frag_offset(*run), run_end = frag_end(*run_last);
            if (end <= run_start) break;
            if (offset >= run_end) {
                before = run_last;
                run = run_last->next;
                continue;
            }
            return offset >= run_start && end <= run_end ? Insert::dup : Insert::overlap;
        }
        q.run_head.set(offset / 8);
        Packet*& link = before ? before->next : q.fragments;
        p->next = link;
        link = p;
    }
    frag.release();  // the queue owns it now
    return Insert::ok;
}

PacketPtr IpDefrag::ip_frag_reasm(FragQueue& q, const Packet& last) {
    Snmp& snmp = stack_.snmp();
    const Packet& head = *q.fragments;  // offset 0: its header becomes the datagram's
    const std::size_t ihl = std::size_t{head.network()[0] & 0x0fu} * 4;
    const std::size_t len = ihl + q.len;
    const std::uint8_t ecn = ip_frag_ecn(q.ecn);
    // An invalid ECN mix, or offsets that add up past 64 KiB (out_oversize): the queue goes.
    PacketPtr out;
    if (ecn != kEcnInvalid && len <= kIpMaxDatagram) out = PacketPool::instance().alloc(len);
    if (!out) {
        snmp.ip.inc(IpMib::ReasmFails);
        kill(q, DropReason::ip_frag);
        return nullptr;
    }
    // The datagram takes the first fragment's metadata and the device the last came by
    // (skb_morph, then skb->dev = dev), and the last one's trace, whose path it continues.
    out->dev = last.dev;
    out->protocol = head.protocol;
    out->pkt_type = head.pkt_type;
    out->tstamp = head.tstamp;
    out->queued_cpu = last.queued_cpu;
    out->trace = last.trace;
    std::uint8_t* d = out->put(len);
    std::memcpy(d, head.network(), ihl);
    ChecksumState summed = head.ip_summed;
    for (const Packet* f = q.fragments; f; f = f->next) {
        std::memcpy(d + ihl + frag_offset(*f), f->data(), f->size());
        if (f->ip_summed != summed) summed = ChecksumState::none;  // inet_frag_reasm_finish
    }
    out->ip_summed = summed;
    wire::store16(d + 2, static_cast<std::uint16_t>(len));
    d[1] = static_cast<std::uint8_t>(d[1] | ecn);
    // DF only if the largest fragment had it: refragmenting must not send DF pieces larger
    // than the sender's (ip_frag_reasm, IPSKB_FRAG_PMTU).
    wire::store16(d + 6, q.max_df_size == q.max_size ? wire::kIpDf : 0);
    wire::store16(d + 10, 0);
    wire::store16(d + 10, wire::checksum({d, ihl}));  // ip_send_check
    out->reset_network_header();
    snmp.ip.inc(IpMib::ReasmOKs);
    kill(q, DropReason::not_dropped);  // the fragments are consumed, not dropped
    return out;
}

void IpDefrag::kill(FragQueue& q, DropReason reason) {
    FragQueue** link = &hash_[bucket(q.saddr, q.daddr, q.id, q.protocol)];
    while (*link != &q) link = &(*link)->hash_next;
    *link = q.hash_next;
    (q.older ? q.older->newer : oldest_) = q.newer;
    (q.newer ? q.newer->older : newest_) = q.older;
    for (Packet* f = q.fragments; f;) {
        PacketPtr owned(f);
        f = f->next;
        owned->next = nullptr;
        mem_ -= truesize(*owned);
        if (reason != DropReason::not_dropped)
            stack_.net_rx().drops().kfree_skb_reason(std::move(owned), reason);
    }
    q.fragments = q.tail = nullptr;
    mem_ -= sizeof(FragQueue);
    --nqueues_;
    q.hash_next = free_;
    free_ = &q;
    if (!oldest_ && timer_) timer_->cancel();
}

void IpDefrag::arm_timer() {
    if (!oldest_) return;
    if (!timer_) timer_.emplace(stack_.timers(), [this] { ip_expire(); });
    timer_->arm(oldest_->expires);
}

void IpDefrag::ip_expire() {
    Snmp& snmp = stack_.snmp();
    Packet* heads = nullptr;  // first fragments of expired queues, for ICMP; linked by next
    {
        std::lock_guard lock(mu_);
        const Nanos now = stack_.clock().now_ns();
        while (oldest_ && oldest_->expires <= now) {
            FragQueue& q = *oldest_;
            snmp.ip.inc(IpMib::ReasmFails);
            snmp.ip.inc(IpMib::ReasmTimeout);
            // Only with the first fragment is there a header and 8 bytes of transport header
            // to quote; the sender of a datagram whose first fragment was lost hears nothing.
            if (q.flags & kFirstIn) {  // inet_frag_pull_head
                Packet* head = q.fragments;
                q.fragments = head->next;
                if (q.tail == head) q.tail = nullptr;
                mem_ -= truesize(*head);
                head->next = heads;
                heads = head;
            }
            kill(q, DropReason::frag_reasm_timeout);
        }
        arm_timer();
    }
    // RFC 792: time exceeded, code 1 (fragment reassembly time exceeded), from an end host.
    while (heads) {
        PacketPtr head(heads);
        heads = heads->next;
        head->next = nullptr;
        stack_.icmp().icmp_send(*head, wire::kIcmpTimeExceeded, kIcmpExcFragtime, 0);
        stack_.net_rx().drops().kfree_skb_reason(std::move(head), DropReason::frag_reasm_timeout);
    }
}

void IpDefrag::exit() {
    {
        std::lock_guard lock(mu_);
        dead_ = true;
        while (oldest_) kill(*oldest_, DropReason::frag_reasm_timeout);
    }
    timer_.reset();  // outside the lock: ~Timer waits for a running ip_expire, which takes it
}

}  // namespace vlo
