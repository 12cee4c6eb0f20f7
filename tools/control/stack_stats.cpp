#include "tools/control/stack_stats.hpp"

#include <cstdio>
#include <sstream>

namespace vlo::control {

namespace {

// /proc/net/snmp and netstat come as pairs of lines: "Ip: Forwarding DefaultTTL ..." then
// "Ip: 2 64 ...". Every pair becomes {"Ip": {"Forwarding": 2, ...}}.
nlohmann::ordered_json parse_snmp(const std::string& text) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    std::istringstream in(text);
    std::string names, values;
    while (std::getline(in, names) && std::getline(in, values)) {
        std::istringstream n(names), v(values);
        std::string group, group2, name, value;
        n >> group;
        v >> group2;
        if (group.empty() || group != group2) break;
        group.pop_back();  // the ':'
        nlohmann::ordered_json& g = out[group];
        while (n >> name && v >> value) g[name] = std::stoll(value);
    }
    return out;
}

}  // namespace

nlohmann::ordered_json stack_stats(Stack& stack) {
    nlohmann::ordered_json j;
    j["softnet_stat"] = stack.softnet_stat();
    nlohmann::ordered_json softnet = nlohmann::ordered_json::array();
    for (unsigned cpu = 0; cpu < stack.net_rx().cpus(); ++cpu) {
        const Softnet& sd = stack.net_rx().softnet(cpu);
        softnet.push_back({{"cpu", cpu},
                           {"processed", sd.processed.load()},
                           {"dropped", sd.dropped.load()},
                           {"time_squeeze", sd.time_squeeze.load()},
                           {"runs_in_sender", sd.runs_in_sender.load()},
                           {"runs_in_ksoftirqd", sd.runs_in_ksoftirqd.load()},
                           {"runs_in_busypoll", sd.runs_in_busypoll.load()},
                           {"ksoftirqd_wakeups", sd.ksoftirqd_wakeups.load()}});
    }
    j["softnet"] = softnet;
    nlohmann::ordered_json devices = nlohmann::ordered_json::array();
    for (const auto& d : stack.devices()) {
        DeviceStats& s = d->stats();
        devices.push_back({{"name", d->name()},
                           {"ifindex", d->ifindex()},
                           {"mtu", d->mtu()},
                           {"flags", d->flags()},
                           {"rx_packets", s.rx_packets.load()},
                           {"rx_bytes", s.rx_bytes.load()},
                           {"rx_errors", s.rx_errors.load()},
                           {"rx_dropped", s.rx_dropped.load()},
                           {"rx_nohandler", s.rx_nohandler.load()},
                           {"tx_packets", s.tx_packets.load()},
                           {"tx_bytes", s.tx_bytes.load()},
                           {"tx_errors", s.tx_errors.load()},
                           {"tx_dropped", s.tx_dropped.load()}});
    }
    j["devices"] = devices;
    j["link_text"] = stack.link_stats_text();
    j["snmp"] = parse_snmp(stack.snmp_text());
    // The drop monitor's view: every packet freed undelivered, by kfree_skb reason.
    nlohmann::ordered_json drops = nlohmann::ordered_json::object();
    for (std::size_t r = 1; r < static_cast<std::size_t>(DropReason::count_); ++r)
        if (const std::uint64_t n = stack.net_rx().drops().count(static_cast<DropReason>(r)))
            drops[std::string(drop_reason_name(static_cast<DropReason>(r)))] = n;
    j["drops"] = drops;
    return j;
}

std::string nstat_text(const nlohmann::ordered_json& snmp, bool all) {
    std::string out;
    char line[160];
    for (const auto& [group, counters] : snmp.items()) {
        for (const auto& [name, value] : counters.items()) {
            const long long v = value.get<long long>();
            if (v == 0 && !all) continue;
            std::snprintf(line, sizeof line, "%-31s %-18lld\n", (group + name).c_str(), v);
            out += line;
        }
    }
    return out;
}

std::string stats_text(const nlohmann::ordered_json& stats) {
    std::string out = stats.value("softnet_stat", "");
    out += "\n" + stats.value("link_text", "");
    out += "\n#vlo\n" + nstat_text(stats.value("snmp", nlohmann::ordered_json::object()), stats.value("nstat_all", false));
    // A running vlod's qdiscs as `tc -s qdisc show` and its rules as `iptables -L -n -v -x`.
    if (stats.contains("qdisc_text")) out += "\n" + stats.value("qdisc_text", "");
    if (stats.contains("iptables")) out += "\n" + stats.value("iptables", "");
    return out;
}

}  // namespace vlo::control
