// IPv4 fragmentation and reassembly through a wire device with a 1500-byte MTU (and lo's 65536),
// on the deterministic setup: fragments cut by hand arrive in every order and come back as one
// datagram; what the stack sends longer than the MTU leaves as fragments, checked field by field
// and glued back both by hand and by libtins; DF, timeouts, overlaps, duplicates, malformed
// fragments and the memory limit are dropped and counted as Linux counts them.
#include <tins/tins.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "stack/ip_fragment.hpp"
#include "stack/ping_socket.hpp"
#include "stack/udp_socket.hpp"
#include "stack/wire/checksum.hpp"
#include "stack/wire/udp.hpp"
#include "test_util.hpp"

using namespace vlo;
using Bytes = std::vector<std::uint8_t>;

namespace {

const Ipv4Address kEthAddr{198, 18, 0, 2};  // ours, on eth0
const Ipv4Address kPeer{198, 18, 0, 1};     // a neighbour on eth0's subnet
const Ipv4Address kLo{127, 0, 0, 1};
constexpr std::size_t kMtu = 1500;
constexpr std::size_t kFragData = kMtu - wire::kIpv4MinHeader;  // 1480: data per full fragment
constexpr std::uint8_t kIcmpExcFragtime = 1;

Bytes pattern(std::size_t n, std::uint8_t seed = 0) {
    Bytes v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i * 7 + seed);
    return v;
}

void fix_ip_checksum(Bytes& b) {
    const std::size_t ihl = std::size_t{b[0] & 0x0fu} * 4;
    wire::store16(&b[10], 0);
    wire::store16(&b[10], wire::checksum(std::span(b).first(ihl)));
}

// `dgram` with another IP ID (and TOS), header checksum right.
Bytes with_id(Bytes dgram, std::uint16_t id, std::uint8_t tos = 0) {
    wire::store16(&dgram[4], id);
    dgram[1] = tos;
    fix_ip_checksum(dgram);
    return dgram;
}

// One fragment of `dgram` (a 20-byte header): its data [offset, offset + len), MF if `more`.
Bytes fragment(const Bytes& dgram, std::size_t offset, std::size_t len, bool more) {
    Bytes f(wire::kIpv4MinHeader + len);
    std::memcpy(f.data(), dgram.data(), wire::kIpv4MinHeader);
    std::memcpy(f.data() + wire::kIpv4MinHeader, dgram.data() + wire::kIpv4MinHeader + offset, len);
    wire::store16(&f[2], static_cast<std::uint16_t>(wire::kIpv4MinHeader + len));
    wire::store16(&f[6], static_cast<std::uint16_t>(offset / 8 | (more ? wire::kIpMf : 0)));
    fix_ip_checksum(f);
    return f;
}

// `dgram` cut as a sender with a 1500-byte MTU cuts it.
std::vector<Bytes> cut(const Bytes& dgram) {
    std::vector<Bytes> out;
    const std::size_t total = dgram.size() - wire::kIpv4MinHeader;
    for (std::size_t off = 0; off < total; off += kFragData) {
        const std::size_t len = std::min(kFragData, total - off);
        out.push_back(fragment(dgram, off, len, off + len < total));
    }
    return out;
}

// A 4000-byte ping from the peer (ping -s 4000): 4028 bytes, three fragments at MTU 1500.
Bytes big_echo(std::uint16_t ip_id = 0x1234, std::uint8_t tos = 0) {
    return with_id(test::echo_request(kPeer, kEthAddr, 0x77, 1, 4000), ip_id, tos);
}

// A UDP datagram built by libtins (an independent serialiser: it fills in both checksums).
Bytes udp_datagram(Ipv4Address src, std::uint16_t sport, Ipv4Address dst, std::uint16_t dport,
                   const Bytes& payload, std::uint16_t ip_id) {
    Tins::IP ip = Tins::IP(Tins::IPv4Address(dst.to_string()), Tins::IPv4Address(src.to_string())) /
                  Tins::UDP(dport, sport) / Tins::RawPDU(payload);
    ip.ttl(64);
    ip.id(ip_id);
    return ip.serialize();
}

// Where a fragment's data belongs in its datagram, in bytes.
std::size_t data_offset(const wire::Ipv4View& v) {
    return (v.frag_off() & wire::kIpOffset) * std::size_t{8};
}

Bytes bytes_of(const Packet& p) { return Bytes(p.data(), p.data() + p.size()); }

