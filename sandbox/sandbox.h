/* sandbox.h - the jail: run one command in fresh namespaces with seccomp,
 * Landlock, dropped capabilities and resource limits, supervised from
 * outside its PID namespace.  This header is the module's whole interface.
 *
 * A jail is described by a struct jail_spec, built with the setters below
 * and then frozen: jail_spec_freeze() validates everything, adds the default
 * mounts (docs/sandbox.md, "Default mounts") and compiles what can be
 * compiled; after it every setter fails with -EPERM.  jail_run() takes only
 * a frozen spec, so nothing a job supplies can widen a jail after the runner
 * built it.
 *
 *     struct jail_spec *s = jail_spec_new();
 *     jail_spec_add_bind(s, "/srv/ws/<id>", "/work", JAIL_BIND_RW, err);
 *     jail_spec_set_argv(s, (const char *const[]){ "terraform", "plan", NULL }, err);
 *     jail_spec_freeze(s, err);
 *     jail_run(&result, s, &io, err);
 *
 * jail_run() returns 0 once the command ran, whatever its fate (exit,
 * signal, timeout, a limit): the fate is in struct jail_result, and the exit
 * status in it comes from wait4() on the command, never from its output.  It
 * returns negative when the jail could not be built (result.reason is then
 * JAIL_SETUP_FAILED and err names the step and the path, e.g.
 * "jail: bind /opt/mirror -> /providers: No such file or directory").  On
 * every path, when it returns, no process, mount, cgroup or temporary
 * directory of the jail is left.
 *
 * Thread safety: a frozen spec is read-only and may be shared by threads;
 * jail_run() may run concurrently in several threads. */
#ifndef TFGATE_SANDBOX_H
#define TFGATE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runner/util/err.h"
#include "runner/util/randid.h"

struct jail_spec;
struct jail_netns;

/* flags of jail_spec_add_bind(); read-only, no exec is 0 */
enum {
        JAIL_BIND_RO = 0,
        JAIL_BIND_RW = 1 << 0,   /* writable */
        JAIL_BIND_EXEC = 1 << 1, /* programs may run from it (mount and Landlock) */
};

enum jail_net {
        JAIL_NET_LOOPBACK = 0,   /* own network namespace, lo up (default) */
        JAIL_NET_NONE,           /* own network namespace, lo down */
};

/* 0 everywhere means "no limit of this kind" */
struct jail_limits {
        uint64_t memory;          /* bytes: cgroup memory (+swap), else RLIMIT_AS */
        uint64_t pids;            /* processes+threads of the command's tree */
        uint64_t cpu_seconds;     /* RLIMIT_CPU of every process (SIGXCPU) */
        uint32_t cpu_quota_milli; /* cgroup CPU bandwidth, 1000 = one CPU */
        uint64_t wall_ms;         /* wall-clock deadline from jail_run's start */
        uint64_t output_bytes;    /* stdout+stderr bytes delivered; then killed */
        uint64_t file_size;       /* RLIMIT_FSIZE */
        uint64_t nofile;          /* RLIMIT_NOFILE */
        /* RLIMIT_AS when there is no memory cgroup: 0 = memory; UINT64_MAX =
         * none (runtimes such as node reserve far more address space than
         * they use, so the fallback can kill them at their first request) */
        uint64_t address_space;
};

/* what a new spec starts with */
#define JAIL_DEFAULT_UID 1000
#define JAIL_DEFAULT_GID 1000
/* the id jail root/uid maps to outside when the runner itself is root */
#define JAIL_ROOT_OUTSIDE_ID 65534
#define JAIL_DEFAULT_TMPFS_SIZE (64ULL << 20)

struct jail_spec *jail_spec_new(void);
void jail_spec_free(struct jail_spec *spec);
static inline void jail_spec_freep(struct jail_spec **spec)
{
        jail_spec_free(*spec);
}

/* Mounts.  host and inside must be absolute and clean (no "." or ".."
 * components, no "//"); inside may not be "/", nor lie under /proc or /dev;
 * two mounts may not share a target.  A mount whose target equals a default
 * mount's replaces that default.  Nested targets are mounted parents first;
 * a target's missing directories are created without following symlinks. */
