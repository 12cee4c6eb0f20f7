// The capture tap and its pcap writer: files read back byte by byte, by libtins and (if
// installed) by tshark; a real ICMP exchange with the stack recorded in both directions; lo's
// packets once each; a full ring dropping and counting instead of blocking; -c; sinks that
// are sockets or callbacks, and one that fails.
#include <tins/tins.h>
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <vector>

#include "netif/capture.hpp"
#include "netif/dev_xmit.hpp"
#include "netif/loopback.hpp"
#include "netif/net_rx.hpp"
#include "netif/packet_pool.hpp"
#include "netif/pcap_writer.hpp"
#include "netif/trace_log.hpp"
#include "stack/stack.hpp"
#include "test_util.hpp"

using namespace vlo;
using Bytes = std::vector<std::uint8_t>;

namespace {

// A pcap stream taken apart by hand (host byte order, as written).
struct PcapFile {
    struct Record {
        std::uint32_t sec, frac, caplen, len;
        Bytes data;
    };
    std::uint32_t magic = 0;
    std::uint16_t major = 0, minor = 0;
    std::int32_t thiszone = -1;
    std::uint32_t sigfigs = 1, snaplen = 0, linktype = 0;
    std::vector<Record> records;
};

template <class T>
T load(const Bytes& b, std::size_t at) {
    T v;
    std::memcpy(&v, b.data() + at, sizeof v);
    return v;
}

PcapFile parse_pcap(const Bytes& b) {
    PcapFile f;
    REQUIRE(b.size() >= 24);
    f.magic = load<std::uint32_t>(b, 0);
    f.major = load<std::uint16_t>(b, 4);
    f.minor = load<std::uint16_t>(b, 6);
    f.thiszone = load<std::int32_t>(b, 8);
    f.sigfigs = load<std::uint32_t>(b, 12);
    f.snaplen = load<std::uint32_t>(b, 16);
    f.linktype = load<std::uint32_t>(b, 20);
    std::size_t at = 24;
    while (at < b.size()) {
        REQUIRE(b.size() - at >= 16);
        PcapFile::Record r{load<std::uint32_t>(b, at),
                           load<std::uint32_t>(b, at + 4),
                           load<std::uint32_t>(b, at + 8),
                           load<std::uint32_t>(b, at + 12),
                           {}};
        at += 16;
        REQUIRE(b.size() - at >= r.caplen);
        r.data.assign(b.begin() + static_cast<long>(at),
                      b.begin() + static_cast<long>(at + r.caplen));
        at += r.caplen;
        f.records.push_back(std::move(r));
    }
    return f;
}

Bytes read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

// A pcap file of the test's own, removed when the test ends.
struct TempPcap {
    std::string path;
    explicit TempPcap(const char* name)
        : path((std::filesystem::temp_directory_path() /
                ("vlo_capture_" + std::to_string(::getpid()) + "_" + name + ".pcap"))
                   .string()) {}
    ~TempPcap() { std::filesystem::remove(path); }
};

// The device under the capture: what it transmits is kept.
using WireDevice = test::WireDevice;

// Where the device's received packets go on to: kept, and counted.
struct Upstream final : RxSink {
    std::vector<Bytes> got;
    NetRxResult netif_rx(PacketPtr pkt) override {
        got.emplace_back(pkt->data(), pkt->data() + pkt->size());
        return NetRxResult::success;
    }
};

Bytes pattern(std::size_t n, std::uint8_t seed) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i);
    return b;
}

// The device receives: through a receive core to its taps and protocol, or, for a bare sink
// standing in for the core, the taps first as __netif_receive_skb calls them.
void receive(Device& dev, const Bytes& bytes) {
    PacketPtr pkt = test::make_packet(bytes);
    pkt->dev = &dev;
    REQUIRE(dev.rx_sink());
    if (!dynamic_cast<NetRx*>(dev.rx_sink())) netif_receive_taps(*pkt, dev);
    dev.rx_sink()->netif_rx(std::move(pkt));
}

// The device transmits, as dev_queue_xmit hands it over: the taps see it leave.
void send(Device& dev, PacketPtr pkt) { dev_queue_xmit(std::move(pkt), dev); }

// Runs a shell command: its exit status and what it printed.
std::pair<int, std::string> run(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p);
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    return {::pclose(p), out};
}

constexpr Nanos kT0 = Nanos{1'700'000'000} * kNsPerSec + 123'456'789;  // virtual time, epoch-like

}  // namespace

