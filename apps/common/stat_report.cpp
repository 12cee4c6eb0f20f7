#include "apps/common/stat_report.hpp"

#include <cstdio>
#include <sstream>

#include "frontend/iptables.hpp"
#include "frontend/tc.hpp"
#include "netif/dev_xmit.hpp"

namespace vlo::apps {

namespace {

// Calls fn(group, name, value) for each counter of the "Group: names" / "Group: values" pairs.
template <class Fn>
void for_each_counter(const std::string& snmp_text, Fn&& fn) {
    std::istringstream in(snmp_text);
    std::string names, values;
    while (std::getline(in, names) && std::getline(in, values)) {
        std::istringstream n(names), v(values);
        std::string group, name, value;
        n >> group;
        v >> value;
        if (group.empty() || group.back() != ':') break;
        group.pop_back();
        while (n >> name && v >> value) fn(group, name, value);
    }
}

}  // namespace

std::string nstat_lines(const std::string& snmp_text, bool zeros) {
    std::string out;
    char line[160];
    for_each_counter(snmp_text, [&](const std::string& group, const std::string& name,
                                    const std::string& value) {
        if (value == "0" && !zeros) return;
        std::snprintf(line, sizeof line, "%-31s %s\n", (group + name).c_str(), value.c_str());
        out += line;
    });
    return out;
}

std::optional<std::uint64_t> snmp_counter(const std::string& snmp_text, std::string_view group,
                                          std::string_view name) {
    std::optional<std::uint64_t> found;
    for_each_counter(snmp_text,
                     [&](const std::string& g, const std::string& n, const std::string& value) {
                         if (!found && g == group && n == name) found = std::stoull(value);
                     });
    return found;
}

std::string stat_report(Stack& stack) {
    std::string out = "\nsoftnet_stat:\n" + stack.softnet_stat();
    out += "\nlinks:\n" + stack.link_stats_text();
    out += "\n#kernel\n" + nstat_lines(stack.snmp_text());
    const std::string rules = frontend::iptables_list(
        stack.netfilter(), {}, {.numeric = true, .verbose = true, .exact = true});
    out += "\n" + rules;
    for (const auto& d : stack.devices())
        if (with_root_qdisc(*d, [](Qdisc* q) { return q && q->kind() == "netem"; }))
            out += "\ndev " + d->name() + ": " + frontend::tc_qdisc_show(*d, true);
    const NetRx& rx = stack.net_rx();
    char line[200];
    for (unsigned cpu = 0; cpu < rx.cpus(); ++cpu) {
        const Softnet& sd = rx.softnet(cpu);
        std::snprintf(line, sizeof line,
                      "\ncpu%u NET_RX runs: in sender %llu, in ksoftirqd %llu, busy-polled %llu; ksoftirqd "
                      "wakeups %llu\n",
                      cpu, static_cast<unsigned long long>(sd.runs_in_sender.load()),
                      static_cast<unsigned long long>(sd.runs_in_ksoftirqd.load()),
                      static_cast<unsigned long long>(sd.runs_in_busypoll.load()),
                      static_cast<unsigned long long>(sd.ksoftirqd_wakeups.load()));
        out += line;
    }
    return out;
}

}  // namespace vlo::apps
