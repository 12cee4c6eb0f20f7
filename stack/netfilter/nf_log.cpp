#include "stack/netfilter/nf_log.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "stack/wire/bytes.hpp"

namespace vlo::nf {

namespace {

// nf_log_buf: appends while there is room, silently cut beyond.
class LineBuf {
  public:
    explicit LineBuf(std::span<char, kLogLineMax> out) : out_(out) {}
    void add(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
        if (len_ + 1 >= out_.size()) return;
        va_list ap;
        va_start(ap, fmt);
        const int n = std::vsnprintf(out_.data() + len_, out_.size() - len_, fmt, ap);
        va_end(ap);
        if (n > 0) len_ = std::min(len_ + static_cast<std::size_t>(n), out_.size() - 1);
    }
    std::size_t len() const { return len_; }

  private:
    std::span<char, kLogLineMax> out_;
    std::size_t len_ = 0;
};

constexpr std::uint8_t kIpProtoIcmp = 1, kIpProtoTcp = 6, kIpProtoUdp = 17;
constexpr std::uint8_t kNrIcmpTypes = 18;

// nf_log_dump_tcp_header; returns false when the line ends here.
bool dump_tcp(LineBuf& m, std::span<const std::uint8_t> skb, bool fragment, std::size_t off,
              std::uint8_t flags) {
    m.add("PROTO=TCP ");
    if (fragment) return true;
    if (skb.size() < off + 20) {
        m.add("INCOMPLETE [%zu bytes] ", skb.size() - std::min(off, skb.size()));
        return false;
    }
    const std::uint8_t* th = skb.data() + off;
    m.add("SPT=%u DPT=%u ", wire::load16(th), wire::load16(th + 2));
    if (flags & 0x01) m.add("SEQ=%u ACK=%u ", wire::load32(th + 4), wire::load32(th + 8));
    m.add("WINDOW=%u ", wire::load16(th + 14));
    const std::uint32_t word = wire::load32(th + 12);
    m.add("RES=0x%02x ", static_cast<unsigned>((word & 0x0E000000u) >> 22));  // TCP_RESERVED_BITS
    if (word & 0x01000000u) m.add("AE ");
    static constexpr std::pair<std::uint8_t, const char*> kFlags[] = {
        {0x80, "CWR"}, {0x40, "ECE"}, {0x20, "URG"}, {0x10, "ACK"},
        {0x08, "PSH"}, {0x04, "RST"}, {0x02, "SYN"}, {0x01, "FIN"}};
    for (const auto& [bit, name] : kFlags)
        if (th[13] & bit) m.add("%s ", name);
    m.add("URGP=%u ", wire::load16(th + 18));
    const std::size_t doff = static_cast<std::size_t>(th[12] >> 4) * 4;
    if ((flags & 0x02) && doff > 20) {
        if (skb.size() < off + doff) {
            m.add("OPT (TRUNCATED)");
            return false;
        }
        m.add("OPT (");
        for (std::size_t i = 20; i < doff; ++i) m.add("%02X", th[i]);
        m.add(") ");
    }
    return true;
}

// dump_ipv4_packet: `iphoff` 0 for the packet, or where the datagram an ICMP error quotes starts.
void dump_ipv4(LineBuf& m, std::span<const std::uint8_t> skb, std::size_t iphoff,
               std::uint8_t flags) {
    if (skb.size() < iphoff + 20) {
        m.add("TRUNCATED");
        return;
    }
    const std::uint8_t* ih = skb.data() + iphoff;
    const std::size_t ihl = static_cast<std::size_t>(ih[0] & 0x0f) * 4;
    const std::uint16_t frag = wire::load16(ih + 6);
    m.add("SRC=%u.%u.%u.%u DST=%u.%u.%u.%u ", ih[12], ih[13], ih[14], ih[15], ih[16], ih[17],
          ih[18], ih[19]);
    m.add("LEN=%u TOS=0x%02X PREC=0x%02X TTL=%u ID=%u ", wire::load16(ih + 2), ih[1] & 0x1e,
          ih[1] & 0xe0, ih[8], wire::load16(ih + 4));
    if (frag & 0x8000) m.add("CE ");
    if (frag & 0x4000) m.add("DF ");
    if (frag & 0x2000) m.add("MF ");
    if (frag & 0x1fff) m.add("FRAG:%u ", frag & 0x1fff);
    if ((flags & 0x04) && ihl > 20) {
        if (skb.size() < iphoff + ihl) {
            m.add("TRUNCATED");
            return;
        }
        m.add("OPT (");
        for (std::size_t i = 20; i < ihl; ++i) m.add("%02X", ih[i]);
        m.add(") ");
    }
    const std::size_t thoff = iphoff + ihl;
    const bool fragment = (frag & 0x1fff) != 0;
    const auto remaining = [&] { return skb.size() - std::min(thoff, skb.size()); };
    switch (ih[9]) {
        case kIpProtoTcp:
            if (!dump_tcp(m, skb, fragment, thoff, flags)) return;
            break;
        case kIpProtoUdp:
            m.add("PROTO=UDP ");
            if (fragment) break;
            if (remaining() < 8) {
                m.add("INCOMPLETE [%zu bytes] ", remaining());
                return;
            }
            m.add("SPT=%u DPT=%u LEN=%u ", wire::load16(skb.data() + thoff),
                  wire::load16(skb.data() + thoff + 2), wire::load16(skb.data() + thoff + 4));
            break;
        case kIpProtoIcmp: {
            // required_len: what each type must carry before its fields are printed.
            static constexpr std::uint8_t kRequired[kNrIcmpTypes + 1] = {
                4, 0, 0, 28, 28, 28, 0, 0, 4, 0, 0, 28, 28, 20, 20, 0, 0, 12, 12};
            m.add("PROTO=ICMP ");
            if (fragment) break;
            if (remaining() < 8) {
                m.add("INCOMPLETE [%zu bytes] ", remaining());
                break;
            }
            const std::uint8_t* ich = skb.data() + thoff;
            m.add("TYPE=%u CODE=%u ", ich[0], ich[1]);
            if (ich[0] <= kNrIcmpTypes && kRequired[ich[0]] && remaining() < kRequired[ich[0]]) {
                m.add("INCOMPLETE [%zu bytes] ", remaining());
                break;
            }
            switch (ich[0]) {
                case 0:
                case 8:
                    m.add("ID=%u SEQ=%u ", wire::load16(ich + 4), wire::load16(ich + 6));
                    break;
                case 12:
                    m.add("PARAMETER=%u ", ich[4]);
                    break;
                case 5:
                    m.add("GATEWAY=%u.%u.%u.%u ", ich[4], ich[5], ich[6], ich[7]);
                    [[fallthrough]];
                case 3:
                case 4:
                case 11:
                    if (iphoff == 0) {  // only recurse once
                        m.add("[");
                        dump_ipv4(m, skb, thoff + 8, flags);
                        m.add("] ");
                    }
                    if (ich[0] == 3 && ich[1] == 4) m.add("MTU=%u ", wire::load16(ich + 6));
                    break;
                default:
                    break;
            }
            break;
        }
        default:
            m.add("PROTO=%u ", ih[9]);
            break;
    }
}

}  // namespace

std::size_t format_log_line(std::span<char, kLogLineMax> out, std::string_view prefix,
                            const Device* in, const Device* out_dev,
                            std::span<const std::uint8_t> datagram, std::uint8_t logflags) {
    LineBuf m(out);
    // nf_log_dump_packet_common
    m.add("%.*sIN=%s OUT=%s ", static_cast<int>(prefix.size()), prefix.data(),
          in ? in->name().c_str() : "", out_dev ? out_dev->name().c_str() : "");
    if (in) {
        // dump_mac_header: lo has an all-zero Ethernet header (type 0800) in front of the IP
        // header; a device without a link header (TUN) prints nothing after MAC=.
        m.add("MAC=");
        if (in->is_loopback()) m.add("00:00:00:00:00:00:00:00:00:00:00:00:08:00");
        m.add(" ");
    }
    dump_ipv4(m, datagram, 0, logflags);
    return m.len();
}

LogRing::LogRing() : slots_(kCapacity) {}

void LogRing::push(int level, std::string_view line) {
    std::lock_guard lock(mu_);
    Slot& s = slots_[next_];
    s.level = level;
    s.len = static_cast<std::uint16_t>(std::min(line.size(), kLogLineMax));
    std::memcpy(s.text, line.data(), s.len);
    next_ = (next_ + 1) % kCapacity;
    ++total_;
    if (callback_) callback_(level, line);
}

std::vector<LogEntry> LogRing::entries() const {
    std::lock_guard lock(mu_);
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(total_, kCapacity));
    std::vector<LogEntry> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const Slot& s = slots_[(next_ + kCapacity - n + i) % kCapacity];
        out.push_back({s.level, std::string(s.text, s.len)});
    }
    return out;
}

std::uint64_t LogRing::overwritten() const {
    std::lock_guard lock(mu_);
    return total_ > kCapacity ? total_ - kCapacity : 0;
}

void LogRing::set_callback(std::function<void(int, std::string_view)> fn) {
    std::lock_guard lock(mu_);
    callback_ = std::move(fn);
}

}  // namespace vlo::nf
