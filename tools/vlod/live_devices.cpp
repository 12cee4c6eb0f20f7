#include "tools/vlod/live_devices.hpp"

namespace vlo::vlod {

std::optional<std::string> LiveDevices::add(Stack& stack, const std::string& name) {
    Capture* capture = stack.add_capture(name);
    if (!capture) return "Cannot find device \"" + name + "\"";
    devices_.push_back({name, capture});
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
