#include "stack/wire/udp.hpp"

#include "stack/wire/checksum.hpp"
#include "stack/wire/tcp.hpp"

namespace vlo::wire {

UdpView::Error UdpView::check(std::span<const std::uint8_t> data) {
    if (data.size() < kUdpHeader) return Error::truncated;
    const std::size_t len = load16(&data[4]);
    if (len < kUdpHeader || len > data.size()) return Error::bad_length;
    return Error::none;
}

void UdpRepr::emit(std::span<std::uint8_t> header, std::uint16_t check) const {
    store16(&header[0], src_port);
    store16(&header[2], dst_port);
    store16(&header[4], static_cast<std::uint16_t>(buffer_len()));
    store16(&header[6], check);
}

std::uint16_t udp_pseudo_header_sum(Ipv4Address src, Ipv4Address dst, std::size_t udp_len) {
    const std::uint64_t sum = std::uint64_t{src.value} + dst.value + kIpProtoUdp + udp_len;
    return static_cast<std::uint16_t>(~checksum_fold(sum));
}

std::uint16_t udp_checksum(Ipv4Address src, Ipv4Address dst,
                           std::span<const std::uint8_t> datagram) {
    const std::uint16_t sum = tcp_checksum(src, dst, datagram, kIpProtoUdp);
    return sum == 0 ? 0xffff : sum;
}

bool udp_checksum_valid(Ipv4Address src, Ipv4Address dst, std::span<const std::uint8_t> datagram) {
    if (datagram.size() < kUdpHeader) return false;
    if (load16(&datagram[6]) == 0) return true;
    return tcp_checksum(src, dst, datagram, kIpProtoUdp) == 0;
}

}  // namespace vlo::wire
