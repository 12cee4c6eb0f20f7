// struct sk_buff_head without its lock: an intrusive FIFO of packets through Packet::next, so
// queueing allocates nothing. The owner provides the locking.
#pragma once

#include <cstddef>

#include "netif/packet.hpp"

namespace vlo {

class PacketQueue {
public:
    PacketQueue() = default;
    PacketQueue(const PacketQueue&) = delete;
    PacketQueue& operator=(const PacketQueue&) = delete;
    ~PacketQueue() { clear(); }

    bool empty() const { return head_ == nullptr; }
    std::size_t size() const { return size_; }

    void push_back(PacketPtr pkt) {
        Packet* p = pkt.release();
        p->next = nullptr;
        if (tail_)
            tail_->next = p;
        else
            head_ = p;
        tail_ = p;
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
    const Packet* front() const { return head_; }
    // skb_queue_splice_tail_init: move all of `other` to our end.
    void splice_tail(PacketQueue& other) {
        if (other.empty()) return;
        if (tail_)
            tail_->next = other.head_;
        else
            head_ = other.head_;
        tail_ = other.tail_;
        size_ += other.size_;
        other.head_ = other.tail_ = nullptr;
        other.size_ = 0;
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
