#include "tools/lab/loss_counters.hpp"

#include "apps/common/stat_report.hpp"
#include "netif/dev_xmit.hpp"
#include "netif/netem.hpp"

namespace vlo::lab {

namespace {

std::optional<std::uint64_t> delta(const std::optional<std::uint64_t>& after,
                                   const std::optional<std::uint64_t>& before) {
    if (!after || !before) return std::nullopt;
    return *after - *before;
}

}  // namespace

LossCounters LossCounters::read(Stack& stack) {
    const std::string text = stack.snmp_text();
    LossCounters c;
    LossFigures& f = c.figures;
    f.rtos = apps::snmp_counter(text, "TcpExt", "TCPTimeouts");
    f.sack_recoveries = apps::snmp_counter(text, "TcpExt", "TCPSackRecovery");
    f.reno_recoveries = apps::snmp_counter(text, "TcpExt", "TCPRenoRecovery");
    f.loss_probes = apps::snmp_counter(text, "TcpExt", "TCPLossProbes");
    f.retrans_segs = apps::snmp_counter(text, "Tcp", "RetransSegs");
    for (const auto& d : stack.devices())
        with_root_qdisc(*d, [&](Qdisc* q) {
            if (const auto* netem = dynamic_cast<const NetemQdisc*>(q)) {
                const NetemStats s = netem->xstats();
                f.netem_packets += s.packets;
                f.netem_lost += s.lost;
            }
        });
    return c;
}

LossFigures LossCounters::operator-(const LossCounters& before) const {
    const LossFigures& a = figures;
    const LossFigures& b = before.figures;
    LossFigures d;
    d.rtos = delta(a.rtos, b.rtos);
    d.sack_recoveries = delta(a.sack_recoveries, b.sack_recoveries);
    d.reno_recoveries = delta(a.reno_recoveries, b.reno_recoveries);
    d.loss_probes = delta(a.loss_probes, b.loss_probes);
    d.retrans_segs = delta(a.retrans_segs, b.retrans_segs);
    d.netem_packets = a.netem_packets - b.netem_packets;
    d.netem_lost = a.netem_lost - b.netem_lost;
    return d;
}

}  // namespace vlo::lab
