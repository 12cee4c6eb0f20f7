#include "stack/wire/tcp.hpp"

#include <algorithm>

#include "stack/wire/checksum.hpp"

namespace vlo::wire {

namespace {
enum : std::uint8_t { kOptEol = 0, kOptNop = 1, kOptMss = 2, kOptWscale = 3, kOptSackPerm = 4, kOptSack = 5, kOptTs = 8 };
}

TcpView::Error TcpView::check(std::span<const std::uint8_t> data) {
    if (data.size() < kTcpMinHeader) return Error::truncated;
    const std::size_t off = static_cast<std::size_t>(data[12] >> 4) * 4;
    if (off < kTcpMinHeader || off > data.size()) return Error::bad_offset;
    // Every option's length must be sane and stay inside the header (tcp_parse_options).
    const auto opts = data.subspan(kTcpMinHeader, off - kTcpMinHeader);
    for (std::size_t i = 0; i < opts.size();) {
        const std::uint8_t kind = opts[i];
        if (kind == kOptEol) break;
        if (kind == kOptNop) {
            ++i;
            continue;
        }
        if (i + 1 >= opts.size()) return Error::bad_options;
        const std::uint8_t len = opts[i + 1];
        if (len < 2 || len > opts.size() - i) return Error::bad_options;
        i += len;
    }
    return Error::none;
}

TcpOptions TcpView::options() const {
    TcpOptions o;
    const auto opts = d_.subspan(kTcpMinHeader, header_len() - kTcpMinHeader);
    for (std::size_t i = 0; i < opts.size();) {
        const std::uint8_t kind = opts[i];
        if (kind == kOptEol) break;
        if (kind == kOptNop) {
            ++i;
            continue;
        }
        const std::uint8_t len = opts[i + 1];  // check() vouched for it
        const std::uint8_t* v = &opts[i + 2];
        if (kind == kOptMss && len == 4) o.mss = load16(v);
        if (kind == kOptWscale && len == 3) o.wscale = std::min<std::uint8_t>(v[0], 14);  // RFC 7323 2.3
        if (kind == kOptSackPerm && len == 2) o.sack_permitted = true;
        if (kind == kOptTs && len == 10) o.timestamp = std::pair{load32(v), load32(v + 4)};
        // tcp_parse_options: a SACK option of 2 + 8n bytes, n at least 1.
        if (kind == kOptSack && len >= 10 && (len - 2) % 8 == 0) {
            o.num_sack = static_cast<std::uint8_t>(std::min<std::size_t>((len - 2) / 8, o.sack.size()));
            for (std::size_t b = 0; b < o.num_sack; ++b) o.sack[b] = {load32(v + 8 * b), load32(v + 8 * b + 4)};
        }
        i += len;
    }
    return o;
}

TcpRepr TcpRepr::parse(const TcpView& v) {
    return TcpRepr{v.src_port(), v.dst_port(), v.seq(), v.ack(), v.flags(), v.window(), v.options()};
}

std::size_t TcpRepr::options_len() const {
    std::size_t n = 0;
    if (options.mss) n += 4;
    if (options.timestamp)
        n += 12;  // (SACK_PERM | NOP NOP) + TS
    else if (options.sack_permitted)
        n += 4;   // NOP NOP SACK_PERM
    if (options.wscale) n += 4;
    if (options.num_sack) n += 4 + 8u * options.num_sack;  // NOP NOP SACK len blocks
    return n;
}

void TcpRepr::emit(std::span<std::uint8_t> out) const {
    store16(&out[0], src_port);
    store16(&out[2], dst_port);
    store32(&out[4], seq);
    store32(&out[8], ack);
    out[12] = static_cast<std::uint8_t>((header_len() / 4) << 4);
    out[13] = flags;
    store16(&out[14], window);
    store16(&out[16], 0);
    store16(&out[18], 0);
    std::uint8_t* p = &out[kTcpMinHeader];
    if (options.mss) {
        p[0] = kOptMss;
        p[1] = 4;
        store16(p + 2, *options.mss);
        p += 4;
    }
    if (options.timestamp) {
        if (options.sack_permitted) {
            p[0] = kOptSackPerm;
            p[1] = 2;
        } else {
            p[0] = p[1] = kOptNop;
        }
        p[2] = kOptTs;
        p[3] = 10;
        store32(p + 4, options.timestamp->first);
        store32(p + 8, options.timestamp->second);
        p += 12;
    } else if (options.sack_permitted) {
        p[0] = p[1] = kOptNop;
        p[2] = kOptSackPerm;
        p[3] = 2;
        p += 4;
    }
    if (options.wscale) {
        p[0] = kOptNop;
        p[1] = kOptWscale;
        p[2] = 3;
        p[3] = *options.wscale;
        p += 4;
    }
    if (options.num_sack) {
        p[0] = p[1] = kOptNop;
        p[2] = kOptSack;
        p[3] = static_cast<std::uint8_t>(2 + 8 * options.num_sack);
        for (std::size_t b = 0; b < options.num_sack; ++b) {
            store32(p + 4 + 8 * b, options.sack[b].start);
            store32(p + 8 + 8 * b, options.sack[b].end);
        }
    }
}

std::uint16_t tcp_checksum(Ipv4Address src, Ipv4Address dst, std::span<const std::uint8_t> segment,
                           std::uint8_t protocol) {
    std::uint64_t sum = std::uint64_t{src.value} + dst.value + protocol + segment.size();
    return checksum_fold(checksum_partial(segment, sum));
}

}  // namespace vlo::wire