TEST_CASE("capture writes a pcap whose global header and records are exact", "[capture]") {
    const bool nano = GENERATE(true, false);
    VirtualClock clock(kT0);
    WireDevice wire(2);
    Upstream up;
    wire.set_rx_sink(&up);
    TempPcap file(nano ? "exact_ns" : "exact_us");
    CaptureConfig cfg;
    cfg.nanosecond = nano;
    Capture cap(wire, clock, cfg);
    REQUIRE_FALSE(cap.start_file(file.path));

    const Bytes a = pattern(60, 1), b = pattern(1400, 2), c = pattern(28, 3);
    send(wire, test::make_packet(a));
    clock.advance(1'500);  // 1.5 µs
    receive(wire, b);      // the device receives: through the capture to its sink
    clock.advance(2 * kNsPerSec);
    send(wire, test::make_packet(c));
    REQUIRE_FALSE(cap.close());

    // Everything still reached where it was going.
    REQUIRE(wire.sent.size() == 2);
    REQUIRE(up.got == std::vector<Bytes>{b});

    const PcapFile f = parse_pcap(read_all(file.path));
    CHECK(f.magic == (nano ? 0xa1b23c4du : 0xa1b2c3d4u));
    CHECK(f.major == 2);
    CHECK(f.minor == 4);
    CHECK(f.thiszone == 0);
    CHECK(f.sigfigs == 0);
    CHECK(f.snaplen == 262144);
    CHECK(f.linktype == 101);  // LINKTYPE_RAW
    REQUIRE(f.records.size() == 3);
    const Nanos times[] = {kT0, kT0 + 1'500, kT0 + 1'500 + 2 * kNsPerSec};
    const Bytes* bytes[] = {&a, &b, &c};
    for (std::size_t i = 0; i < 3; ++i) {
        const auto& r = f.records[i];
        CHECK(r.sec == static_cast<std::uint32_t>(times[i] / kNsPerSec));
        const Nanos frac = times[i] % kNsPerSec;
        CHECK(r.frac == static_cast<std::uint32_t>(nano ? frac : frac / 1000));
        CHECK(r.caplen == bytes[i]->size());
        CHECK(r.len == bytes[i]->size());
        CHECK(r.data == *bytes[i]);
    }
    const CaptureStats s = cap.stats();
    CHECK(s.captured == 3);
    CHECK(s.received == 3);
    CHECK(s.dropped == 0);
    CHECK(s.bytes_written == 24 + 3 * 16 + 60 + 1400 + 28);
    CHECK(cap.stats_text() ==
          "3 packets captured\n3 packets received by filter\n0 packets dropped by kernel\n");
}

TEST_CASE("a capture ring with no room ends a traced packet's copy with PACKET_SOCK_ERROR", "[capture][trace]") {
    VirtualClock clock;
    WireDevice wire(2);
    CaptureConfig cfg;
    cfg.snaplen = 100;
    cfg.buffer_bytes = 16 + 100;  // one record
    Capture cap(wire, clock, cfg);
    // Once `hold` is set the sink keeps the writer until released: the first record then keeps
    // the ring full. (The global header is written by start() itself, unheld.)
    std::mutex mu;
    std::condition_variable cv;
    bool hold = false, release = false, writing = false;
    REQUIRE_FALSE(cap.start(std::make_unique<CallbackPcapSink>([&](std::span<const std::uint8_t>) {
        std::unique_lock lock(mu);
        if (!hold) return std::error_code{};
        writing = true;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
        return std::error_code{};
    })));
    {
        std::lock_guard lock(mu);
        hold = true;
    }
    send(wire, test::make_packet(pattern(100, 1)));  // fills the ring; the writer now waits
    {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return writing; });
    }
    constexpr std::uint64_t kId = 0x7ace5;
    PacketPtr traced = test::make_packet(pattern(100, 2));
    traced->trace.start(kId);
    send(wire, std::move(traced));
    CHECK(cap.stats().dropped == 1);
    REQUIRE(wire.sent.size() == 2);  // the packet itself went on
    CHECK(wire.sent[1]->trace.on);
    const std::vector<Trace> traces = TraceLog::instance().take(kId);
    REQUIRE(traces.size() == 1);  // the copy's, ended here
    CHECK(traces[0].drop == DropReason::packet_sock_error);
    CHECK(drop_reason_name(traces[0].drop) == "PACKET_SOCK_ERROR");
    {
        std::lock_guard lock(mu);
        release = true;
        cv.notify_all();
    }
    REQUIRE_FALSE(cap.close());
    CHECK(cap.stats().captured == 1);
}

