/* child.c - the jail's three processes (docs/sandbox.md, "Processes").
 *
 *   supervisor (jail_run, the caller)
 *     `- monitor: host PID namespace, jail's user/mount/net... namespaces.
 *        Creates the namespaces, opens the bind sources, then forks:
 *          - init: pid 1 of the new PID namespace; builds the root, mounts
 *            /proc, pivots, then drops everything and only reaps orphans;
 *          - command: pid 2; limits, session, fds, capabilities,
 *            NO_NEW_PRIVS, Landlock, seccomp, execve.
 *        The monitor reaps the command with wait4() and reports that
 *        status; it lives outside the jail's PID namespace, so nothing in
 *        the jail can see, signal or trace it.  Killing init kills the
 *        whole namespace; every process has PR_SET_PDEATHSIG(SIGKILL) on
 *        its parent, so the jail dies with the supervisor.
 *
 * None of this returns: a failure is sent to the supervisor as JMSG_ERROR
 * (naming the step and the path) and the process exits. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/nsfs.h>
#include <linux/securebits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"

/* ---- small helpers shared with the supervisor ---- */

uint64_t jail_now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int jail_msg_send_fd(int sock, const struct jail_msg *m, int fd)
{
        char cbuf[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {
                (void *)m, offsetof(struct jail_msg, text) + strnlen(m->text, sizeof(m->text) - 1) + 1
        };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (fd >= 0) {
                struct cmsghdr *c;

                memset(cbuf, 0, sizeof(cbuf));
                mh.msg_control = cbuf;
                mh.msg_controllen = sizeof(cbuf);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        for (;;) {
                if (sendmsg(sock, &mh, MSG_NOSIGNAL) >= 0)
                        return 0;
                if (errno != EINTR)
                        return -errno;
        }
}

int jail_msg_send(int sock, const struct jail_msg *m)
{
        return jail_msg_send_fd(sock, m, -1);
}

int jail_msg_recv(int sock, struct jail_msg *m, int *fd)
{
        char cbuf[CMSG_SPACE(sizeof(int))];
        struct iovec iov = { m, sizeof(*m) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                             .msg_controllen = sizeof(cbuf) };
        int got = -1;
        ssize_t n;

        if (fd != NULL)
                *fd = -1;
        memset(m, 0, sizeof(*m));
        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
                    c->cmsg_len == CMSG_LEN(sizeof(int)))
                        memcpy(&got, CMSG_DATA(c), sizeof(int));
        if (fd != NULL)
                *fd = got;
        else if (got >= 0)
                close(got);
        if (n == 0)
                return 0;
        if ((size_t)n < offsetof(struct jail_msg, text)) {
                if (fd != NULL && *fd >= 0) {
                        close(*fd);
                        *fd = -1;
                }
                return -EPROTO;
        }
        m->text[sizeof(m->text) - 1] = '\0';
        return 1;
}

static void send_error(int sock, const struct err *e)
{
        struct jail_msg m = { .type = JMSG_ERROR, .code = e->code };

        snprintf(m.text, sizeof(m.text), "%s", e->msg[0] ? e->msg : "jail: set-up failed");
        (void)jail_msg_send(sock, &m);
}

static void phase(const struct jail_child_ctx *ctx, const char *name)
{
        struct jail_msg m = { .type = JMSG_PHASE };

        if (!ctx->debug)
                return;
        m.t_ns = jail_now_ns();
        snprintf(m.text, sizeof(m.text), "%s", name);
        (void)jail_msg_send(ctx->sock, &m);
}

static __attribute__((noreturn)) void die(const struct jail_child_ctx *ctx, const struct err *e,
                                          int code)
{
        send_error(ctx->sock, e);
        _exit(code);
}

/* ---- namespaces and ids ---- */

static int write_file(const char *path, const char *text, struct err *err)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        int r;

        if (fd < 0)
                return err_set(err, errno, "open %s", path);
        r = write_all(fd, text, strlen(text));
        if (r < 0)
                return err_set(err, -r, "write %s", path);
        return 0;
}

/* unprivileged: map our own ids, the only mapping allowed */
static int map_self(const struct jail_child_ctx *ctx, uid_t outer_uid, gid_t outer_gid,
                    struct err *err)
{
        char line[64];
        int r;

        snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)ctx->spec->uid, (unsigned)outer_uid);
        if ((r = write_file("/proc/self/uid_map", line, err)) < 0)
                return err_wrap(err, "jail: user namespace");
        if ((r = write_file("/proc/self/setgroups", "deny", err)) < 0)
                return err_wrap(err, "jail: user namespace");
        snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)ctx->spec->gid, (unsigned)outer_gid);
        if ((r = write_file("/proc/self/gid_map", line, err)) < 0)
                return err_wrap(err, "jail: user namespace");
        return 0;
}

static int wait_for(int sock, uint32_t type, struct err *err)
{
        struct jail_msg m = { 0 };
        int r = jail_msg_recv(sock, &m, NULL);

        if (r <= 0)
                return err_set(err, r < 0 ? -r : EPIPE, "jail: the supervisor went away");
        if (m.type != type)
                return err_set(err, EPROTO, "jail: unexpected message %u", m.type);
        return 0;
}

static int user_namespace(const struct jail_child_ctx *ctx, struct err *err)
{
        uid_t outer_uid = geteuid();
        gid_t outer_gid = getegid();
        struct jail_msg m = { .type = JMSG_USERNS };
        int r;

        if (unshare(CLONE_NEWUSER) < 0)
                return err_set(err, errno, "jail: new user namespace");
        if (!ctx->root_mode)
                return map_self(ctx, outer_uid, outer_gid, err);
        /* only the supervisor (root outside) may map to another id */
        if ((r = jail_msg_send(ctx->sock, &m)) < 0)
                return err_set(err, -r, "jail: ask for the id maps");
        return wait_for(ctx->sock, JMSG_MAPPED, err);
}

static int become_ids(const struct jail_child_ctx *ctx, struct err *err)
{
        /* supplementary groups of root must not follow us in; an
         * unprivileged runner cannot drop its own (setgroups is denied) */
        if (ctx->root_mode && setgroups(0, NULL) < 0)
                return err_set(err, errno, "jail: setgroups");
        if (setresgid(ctx->spec->gid, ctx->spec->gid, ctx->spec->gid) < 0)
                return err_set(err, errno, "jail: setresgid %u", (unsigned)ctx->spec->gid);
        if (setresuid(ctx->spec->uid, ctx->spec->uid, ctx->spec->uid) < 0)
                return err_set(err, errno, "jail: setresuid %u", (unsigned)ctx->spec->uid);
        return 0;
}

int jail_loopback_up(struct err *err)
{
        _cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr;

        if (s < 0)
                return err_set(err, errno, "jail: loopback: socket");
        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
        if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
                return err_set(err, errno, "jail: loopback: get flags");
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
                return err_set(err, errno, "jail: loopback: up");
        return 0;
}

static int other_namespaces(const struct jail_child_ctx *ctx, struct err *err)
{
        int flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | CLONE_NEWPID;

        if (ctx->spec->netns_fd < 0)
                flags |= CLONE_NEWNET;
        if (unshare(flags) < 0)
                return err_set(err, errno, "jail: new namespaces");
        if (sethostname(JAIL_HOSTNAME, strlen(JAIL_HOSTNAME)) < 0)
                return err_set(err, errno, "jail: hostname");
        if (ctx->spec->netns_fd < 0 && ctx->spec->net == JAIL_NET_LOOPBACK) {
                int r = jail_loopback_up(err);

                if (r < 0)
                        return r;
        }
        /* nothing we mount may propagate back to the host */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return err_set(err, errno, "jail: make the mounts private");
        /* the pivot updates the root and cwd of every task pointing at the
         * old root: be one of them, so the command cannot inherit a cwd
         * outside the jail (CVE-2024-21626) */
        if (chdir("/") < 0)
                return err_set(err, errno, "jail: chdir /");
        return 0;
}

/* ---- privileges ---- */

static int drop_privileges(struct err *err)
{
        cap_t none = NULL;
        int r = 0;

        if (cap_set_secbits(SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                            SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
                            SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED) < 0)
                return err_set(err, errno, "jail: securebits");
        for (cap_value_t c = 0; c < (cap_value_t)cap_max_bits(); c++)
                if (cap_drop_bound(c) < 0 && errno != EINVAL)
                        return err_set(err, errno, "jail: drop capability %d from the bounding set", c);
        if (cap_reset_ambient() < 0)
                return err_set(err, errno, "jail: clear ambient capabilities");
        none = cap_init();
        if (none == NULL)
                return err_set(err, errno, "jail: cap_init");
        if (cap_set_proc(none) < 0)
                r = err_set(err, errno, "jail: drop capabilities");
        cap_free(none);
        if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                r = err_set(err, errno, "jail: PR_SET_NO_NEW_PRIVS");
        return r;
}

