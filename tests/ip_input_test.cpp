// ip_rcv and what follows it, fed malformed and misaddressed datagrams: each is dropped, counted
// under the kernel's counter and drop reason, and answered by nothing. Runs on the inline worker,
// so netif_rx has processed a packet (and any reply) by the time it returns.
#include <catch2/catch.hpp>
#include <tins/tins.h>

#include <memory>
#include <vector>

#include "stack/stack.hpp"
#include "stack/wire/checksum.hpp"
#include "test_util.hpp"

using namespace vlo;
using Bytes = std::vector<std::uint8_t>;

namespace {

using RecordingDevice = test::WireDevice;  // what the stack transmits on it is kept

const Ipv4Address kEthAddr{198, 18, 0, 2};   // ours, on eth0
const Ipv4Address kEthPeer{198, 18, 0, 1};   // a neighbour on eth0's subnet
const Ipv4Address kLo{127, 0, 0, 1};

struct IpInput {
    Stack stack{test::inline_config()};
    RecordingDevice* eth0 = nullptr;

    IpInput() {
        Device& d = stack.add_device(std::make_unique<RecordingDevice>(stack.next_ifindex()));
        eth0 = static_cast<RecordingDevice*>(&d);
        REQUIRE_FALSE(stack.addr_add("eth0", Ipv4Cidr::parse("198.18.0.2/24").value()));
    }

    void inject(Device& dev, const Bytes& bytes) {
        PacketPtr pkt = test::make_packet(bytes);
        pkt->dev = &dev;
        stack.net_rx().netif_rx(std::move(pkt));
    }
    void on_lo(const Bytes& bytes) { inject(stack.loopback(), bytes); }
    void on_eth0(const Bytes& bytes) { inject(*eth0, bytes); }

    std::uint64_t ip(IpMib m) const { return stack.snmp().ip.get(m); }
    std::uint64_t icmp(IcmpMib m) const { return stack.snmp().icmp.get(m); }
    std::uint64_t rt(RtStat m) const { return stack.snmp().rt.get(m); }
    std::uint64_t drops(DropReason r) { return stack.net_rx().drops().count(r); }
    std::uint64_t all_drops() {
        std::uint64_t n = 0;
        for (std::size_t r = 0; r < static_cast<std::size_t>(DropReason::count_); ++r)
            n += drops(static_cast<DropReason>(r));
        return n;
    }
    std::uint64_t lo_tx() { return stack.loopback().stats().tx_packets.load(); }

    // Nothing left the host: no ICMP of any kind, nothing on lo, nothing on eth0.
    void require_no_reply() {
        CHECK(icmp(IcmpMib::OutMsgs) == 0);
        CHECK(icmp(IcmpMib::OutEchoReps) == 0);
        CHECK(icmp(IcmpMib::OutDestUnreachs) == 0);
        CHECK(ip(IpMib::OutRequests) == 0);
        CHECK(lo_tx() == 0);
        CHECK(eth0->sent.empty());
    }
};

// After editing header fields, make the header checksum right again so only the edit is wrong.
void fix_ip_checksum(Bytes& b) {
    const std::size_t hlen = std::min<std::size_t>(std::size_t{b[0] & 0x0fu} * 4, b.size());
    wire::store16(&b[10], 0);
    wire::store16(&b[10], wire::checksum(std::span(b).first(hlen)));
}

// A datagram of `protocol` carrying `payload_len` bytes, checksum right.
Bytes datagram(Ipv4Address src, Ipv4Address dst, std::uint8_t protocol, std::size_t payload_len = 8) {
    wire::Ipv4Repr ip;
    ip.src = src;
    ip.dst = dst;
    ip.protocol = protocol;
    ip.id = 0x4242;
    ip.payload_len = payload_len;
    Bytes b(20 + payload_len);
    for (std::size_t i = 0; i < payload_len; ++i) b[20 + i] = static_cast<std::uint8_t>(0xa0 + i);
    ip.emit({b.data(), 20});
    return b;
}

Bytes payload_of(const Tins::PDU& pdu) {
    const auto* raw = pdu.find_pdu<Tins::RawPDU>();
    return raw ? raw->payload() : Bytes{};
}

}  // namespace