TEST_CASE("capture keeps snaplen bytes of a longer packet and its true length", "[capture]") {
    VirtualClock clock;
    WireDevice wire(2);
    TempPcap file("snaplen");
    CaptureConfig cfg;
    cfg.snaplen = 64;
    Capture cap(wire, clock, cfg);
    REQUIRE_FALSE(cap.start_file(file.path));
    const Bytes big = pattern(1000, 9);
    send(wire, test::make_packet(big));
    cap.close();
    const PcapFile f = parse_pcap(read_all(file.path));
    CHECK(f.snaplen == 64);
    REQUIRE(f.records.size() == 1);
    CHECK(f.records[0].caplen == 64);
    CHECK(f.records[0].len == 1000);
    CHECK(f.records[0].data == Bytes(big.begin(), big.begin() + 64));
}

TEST_CASE("capture records a stack's ICMP exchange that libtins and tshark read back",
          "[capture]") {
    VirtualClock clock(kT0);
    Stack stack(test::inline_config(), clock);
    WireDevice& wire = test::add_wire(stack);
    Capture cap(wire, clock);
    TempPcap file("icmp");
    REQUIRE_FALSE(cap.start_file(file.path));

    const Ipv4Address peer{198, 18, 0, 1}, ours{198, 18, 0, 2};
    receive(wire, test::echo_request(peer, ours, 0x1234, 7));  // answered inline
    REQUIRE(wire.sent.size() == 1);
    REQUIRE_FALSE(cap.close());

    std::vector<Tins::Packet> pkts;
    Tins::FileSniffer sniffer(file.path);
    for (Tins::Packet p = sniffer.next_packet(); p; p = sniffer.next_packet()) pkts.push_back(p);
    REQUIRE(pkts.size() == 2);

    const Tins::IP& req = pkts[0].pdu()->rfind_pdu<Tins::IP>();
    CHECK(req.src_addr() == Tins::IPv4Address("198.18.0.1"));
    CHECK(req.dst_addr() == Tins::IPv4Address("198.18.0.2"));
    const Tins::ICMP& req_icmp = req.rfind_pdu<Tins::ICMP>();
    CHECK(req_icmp.type() == Tins::ICMP::ECHO_REQUEST);
    CHECK(req_icmp.id() == 0x1234);
    CHECK(req_icmp.sequence() == 7);

    const Tins::IP& rep = pkts[1].pdu()->rfind_pdu<Tins::IP>();
    CHECK(rep.src_addr() == Tins::IPv4Address("198.18.0.2"));
    CHECK(rep.dst_addr() == Tins::IPv4Address("198.18.0.1"));
    CHECK(rep.ttl() == 64);
    const Tins::ICMP& rep_icmp = rep.rfind_pdu<Tins::ICMP>();
    CHECK(rep_icmp.type() == Tins::ICMP::ECHO_REPLY);
    CHECK(rep_icmp.id() == 0x1234);
    CHECK(rep_icmp.sequence() == 7);
    // libpcap hands libtins microseconds.
    CHECK(pkts[0].timestamp().seconds() == kT0 / kNsPerSec);
    CHECK(pkts[0].timestamp().microseconds() == (kT0 % kNsPerSec) / 1000);

    // Wireshark's dissectors, checksums included, if tshark is here to run them.
    if (run("command -v tshark >/dev/null 2>&1").first != 0) {
        WARN("tshark is not installed: its reading of the capture was skipped");
        return;
    }
    const std::string tshark = "tshark -n -o ip.check_checksum:TRUE -r " + file.path;
    const auto [listed, lines] = run(tshark + " 2>/dev/null");
    CHECK(listed == 0);
    INFO(lines);
    CHECK(std::count(lines.begin(), lines.end(), '\n') == 2);
    CHECK(lines.find("Echo (ping) request") != std::string::npos);
    CHECK(lines.find("Echo (ping) reply") != std::string::npos);
    const auto [filtered, bad] =
        run(tshark +
            " -Y '_ws.malformed || _ws.expert.severity >= error || ip.checksum.status == \"Bad\"'"
            " 2>/dev/null");
    CHECK(filtered == 0);
    CHECK(bad.empty());
}

