/* netns_socket.c - a socket made inside a jail's network namespace, for the
 * runner to use from outside (a readiness probe of a jailed emulator).  A
 * socket stays in the namespace it was created in, so the runner never has
 * to join the namespace, and nothing else on the host is reachable through
 * it.  A short-lived child joins the namespace (through its owning user
 * namespace when the runner is unprivileged), creates the socket and hands
 * it back over SCM_RIGHTS. */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "runner/util/cleanup.h"

static int enter(int nsfd)
{
        _cleanup_close_ int userns = -1;

        if (setns(nsfd, CLONE_NEWNET) == 0)
                return 0;
        if (errno != EPERM)
                return -errno;
        userns = ioctl(nsfd, NS_GET_USERNS);
        if (userns < 0 || setns(userns, CLONE_NEWUSER) < 0 || setns(nsfd, CLONE_NEWNET) < 0)
                return -errno;
        return 0;
}

static __attribute__((noreturn)) void child(int sock, int nsfd, int domain, int type)
{
        char cbuf[CMSG_SPACE(sizeof(int))];
        int e = 0, fd = -1;
        struct iovec iov = { &e, sizeof(e) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        e = enter(nsfd);
        if (e == 0) {
                fd = socket(domain, type | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        e = -errno;
        }
        if (fd >= 0) {
                memset(cbuf, 0, sizeof(cbuf));
                mh.msg_control = cbuf;
                mh.msg_controllen = sizeof(cbuf);
                CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
                CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
                CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), &fd, sizeof(int));
        }
        _exit(sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? 1 : 0);
}

int jail_netns_socket(int *out, const struct jail_netns *ns, int domain, int type,
                      struct err *err)
{
        char cbuf[CMSG_SPACE(sizeof(int))];
        int e = 0, sp[2];
        struct iovec iov = { &e, sizeof(e) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                             .msg_controllen = sizeof(cbuf) };
        struct cmsghdr *c;
        ssize_t n;
        pid_t pid;

        *out = -1;
        if (jail_netns_fd(ns) < 0)
                return err_set(err, EINVAL, "jail: socket in network namespace: no namespace");
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                return err_set(err, errno, "jail: socket in network namespace: socketpair");
        pid = fork();
        if (pid < 0) {
                e = errno;
                close(sp[0]);
                close(sp[1]);
                return err_set(err, e, "jail: socket in network namespace: fork");
        }
        if (pid == 0) {
                close(sp[0]);
                child(sp[1], jail_netns_fd(ns), domain, type);
        }
        close(sp[1]);
        do
                n = recvmsg(sp[0], &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        e = n < 0 ? -errno : (n == (ssize_t)sizeof(e) ? e : -EPROTO);
        close(sp[0]);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
        if (e == 0 && c != NULL && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                memcpy(out, CMSG_DATA(c), sizeof(int));
                return 0;
        }
        return err_set(err, e < 0 ? -e : EPROTO, "jail: socket in network namespace");
}