// The fragments of one datagram as a device sent them, checked as a receiver would check them:
// valid headers, one ID, no DF, MF on all but the last, offsets back to back from 0, data in
// multiples of 8 but the last, each no longer than `mtu` and every one but the last filling it.
// Returns the datagram they carry (the first one's header, total length and flags fixed), after
// checking that libtins' reassembler glues the same data.
Bytes glue_checked(const std::vector<PacketPtr>& sent, std::size_t mtu = kMtu) {
    REQUIRE(sent.size() >= 2);
    const wire::Ipv4View first(sent.front()->bytes());
    const std::size_t hlen = first.header_len();
    Bytes out(sent.front()->data(), sent.front()->data() + hlen);
    const std::size_t per = (mtu - hlen) & ~std::size_t{7};
    Tins::IPv4Reassembler reassembler;
    Bytes by_tins;
    for (std::size_t i = 0; i < sent.size(); ++i) {
        const auto b = sent[i]->bytes();
        REQUIRE(wire::Ipv4View::check(b) == wire::Ipv4Error::none);  // header checksum too
        const wire::Ipv4View v(b);
        const bool last = i + 1 == sent.size();
        CAPTURE(i);
        CHECK(v.total_len() == b.size());
        CHECK(b.size() <= mtu);
        CHECK(v.id() == first.id());
        CHECK(v.src() == first.src());
        CHECK(v.dst() == first.dst());
        CHECK(v.protocol() == first.protocol());
        CHECK_FALSE(v.dont_fragment());
        CHECK(((v.frag_off() & wire::kIpMf) != 0) == !last);
        CHECK(data_offset(v) == out.size() - hlen);
        const auto data = v.payload();
        if (!last) CHECK(data.size() == per);
        out.insert(out.end(), data.begin(), data.end());
        Tins::IP ip(b.data(), static_cast<std::uint32_t>(b.size()));
        const auto status = reassembler.process(ip);
        CHECK(status ==
              (last ? Tins::IPv4Reassembler::REASSEMBLED : Tins::IPv4Reassembler::FRAGMENTED));
        if (last && status == Tins::IPv4Reassembler::REASSEMBLED && ip.inner_pdu())
            by_tins = ip.inner_pdu()->serialize();
    }
    CHECK(Bytes(out.begin() + static_cast<long>(hlen), out.end()) == by_tins);
    wire::store16(&out[2], static_cast<std::uint16_t>(out.size()));
    wire::store16(&out[6], 0);
    fix_ip_checksum(out);
    return out;
}

// What lo hands to NET_RX, recorded on the way (a tap in front of the stack's netif_rx).
struct LoTap final : RxSink {
    explicit LoTap(Stack& stack) : next(stack.net_rx()), lo(stack.loopback()) {
        lo.set_rx_sink(this);
    }
    ~LoTap() override { lo.set_rx_sink(&next); }
    NetRxResult netif_rx(PacketPtr pkt) override {
        seen.push_back(bytes_of(*pkt));
        return next.netif_rx(std::move(pkt));
    }
    RxSink& next;
    Device& lo;
    std::vector<Bytes> seen;
};

// Sits in front of a protocol and keeps each datagram as the transport got it.
struct ProtoSpy final : InetProtocol {
    explicit ProtoSpy(InetProtocol& next) : next(next) {}
    void rcv(PacketPtr pkt) override {
        const auto b = pkt->network_bytes();
        seen.emplace_back(b.begin(), b.end());
        at_transport.push_back(pkt->data() == pkt->transport());
        next.rcv(std::move(pkt));
    }
    InetProtocol& next;
    std::vector<Bytes> seen;
    std::vector<bool> at_transport;
};

// Stack on a virtual clock with eth0 (198.18.0.2/24, MTU 1500).
struct Frag {
    VirtualClock clock;
    Stack stack;
    test::WireDevice* eth0;

    explicit Frag(const StackConfig& config = test::inline_config())
        : stack(config, clock), eth0(&test::add_wire(stack)) {}

    void inject(const Bytes& b) { test::inject(stack, *eth0, b); }
    void advance(Nanos by) {
        clock.advance(by);
        stack.run_timers();
    }
    std::uint64_t ip(IpMib m) const { return stack.snmp().ip.get(m); }
    std::uint64_t icmp(IcmpMib m) const { return stack.snmp().icmp.get(m); }
    std::uint64_t drops(DropReason r) { return stack.net_rx().drops().count(r); }
    std::size_t queues() { return stack.ip().defrag().queues(); }
    std::size_t mem() { return stack.ip().defrag().mem(); }

    // The ICMP echo reply to big_echo() that went out on eth0, glued back from its fragments.
    void require_echo_reply(const Bytes& request) {
        REQUIRE(eth0->sent.size() == 3);
        const Bytes reply = glue_checked(eth0->sent);
        CHECK(reply.size() == request.size());
        const wire::Ipv4View iph(reply);
        CHECK(iph.src() == kEthAddr);
        CHECK(iph.dst() == kPeer);
        CHECK(iph.protocol() == wire::kIpProtoIcmp);
        const auto icmp_bytes = iph.payload();
        REQUIRE(wire::IcmpView::check(icmp_bytes) == wire::IcmpView::Error::none);
        const wire::IcmpView echo(icmp_bytes);
        CHECK(echo.type() == wire::kIcmpEchoReply);
        CHECK(echo.echo_id() == 0x77);
        CHECK(echo.echo_seq() == 1);
        const wire::IcmpView req(wire::Ipv4View(request).payload());
        CHECK(Bytes(echo.data().begin(), echo.data().end()) ==
              Bytes(req.data().begin(), req.data().end()));
    }
};

}  // namespace

