// UDP end to end: sockets over lo and a wire-facing device, Linux's bind and lookup rules, the
// checksums per device (CHECKSUM_PARTIAL on lo, full elsewhere, checked with libtins), closed
// ports and ICMP errors, the receive buffer, and every worker design. Most tests run on the
// inline worker, so a datagram (and any reply) has been processed when the send returns.
#include <catch2/catch.hpp>
#include <tins/tins.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "stack/stack.hpp"
#include "stack/wire/checksum.hpp"
#include "stack/wire/tcp.hpp"
#include "stack/wire/udp.hpp"
#include "test_util.hpp"

using namespace vlo;
using Bytes = std::vector<std::uint8_t>;

namespace {

const Ipv4Address kLo{127, 0, 0, 1};
const Ipv4Address kLo2{127, 0, 0, 2};
const Ipv4Address kEthAddr{198, 18, 0, 2};  // ours, on eth0
const Ipv4Address kEthPeer{198, 18, 0, 1};  // a neighbour on eth0's subnet

Bytes pattern(std::size_t n, std::uint8_t seed = 0) {
    Bytes v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i * 13 + seed);
    return v;
}

struct Datagram {
    Bytes data;
    Ipv4Address from;
    std::uint16_t from_port = 0;
};

// recvfrom without waiting (inline worker: whatever was sent is already queued).
std::error_code recv_now(Stack& stack, UdpSocket& sock, Datagram& d, std::size_t room = 65536) {
    d.data.assign(room, 0);
    std::size_t n = 0;
    const std::error_code ec =
        sock.recvfrom(d.data, d.from, d.from_port, n, stack.clock().now_ns());
    d.data.resize(n);
    return ec;
}

std::uint64_t udp(const Stack& stack, UdpMib m) { return stack.snmp().udp.get(m); }
std::uint64_t icmp(const Stack& stack, IcmpMib m) { return stack.snmp().icmp.get(m); }

using WireDevice = test::WireDevice;  // what the stack transmits on it is kept

Bytes bytes_of(const Packet& p) { return Bytes(p.data(), p.data() + p.size()); }

// A datagram built by libtins (an independent serialiser: it fills in both checksums).
Bytes tins_datagram(Ipv4Address src, std::uint16_t sport, Ipv4Address dst, std::uint16_t dport,
                    const Bytes& payload) {
    Tins::IP ip = Tins::IP(Tins::IPv4Address(dst.to_string()), Tins::IPv4Address(src.to_string())) /
                  Tins::UDP(dport, sport) / Tins::RawPDU(payload);
    ip.ttl(64);
    return ip.serialize();
}

// Stack, eth0 (198.18.0.2/24) and a way to inject frames received on it.
struct Eth0Fixture {
    VirtualClock clock;
    Stack stack{test::inline_config(), clock};
    WireDevice* eth0 = nullptr;

    Eth0Fixture() {
        Device& d = stack.add_device(std::make_unique<WireDevice>(stack.next_ifindex()));
        eth0 = static_cast<WireDevice*>(&d);
        REQUIRE_FALSE(stack.addr_add("eth0", Ipv4Cidr::parse("198.18.0.2/24").value()));
    }
    void on_eth0(const Bytes& bytes) {
        PacketPtr pkt = test::make_packet(bytes);
        pkt->dev = eth0;
        stack.net_rx().netif_rx(std::move(pkt));
    }
    // An ICMP error from the peer quoting `quoted` (a datagram we sent).
    void icmp_error_from_peer(std::uint8_t type, std::uint8_t code, const Bytes& quoted) {
        const wire::IcmpRepr msg{type, code, 0, quoted};
        Bytes b(wire::kIpv4MinHeader + msg.buffer_len());
        wire::Ipv4Repr ip;
        ip.src = kEthPeer;
        ip.dst = kEthAddr;
        ip.protocol = wire::kIpProtoIcmp;
        ip.payload_len = msg.buffer_len();
        ip.emit({b.data(), wire::kIpv4MinHeader});
        msg.emit({b.data() + wire::kIpv4MinHeader, msg.buffer_len()});
        on_eth0(b);
    }
};

// Sits in front of Udp as the IPPROTO_UDP handler and keeps a copy of each datagram as it
// arrived from the device, with its ip_summed.
class UdpSpy final : public InetProtocol {
public:
    explicit UdpSpy(InetProtocol& next) : next_(next) {}
    void rcv(PacketPtr pkt) override {
        const auto b = pkt->network_bytes();
        seen.emplace_back(b.begin(), b.end());
        summed.push_back(pkt->ip_summed);
        next_.rcv(std::move(pkt));
    }
    void err(std::uint8_t type, std::uint8_t code, std::uint32_t info, const wire::Ipv4View& inner,
             std::span<const std::uint8_t> transport) override {
        next_.err(type, code, info, inner, transport);
    }
    std::vector<Bytes> seen;
    std::vector<ChecksumState> summed;

private:
    InetProtocol& next_;
};

}  // namespace

