#include "netif/packet_pool.hpp"

#include <cstring>
#include <new>

#include "netif/trace_log.hpp"

namespace vlo {

namespace {
constexpr std::size_t kCapacity[PacketPool::kClasses] = {PacketPool::kSmallCapacity,
                                                         PacketPool::kLargeCapacity};
// Per-thread cache bounds: a burst of a full backlog of small packets stays local; large ones
// cost 64 KiB each, so fewer are kept.
constexpr std::size_t kCacheMax[PacketPool::kClasses] = {512, 16};
}  // namespace

struct ThreadCache {
    Packet* head[PacketPool::kClasses] = {};
    std::size_t count[PacketPool::kClasses] = {};
    bool alive = true;

    ~ThreadCache() {
        for (int c = 0; c < PacketPool::kClasses; ++c) {
            if (count[c] == 0) continue;
            Packet* tail = head[c];
            while (tail->next) tail = tail->next;
            PacketPool::instance().give_batch(c, head[c], tail, count[c]);
        }
        alive = false;
    }
};

namespace {
thread_local ThreadCache tl_cache;
}

PacketPool& PacketPool::instance() {
    static PacketPool pool;
    return pool;
}

PacketPool::~PacketPool() {
    for (auto& d : depot_) {
        while (d.head) {
            Packet* p = d.head;
            d.head = p->next;
            p->~Packet();
            ::operator delete(p);
        }
    }
}

Packet* PacketPool::make(int size_class) {
    heap_allocations_.fetch_add(1, std::memory_order_relaxed);
    const std::size_t cap = kCapacity[size_class];
    void* mem = ::operator new(sizeof(Packet) + cap);
    auto* buf = static_cast<std::uint8_t*>(mem) + sizeof(Packet);
    return new (mem) Packet(buf, static_cast<std::uint32_t>(cap), static_cast<std::uint8_t>(size_class));
}

PacketPtr PacketPool::alloc(std::size_t size) {
    int c = 0;
    while (c < kClasses && size + Packet::kHeadroom > kCapacity[c]) ++c;
    if (c == kClasses) return nullptr;
    return alloc_class(c);
}

PacketPtr PacketPool::alloc_class(int c) {
    ThreadCache& tc = tl_cache;
    if (tc.count[c] == 0 && tc.alive) tc.count[c] = take_batch(c, tc.head[c], kCacheMax[c] / 2);
    Packet* p;
    if (tc.count[c] > 0) {
        p = tc.head[c];
        tc.head[c] = p->next;
        --tc.count[c];
        p->reset();
    } else {
        p = make(c);
    }
    return PacketPtr(p);
}

PacketPtr PacketPool::copy(const Packet& src) {
    if (src.size_class_ >= kClasses) return nullptr;
    PacketPtr p = alloc_class(src.size_class_);
    // Same class, same capacity: every offset of the original is valid in the copy. The headroom
    // goes along too (as skb_copy copies it): a pulled header stays readable through network().
    std::memcpy(p->buf_, src.buf_, src.tail_);
    p->head_ = src.head_;
    p->tail_ = src.tail_;
    p->dev = src.dev;
    p->protocol = src.protocol;
    p->network_header = src.network_header;
    p->transport_header = src.transport_header;
    p->ip_summed = src.ip_summed;
    p->pkt_type = src.pkt_type;
    p->queued_cpu = src.queued_cpu;
    p->tstamp = src.tstamp;
    p->trace = src.trace;
    return p;
}

void PacketPool::release(Packet* p) {
    const int c = p->size_class_;
    ThreadCache& tc = tl_cache;
    if (!tc.alive) {  // thread is exiting: straight to the depot
        p->next = nullptr;
        give_batch(c, p, p, 1);
        return;
    }
    p->next = tc.head[c];
    tc.head[c] = p;
    if (++tc.count[c] <= kCacheMax[c]) return;
    // Spill half to the depot, keeping the most recently freed (cache-warm) half.
    std::size_t keep = kCacheMax[c] / 2;
    Packet* last_kept = tc.head[c];
    for (std::size_t i = 1; i < keep; ++i) last_kept = last_kept->next;
    Packet* spill = last_kept->next;
    last_kept->next = nullptr;
    Packet* tail = spill;
    std::size_t n = 1;
    while (tail->next) {
        tail = tail->next;
        ++n;
    }
    tc.count[c] = keep;
    give_batch(c, spill, tail, n);
}

std::size_t PacketPool::take_batch(int c, Packet*& head, std::size_t max) {
    Depot& d = depot_[c];
    std::lock_guard lock(d.mu);
    std::size_t n = 0;
    Packet* first = d.head;
    Packet* last = nullptr;
    for (Packet* p = first; p && n < max; p = p->next, ++n) last = p;
    if (n == 0) return 0;
    d.head = last->next;
    d.count -= n;
    last->next = nullptr;
    head = first;
    return n;
}

void PacketPool::give_batch(int c, Packet* head, Packet* tail, std::size_t n) {
    Depot& d = depot_[c];
    std::lock_guard lock(d.mu);
    tail->next = d.head;
    d.head = head;
    d.count += n;
}

void Packet::reset() {
    head_ = tail_ = kHeadroom;
    dev = nullptr;
    protocol = kEthPIp;
    network_header = transport_header = 0;
    ip_summed = ChecksumState::none;
    pkt_type = PacketType::host;
    queued_cpu = 0;
    tstamp = 0;
    trace.reset();
    next = nullptr;
}

void PacketDeleter::operator()(Packet* p) const noexcept {
    if (p->trace.on) [[unlikely]]
        TraceLog::instance().record(p->trace);
    PacketPool::instance().release(p);
}

}  // namespace vlo
