// TCP segments: vlo's encoder and decoder against libtins, options included, on randomised
// segments; option layout as Linux writes it (tcp_options_write).
#include <random>

#include <catch2/catch.hpp>
#include <tins/tins.h>

#include "stack/wire/tcp.hpp"
#include "test_util.hpp"

using namespace vlo;

namespace {

wire::TcpRepr random_repr(std::mt19937& rng) {
    wire::TcpRepr r;
    r.src_port = static_cast<std::uint16_t>(rng());
    r.dst_port = static_cast<std::uint16_t>(rng());
    r.seq = static_cast<std::uint32_t>(rng());
    r.ack = static_cast<std::uint32_t>(rng());
    r.flags = static_cast<std::uint8_t>(rng());
    r.window = static_cast<std::uint16_t>(rng());
    if (rng() % 2) r.options.mss = static_cast<std::uint16_t>(rng());
    if (rng() % 2) r.options.wscale = static_cast<std::uint8_t>(rng() % 15);
    r.options.sack_permitted = rng() % 2;
    if (rng() % 2) r.options.timestamp = std::pair{static_cast<std::uint32_t>(rng()), static_cast<std::uint32_t>(rng())};
    return r;
}

}  // namespace

TEST_CASE("TCP segments vlo builds are what libtins parses, checksum included", "[tcp][wire]") {
    std::mt19937 rng(2024);
    const Ipv4Address src{10, 0, 0, 1}, dst{10, 0, 0, 2};
    for (int i = 0; i < 300; ++i) {
        const wire::TcpRepr r = random_repr(rng);
        std::vector<std::uint8_t> payload(rng() % 1200);
        for (auto& b : payload) b = static_cast<std::uint8_t>(rng());
        const auto bytes = test::tcp_segment(src, dst, r, payload);
        Tins::IP ip(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
        const auto& tcp = ip.rfind_pdu<Tins::TCP>();
        CHECK(tcp.sport() == r.src_port);
        CHECK(tcp.dport() == r.dst_port);
        CHECK(tcp.seq() == r.seq);
        CHECK(tcp.ack_seq() == r.ack);
        CHECK(tcp.flags() == r.flags);
        CHECK(tcp.window() == r.window);
        CHECK(tcp.data_offset() * 4u == r.header_len());
        if (r.options.mss) CHECK(tcp.mss() == *r.options.mss);
        if (r.options.wscale) CHECK(tcp.winscale() == *r.options.wscale);
        CHECK(tcp.has_sack_permitted() == r.options.sack_permitted);
        if (r.options.timestamp) CHECK(tcp.timestamp() == *r.options.timestamp);
        const auto* raw = tcp.find_pdu<Tins::RawPDU>();
        if (payload.empty()) {
            CHECK(raw == nullptr);
        } else {
            REQUIRE(raw);
            CHECK(raw->payload() == payload);
        }
        // The checksum verifies independently: libtins recomputes it on serialisation.
        Tins::IP copy(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
        const auto again = copy.serialize();
        CHECK(std::vector<std::uint8_t>(again.begin(), again.end()) == bytes);
    }
}

TEST_CASE("TCP segments libtins builds pass vlo's checks and parse to the same fields", "[tcp][wire]") {
    std::mt19937 rng(77);
    for (int i = 0; i < 300; ++i) {
        Tins::TCP tcp(static_cast<std::uint16_t>(rng()), static_cast<std::uint16_t>(rng()));
        tcp.seq(static_cast<std::uint32_t>(rng()));
        tcp.ack_seq(static_cast<std::uint32_t>(rng()));
        tcp.flags(static_cast<std::uint8_t>(rng()));
        tcp.window(static_cast<std::uint16_t>(rng()));
        const bool has_mss = rng() % 2, has_ws = rng() % 2, has_ts = rng() % 2, has_sack = rng() % 2;
        if (has_mss) tcp.mss(static_cast<std::uint16_t>(rng()));
        if (has_sack) tcp.sack_permitted();
        if (has_ts) tcp.timestamp(static_cast<std::uint32_t>(rng()), static_cast<std::uint32_t>(rng()));
        if (has_ws) tcp.winscale(static_cast<std::uint8_t>(rng() % 15));
        std::vector<std::uint8_t> payload(rng() % 500);
        for (auto& b : payload) b = static_cast<std::uint8_t>(rng());
        Tins::IP ip = Tins::IP("10.0.0.2", "10.0.0.1") / tcp / Tins::RawPDU(payload);
        const auto bytes = ip.serialize();
        const std::span<const std::uint8_t> seg(bytes.data() + 20, bytes.size() - 20);
        REQUIRE(wire::TcpView::check(seg) == wire::TcpView::Error::none);
        CHECK(wire::tcp_checksum({10, 0, 0, 1}, {10, 0, 0, 2}, seg) == 0);
        const wire::TcpView v(seg);
        const auto r = wire::TcpRepr::parse(v);
        CHECK(r.src_port == tcp.sport());
        CHECK(r.seq == tcp.seq());
        CHECK(r.ack == tcp.ack_seq());
        CHECK(r.flags == tcp.flags());
        CHECK(r.window == tcp.window());
        CHECK(r.options.mss.has_value() == has_mss);
        if (has_mss) CHECK(*r.options.mss == tcp.mss());
        CHECK(r.options.wscale.has_value() == has_ws);
        if (has_ws) CHECK(*r.options.wscale == tcp.winscale());
        CHECK(r.options.sack_permitted == has_sack);
        CHECK(r.options.timestamp.has_value() == has_ts);
        if (has_ts) CHECK(*r.options.timestamp == tcp.timestamp());
        CHECK(std::vector<std::uint8_t>(v.payload().begin(), v.payload().end()) == payload);
    }
}

TEST_CASE("SYN options are laid out as Linux's tcp_options_write", "[tcp][wire]") {
    wire::TcpRepr syn;
    syn.flags = wire::kTcpSyn;
    syn.options.mss = 65495;
    syn.options.sack_permitted = true;
    syn.options.timestamp = std::pair{0x01020304u, 0u};
    syn.options.wscale = 7;
    std::vector<std::uint8_t> h(syn.header_len());
    syn.emit(h);
    // MSS, SACK_PERM folded into the timestamp's padding, TS, NOP, WSCALE: 40 bytes in all.
    const std::vector<std::uint8_t> opts(h.begin() + 20, h.end());
    CHECK(opts == std::vector<std::uint8_t>{2, 4, 0xff, 0xd7, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7});
    syn.options.sack_permitted = false;  // vlo's own SYNs: NOP NOP before the timestamp
    std::vector<std::uint8_t> h2(syn.header_len());
    syn.emit(h2);
    CHECK(std::vector<std::uint8_t>(h2.begin() + 20, h2.begin() + 24) == std::vector<std::uint8_t>{2, 4, 0xff, 0xd7});
    CHECK(std::vector<std::uint8_t>(h2.begin() + 24, h2.begin() + 26) == std::vector<std::uint8_t>{1, 1});
}

TEST_CASE("malformed TCP options are refused, unknown ones skipped", "[tcp][wire]") {
    std::vector<std::uint8_t> h(28, 0);
    h[12] = 7 << 4;  // 28-byte header
    h[20] = 2;       // MSS with a length running past the header
    h[21] = 12;
    CHECK(wire::TcpView::check(h) == wire::TcpView::Error::bad_options);
    h[21] = 1;  // length below 2
    CHECK(wire::TcpView::check(h) == wire::TcpView::Error::bad_options);
    h[20] = 99;  // unknown kind, sane length: skipped
    h[21] = 4;
    h[24] = 1;
    h[25] = 1;
    h[26] = 1;
    h[27] = 0;
    REQUIRE(wire::TcpView::check(h) == wire::TcpView::Error::none);
    CHECK_FALSE(wire::TcpView(h).options().mss);
    h[12] = 4 << 4;  // data offset below 5
    CHECK(wire::TcpView::check(h) == wire::TcpView::Error::bad_offset);
    CHECK(wire::TcpView::check(std::span(h).first(19)) == wire::TcpView::Error::truncated);
}
