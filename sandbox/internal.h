/* internal.h - what the files of sandbox/ share.  Not part of the module's
 * interface (that is sandbox.h); the unit tests include it to reach the
 * pieces they check directly. */
#ifndef TFGATE_SANDBOX_INTERNAL_H
#define TFGATE_SANDBOX_INTERNAL_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox.h"

enum jail_mount_kind {
        JM_BIND = 0,
        JM_TMPFS,
        JM_FILE,        /* a generated read-only file */
        JM_SYMLINK,     /* src is the link text */
};

struct jail_mount {
        enum jail_mount_kind kind;
        char *src;
        char *dst;
        unsigned flags;         /* JAIL_BIND_* */
        uint64_t size;          /* tmpfs */
        char *data;             /* file */
        size_t len;
        bool is_default;
};

struct jail_spec {
        bool frozen;
        bool no_defaults;
        struct jail_mount *mounts;      /* sorted by dst after freeze */
        size_t n_mounts;
        char **env;                     /* NULL-terminated */
        size_t n_env;
        char **argv;                    /* NULL-terminated */
        size_t n_argv;
        char *workdir;
        const char *path;               /* PATH for the lookup of argv[0] */
        struct jail_limits limits;
        enum jail_net net;
        int netns_fd;                   /* -1: own namespace */
        uint16_t *ports;
        size_t n_ports;
        uid_t uid;
        gid_t gid;
        bool outside_set;
        uid_t outside_uid;
        gid_t outside_gid;
        int *pass_fds;
        size_t n_pass_fds;
};

#define JAIL_HOSTNAME "tfgate"
#define JAIL_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* ---- messages between the supervisor and the jail's processes ----
 *
 * One SOCK_SEQPACKET socketpair.  The supervisor holds one end; the
 * monitor, the jail's init and the command (until its execve) share the
 * other, so every message is one datagram and they never interleave. */
enum jail_msg_type {
        JMSG_GO = 1,    /* S -> monitor: attached to the v2 cgroup, go on */
        JMSG_USERNS,    /* monitor -> S: write my id maps (runner is root) */
        JMSG_MAPPED,    /* S -> monitor: maps written */
        JMSG_PIDS,      /* monitor -> S: a = init or b = command (host pids), with
                         * its pidfd attached, so S never signals a reused pid */
        JMSG_PHASE,     /* any -> S: text = phase name, t_ns (debug only) */
        JMSG_EXEC,      /* command -> S: about to execve; a = Landlock ABI */
        JMSG_ERROR,     /* any -> S: set-up failed; text, code */
        JMSG_STATUS,    /* monitor -> S: a = wait status, cpu_us, maxrss_kb */
        JMSG_KILL,      /* S -> monitor: kill the jail now */
};

struct jail_msg {
        uint32_t type;
        int32_t a;
        int32_t b;
        int32_t code;
        uint64_t t_ns;
        uint64_t cpu_us;
        uint64_t maxrss_kb;
        char text[ERR_MSG_MAX];
};

int jail_msg_send(int sock, const struct jail_msg *m);
/* with a file descriptor attached (SCM_RIGHTS) */
int jail_msg_send_fd(int sock, const struct jail_msg *m, int fd);
/* 1 = got one, 0 = EOF, negative = error; *fd = an attached descriptor
 * (CLOEXEC) or -1; with fd NULL an attached descriptor is closed */
int jail_msg_recv(int sock, struct jail_msg *m, int *fd);
uint64_t jail_now_ns(void);

/* the cgroup v1 controllers a jail uses; v2 uses one group (index 0) */
enum { JCG_MEMORY = 0, JCG_PIDS, JCG_CPU, JCG__COUNT };

/* everything the jail's processes need, prepared by the supervisor */
struct jail_child_ctx {
        const struct jail_spec *spec;
        int sock;
        int out_w;
        int err_w;
        int stdin_fd;
        bool root_mode;         /* the supervisor writes the id maps */
        bool wait_go;           /* cgroup v2: the supervisor attaches us first */
        bool memory_cgroup;     /* else memory is capped with RLIMIT_AS */
        bool pids_cgroup;       /* else RLIMIT_NPROC is the pids limit */
        /* cgroup v1: the monitor moves itself into these groups (writing 0
         * to a "tasks" file skips the global lock a cgroup.procs write of
         * another process takes, which costs an RCU grace period) */
        char *self_attach[JCG__COUNT + 1];
        bool debug;             /* send JMSG_PHASE */
        uid_t outside_uid;
        gid_t outside_gid;
        const struct sock_fprog *filters[2];
};

