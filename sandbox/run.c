/* run.c - jail_run(): the supervisor side.
 *
 * Creates the cgroups, forks the monitor (child.c) and then multiplexes:
 * messages from the jail's processes, the command's stdout and stderr, the
 * monitor's pidfd, the caller's cancel fd, the wall-clock deadline and the
 * cgroup events.  Every limit that fires is turned into a kill of the
 * jail's init (through its pidfd, which the monitor passed over, so a reused
 * pid is never signalled) and recorded as the reason.  On every path the
 * jail's processes are gone (monitor reaped, init and command pidfds
 * readable) and the cgroups removed before jail_run returns. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/log.h"
#include "runner/util/xalloc.h"

#define NS_PER_MS 1000000ULL
/* how long a killed jail may take to go away before the monitor is killed */
#define KILL_GRACE_MS 2000
/* how long output may keep coming after the monitor is gone */
#define DRAIN_GRACE_MS 2000
/* how often the cgroup event files are read while the command runs */
#define EVENTS_EVERY_MS 50

struct run {
        const struct jail_spec *spec;
        const struct jail_io *io;
        struct jail_result *out;
        uint64_t t0;
        bool debug;
        struct jail_cgroup cg;
        int sock;
        int out_r, err_r;
        pid_t xpid;
        int xfd;
        bool x_reaped;
        int x_status;
        uint64_t x_reaped_at;
        int init_fd, cmd_fd;
        bool got_status;
        int wstatus;
        uint64_t cpu_us, maxrss_kb;
        bool setup_failed;
        struct err setup_err;
        bool kill_requested;
        enum jail_reason kill_reason;
        uint64_t kill_at;
        uint64_t delivered;
        bool stop_delivery;
        uint64_t next_events;
        uid_t ouid;
        gid_t ogid;
        pid_t janitor;
        int janitor_fd;
};

static const char *const reason_names[] = {
        [JAIL_EXITED] = "exit",
        [JAIL_SIGNALED] = "signal",
        [JAIL_TIMEOUT] = "timeout",
        [JAIL_MEMORY] = "memory",
        [JAIL_PIDS] = "pids",
        [JAIL_OUTPUT_LIMIT] = "output-limit",
        [JAIL_SETUP_FAILED] = "setup-failed",
        [JAIL_CANCELED] = "canceled",
};

const char *jail_reason_name(enum jail_reason r)
{
        return (unsigned)r < ARRAY_SIZE(reason_names) ? reason_names[r] : "?";
}

const char *jail_cgroup_mode_name(enum jail_cgroup_mode m)
{
        static const char *const names[] = { "none", "v1", "v2" };

        return (unsigned)m < ARRAY_SIZE(names) ? names[m] : "?";
}

static void phase_log(const struct run *R, const char *name)
{
        if (R->debug)
                log_debug("jail %s: phase %-10s +%.3f ms", R->out->exec_id, name,
                          (double)(jail_now_ns() - R->t0) / 1e6);
}

