#include "stack/wire/icmp.hpp"

#include <cstring>

#include "stack/wire/checksum.hpp"

namespace vlo::wire {

IcmpView::Error IcmpView::check(std::span<const std::uint8_t> data) {
    if (data.size() < kIcmpHeader) return Error::truncated;
    if (wire::checksum(data) != 0) return Error::bad_checksum;
    return Error::none;
}

void IcmpRepr::emit(std::span<std::uint8_t> out) const {
    out[0] = type;
    out[1] = code;
    store16(&out[2], 0);
    store32(&out[4], rest_of_header);
    if (!data.empty() && data.data() != out.data() + kIcmpHeader)
        std::memmove(out.data() + kIcmpHeader, data.data(), data.size());
    store16(&out[2], wire::checksum(out.first(buffer_len())));
}

}  // namespace vlo::wire