TEST_CASE("udp: a datagram crosses lo byte for byte, with the sender's address and port", "[udp]") {
    VirtualClock clock;
    Stack stack(test::inline_config(), clock);
    UdpSocket server(stack), client(stack);
    REQUIRE_FALSE(server.bind(kLo, 7));
    CHECK(server.local_address() == kLo);
    CHECK(server.local_port() == 7);
    CHECK(client.local_port() == 0);

    const std::size_t len = GENERATE(std::size_t{0}, std::size_t{1}, std::size_t{1472},
                                     std::size_t{4000}, wire::kUdpMaxPayload);
    CAPTURE(len);
    const Bytes payload = pattern(len, 5);
    REQUIRE_FALSE(client.sendto(kLo, 7, payload));
    // Autobind at the first send: an ephemeral port from ip_local_port_range, on 0.0.0.0.
    CHECK(client.local_port() >= 32768);
    CHECK(client.local_port() <= 60999);
    CHECK(client.local_address() == Ipv4Address{});
    CHECK(udp(stack, UdpMib::OutDatagrams) == 1);
    CHECK(udp(stack, UdpMib::InDatagrams) == 0);  // udp_recvmsg counts it when it is read

    Datagram d;
    REQUIRE_FALSE(recv_now(stack, server, d));
    CHECK(d.data == payload);
    CHECK(d.from == kLo);
    CHECK(d.from_port == client.local_port());
    CHECK(udp(stack, UdpMib::InDatagrams) == 1);
    CHECK(udp(stack, UdpMib::InErrors) == 0);
    CHECK(udp(stack, UdpMib::NoPorts) == 0);
    // Nothing more.
    CHECK(recv_now(stack, server, d) == std::errc::resource_unavailable_try_again);

    // And back, to the address and port it came from.
    REQUIRE_FALSE(server.sendto(d.from, d.from_port, pattern(len, 9)));
    Datagram back;
    REQUIRE_FALSE(recv_now(stack, client, back));
    CHECK(back.data == pattern(len, 9));
    CHECK(back.from == kLo);
    CHECK(back.from_port == 7);
}

TEST_CASE("udp: a payload beyond 65507 bytes is EMSGSIZE", "[udp]") {
    Stack stack(test::inline_config());
    UdpSocket sock(stack);
    CHECK(sock.sendto(kLo, 9, pattern(wire::kUdpMaxPayload + 1)) == std::errc::message_size);
    CHECK(sock.sendto(kLo, 9, pattern(70000)) == std::errc::message_size);
    CHECK(udp(stack, UdpMib::OutDatagrams) == 0);
}

TEST_CASE("udp: a short receive buffer takes the head of the datagram and drops the rest",
          "[udp]") {
    Stack stack(test::inline_config());
    UdpSocket server(stack), client(stack);
    REQUIRE_FALSE(server.bind(kLo, 7));
    REQUIRE_FALSE(client.sendto(kLo, 7, pattern(100)));
    REQUIRE_FALSE(client.sendto(kLo, 7, pattern(10, 1)));
    Datagram d;
    REQUIRE_FALSE(recv_now(stack, server, d, 40));
    const Bytes whole = pattern(100);
    CHECK(d.data == Bytes(whole.begin(), whole.begin() + 40));
    REQUIRE_FALSE(recv_now(stack, server, d));  // the next read is the next datagram
    CHECK(d.data == pattern(10, 1));
}

TEST_CASE("udp: 127.0.0.1:7 and 127.0.0.2:7 are separate sockets, each with its own datagrams",
          "[udp][bind]") {
    Stack stack(test::inline_config());
    UdpSocket one(stack), two(stack), client(stack);
    REQUIRE_FALSE(one.bind(kLo, 7));
    REQUIRE_FALSE(two.bind(kLo2, 7));
    REQUIRE_FALSE(client.sendto(kLo2, 7, pattern(20, 2)));
    REQUIRE_FALSE(client.sendto(kLo, 7, pattern(10, 1)));
    REQUIRE_FALSE(client.sendto(kLo2, 7, pattern(30, 3)));
    Datagram d;
    REQUIRE_FALSE(recv_now(stack, one, d));
    CHECK(d.data == pattern(10, 1));
    CHECK(recv_now(stack, one, d) == std::errc::resource_unavailable_try_again);
    REQUIRE_FALSE(recv_now(stack, two, d));
    CHECK(d.data == pattern(20, 2));
    // 127.0.0.2 is reached from 127.0.0.1, the local route's preferred source.
    CHECK(d.from == kLo);
    REQUIRE_FALSE(recv_now(stack, two, d));
    CHECK(d.data == pattern(30, 3));
    CHECK(recv_now(stack, two, d) == std::errc::resource_unavailable_try_again);
}