int jail_spec_add_bind(struct jail_spec *spec, const char *host, const char *inside,
                       unsigned flags, struct err *err);
/* a size-capped tmpfs, nosuid,nodev,noexec; size 0 = JAIL_DEFAULT_TMPFS_SIZE */
int jail_spec_add_tmpfs(struct jail_spec *spec, const char *inside, uint64_t size,
                        struct err *err);
/* allow running programs from the bind or tmpfs already added at inside
 * (mounts are noexec unless marked; a writable and executable mount is
 * possible but defeats the point: the runner's own specs never make one) */
int jail_spec_mark_exec(struct jail_spec *spec, const char *inside, struct err *err);
/* a read-only regular file with this content (copied), e.g. a CLI config */
int jail_spec_add_file(struct jail_spec *spec, const char *inside, const void *data,
                       size_t len, struct err *err);
/* start from an empty root: no default system binds, no /tmp */
int jail_spec_no_default_mounts(struct jail_spec *spec, struct err *err);

/* The environment is exactly this list; nothing is inherited.  "K=V". */
int jail_spec_add_env(struct jail_spec *spec, const char *kv, struct err *err);
/* replace the whole list; kv is NULL-terminated */
int jail_spec_set_env(struct jail_spec *spec, const char *const *kv, struct err *err);

int jail_spec_set_limits(struct jail_spec *spec, const struct jail_limits *limits,
                         struct err *err);
void jail_spec_get_limits(struct jail_limits *out, const struct jail_spec *spec);

/* Network: by default the jail gets its own namespace with lo up.  Or it
 * joins a namespace handed in (shared by several jails, e.g. an emulator
 * and the steps talking to it); the spec keeps its own reference. */
int jail_spec_set_net(struct jail_spec *spec, enum jail_net net, struct err *err);
int jail_spec_set_netns(struct jail_spec *spec, const struct jail_netns *ns, struct err *err);
/* the same from a descriptor of a network namespace (dup'ed) */
int jail_spec_set_netns_fd(struct jail_spec *spec, int nsfd, struct err *err);
/* TCP connect is allowed only to these ports (Landlock ABI >= 4) */
int jail_spec_allow_connect(struct jail_spec *spec, uint16_t port, struct err *err);

/* ids inside the jail (default 1000:1000) */
int jail_spec_set_ids(struct jail_spec *spec, uid_t uid, gid_t gid, struct err *err);
/* ids outside, only when running as root (default JAIL_ROOT_OUTSIDE_ID);
 * an unprivileged runner always maps to its own uid and gid */
int jail_spec_set_outside_ids(struct jail_spec *spec, uid_t uid, gid_t gid, struct err *err);
/* the ids jail processes will have on the host (e.g. to chown a workspace) */
void jail_spec_outside_ids(const struct jail_spec *spec, uid_t *uid, gid_t *gid);

int jail_spec_set_workdir(struct jail_spec *spec, const char *dir, struct err *err);
/* argv[0] without a '/' is looked up in the spec's PATH (default
 * /usr/local/bin:/usr/bin:/bin) inside the jail */
int jail_spec_set_argv(struct jail_spec *spec, const char *const *argv, struct err *err);
/* keep this fd (>= 3, same number) open in the command */
int jail_spec_pass_fd(struct jail_spec *spec, int fd, struct err *err);

/* validate, add defaults, compile; after this the spec is immutable */
int jail_spec_freeze(struct jail_spec *spec, struct err *err);
bool jail_spec_frozen(const struct jail_spec *spec);

/* ---- running ---- */

enum jail_stream { JAIL_STDOUT = 1, JAIL_STDERR = 2 };

/* Called with each chunk the command writes, up to the output limit.  A
 * negative return stops the jail (reason JAIL_CANCELED). */
typedef int (*jail_output_fn)(void *opaque, enum jail_stream stream, const char *data,
                              size_t len);

struct jail_io {
        int stdin_fd;           /* -1: /dev/null inside the jail */
        jail_output_fn output;  /* NULL: output is counted and dropped */
        void *opaque;
        int cancel_fd;          /* -1: none; readable = kill the jail (JAIL_CANCELED) */
};
#define JAIL_IO_INIT { -1, NULL, NULL, -1 }