TEST_CASE("capture on lo records each packet once as libpcap does", "[capture]") {
    const CaptureDirection dir =
        GENERATE(CaptureDirection::inout, CaptureDirection::in, CaptureDirection::out);
    VirtualClock clock;
    NetCoreConfig core;
    core.worker = WorkerKind::inline_;
    NetRx rx(core, clock);
    struct Counter final : PacketHandler {
        int received = 0;
        void receive(PacketPtr) override { ++received; }
    } handler;
    rx.add_pack(kEthPIp, &handler);
    LoopbackDevice lo;
    lo.set_rx_sink(&rx);
    {
        TempPcap file("lo");
        CaptureConfig cfg;
        cfg.direction = dir;
        Capture cap(lo, clock, cfg);
        REQUIRE_FALSE(cap.start_file(file.path));
        for (std::uint8_t i = 0; i < 3; ++i) send(lo, test::make_packet(pattern(40, i)));
        REQUIRE_FALSE(cap.close());
        CHECK(handler.received == 3);
        const PcapFile f = parse_pcap(read_all(file.path));
        REQUIRE(f.records.size() == 3);
        for (std::uint8_t i = 0; i < 3; ++i) CHECK(f.records[i].data == pattern(40, i));
    }
    // Gone, the capture leaves lo as it was.
    CHECK(lo.rx_sink() == &rx);
}

TEST_CASE("capture with a full ring drops and counts instead of blocking the stack", "[capture]") {
    // A sink that takes the global header, then blocks until the test opens it.
    struct Gate {
        std::mutex mu;
        std::condition_variable cv;
        bool open = false;
        int calls = 0;
        Bytes got;
    };
    auto gate = std::make_shared<Gate>();
    auto sink = std::make_unique<CallbackPcapSink>([gate](std::span<const std::uint8_t> bytes) {
        std::unique_lock lock(gate->mu);
        if (++gate->calls > 1) gate->cv.wait(lock, [&] { return gate->open; });
        gate->got.insert(gate->got.end(), bytes.begin(), bytes.end());
        return std::error_code{};
    });

    VirtualClock clock;
    WireDevice wire(2);
    CaptureConfig cfg;
    cfg.snaplen = 256;
    cfg.buffer_bytes = 1024;  // 8 records of 16 + 100 bytes
    Capture cap(wire, clock, cfg);
    REQUIRE_FALSE(cap.start(std::move(sink)));
    for (std::uint8_t i = 0; i < 20; ++i) send(wire, test::make_packet(pattern(100, i)));
    CHECK(wire.sent.size() == 20);  // the stack went on
    CaptureStats s = cap.stats();
    CHECK(s.received == 20);
    CHECK(s.captured == 8);
    CHECK(s.dropped == 12);

    {
        std::lock_guard lock(gate->mu);
        gate->open = true;
    }
    gate->cv.notify_all();
    cap.flush();
    // Room again: the next packet is captured.
    send(wire, test::make_packet(pattern(100, 50)));
    REQUIRE_FALSE(cap.close());
    s = cap.stats();
    CHECK(s.captured == 9);
    CHECK(s.dropped == 12);
    CHECK(cap.stats_text() ==
          "9 packets captured\n21 packets received by filter\n12 packets dropped by kernel\n");
    const PcapFile f = parse_pcap(gate->got);
    REQUIRE(f.records.size() == 9);
    for (std::uint8_t i = 0; i < 8; ++i) CHECK(f.records[i].data == pattern(100, i));
    CHECK(f.records[8].data == pattern(100, 50));
}

TEST_CASE("capture -c N stops after N packets", "[capture]") {
    VirtualClock clock;
    WireDevice wire(2);
    TempPcap file("count");
    CaptureConfig cfg;
    cfg.count = 3;
    Capture cap(wire, clock, cfg);
    REQUIRE_FALSE(cap.start_file(file.path));
    for (std::uint8_t i = 0; i < 10; ++i) {
        CHECK(cap.done() == (i >= 3));
        send(wire, test::make_packet(pattern(50, i)));
    }
    CHECK(cap.done());
    cap.flush();
    const PcapFile f = parse_pcap(read_all(file.path));
    REQUIRE(f.records.size() == 3);
    for (std::uint8_t i = 0; i < 3; ++i) CHECK(f.records[i].data == pattern(50, i));
    CHECK(cap.stats().captured == 3);
    CHECK(cap.stats().received == 3);
    CHECK(cap.stats().dropped == 0);
    CHECK(wire.sent.size() == 10);
}

