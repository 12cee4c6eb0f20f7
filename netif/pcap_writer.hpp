// The classic libpcap file format (pcap-savefile(5), draft-ietf-opsawg-pcap): a 24-byte global
// header, then per packet a 16-byte record header and the captured bytes, all in the writer's
// byte order (readers tell it from the magic). And where such a stream goes: a file, any file
// descriptor (a socket streaming a capture), or a callback.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <system_error>

#include "netif/clock.hpp"

namespace vlo {

namespace pcap {
constexpr std::uint32_t kMagicMicro = 0xa1b2c3d4;  // timestamps in µs
constexpr std::uint32_t kMagicNano = 0xa1b23c4d;   // timestamps in ns
constexpr std::uint16_t kVersionMajor = 2;
constexpr std::uint16_t kVersionMinor = 4;
// LINKTYPE_RAW: each packet starts with its IPv4 (or IPv6) header, no link header, which is
// what vlo's devices carry. (Linux's lo shows LINKTYPE_ETHERNET with zero MACs instead.)
constexpr std::uint32_t kLinktypeRaw = 101;
constexpr std::uint32_t kMaxSnaplen = 262144;  // tcpdump's MAXIMUM_SNAPLEN, its default -s
constexpr std::size_t kGlobalHeaderLen = 24;
constexpr std::size_t kRecordHeaderLen = 16;

using GlobalHeader = std::array<std::uint8_t, kGlobalHeaderLen>;
using RecordHeader = std::array<std::uint8_t, kRecordHeaderLen>;

GlobalHeader global_header(std::uint32_t snaplen, std::uint32_t linktype, bool nanosecond);
// ts is the time since the epoch; caplen bytes follow of a packet that was len long.
RecordHeader record_header(Nanos ts, std::uint32_t caplen, std::uint32_t len, bool nanosecond);
}  // namespace pcap

// Where pcap bytes go. write() takes all of `bytes` or fails.
class PcapSink {
public:
    virtual ~PcapSink() = default;
    virtual std::error_code write(std::span<const std::uint8_t> bytes) = 0;
};

// A file descriptor: a file, a pipe, a connected socket. Short writes are continued and EINTR
// retried; a peer that went away is an error (EPIPE), not a signal (MSG_NOSIGNAL on sockets).
class FdPcapSink final : public PcapSink {
public:
    FdPcapSink(int fd, bool owned);
    ~FdPcapSink() override;
    FdPcapSink(const FdPcapSink&) = delete;
    FdPcapSink& operator=(const FdPcapSink&) = delete;

    // Creates (or truncates) `path`, mode 0644 as tcpdump -w leaves it.
    static std::unique_ptr<FdPcapSink> create_file(const std::string& path, std::error_code& ec);

    std::error_code write(std::span<const std::uint8_t> bytes) override;
    int fd() const { return fd_; }

private:
    int fd_;
    bool owned_;
    bool socket_;  // send(MSG_NOSIGNAL) rather than write(2)
};

// Anything else: the bytes are handed to `fn`, which returns an error to stop the capture.
class CallbackPcapSink final : public PcapSink {
public:
    using Fn = std::function<std::error_code(std::span<const std::uint8_t>)>;
    explicit CallbackPcapSink(Fn fn) : fn_(std::move(fn)) {}
    std::error_code write(std::span<const std::uint8_t> bytes) override { return fn_(bytes); }

private:
    Fn fn_;
};

// Writes a pcap stream synchronously, for packets already in hand (tools, tests). The capture
// tap (capture.hpp) is the one to put on a device: it never makes the stack wait.
class PcapWriter {
public:
    PcapWriter(PcapSink& sink, std::uint32_t snaplen = pcap::kMaxSnaplen,
               std::uint32_t linktype = pcap::kLinktypeRaw, bool nanosecond = true)
        : sink_(sink), snaplen_(snaplen), linktype_(linktype), nanosecond_(nanosecond) {}

    std::error_code write_header();
    // One record: at most snaplen bytes of `packet`, stamped `ts` (since the epoch).
    std::error_code write_packet(Nanos ts, std::span<const std::uint8_t> packet);

private:
    PcapSink& sink_;
    std::uint32_t snaplen_;
    std::uint32_t linktype_;
    bool nanosecond_;
};

}  // namespace vlo
