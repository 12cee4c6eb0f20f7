// The devices a running vlod can watch: each gets one capture tap at start-up, idle until a
// client starts a capture (vlo-dump), so run-time commands never change the stack's lists while
// packets flow. Qdiscs need nothing here: `tc` grafts them onto the device itself.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netif/capture.hpp"
#include "stack/stack.hpp"

namespace vlo::vlod {

struct LiveDevice {
    std::string name;
    Capture* capture = nullptr;  // owned by the stack
};

class LiveDevices {
  public:
    // Taps `name` (set-up time). The error is tc's: Cannot find device "X".
    std::optional<std::string> add(Stack& stack, const std::string& name);
    LiveDevice* find(std::string_view name);
    const std::vector<LiveDevice>& devices() const { return devices_; }
    // Closes every capture still running (before the stack goes).
    void close_captures();

  private:
    std::vector<LiveDevice> devices_;
};

}  // namespace vlo::vlod