TEST_CASE("ip_frag: a 4000-byte echo in three fragments is answered in three", "[frag]") {
    const std::vector<int> order = GENERATE(std::vector<int>{0, 1, 2}, std::vector<int>{2, 1, 0},
                                            std::vector<int>{1, 2, 0}, std::vector<int>{2, 0, 1});
    CAPTURE(order);
    Frag f;
    const Bytes request = big_echo();
    const auto frags = cut(request);
    REQUIRE(frags.size() == 3);
    for (std::size_t i = 0; i < frags.size(); ++i) {
        f.inject(frags[static_cast<std::size_t>(order[i])]);
        if (i + 1 < frags.size()) {
            CHECK(f.eth0->sent.empty());
            CHECK(f.queues() == 1);
            CHECK(f.icmp(IcmpMib::InMsgs) == 0);
        }
    }
    CHECK(f.ip(IpMib::ReasmReqds) == 3);
    CHECK(f.ip(IpMib::ReasmOKs) == 1);
    CHECK(f.ip(IpMib::ReasmFails) == 0);
    CHECK(f.ip(IpMib::InDelivers) == 1);
    CHECK(f.icmp(IcmpMib::InEchos) == 1);
    CHECK(f.queues() == 0);
    CHECK(f.mem() == 0);

    // 4028 bytes back: 1500 + 1500 + 1068 on the wire, one datagram in the counters.
    f.require_echo_reply(request);
    CHECK(f.eth0->sent[0]->size() == 1500);
    CHECK(f.eth0->sent[1]->size() == 1500);
    CHECK(f.eth0->sent[2]->size() == 1068);
    CHECK(f.ip(IpMib::OutRequests) == 1);
    CHECK(f.ip(IpMib::FragOKs) == 1);
    CHECK(f.ip(IpMib::FragCreates) == 3);
    CHECK(f.ip(IpMib::FragFails) == 0);
    CHECK(f.ip(IpMib::OutTransmits) == 3);
}

TEST_CASE("ip_frag: the transport gets the reassembled datagram as if it came whole", "[frag]") {
    Frag f;
    ProtoSpy spy(f.stack.icmp());
    f.stack.ip().add_protocol(wire::kIpProtoIcmp, &spy);
    const Bytes request = big_echo();
    for (const Bytes& b : cut(request)) f.inject(b);
    f.stack.ip().add_protocol(wire::kIpProtoIcmp, &f.stack.icmp());
    REQUIRE(spy.seen.size() == 1);
    CHECK(spy.at_transport[0]);
    const Bytes& got = spy.seen[0];
    REQUIRE(wire::Ipv4View::check(got) == wire::Ipv4Error::none);  // checksum rewritten
    const wire::Ipv4View iph(got);
    CHECK(iph.total_len() == request.size());
    CHECK(iph.frag_off() == 0);
    CHECK(Bytes(got.begin() + 20, got.end()) == Bytes(request.begin() + 20, request.end()));
}

TEST_CASE("ip_frag: a 60000-byte UDP datagram over lo is not fragmented", "[frag]") {
    Frag f;
    UdpSocket server(f.stack), client(f.stack);
    REQUIRE_FALSE(server.bind(kLo, 7));
    const Bytes payload = pattern(60000, 3);
    REQUIRE_FALSE(client.sendto(kLo, 7, payload));
    Bytes buf(65536);
    std::size_t n = 0;
    REQUIRE_FALSE(server.recv(buf, n, f.clock.now_ns()));
    buf.resize(n);
    CHECK(buf == payload);
    CHECK(f.ip(IpMib::FragCreates) == 0);
    CHECK(f.ip(IpMib::ReasmReqds) == 0);
    CHECK(f.stack.loopback().stats().tx_packets.load() == 1);
}

TEST_CASE("ip_frag: a 60000-byte UDP datagram to the wire leaves in 41 fragments", "[frag]") {
    Frag f;
    UdpSocket sock(f.stack);
    REQUIRE_FALSE(sock.bind(kEthAddr, 4000));
    const Bytes payload = pattern(60000, 5);
    REQUIRE_FALSE(sock.sendto(kPeer, 9, payload));
    // 60008 bytes of UDP: 40 fragments of 1480 and one of 808.
    REQUIRE(f.eth0->sent.size() == 41);
    CHECK(f.eth0->sent.back()->size() == 20 + 808);
    const Bytes dgram = glue_checked(f.eth0->sent);
    const wire::Ipv4View iph(dgram);
    CHECK(iph.id() != 0);  // no DF: the ID must tell this datagram's fragments from the next's
    const auto udp = iph.payload();
    REQUIRE(udp.size() == 60008);
    CHECK(wire::UdpView(udp).dst_port() == 9);
    CHECK(wire::udp_checksum_valid(kEthAddr, kPeer, udp));  // summed in full: no device would
    CHECK(Bytes(udp.begin() + 8, udp.end()) == payload);
    CHECK(f.ip(IpMib::FragOKs) == 1);
    CHECK(f.ip(IpMib::FragCreates) == 41);
    CHECK(f.ip(IpMib::OutTransmits) == 41);
    CHECK(f.stack.snmp().udp.get(UdpMib::OutDatagrams) == 1);

    // Each datagram gets its own ID, so fragments of two never mix at the receiver.
    f.eth0->sent.clear();
    REQUIRE_FALSE(sock.sendto(kPeer, 9, payload));
    REQUIRE(f.eth0->sent.size() == 41);
    CHECK(wire::Ipv4View(f.eth0->sent[0]->bytes()).id() != iph.id());
}

