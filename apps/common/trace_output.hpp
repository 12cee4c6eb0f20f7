// Finished packet traces for people and for trace viewers: one stage a line with the time since
// the previous stage, or Chrome/Perfetto trace-event JSON (ui.perfetto.dev, chrome://tracing),
// one track per thread.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "netif/trace.hpp"

namespace vlo::apps {

// "    ip_local_out              +0.000 us  cpu 0  vlo-ping (1234)\n" ... and, for a drop,
// the reason on its kfree_skb line. `indent` prefixes each line.
std::string trace_text(const Trace& trace, const std::string& indent = "    ");

// The trace-event format's object: {"traceEvents": [...], "displayTimeUnit": "ns"}. Each stage
// is a complete ("X") event lasting until the next stage, on the thread that ran it, with the
// packet's id and generation, the CPU and the stage's argument in "args"; threads are named.
nlohmann::json trace_events(const std::vector<Trace>& traces);

// Writes trace_events(traces) to `path`; false if it cannot.
bool write_trace_json(const std::string& path, const std::vector<Trace>& traces);

// A thread's name as the kernel has it (/proc/self/task/TID/comm), or "tid N" once it is gone.
std::string thread_name(std::uint32_t tid);

}  // namespace vlo::apps