static int seal(const struct jail_child_ctx *ctx, struct err *err)
{
        int r = drop_privileges(err);

        if (r < 0)
                return r;
        r = jail_seccomp_load(ctx->filters);
        if (r < 0)
                return err_set(err, -r, "jail: load the seccomp filter");
        return 0;
}

static void reset_signals(void)
{
        sigset_t none;

        /* ignored signals survive execve: give the command a clean slate */
        for (int s = 1; s < NSIG; s++)
                if (s != SIGKILL && s != SIGSTOP)
                        (void)signal(s, SIG_DFL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
}

/* ---- init: pid 1 ---- */

static __attribute__((noreturn)) void init_main(const struct jail_child_ctx *ctx,
                                                struct jail_srcs *srcs, int ready, int go)
{
        struct err e = ERR_INIT;
        struct stat root;
        sigset_t chld;

        (void)prctl(PR_SET_NAME, "tfgate-init", 0, 0, 0);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
                err_set(&e, errno, "jail: init: PR_SET_PDEATHSIG");
                die(ctx, &e, 1);
        }
        if (jail_root_build(ctx->spec, srcs, ctx->sock, ctx->debug, go, &e) < 0)
                die(ctx, &e, 1);
        close(go);
        jail_srcs_close(srcs);
        /* tell the command which root it must have */
        if (stat("/", &root) < 0 || write(ready, &root, sizeof(root)) != (ssize_t)sizeof(root)) {
                err_set(&e, errno, "jail: init: report ready");
                die(ctx, &e, 1);
        }
        /* from here on init holds nothing: no fds, no capabilities */
        close_range(0, ~0U, 0);
        (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        if (seal(ctx, &e) < 0)
                _exit(1);
        sigfillset(&chld);
        sigprocmask(SIG_SETMASK, &chld, NULL);
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        for (;;) {
                /* orphans of the command land here; reap them */
                (void)sigwaitinfo(&chld, NULL);
                while (waitpid(-1, NULL, WNOHANG) > 0)
                        ;
        }
}

/* ---- the command: pid 2 ---- */

static int set_limit(int resource, uint64_t soft, uint64_t hard, const char *name, struct err *err)
{
        struct rlimit cur, want;

        if (getrlimit(resource, &cur) < 0)
                return err_set(err, errno, "jail: getrlimit %s", name);
        /* only lowering is possible without host privileges */
        want.rlim_max = hard < cur.rlim_max ? hard : cur.rlim_max;
        want.rlim_cur = soft < want.rlim_max ? soft : want.rlim_max;
        if (setrlimit(resource, &want) < 0)
                return err_set(err, errno, "jail: setrlimit %s", name);
        return 0;
}

static int set_limits(const struct jail_child_ctx *ctx, struct err *err)
{
        const struct jail_limits *l = &ctx->spec->limits;
        int r = set_limit(RLIMIT_CORE, 0, 0, "CORE", err);

        /* NPROC counts per user namespace and uid: the jail's own processes,
         * plus the monitor and init, which share the uid.  Behind a pids
         * cgroup it is only the second line, set looser, so the cgroup is
         * what refuses the fork and its event names the reason. */
        if (r == 0 && l->pids > 0) {
                uint64_t n = ctx->pids_cgroup ? 2 * l->pids + 2 : l->pids + 2;

                r = set_limit(RLIMIT_NPROC, n, n, "NPROC", err);
        }
        if (r == 0 && l->cpu_seconds > 0)
                r = set_limit(RLIMIT_CPU, l->cpu_seconds, l->cpu_seconds + 1, "CPU", err);
        if (r == 0 && l->file_size > 0)
                r = set_limit(RLIMIT_FSIZE, l->file_size, l->file_size, "FSIZE", err);
        if (r == 0 && l->nofile > 0)
                r = set_limit(RLIMIT_NOFILE, l->nofile, l->nofile, "NOFILE", err);
        if (r == 0 && l->memory > 0 && !ctx->memory_cgroup && l->address_space != UINT64_MAX) {
                uint64_t as = l->address_space ? l->address_space : l->memory;

                r = set_limit(RLIMIT_AS, as, as, "AS", err);
        }
        return r;
}

static int setup_stdio(const struct jail_child_ctx *ctx, struct err *err)
{
        int in = ctx->stdin_fd;
        int fds[3];

        if (in < 0) {
                in = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (in < 0)
                        return err_set(err, errno, "jail: open /dev/null");
        }
        /* lift the sources above 2 first, so no dup2 clobbers another */
        fds[0] = fcntl(in, F_DUPFD_CLOEXEC, 3);
        fds[1] = fcntl(ctx->out_w, F_DUPFD_CLOEXEC, 3);
        fds[2] = fcntl(ctx->err_w, F_DUPFD_CLOEXEC, 3);
        for (int i = 0; i < 3; i++) {
                if (fds[i] < 0 || dup2(fds[i], i) < 0)
                        return err_set(err, errno, "jail: standard fds");
                close(fds[i]);
        }
        return 0;
}

static int cmp_int(const void *a, const void *b)
{
        int x = *(const int *)a, y = *(const int *)b;

        return (x > y) - (x < y);
}

/* close every fd above 2 but those in keep[] (n <= 80) */
static void close_except(int *keep, size_t n)
{
        unsigned from = 3;

        qsort(keep, n, sizeof(int), cmp_int);
        for (size_t i = 0; i < n; i++) {
                if (keep[i] < 0)
                        continue;
                if ((unsigned)keep[i] > from)
                        close_range(from, (unsigned)keep[i] - 1, 0);
                if ((unsigned)keep[i] + 1 > from)
                        from = (unsigned)keep[i] + 1;
        }
        close_range(from, ~0U, 0);
}

/* the command: everything above 2 goes but the socket (CLOEXEC: gone at
 * execve) and the fds the spec passes on */
static int close_fds(const struct jail_child_ctx *ctx, struct err *err)
{
        int keep[80];
        size_t n = 0;

        keep[n++] = ctx->sock;
        for (size_t i = 0; i < ctx->spec->n_pass_fds && n < ARRAY_SIZE(keep); i++) {
                int fd = ctx->spec->pass_fds[i];

                if (fcntl(fd, F_SETFD, 0) < 0)
                        return err_set(err, errno, "jail: pass fd %d", fd);
                keep[n++] = fd;
        }
        close_except(keep, n);
        return 0;
}

/* the monitor is a fork of the runner: hold none of its other fds (forge
 * connections, listeners) for the life of the jail */
static void monitor_close_fds(const struct jail_child_ctx *ctx)
{
        int keep[80];
        size_t n = 0;

        keep[n++] = ctx->sock;
        keep[n++] = ctx->out_w;
        keep[n++] = ctx->err_w;
        keep[n++] = ctx->stdin_fd;
        keep[n++] = ctx->spec->netns_fd;
        for (size_t i = 0; i < ctx->spec->n_pass_fds && n < ARRAY_SIZE(keep); i++)
                keep[n++] = ctx->spec->pass_fds[i];
        close_except(keep, n);
}

static int enter_workdir(const char *dir, struct err *err)
{
        char cwd[4096];

        if (chdir(dir) < 0)
                return err_set(err, errno, "jail: workdir %s", dir);
        /* a cwd outside the root shows as "(unreachable)..." */
        if (getcwd(cwd, sizeof(cwd)) == NULL || cwd[0] != '/')
                return err_set(err, EPERM, "jail: workdir %s: outside the jail's root", dir);
        return 0;
}

static int exec_command(const struct jail_spec *spec, struct err *err)
{
        const char *name = spec->argv[0];
        const char *p = spec->path;
        int saved = ENOENT;

        if (strchr(name, '/') != NULL) {
                execve(name, spec->argv, spec->env);
                return err_set(err, errno, "jail: exec %s", name);
        }
        while (*p != '\0') {
                size_t n = strcspn(p, ":");
                char path[4096];

                if (n > 0 && snprintf(path, sizeof(path), "%.*s/%s", (int)n, p, name) <
                                     (int)sizeof(path)) {
                        execve(path, spec->argv, spec->env);
                        /* like execvp: keep looking, remember a denial */
                        if (errno == EACCES)
                                saved = EACCES;
                        else if (errno != ENOENT && errno != ENOTDIR)
                                saved = errno;
                }
                p += n;
                if (*p == ':')
                        p++;
        }
        return err_set(err, saved, "jail: exec %s", name);
}

static __attribute__((noreturn)) void command_main(const struct jail_child_ctx *ctx, int ready)
{
        struct jail_msg m = { .type = JMSG_EXEC };
        struct err e = ERR_INIT;
        _cleanup_close_ int adj = -1;
        struct stat want, root;
        int abi = 0;

        (void)prctl(PR_SET_NAME, "tfgate-command", 0, 0, 0);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
                err_set(&e, errno, "jail: PR_SET_PDEATHSIG");
                die(ctx, &e, 127);
        }
        /* init builds the root (and says why on the socket if it cannot) */
        if (read(ready, &want, sizeof(want)) != (ssize_t)sizeof(want))
                _exit(127);
        close(ready);
        /* never run with any other root than the jail's */
        if (stat("/", &root) < 0 || root.st_dev != want.st_dev || root.st_ino != want.st_ino) {
                err_set(&e, EPERM, "jail: the command's root is not the jail's");
                die(ctx, &e, 127);
        }
        phase(ctx, "command");
        if (setup_stdio(ctx, &e) < 0 || enter_workdir(ctx->spec->workdir, &e) < 0 ||
            set_limits(ctx, &e) < 0)
                die(ctx, &e, 127);
        phase(ctx, "limits");
        /* the jail's processes go first when the host runs out of memory */
        adj = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (adj >= 0)
                (void)write_all(adj, "1000", 4);
        if (setsid() < 0) {
                err_set(&e, errno, "jail: setsid");
                die(ctx, &e, 127);
        }
        if (close_fds(ctx, &e) < 0 || drop_privileges(&e) < 0)
                die(ctx, &e, 127);
        phase(ctx, "privileges");
        if (jail_landlock_apply(&abi, ctx->spec, &e) < 0)
                die(ctx, &e, 127);
        phase(ctx, "landlock");
        if (jail_seccomp_load(ctx->filters) < 0) {
                err_set(&e, errno, "jail: load the seccomp filter");
                die(ctx, &e, 127);
        }
        m.a = abi;
        m.t_ns = jail_now_ns();
        (void)jail_msg_send(ctx->sock, &m);
        exec_command(ctx->spec, &e);
        die(ctx, &e, 127);
}

