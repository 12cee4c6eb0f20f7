// What iputils ping prints, reproduced: the reply line and the statistics block, with its
// integer-microsecond arithmetic, so vlo-ping's output can be compared line by line.
#pragma once

#include <cstdint>
#include <string>

namespace vlo::ping {

struct PingStats {
    long ntransmitted = 0;
    long nreceived = 0;
    long nrepeats = 0;
    long nerrors = 0;
    long tmin = 0;     // µs
    long tmax = 0;     // µs
    double tsum = 0;   // µs
    double tsum2 = 0;  // µs²
    int rtt = 0;       // ewma × 8, µs (for ipg/ewma)
    int pipesize = 0;
    bool timing = true;  // data long enough for a timestamp (>= 16 bytes)

    // gather_statistics' bookkeeping for one reply of `triptime` µs.
    void add_reply(long triptime);
};

// " time=0.087 ms" and its wider forms (gather_statistics' four branches).
std::string format_time(long triptime_us);

// "64 bytes from 127.0.0.2: icmp_seq=1 ttl=64 time=0.012 ms" (no newline).
std::string reply_line(std::size_t icmp_len, const std::string& from, unsigned seq, int ttl,
                       bool timing, long triptime_us);

// The statistics block from the blank line to the last line, as finish() prints it.
// elapsed_us: last send since start; with_ipg: interval 0 or flood.
std::string statistics(const std::string& hostname, const PingStats& s, long long elapsed_us,
                       bool with_ipg);

// finish()'s exit status.
inline int exit_status(const PingStats& s, bool deadline, long npackets) {
    return (!s.nreceived || (deadline && s.nreceived < npackets)) ? 1 : 0;
}

}  // namespace vlo::ping