static void close_fd(int *fd)
{
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

static void signal_fd(int pidfd)
{
        if (pidfd >= 0)
                (void)pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
}

static void request_kill(struct run *R, enum jail_reason why)
{
        struct jail_msg m = { .type = JMSG_KILL };

        if (R->kill_requested)
                return;
        R->kill_requested = true;
        R->kill_reason = why;
        R->kill_at = jail_now_ns();
        log_debug("jail %s: killing the jail (%s)", R->out->exec_id, jail_reason_name(why));
        /* init's death takes the whole PID namespace with it */
        signal_fd(R->init_fd);
        if (R->init_fd < 0 && !R->x_reaped) {
                /* still setting up: the monitor's death takes init along
                 * (PR_SET_PDEATHSIG) */
                signal_fd(R->xfd);
        } else if (R->sock >= 0) {
                (void)jail_msg_send(R->sock, &m);
        }
}

static int write_map(pid_t pid, const char *file, unsigned inside, unsigned outside,
                     struct err *err)
{
        char path[64], line[64];
        _cleanup_close_ int fd = -1;
        int r;

        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
        snprintf(line, sizeof(line), "%u %u 1\n", inside, outside);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return err_set(err, errno, "jail: user namespace: open %s", path);
        r = write_all(fd, line, strlen(line));
        if (r < 0)
                return err_set(err, -r, "jail: user namespace: write %s", path);
        return 0;
}

/* root inside the jail, or its uid, maps to an unprivileged id outside;
 * only we, root outside, may write such a map */
static int write_maps(struct run *R, struct err *err)
{
        int r = write_map(R->xpid, "uid_map", (unsigned)R->spec->uid, (unsigned)R->ouid, err);

        if (r == 0)
                r = write_map(R->xpid, "gid_map", (unsigned)R->spec->gid, (unsigned)R->ogid, err);
        return r;
}

static void set_setup_error(struct run *R, const char *msg, int code)
{
        if (R->setup_failed)
                return;
        R->setup_failed = true;
        snprintf(R->setup_err.msg, sizeof(R->setup_err.msg), "%s", msg);
        R->setup_err.code = code < 0 ? code : -EINVAL;
}

static void on_message(struct run *R, const struct jail_msg *m, int fd)
{
        struct err e = ERR_INIT;
        struct jail_msg reply = { .type = JMSG_MAPPED };

        switch (m->type) {
        case JMSG_USERNS:
                if (write_maps(R, &e) < 0 || jail_msg_send(R->sock, &reply) < 0) {
                        set_setup_error(R, e.msg[0] ? e.msg : "jail: id maps", e.code);
                        request_kill(R, JAIL_SETUP_FAILED);
                }
                break;
        case JMSG_PIDS:
                if (m->a > 0 && R->init_fd < 0 && fd >= 0) {
                        R->init_fd = fd;
                        fd = -1;
                        if (R->kill_requested)
                                signal_fd(R->init_fd);
                } else if (m->b > 0 && R->cmd_fd < 0 && fd >= 0) {
                        R->cmd_fd = fd;
                        fd = -1;
                }
                break;
        case JMSG_PHASE:
                log_debug("jail %s: phase %-10s +%.3f ms", R->out->exec_id, m->text,
                          (double)(m->t_ns - R->t0) / 1e6);
                break;
        case JMSG_EXEC:
                R->out->ran = true;
                R->out->landlock_abi = m->a;
                R->out->setup_us = (m->t_ns - R->t0) / 1000;
                log_debug("jail %s: phase %-10s +%.3f ms (landlock ABI %d)", R->out->exec_id,
                          "execve", (double)(m->t_ns - R->t0) / 1e6, m->a);
                break;
        case JMSG_ERROR:
                R->out->ran = false;
                set_setup_error(R, m->text, m->code);
                break;
        case JMSG_STATUS:
                phase_log(R, "status");
                R->got_status = true;
                R->wstatus = m->a;
                R->cpu_us = m->cpu_us;
                R->maxrss_kb = m->maxrss_kb;
                break;
        default:
                break;
        }
        if (fd >= 0)
                close(fd);
}

static void deliver(struct run *R, enum jail_stream s, const char *buf, size_t n)
{
        uint64_t limit = R->spec->limits.output_bytes;
        size_t give = n;

        R->out->output_bytes += n;
        if (R->stop_delivery)
                return;
        if (limit > 0 && R->delivered + n > limit) {
                give = (size_t)(limit - R->delivered);
                R->out->output_truncated = true;
                R->stop_delivery = true;
                request_kill(R, JAIL_OUTPUT_LIMIT);
        }
        if (give > 0 && R->io->output != NULL && R->io->output(R->io->opaque, s, buf, give) < 0) {
                R->stop_delivery = true;
                request_kill(R, JAIL_CANCELED);
        }
        R->delivered += give;
}

static void read_stream(struct run *R, int *fd, enum jail_stream s)
{
        static __thread char buf[65536];

        /* bounded per wake-up, so one stream cannot starve the other */
        for (int i = 0; i < 16 && *fd >= 0; i++) {
                ssize_t n = read(*fd, buf, sizeof(buf));

                if (n > 0)
                        deliver(R, s, buf, (size_t)n);
                else if (n < 0 && errno == EINTR)
                        continue;
                else if (n < 0 && errno == EAGAIN)
                        return;
                else
                        close_fd(fd);
        }
}

static void check_events(struct run *R)
{
        bool oom, pids;

        jail_cgroup_events(&R->cg, &oom, &pids);
        if (oom)
                request_kill(R, JAIL_MEMORY);
        else if (pids)
                request_kill(R, JAIL_PIDS);
}

static void reap_monitor(struct run *R)
{
        if (R->x_reaped)
                return;
        while (waitpid(R->xpid, &R->x_status, 0) < 0 && errno == EINTR)
                ;
        R->x_reaped = true;
        phase_log(R, "reaped");
        R->x_reaped_at = jail_now_ns();
}

static int start(struct run *R, struct err *err)
{
        _cleanup_free_ char *mountinfo = NULL, *self = NULL;
        struct jail_child_ctx ctx = { .spec = R->spec, .debug = R->debug };
        int sp[2], po[2], pe[2];
        size_t len;
        int r;

        if ((r = randid_new(R->out->exec_id, err)) < 0)
                return err_wrap(err, "jail");
        if ((r = jail_seccomp_programs(ctx.filters, err)) < 0)
                return r;
        if (file_read_all(&mountinfo, &len, "/proc/self/mountinfo", 4 << 20, err) < 0 ||
            file_read_all(&self, &len, "/proc/self/cgroup", 64 << 10, err) < 0)
                return err_wrap(err, "jail: cgroups");
        r = jail_cgroup_create(&R->cg, mountinfo, self, R->out->exec_id, &R->spec->limits,
                               geteuid() == 0, err);
        if (r < 0)
                return r;
        R->out->cgroup = R->cg.mode;
        phase_log(R, "cgroups");
        if (R->cg.mode == JAIL_CGROUP_NONE)
                log_debug("jail %s: no cgroup delegation: memory and pids are rlimits only",
                          R->out->exec_id);
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                return err_set(err, errno, "jail: socketpair");
        /* the command's standard fds are 0-2: keep the socket clear of them
         * even when the runner was started with some closed */
        if (sp[1] < 3) {
                int fd = fcntl(sp[1], F_DUPFD_CLOEXEC, 3);

                close(sp[1]);
                if (fd < 0) {
                        close(sp[0]);
                        return err_set(err, errno, "jail: socketpair");
                }
                sp[1] = fd;
        }
        R->sock = sp[0];
        if (pipe2(po, O_CLOEXEC) < 0) {
                close(sp[1]);
                return err_set(err, errno, "jail: pipe");
        }
        R->out_r = po[0];
        if (pipe2(pe, O_CLOEXEC) < 0) {
                close(sp[1]);
                close(po[1]);
                return err_set(err, errno, "jail: pipe");
        }
        R->err_r = pe[0];
        ctx.sock = sp[1];
        ctx.out_w = po[1];
        ctx.err_w = pe[1];
        ctx.stdin_fd = R->io->stdin_fd;
        ctx.root_mode = geteuid() == 0;
        ctx.wait_go = R->cg.mode == JAIL_CGROUP_V2;
        ctx.memory_cgroup = R->cg.dir[JCG_MEMORY] != NULL || R->cg.mode == JAIL_CGROUP_V2;
        ctx.pids_cgroup = R->cg.dir[JCG_PIDS] != NULL || R->cg.mode == JAIL_CGROUP_V2;
        if (R->cg.mode == JAIL_CGROUP_V1)
                for (int c = 0, n = 0; c < JCG__COUNT; c++)
                        if (R->cg.dir[c] != NULL)
                                ctx.self_attach[n++] = xasprintf("%s/tasks", R->cg.dir[c]);
        ctx.outside_uid = R->ouid;
        ctx.outside_gid = R->ogid;
        R->xpid = fork();
        if (R->xpid == 0) {
                close(R->sock);
                close(R->out_r);
                close(R->err_r);
                jail_monitor_main(&ctx);
        }
        r = R->xpid < 0 ? err_set(err, errno, "jail: fork") : 0;
        for (int c = 0; c < JCG__COUNT; c++)
                free(ctx.self_attach[c]);
        close(sp[1]);
        close(po[1]);
        close(pe[1]);
        if (r < 0)
                return r;
        R->xfd = pidfd_open(R->xpid, 0);
        if (R->xfd < 0)
                return err_set(err, errno, "jail: pidfd_open");
        if (fcntl(R->out_r, F_SETFL, O_NONBLOCK) < 0 || fcntl(R->err_r, F_SETFL, O_NONBLOCK) < 0)
                return err_set(err, errno, "jail: non-blocking pipes");
        phase_log(R, "fork");
        if (R->cg.mode == JAIL_CGROUP_V2) {
                struct jail_msg go = { .type = JMSG_GO };

                if ((r = jail_cgroup_attach(&R->cg, R->xpid, err)) < 0)
                        return r;
                phase_log(R, "attach");
                if ((r = jail_msg_send(R->sock, &go)) < 0)
                        return err_set(err, -r, "jail: start the monitor");
        }
        /* after the monitor, so it starts working meanwhile */
        if ((r = jail_cgroup_janitor(&R->janitor, &R->janitor_fd, &R->cg, err)) < 0)
                return r;
        return 0;
}

static int poll_timeout(struct run *R, uint64_t now)
{
        uint64_t wall = R->spec->limits.wall_ms;
        int64_t t = -1;

        if (!R->kill_requested && wall > 0) {
                uint64_t dl = R->t0 + wall * NS_PER_MS;

                t = dl > now ? (int64_t)((dl - now) / NS_PER_MS) + 1 : 0;
        }
        if (!R->kill_requested && R->cg.mode != JAIL_CGROUP_NONE) {
                int64_t e = R->next_events > now ? (int64_t)((R->next_events - now) / NS_PER_MS) + 1 : 0;

                t = t < 0 || e < t ? e : t;
        }
        if (R->kill_requested && !R->x_reaped) {
                uint64_t dl = R->kill_at + KILL_GRACE_MS * NS_PER_MS;
                int64_t k = dl > now ? (int64_t)((dl - now) / NS_PER_MS) + 1 : 0;

                t = t < 0 || k < t ? k : t;
        }
        if (R->x_reaped) {
                uint64_t dl = R->x_reaped_at + DRAIN_GRACE_MS * NS_PER_MS;
                int64_t d = dl > now ? (int64_t)((dl - now) / NS_PER_MS) + 1 : 0;

                t = t < 0 || d < t ? d : t;
        }
        return t > 60000 ? 60000 : (int)t;
}

static void on_tick(struct run *R, uint64_t now)
{
        uint64_t wall = R->spec->limits.wall_ms;

        if (!R->kill_requested && wall > 0 && now >= R->t0 + wall * NS_PER_MS)
                request_kill(R, JAIL_TIMEOUT);
        if (!R->kill_requested && R->cg.mode != JAIL_CGROUP_NONE && now >= R->next_events) {
                check_events(R);
                R->next_events = now + EVENTS_EVERY_MS * NS_PER_MS;
        }
        if (R->kill_requested && !R->x_reaped && now >= R->kill_at + KILL_GRACE_MS * NS_PER_MS) {
                /* the monitor did not finish: kill it, PR_SET_PDEATHSIG does the rest */
                log_warn("jail %s: the monitor did not end after the kill; killing it",
                         R->out->exec_id);
                signal_fd(R->xfd);
                signal_fd(R->init_fd);
                signal_fd(R->cmd_fd);
                reap_monitor(R);
        }
        if (R->x_reaped && now >= R->x_reaped_at + DRAIN_GRACE_MS * NS_PER_MS) {
                /* someone outside still holds the pipes: stop waiting */
                close_fd(&R->out_r);
                close_fd(&R->err_r);
                close_fd(&R->sock);
        }
}

static int loop(struct run *R)
{
        bool cancel_open = R->io->cancel_fd >= 0;

        for (;;) {
                struct pollfd p[5];
                uint64_t now;
                int n;

                if (R->x_reaped && R->out_r < 0 && R->err_r < 0 && R->sock < 0)
                        return 0;
                now = jail_now_ns();
                on_tick(R, now);
                if (R->x_reaped && R->out_r < 0 && R->err_r < 0 && R->sock < 0)
                        return 0;
                p[0] = (struct pollfd){ R->sock, POLLIN, 0 };
                p[1] = (struct pollfd){ R->out_r, POLLIN, 0 };
                p[2] = (struct pollfd){ R->err_r, POLLIN, 0 };
                p[3] = (struct pollfd){ R->x_reaped ? -1 : R->xfd, POLLIN, 0 };
                p[4] = (struct pollfd){ cancel_open && !R->kill_requested ? R->io->cancel_fd : -1,
                                        POLLIN, 0 };
                n = poll(p, 5, poll_timeout(R, now));
                if (n < 0 && errno != EINTR)
                        return -errno;
                if (n <= 0)
                        continue;
                if (p[0].revents) {
                        struct jail_msg m = { 0 };
                        int fd = -1;
                        int r = jail_msg_recv(R->sock, &m, &fd);

                        if (r == 1)
                                on_message(R, &m, fd);
                        else
                                close_fd(&R->sock);
                }
                if (p[1].revents)
                        read_stream(R, &R->out_r, JAIL_STDOUT);
                if (p[2].revents)
                        read_stream(R, &R->err_r, JAIL_STDERR);
                if (p[3].revents)
                        reap_monitor(R);
                if (p[4].revents) {
                        cancel_open = false;
                        request_kill(R, JAIL_CANCELED);
                }
        }
}

/* the jail's processes must be gone before we return: the monitor reaps
 * them, but if it was killed, init and the command went to another parent */
static void wait_gone(int pidfd)
{
        struct pollfd p = { pidfd, POLLIN, 0 };

        if (pidfd < 0)
                return;
        if (poll(&p, 1, KILL_GRACE_MS) == 0) {
                (void)pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
                (void)poll(&p, 1, KILL_GRACE_MS);
        }
}

static void classify(struct run *R)
{
        struct jail_result *o = R->out;
        int st = R->wstatus;
        bool oom = false, pids = false;
        bool clean;

        jail_cgroup_events(&R->cg, &oom, &pids);
        o->peak_memory = jail_cgroup_peak_memory(&R->cg);
        if (o->peak_memory == 0)
                o->peak_memory = R->maxrss_kb * 1024;
        o->cpu_ms = R->cpu_us / 1000;
        if (R->got_status) {
                o->exited = WIFEXITED(st);
                o->exit_code = o->exited ? WEXITSTATUS(st) : 0;
                o->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
        }
        clean = o->exited && o->exit_code == 0;
        if (R->kill_requested &&
            (o->signal == SIGKILL || !R->got_status || R->kill_reason == JAIL_OUTPUT_LIMIT ||
             R->kill_reason == JAIL_CANCELED))
                o->reason = R->kill_reason;
        else if (oom && !clean)
                o->reason = JAIL_MEMORY;
        else if (pids && !clean)
                o->reason = JAIL_PIDS;
        else
                o->reason = o->exited ? JAIL_EXITED : JAIL_SIGNALED;
}

static void finish(struct run *R)
{
        struct err e = ERR_INIT;

        if (R->xpid > 0 && !R->x_reaped) {
                signal_fd(R->init_fd);
                if (R->xfd >= 0)
                        signal_fd(R->xfd);
                else
                        kill(R->xpid, SIGKILL);
                reap_monitor(R);
        }
        wait_gone(R->cmd_fd);
        wait_gone(R->init_fd);
        close_fd(&R->cmd_fd);
        close_fd(&R->init_fd);
        close_fd(&R->xfd);
        close_fd(&R->sock);
        close_fd(&R->out_r);
        close_fd(&R->err_r);
        classify(R);
        if (R->cg.mode != JAIL_CGROUP_NONE && jail_cgroup_destroy(&R->cg, &e) < 0)
                log_warn("%s", e.msg);
        jail_cgroup_janitor_done(R->janitor, R->janitor_fd);
        phase_log(R, "cleaned");
        R->out->wall_ms = (jail_now_ns() - R->t0) / NS_PER_MS;
}

int jail_run(struct jail_result *out, const struct jail_spec *spec, const struct jail_io *io,
             struct err *err)
{
        static const struct jail_io no_io = JAIL_IO_INIT;
        struct run R = {
                .spec = spec, .io = io != NULL ? io : &no_io, .out = out, .sock = -1, .out_r = -1,
                .err_r = -1, .xfd = -1, .init_fd = -1, .cmd_fd = -1, .janitor = -1, .janitor_fd = -1,
        };
        int r;

        memset(out, 0, sizeof(*out));
        out->reason = JAIL_SETUP_FAILED;
        R.t0 = jail_now_ns();
        if (!jail_spec_frozen(spec))
                return err_set(err, EINVAL, "jail: the spec is not frozen");
        R.debug = log_get_level() >= LOGL_DEBUG;
        jail_spec_outside_ids(spec, &R.ouid, &R.ogid);
        R.next_events = R.t0 + EVENTS_EVERY_MS * NS_PER_MS;
        r = start(&R, err);
        if (r == 0)
                r = loop(&R);
        if (r < 0 && err != NULL && err->code == 0)
                err_set(err, -r, "jail: supervise");
        finish(&R);
        if (r < 0) {
                out->reason = JAIL_SETUP_FAILED;
                return r;
        }
        if (R.setup_failed && !(R.kill_requested && R.kill_reason != JAIL_SETUP_FAILED)) {
                out->reason = JAIL_SETUP_FAILED;
                out->ran = false;
                err_set(err, 0, "%s", R.setup_err.msg);
                if (err != NULL)
                        err->code = R.setup_err.code;
                return R.setup_err.code;
        }
        if (!R.got_status && !R.kill_requested) {
                out->reason = JAIL_SETUP_FAILED;
                return err_set(err, EPROTO, "jail: the monitor ended without a status (wait status %#x)",
                               (unsigned)R.x_status);
        }
        return 0;
}