TEST_CASE("udp: bind follows Linux's conflict rules", "[udp][bind]") {
    Stack stack(test::inline_config());
    UdpSocket a(stack), b(stack);
    REQUIRE_FALSE(a.bind(kLo, 7));
    REQUIRE_FALSE(b.bind(kLo2, 7));

    SECTION("a wildcard bind conflicts with a specific one on the same port") {
        UdpSocket c(stack);
        CHECK(c.bind(Ipv4Address{}, 7) == std::errc::address_in_use);
        CHECK(c.local_port() == 0);
        UdpSocket w(stack), s(stack);
        REQUIRE_FALSE(w.bind(Ipv4Address{}, 8));
        CHECK(s.bind(kLo, 8) == std::errc::address_in_use);
    }
    SECTION("the same address and port twice") {
        UdpSocket c(stack);
        CHECK(c.bind(kLo, 7) == std::errc::address_in_use);
    }
    SECTION("SO_REUSEADDR on both sides lifts the conflict, on one side it does not") {
        UdpSocket w(stack), s(stack), plain(stack);
        REQUIRE_FALSE(w.set_reuseaddr(true));
        REQUIRE_FALSE(w.bind(Ipv4Address{}, 8));
        CHECK(plain.bind(kLo, 8) == std::errc::address_in_use);
        REQUIRE_FALSE(s.set_reuseaddr(true));
        CHECK_FALSE(s.bind(kLo, 8));
        UdpSocket again(stack);
        REQUIRE_FALSE(again.set_reuseaddr(true));
        CHECK_FALSE(again.bind(kLo, 8));  // UDP shares freely with SO_REUSEADDR
    }
    SECTION("an address that is not ours is EADDRNOTAVAIL") {
        UdpSocket c(stack);
        CHECK(c.bind(Ipv4Address{10, 1, 1, 1}, 7) == std::errc::address_not_available);
        CHECK(c.bind(Ipv4Address{10, 1, 1, 1}, 0) == std::errc::address_not_available);
        CHECK_FALSE(c.bind(Ipv4Address{127, 1, 2, 3}, 7));  // all of 127/8 is local on Linux
    }
    SECTION("a bound socket cannot bind again") {
        CHECK(a.bind(kLo, 9) == std::errc::invalid_argument);
    }
    SECTION("port 0 picks an ephemeral port; closing a socket frees its port") {
        UdpSocket c(stack);
        REQUIRE_FALSE(c.bind(kLo, 0));
        CHECK(c.local_port() >= 32768);
        CHECK(c.local_port() <= 60999);
        {
            UdpSocket tmp(stack);
            REQUIRE_FALSE(tmp.bind(kLo, 9));
        }
        UdpSocket d(stack);
        CHECK_FALSE(d.bind(kLo, 9));
    }
}

TEST_CASE("udp: autobind draws from ip_local_port_range and reports EAGAIN when it is used up",
          "[udp][bind]") {
    StackConfig c = test::inline_config();
    c.ip_local_port_range = {40000, 40002};
    Stack stack(c);
    UdpSocket s1(stack), s2(stack), s3(stack), s4(stack);
    std::vector<std::uint16_t> ports;
    for (UdpSocket* s : {&s1, &s2, &s3}) {
        REQUIRE_FALSE(s->sendto(kLo, 9, pattern(4)));
        ports.push_back(s->local_port());
    }
    std::sort(ports.begin(), ports.end());
    CHECK(ports == std::vector<std::uint16_t>{40000, 40001, 40002});
    CHECK(s4.sendto(kLo, 9, pattern(4)) == std::errc::resource_unavailable_try_again);
    CHECK(s4.bind(kLo, 0) == std::errc::address_in_use);
}

TEST_CASE("udp: lookup prefers a connected socket, then the bound address, then the wildcard",
          "[udp][bind]") {
    Stack stack(test::inline_config());
    UdpSocket wild(stack), specific(stack), connected(stack), c1(stack), c2(stack);
    for (UdpSocket* s : {&wild, &specific, &connected}) REQUIRE_FALSE(s->set_reuseaddr(true));
    REQUIRE_FALSE(wild.bind(Ipv4Address{}, 8));
    REQUIRE_FALSE(specific.bind(kLo, 8));
    REQUIRE_FALSE(c1.bind(kLo, 0));
    REQUIRE_FALSE(c2.bind(kLo, 0));
    REQUIRE_FALSE(connected.bind(Ipv4Address{}, 8));
    REQUIRE_FALSE(connected.connect(kLo, c1.local_port()));
    CHECK(connected.local_address() == kLo);  // connect filled in the source address

    REQUIRE_FALSE(c1.sendto(kLo, 8, pattern(1, 1)));   // from the connected socket's peer
    REQUIRE_FALSE(c2.sendto(kLo, 8, pattern(1, 2)));   // to 127.0.0.1 from someone else
    REQUIRE_FALSE(c2.sendto(kLo2, 8, pattern(1, 3)));  // to an address nobody bound
    Datagram d;
    REQUIRE_FALSE(recv_now(stack, connected, d));
    CHECK(d.data == pattern(1, 1));
    REQUIRE_FALSE(recv_now(stack, specific, d));
    CHECK(d.data == pattern(1, 2));
    REQUIRE_FALSE(recv_now(stack, wild, d));
    CHECK(d.data == pattern(1, 3));
    for (UdpSocket* s : {&wild, &specific, &connected})
        CHECK(recv_now(stack, *s, d) == std::errc::resource_unavailable_try_again);
}

TEST_CASE("udp: connect fixes the peer, 0.0.0.0 means 127.0.0.1, only the peer gets through",
          "[udp][connect]") {
    Stack stack(test::inline_config());
    UdpSocket server(stack), client(stack), stranger(stack);
    REQUIRE_FALSE(server.bind(kLo, 7));
    Ipv4Address peer;
    std::uint16_t peer_port = 0;
    CHECK(client.peer(peer, peer_port) == std::errc::not_connected);
    CHECK(client.send(pattern(3)) == std::errc::destination_address_required);
    REQUIRE_FALSE(client.connect(Ipv4Address{}, 7));
    REQUIRE_FALSE(client.peer(peer, peer_port));
    CHECK(peer == kLo);
    CHECK(peer_port == 7);
    CHECK(client.local_address() == kLo);
    CHECK(client.local_port() != 0);  // connect autobinds

    REQUIRE_FALSE(client.send(pattern(3, 1)));
    Datagram d;
    REQUIRE_FALSE(recv_now(stack, server, d));
    CHECK(d.data == pattern(3, 1));
    CHECK(d.from_port == client.local_port());
    REQUIRE_FALSE(server.sendto(d.from, d.from_port, pattern(4, 2)));
    REQUIRE_FALSE(recv_now(stack, client, d));
    CHECK(d.data == pattern(4, 2));

    // A datagram to the client's port from anyone else finds no socket.
    REQUIRE_FALSE(stranger.sendto(kLo, client.local_port(), pattern(5)));
    CHECK(udp(stack, UdpMib::NoPorts) == 1);
    CHECK(recv_now(stack, client, d) == std::errc::resource_unavailable_try_again);
    CHECK(client.sendto(kLo, 0, pattern(1)) == std::errc::invalid_argument);
}

