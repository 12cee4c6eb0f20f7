// TCP's counters under the kernel's names: the Tcp line of /proc/net/snmp and the TcpExt ones
// of /proc/net/netstat that vlo keeps.
#pragma once

#include <string>

#include "stack/snmp.hpp"

namespace vlo {

enum class TcpMib {
    ActiveOpens, PassiveOpens, AttemptFails, EstabResets, CurrEstab, InSegs, OutSegs, RetransSegs,
    InErrs, OutRsts, InCsumErrors,
    count_
};

enum class TcpExtMib {
    SyncookiesSent, SyncookiesRecv, SyncookiesFailed, LockDroppedIcmps, ListenOverflows, ListenDrops, TW,
    DelayedACKs, TCPTimeouts, TCPFastRetrans, TCPSlowStartRetrans, TCPChallengeACK,
    TCPSYNChallenge, TCPAbortOnData, TCPAbortOnClose, TCPAbortOnTimeout, TCPKeepAlive,
    TCPOFOQueue, TCPRcvQDrop, TCPZeroWindowDrop, TCPTimeWaitOverflow, TCPDeferAcceptDrop,
    TCPBacklogDrop, PAWSEstab,
    TCPSackRecovery, TCPRenoRecovery, TCPSACKReorder, TCPRenoReorder, TCPTSReorder, TCPDSACKOldSent, TCPDSACKOfoSent, TCPDSACKRecv, TCPDSACKOfoRecv, TCPDSACKUndo, TCPFullUndo, TCPPartialUndo, TCPLossUndo, TCPLostRetransmit, TCPSackRecoveryFail, TCPRenoRecoveryFail, TCPLossProbes, TCPLossProbeRecovery, TCPSpuriousRTOs, TCPSACKReneging, TCPSackMerged, PAWSActive, TCPHystartTrainDetect, TCPHystartTrainCwnd, TCPHystartDelayDetect, TCPHystartDelayCwnd, TCPOFODrop, TCPOFOMerge, TCPACKSkippedPAWS, TCPACKSkippedSeq,
    count_
};

std::string_view mib_name(TcpMib e);
std::string_view mib_name(TcpExtMib e);

struct TcpStats {
    Mib<TcpMib> tcp;
    Mib<TcpExtMib> ext;
    // "Tcp: ..." and "TcpExt: ..." name/value line pairs (RtoAlgorithm 1, RtoMin/Max in ms,
    // MaxConn -1 lead the Tcp line as in the kernel).
    std::string to_text(long rto_min_ms, long rto_max_ms) const;
};

}  // namespace vlo
