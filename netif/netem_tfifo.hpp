// netem's two internal queues, intrusive through Packet::next so holding a packet allocates
// nothing. Packet::tstamp carries the packet's time_to_send while it waits (netem keeps it in
// skb->cb; on transmit skb->tstamp is the earliest departure time, which is what this is).
#pragma once

#include <cstddef>

#include "netif/packet.hpp"

namespace vlo {

// The t(ime)fifo: packets ordered by time_to_send, equal times in arrival order. As in the
// kernel's tfifo_enqueue a packet not earlier than the last is appended in O(1) (every packet
// when there is no jitter); an earlier one is placed by a walk from the head, the pre-4.15
// tfifo's sorted list rather than today's rbtree, bounded by netem's limit.
class NetemTfifo {
public:
    NetemTfifo() = default;
    NetemTfifo(const NetemTfifo&) = delete;
    NetemTfifo& operator=(const NetemTfifo&) = delete;
    ~NetemTfifo() { clear(); }

    bool empty() const { return head_ == nullptr; }
    std::size_t size() const { return size_; }
    const Packet* front() const { return head_; }
    const Packet* back() const { return tail_; }

    void insert(PacketPtr pkt) {
        Packet* p = pkt.release();
        const Nanos t = p->tstamp;
        ++size_;
        if (!tail_ || t >= tail_->tstamp) {  // the common case: in order
            p->next = nullptr;
            (tail_ ? tail_->next : head_) = p;
            tail_ = p;
            return;
        }
        if (t < head_->tstamp) {
            p->next = head_;
            head_ = p;
            return;
        }
        Packet* prev = head_;  // the last packet due no later than p
        while (prev->next->tstamp <= t) prev = prev->next;
        p->next = prev->next;
        prev->next = p;
    }
    PacketPtr pop_front() {
        Packet* p = head_;
        if (!p) return nullptr;
        head_ = p->next;
        if (!head_) tail_ = nullptr;
        p->next = nullptr;
        --size_;
        return PacketPtr{p};
    }
    void clear() {
        while (pop_front()) {
        }
    }

private:
    Packet* head_ = nullptr;
    Packet* tail_ = nullptr;
    std::size_t size_ = 0;
};

// sch->q, the qdisc's own queue that netem puts a reordered packet at the head of
// (__qdisc_enqueue_head) and dequeues from before the tfifo.
class NetemHeadQueue {
public:
    NetemHeadQueue() = default;
    NetemHeadQueue(const NetemHeadQueue&) = delete;
    NetemHeadQueue& operator=(const NetemHeadQueue&) = delete;
    ~NetemHeadQueue() { clear(); }

    bool empty() const { return head_ == nullptr; }
    std::size_t size() const { return size_; }
    const Packet* back() const { return tail_; }

    void push_front(PacketPtr pkt) {
        Packet* p = pkt.release();
        p->next = head_;
        head_ = p;
        if (!tail_) tail_ = p;
        ++size_;
    }
    PacketPtr pop_front() {
        Packet* p = head_;
        if (!p) return nullptr;
        head_ = p->next;
        if (!head_) tail_ = nullptr;
        p->next = nullptr;
        --size_;
        return PacketPtr{p};
    }
    void clear() {
        while (pop_front()) {
        }
    }

private:
    Packet* head_ = nullptr;
    Packet* tail_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace vlo
