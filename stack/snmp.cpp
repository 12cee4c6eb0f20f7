#include "stack/snmp.hpp"

namespace vlo {

namespace {
constexpr std::array<std::string_view, static_cast<std::size_t>(IpMib::count_)> kIpNames = {
    "InReceives", "InHdrErrors", "InAddrErrors", "ForwDatagrams", "InUnknownProtos",
    "InDiscards", "InDelivers", "OutRequests", "OutDiscards", "OutNoRoutes", "ReasmTimeout",
    "ReasmReqds", "ReasmOKs", "ReasmFails", "FragOKs", "FragFails", "FragCreates",
    "OutTransmits", "InNoRoutes", "InTruncatedPkts", "InCsumErrors", "ReasmOverlaps"};
constexpr std::array<std::string_view, static_cast<std::size_t>(IcmpMib::count_)> kIcmpNames = {
    "InMsgs", "InErrors", "InCsumErrors", "InDestUnreachs", "InTimeExcds", "InParmProbs",
    "InSrcQuenchs", "InRedirects", "InEchos", "InEchoReps", "InTimestamps", "InTimestampReps",
    "InAddrMasks", "InAddrMaskReps", "OutMsgs", "OutErrors", "OutRateLimitGlobal",
    "OutRateLimitHost", "OutDestUnreachs", "OutTimeExcds", "OutParmProbs", "OutSrcQuenchs",
    "OutRedirects", "OutEchos", "OutEchoReps", "OutTimestamps", "OutTimestampReps",
    "OutAddrMasks", "OutAddrMaskReps"};
constexpr std::array<std::string_view, static_cast<std::size_t>(RtStat::count_)> kRtNames = {
    "in_martian_dst", "in_martian_src", "in_no_route"};

constexpr std::array<std::string_view, static_cast<std::size_t>(UdpMib::count_)> kUdpNames = {
    "InDatagrams", "NoPorts", "InErrors", "OutDatagrams", "RcvbufErrors", "SndbufErrors",
    "InCsumErrors", "IgnoredMulti", "MemErrors"};

constexpr std::size_t kIpSnmpFields = static_cast<std::size_t>(IpMib::InNoRoutes);

template <class E, class Names>
void append_rows(std::string& out, std::string_view tag, const Mib<E>& mib, const Names& names,
                 std::size_t from, std::size_t to, std::string prefix_names = {},
                 std::string prefix_values = {}) {
    std::string n = std::string(tag) + ":" + prefix_names;
    std::string v = std::string(tag) + ":" + prefix_values;
    for (std::size_t i = from; i < to; ++i) {
        n += " ";
        n += names[i];
        v += " " + std::to_string(mib.at(i));
    }
    out += n + "\n" + v + "\n";
}
}  // namespace

std::string_view mib_name(IpMib e) { return kIpNames[static_cast<std::size_t>(e)]; }
std::string_view mib_name(IcmpMib e) { return kIcmpNames[static_cast<std::size_t>(e)]; }
std::string_view mib_name(RtStat e) { return kRtNames[static_cast<std::size_t>(e)]; }
std::string_view mib_name(UdpMib e) { return kUdpNames[static_cast<std::size_t>(e)]; }

std::string Snmp::to_text(int forwarding, int default_ttl) const {
    std::string out;
    append_rows(out, "Ip", ip, kIpNames, 0, kIpSnmpFields, " Forwarding DefaultTTL",
                " " + std::to_string(forwarding) + " " + std::to_string(default_ttl));
    append_rows(out, "Icmp", icmp, kIcmpNames, 0, icmp.size());
    std::string n = "IcmpMsg:", v = "IcmpMsg:";
    for (int t = 0; t < 256; ++t)
        if (auto c = icmp_in_type[t].load(std::memory_order_relaxed)) {
            n += " InType" + std::to_string(t);
            v += " " + std::to_string(c);
        }
    for (int t = 0; t < 256; ++t)
        if (auto c = icmp_out_type[t].load(std::memory_order_relaxed)) {
            n += " OutType" + std::to_string(t);
            v += " " + std::to_string(c);
        }
    if (n.size() > 8) out += n + "\n" + v + "\n";
    // snmp_seq_show: Tcp comes next, then Udp (udp_snmp_list).
    append_rows(out, "Udp", udp, kUdpNames, 0, udp.size());
    append_rows(out, "IpExt", ip, kIpNames, kIpSnmpFields, ip.size());
    append_rows(out, "RtStat", rt, kRtNames, 0, rt.size());
    return out;
}

}  // namespace vlo