TEST_CASE("ip_frag: a 60000-byte UDP datagram from the wire is reassembled for the socket",
          "[frag]") {
    const bool shuffled = GENERATE(false, true);
    CAPTURE(shuffled);
    Frag f;
    UdpSocket sock(f.stack);
    REQUIRE_FALSE(sock.bind(kEthAddr, 4000));
    const Bytes payload = pattern(60000, 11);
    auto frags = cut(udp_datagram(kPeer, 5353, kEthAddr, 4000, payload, 0xbeef));
    REQUIRE(frags.size() == 41);
    if (shuffled) std::shuffle(frags.begin(), frags.end(), std::mt19937(42));
    for (const Bytes& b : frags) f.inject(b);
    Bytes buf(65536);
    Ipv4Address from;
    std::uint16_t from_port = 0;
    std::size_t n = 0;
    REQUIRE_FALSE(sock.recvfrom(buf, from, from_port, n, f.clock.now_ns()));
    buf.resize(n);
    CHECK(buf == payload);
    CHECK(from == kPeer);
    CHECK(from_port == 5353);
    CHECK(f.ip(IpMib::ReasmReqds) == 41);
    CHECK(f.ip(IpMib::ReasmOKs) == 1);
    CHECK(f.stack.snmp().udp.get(UdpMib::InErrors) == 0);
    CHECK(f.mem() == 0);
}

TEST_CASE("ip_frag: datagrams with one ID but another protocol are reassembled apart", "[frag]") {
    Frag f;
    UdpSocket sock(f.stack);
    REQUIRE_FALSE(sock.bind(kEthAddr, 4000));
    const auto echo = cut(big_echo(0x4242));
    const auto udp = cut(udp_datagram(kPeer, 5353, kEthAddr, 4000, pattern(3000), 0x4242));
    REQUIRE(udp.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        f.inject(echo[i]);
        f.inject(udp[i]);
    }
    CHECK(f.ip(IpMib::ReasmOKs) == 2);
    CHECK(f.eth0->sent.size() == 3);  // the echo reply
    Bytes buf(65536);
    std::size_t n = 0;
    REQUIRE_FALSE(sock.recv(buf, n, f.clock.now_ns()));
    CHECK(n == 3000);
}

TEST_CASE("ip_frag: DF and longer than the MTU is EMSGSIZE and tells the sender the MTU",
          "[frag]") {
    Frag f;
    LoTap tap(f.stack);
    UdpSocket sock(f.stack);
    REQUIRE_FALSE(sock.bind(kEthAddr, 5555));
    REQUIRE_FALSE(sock.connect(kPeer, 9));
    Route rt;
    REQUIRE_FALSE(f.stack.ip().route_output(kPeer, kEthAddr, nullptr, rt));
    // A DF datagram from that socket's address and port, as IP_PMTUDISC_DO (or TCP after the
    // path shrank) would send it: 3028 bytes for a 1500-byte MTU.
    const Bytes payload = pattern(3000);
    PacketPtr pkt = PacketPool::instance().alloc(wire::kUdpHeader + payload.size());
    std::uint8_t* uh = pkt->put(wire::kUdpHeader + payload.size());
    wire::UdpRepr{5555, 9, payload.size()}.emit({uh, wire::kUdpHeader});
    std::memcpy(uh + wire::kUdpHeader, payload.data(), payload.size());
    wire::store16(uh + 6, wire::udp_checksum(kEthAddr, kPeer, pkt->bytes()));
    wire::Ipv4Repr ip;
    ip.protocol = wire::kIpProtoUdp;
    ip.dont_fragment = true;
    CHECK(f.stack.ip().ip_local_out(std::move(pkt), rt, ip) == std::errc::message_size);

    CHECK(f.eth0->sent.empty());
    CHECK(f.ip(IpMib::FragFails) == 1);
    CHECK(f.ip(IpMib::FragOKs) == 0);
    CHECK(f.ip(IpMib::FragCreates) == 0);
    CHECK(f.drops(DropReason::pkt_too_big) == 1);
    // Fragmentation needed went back to the source, this host, through lo (RFC 1191: the MTU
    // in the low half of the second word)...
    REQUIRE(tap.seen.size() == 1);
    const Bytes& e = tap.seen[0];
    const wire::Ipv4View outer(e);
    CHECK(outer.dst() == kEthAddr);
    CHECK(outer.protocol() == wire::kIpProtoIcmp);
    const wire::IcmpView msg(outer.payload());
    CHECK(msg.type() == wire::kIcmpDestUnreach);
    CHECK(msg.code() == wire::kIcmpFragNeeded);
    CHECK(msg.rest_of_header() == kMtu);
    const wire::Ipv4View quoted(msg.data());
    CHECK(quoted.total_len() == 3028);
    CHECK(quoted.dont_fragment());
    CHECK(quoted.dst() == kPeer);
    CHECK(f.icmp(IcmpMib::OutDestUnreachs) == 1);
    CHECK(f.icmp(IcmpMib::InDestUnreachs) == 1);
    // ...where the socket's err handler turned it into EMSGSIZE (__udp4_lib_err).
    Bytes buf(100);
    std::size_t n = 0;
    CHECK(sock.recv(buf, n, f.clock.now_ns()) == std::errc::message_size);
}

