// tcpdump on a device, as an AF_PACKET socket is: a tap on the device's ptype_all (dev_xmit.hpp)
// that sees every packet the device transmits (dev_queue_xmit_nit, after the qdisc, as it goes
// to the driver) and receives (__netif_receive_skb, before the protocol), in the order Linux's
// AF_PACKET sees them. Each is copied into a bounded ring, and a writer thread turns the ring
// into a pcap stream (a file, a socket, a callback). The stack never waits for the writer: when
// the ring is full the packet goes on uncaptured and counts as a capture drop, as packets the
// kernel's capture buffer had no room for count in tcpdump's "dropped by kernel" (a traced
// packet's copy ends its trace with PACKET_SOCK_ERROR).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "netif/clock.hpp"
#include "netif/dev_xmit.hpp"
#include "netif/device.hpp"
#include "netif/pcap_writer.hpp"

namespace vlo {

// tcpdump -Q: which packets to record.
enum class CaptureDirection : std::uint8_t { inout, in, out };

struct CaptureConfig {
    // -s: bytes kept of each packet; 0 means the default, 262144.
    std::uint32_t snaplen = pcap::kMaxSnaplen;
    // -B: the ring between the stack and the writer, in bytes (libpcap's default buffer is
    // 2 MiB). Each packet takes a 16-byte record header plus its captured bytes.
    std::size_t buffer_bytes = 2 * 1024 * 1024;
    // -c: stop after this many packets; 0: never.
    std::uint64_t count = 0;
    // -Q. With inout on a loopback device, what it transmits is not recorded, only what it
    // receives, which is the same packet: libpcap drops lo's outgoing copies for this reason
    // (linux_check_direction), so each packet shows up once, as in `tcpdump -i lo`.
    CaptureDirection direction = CaptureDirection::inout;
    // --time-stamp-precision=nano (the 0xa1b23c4d magic); false for µs (0xa1b2c3d4).
    bool nanosecond = true;
};

// The counters tcpdump prints when it stops.
struct CaptureStats {
    std::uint64_t received = 0;       // "received by filter": seen going the chosen way
    std::uint64_t captured = 0;       // "captured": in the ring, so written by flush()
    std::uint64_t dropped = 0;        // "dropped by kernel": the ring had no room
    std::uint64_t bytes_written = 0;  // pcap bytes the sink took, headers included
};

class Capture final : public PacketTap {
  public:
    // Taps `dev` at once (dev_add_pack); records nothing until start().
    Capture(Device& dev, const Clock& clock, const CaptureConfig& config = {});
    ~Capture() override;  // close(), and the tap leaves the device
    Capture(const Capture&) = delete;
    Capture& operator=(const Capture&) = delete;
    Device& dev() const { return dev_; }

    // Writes the pcap global header to `sink` and starts the writer thread. Errors:
    // invalid_argument if the ring cannot hold one whole record (buffer_bytes < 16 + snaplen),
    // device_or_resource_busy if already started, or the sink's own on the header.
    std::error_code start(std::unique_ptr<PcapSink> sink);
    // The same with -c for this capture only (0: until close()), for a device captured again
    // and again at run time by different clients (vlod's capture command).
    std::error_code start(std::unique_ptr<PcapSink> sink, std::uint64_t count);
    // `tcpdump -w FILE`.
    std::error_code start_file(const std::string& path);

    // Returns once everything captured so far has been handed to the sink (or the sink failed).
    void flush();
    // flush(), stop the writer and let the sink go (closing a file it owns). Afterwards packets
    // pass uncaptured. Returns the sink's error, if it had one. Idempotent.
    std::error_code close();

    bool done() const;     // -c packets have been captured
    bool running() const;  // started and not yet closed
    std::error_code error() const;
    CaptureStats stats() const;
    // tcpdump's closing lines: "3 packets captured\n3 packets received by filter\n0 packets
    // dropped by kernel\n".
    std::string stats_text() const;

    // packet_rcv: the tap's entry, from the packet path.
    void tap(const Packet& pkt, const Device& dev, TapDirection dir) override;

  private:
    // Under control_mu_.
    std::error_code start_locked(std::unique_ptr<PcapSink> sink, std::uint64_t count);
    void record(const Packet& pkt);
    void copy_in(const std::uint8_t* src, std::size_t n);  // at write_pos_, wrapping
    void writer_main();
    bool records_out() const;
    bool records_in() const { return config_.direction != CaptureDirection::out; }

    Device& dev_;
    const Clock& clock_;
    CaptureConfig config_;
    Nanos epoch_offset_ = 0;  // added to the clock for pcap's since-the-epoch timestamps

    std::atomic<bool> capturing_{false};  // checked before taking the lock
    std::mutex control_mu_;               // one start() or close() at a time
    mutable std::mutex mu_;
    std::condition_variable work_;     // the writer waits for bytes
    std::condition_variable drained_;  // flush() waits for the ring to empty
    std::vector<std::uint8_t> ring_;   // allocated once by start(): the hot path allocates nothing
    std::size_t write_pos_ = 0;        // guarded by mu_, as are the fields below
    std::size_t read_pos_ = 0;
    std::size_t used_ = 0;
    bool writer_waiting_ = false;
    bool stopping_ = false;
    bool started_ = false;
    std::error_code error_;
    CaptureStats stats_;
    std::uint64_t count_ = 0;  // -c of the running capture
    std::unique_ptr<PcapSink> sink_;
    std::thread writer_;
};

}  // namespace vlo
