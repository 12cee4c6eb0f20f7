#include "netif/capture.hpp"

#include <algorithm>
#include <cstring>
#include <ctime>

#include "netif/trace_log.hpp"

namespace vlo {

namespace {

// A real clock counts from boot; pcap wants the time since the epoch, as the kernel stamps
// captures with ktime_get_real. A virtual clock's time is shown as it is.
Nanos epoch_offset(const Clock& clock) {
    if (clock.is_virtual()) return 0;
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return Nanos{ts.tv_sec} * kNsPerSec + ts.tv_nsec - clock.now_ns();
}

// tcpdump's PLURAL_SUFFIX.
std::string count_line(std::uint64_t n, const char* what) {
    return std::to_string(n) + (n == 1 ? " packet " : " packets ") + what + "\n";
}

}  // namespace

Capture::Capture(Device& dev, const Clock& clock, const CaptureConfig& config)
    : dev_(dev), clock_(clock), config_(config) {
    if (config_.snaplen == 0) config_.snaplen = pcap::kMaxSnaplen;  // tcpdump -s 0
    dev_add_tap(dev_, *this);
}

Capture::~Capture() {
    dev_remove_tap(dev_, *this);  // no packet is inside tap() after this
    close();
}

std::error_code Capture::start_file(const std::string& path) {
    std::lock_guard control(control_mu_);
    {
        // Before the file is created: a running capture's own file must not be truncated.
        std::lock_guard lock(mu_);
        if (started_) return std::make_error_code(std::errc::device_or_resource_busy);
    }
    std::error_code ec;
    std::unique_ptr<FdPcapSink> sink = FdPcapSink::create_file(path, ec);
    if (!sink) return ec;
    return start_locked(std::move(sink), config_.count);
}

std::error_code Capture::start(std::unique_ptr<PcapSink> sink) {
    std::lock_guard control(control_mu_);
    return start_locked(std::move(sink), config_.count);
}

std::error_code Capture::start(std::unique_ptr<PcapSink> sink, std::uint64_t count) {
    std::lock_guard control(control_mu_);
    return start_locked(std::move(sink), count);
}

std::error_code Capture::start_locked(std::unique_ptr<PcapSink> sink, std::uint64_t count) {
    if (!sink || config_.buffer_bytes < pcap::kRecordHeaderLen + config_.snaplen)
        return std::make_error_code(std::errc::invalid_argument);
    std::lock_guard lock(mu_);
    if (started_) return std::make_error_code(std::errc::device_or_resource_busy);
    ring_.assign(config_.buffer_bytes, 0);
    write_pos_ = read_pos_ = used_ = 0;
    stats_ = CaptureStats{};
    count_ = count;
    epoch_offset_ = epoch_offset(clock_);
    // Capturing before the header goes out: a reader that has the header may send a packet at
    // once, and that packet must be in the file. It waits for mu_, so it lands after the header.
    capturing_.store(true, std::memory_order_release);
    if (std::error_code ec =
            PcapWriter(*sink, config_.snaplen, pcap::kLinktypeRaw, config_.nanosecond)
                .write_header()) {
        capturing_.store(false, std::memory_order_relaxed);
        return ec;
    }
    stats_.bytes_written = pcap::kGlobalHeaderLen;
    error_.clear();
    stopping_ = false;
    started_ = true;
    sink_ = std::move(sink);
    writer_ = std::thread([this] { writer_main(); });
    return {};
}

void Capture::flush() {
    std::unique_lock lock(mu_);
    drained_.wait(lock, [&] { return used_ == 0 || !started_; });
}

std::error_code Capture::close() {
    std::lock_guard control(control_mu_);
    {
        std::lock_guard lock(mu_);
        if (!started_) return error_;
        capturing_.store(false, std::memory_order_relaxed);
        stopping_ = true;
        work_.notify_one();
    }
    writer_.join();  // it leaves only once the ring is empty
    std::lock_guard lock(mu_);
    sink_.reset();
    started_ = false;
    drained_.notify_all();
    return error_;
}

bool Capture::done() const {
    std::lock_guard lock(mu_);
    return count_ != 0 && stats_.captured >= count_;
}

bool Capture::running() const {
    std::lock_guard lock(mu_);
    return started_;
}

std::error_code Capture::error() const {
    std::lock_guard lock(mu_);
    return error_;
}

CaptureStats Capture::stats() const {
    std::lock_guard lock(mu_);
    return stats_;
}

std::string Capture::stats_text() const {
    const CaptureStats s = stats();
    return count_line(s.captured, "captured") + count_line(s.received, "received by filter") +
           count_line(s.dropped, "dropped by kernel");
}

bool Capture::records_out() const {
    switch (config_.direction) {
        case CaptureDirection::inout:
            return !dev_.is_loopback();
        case CaptureDirection::out:
            return true;
        case CaptureDirection::in:
            break;
    }
    return false;
}

void Capture::tap(const Packet& pkt, const Device&, TapDirection dir) {
    if (dir == TapDirection::outgoing ? records_out() : records_in()) record(pkt);
}

void Capture::record(const Packet& pkt) {
    if (!capturing_.load(std::memory_order_acquire)) return;
    const Nanos ts = clock_.now_ns() + epoch_offset_;
    const std::size_t len = pkt.size();
    const auto caplen = static_cast<std::uint32_t>(std::min<std::size_t>(len, config_.snaplen));
    const std::size_t need = pcap::kRecordHeaderLen + caplen;

    std::lock_guard lock(mu_);
    if (!capturing_.load(std::memory_order_relaxed)) return;
    if (count_ != 0 && stats_.captured >= count_) return;  // -c: finished
    ++stats_.received;
    if (ring_.size() - used_ < need) {  // the writer is behind: drop, never wait
        ++stats_.dropped;
        if (pkt.trace.on) [[unlikely]] {  // the copy's trace ends here, the packet's goes on
            Trace copy = pkt.trace;
            copy.drop = DropReason::packet_sock_error;
            copy.stamp(Stage::kfree_skb, static_cast<std::uint32_t>(DropReason::packet_sock_error));
            TraceLog::instance().record(copy);
        }
        return;
    }
    const pcap::RecordHeader h =
        pcap::record_header(ts, caplen, static_cast<std::uint32_t>(len), config_.nanosecond);
    copy_in(h.data(), h.size());
    copy_in(pkt.data(), caplen);
    used_ += need;
    ++stats_.captured;
    if (writer_waiting_) work_.notify_one();  // a wakeup only when the writer sleeps
}

void Capture::copy_in(const std::uint8_t* src, std::size_t n) {
    const std::size_t first = std::min(n, ring_.size() - write_pos_);
    std::memcpy(ring_.data() + write_pos_, src, first);
    std::memcpy(ring_.data(), src + first, n - first);
    write_pos_ = (write_pos_ + n) % ring_.size();
}

void Capture::writer_main() {
    std::unique_lock lock(mu_);
    for (;;) {
        writer_waiting_ = true;
        work_.wait(lock, [&] { return used_ > 0 || stopping_; });
        writer_waiting_ = false;
        if (used_ == 0) break;  // stopping, and all written
        // The bytes up to the ring's end (the rest next round). Producers only write to the
        // free part, so these can be read unlocked.
        const std::size_t at = read_pos_;
        const std::size_t n = std::min(used_, ring_.size() - at);
        const bool failed = static_cast<bool>(error_);
        lock.unlock();
        std::error_code ec;
        if (!failed) ec = sink_->write({ring_.data() + at, n});
        lock.lock();
        read_pos_ = (at + n) % ring_.size();
        used_ -= n;
        if (ec) {
            // A sink that failed (a reader that went away) ends the capture; what is left in
            // the ring is discarded.
            error_ = ec;
            capturing_.store(false, std::memory_order_relaxed);
        } else if (!failed) {
            stats_.bytes_written += n;
        }
        drained_.notify_all();
    }
}

}  // namespace vlo
