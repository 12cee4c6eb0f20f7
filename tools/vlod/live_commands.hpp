// The control commands that shape and watch a running stack, in the words of the tools they
// stand for:
//   {"cmd": "iptables", "args": ["-A", "INPUT", ...]}   (the argument vector, as iptables gets it)
//       -> {"output": what iptables prints} or {"ok": false, "error": its message, "usage": bool}
//   {"cmd": "tc", "args": ["qdisc", "add", "dev", "vlo0", "root", "netem", "delay", "50ms"]}
//       -> {"output": ...} or {"ok": false, "error": tc's message, "usage": bool}
//   {"cmd": "capture", "dev": "vlo0", "count": N}   (dev: the first live device by default)
//       -> {"dev", "linktype", "snaplen"}, then the pcap stream on the same connection until N
//          packets were sent (0: until the client hangs up); the daemon then closes it
//   {"cmd": "capture-stats", "dev": "vlo0"}
//       -> the device's last (or running) capture: {"running", "received", "captured", "dropped"}
//   {"cmd": "stat"} -> control::stack_stats, plus live_stats below
//   {"cmd": "ss", "all": false}  (all: every state, as ss -a)
//       -> {"text": what `ss -tni` prints, "sockets": [{"state", "recv_q", "send_q", "local",
//          "peer", "ca", "info"}]}
#pragma once

#include <boost/asio/io_context.hpp>

#include "stack/stack.hpp"
#include "tools/control/control_server.hpp"
#include "tools/vlod/live_devices.hpp"

namespace vlo::vlod {

// Registers the commands above on `ctl`; captures are watched on `io`, which must go before
// `live`'s devices do (a capture still streaming is closed when io's handlers are destroyed).
void register_live_commands(control::ControlServer& ctl, boost::asio::io_context& io, Stack& stack,
                            LiveDevices& live);

// {"netem": {"vlo0": {"qdisc": "netem"|"pfifo_fast"|"noqueue", "spec", "sent_bytes",
//  "sent_packets", "drops", ..., "limit_drops"}}, "qdisc_text": `tc -s qdisc show`,
//  "iptables": `iptables -L -n -v -x`}
control::Json live_stats(Stack& stack);

}  // namespace vlo::vlod
