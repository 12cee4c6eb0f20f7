// The stack's side of `tc qdisc`: a netem made for this stack (its watchdog on the stack's
// timers, its checksum help from IP, its seed from the stack's) and grafted as a device's root.
#include "netif/dev_xmit.hpp"
#include "netif/netem.hpp"
#include "stack/ip_fragment.hpp"
#include "stack/stack.hpp"

namespace vlo {

std::error_code Stack::qdisc_netem(std::string_view dev_name, QdiscOp op, const NetemSpec& spec) {
    Device* dev = find_device(dev_name);
    if (!dev) return std::make_error_code(std::errc::no_such_device);
    NetemQdisc* current = nullptr;
    with_root_qdisc(*dev, [&](Qdisc* q) {
        if (q && q->kind() == "netem") current = static_cast<NetemQdisc*>(q);
    });
    if (op == QdiscOp::add && current) return std::make_error_code(std::errc::file_exists);
    if (op == QdiscOp::change && !current)
        return std::make_error_code(std::errc::no_such_file_or_directory);
    if (current) {              // netem_change: in place, queued packets keep their times
        current->change(spec);  // unseeded: runs on with the generator it has
        return {};
    }
    NetemSpec first = spec;
    if (!first.seed) first.seed = random_.u64();
    auto q = std::make_unique<NetemQdisc>(*dev, clock_, first);
    q->set_watchdog(std::make_unique<NetemTimerWatchdog<Timer>>(*timers_, *q));
    // A corrupted bit must land in a checksum someone computed: fill in what lo leaves.
    q->set_checksum_help([](Packet& p) {
        skb_checksum_help(p);
        return true;
    });
    q->set_handle(next_handle_.fetch_add(1));
    dev_graft_qdisc(*dev, std::move(q), clock_);
    return {};
}

std::error_code Stack::qdisc_del(std::string_view dev_name) {
    Device* dev = find_device(dev_name);
    if (!dev) return std::make_error_code(std::errc::no_such_device);
    if (dev_has_default_qdisc(*dev))
        return std::make_error_code(std::errc::no_such_file_or_directory);
    dev_graft_qdisc(*dev, nullptr, clock_);
    return {};
}

}  // namespace vlo
