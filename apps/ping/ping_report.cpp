#include "apps/ping/ping_report.hpp"

#include <climits>
#include <cstdio>

namespace vlo::ping {

namespace {
// llsqrt: the integer square root iputils uses for mdev (floor of the real root).
long long llsqrt(long long a) {
    if (a <= 0) return 0;
    long long prev = ~(1LL << 63), x = a;
    while (x < prev) {
        prev = x;
        x = (x + a / x) / 2;
    }
    return x;
}

template <class... Args>
std::string fmt(const char* f, Args... args) {
    char buf[256];
    std::snprintf(buf, sizeof buf, f, args...);
    return buf;
}
}  // namespace

void PingStats::add_reply(long triptime) {
    ++nreceived;
    tsum += static_cast<double>(triptime);
    tsum2 += static_cast<double>(triptime) * static_cast<double>(triptime);
    if (nreceived == 1 || triptime < tmin) tmin = triptime;
    if (triptime > tmax) tmax = triptime;
    if (!rtt)
        rtt = static_cast<int>(triptime * 8);
    else
        rtt += static_cast<int>(triptime - rtt / 8);
}

std::string format_time(long t) {
    if (t >= 100000 - 50) return fmt(" time=%ld ms", (t + 500) / 1000);
    if (t >= 10000 - 5) return fmt(" time=%ld.%01ld ms", (t + 50) / 1000, ((t + 50) % 1000) / 100);
    if (t >= 1000) return fmt(" time=%ld.%02ld ms", (t + 5) / 1000, ((t + 5) % 1000) / 10);
    return fmt(" time=%ld.%03ld ms", t / 1000, t % 1000);
}

std::string reply_line(std::size_t icmp_len, const std::string& from, unsigned seq, int ttl,
                       bool timing, long triptime_us) {
    std::string line = fmt("%zu bytes from %s:", icmp_len, from.c_str());
    line += fmt(" icmp_seq=%u", seq);
    line += fmt(" ttl=%d", ttl);
    if (timing) line += format_time(triptime_us);
    return line;
}

std::string statistics(const std::string& hostname, const PingStats& s, long long elapsed_us,
                       bool with_ipg) {
    std::string out = "\n";
    out += fmt("--- %s ping statistics ---\n", hostname.c_str());
    out += fmt("%ld packets transmitted, ", s.ntransmitted);
    out += fmt("%ld received", s.nreceived);
    if (s.nrepeats) out += fmt(", +%ld duplicates", s.nrepeats);
    if (s.nerrors) out += fmt(", +%ld errors", s.nerrors);
    if (s.ntransmitted) {
        const float loss = static_cast<float>(
            (static_cast<long long>(s.ntransmitted - s.nreceived) * 100.0) / s.ntransmitted);
        out += fmt(", %g%% packet loss", static_cast<double>(loss));
        out += fmt(", time %lldms", (elapsed_us + 500) / 1000);
    }
    out += "\n";
    const char* comma = "";
    if (s.nreceived && s.timing) {
        const long total = s.nreceived + s.nrepeats;
        const long tmavg = static_cast<long>(s.tsum / static_cast<double>(total));
        long long tmvar;
        if (s.tsum < INT_MAX)
            tmvar = static_cast<long long>(
                (s.tsum2 - ((s.tsum * s.tsum) / static_cast<double>(total))) /
                static_cast<double>(total));
        else
            tmvar = static_cast<long long>(s.tsum2 / static_cast<double>(total)) -
                    static_cast<long long>(tmavg) * tmavg;
        const long tmdev = static_cast<long>(llsqrt(tmvar));
        out += fmt("rtt min/avg/max/mdev = %ld.%03ld/%lu.%03ld/%ld.%03ld/%ld.%03ld ms",
                   s.tmin / 1000, s.tmin % 1000, static_cast<unsigned long>(tmavg / 1000),
                   tmavg % 1000, s.tmax / 1000, s.tmax % 1000, tmdev / 1000, tmdev % 1000);
        comma = ", ";
    }
    if (s.pipesize > 1) {
        out += fmt("%spipe %d", comma, s.pipesize);
        comma = ", ";
    }
    if (s.nreceived && with_ipg && s.ntransmitted > 1) {
        const int ipg = static_cast<int>(elapsed_us / (s.ntransmitted - 1));
        out += fmt("%sipg/ewma %d.%03d/%d.%03d ms", comma, ipg / 1000, ipg % 1000, s.rtt / 8000,
                   (s.rtt / 8) % 1000);
    }
    out += "\n";
    return out;
}

}  // namespace vlo::ping
