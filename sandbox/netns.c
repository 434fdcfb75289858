/* netns.c - network namespaces shared by several jails (an emulator and the
 * steps that talk to it).
 *
 * A namespace lives as long as something refers to it; here that is a file
 * descriptor: no holder process, no bind mount under /run, so nothing can be
 * left behind when the runner dies.  A short-lived helper creates it (and,
 * when the runner is unprivileged, the user namespace that must own it, with
 * the runner's ids mapped to themselves), brings lo up, and hands the fd
 * back over a socket.  Jails join it with setns(); unprivileged ones go
 * through its owning user namespace.  jail_netns_socket() makes a socket
 * inside it for the runner itself (a socket stays in the namespace it was
 * created in), e.g. to check that an emulator answers. */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

struct jail_netns {
        int fd;
};

static int write_text(const char *path, const char *text, struct err *err)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        int r;

        if (fd < 0)
                return err_set(err, errno, "open %s", path);
        r = write_all(fd, text, strlen(text));
        return r < 0 ? err_set(err, -r, "write %s", path) : 0;
}

static int helper_setup(int *nsfd, struct err *err)
{
        uid_t uid = geteuid();
        gid_t gid = getegid();
        char line[64];
        int r;

        if (uid == 0) {
                if (unshare(CLONE_NEWNET) < 0)
                        return err_set(err, errno, "jail: network namespace: unshare");
        } else {
                if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
                        return err_set(err, errno, "jail: network namespace: unshare");
                snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
                if ((r = write_text("/proc/self/uid_map", line, err)) < 0 ||
                    (r = write_text("/proc/self/setgroups", "deny", err)) < 0)
                        return err_wrap(err, "jail: network namespace");
                snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
                if ((r = write_text("/proc/self/gid_map", line, err)) < 0)
                        return err_wrap(err, "jail: network namespace");
        }
        if ((r = jail_loopback_up(err)) < 0)
                return r;
        *nsfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (*nsfd < 0)
                return err_set(err, errno, "jail: network namespace: open");
        return 0;
}

int jail_netns_join(int fd, struct err *err)
{
        _cleanup_close_ int userns = -1;

        if (setns(fd, CLONE_NEWNET) == 0)
                return 0;
        if (errno != EPERM)
                return err_set(err, errno, "jail: join the network namespace");
        userns = ioctl(fd, NS_GET_USERNS);
        if (userns < 0)
                return err_set(err, errno, "jail: join the network namespace: its owner");
        if (setns(userns, CLONE_NEWUSER) < 0)
                return err_set(err, errno, "jail: join the network namespace's user namespace");
        if (setns(fd, CLONE_NEWNET) < 0)
                return err_set(err, errno, "jail: join the network namespace");
        return 0;
}

static void send_result(int sock, int fd, const struct err *e)
{
        char cbuf[CMSG_SPACE(sizeof(int))];
        struct iovec iov;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (fd < 0) {
                iov.iov_base = (void *)e->msg;
                iov.iov_len = strlen(e->msg) + 1;
                (void)sendmsg(sock, &mh, MSG_NOSIGNAL);
                return;
        }
        iov.iov_base = (void *)"";
        iov.iov_len = 1;
        memset(cbuf, 0, sizeof(cbuf));
        mh.msg_control = cbuf;
        mh.msg_controllen = sizeof(cbuf);
        CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
        CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
        CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), &fd, sizeof(int));
        (void)sendmsg(sock, &mh, MSG_NOSIGNAL);
}

static __attribute__((noreturn)) void helper(int sock)
{
        struct err e = ERR_INIT;
        int fd = -1;

        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (helper_setup(&fd, &e) < 0)
                fd = -1;
        send_result(sock, fd, &e);
        _exit(fd < 0 ? 1 : 0);
}

static int receive(int sock, int *fd, struct err *err)
{
        char text[ERR_MSG_MAX];
        char cbuf[CMSG_SPACE(sizeof(int))];
        struct iovec iov = { text, sizeof(text) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                             .msg_controllen = sizeof(cbuf) };
        struct cmsghdr *c;
        ssize_t n;

        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return err_set(err, errno, "jail: network namespace: receive");
        c = CMSG_FIRSTHDR(&mh);
        if (c != NULL && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                memcpy(fd, CMSG_DATA(c), sizeof(int));
                return 0;
        }
        text[sizeof(text) - 1] = '\0';
        return err_set(err, 0, "%s", n > 1 ? text : "jail: network namespace: helper failed");
}

/* run fn in a forked child and receive the descriptor it sends back */
static int from_helper(int *out, void (*fn)(int sock, const void *arg), const void *arg,
                       struct err *err)
{
        int sp[2];
        pid_t pid;
        int r;

        *out = -1;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                return err_set(err, errno, "jail: network namespace: socketpair");
        pid = fork();
        if (pid < 0) {
                r = err_set(err, errno, "jail: network namespace: fork");
                close(sp[0]);
                close(sp[1]);
                return r;
        }
        if (pid == 0) {
                close(sp[0]);
                fn(sp[1], arg);
                _exit(1);
        }
        close(sp[1]);
        r = receive(sp[0], out, err);
        close(sp[0]);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        return r;
}

static void new_ns(int sock, const void *arg)
{
        (void)arg;
        helper(sock);
}

int jail_netns_new(struct jail_netns **out, struct err *err)
{
        int fd;
        int r = from_helper(&fd, new_ns, NULL, err);

        *out = NULL;
        if (r < 0)
                return r;
        *out = xmalloc(sizeof(**out));
        (*out)->fd = fd;
        return 0;
}

struct sock_args {
        int nsfd;
        int domain;
        int type;
};

static void make_socket(int sock, const void *arg)
{
        const struct sock_args *a = arg;
        struct err e = ERR_INIT;
        int fd = -1;

        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (jail_netns_join(a->nsfd, &e) == 0) {
                fd = socket(a->domain, a->type | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        err_set(&e, errno, "jail: socket in the network namespace");
        }
        send_result(sock, fd, &e);
        _exit(fd < 0 ? 1 : 0);
}

int jail_netns_socket(int *out, const struct jail_netns *ns, int domain, int type, struct err *err)
{
        struct sock_args a = { jail_netns_fd(ns), domain, type };

        *out = -1;
        if (a.nsfd < 0)
                return err_set(err, EINVAL, "jail: no network namespace given");
        return from_helper(out, make_socket, &a, err);
}

int jail_netns_open(struct jail_netns **out, const char *path, struct err *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        int type;

        *out = NULL;
        if (fd < 0)
                return err_set(err, errno, "jail: network namespace %s", path);
        type = ioctl(fd, NS_GET_NSTYPE);
        if (type < 0 || type != CLONE_NEWNET)
                return err_set(err, EINVAL, "jail: %s: not a network namespace", path);
        *out = xmalloc(sizeof(**out));
        (*out)->fd = TAKE_FD(fd);
        return 0;
}

int jail_netns_fd(const struct jail_netns *ns)
{
        return ns != NULL ? ns->fd : -1;
}

void jail_netns_free(struct jail_netns *ns)
{
        if (ns == NULL)
                return;
        if (ns->fd >= 0)
                close(ns->fd);
        free(ns);
}
