#include "tools/lab/vlo_counters.hpp"

namespace vlo::lab {

VloCounters VloCounters::read(Stack& stack) {
    VloCounters c;
    NetRx& rx = stack.net_rx();
    for (std::size_t r = 1; r < static_cast<std::size_t>(DropReason::count_); ++r) {
        c.by_reason[r] = rx.drops().count(static_cast<DropReason>(r));
        c.all_drops += c.by_reason[r];
    }
    for (unsigned cpu = 0; cpu < rx.cpus(); ++cpu) {
        const Softnet& sd = rx.softnet(cpu);
        c.backlog_drops += sd.dropped.load();
        c.time_squeeze += sd.time_squeeze.load();
        c.runs_in_sender += sd.runs_in_sender.load();
        c.runs_in_ksoftirqd += sd.runs_in_ksoftirqd.load();
        c.runs_in_busypoll += sd.runs_in_busypoll.load();
        c.ksoftirqd_wakeups += sd.ksoftirqd_wakeups.load();
    }
    return c;
}

VloCounters VloCounters::operator-(const VloCounters& o) const {
    VloCounters d = *this;
    d.all_drops -= o.all_drops;
    d.backlog_drops -= o.backlog_drops;
    for (std::size_t r = 0; r < by_reason.size(); ++r) d.by_reason[r] -= o.by_reason[r];
    d.time_squeeze -= o.time_squeeze;
    d.runs_in_sender -= o.runs_in_sender;
    d.runs_in_ksoftirqd -= o.runs_in_ksoftirqd;
    d.runs_in_busypoll -= o.runs_in_busypoll;
    d.ksoftirqd_wakeups -= o.ksoftirqd_wakeups;
    return d;
}

void VloCounters::store(CellResult& r) const {
    r.drops = backlog_drops;
    r.all_drops = all_drops;
    r.drop_reasons.clear();
    for (std::size_t i = 1; i < by_reason.size(); ++i)
        if (by_reason[i])
            r.drop_reasons.emplace_back(std::string(drop_reason_name(static_cast<DropReason>(i))),
                                        by_reason[i]);
    r.time_squeeze = time_squeeze;
    r.runs_in_sender = runs_in_sender;
    r.runs_in_ksoftirqd = runs_in_ksoftirqd;
    r.runs_in_busypoll = runs_in_busypoll;
    r.ksoftirqd_wakeups = ksoftirqd_wakeups;
}

}  // namespace vlo::lab
