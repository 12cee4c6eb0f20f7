#include "stack/wire/ipv4.hpp"

#include "stack/wire/checksum.hpp"

namespace vlo::wire {

namespace {
// ip_options_compile's walk, reduced to what keeps parsing safe: every option's length must
// be at least 2 and stay inside the header. EOL ends the list; NOP is one byte.
bool options_well_formed(std::span<const std::uint8_t> opts) {
    std::size_t i = 0;
    while (i < opts.size()) {
        const std::uint8_t type = opts[i];
        if (type == 0) return true;  // IPOPT_END
        if (type == 1) {             // IPOPT_NOOP
            ++i;
            continue;
        }
        if (i + 1 >= opts.size()) return false;
        const std::uint8_t len = opts[i + 1];
        if (len < 2 || len > opts.size() - i) return false;
        i += len;
    }
    return true;
}
}  // namespace

Ipv4Error Ipv4View::check(std::span<const std::uint8_t> data) {
    if (data.size() < kIpv4MinHeader) return Ipv4Error::truncated;
    const std::size_t ihl = std::size_t{data[0] & 0x0fu} * 4;
    if ((data[0] >> 4) != 4) return Ipv4Error::bad_version;
    if (ihl < kIpv4MinHeader || ihl > data.size()) return Ipv4Error::bad_ihl;
    if (wire::checksum(data.first(ihl)) != 0) return Ipv4Error::bad_checksum;
    const std::size_t total = load16(data.data() + 2);
    if (total > data.size()) return Ipv4Error::truncated_pkt;
    if (total < ihl) return Ipv4Error::bad_total_len;
    if (!options_well_formed(data.subspan(kIpv4MinHeader, ihl - kIpv4MinHeader)))
        return Ipv4Error::bad_options;
    return Ipv4Error::none;
}

Ipv4Repr Ipv4Repr::parse(const Ipv4View& v) {
    return Ipv4Repr{v.src(), v.dst(), v.protocol(), v.ttl(), v.tos(), v.id(), v.dont_fragment(),
                    v.total_len() - v.header_len()};
}

void Ipv4Repr::emit(std::span<std::uint8_t> h) const {
    h[0] = 0x45;
    h[1] = tos;
    store16(&h[2], static_cast<std::uint16_t>(kIpv4MinHeader + payload_len));
    store16(&h[4], id);
    store16(&h[6], dont_fragment ? kIpDf : 0);
    h[8] = ttl;
    h[9] = protocol;
    store16(&h[10], 0);
    store32(&h[12], src.value);
    store32(&h[16], dst.value);
    store16(&h[10], wire::checksum(h.first(kIpv4MinHeader)));
}

}  // namespace vlo::wire
