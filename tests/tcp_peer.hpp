// A TCP connection between a vlo socket and a peer the test plays segment by segment on a
// wire device, on the virtual clock (as packetdrill drives a stack): what the peer sends is
// built from a few numbers, what vlo sent comes back parsed.
#pragma once

#include <optional>
#include <vector>

#include <catch2/catch.hpp>

#include "stack/tcp_socket.hpp"
#include "stack/wire/checksum.hpp"
#include "test_util.hpp"

namespace vlo::test {

constexpr std::uint16_t kMss = 1448;  // 1500 - 40 - 12 of timestamps

// A segment the stack sent, parsed.
struct Out {
    wire::TcpRepr tcp;
    std::size_t len = 0;
};

// One connection between a vlo socket and a peer the test plays, on the virtual clock.
struct Peer {
    VirtualClock clock;
    Stack stack{inline_config(), clock};
    WireDevice& eth = add_wire(stack);
    const Ipv4Address them{198, 18, 0, 1}, us{198, 18, 0, 2};
    std::unique_ptr<TcpSocket> sock;
    std::uint32_t peer_seq = 1000;  // the peer's next sequence number
    std::uint32_t our_isn = 0;
    std::uint32_t ts = 5000;  // the peer's TSval clock
    std::size_t seen = 0;     // segments of eth.sent already looked at

    std::uint64_t ext(TcpExtMib c) { return stack.tcp().stats().ext.get(c); }
    TcpSock& sk() { return sock->sock(); }
    std::uint32_t our_seq(std::uint32_t at) const {
        return our_isn + 1 + at;
    }  // our stream offset -> seq

    // The peer's segment: ACK `ack_off` of our stream, optional SACK blocks (as stream offsets)
    // and payload; its TSecr echoes our latest TSval.
    void send(std::uint32_t ack_off,
              std::vector<std::pair<std::uint32_t, std::uint32_t>> sacks = {},
              std::size_t payload = 0, std::uint8_t flags = wire::kTcpAck,
              std::optional<std::uint32_t> tsval = {}) {
        wire::TcpRepr r;
        r.src_port = 40000;
        r.dst_port = 80;
        r.seq = peer_seq;
        r.ack = our_seq(ack_off);
        r.flags = flags;
        r.window = 2000;  // 2000 << 7 = 256000 bytes: never the limit here
        r.options.timestamp = std::pair{tsval.value_or(++ts), last_tsval};
        for (auto [a, b] : sacks) r.options.sack[r.options.num_sack++] = {our_seq(a), our_seq(b)};
        std::vector<std::uint8_t> data(payload, 0x5a);
        inject(stack, eth, tcp_segment(them, us, r, data));
    }
    // What the stack sent since the last look.
    std::vector<Out> out() {
        std::vector<Out> v;
        for (; seen < eth.sent.size(); ++seen) {
            const auto b = eth.sent[seen]->bytes().subspan(wire::kIpv4MinHeader);
            const wire::TcpView th(b);
            Out o{wire::TcpRepr::parse(th), th.payload().size()};
            if (o.tcp.options.timestamp) last_tsval = o.tcp.options.timestamp->first;
            v.push_back(o);
        }
        return v;
    }
    void advance(Nanos by, Nanos step = kNsPerMs) {
        for (; by > 0; by -= step) {
            clock.advance(std::min(step, by));
            stack.run_timers();
        }
    }
    // Passive open: the peer's SYN (MSS 1460, SACK, TS, wscale 7; ECE|CWR to ask for ECN),
    // our SYN-ACK, its ACK.
    void open(Nanos rtt = 10 * kNsPerMs, std::uint8_t syn_flags = 0) {
        TcpSocket listener(stack);
        listener.sock().user_mss = listener_mss;
        REQUIRE_FALSE(listener.bind({{}, 80}));
        REQUIRE_FALSE(listener.listen(8));
        wire::TcpRepr syn;
        syn.src_port = 40000;
        syn.dst_port = 80;
        syn.seq = peer_seq - 1;
        syn.flags = wire::kTcpSyn | syn_flags;
        syn.window = 65535;
        syn.options.mss = 1460;
        syn.options.sack_permitted = true;
        syn.options.timestamp = std::pair{ts, 0u};
        syn.options.wscale = 7;
        inject(stack, eth, tcp_segment(them, us, syn));
        const auto synack = out();
        REQUIRE(synack.size() == 1);
        our_isn = synack[0].tcp.seq;
        synack_mss = synack[0].tcp.options.mss.value_or(0);
        synack_flags = synack[0].tcp.flags;
        advance(rtt);
        send(0);
        std::error_code ec;
        sock = listener.try_accept(ec);
        REQUIRE(sock);
        REQUIRE_FALSE(sock->set_nodelay(true));
    }
    // Our socket writes `segments` full segments.
    void write(std::size_t segments) {
        std::vector<std::uint8_t> data(segments * kMss, 0xa5);
        std::size_t n = 0;
        REQUIRE_FALSE(sock->try_send(data, n));
        REQUIRE(n == data.size());
    }
    std::uint16_t listener_mss = 0;  // TCP_MAXSEG on the listener before the SYN arrives
    std::uint16_t synack_mss = 0;    // the MSS our SYN-ACK announced
    std::uint32_t last_tsval = 0;
    std::uint8_t synack_flags = 0;
    // The IP TOS byte of the n-th segment sent (its ECN field is the low two bits).
    std::uint8_t tos(std::size_t n) const { return eth.sent.at(n)->bytes()[1]; }
    // The peer's data segment with the IP header's ECN field set to CE (a router's mark).
    void send_ce(std::size_t payload) {
        wire::TcpRepr r;
        r.src_port = 40000;
        r.dst_port = 80;
        r.seq = peer_seq;
        r.ack = our_seq(0);
        r.flags = wire::kTcpAck;
        r.window = 2000;
        r.options.timestamp = std::pair{++ts, last_tsval};
        std::vector<std::uint8_t> data(payload, 0x5a);
        auto bytes = tcp_segment(them, us, r, data);
        bytes[1] |= 0x03;  // CE
        wire::store16(&bytes[10], 0);
        wire::store16(&bytes[10],
                      wire::checksum_fold(wire::checksum_partial({bytes.data(), 20}, 0)));
        inject(stack, eth, bytes);
        peer_seq += static_cast<std::uint32_t>(payload);
    }
};

inline std::uint32_t off(const Peer& p, const Out& o) { return o.tcp.seq - p.our_isn - 1; }

}  // namespace vlo::test
