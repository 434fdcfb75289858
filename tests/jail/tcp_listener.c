/* tcp_listener.c - a TCP listener on the host's 127.0.0.1 that the jail
 * must not reach.
 *
 * Usage: tcp_listener PORTFILE [SECONDS]   (default 60, cap 300)
 * Binds 127.0.0.1 on a free port, writes the port to PORTFILE (atomically),
 * prints `accept` for every connection it gets, and exits at the deadline
 * or on SIGTERM.  Only ever binds to loopback. */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bomb_common.h"

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
        (void)sig;
        stop = 1;
}

int main(int argc, char **argv)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);
        char tmp[PATH_MAX];
        long secs;
        double deadline;
        FILE *f;
        int fd;

        if (argc < 2) {
                fprintf(stderr, "usage: tcp_listener PORTFILE [SECONDS]\n");
                return 2;
        }
        secs = argc > 2 ? bomb_arg("tcp_listener", argv[2], 300) : 60;
        deadline = bomb_now() + (double)secs;
        signal(SIGTERM, on_term);
        setvbuf(stdout, NULL, _IOLBF, 0);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0 ||
            getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
                perror("tcp_listener");
                return 3;
        }
        snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
        f = fopen(tmp, "w");
        if (f == NULL || fprintf(f, "%u\n", (unsigned)ntohs(a.sin_port)) < 0 || fclose(f) != 0 ||
            rename(tmp, argv[1]) < 0) {
                perror("tcp_listener: port file");
                return 3;
        }
        while (!stop && bomb_now() < deadline) {
                struct pollfd p = { .fd = fd, .events = POLLIN };

                if (poll(&p, 1, 200) <= 0)
                        continue;
                int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

                if (c >= 0) {
                        printf("accept\n");
                        close(c);
                }
        }
        return 0;
}