TEST_CASE_METHOD(IpInput, "ip_rcv: a bad header checksum counts InCsumErrors and InHdrErrors", "[ip][input]") {
    Bytes b = test::echo_request(kLo, kLo, 1, 1);
    b[10] ^= 0x01;  // checksum off by one bit
    on_lo(b);
    CHECK(ip(IpMib::InReceives) == 1);
    // ip_rcv_core: csum_error bumps CSUMERRORS and falls through to inhdr_error.
    CHECK(ip(IpMib::InCsumErrors) == 1);
    CHECK(ip(IpMib::InHdrErrors) == 1);
    CHECK(ip(IpMib::InDelivers) == 0);
    CHECK(drops(DropReason::ip_csum) == 1);
    CHECK(all_drops() == 1);
    CHECK(icmp(IcmpMib::InMsgs) == 0);
    require_no_reply();
}

TEST_CASE_METHOD(IpInput, "ip_rcv: version other than 4 is a header error", "[ip][input]") {
    Bytes b = test::echo_request(kLo, kLo, 1, 1);
    b[0] = 0x65;  // version 6, IHL 5
    fix_ip_checksum(b);
    on_lo(b);
    CHECK(ip(IpMib::InHdrErrors) == 1);
    CHECK(ip(IpMib::InCsumErrors) == 0);
    CHECK(ip(IpMib::InDelivers) == 0);
    CHECK(drops(DropReason::ip_inhdr) == 1);
    CHECK(all_drops() == 1);
    require_no_reply();
}

TEST_CASE_METHOD(IpInput, "ip_rcv: IHL < 5 is a header error", "[ip][input]") {
    Bytes b = test::echo_request(kLo, kLo, 1, 1);
    b[0] = 0x44;
    on_lo(b);
    CHECK(ip(IpMib::InHdrErrors) == 1);
    CHECK(ip(IpMib::InCsumErrors) == 0);
    CHECK(drops(DropReason::ip_inhdr) == 1);
    CHECK(all_drops() == 1);
    require_no_reply();
}

TEST_CASE_METHOD(IpInput, "ip_rcv: total length beyond the buffer counts InTruncatedPkts only", "[ip][input]") {
    Bytes b = test::echo_request(kLo, kLo, 1, 1);
    wire::store16(&b[2], static_cast<std::uint16_t>(b.size() + 1));
    fix_ip_checksum(b);
    on_lo(b);
    // ip_rcv_core: skb->len < len → INTRUNCATEDPKTS and drop, not inhdr_error.
    CHECK(ip(IpMib::InTruncatedPkts) == 1);
    CHECK(ip(IpMib::InHdrErrors) == 0);
    CHECK(drops(DropReason::pkt_too_small) == 1);
    CHECK(all_drops() == 1);
    require_no_reply();
}

TEST_CASE_METHOD(IpInput, "ip_rcv: total length shorter than the header is a header error", "[ip][input]") {
    Bytes b = test::echo_request(kLo, kLo, 1, 1);
    wire::store16(&b[2], 19);
    fix_ip_checksum(b);
    on_lo(b);
    CHECK(ip(IpMib::InHdrErrors) == 1);
    CHECK(ip(IpMib::InTruncatedPkts) == 0);
    CHECK(drops(DropReason::ip_inhdr) == 1);
    CHECK(all_drops() == 1);
    require_no_reply();
}