TEST_CASE("capture streams to a socket and stops cleanly when the reader goes away", "[capture]") {
    VirtualClock clock(kT0);
    WireDevice wire(2);
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);

    SECTION("a reader gets the whole stream") {
        Capture cap(wire, clock);
        REQUIRE_FALSE(cap.start(std::make_unique<FdPcapSink>(fds[0], true)));
        send(wire, test::make_packet(pattern(30, 1)));
        send(wire, test::make_packet(pattern(31, 2)));
        REQUIRE_FALSE(cap.close());  // closes our end: the reader sees EOF
        Bytes got;
        std::uint8_t buf[4096];
        for (ssize_t n; (n = ::read(fds[1], buf, sizeof buf)) > 0;)
            got.insert(got.end(), buf, buf + n);
        const PcapFile f = parse_pcap(got);
        REQUIRE(f.records.size() == 2);
        CHECK(f.records[0].data == pattern(30, 1));
        CHECK(f.records[1].data == pattern(31, 2));
    }
    SECTION("a reader that hangs up ends the capture, not the program") {
        Capture cap(wire, clock);
        REQUIRE_FALSE(cap.start(std::make_unique<FdPcapSink>(fds[0], true)));
        ::close(fds[1]);
        fds[1] = -1;
        send(wire, test::make_packet(pattern(30, 1)));
        cap.flush();
        CHECK(cap.error() == std::errc::broken_pipe);  // EPIPE, and no SIGPIPE
        send(wire, test::make_packet(pattern(30, 2)));
        CHECK(cap.stats().captured == 1);
        CHECK(wire.sent.size() == 2);
        CHECK(cap.close() == std::errc::broken_pipe);
    }
    if (fds[1] >= 0) ::close(fds[1]);
}

TEST_CASE("capture refuses a ring too small for one record and a second start", "[capture]") {
    VirtualClock clock;
    WireDevice wire(2);
    CaptureConfig cfg;
    cfg.snaplen = 1000;
    cfg.buffer_bytes = 1000;
    Capture small(wire, clock, cfg);
    auto discard = [] {
        return std::make_unique<CallbackPcapSink>(
            [](std::span<const std::uint8_t>) { return std::error_code{}; });
    };
    CHECK(small.start(discard()) == std::errc::invalid_argument);
    CHECK(small.start(nullptr) == std::errc::invalid_argument);

    Capture cap(wire, clock);
    REQUIRE_FALSE(cap.start(discard()));
    CHECK(cap.start(discard()) == std::errc::device_or_resource_busy);
    CHECK(cap.start_file("/nonexistent-dir/x.pcap") == std::errc::device_or_resource_busy);
    REQUIRE_FALSE(cap.close());
    CHECK(cap.start_file("/nonexistent-dir/x.pcap") == std::errc::no_such_file_or_directory);
}

TEST_CASE("capture on the real clock stamps packets with the time of day", "[capture]") {
    WireDevice wire(2);
    Bytes got;
    Capture cap(wire, MonotonicClock::instance());
    REQUIRE_FALSE(
        cap.start(std::make_unique<CallbackPcapSink>([&](std::span<const std::uint8_t> b) {
            got.insert(got.end(), b.begin(), b.end());
            return std::error_code{};
        })));
    timespec before{}, after{};
    clock_gettime(CLOCK_REALTIME, &before);
    send(wire, test::make_packet(pattern(20, 0)));
    clock_gettime(CLOCK_REALTIME, &after);
    REQUIRE_FALSE(cap.close());
    const PcapFile f = parse_pcap(got);
    REQUIRE(f.records.size() == 1);
    const Nanos ts = Nanos{f.records[0].sec} * kNsPerSec + f.records[0].frac;
    // Within a millisecond of the wall clock around it (the two clocks are read apart).
    CHECK(ts >= Nanos{before.tv_sec} * kNsPerSec + before.tv_nsec - kNsPerMs);
    CHECK(ts <= Nanos{after.tv_sec} * kNsPerSec + after.tv_nsec + kNsPerMs);
}

TEST_CASE("PcapWriter writes the same format synchronously", "[capture]") {
    Bytes got;
    CallbackPcapSink sink([&](std::span<const std::uint8_t> b) {
        got.insert(got.end(), b.begin(), b.end());
        return std::error_code{};
    });
    PcapWriter writer(sink, 100, pcap::kLinktypeRaw, false);
    REQUIRE_FALSE(writer.write_header());
    const Bytes pkt = pattern(150, 4);
    REQUIRE_FALSE(writer.write_packet(3 * kNsPerSec + 999'999'999, pkt));
    const PcapFile f = parse_pcap(got);
    CHECK(f.magic == 0xa1b2c3d4u);
    CHECK(f.snaplen == 100);
    REQUIRE(f.records.size() == 1);
    CHECK(f.records[0].sec == 3);
    CHECK(f.records[0].frac == 999'999);
    CHECK(f.records[0].caplen == 100);
    CHECK(f.records[0].len == 150);
}
