#include "netif/trace_log.hpp"

#include <algorithm>

namespace vlo {

TraceLog& TraceLog::instance() {
    static TraceLog log;
    return log;
}

void TraceLog::record(const Trace& trace) {
    std::lock_guard lock(mu_);
    if (traces_.size() >= kCapacity) {
        traces_.pop_front();
        lost_.fetch_add(1, std::memory_order_relaxed);
    }
    traces_.push_back(trace);
}

std::vector<Trace> TraceLog::take(std::uint64_t id) {
    std::lock_guard lock(mu_);
    std::vector<Trace> out;
    std::erase_if(traces_, [&](const Trace& t) {
        if (t.id != id) return false;
        out.push_back(t);
        return true;
    });
    return out;
}

std::vector<Trace> TraceLog::take_all() {
    std::lock_guard lock(mu_);
    std::vector<Trace> out(traces_.begin(), traces_.end());
    traces_.clear();
    return out;
}

}  // namespace vlo