TEST_CASE_METHOD(IpInput, "ip_rcv: a header shorter than 20 bytes is a header error", "[ip][input]") {
    const Bytes full = test::echo_request(kLo, kLo, 1, 1);
    const std::size_t len = GENERATE(0, 1, 12, 19);
    CAPTURE(len);
    on_lo(Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len)));
    // ip_rcv_core: !pskb_may_pull(skb, sizeof(struct iphdr)) → inhdr_error. (The kernel's drop
    // reason there is IP_INHDR; vlo says pkt_too_small, so only the total is pinned here.)
    CHECK(ip(IpMib::InReceives) == 1);
    CHECK(ip(IpMib::InHdrErrors) == 1);
    CHECK(ip(IpMib::InTruncatedPkts) == 0);
    CHECK(all_drops() == 1);
    require_no_reply();
}

TEST_CASE_METHOD(IpInput, "ip_rcv_options: an option running past the header is a header error", "[ip][input]") {
    Bytes b = test::echo_request(kLo, kLo, 1, 1);
    // Grow the header by 4 bytes of options: a timestamp option claiming 8.
    const Bytes opts = {0x44, 8, 5, 0};
    b.insert(b.begin() + 20, opts.begin(), opts.end());
    b[0] = 0x46;
    wire::store16(&b[2], static_cast<std::uint16_t>(b.size()));
    fix_ip_checksum(b);
    on_lo(b);
    CHECK(ip(IpMib::InHdrErrors) == 1);
    CHECK(ip(IpMib::InDelivers) == 0);
    CHECK(drops(DropReason::ip_inhdr) == 1);
    CHECK(all_drops() == 1);
    require_no_reply();
}

TEST_CASE_METHOD(IpInput, "icmp_rcv: a bad ICMP checksum counts Icmp InCsumErrors and InErrors", "[ip][input][icmp]") {
    Bytes b = test::echo_request(kLo, kLo, 1, 1);
    b.back() ^= 0x80;  // payload byte: the IP header is fine, the ICMP checksum is not
    on_lo(b);
    CHECK(ip(IpMib::InHdrErrors) == 0);
    CHECK(ip(IpMib::InDelivers) == 1);  // IP delivered it; ICMP dropped it
    CHECK(icmp(IcmpMib::InMsgs) == 1);
    CHECK(icmp(IcmpMib::InCsumErrors) == 1);
    CHECK(icmp(IcmpMib::InErrors) == 1);
    CHECK(icmp(IcmpMib::InEchos) == 0);
    CHECK(drops(DropReason::icmp_csum) == 1);
    CHECK(all_drops() == 1);
    require_no_reply();
}

TEST_CASE_METHOD(IpInput, "icmp_rcv: an ICMP message shorter than its header counts InErrors", "[ip][input][icmp]") {
    Bytes b = datagram(kLo, kLo, wire::kIpProtoIcmp, 4);
    b[20] = wire::kIcmpEcho;
    b[21] = 0;
    wire::store16(&b[22], 0);
    wire::store16(&b[22], wire::checksum(std::span(b).subspan(20)));  // checksum right, length not
    on_lo(b);
    CHECK(icmp(IcmpMib::InMsgs) == 1);
    CHECK(icmp(IcmpMib::InErrors) == 1);
    CHECK(icmp(IcmpMib::InCsumErrors) == 0);
    CHECK(icmp(IcmpMib::InEchos) == 0);
    CHECK(all_drops() == 1);
    require_no_reply();
}

TEST_CASE_METHOD(IpInput, "ip_route_input: a 127/8 source arriving on eth0 is a martian", "[ip][input][martian]") {
    on_eth0(test::echo_request(kLo, kEthAddr, 1, 1));
    // ip_route_input_slow: ipv4_is_loopback(saddr) without route_localnet → martian_source.
    CHECK(rt(RtStat::in_martian_src) == 1);
    CHECK(rt(RtStat::in_martian_dst) == 0);
    CHECK(drops(DropReason::ip_invalid_source) == 1);
    CHECK(all_drops() == 1);
    CHECK(ip(IpMib::InAddrErrors) == 0);  // martians are counted in rt_cache stats, not SNMP
    CHECK(ip(IpMib::InDelivers) == 0);
    CHECK(icmp(IcmpMib::InEchos) == 0);
    require_no_reply();
}

