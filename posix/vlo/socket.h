/* vlo's socket API in plain C: Linux's socket system calls over a vlo stack in this process.
 * Every call takes the stack as its first argument; otherwise arguments, results and errors
 * are the system call's: -1 with errno set as Linux sets it.
 *
 *   vlo_stack *st = vlo_stack_new(VLO_CLOCK_VIRTUAL);   // lo with 127.0.0.0/8
 *   int fd = vlo_socket(st, AF_INET, SOCK_STREAM, 0);
 *   vlo_connect(st, fd, (struct sockaddr *)&sin, sizeof sin);
 *   ...
 *   vlo_stack_free(st);
 *
 * Under the virtual clock a call that would block moves the clock to the stack's next timer
 * (a 1 s retransmission costs no real time); vlo_clock_advance moves it by hand. */
#ifndef VLO_SOCKET_H
#define VLO_SOCKET_H

#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vlo_stack vlo_stack;

enum vlo_clock_kind {
    VLO_CLOCK_REAL = 0,    /* CLOCK_MONOTONIC; a thread runs the timers */
    VLO_CLOCK_VIRTUAL = 1, /* stands still until a call waits or vlo_clock_advance moves it */
};

/* A stack with lo (127.0.0.1/8) only. NULL with errno on failure. */
vlo_stack *vlo_stack_new(int clock_kind);
/* Closes every descriptor still open, then frees the stack. */
void vlo_stack_free(vlo_stack *st);
/* The stack's clock in nanoseconds. */
long long vlo_clock_now_ns(vlo_stack *st);
/* Moves a virtual clock on by ns, running every timer that comes due; EINVAL on a real clock. */
int vlo_clock_advance(vlo_stack *st, long long ns);
/* Runs the timers due now (a virtual clock's driver does this after moving time). */
int vlo_run_timers(vlo_stack *st);
/* One iptables command in iptables' words ("-A INPUT -d 127.0.0.2 -p tcp -j REJECT"). */
int vlo_iptables(vlo_stack *st, const char *rule);
/* A counter by its nstat name ("TcpExtLockDroppedIcmps", "TcpOutRsts"); 0 if none. */
unsigned long long vlo_counter(vlo_stack *st, const char *nstat_name);

int vlo_socket(vlo_stack *st, int domain, int type, int protocol);
int vlo_bind(vlo_stack *st, int fd, const struct sockaddr *addr, socklen_t len);
int vlo_listen(vlo_stack *st, int fd, int backlog);
int vlo_accept(vlo_stack *st, int fd, struct sockaddr *addr, socklen_t *len);
int vlo_accept4(vlo_stack *st, int fd, struct sockaddr *addr, socklen_t *len, int flags);
int vlo_connect(vlo_stack *st, int fd, const struct sockaddr *addr, socklen_t len);
ssize_t vlo_send(vlo_stack *st, int fd, const void *buf, size_t len, int flags);
ssize_t vlo_recv(vlo_stack *st, int fd, void *buf, size_t len, int flags);
ssize_t vlo_sendto(vlo_stack *st, int fd, const void *buf, size_t len, int flags,
                   const struct sockaddr *to, socklen_t tolen);
ssize_t vlo_recvfrom(vlo_stack *st, int fd, void *buf, size_t len, int flags,
                     struct sockaddr *from, socklen_t *fromlen);
ssize_t vlo_sendmsg(vlo_stack *st, int fd, const struct msghdr *msg, int flags);
ssize_t vlo_recvmsg(vlo_stack *st, int fd, struct msghdr *msg, int flags);
ssize_t vlo_read(vlo_stack *st, int fd, void *buf, size_t len);
ssize_t vlo_write(vlo_stack *st, int fd, const void *buf, size_t len);
ssize_t vlo_readv(vlo_stack *st, int fd, const struct iovec *iov, int iovcnt);
ssize_t vlo_writev(vlo_stack *st, int fd, const struct iovec *iov, int iovcnt);
int vlo_shutdown(vlo_stack *st, int fd, int how);
int vlo_close(vlo_stack *st, int fd);
int vlo_getsockname(vlo_stack *st, int fd, struct sockaddr *addr, socklen_t *len);
int vlo_getpeername(vlo_stack *st, int fd, struct sockaddr *addr, socklen_t *len);
int vlo_getsockopt(vlo_stack *st, int fd, int level, int name, void *val, socklen_t *len);
int vlo_setsockopt(vlo_stack *st, int fd, int level, int name, const void *val, socklen_t len);
/* F_GETFL, F_SETFL (O_NONBLOCK), F_GETFD, F_SETFD; the third argument as fcntl's. */
int vlo_fcntl(vlo_stack *st, int fd, int cmd, ...);
/* FIONREAD/SIOCINQ, SIOCOUTQ, SIOCOUTQNSD (int *), FIONBIO (const int *). */
int vlo_ioctl(vlo_stack *st, int fd, unsigned long request, ...);
int vlo_poll(vlo_stack *st, struct pollfd *fds, nfds_t nfds, int timeout_ms);
int vlo_select(vlo_stack *st, int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
               struct timeval *timeout);
int vlo_epoll_create(vlo_stack *st, int size);
int vlo_epoll_create1(vlo_stack *st, int flags);
int vlo_epoll_ctl(vlo_stack *st, int epfd, int op, int fd, struct epoll_event *event);
int vlo_epoll_wait(vlo_stack *st, int epfd, struct epoll_event *events, int maxevents,
                   int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* VLO_SOCKET_H */
