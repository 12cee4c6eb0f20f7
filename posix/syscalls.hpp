// Linux's socket system calls over vlo, one Net (process) at a time. Each returns what the
// system call returns, or a negative errno (as the kernel's sys_* functions do); the C API
// (vlo/socket.h) turns that into -1 and errno. Argument checks follow net/socket.c,
// fs/read_write.c, fs/fcntl.c, fs/select.c and fs/eventpoll.c, in their order, so a call with
// several bad arguments fails as Linux's does.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdarg>
#include <cstddef>

#include "posix/net.hpp"

namespace vlo::posix {

long sys_socket(Net& net, int domain, int type, int protocol);
long sys_bind(Net& net, int fd, const sockaddr* addr, socklen_t len);
long sys_listen(Net& net, int fd, int backlog);
long sys_accept4(Net& net, int fd, sockaddr* addr, socklen_t* len, int flags);
long sys_connect(Net& net, int fd, const sockaddr* addr, socklen_t len);
long sys_sendto(Net& net, int fd, const void* buf, std::size_t len, int flags, const sockaddr* to,
                socklen_t tolen);
long sys_recvfrom(Net& net, int fd, void* buf, std::size_t len, int flags, sockaddr* from,
                  socklen_t* fromlen);
long sys_sendmsg(Net& net, int fd, const msghdr* msg, int flags);
long sys_recvmsg(Net& net, int fd, msghdr* msg, int flags);
long sys_shutdown(Net& net, int fd, int how);
long sys_getsockname(Net& net, int fd, sockaddr* addr, socklen_t* len);
long sys_getpeername(Net& net, int fd, sockaddr* addr, socklen_t* len);
long sys_setsockopt(Net& net, int fd, int level, int name, const void* val, socklen_t len);
long sys_getsockopt(Net& net, int fd, int level, int name, void* val, socklen_t* len);

long sys_read(Net& net, int fd, void* buf, std::size_t len);
long sys_write(Net& net, int fd, const void* buf, std::size_t len);
long sys_readv(Net& net, int fd, const iovec* iov, int iovcnt);
long sys_writev(Net& net, int fd, const iovec* iov, int iovcnt);
long sys_close(Net& net, int fd);
long sys_fcntl(Net& net, int fd, int cmd, long arg);
// The third argument of a variadic fcntl(fd, cmd, ...): only the commands that take one read it.
inline long fcntl_arg(int cmd, va_list ap) { return cmd == F_SETFL || cmd == F_SETFD ? va_arg(ap, long) : 0; }
long sys_ioctl(Net& net, int fd, unsigned long request, void* arg);

long sys_poll(Net& net, pollfd* fds, nfds_t nfds, int timeout_ms);
long sys_select(Net& net, int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds,
                timeval* timeout);
long sys_epoll_create1(Net& net, int flags);
long sys_epoll_create(Net& net, int size);
long sys_epoll_ctl(Net& net, int epfd, int op, int fd, epoll_event* event);
long sys_epoll_wait(Net& net, int epfd, epoll_event* events, int maxevents, int timeout_ms);

}  // namespace vlo::posix
