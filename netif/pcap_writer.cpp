#include "netif/pcap_writer.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vlo {

namespace pcap {

namespace {
// The format is written in host byte order, as libpcap's pcap_dump does.
template <class T>
void put(std::uint8_t* at, T v) {
    std::memcpy(at, &v, sizeof v);
}
}  // namespace

GlobalHeader global_header(std::uint32_t snaplen, std::uint32_t linktype, bool nanosecond) {
    GlobalHeader h{};
    put<std::uint32_t>(&h[0], nanosecond ? kMagicNano : kMagicMicro);
    put<std::uint16_t>(&h[4], kVersionMajor);
    put<std::uint16_t>(&h[6], kVersionMinor);
    put<std::int32_t>(&h[8], 0);    // thiszone: timestamps are UTC
    put<std::uint32_t>(&h[12], 0);  // sigfigs
    put<std::uint32_t>(&h[16], snaplen);
    put<std::uint32_t>(&h[20], linktype);
    return h;
}

RecordHeader record_header(Nanos ts, std::uint32_t caplen, std::uint32_t len, bool nanosecond) {
    ts = std::max<Nanos>(ts, 0);
    const Nanos frac = ts % kNsPerSec;
    RecordHeader h{};
    put<std::uint32_t>(&h[0], static_cast<std::uint32_t>(ts / kNsPerSec));
    put<std::uint32_t>(&h[4], static_cast<std::uint32_t>(nanosecond ? frac : frac / kNsPerUs));
    put<std::uint32_t>(&h[8], caplen);
    put<std::uint32_t>(&h[12], len);
    return h;
}

}  // namespace pcap

namespace {
bool is_socket(int fd) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}
}  // namespace

FdPcapSink::FdPcapSink(int fd, bool owned) : fd_(fd), owned_(owned), socket_(is_socket(fd)) {}

FdPcapSink::~FdPcapSink() {
    if (owned_ && fd_ >= 0) ::close(fd_);
}

std::unique_ptr<FdPcapSink> FdPcapSink::create_file(const std::string& path, std::error_code& ec) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        ec = std::error_code(errno, std::generic_category());
        return nullptr;
    }
    ec.clear();
    return std::make_unique<FdPcapSink>(fd, true);
}

std::error_code FdPcapSink::write(std::span<const std::uint8_t> bytes) {
    while (!bytes.empty()) {
        const ssize_t n = socket_ ? ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL)
                                  : ::write(fd_, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return std::error_code(errno, std::generic_category());
        }
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
    return {};
}

std::error_code PcapWriter::write_header() {
    const pcap::GlobalHeader h = pcap::global_header(snaplen_, linktype_, nanosecond_);
    return sink_.write(h);
}

std::error_code PcapWriter::write_packet(Nanos ts, std::span<const std::uint8_t> packet) {
    const auto caplen = static_cast<std::uint32_t>(std::min<std::size_t>(packet.size(), snaplen_));
    const pcap::RecordHeader h =
        pcap::record_header(ts, caplen, static_cast<std::uint32_t>(packet.size()), nanosecond_);
    if (std::error_code ec = sink_.write(h)) return ec;
    return sink_.write(packet.first(caplen));
}

}  // namespace vlo