TEST_CASE("ip_frag: sockets send DF only on what fits and fragment the rest", "[frag]") {
    Frag f;
    UdpSocket sock(f.stack);
    REQUIRE_FALSE(sock.sendto(kPeer, 9, pattern(kFragData - wire::kUdpHeader)));  // exactly 1500
    REQUIRE(f.eth0->sent.size() == 1);
    CHECK(wire::Ipv4View(f.eth0->sent[0]->bytes()).dont_fragment());
    REQUIRE_FALSE(sock.sendto(kPeer, 9, pattern(kFragData - wire::kUdpHeader + 1)));
    CHECK(f.eth0->sent.size() == 3);  // 1501 bytes: two fragments, no DF
    CHECK_FALSE(wire::Ipv4View(f.eth0->sent[1]->bytes()).dont_fragment());
    CHECK(f.ip(IpMib::FragFails) == 0);
    CHECK(f.ip(IpMib::FragOKs) == 1);
}

TEST_CASE("ip_frag: ping -s 4000 through a ping socket is fragmented both ways", "[frag]") {
    Frag f;
    PingSocket sock(f.stack);
    const Bytes data = pattern(4000, 9);
    REQUIRE_FALSE(sock.send_echo(kPeer, 1, data));
    REQUIRE(f.eth0->sent.size() == 3);
    const Bytes request = glue_checked(f.eth0->sent);
    const wire::IcmpView req(wire::Ipv4View(request).payload());
    CHECK(req.type() == wire::kIcmpEcho);
    CHECK(Bytes(req.data().begin(), req.data().end()) == data);

    // The peer answers as Linux would, in fragments of its own.
    const auto reply_icmp = wire::IcmpRepr::echo(wire::kIcmpEchoReply, req.echo_id(), 1, data);
    Bytes reply(20 + reply_icmp.buffer_len());
    wire::Ipv4Repr ip;
    ip.src = kPeer;
    ip.dst = kEthAddr;
    ip.protocol = wire::kIpProtoIcmp;
    ip.id = 0x5151;
    ip.payload_len = reply_icmp.buffer_len();
    ip.emit({reply.data(), 20});
    reply_icmp.emit({reply.data() + 20, reply_icmp.buffer_len()});
    for (const Bytes& b : cut(reply)) f.inject(b);
    EchoReply got;
    Bytes buf(65536);
    REQUIRE_FALSE(sock.recv_echo(got, buf, f.clock.now_ns()));
    CHECK(got.from == kPeer);
    CHECK(got.icmp_len == 4008);
    CHECK(Bytes(buf.begin(), buf.begin() + static_cast<long>(got.data_len)) == data);
}

TEST_CASE("ip_frag: a datagram missing a fragment expires after ipfrag_time", "[frag]") {
    const bool first_arrived = GENERATE(true, false);
    CAPTURE(first_arrived);
    Frag f;
    const auto frags = cut(big_echo());
    f.inject(first_arrived ? frags[0] : frags[1]);
    f.inject(frags[2]);
    REQUIRE(f.queues() == 1);
    f.advance(30 * kNsPerSec - 1);
    CHECK(f.queues() == 1);
    CHECK(f.ip(IpMib::ReasmTimeout) == 0);
    CHECK(f.eth0->sent.empty());

    f.advance(1);
    CHECK(f.queues() == 0);
    CHECK(f.mem() == 0);
    CHECK(f.ip(IpMib::ReasmTimeout) == 1);
    CHECK(f.ip(IpMib::ReasmFails) == 1);
    CHECK(f.ip(IpMib::ReasmOKs) == 0);
    CHECK(f.drops(DropReason::frag_reasm_timeout) == 2);
    if (!first_arrived) {
        // Without the first fragment there is nothing to quote: no ICMP.
        CHECK(f.eth0->sent.empty());
        CHECK(f.icmp(IcmpMib::OutMsgs) == 0);
        return;
    }
    // Time exceeded, fragment reassembly time exceeded, quoting the first fragment.
    REQUIRE(f.eth0->sent.size() == 1);
    const Bytes e = bytes_of(*f.eth0->sent[0]);
    REQUIRE(wire::Ipv4View::check(e) == wire::Ipv4Error::none);
    const wire::Ipv4View outer(e);
    CHECK(outer.src() == kEthAddr);
    CHECK(outer.dst() == kPeer);
    REQUIRE(wire::IcmpView::check(outer.payload()) == wire::IcmpView::Error::none);
    const wire::IcmpView msg(outer.payload());
    CHECK(msg.type() == wire::kIcmpTimeExceeded);
    CHECK(msg.code() == kIcmpExcFragtime);
    CHECK(msg.data().size() == 548);  // as much as fits in 576 bytes (RFC 1812 4.3.2.3)
    CHECK(Bytes(msg.data().begin(), msg.data().end()) ==
          Bytes(frags[0].begin(), frags[0].begin() + 548));
    CHECK(f.icmp(IcmpMib::OutTimeExcds) == 1);

    // A fragment of the expired datagram arriving late starts a new queue; it never completes.
    f.inject(frags[1]);
    CHECK(f.queues() == 1);
    CHECK(f.ip(IpMib::ReasmOKs) == 0);
}