/* enter a network namespace handed in: directly when we may (root), else
 * through the user namespace that owns it (an unprivileged runner created
 * both); the caller must be single-threaded */
int jail_netns_join(int fd, struct err *err);
/* bring lo up in the current network namespace */
int jail_loopback_up(struct err *err);

/* the monitor: forked by jail_run, never returns */
__attribute__((noreturn)) void jail_monitor_main(const struct jail_child_ctx *ctx);

/* ---- seccomp (seccomp_rules.c, seccomp.c) ---- */
/* compile the deny list with libseccomp (at build time: seccomp_gen.c);
 * *out is malloc'd */
int jail_seccomp_compile(struct sock_filter **out, size_t *n, struct err *err);
/* the two programs the jail loads: the deny list as compiled at build time
 * and the by-number refusal of syscalls >= 454 */
int jail_seccomp_programs(const struct sock_fprog *out[2], struct err *err);
/* load them into the calling thread (NO_NEW_PRIVS must be set); no malloc */
int jail_seccomp_load(const struct sock_fprog *const progs[2]);
/* the libseccomp filter as PFC text, for tests */
int jail_seccomp_export_pfc(int fd, struct err *err);
/* deny every 32-bit value of the argument except those in allowed[]:
 * (mask, value) blocks such that v is refused iff (v & mask) == value for
 * one block.  Returns the number of blocks (<= max). */
size_t jail_seccomp_complement_blocks(uint32_t (*blocks)[2], size_t max,
                                      const uint32_t *allowed, size_t n_allowed);

/* ---- Landlock (landlock.c) ---- */
/* restrict the calling process per spec (paths inside the new root);
 * *abi = the ABI used, 0 when the kernel has none (then returns 0) */
int jail_landlock_apply(int *abi, const struct jail_spec *spec, struct err *err);

/* ---- mounts (mounts.c) ---- */
struct jail_srcs {
        int *fds;               /* per spec mount: detached bind tree or -1 */
        unsigned char *is_dir;  /* per spec mount: the source is a directory */
        size_t n;
        int dev_fds[5];         /* host /dev/null, zero, full, random, urandom */
};
/* open every bind source as a detached mount (open_tree), flags applied;
 * runs in the monitor after the mount namespace exists */
int jail_srcs_open(struct jail_srcs *srcs, const struct jail_spec *spec, struct err *err);
void jail_srcs_close(struct jail_srcs *srcs);
/* build the new root on a tmpfs, mount /proc, pivot_root, detach the old
 * root; runs in the jail's init (pid 1, inside the new PID namespace).
 * Before the pivot it reads one byte from go (if >= 0). */
int jail_root_build(const struct jail_spec *spec, struct jail_srcs *srcs, int sock, bool debug,
                    int go, struct err *err);
/* open the components of rel (relative to dirfd) one by one, never
 * following a symlink, creating missing directories (mode 0755); the last
 * component is created as a directory (as_file false) or an empty file.
 * Returns an O_PATH fd of the last component. */
int jail_walk_create(int dirfd, const char *rel, bool as_file, struct err *err);

/* ---- cgroups (cgroup.c) ---- */

struct jail_cgroup {
        enum jail_cgroup_mode mode;
        char *dir[JCG__COUNT];          /* v1: one group per controller; v2: dir[0] only */
};

/* Where the controllers are, from the text of /proc/self/mountinfo and
 * /proc/self/cgroup (parameters so tests can point them at a fake tree).
 * Creates <own cgroup>/tfgate-<exec_id> and writes the limits.  When it is
 * not possible (no delegation, not root) mode stays NONE and 0 is returned
 * unless required is set. */
int jail_cgroup_create(struct jail_cgroup *cg, const char *mountinfo, const char *self_cgroup,
                       const char *exec_id, const struct jail_limits *limits, bool required,
                       struct err *err);
int jail_cgroup_attach(const struct jail_cgroup *cg, pid_t pid, struct err *err);
/* the limits fired so far */
void jail_cgroup_events(const struct jail_cgroup *cg, bool *oom, bool *pids_max);
uint64_t jail_cgroup_peak_memory(const struct jail_cgroup *cg);
/* A helper process outside every namespace that removes the groups if the
 * runner dies without doing it (SIGKILL).  jail_cgroup_janitor_done() tells
 * it all is clean and reaps it. */
int jail_cgroup_janitor(pid_t *pid, int *fd, const struct jail_cgroup *cg, struct err *err);
void jail_cgroup_janitor_done(pid_t pid, int fd);
/* remove the groups (retrying while the kernel still counts exiting tasks) */
int jail_cgroup_destroy(struct jail_cgroup *cg, struct err *err);

#endif
