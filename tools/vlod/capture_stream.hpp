// A capture a client started over the control socket: the device's capture tap writes its
// pcap stream into the client's connection (from its own writer thread, so the stack never
// waits) until -c packets went out, the client hung up or the connection failed; then the
// capture is closed, the rest of its ring flushed, and the connection with it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <system_error>

#include "netif/capture.hpp"

namespace vlo::vlod {

class CaptureStream : public std::enable_shared_from_this<CaptureStream> {
  public:
    // Starts `capture` into `fd` (a connected, blocking socket this then owns) and watches it
    // on `io`. On an error the fd is closed and nothing runs.
    static std::error_code start(boost::asio::io_context& io, Capture& capture, int fd,
                                 std::uint64_t count);

    CaptureStream(boost::asio::io_context& io, Capture& capture, int fd);
    ~CaptureStream();  // closes the capture if it still runs (vlod stopping)
    CaptureStream(const CaptureStream&) = delete;
    CaptureStream& operator=(const CaptureStream&) = delete;

  private:
    void watch();
    bool client_gone() const;

    boost::asio::steady_timer timer_;
    Capture& capture_;
    int fd_;  // owned by the capture's sink; here only polled for the client's hang-up
    bool open_ = true;
};

}  // namespace vlo::vlod