/* ---- the monitor ---- */

struct monitor {
        pid_t init, cmd;
        int init_fd, cmd_fd;
        bool init_done, cmd_done;
        int status;
        struct rusage ru;
};

static void report_pid(const struct jail_child_ctx *ctx, bool init, pid_t pid, int pidfd)
{
        struct jail_msg m = { .type = JMSG_PIDS };

        if (init)
                m.a = pid;
        else
                m.b = pid;
        (void)jail_msg_send_fd(ctx->sock, &m, pidfd);
}

static void kill_jail(struct monitor *mon)
{
        /* the kernel kills every process of a PID namespace with its init */
        if (!mon->init_done)
                (void)pidfd_send_signal(mon->init_fd, SIGKILL, NULL, 0);
        if (!mon->cmd_done && mon->cmd_fd >= 0)
                (void)pidfd_send_signal(mon->cmd_fd, SIGKILL, NULL, 0);
}

static __attribute__((noreturn)) void supervise(const struct jail_child_ctx *ctx,
                                                struct monitor *mon)
{
        struct jail_msg m = { .type = JMSG_STATUS };
        bool sock_open = true;

        while (!mon->init_done || !mon->cmd_done) {
                struct pollfd p[3] = {
                        { mon->cmd_done ? -1 : mon->cmd_fd, POLLIN, 0 },
                        { mon->init_done ? -1 : mon->init_fd, POLLIN, 0 },
                        { sock_open ? ctx->sock : -1, POLLIN, 0 },
                };

                if (poll(p, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        kill_jail(mon);
                        _exit(1);
                }
                if (p[0].revents) {
                        if (wait4(mon->cmd, &mon->status, 0, &mon->ru) == mon->cmd) {
                                mon->cmd_done = true;
                                /* the command's tree dies with it */
                                kill_jail(mon);
                        }
                }
                if (p[1].revents) {
                        if (waitpid(mon->init, NULL, 0) == mon->init) {
                                mon->init_done = true;
                                kill_jail(mon);
                        }
                }
                if (p[2].revents) {
                        struct jail_msg in = { 0 };
                        int r = jail_msg_recv(ctx->sock, &in, NULL);

                        if (r <= 0)
                                sock_open = false;
                        if (r <= 0 || in.type == JMSG_KILL)
                                kill_jail(mon);
                }
        }
        m.a = mon->status;
        m.cpu_us = (uint64_t)mon->ru.ru_utime.tv_sec * 1000000 + (uint64_t)mon->ru.ru_utime.tv_usec +
                   (uint64_t)mon->ru.ru_stime.tv_sec * 1000000 + (uint64_t)mon->ru.ru_stime.tv_usec;
        m.maxrss_kb = (uint64_t)mon->ru.ru_maxrss;
        (void)jail_msg_send(ctx->sock, &m);
        _exit(0);
}

static int monitor(const struct jail_child_ctx *ctx, struct monitor *mon, struct err *err)
{
        struct jail_srcs srcs = { 0 };
        int ready[2], go[2];
        int r;

        (void)prctl(PR_SET_NAME, "tfgate-monitor", 0, 0, 0);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                return err_set(err, errno, "jail: PR_SET_PDEATHSIG");
        reset_signals();
        monitor_close_fds(ctx);
        /* the supervisor puts us into v2 cgroups first; v1 ones we enter */
        if (ctx->wait_go && (r = wait_for(ctx->sock, JMSG_GO, err)) < 0)
                return r;
        for (int i = 0; ctx->self_attach[i] != NULL; i++)
                if ((r = write_file(ctx->self_attach[i], "0", err)) < 0)
                        return err_wrap(err, "jail: cgroup: attach");
        phase(ctx, "monitor");
        if (ctx->spec->netns_fd >= 0 && (r = jail_netns_join(ctx->spec->netns_fd, err)) < 0)
                return r;
        if ((r = user_namespace(ctx, err)) < 0)
                return r;
        if ((r = other_namespaces(ctx, err)) < 0)
                return r;
        phase(ctx, "namespaces");
        /* still the runner's uid outside: sources under private parents open */
        if ((r = jail_srcs_open(&srcs, ctx->spec, err)) < 0)
                return r;
        if ((r = become_ids(ctx, err)) < 0)
                return r;
        (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        phase(ctx, "sources");
        if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0)
                return err_set(err, errno, "jail: pipe");
        mon->init = fork();
        if (mon->init < 0)
                return err_set(err, errno, "jail: fork init");
        if (mon->init == 0) {
                close(ready[0]);
                close(go[1]);
                init_main(ctx, &srcs, ready[1], go[0]);
        }
        close(go[0]);
        mon->init_fd = pidfd_open(mon->init, 0);
        if (mon->init_fd < 0) {
                r = err_set(err, errno, "jail: pidfd of init");
                kill(mon->init, SIGKILL);
                waitpid(mon->init, NULL, 0);
                return r;
        }
        report_pid(ctx, true, mon->init, mon->init_fd);
        /* the command starts now and waits for init's root itself: one
         * hand-over less on the way to execve */
        mon->cmd = fork();
        if (mon->cmd < 0) {
                r = err_set(err, errno, "jail: fork the command");
                kill_jail(mon);
                waitpid(mon->init, NULL, 0);
                return r;
        }
        if (mon->cmd == 0) {
                close(ready[1]);
                close(go[1]);
                jail_srcs_close(&srcs);
                command_main(ctx, ready[0]);
        }
        /* the command is a task now: init may pivot (see jail_root_build) */
        if (write(go[1], "G", 1) != 1) {
                r = err_set(err, errno, "jail: release init");
                kill_jail(mon);
                waitpid(mon->cmd, NULL, 0);
                waitpid(mon->init, NULL, 0);
                return r;
        }
        close(go[1]);
        close(ready[0]);
        close(ready[1]);
        jail_srcs_close(&srcs);
        mon->cmd_fd = pidfd_open(mon->cmd, 0);
        if (mon->cmd_fd >= 0)
                report_pid(ctx, false, mon->cmd, mon->cmd_fd);
        close(ctx->out_w);
        close(ctx->err_w);
        if (ctx->stdin_fd >= 0)
                close(ctx->stdin_fd);
        if (mon->cmd_fd < 0 || seal(ctx, err) < 0) {
                r = mon->cmd_fd < 0 ? err_set(err, errno, "jail: pidfd of the command")
                                    : err->code;
                kill_jail(mon);
                waitpid(mon->cmd, NULL, 0);
                waitpid(mon->init, NULL, 0);
                return r;
        }
        supervise(ctx, mon);
}

void jail_monitor_main(const struct jail_child_ctx *ctx)
{
        struct monitor mon = { .init_fd = -1, .cmd_fd = -1 };
        struct err e = ERR_INIT;

        if (monitor(ctx, &mon, &e) < 0)
                die(ctx, &e, 1);
        _exit(1);
}
