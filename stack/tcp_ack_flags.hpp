// What one ACK did, as tcp_ack's FLAG_* bits (net/ipv4/tcp_input.c): set while the ACK is
// processed and read by the recovery state machine.
#pragma once

namespace vlo {

enum TcpAckFlag : int {
    kFlagData = 0x01,              // incoming frame contained data
    kFlagWinUpdate = 0x02,         // incoming ACK was a window update
    kFlagDataAcked = 0x04,         // this ACK acknowledged new data
    kFlagRetransDataAcked = 0x08,  // some of which was retransmitted
    kFlagSynAcked = 0x10,          // this ACK acknowledged SYN (or, here, our FIN)
    kFlagDataSacked = 0x20,        // new SACK
    kFlagEce = 0x40,               // ECE in this ACK
    kFlagLostRetrans = 0x80,       // this ACK marks some retransmission lost
    kFlagSlowpath = 0x100,
    kFlagOrigSackAcked = 0x200,   // never retransmitted data are (s)acked
    kFlagSndUnaAdvanced = 0x400,  // snd_una was changed (!= FLAG_DATA_ACKED)
    kFlagDsackingAck = 0x800,     // SACK blocks contained D-SACK info
    kFlagSetXmitTimer = 0x1000,   // set TLP or RTO timer
    kFlagSackReneging = 0x2000,
    kFlagUpdateTsRecent = 0x4000,
    kFlagNoChallengeAck = 0x8000,
    kFlagAckMaybeDelivered = 0x10000,
    kFlagDsackTlp = 0x20000,  // D-SACK for a tail loss probe
    kFlagAcked = kFlagDataAcked | kFlagSynAcked,
    kFlagNotDup = kFlagData | kFlagWinUpdate | kFlagAcked,
    kFlagCaAlert = kFlagDataSacked | kFlagEce | kFlagDsackingAck,
    kFlagForwardProgress = kFlagAcked | kFlagDataSacked,
};

}  // namespace vlo
