#include "tools/vlod/capture_stream.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <chrono>

namespace vlo::vlod {

namespace {
// How often the io thread looks at a running capture: -c reached, client gone, sink failed.
constexpr std::chrono::milliseconds kWatchInterval{50};
// A client that stops reading fails the writer after this long, rather than holding the
// capture (and, when it is closed, the io thread) forever.
constexpr timeval kSendTimeout{2, 0};
}  // namespace

std::error_code CaptureStream::start(boost::asio::io_context& io, Capture& capture, int fd,
                                     std::uint64_t count) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &kSendTimeout, sizeof kSendTimeout);
    // On an error the sink, and the fd with it, is freed by start().
    if (std::error_code ec = capture.start(std::make_unique<FdPcapSink>(fd, true), count))
        return ec;
    std::make_shared<CaptureStream>(io, capture, fd)->watch();
    return {};
}

CaptureStream::CaptureStream(boost::asio::io_context& io, Capture& capture, int fd)
    : timer_(io), capture_(capture), fd_(fd) {}

CaptureStream::~CaptureStream() {
    if (open_) capture_.close();
}

bool CaptureStream::client_gone() const {
    pollfd p{fd_, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

void CaptureStream::watch() {
    if (capture_.done() || capture_.error() || client_gone()) {
        capture_.close();  // flushes what is queued, then the sink closes the connection
        open_ = false;
        return;
    }
    timer_.expires_after(kWatchInterval);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec) self->watch();
    });
}

}  // namespace vlo::vlod
