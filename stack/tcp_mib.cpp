#include "stack/tcp_mib.hpp"

#include <array>

namespace vlo {

namespace {
constexpr std::array<std::string_view, static_cast<std::size_t>(TcpMib::count_)> kTcpNames = {
    "ActiveOpens", "PassiveOpens", "AttemptFails", "EstabResets", "CurrEstab", "InSegs",
    "OutSegs", "RetransSegs", "InErrs", "OutRsts", "InCsumErrors"};
constexpr std::array<std::string_view, static_cast<std::size_t>(TcpExtMib::count_)> kExtNames = {
    "SyncookiesSent", "SyncookiesRecv", "SyncookiesFailed", "LockDroppedIcmps", "ListenOverflows",
    "ListenDrops",
    "TW", "DelayedACKs", "TCPTimeouts", "TCPFastRetrans", "TCPSlowStartRetrans",
    "TCPChallengeACK", "TCPSYNChallenge", "TCPAbortOnData", "TCPAbortOnClose",
    "TCPAbortOnTimeout", "TCPKeepAlive", "TCPOFOQueue", "TCPRcvQDrop", "TCPZeroWindowDrop",
    "TCPTimeWaitOverflow", "TCPDeferAcceptDrop", "TCPBacklogDrop", "PAWSEstab",
    "TCPSackRecovery", "TCPRenoRecovery", "TCPSACKReorder", "TCPRenoReorder", "TCPTSReorder", "TCPDSACKOldSent", "TCPDSACKOfoSent", "TCPDSACKRecv", "TCPDSACKOfoRecv", "TCPDSACKUndo", "TCPFullUndo", "TCPPartialUndo", "TCPLossUndo", "TCPLostRetransmit", "TCPSackRecoveryFail", "TCPRenoRecoveryFail", "TCPLossProbes", "TCPLossProbeRecovery", "TCPSpuriousRTOs", "TCPSACKReneging", "TCPSackMerged", "PAWSActive", "TCPHystartTrainDetect", "TCPHystartTrainCwnd", "TCPHystartDelayDetect", "TCPHystartDelayCwnd", "TCPOFODrop", "TCPOFOMerge", "TCPACKSkippedPAWS", "TCPACKSkippedSeq"};
}  // namespace

std::string_view mib_name(TcpMib e) { return kTcpNames[static_cast<std::size_t>(e)]; }
std::string_view mib_name(TcpExtMib e) { return kExtNames[static_cast<std::size_t>(e)]; }

std::string TcpStats::to_text(long rto_min_ms, long rto_max_ms) const {
    std::string n = "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn";
    std::string v = "Tcp: 1 " + std::to_string(rto_min_ms) + " " + std::to_string(rto_max_ms) + " -1";
    for (std::size_t i = 0; i < tcp.size(); ++i) {
        n += " " + std::string(kTcpNames[i]);
        v += " " + std::to_string(tcp.at(i));
    }
    std::string en = "TcpExt:", ev = "TcpExt:";
    for (std::size_t i = 0; i < ext.size(); ++i) {
        en += " " + std::string(kExtNames[i]);
        ev += " " + std::to_string(ext.at(i));
    }
    return n + "\n" + v + "\n" + en + "\n" + ev + "\n";
}

}  // namespace vlo
