/* An echo server and client over vlo's lo, in C, through the C API only (vlo/socket.h): one
 * thread, a virtual clock, the server's sockets non-blocking behind poll(). Exit 0 when every
 * echo came back whole. Run by ctest as "C API echo". */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "posix/vlo/socket.h"

#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "c_api_echo: %s failed (errno %d: %s)\n", #cond, errno, \
                    strerror(errno));                                              \
            return 1;                                                              \
        }                                                                          \
    } while (0)

static int serve_once(vlo_stack *st, int conn) {
    char buf[256];
    struct pollfd p = {conn, POLLIN, 0};
    if (vlo_poll(st, &p, 1, 1000) != 1 || !(p.revents & POLLIN)) return -1;
    ssize_t n = vlo_read(st, conn, buf, sizeof buf);
    if (n <= 0) return (int)n;
    return vlo_write(st, conn, buf, (size_t)n) == n ? (int)n : -1;
}

int main(void) {
    vlo_stack *st = vlo_stack_new(VLO_CLOCK_VIRTUAL);
    CHECK(st != NULL);

    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(7);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    int lfd = vlo_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK(lfd >= 0);
    int one = 1;
    CHECK(vlo_setsockopt(st, lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    CHECK(vlo_bind(st, lfd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(vlo_listen(st, lfd, 8) == 0);

    int cfd = vlo_socket(st, AF_INET, SOCK_STREAM, 0);
    CHECK(cfd >= 0);
    CHECK(vlo_connect(st, cfd, (struct sockaddr *)&a, sizeof a) == 0);

    struct pollfd lp = {lfd, POLLIN, 0};
    CHECK(vlo_poll(st, &lp, 1, 1000) == 1);
    int sfd = vlo_accept4(st, lfd, NULL, NULL, SOCK_NONBLOCK);
    CHECK(sfd >= 0);

    const char *lines[] = {"hello, vlo\n", "a second line\n", "and the last one\n"};
    for (int i = 0; i < 3; ++i) {
        size_t len = strlen(lines[i]);
        CHECK(vlo_send(st, cfd, lines[i], len, MSG_NOSIGNAL) == (ssize_t)len);
        CHECK(serve_once(st, sfd) == (int)len);
        char back[256];
        CHECK(vlo_recv(st, cfd, back, len, MSG_WAITALL) == (ssize_t)len);
        CHECK(memcmp(back, lines[i], len) == 0);
    }

    /* The client hangs up; the server reads the end of the stream and closes. */
    CHECK(vlo_shutdown(st, cfd, SHUT_WR) == 0);
    CHECK(serve_once(st, sfd) == 0);
    CHECK(vlo_close(st, sfd) == 0);
    char rest[8];
    CHECK(vlo_read(st, cfd, rest, sizeof rest) == 0);
    CHECK(vlo_close(st, cfd) == 0);
    CHECK(vlo_close(st, lfd) == 0);
    CHECK(vlo_close(st, lfd) == -1 && errno == EBADF);
    vlo_stack_free(st);
    printf("c_api_echo: 3 lines echoed over vlo's lo through the C API\n");
    return 0;
}