TEST_CASE("udp: a closed port answers port unreachable, a connected sender hears ECONNREFUSED",
          "[udp][icmp]") {
    VirtualClock clock;
    Stack stack(test::inline_config(), clock);
    UdpSocket client(stack);
    REQUIRE_FALSE(client.connect(kLo, 9));
    REQUIRE_FALSE(client.send(pattern(8)));  // the send itself succeeds: the error comes later
    CHECK(udp(stack, UdpMib::NoPorts) == 1);
    CHECK(udp(stack, UdpMib::OutDatagrams) == 1);
    CHECK(icmp(stack, IcmpMib::OutDestUnreachs) == 1);
    CHECK(stack.snmp().icmp_out_type[wire::kIcmpDestUnreach].load() == 1);
    CHECK(icmp(stack, IcmpMib::InDestUnreachs) == 1);  // it came back through lo
    CHECK(stack.net_rx().drops().count(DropReason::no_socket) == 1);

    Datagram d;
    SECTION("the next recv returns it, once") {
        CHECK(recv_now(stack, client, d) == std::errc::connection_refused);
        CHECK(recv_now(stack, client, d) == std::errc::resource_unavailable_try_again);
    }
    SECTION("or the next send, which then sends nothing") {
        CHECK(client.send(pattern(8)) == std::errc::connection_refused);
        CHECK(udp(stack, UdpMib::OutDatagrams) == 1);
        CHECK(udp(stack, UdpMib::NoPorts) == 1);
        REQUIRE_FALSE(client.send(pattern(8)));
        CHECK(udp(stack, UdpMib::NoPorts) == 2);
    }
    SECTION("a recv blocked in another thread wakes up with it (sk_error_report)") {
        CHECK(recv_now(stack, client, d) == std::errc::connection_refused);
        std::error_code got;
        std::thread reader([&] {
            Bytes buf(16);
            std::size_t n = 0;
            got = client.recv(buf, n, clock.now_ns() + kNsPerSec);
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        REQUIRE_FALSE(client.send(pattern(8)));
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        clock.advance(2 * kNsPerSec);  // bounds the wait if the wakeup never came
        reader.join();
        CHECK(got == std::errc::connection_refused);
    }
}

TEST_CASE("udp: an unconnected socket ignores the port unreachable its datagram caused",
          "[udp][icmp]") {
    Stack stack(test::inline_config());
    UdpSocket sock(stack);
    REQUIRE_FALSE(sock.sendto(kLo, 9, pattern(8)));
    CHECK(udp(stack, UdpMib::NoPorts) == 1);
    CHECK(icmp(stack, IcmpMib::OutDestUnreachs) == 1);
    CHECK(icmp(stack, IcmpMib::InDestUnreachs) == 1);
    CHECK(icmp(stack, IcmpMib::InErrors) == 0);  // the socket was found, and chose to ignore it
    Datagram d;
    CHECK(recv_now(stack, sock, d) == std::errc::resource_unavailable_try_again);
    CHECK_FALSE(sock.sendto(kLo, 9, pattern(8)));
}

TEST_CASE("udp: broadcast needs SO_BROADCAST and reaches every socket on the port", "[udp]") {
    Stack stack(test::inline_config());
    const Ipv4Address bcast{127, 255, 255, 255};
    UdpSocket a(stack), b(stack), other_port(stack), sender(stack);
    REQUIRE_FALSE(a.set_reuseaddr(true));
    REQUIRE_FALSE(b.set_reuseaddr(true));
    REQUIRE_FALSE(a.bind(Ipv4Address{}, 5000));
    REQUIRE_FALSE(b.bind(Ipv4Address{}, 5000));
    REQUIRE_FALSE(other_port.bind(Ipv4Address{}, 5001));
    CHECK(sender.sendto(bcast, 5000, pattern(12)) == std::errc::permission_denied);
    REQUIRE_FALSE(sender.set_broadcast(true));
    REQUIRE_FALSE(sender.sendto(bcast, 5000, pattern(12)));
    Datagram d;
    for (UdpSocket* s : {&a, &b}) {
        REQUIRE_FALSE(recv_now(stack, *s, d));
        CHECK(d.data == pattern(12));
    }
    CHECK(recv_now(stack, other_port, d) == std::errc::resource_unavailable_try_again);
    // A socket may bind the broadcast address itself: it receives broadcasts there, and sends
    // from the route's source.
    UdpSocket bound(stack), peer(stack);
    REQUIRE_FALSE(bound.set_reuseaddr(true));
    REQUIRE_FALSE(bound.bind(bcast, 5000));
    REQUIRE_FALSE(sender.sendto(bcast, 5000, pattern(13)));
    for (UdpSocket* s : {&a, &b, &bound}) {
        REQUIRE_FALSE(recv_now(stack, *s, d));
        CHECK(d.data == pattern(13));
    }
    REQUIRE_FALSE(peer.bind(kLo, 6000));
    REQUIRE_FALSE(bound.sendto(kLo, 6000, pattern(2)));
    REQUIRE_FALSE(recv_now(stack, peer, d));
    CHECK(d.from == kLo);
    CHECK(d.from_port == 5000);
    // Nobody on the port: counted as IgnoredMulti, and no ICMP error about a broadcast.
    REQUIRE_FALSE(sender.sendto(bcast, 5002, pattern(12)));
    CHECK(udp(stack, UdpMib::IgnoredMulti) == 1);
    CHECK(udp(stack, UdpMib::NoPorts) == 0);
    CHECK(icmp(stack, IcmpMib::OutDestUnreachs) == 0);
}

TEST_CASE("udp: a full receive buffer drops with RcvbufErrors", "[udp]") {
    Stack stack(test::inline_config());
    UdpSocket server(stack), client(stack);
    CHECK(server.rcvbuf() == 212992);  // net.core.rmem_default
    REQUIRE_FALSE(server.set_rcvbuf(4096));
    CHECK(server.rcvbuf() == 8192);  // doubled, as SO_RCVBUF is
    REQUIRE_FALSE(server.bind(kLo, 7));
    // Each small datagram is charged its buffer's truesize; one is refused only once the charge
    // already exceeds sk_rcvbuf (__udp_enqueue_schedule_skb), so 8192 / 2048 + 1 fit.
    const std::size_t truesize = PacketPool::kSmallCapacity;
    const std::size_t fit = 8192 / truesize + 1;
    const std::size_t sent = fit + 7;
    for (std::size_t i = 0; i < sent; ++i)
        REQUIRE_FALSE(client.sendto(kLo, 7, pattern(100, static_cast<std::uint8_t>(i))));
    CHECK(udp(stack, UdpMib::RcvbufErrors) == sent - fit);
    CHECK(udp(stack, UdpMib::InErrors) == sent - fit);
    CHECK(server.drops() == sent - fit);
    CHECK(stack.net_rx().drops().count(DropReason::socket_rcvbuff) == sent - fit);
    Datagram d;
    for (std::size_t i = 0; i < fit; ++i) {
        REQUIRE_FALSE(recv_now(stack, server, d));
        CHECK(d.data == pattern(100, static_cast<std::uint8_t>(i)));  // the first ones, in order
    }
    CHECK(recv_now(stack, server, d) == std::errc::resource_unavailable_try_again);
    // Drained, it takes datagrams again.
    REQUIRE_FALSE(client.sendto(kLo, 7, pattern(100, 99)));
    REQUIRE_FALSE(recv_now(stack, server, d));
    CHECK(d.data == pattern(100, 99));
    CHECK(udp(stack, UdpMib::RcvbufErrors) == sent - fit);
    CHECK(server.set_rcvbuf(1) == std::error_code{});
    CHECK(server.rcvbuf() == 2304);  // SOCK_MIN_RCVBUF
}

TEST_CASE("udp: on lo the checksum field holds the pseudo-header sum (CHECKSUM_PARTIAL)",
          "[udp][csum]") {
    Stack stack(test::inline_config());
    UdpSpy spy(stack.udp());
    stack.ip().add_protocol(wire::kIpProtoUdp, &spy);
    UdpSocket server(stack), client(stack);
    REQUIRE_FALSE(server.bind(kLo2, 7));
    const Bytes payload = pattern(333, 7);
    REQUIRE_FALSE(client.sendto(kLo2, 7, payload));
    REQUIRE(spy.seen.size() == 1);
    CHECK(spy.summed[0] == ChecksumState::unnecessary);  // lo's RXCSUM vouched for it

    const Bytes& wire_bytes = spy.seen[0];
    const Tins::IP ip(wire_bytes.data(), static_cast<std::uint32_t>(wire_bytes.size()));
    CHECK(ip.src_addr().to_string() == "127.0.0.1");
    CHECK(ip.dst_addr().to_string() == "127.0.0.2");
    CHECK(ip.protocol() == wire::kIpProtoUdp);
    const auto* u = ip.find_pdu<Tins::UDP>();
    REQUIRE(u != nullptr);
    CHECK(u->dport() == 7);
    CHECK(u->sport() == client.local_port());
    CHECK(u->length() == 8 + payload.size());
    // ~csum_tcpudp_magic(saddr, daddr, len, IPPROTO_UDP, 0), computed here from first principles.
    const std::uint64_t pseudo = 0x7f000001u + 0x7f000002u + 17u + 8u + payload.size();
    CHECK(u->checksum() == static_cast<std::uint16_t>(~wire::checksum_fold(pseudo)));
    // ...which is not a valid full checksum, and nobody minded: the datagram was delivered.
    CHECK(wire::tcp_checksum(kLo, kLo2, std::span(wire_bytes).subspan(20), 17) != 0);
    Datagram d;
    REQUIRE_FALSE(recv_now(stack, server, d));
    CHECK(d.data == payload);
    CHECK(udp(stack, UdpMib::InCsumErrors) == 0);
    // The IP header checksum is always computed.
    CHECK(wire::checksum(std::span(wire_bytes).first(20)) == 0);
    stack.ip().add_protocol(wire::kIpProtoUdp, &stack.udp());
}

TEST_CASE_METHOD(Eth0Fixture, "udp: on a device without offload the checksum is computed in full",
                 "[udp][csum]") {
    UdpSocket sock(stack);
    REQUIRE_FALSE(sock.bind(kEthAddr, 4444));
    const Bytes payload = pattern(200, 3);
    REQUIRE_FALSE(sock.sendto(kEthPeer, 7777, payload));
    REQUIRE(eth0->sent.size() == 1);
    CHECK(eth0->sent[0]->ip_summed == ChecksumState::none);
    const Bytes out = bytes_of(*eth0->sent[0]);
    const Tins::IP ip(out.data(), static_cast<std::uint32_t>(out.size()));
    CHECK(ip.src_addr().to_string() == "198.18.0.2");
    CHECK(ip.dst_addr().to_string() == "198.18.0.1");
    CHECK(ip.ttl() == 64);
    CHECK(ip.flags() == Tins::IP::DONT_FRAGMENT);  // IP_PMTUDISC_WANT
    CHECK(ip.id() == 0);                           // unconnected, DF: ID 0
    CHECK(ip.tot_len() == out.size());
    const auto* u = ip.find_pdu<Tins::UDP>();
    REQUIRE(u != nullptr);
    CHECK(u->sport() == 4444);
    CHECK(u->dport() == 7777);
    CHECK(u->length() == 8 + payload.size());
    const auto* raw = u->find_pdu<Tins::RawPDU>();
    REQUIRE(raw != nullptr);
    CHECK(raw->payload() == payload);
    // The checksum verifies, and libtins, recomputing both checksums, reproduces the bytes.
    CHECK(u->checksum() != 0);
    CHECK(wire::tcp_checksum(kEthAddr, kEthPeer, std::span(out).subspan(20), 17) == 0);
    CHECK(Tins::IP(ip).serialize() == out);
}

TEST_CASE_METHOD(Eth0Fixture, "udp: a connected socket numbers its datagrams' IP IDs", "[udp]") {
    UdpSocket sock(stack);
    REQUIRE_FALSE(sock.connect(kEthPeer, 53));
    CHECK(sock.local_address() == kEthAddr);  // the route's source
    REQUIRE_FALSE(sock.send(pattern(10)));
    REQUIRE_FALSE(sock.send(pattern(10)));
    REQUIRE(eth0->sent.size() == 2);
    const Bytes a = bytes_of(*eth0->sent[0]), b = bytes_of(*eth0->sent[1]);
    const Tins::IP ip_a(a.data(), static_cast<std::uint32_t>(a.size()));
    const Tins::IP ip_b(b.data(), static_cast<std::uint32_t>(b.size()));
    CHECK(ip_a.flags() == Tins::IP::DONT_FRAGMENT);
    CHECK(static_cast<std::uint16_t>(ip_a.id() + 1) == ip_b.id());
    CHECK(Tins::IP(ip_b).serialize() == b);
}

TEST_CASE_METHOD(Eth0Fixture, "udp_rcv: checksums from the wire", "[udp][csum]") {
    UdpSocket sock(stack);
    REQUIRE_FALSE(sock.bind(Ipv4Address{}, 5353));
    const Bytes payload = pattern(64, 11);
    Bytes good = tins_datagram(kEthPeer, 4000, kEthAddr, 5353, payload);
    Datagram d;

    SECTION("a correct checksum is accepted") {
        on_eth0(good);
        REQUIRE_FALSE(recv_now(stack, sock, d));
        CHECK(d.data == payload);
        CHECK(d.from == kEthPeer);
        CHECK(d.from_port == 4000);
    }
    SECTION("a zero checksum means none was sent (RFC 768) and is accepted") {
        wire::store16(&good[26], 0);
        on_eth0(good);
        REQUIRE_FALSE(recv_now(stack, sock, d));
        CHECK(d.data == payload);
        CHECK(udp(stack, UdpMib::InCsumErrors) == 0);
    }
    SECTION("a bad checksum counts InCsumErrors and InErrors, and the datagram is gone") {
        good.back() ^= 0x40;
        on_eth0(good);
        CHECK(udp(stack, UdpMib::InCsumErrors) == 1);
        CHECK(udp(stack, UdpMib::InErrors) == 1);
        CHECK(recv_now(stack, sock, d) == std::errc::resource_unavailable_try_again);
        CHECK(icmp(stack, IcmpMib::OutMsgs) == 0);
        CHECK(eth0->sent.empty());
    }
    SECTION("to a closed port with a bad checksum: dropped silently, no NoPorts, no ICMP") {
        Bytes closed = tins_datagram(kEthPeer, 4000, kEthAddr, 5354, payload);
        closed.back() ^= 0x01;
        on_eth0(closed);
        CHECK(udp(stack, UdpMib::InCsumErrors) == 1);
        CHECK(udp(stack, UdpMib::NoPorts) == 0);
        CHECK(eth0->sent.empty());
    }
    CHECK(udp(stack, UdpMib::NoPorts) == 0);
}

TEST_CASE_METHOD(Eth0Fixture, "udp_rcv: the UDP length against the IP payload", "[udp]") {
    UdpSocket sock(stack);
    REQUIRE_FALSE(sock.bind(kEthAddr, 5353));
    const Bytes payload = pattern(32, 4);
    Bytes b = tins_datagram(kEthPeer, 4000, kEthAddr, 5353, payload);
    Datagram d;
    SECTION("longer than the IP payload: short_packet, InErrors") {
        wire::store16(&b[24], static_cast<std::uint16_t>(8 + payload.size() + 1));
        on_eth0(b);
        CHECK(udp(stack, UdpMib::InErrors) == 1);
        CHECK(stack.net_rx().drops().count(DropReason::pkt_too_small) == 1);
    }
    SECTION("shorter than the header: InErrors") {
        wire::store16(&b[24], 7);
        on_eth0(b);
        CHECK(udp(stack, UdpMib::InErrors) == 1);
    }
    SECTION("an IP payload shorter than a UDP header: InErrors") {
        Bytes cut(b.begin(), b.begin() + 20 + 6);
        wire::store16(&cut[2], static_cast<std::uint16_t>(cut.size()));
        wire::store16(&cut[10], 0);
        wire::store16(&cut[10], wire::checksum(std::span(cut).first(20)));
        on_eth0(cut);
        CHECK(udp(stack, UdpMib::InErrors) == 1);
    }
    SECTION("shorter than the IP payload: trimmed to the UDP length (pskb_trim_rcsum)") {
        // Trailing bytes inside the IP datagram beyond the UDP length are not the datagram's.
        Bytes padded = b;
        padded.insert(padded.end(), {0xde, 0xad, 0xbe, 0xef});
        wire::store16(&padded[2], static_cast<std::uint16_t>(padded.size()));
        wire::store16(&padded[10], 0);
        wire::store16(&padded[10], wire::checksum(std::span(padded).first(20)));
        on_eth0(padded);
        CHECK(udp(stack, UdpMib::InErrors) == 0);
        REQUIRE_FALSE(recv_now(stack, sock, d));
        CHECK(d.data == payload);
        return;
    }
    CHECK(recv_now(stack, sock, d) == std::errc::resource_unavailable_try_again);
    CHECK(eth0->sent.empty());  // no ICMP about a malformed datagram
}

TEST_CASE_METHOD(Eth0Fixture,
                 "udp_rcv: a closed port on the wire gets a port unreachable quoting it",
                 "[udp][icmp]") {
    const Bytes dgram = tins_datagram(kEthPeer, 4000, kEthAddr, 9, pattern(16));
    on_eth0(dgram);
    CHECK(udp(stack, UdpMib::NoPorts) == 1);
    CHECK(icmp(stack, IcmpMib::OutDestUnreachs) == 1);
    REQUIRE(eth0->sent.size() == 1);
    const Bytes out = bytes_of(*eth0->sent[0]);
    const Tins::IP ip(out.data(), static_cast<std::uint32_t>(out.size()));
    CHECK(ip.src_addr().to_string() == "198.18.0.2");
    CHECK(ip.dst_addr().to_string() == "198.18.0.1");
    const auto* err = ip.find_pdu<Tins::ICMP>();
    REQUIRE(err != nullptr);
    CHECK(err->type() == Tins::ICMP::DEST_UNREACHABLE);
    CHECK(err->code() == wire::kIcmpPortUnreach);
    CHECK(Bytes(out.begin() + 28, out.end()) == dgram);

    // The per-peer rate limit (icmp_ratelimit) applies off loopback: 6 in a burst, then quiet.
    for (int i = 0; i < 10; ++i) on_eth0(dgram);
    CHECK(udp(stack, UdpMib::NoPorts) == 11);
    CHECK(eth0->sent.size() == 6);
    CHECK(icmp(stack, IcmpMib::OutRateLimitHost) == 5);
}

TEST_CASE_METHOD(Eth0Fixture, "udp_err: ICMP errors reach a connected socket per icmp_err_convert",
                 "[udp][icmp]") {
    UdpSocket sock(stack);
    REQUIRE_FALSE(sock.connect(kEthPeer, 9999));
    REQUIRE_FALSE(sock.send(pattern(10)));
    REQUIRE(eth0->sent.size() == 1);
    const Bytes sent = bytes_of(*eth0->sent[0]);
    Datagram d;

    struct Case {
        std::uint8_t type, code;
        std::optional<std::errc> err;  // nullopt: not a hard error, the socket is not told
    };
    const Case c = GENERATE(
        Case{wire::kIcmpDestUnreach, wire::kIcmpPortUnreach, std::errc::connection_refused},
        Case{wire::kIcmpDestUnreach, wire::kIcmpProtUnreach, std::errc::no_protocol_option},
        Case{wire::kIcmpDestUnreach, wire::kIcmpPktFiltered, std::errc::host_unreachable},
        Case{wire::kIcmpDestUnreach, 6, std::errc::network_unreachable},  // NET_UNKNOWN
        Case{wire::kIcmpDestUnreach, wire::kIcmpFragNeeded, std::errc::message_size},
        Case{wire::kIcmpParameterProb, 0, std::errc::protocol_error},
        Case{wire::kIcmpDestUnreach, wire::kIcmpNetUnreach, std::nullopt},
        Case{wire::kIcmpDestUnreach, wire::kIcmpHostUnreach, std::nullopt},
        Case{wire::kIcmpTimeExceeded, 0, std::nullopt},
        Case{wire::kIcmpSourceQuench, 0, std::nullopt});
    const int type = c.type, code = c.code;
    CAPTURE(type, code);
    icmp_error_from_peer(c.type, c.code, sent);
    CHECK(icmp(stack, IcmpMib::InMsgs) == 1);
    CHECK(icmp(stack, IcmpMib::InErrors) == 0);
    if (c.err) CHECK(recv_now(stack, sock, d) == *c.err);
    CHECK(recv_now(stack, sock, d) == std::errc::resource_unavailable_try_again);
}

TEST_CASE_METHOD(Eth0Fixture,
                 "udp_err: unconnected sockets ignore errors, without a socket Icmp InErrors",
                 "[udp][icmp]") {
    UdpSocket sock(stack);
    REQUIRE_FALSE(sock.bind(kEthAddr, 4444));
    REQUIRE_FALSE(sock.sendto(kEthPeer, 9999, pattern(10)));
    REQUIRE(eth0->sent.size() == 1);
    const Bytes sent = bytes_of(*eth0->sent[0]);
    icmp_error_from_peer(wire::kIcmpDestUnreach, wire::kIcmpPortUnreach, sent);
    Datagram d;
    CHECK(recv_now(stack, sock, d) == std::errc::resource_unavailable_try_again);
    CHECK(icmp(stack, IcmpMib::InErrors) == 0);

    // About a datagram from a port nobody holds (any more).
    Bytes orphan = sent;
    wire::store16(&orphan[20], 4445);
    icmp_error_from_peer(wire::kIcmpDestUnreach, wire::kIcmpPortUnreach, orphan);
    CHECK(icmp(stack, IcmpMib::InErrors) == 1);
}

TEST_CASE("udp: a request/response exchange under every worker design", "[udp][worker]") {
    const WorkerKind worker = GENERATE(WorkerKind::softirq, WorkerKind::ksoftirqd,
                                       WorkerKind::busypoll, WorkerKind::inline_);
    const std::string worker_name{worker_kind_name(worker)};
    CAPTURE(worker_name);
    StackConfig c;
    c.core.worker = worker;
    Stack stack(c);
    UdpSocket server(stack), client(stack);
    REQUIRE_FALSE(server.bind(kLo, 7));
    REQUIRE_FALSE(client.connect(kLo, 7));
    constexpr int kRounds = 50;
    const Nanos wait = 5 * kNsPerSec;

    // The server answers each request with its bytes incremented.
    auto serve_one = [&]() -> std::error_code {
        Bytes buf(2048);
        Ipv4Address from;
        std::uint16_t port = 0;
        std::size_t n = 0;
        if (auto ec = server.recvfrom(buf, from, port, n, stack.clock().now_ns() + wait)) return ec;
        for (std::size_t k = 0; k < n; ++k) ++buf[k];
        return server.sendto(from, port, std::span(buf).first(n));
    };
    std::atomic<int> served{0};
    std::error_code server_error;
    std::thread server_thread;
    if (worker != WorkerKind::inline_) {
        server_thread = std::thread([&] {
            for (int i = 0; i < kRounds; ++i) {
                if ((server_error = serve_one())) return;
                ++served;
            }
        });
    }
    int answered = 0;
    for (int i = 0; i < kRounds; ++i) {
        const Bytes req = pattern(64 + static_cast<std::size_t>(i), static_cast<std::uint8_t>(i));
        if (client.send(req)) break;
        if (worker == WorkerKind::inline_) {
            if (serve_one()) break;
            ++served;
        }
        Bytes buf(2048);
        std::size_t n = 0;
        if (client.recv(buf, n, stack.clock().now_ns() + wait)) break;
        buf.resize(n);
        Bytes want = req;
        for (auto& b : want) ++b;
        if (buf != want) break;
        ++answered;
    }
    if (server_thread.joinable()) server_thread.join();
    CHECK_FALSE(server_error);
    CHECK(answered == kRounds);
    CHECK(served == kRounds);
    CHECK(udp(stack, UdpMib::InDatagrams) == 2 * kRounds);
    CHECK(udp(stack, UdpMib::OutDatagrams) == 2 * kRounds);
    CHECK(udp(stack, UdpMib::InErrors) == 0);
}

TEST_CASE("udp: the steady state allocates no packets", "[udp]") {
    Stack stack(test::inline_config());
    UdpSocket server(stack), client(stack);
    REQUIRE_FALSE(server.bind(kLo, 7));
    REQUIRE_FALSE(client.connect(kLo, 7));
    const Bytes req = pattern(100);
    Bytes buf(2048);
    auto round = [&] {
        std::size_t n = 0;
        Ipv4Address from;
        std::uint16_t port = 0;
        REQUIRE_FALSE(client.send(req));
        REQUIRE_FALSE(server.recvfrom(buf, from, port, n, stack.clock().now_ns()));
        REQUIRE_FALSE(server.sendto(from, port, std::span(buf).first(n)));
        REQUIRE_FALSE(client.recv(buf, n, stack.clock().now_ns()));
    };
    for (int i = 0; i < 20; ++i) round();
    const auto before = PacketPool::instance().heap_allocations();
    for (int i = 0; i < 500; ++i) round();
    CHECK(PacketPool::instance().heap_allocations() == before);
}

TEST_CASE("udp: /proc/net/snmp's Udp lines, in the kernel's order", "[udp]") {
    Stack stack(test::inline_config());
    UdpSocket server(stack), client(stack);
    REQUIRE_FALSE(server.bind(kLo, 7));
    REQUIRE_FALSE(client.sendto(kLo, 7, pattern(3)));
    REQUIRE_FALSE(client.sendto(kLo, 8, pattern(3)));
    Datagram d;
    REQUIRE_FALSE(recv_now(stack, server, d));
    const std::string text = stack.snmp_text();
    const std::string names =
        "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors "
        "IgnoredMulti MemErrors\n";
    const std::string values = "Udp: 1 1 0 2 0 0 0 0 0\n";
    const auto at = text.find(names + values);
    REQUIRE(at != std::string::npos);
    CHECK(text.find("IcmpMsg:") < at);
    CHECK(at < text.find("IpExt:"));
    CHECK(mib_name(UdpMib::IgnoredMulti) == "IgnoredMulti");
}
