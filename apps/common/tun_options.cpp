#include "apps/common/tun_options.hpp"

#include <charconv>

#include "netif/tun_device.hpp"

namespace vlo::apps {

std::optional<std::string> TunOptions::apply(int opt, const char* arg) {
    const std::string_view value(arg ? arg : "");
    auto bad = [&](const char* name, const char* expected) {
        return std::string("invalid --") + name + ": '" + std::string(value) + "' (" + expected + ")";
    };
    switch (opt) {
        case kOptTun:
            if (value.empty() || value.size() > 15 || value.find('/') != std::string_view::npos)
                return bad("tun", "an interface name of 1 to 15 characters");
            name = value;
            return std::nullopt;
        case kOptAddr: {
            auto cidr = Ipv4Cidr::parse(value);
            if (!cidr || value.find('/') == std::string_view::npos || cidr->prefix_len > 30 ||
                cidr->address.is_loopback() || cidr->address.is_multicast() || cidr->address.is_unspecified())
                return bad("addr", "A.B.C.D/LEN, not 127/8, LEN at most 30");
            addr = *cidr;
            return std::nullopt;
        }
        case kOptKernelAddr: {
            auto a = Ipv4Address::parse(value);
            if (!a || a->is_loopback() || a->is_multicast() || a->is_unspecified())
                return bad("kernel-addr", "a unicast IPv4 address, not 127/8");
            kernel_addr = *a;
            return std::nullopt;
        }
        case kOptMtu: {
            unsigned v = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
            if (ec != std::errc{} || end != value.data() + value.size() || v < 68 || v > 65535)
                return bad("mtu", "68 to 65535");
            mtu = v;
            return std::nullopt;
        }
        default: return std::string("unknown option");
    }
}

Ipv4Address TunOptions::kernel_address() const {
    if (kernel_addr) return *kernel_addr;
    const Ipv4Address first{addr.network().value + 1};
    return first == addr.address ? Ipv4Address{first.value + 1} : first;
}

std::optional<std::string> TunOptions::attach(Stack& stack) const {
    const Ipv4Address kernel = kernel_address();
    if (kernel == addr.address) return "--kernel-addr " + kernel.to_string() + " is vlo's own address";
    if (Ipv4Cidr{kernel, addr.prefix_len}.network() != addr.network())
        return "--kernel-addr " + kernel.to_string() + " is not in " + addr.network().to_string() + "/" +
               std::to_string(addr.prefix_len);
    TunConfig config;
    config.name = name;
    config.mtu = mtu;
    config.kernel_addr = kernel.value;
    config.kernel_prefix_len = static_cast<std::uint8_t>(addr.prefix_len);
    std::string error;
    auto dev = TunDevice::open(config, stack.next_ifindex(), error);
    if (!dev) return "--tun " + name + ": " + error;
    stack.add_device(std::move(dev));
    if (std::error_code ec = stack.addr_add(name, addr)) return "--addr " + addr.to_string() + ": " + ec.message();
    return std::nullopt;
}

const char* tun_options_usage() {
    return "  --tun <name>       attach the stack to TUN interface <name> (created if absent)\n"
           "  --addr <cidr>      vlo's address on the TUN; default 198.18.0.2/24\n"
           "  --kernel-addr <a>  the kernel side's address; default the prefix's first host\n"
           "  --mtu <n>          the TUN's MTU, both sides; default 1500\n";
}

}  // namespace vlo::apps
