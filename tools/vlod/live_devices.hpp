// The devices a running vlod can shape and watch. Each is wrapped once, at start-up, in a
// capture decorator (idle until a client starts a capture) under a netem with an empty spec
// (pass-through until `tc qdisc add`), so that run-time commands only change a spec or start a
// capture and never change the device list while packets flow. The capture sits below netem,
// as tcpdump's tap (dev_queue_xmit_nit) sits after the qdisc: it sees packets when netem lets
// them go.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netif/capture.hpp"
#include "netif/netem.hpp"
#include "stack/stack.hpp"

namespace vlo::vlod {

struct LiveDevice {
    std::string name;
    NetemDevice* netem = nullptr;
    CaptureDevice* capture = nullptr;
    bool qdisc = false;  // a netem was added by tc (else the empty spec: noqueue, to tc)
};

class LiveDevices {
  public:
    // Wraps `name` (set-up time, before traffic). The error is tc's: Cannot find device "X".
    std::optional<std::string> add(Stack& stack, const std::string& name);
    LiveDevice* find(std::string_view name);
    const std::vector<LiveDevice>& devices() const { return devices_; }
    // Closes every capture still running (before the stack goes).
    void close_captures();

  private:
    std::vector<LiveDevice> devices_;
};

}  // namespace vlo::vlod