enum jail_reason {
        JAIL_EXITED = 0,        /* exit_code */
        JAIL_SIGNALED,          /* signal */
        JAIL_TIMEOUT,           /* wall-clock deadline */
        JAIL_MEMORY,            /* the memory cgroup's OOM killer fired */
        JAIL_PIDS,              /* the pids cgroup refused a fork */
        JAIL_OUTPUT_LIMIT,      /* output_bytes passed the limit */
        JAIL_SETUP_FAILED,      /* the command never ran */
        JAIL_CANCELED,          /* cancel_fd, or the output callback failed */
};

enum jail_cgroup_mode { JAIL_CGROUP_NONE = 0, JAIL_CGROUP_V1, JAIL_CGROUP_V2 };

struct jail_result {
        enum jail_reason reason;
        bool ran;               /* the command was started (execve succeeded or not) */
        bool exited;            /* exit_code is valid */
        int exit_code;
        int signal;             /* > 0 when the command was killed by a signal */
        uint64_t wall_ms;       /* jail_run from start to return */
        uint64_t setup_us;      /* start until the command's execve */
        uint64_t cpu_ms;        /* user+system of the command and its reaped children */
        uint64_t peak_memory;   /* bytes: cgroup peak, else the largest RSS */
        uint64_t output_bytes;  /* all bytes read, including those past the limit */
        bool output_truncated;
        enum jail_cgroup_mode cgroup;   /* NONE: limits were rlimits only */
        int landlock_abi;       /* 0: Landlock unavailable */
        char exec_id[RANDID_HEX_LEN + 1];
};

int jail_run(struct jail_result *out, const struct jail_spec *spec, const struct jail_io *io,
             struct err *err);

/* "exit", "signal", "timeout", "memory", "pids", "output-limit",
 * "setup-failed", "canceled" */
const char *jail_reason_name(enum jail_reason reason);
const char *jail_cgroup_mode_name(enum jail_cgroup_mode mode);

/* ---- shared network namespaces ---- */

/* A new network namespace with only lo, up.  Alive while a jail_netns or
 * a spec or a jail refers to it; nothing on disk, no process. */
int jail_netns_new(struct jail_netns **out, struct err *err);
/* an existing one, e.g. /run/netns/NAME or /proc/PID/ns/net */
int jail_netns_open(struct jail_netns **out, const char *path, struct err *err);
int jail_netns_fd(const struct jail_netns *ns);
/* a socket (CLOEXEC) that lives in the namespace, for the caller: e.g. to
 * connect to an emulator listening on 127.0.0.1 inside it */
int jail_netns_socket(int *out, const struct jail_netns *ns, int domain, int type,
                      struct err *err);
/* a socket (domain, type) created inside ns, for use from outside: e.g. a
 * readiness probe of a server jailed in it.  *out is close-on-exec. */
int jail_netns_socket(int *out, const struct jail_netns *ns, int domain, int type,
                      struct err *err);
void jail_netns_free(struct jail_netns *ns);
static inline void jail_netns_freep(struct jail_netns **ns)
{
        jail_netns_free(*ns);
}

/* ---- introspection (tests, docs, debugging) ---- */

/* one entry of the seccomp deny list */
struct jail_syscall_rule {
        const char *name;
        int errnum;             /* the errno the call fails with */
        const char *when;       /* NULL: always; else which arguments */
        bool arch_optional;     /* absent on some architectures (x86_64: 32-bit only) */
};
size_t jail_seccomp_rules(const struct jail_syscall_rule **out);
/* the first syscall number denied wholesale (ENOSYS): libseccomp cannot
 * name newer calls, so everything from here on is refused by number */
#define JAIL_SECCOMP_FIRST_UNKNOWN 454
/* set NO_NEW_PRIVS and load the jail's filter into the calling thread */
int jail_seccomp_apply(struct err *err);
/* the Landlock ABI of this kernel, 0 when unavailable */
int jail_landlock_abi(void);

#endif
