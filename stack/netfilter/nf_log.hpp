// The LOG target's output: the line the kernel's nf_log_ip_packet (net/netfilter/
// nf_log_syslog.c) writes, "IN=lo OUT= MAC=... SRC=127.0.0.1 DST=127.0.0.1 LEN=84 TOS=0x00
// PREC=0x00 TTL=64 ID=1 DF PROTO=ICMP TYPE=8 CODE=0 ID=7 SEQ=1 ", and a bounded ring that keeps
// the latest lines as the kernel's log buffer does (oldest overwritten).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "netif/device.hpp"

namespace vlo::nf {

// NF_LOG_BUFSIZE-like: a line never exceeds this (the kernel's nf_log_buf is 1 KiB).
constexpr std::size_t kLogLineMax = 1024;

// Writes the line for `datagram` (from its IP header) into `out` and returns its length.
// `logflags` are LogOptions' XT_LOG_* bits.
std::size_t format_log_line(std::span<char, kLogLineMax> out, std::string_view prefix,
                            const Device* in, const Device* out_dev,
                            std::span<const std::uint8_t> datagram, std::uint8_t logflags);

struct LogEntry {
    int level;  // syslog level, 0 (emerg) .. 7 (debug)
    std::string text;
};

class LogRing {
  public:
    static constexpr std::size_t kCapacity = 256;
    LogRing();
    void push(int level, std::string_view line);
    std::vector<LogEntry> entries() const;  // oldest first
    std::uint64_t overwritten() const;
    // Also hands every line to `fn` (from the packet's context: it must not call back into
    // the stack). Empty: lines only go to the ring.
    void set_callback(std::function<void(int, std::string_view)> fn);

  private:
    struct Slot {
        int level = 0;
        std::uint16_t len = 0;
        char text[kLogLineMax];
    };
    mutable std::mutex mu_;
    std::vector<Slot> slots_;  // allocated once
    std::size_t next_ = 0;
    std::uint64_t total_ = 0;
    std::function<void(int, std::string_view)> callback_;
};

}  // namespace vlo::nf