TEST_CASE("ip_frag: an overlapping fragment drops its whole queue", "[frag]") {
    Frag f;
    const Bytes request = big_echo();
    const auto frags = cut(request);
    // At the tail (the in-order path) and in a hole between queued fragments (the search).
    const bool at_tail = GENERATE(true, false);
    CAPTURE(at_tail);
    f.inject(frags[0]);
    if (at_tail) {
        f.inject(fragment(request, kFragData - 8, kFragData, true));
    } else {
        f.inject(frags[2]);
        f.inject(fragment(request, kFragData - 8, 16, true));
    }
    CHECK(f.queues() == 0);
    CHECK(f.mem() == 0);
    CHECK(f.ip(IpMib::ReasmOverlaps) == 1);
    CHECK(f.ip(IpMib::ReasmFails) == 1);
    CHECK(f.drops(DropReason::ip_frag_overlap) == (at_tail ? 2 : 3));
    // The rest arrives too late for that datagram: it waits in a queue of its own, unanswered.
    f.inject(frags[1]);
    CHECK(f.ip(IpMib::ReasmOKs) == 0);
    CHECK(f.eth0->sent.empty());
    CHECK(f.stack.snmp_text().find("ReasmOverlaps") != std::string::npos);
}

TEST_CASE("ip_frag: duplicates are dropped alone and overlaps counted as the kernel's runs say",
          "[frag]") {
    Frag f;
    const Bytes request = big_echo();
    const auto frags = cut(request);
    SECTION("an exact duplicate") {
        f.inject(frags[0]);
        f.inject(frags[0]);
        CHECK(f.drops(DropReason::dup_frag) == 1);
        CHECK(f.ip(IpMib::ReasmFails) == 0);
        f.inject(frags[1]);
        f.inject(frags[1]);
        f.inject(frags[2]);
        CHECK(f.drops(DropReason::dup_frag) == 2);
        CHECK(f.ip(IpMib::ReasmOKs) == 1);
        f.require_echo_reply(request);
    }
    SECTION("inside fragments that arrived in order: one run, a duplicate") {
        f.inject(frags[0]);
        f.inject(frags[1]);
        f.inject(fragment(request, 8, 2000, true));  // spans both
        CHECK(f.drops(DropReason::dup_frag) == 1);
        CHECK(f.ip(IpMib::ReasmOverlaps) == 0);
        f.inject(frags[2]);
        CHECK(f.ip(IpMib::ReasmOKs) == 1);
    }
    SECTION("inside fragments that arrived out of order: two runs, an overlap") {
        f.inject(frags[1]);
        f.inject(frags[0]);
        f.inject(fragment(request, 8, 2000, true));
        CHECK(f.drops(DropReason::dup_frag) == 0);
        CHECK(f.ip(IpMib::ReasmOverlaps) == 1);
        CHECK(f.ip(IpMib::ReasmFails) == 1);
        CHECK(f.queues() == 0);
    }
}

TEST_CASE("ip_frag: malformed fragments drop the datagram", "[frag]") {
    Frag f;
    const Bytes request = big_echo();
    const auto frags = cut(request);
    const std::size_t total = request.size() - 20;  // 4008
    SECTION("a second last fragment with another end") {
        f.inject(frags[2]);
        f.inject(fragment(request, 2 * kFragData, total - 2 * kFragData - 8, false));
        CHECK(f.drops(DropReason::ip_frag) == 2);
    }
    SECTION("data beyond the last fragment") {
        f.inject(fragment(request, 8, 8, false));  // says the datagram ends at 16
        f.inject(frags[1]);
        CHECK(f.drops(DropReason::ip_frag) == 2);
    }
    SECTION("a last fragment ending before data already queued") {
        f.inject(frags[1]);
        f.inject(fragment(request, 8, 8, false));
        CHECK(f.drops(DropReason::ip_frag) == 2);
    }
    SECTION("a fragment with less than 8 bytes and more to come") {
        f.inject(frags[0]);
        f.inject(fragment(request, kFragData, 4, true));  // cut to a multiple of 8: nothing left
        CHECK(f.drops(DropReason::ip_frag) == 2);
    }
    CHECK(f.ip(IpMib::ReasmFails) == 1);
    CHECK(f.ip(IpMib::ReasmOverlaps) == 0);
    CHECK(f.queues() == 0);
    CHECK(f.mem() == 0);
    CHECK(f.eth0->sent.empty());
}

TEST_CASE("ip_frag: a non-last fragment's data beyond a multiple of 8 is cut off", "[frag]") {
    // The kernel trims it (end &= ~7) rather than refusing the fragment.
    Frag f;
    const Bytes request = big_echo();
    const auto frags = cut(request);
    Bytes long_first = fragment(request, 0, kFragData + 4, true);
    std::fill(long_first.end() - 4, long_first.end(), 0xee);
    fix_ip_checksum(long_first);
    f.inject(long_first);
    f.inject(frags[1]);
    f.inject(frags[2]);
    CHECK(f.ip(IpMib::ReasmOKs) == 1);
    f.require_echo_reply(request);
}

TEST_CASE("ip_frag: fragments adding up past 65535 bytes are refused at reassembly", "[frag]") {
    Frag f;
    // 65528 + 16 bytes of data from offset 0: a 65564-byte datagram, which IPv4 cannot carry.
    const std::size_t total = 65528 + 16;
    Bytes huge(20 + total, 0x5a);
    wire::Ipv4Repr ip;
    ip.src = kPeer;
    ip.dst = kEthAddr;
    ip.protocol = wire::kIpProtoUdp;
    ip.id = 7;
    ip.emit({huge.data(), 20});
    std::size_t n = 0;
    for (std::size_t off = 0; off < total; off += kFragData, ++n) {
        const std::size_t len = std::min(kFragData, total - off);
        f.inject(fragment(huge, off, len, off + len < total));
    }
    CHECK(f.ip(IpMib::ReasmReqds) == n);
    CHECK(f.ip(IpMib::ReasmFails) == 1);
    CHECK(f.ip(IpMib::ReasmOKs) == 0);
    CHECK(f.drops(DropReason::ip_frag) == n);
    CHECK(f.queues() == 0);
    CHECK(f.mem() == 0);
}

