// vlo-dump: `tcpdump -w` on a running vlod's device, through its control socket. The daemon
// streams the capture as pcap (LINKTYPE_RAW); this writes it to a file, record by whole record,
// until -c packets or SIGINT, then prints tcpdump's closing lines on stderr.
//   vlo-dump --control PATH [-i DEV] [-c N] -w FILE
#include <fcntl.h>
#include <getopt.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "tools/control/control_client.hpp"

namespace {

const char* const kUsage =
    "Usage: vlo-dump --control <path> [-i <dev>] [-c <count>] -w <file>\n"
    "  --control <path>  vlod's control socket\n"
    "  -i <dev>          the device to capture (default: vlod's TUN)\n"
    "  -c <count>        stop after <count> packets (default: at SIGINT)\n"
    "  -w <file>         write the packets there as pcap ('-': standard output)\n";

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

int usage_error(const std::string& why) {
    std::fprintf(stderr, "vlo-dump: %s\n%s", why.c_str(), kUsage);
    return 2;
}

// Splits the stream into the global header and whole records, so the file never ends in half a
// record; counts the records.
class PcapSplitter {
  public:
    explicit PcapSplitter(int out) : out_(out) {}
    // False when the output cannot be written or the stream is not pcap.
    bool feed(const char* data, std::size_t n) {
        buf_.append(data, n);
        for (;;) {
            std::size_t need = 24;
            if (have_header_) {
                if (buf_.size() < 16) return true;
                need = 16 + caplen(buf_.data() + 8);
            }
            if (buf_.size() < need) return true;
            if (!have_header_) {
                std::uint32_t magic;
                std::memcpy(&magic, buf_.data(), 4);
                if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d)
                    swapped_ = false;
                else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1)
                    swapped_ = true;
                else
                    return false;
                have_header_ = true;
            } else {
                ++records_;
            }
            if (!write_all(buf_.data(), need)) return false;
            buf_.erase(0, need);
        }
    }
    std::uint64_t records() const { return records_; }
    bool started() const { return have_header_; }

  private:
    std::uint32_t caplen(const char* p) const {
        std::uint32_t v;
        std::memcpy(&v, p, 4);
        return swapped_ ? __builtin_bswap32(v) : v;
    }
    bool write_all(const char* p, std::size_t n) {
        while (n) {
            const ssize_t w = ::write(out_, p, n);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) return false;
            p += w;
            n -= static_cast<std::size_t>(w);
        }
        return true;
    }

    int out_;
    std::string buf_;
    bool have_header_ = false;
    bool swapped_ = false;
    std::uint64_t records_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    static const option longopts[] = {{"control", required_argument, nullptr, 'C'},
                                      {"help", no_argument, nullptr, 'h'},
                                      {nullptr, 0, nullptr, 0}};
    std::string control, dev, file;
    std::uint64_t count = 0;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":i:c:w:h", longopts, nullptr)) != -1;) {
        switch (c) {
            case 'C':
                control = optarg;
                break;
            case 'i':
                dev = optarg;
                break;
            case 'w':
                file = optarg;
                break;
            case 'c': {
                const std::string_view v(optarg);
                auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), count);
                if (ec != std::errc{} || end != v.data() + v.size() || count == 0)
                    return usage_error("invalid packet count " + std::string(v));
                break;
            }
            case 'h':
                std::fputs(kUsage, stdout);
                return 0;
            case ':':
                return usage_error(std::string("option '") + argv[optind - 1] +
                                   "' requires an argument");
            default:
                return usage_error(std::string("unrecognized option '") + argv[optind - 1] + "'");
        }
    }
    if (optind < argc)
        return usage_error(std::string("unexpected argument '") + argv[optind] + "'");
    if (control.empty()) return usage_error("--control <path> is required");
    if (file.empty()) return usage_error("-w <file> is required");

    const int out = file == "-"
                        ? STDOUT_FILENO
                        : ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        std::fprintf(stderr, "vlo-dump: %s: %s\n", file.c_str(), std::strerror(errno));
        return 1;
    }
    // No SA_RESTART: a signal must interrupt the blocking read.
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    nlohmann::ordered_json req{{"cmd", "capture"}, {"count", count}};
    if (!dev.empty()) req["dev"] = dev;
    nlohmann::ordered_json reply;
    std::string error;
    const int fd = vlo::control::open_stream(control, req, reply, error);
    if (fd < 0 || !reply.value("ok", false)) {
        std::fprintf(stderr, "vlo-dump: %s\n",
                     fd < 0 ? error.c_str() : reply.value("error", std::string("failed")).c_str());
        if (fd >= 0) ::close(fd);
        return 1;
    }
    dev = reply.value("dev", dev);
    std::fprintf(stderr,
                 "vlo-dump: listening on %s, link-type RAW (Raw IP), snapshot length %u bytes\n",
                 dev.c_str(), reply.value("snaplen", 262144u));

    PcapSplitter split(out);
    char buf[65536];
    int rc = 0;
    while (!g_stop && (count == 0 || split.records() < count)) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // the daemon ended the capture (-c reached, or it stopped)
        errno = 0;
        if (!split.feed(buf, static_cast<std::size_t>(n))) {
            std::fprintf(stderr, "vlo-dump: %s: %s\n", file.c_str(),
                         errno ? std::strerror(errno) : "not a pcap stream");
            rc = 1;
            break;
        }
    }
    ::close(fd);  // the daemon sees the hang-up and closes its capture
    if (out != STDOUT_FILENO && ::close(out) != 0) rc = 1;
    if (!split.started() && rc == 0) {
        std::fprintf(stderr, "vlo-dump: the daemon ended the capture before it began\n");
        rc = 1;
    }

    // tcpdump's closing lines: received and dropped are the daemon's to count.
    std::uint64_t received = split.records(), dropped = 0;
    if (auto s = vlo::control::request(control, {{"cmd", "capture-stats"}, {"dev", dev}}, error);
        s && s->value("ok", false)) {
        received = s->value("received", received);
        dropped = s->value("dropped", dropped);
    }
    auto line = [](std::uint64_t n, const char* what) {
        std::fprintf(stderr, "%llu packet%s %s\n", static_cast<unsigned long long>(n),
                     n == 1 ? "" : "s", what);
    };
    line(split.records(), "captured");
    line(received, "received by filter");
    line(dropped, "dropped by kernel");
    return rc;
}
