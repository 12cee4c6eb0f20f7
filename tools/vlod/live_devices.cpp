#include "tools/vlod/live_devices.hpp"

#include <memory>

#include "stack/ip_fragment.hpp"
#include "stack/timer_service.hpp"

namespace vlo::vlod {

std::optional<std::string> LiveDevices::add(Stack& stack, const std::string& name) {
    // An empty spec: no delay, no loss; every packet leaves from its sender's xmit at once.
    auto* netem = stack.wrap_device<NetemDevice>(
        name, [&](Device& inner) { return std::make_unique<NetemDevice>(inner, stack.clock()); });
    if (!netem) return "Cannot find device \"" + name + "\"";
    netem->set_watchdog(std::make_unique<NetemTimerWatchdog<Timer>>(stack.timers(), *netem));
    // A corrupted bit must land in a checksum someone computed: fill in what lo leaves.
    netem->set_checksum_help([](Packet& p) {
        skb_checksum_help(p);
        return true;
    });
    auto* capture = stack.wrap_device<CaptureDevice>(
        name, [&](Device& inner) { return std::make_unique<CaptureDevice>(inner, stack.clock()); });
    devices_.push_back({name, netem, capture, false});
    return std::nullopt;
}

LiveDevice* LiveDevices::find(std::string_view name) {
    for (LiveDevice& d : devices_)
        if (d.name == name) return &d;
    return nullptr;
}

void LiveDevices::close_captures() {
    for (LiveDevice& d : devices_) d.capture->close();
}

}  // namespace vlo::vlod
