// The retransmission queue's scoreboard: one entry per segment sent and not yet cumulatively
// acknowledged, in sequence order, with what the kernel keeps in TCP_SKB_CB(skb)->sacked and
// the skb's send time. The bytes themselves stay in the socket's send ring.
//
// A ring that grows by doubling and never shrinks while the connection lives: the steady state
// allocates nothing per segment (a std::deque would, once per block).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "netif/clock.hpp"

namespace vlo {

// TCP_SKB_CB(skb)->sacked bits (include/net/tcp.h).
enum TcpSacked : std::uint8_t {
    kTcpcbSackedAcked = 0x01,    // SKB ACK'd by a SACK block
    kTcpcbSackedRetrans = 0x02,  // SKB retransmitted, the retransmission not yet delivered
    kTcpcbLost = 0x04,           // SKB is lost
    kTcpcbEverRetrans = 0x80,    // Ever retransmitted frame
};

struct TxSeg {
    std::uint32_t seq = 0;
    std::uint32_t end_seq = 0;  // seq + payload (+ 1 for a FIN)
    Nanos xmit_time = 0;        // the last (re)transmission, as skb_mstamp_ns
    std::uint8_t sacked = 0;    // TcpSacked bits
    bool fin = false;
    bool psh = false;      // sent with PSH: a retransmission keeps the flags it had
    bool skb_end = false;  // the last segment of the skb (GSO packet) it went out in
    std::uint32_t len() const { return end_seq - seq - (fin ? 1 : 0); }  // payload bytes
};

class RtxQueue {
  public:
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    TxSeg& operator[](std::size_t i) { return buf_[(head_ + i) & (buf_.size() - 1)]; }
    const TxSeg& operator[](std::size_t i) const { return buf_[(head_ + i) & (buf_.size() - 1)]; }
    TxSeg& front() { return (*this)[0]; }
    const TxSeg& front() const { return (*this)[0]; }
    TxSeg& back() { return (*this)[size_ - 1]; }
    void push_back(const TxSeg& s) {
        if (size_ == buf_.size()) grow();
        (*this)[size_++] = s;
    }
    void pop_front() {
        head_ = (head_ + 1) & (buf_.size() - 1);
        --size_;
    }
    void clear() { head_ = size_ = 0; }
    // Splits entry i at sequence `at` (tcp_fragment): the part from `at` becomes entry i + 1.
    void split(std::size_t i, std::uint32_t at) {
        push_back(TxSeg{});
        for (std::size_t k = size_ - 1; k > i + 1; --k) (*this)[k] = (*this)[k - 1];
        TxSeg& first = (*this)[i];
        TxSeg second = first;
        second.seq = at;
        first.end_seq = at;
        first.fin = false;
        first.psh = false;  // tcp_fragment: PSH stays with the tail
        first.skb_end = false;
        (*this)[i + 1] = second;
    }
    void release() {
        std::vector<TxSeg>().swap(buf_);
        head_ = size_ = 0;
    }

  private:
    void grow() {
        std::vector<TxSeg> bigger(buf_.empty() ? 16 : buf_.size() * 2);
        for (std::size_t i = 0; i < size_; ++i) bigger[i] = (*this)[i];
        buf_.swap(bigger);
        head_ = 0;
    }
    std::vector<TxSeg> buf_;  // a power of two in size
    std::size_t head_ = 0, size_ = 0;
};

}  // namespace vlo
