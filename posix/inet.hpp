// The two AF_INET protocols behind socket(2): inet_stream_ops over TCP, inet_dgram_ops over
// UDP (tcp_file.cpp, udp_file.cpp).
#pragma once

#include <memory>

#include "posix/socket.hpp"

namespace vlo::posix {

std::shared_ptr<Socket> tcp_socket_create(Net& net);
std::shared_ptr<Socket> udp_socket_create(Net& net);

// Bytes described by an iovec array, and the copies between it and a contiguous buffer
// (copy_to_iter / copy_from_iter). A null base with a non-zero length is EFAULT (-1 here).
std::size_t iov_length(const msghdr& msg);

// The common SO_RCVTIMEO/SO_SNDTIMEO blocking rule (sock_rcvtimeo): 0 for non-blocking.
inline bool is_nonblock(const Socket& s, int flags) {
    return (flags & MSG_DONTWAIT) != 0 || s.nonblocking();
}

}  // namespace vlo::posix