TEST_CASE_METHOD(IpInput, "ip_route_input: multicast, broadcast and 0/8 sources on eth0 are martians",
                 "[ip][input][martian]") {
    const auto src = GENERATE(Ipv4Address{224, 0, 0, 1}, Ipv4Address{239, 1, 2, 3}, Ipv4Address{255, 255, 255, 255},
                              Ipv4Address{0, 1, 2, 3});
    CAPTURE(src.to_string());
    on_eth0(test::echo_request(src, kEthAddr, 1, 1));
    CHECK(rt(RtStat::in_martian_src) == 1);
    CHECK(drops(DropReason::ip_invalid_source) == 1);
    CHECK(all_drops() == 1);
    require_no_reply();
}

TEST_CASE_METHOD(IpInput, "ip_route_input: a 127/8 or 0/8 destination arriving on eth0 is a martian",
                 "[ip][input][martian]") {
    const auto dst = GENERATE(Ipv4Address{127, 0, 0, 5}, Ipv4Address{127, 0, 0, 1}, Ipv4Address{0, 0, 0, 7});
    CAPTURE(dst.to_string());
    on_eth0(test::echo_request(kEthPeer, dst, 1, 1));
    CHECK(rt(RtStat::in_martian_dst) == 1);
    CHECK(rt(RtStat::in_martian_src) == 0);
    CHECK(drops(DropReason::ip_invalid_dest) == 1);
    CHECK(all_drops() == 1);
    CHECK(ip(IpMib::InDelivers) == 0);
    require_no_reply();
}

TEST_CASE_METHOD(IpInput, "ip_route_input: 127/8 on lo itself is not a martian", "[ip][input][martian]") {
    on_lo(test::echo_request(Ipv4Address{127, 0, 0, 9}, Ipv4Address{127, 0, 0, 5}, 1, 1));
    CHECK(rt(RtStat::in_martian_src) == 0);
    CHECK(rt(RtStat::in_martian_dst) == 0);
    CHECK(icmp(IcmpMib::InEchos) == 1);
    CHECK(icmp(IcmpMib::OutEchoReps) == 1);  // all of 127/8 is local on Linux
}

TEST_CASE_METHOD(IpInput, "ip_error: a datagram for an address that is not ours counts InAddrErrors",
                 "[ip][input]") {
    SECTION("no route at all") {
        on_eth0(test::echo_request(kEthPeer, Ipv4Address{10, 1, 2, 3}, 1, 1));
        // ip_route_input_slow: fib_lookup fails, not forwarding → EHOSTUNREACH, no_route;
        // ip_error then counts INADDRERRORS and sends nothing.
        CHECK(rt(RtStat::in_no_route) == 1);
    }
    SECTION("on eth0's subnet, but another host's") {
        // A unicast route, not forwarding: ip_route_input_slow sets EHOSTUNREACH and also goes
        // to no_route (in_no_route), which vlo does not count yet, so it is not pinned here.
        on_eth0(test::echo_request(kEthPeer, Ipv4Address{198, 18, 0, 77}, 1, 1));
    }
    CHECK(ip(IpMib::InAddrErrors) == 1);
    CHECK(ip(IpMib::InDelivers) == 0);
    CHECK(ip(IpMib::InHdrErrors) == 0);
    CHECK(drops(DropReason::ip_inaddrerrors) == 1);
    CHECK(all_drops() == 1);
    CHECK(icmp(IcmpMib::InEchos) == 0);
    require_no_reply();
}

