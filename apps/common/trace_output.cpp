#include "apps/common/trace_output.hpp"

#include <cstdio>
#include <fstream>
#include <map>

#include "netif/cpu.hpp"

namespace vlo::apps {

std::string thread_name(std::uint32_t tid) {
    if (std::string named = thread_name_of(tid); !named.empty()) return named;
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/comm");
    std::string name;
    if (std::getline(in, name) && !name.empty()) return name;
    return "tid " + std::to_string(tid);
}

std::string trace_text(const Trace& trace, const std::string& indent) {
    std::string out;
    std::map<std::uint32_t, std::string> names;
    char line[160];
    for (std::size_t i = 0; i < trace.count; ++i) {
        const TraceStamp& s = trace.stamps[i];
        const double us = i == 0 ? 0.0 : static_cast<double>(s.ns - trace.stamps[i - 1].ns) / 1000.0;
        auto [it, fresh] = names.try_emplace(s.tid);
        if (fresh) it->second = thread_name(s.tid);
        std::string extra;
        if (s.stage == Stage::enqueue_to_backlog) extra = "  qlen " + std::to_string(s.arg);
        if (s.stage == Stage::kfree_skb) extra = "  reason " + std::string(drop_reason_name(trace.drop));
        std::snprintf(line, sizeof line, "%s%-22s %+10.3f us  cpu %u  %s (%u)%s\n", indent.c_str(),
                      std::string(stage_name(s.stage)).c_str(), us, s.cpu, it->second.c_str(), s.tid, extra.c_str());
        out += line;
    }
    if (trace.count > 1) {
        const double span = static_cast<double>(trace.stamps[trace.count - 1].ns - trace.stamps[0].ns) / 1000.0;
        std::snprintf(line, sizeof line, "%s%-22s %10.3f us\n", indent.c_str(), "total", span);
        out += line;
    }
    return out;
}

nlohmann::json trace_events(const std::vector<Trace>& traces) {
    nlohmann::json events = nlohmann::json::array();
    std::map<std::uint32_t, bool> threads;
    const int pid = 1;
    for (const Trace& t : traces) {
        for (std::size_t i = 0; i < t.count; ++i) {
            const TraceStamp& s = t.stamps[i];
            // A stage lasts until the next one; the last is an instant.
            const bool last = i + 1 == t.count;
            nlohmann::json e = {{"name", std::string(stage_name(s.stage))},
                                {"cat", t.generation == 0 ? "packet" : "reply"},
                                {"ph", last ? "i" : "X"},
                                {"ts", static_cast<double>(s.ns) / 1000.0},
                                {"pid", pid},
                                {"tid", s.tid},
                                {"args", {{"packet", t.id}, {"generation", t.generation}, {"cpu", s.cpu}}}};
            if (last)
                e["s"] = "t";
            else
                e["dur"] = static_cast<double>(t.stamps[i + 1].ns - s.ns) / 1000.0;
            if (s.stage == Stage::enqueue_to_backlog) e["args"]["qlen"] = s.arg;
            if (s.stage == Stage::kfree_skb) e["args"]["reason"] = std::string(drop_reason_name(t.drop));
            events.push_back(std::move(e));
            threads[s.tid] = true;
        }
    }
    for (const auto& [tid, _] : threads)
        events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", pid}, {"tid", tid},
                          {"args", {{"name", thread_name(tid)}}}});
    events.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", pid}, {"args", {{"name", "vlo"}}}});
    return {{"traceEvents", events}, {"displayTimeUnit", "ns"}};
}

bool write_trace_json(const std::string& path, const std::vector<Trace>& traces) {
    std::ofstream out(path);
    if (!out) return false;
    out << trace_events(traces).dump() << "\n";
    return static_cast<bool>(out);
}

}  // namespace vlo::apps