TEST_CASE("ip_frag: ECN codepoints of the fragments combine per RFC 3168", "[frag]") {
    Frag f;
    const Bytes ect0 = big_echo(0x1234, 0x02);
    const auto frags = cut(ect0);
    SECTION("CE on one ECN-capable fragment marks the datagram") {
        f.inject(frags[0]);
        f.inject(with_id(frags[1], 0x1234, 0x03));
        f.inject(frags[2]);
        REQUIRE(f.ip(IpMib::ReasmOKs) == 1);
        REQUIRE(f.eth0->sent.size() == 3);
        CHECK(wire::Ipv4View(f.eth0->sent[0]->bytes()).tos() == 0x03);  // the echo copies TOS
    }
    SECTION("ECN-capable and not-ECT fragments mixed are dropped") {
        f.inject(frags[0]);
        f.inject(with_id(frags[1], 0x1234, 0x00));
        f.inject(frags[2]);
        CHECK(f.ip(IpMib::ReasmOKs) == 0);
        CHECK(f.ip(IpMib::ReasmFails) == 1);
        CHECK(f.drops(DropReason::ip_frag) == 3);
        CHECK(f.eth0->sent.empty());
    }
}

TEST_CASE("ip_frag: above ipfrag_high_thresh every fragment is refused until queues expire",
          "[frag]") {
    CHECK(StackConfig{}.ipfrag_high_thresh == 4u * 1024 * 1024);
    CHECK(StackConfig{}.ipfrag_low_thresh == 3u * 1024 * 1024);
    CHECK(StackConfig{}.ipfrag_time == 30 * kNsPerSec);
    StackConfig c = test::inline_config();
    c.ipfrag_high_thresh = 16 * 1024;
    Frag f(c);
    // Second fragments (no ICMP when they expire) of datagrams 100, 101, ... until over.
    std::uint16_t id = 100;
    while (f.mem() <= c.ipfrag_high_thresh) {
        REQUIRE(id < 200);
        f.inject(cut(big_echo(id++))[1]);
    }
    const std::size_t queued = f.queues();
    CHECK(queued == std::size_t{id - 100u});
    CHECK(f.ip(IpMib::ReasmFails) == 0);

    // Even the rest of a queued datagram is refused now.
    const auto frags = cut(big_echo(100));
    f.inject(frags[0]);
    f.inject(frags[2]);
    CHECK(f.ip(IpMib::ReasmReqds) == queued + 2);
    CHECK(f.ip(IpMib::ReasmFails) == 2);
    CHECK(f.drops(DropReason::ip_frag) == 2);
    CHECK(f.queues() == queued);
    CHECK(f.eth0->sent.empty());

    // Expiry frees the memory; then a datagram goes through again.
    f.advance(30 * kNsPerSec);
    CHECK(f.ip(IpMib::ReasmTimeout) == queued);
    CHECK(f.mem() == 0);
    for (const Bytes& b : cut(big_echo(500))) f.inject(b);
    CHECK(f.ip(IpMib::ReasmOKs) == 1);
    CHECK(f.eth0->sent.size() == 3);
}

TEST_CASE("ip_frag: a queue's timer runs from its first fragment and expiries come in order",
          "[frag]") {
    Frag f;
    f.inject(cut(big_echo(1))[1]);
    f.advance(10 * kNsPerSec);
    f.inject(cut(big_echo(2))[1]);
    f.advance(10 * kNsPerSec);
    f.inject(cut(big_echo(1))[2]);  // more of datagram 1: its deadline stays
    f.advance(10 * kNsPerSec);      // t = 30 s: datagram 1 goes
    CHECK(f.ip(IpMib::ReasmTimeout) == 1);
    CHECK(f.queues() == 1);
    f.advance(10 * kNsPerSec);  // t = 40 s: datagram 2
    CHECK(f.ip(IpMib::ReasmTimeout) == 2);
    CHECK(f.queues() == 0);
    CHECK(f.drops(DropReason::frag_reasm_timeout) == 3);
}

TEST_CASE("ip_frag: pending queues and their timer go with the stack", "[frag]") {
    // Under ASan this is the check: no fragment buffer, queue or timer outlives ~Stack, with the
    // timer thread of a real clock too.
    const bool virtual_clock = GENERATE(true, false);
    CAPTURE(virtual_clock);
    VirtualClock vclock;
    const Clock& clock =
        virtual_clock ? static_cast<const Clock&>(vclock) : MonotonicClock::instance();
    auto stack = std::make_unique<Stack>(test::inline_config(), clock);
    Device& eth0 = test::add_wire(*stack);
    test::inject(*stack, eth0, cut(big_echo(1))[0]);
    test::inject(*stack, eth0, cut(big_echo(2))[1]);
    CHECK(stack->ip().defrag().queues() == 2);
    CHECK(stack->ip().defrag().mem() > 0);
    stack.reset();
}

