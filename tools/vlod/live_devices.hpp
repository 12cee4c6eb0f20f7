// The devices a running vlod can shape and watch. Each is wrapped once, at start-up, in a netem
// with an empty spec (pass-through until `tc qdisc add`) under a capture decorator (idle until a
// client starts a capture), so that run-time commands only change a spec or start a capture and
// never change the device list while packets flow.
//
// The capture is the outer one: Stack destroys the devices it wrapped in the order it wrapped
// them, and a capture below netem would reach for its destroyed inner device on the way out.
// So unlike tcpdump's tap (dev_queue_xmit_nit, after the qdisc) it sees a transmitted packet
// when netem takes it, before its delay or loss; received packets are the same either way.
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
