// The protocol counters, under the names the kernel prints in /proc/net/snmp and
// /proc/net/netstat (net/ipv4/proc.c), so `grep InHdrErrors` finds the same thing in both.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace vlo {

enum class IpMib {
    InReceives, InHdrErrors, InAddrErrors, ForwDatagrams, InUnknownProtos, InDiscards,
    InDelivers, OutRequests, OutDiscards, OutNoRoutes, ReasmTimeout, ReasmReqds, ReasmOKs,
    ReasmFails, FragOKs, FragFails, FragCreates, OutTransmits,
    // IpExt
    InNoRoutes, InTruncatedPkts, InCsumErrors, ReasmOverlaps,
    count_
};

enum class IcmpMib {
    InMsgs, InErrors, InCsumErrors, InDestUnreachs, InTimeExcds, InParmProbs, InSrcQuenchs,
    InRedirects, InEchos, InEchoReps, InTimestamps, InTimestampReps, InAddrMasks,
    InAddrMaskReps, OutMsgs, OutErrors, OutRateLimitGlobal, OutRateLimitHost, OutDestUnreachs,
    OutTimeExcds, OutParmProbs, OutSrcQuenchs, OutRedirects, OutEchos, OutEchoReps,
    OutTimestamps, OutTimestampReps, OutAddrMasks, OutAddrMaskReps,
    count_
};

// /proc/net/snmp's Udp line (UDP_MIB_*, udp_snmp_list in net/ipv4/proc.c).
enum class UdpMib {
    InDatagrams, NoPorts, InErrors, OutDatagrams, RcvbufErrors, SndbufErrors, InCsumErrors,
    IgnoredMulti, MemErrors,
    count_
};

// /proc/net/stat/rt_cache's martian columns: the kernel counts martians there, not in SNMP.
enum class RtStat { in_martian_dst, in_martian_src, in_no_route, count_ };

template <class E>
class Mib {
public:
    void inc(E e, std::uint64_t by = 1) {
        v_[static_cast<std::size_t>(e)].fetch_add(by, std::memory_order_relaxed);
    }
    void dec(E e) { v_[static_cast<std::size_t>(e)].fetch_sub(1, std::memory_order_relaxed); }  // gauges
    std::uint64_t get(E e) const { return v_[static_cast<std::size_t>(e)].load(std::memory_order_relaxed); }
    static constexpr std::size_t size() { return static_cast<std::size_t>(E::count_); }
    std::uint64_t at(std::size_t i) const { return v_[i].load(std::memory_order_relaxed); }

private:
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(E::count_)> v_{};
};

std::string_view mib_name(IpMib e);
std::string_view mib_name(IcmpMib e);
std::string_view mib_name(RtStat e);
std::string_view mib_name(UdpMib e);

struct Snmp {
    Mib<IpMib> ip;
    Mib<IcmpMib> icmp;
    Mib<RtStat> rt;
    Mib<UdpMib> udp;
    // IcmpMsg: per ICMP type, as InType8 / OutType0.
    std::array<std::atomic<std::uint64_t>, 256> icmp_in_type{};
    std::array<std::atomic<std::uint64_t>, 256> icmp_out_type{};

    // The lines of /proc/net/snmp for Ip, Icmp, IcmpMsg and Udp, then IpExt's as in netstat and
    // vlo's RtStat: "Ip: names" / "Ip: values" pairs.
    std::string to_text(int forwarding, int default_ttl) const;
};

}  // namespace vlo