TEST_CASE("ip_frag: non-first fragments carry only the options with the copied flag", "[frag]") {
    // A 28-byte header whose 8 option bytes are `options`, and 200 bytes of data, cut for an
    // MTU of 100: 72 + 72 + 56 bytes of data.
    auto cut_with = [](const Bytes& options) {
        Bytes dgram(28 + 200);
        wire::Ipv4Repr ip;
        ip.src = kEthAddr;
        ip.dst = kPeer;
        ip.protocol = wire::kIpProtoUdp;
        ip.id = 99;
        ip.emit({dgram.data(), 20});
        dgram[0] = 0x47;  // IHL 7
        wire::store16(&dgram[2], static_cast<std::uint16_t>(dgram.size()));
        std::copy(options.begin(), options.end(), dgram.begin() + 20);
        for (std::size_t i = 28; i < dgram.size(); ++i) dgram[i] = static_cast<std::uint8_t>(i);
        fix_ip_checksum(dgram);
        PacketPtr pkt = test::make_packet(dgram);
        IpFragState state(*pkt, 100);
        std::vector<PacketPtr> out;
        while (!state.done()) out.push_back(state.next());
        REQUIRE(out.size() == 3);
        std::vector<Bytes> opts;
        for (const auto& p : out) {
            CHECK(wire::Ipv4View::check(p->bytes()) == wire::Ipv4Error::none);
            CHECK(wire::Ipv4View(p->bytes()).header_len() == 28);
            opts.emplace_back(p->data() + 20, p->data() + 28);
        }
        CHECK(data_offset(wire::Ipv4View(out[2]->bytes())) == 144);
        CHECK(Bytes(out[2]->data() + 28, out[2]->data() + out[2]->size()) ==
              Bytes(dgram.begin() + 28 + 144, dgram.end()));
        return opts;
    };
    // Record Route (7) has no copied flag: only the first fragment keeps it.
    const Bytes rr = {7, 7, 4, 0, 0, 0, 0, 1};
    const auto with_rr = cut_with(rr);
    CHECK(with_rr[0] == rr);
    CHECK(with_rr[1] == Bytes(8, 1));  // NOOPs
    CHECK(with_rr[2] == Bytes(8, 1));
    // Loose Source Route (0x83) has it: every fragment carries it.
    const Bytes lsrr = {0x83, 7, 4, 198, 18, 0, 9, 1};
    for (const Bytes& o : cut_with(lsrr)) CHECK(o == lsrr);
}

TEST_CASE("ip_frag: a CHECKSUM_PARTIAL datagram is summed before it is cut", "[frag]") {
    Frag f;
    Route rt;
    REQUIRE_FALSE(f.stack.ip().route_output(kPeer, kEthAddr, nullptr, rt));
    const Bytes payload = pattern(3000, 1);
    const std::size_t len = wire::kUdpHeader + payload.size();
    PacketPtr pkt = PacketPool::instance().alloc(len);
    std::uint8_t* uh = pkt->put(len);
    wire::UdpRepr{4444, 9, payload.size()}.emit({uh, wire::kUdpHeader},
                                                wire::udp_pseudo_header_sum(kEthAddr, kPeer, len));
    std::memcpy(uh + wire::kUdpHeader, payload.data(), payload.size());
    pkt->ip_summed = ChecksumState::partial;  // as udp4_hwcsum leaves it for a summing device
    wire::Ipv4Repr ip;
    ip.protocol = wire::kIpProtoUdp;
    ip.id = 321;
    REQUIRE_FALSE(f.stack.ip().ip_local_out(std::move(pkt), rt, ip));
    REQUIRE(f.eth0->sent.size() == 3);
    const Bytes dgram = glue_checked(f.eth0->sent);
    const auto udp = wire::Ipv4View(dgram).payload();
    CHECK(wire::load16(&udp[6]) != 0);
    CHECK(wire::udp_checksum_valid(kEthAddr, kPeer, udp));
}

TEST_CASE("ip_frag: an MTU with no room for 8 bytes after the header cannot fragment", "[frag]") {
    VirtualClock clock;
    Stack stack(test::inline_config(), clock);
    auto& eth0 = static_cast<test::WireDevice&>(
        stack.add_device(std::make_unique<test::WireDevice>(stack.next_ifindex(), "eth0", 27)));
    REQUIRE_FALSE(stack.addr_add("eth0", *Ipv4Cidr::parse("198.18.0.2/24")));
    UdpSocket sock(stack);
    CHECK(sock.sendto(kPeer, 9, pattern(100)) == std::errc::message_size);
    CHECK(eth0.sent.empty());
    CHECK(stack.snmp().ip.get(IpMib::FragFails) == 1);
    CHECK(stack.net_rx().drops().count(DropReason::frag_failed) == 1);
}

TEST_CASE("ip_frag: the snmp text keeps the kernel's Ip line and adds ReasmOverlaps to IpExt",
          "[frag]") {
    Stack stack(test::inline_config());
    const std::string text = stack.snmp_text();
    CHECK(text.find("Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams "
                    "InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes "
                    "ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates "
                    "OutTransmits\n") == 0);
    CHECK(text.find("IpExt: InNoRoutes InTruncatedPkts InCsumErrors ReasmOverlaps\n") !=
          std::string::npos);
}