TEST_CASE_METHOD(IpInput, "ip_protocol_deliver_rcu: an unknown protocol gets a protocol unreachable",
                 "[ip][input][icmp]") {
    SECTION("on lo: the error loops back and is not answered in turn") {
        on_lo(datagram(kLo, kLo, 253));
        CHECK(ip(IpMib::InUnknownProtos) == 1);
        CHECK(drops(DropReason::ip_noproto) == 1);
        CHECK(icmp(IcmpMib::OutMsgs) == 1);
        CHECK(icmp(IcmpMib::OutDestUnreachs) == 1);
        CHECK(stack.snmp().icmp_out_type[wire::kIcmpDestUnreach].load() == 1);
        CHECK(lo_tx() == 1);
        // The error came back through lo: received as a destination unreachable and consumed by
        // icmp_unreach (protocol 253 has no err handler), and no ICMP error about an ICMP
        // error (icmp_send's rule).
        CHECK(ip(IpMib::InReceives) == 2);
        CHECK(icmp(IcmpMib::InMsgs) == 1);
        CHECK(icmp(IcmpMib::InDestUnreachs) == 1);
        CHECK(icmp(IcmpMib::OutMsgs) == 1);
        CHECK(drops(DropReason::icmp_type) == 0);
        CHECK(all_drops() == 1);
    }
    SECTION("on eth0: the error goes back to the sender and quotes the datagram") {
        Bytes orig = datagram(kEthPeer, kEthAddr, 253, 12);
        orig[1] = 0x1d;  // TOS: the error keeps its low bits, precedence becomes internetwork control
        fix_ip_checksum(orig);
        on_eth0(orig);
        CHECK(ip(IpMib::InUnknownProtos) == 1);
        CHECK(icmp(IcmpMib::OutDestUnreachs) == 1);
        CHECK(lo_tx() == 0);
        REQUIRE(eth0->sent.size() == 1);
        const Packet& out = *eth0->sent.front();
        const Bytes bytes(out.data(), out.data() + out.size());
        const Tins::IP ip4(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
        CHECK(ip4.src_addr().to_string() == "198.18.0.2");
        CHECK(ip4.dst_addr().to_string() == "198.18.0.1");
        CHECK(ip4.ttl() == 64);
        CHECK(ip4.tos() == 0xdc);  // (0x1d & IPTOS_TOS_MASK) | IPTOS_PREC_INTERNETCONTROL
        CHECK(ip4.protocol() == wire::kIpProtoIcmp);
        const auto* err = ip4.find_pdu<Tins::ICMP>();
        REQUIRE(err != nullptr);
        CHECK(err->type() == Tins::ICMP::DEST_UNREACHABLE);
        CHECK(err->code() == wire::kIcmpProtUnreach);
        // The whole datagram fits in 576 bytes, so all of it is quoted.
        CHECK(payload_of(*err) == orig);
        CHECK(wire::checksum(std::span(bytes).first(20)) == 0);
        CHECK(wire::checksum(std::span(bytes).subspan(20)) == 0);
    }
    CHECK(icmp(IcmpMib::OutEchoReps) == 0);
}

TEST_CASE_METHOD(IpInput, "icmp_send: never an error about an ICMP error", "[icmp]") {
    // A destination unreachable from the peer, handed to icmp_send as if something refused it.
    Bytes about = datagram(kEthPeer, kEthAddr, wire::kIpProtoIcmp, 8 + 28);
    const auto inner = wire::IcmpRepr{wire::kIcmpDestUnreach, wire::kIcmpPortUnreach, 0,
                                      std::span(about).subspan(28)};
    inner.emit(std::span(about).subspan(20));
    PacketPtr pkt = test::make_packet(about);
    pkt->dev = eth0;
    pkt->reset_network_header();
    stack.icmp().icmp_send(*pkt, wire::kIcmpDestUnreach, wire::kIcmpProtUnreach, 0);
    CHECK(icmp(IcmpMib::OutDestUnreachs) == 0);
    CHECK(eth0->sent.empty());

    // The control: the same call about an echo request (not an error) is answered.
    PacketPtr echo = test::make_packet(test::echo_request(kEthPeer, kEthAddr, 1, 1));
    echo->dev = eth0;
    echo->reset_network_header();
    stack.icmp().icmp_send(*echo, wire::kIcmpDestUnreach, wire::kIcmpProtUnreach, 0);
    CHECK(icmp(IcmpMib::OutDestUnreachs) == 1);
    CHECK(eth0->sent.size() == 1);
}

TEST_CASE_METHOD(IpInput, "icmp_echo: a valid echo request to 127.0.0.1 on lo is answered", "[ip][input][icmp]") {
    on_lo(test::echo_request(kLo, kLo, 0x77, 3));
    CHECK(icmp(IcmpMib::InEchos) == 1);
    CHECK(icmp(IcmpMib::OutEchoReps) == 1);
    CHECK(icmp(IcmpMib::InEchoReps) == 1);  // the reply looped back to us
    CHECK(lo_tx() == 1);
    CHECK(ip(IpMib::InReceives) == 2);
    CHECK(ip(IpMib::InHdrErrors) == 0);
    CHECK(ip(IpMib::InDelivers) == 2);
    CHECK(drops(DropReason::no_socket) == 1);  // no ping socket is waiting for the reply
    CHECK(all_drops() == 1);
    CHECK(eth0->sent.empty());
}

TEST_CASE_METHOD(IpInput, "icmp_echo: a valid echo request with IP options is answered", "[ip][input][icmp]") {
    Bytes b = test::echo_request(kLo, kLo, 0x77, 4);
    const Bytes opts = {1, 1, 0x88, 4, 0x12, 0x34, 0, 0};  // NOP NOP stream-id EOL EOL
    b.insert(b.begin() + 20, opts.begin(), opts.end());
    b[0] = 0x47;
    wire::store16(&b[2], static_cast<std::uint16_t>(b.size()));
    fix_ip_checksum(b);
    on_lo(b);
    CHECK(ip(IpMib::InHdrErrors) == 0);
    CHECK(icmp(IcmpMib::InEchos) == 1);
    CHECK(icmp(IcmpMib::OutEchoReps) == 1);
}

TEST_CASE_METHOD(IpInput, "icmp_echo: an echo request to eth0's address is answered on eth0", "[ip][input][icmp]") {
    Bytes req = test::echo_request(kEthPeer, kEthAddr, 0xbeef, 0x0102, 100);
    req[1] = 0x10;  // TOS, copied into the reply
    fix_ip_checksum(req);
    on_eth0(req);
    CHECK(icmp(IcmpMib::InEchos) == 1);
    CHECK(icmp(IcmpMib::OutEchoReps) == 1);
    CHECK(lo_tx() == 0);
    REQUIRE(eth0->sent.size() == 1);
    const Packet& out = *eth0->sent.front();
    const Bytes bytes(out.data(), out.data() + out.size());

    const Tins::IP reply(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
    CHECK(reply.src_addr().to_string() == "198.18.0.2");
    CHECK(reply.dst_addr().to_string() == "198.18.0.1");
    CHECK(reply.ttl() == 64);
    CHECK(reply.tos() == 0x10);
    CHECK(reply.flags() == Tins::IP::Flags(0));  // the ICMP socket is IP_PMTUDISC_DONT
    CHECK(reply.protocol() == wire::kIpProtoIcmp);
    CHECK(reply.tot_len() == bytes.size());
    const auto* icmp_reply = reply.find_pdu<Tins::ICMP>();
    REQUIRE(icmp_reply != nullptr);
    CHECK(icmp_reply->type() == Tins::ICMP::ECHO_REPLY);
    CHECK(icmp_reply->code() == 0);
    CHECK(icmp_reply->id() == 0xbeef);
    CHECK(icmp_reply->sequence() == 0x0102);
    CHECK(payload_of(*icmp_reply) == Bytes(req.begin() + 28, req.end()));
    // Checksums: both verify, and libtins recomputing them reproduces the bytes exactly.
    CHECK(wire::checksum(std::span(bytes).first(20)) == 0);
    CHECK(wire::checksum(std::span(bytes).subspan(20)) == 0);
    CHECK(Tins::IP(reply).serialize() == bytes);
}
