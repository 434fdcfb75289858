/* spec.c - building, validating and freezing a struct jail_spec. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

#define MAX_MOUNTS 256
#define MAX_ENV 1024
#define MAX_ARGV 4096
#define MAX_PORTS 64
#define MAX_PASS_FDS 64
#define MAX_FILE_LEN (1U << 20)
#define MIN_MEMORY (8ULL << 20)
#define MIN_TMPFS (4ULL << 10)
#define MAX_TMPFS (1ULL << 40)

enum default_kind { DM_BIND, DM_TMPFS, DM_PASSWD, DM_GROUP, DM_HOSTS, DM_EMPTY };

/* The mounts every jail gets unless the spec replaces one by target, or
 * asks for none (docs/sandbox.md keeps this table in prose).  Binds whose
 * host path is missing are skipped; a host symlink (usrmerge: /bin ->
 * usr/bin) becomes the same symlink inside. */
static const struct default_mount {
        const char *path;
        enum default_kind kind;
        unsigned flags;
        uint64_t size;
} default_mounts[] = {
        { "/usr", DM_BIND, JAIL_BIND_EXEC, 0 },
        { "/lib", DM_BIND, JAIL_BIND_EXEC, 0 },
        { "/lib64", DM_BIND, JAIL_BIND_EXEC, 0 },
        { "/bin", DM_BIND, JAIL_BIND_EXEC, 0 },
        { "/sbin", DM_BIND, JAIL_BIND_EXEC, 0 },
        { "/etc/ssl/certs", DM_BIND, JAIL_BIND_RO, 0 },
        { "/etc/alternatives", DM_BIND, JAIL_BIND_RO, 0 },
        { "/etc/passwd", DM_PASSWD, 0, 0 },
        { "/etc/group", DM_GROUP, 0, 0 },
        { "/etc/hosts", DM_HOSTS, 0, 0 },
        /* empty: nothing inside resolves names through a host resolver */
        { "/etc/resolv.conf", DM_EMPTY, 0, 0 },
        { "/tmp", DM_TMPFS, JAIL_BIND_RW, JAIL_DEFAULT_TMPFS_SIZE },
};

struct jail_spec *jail_spec_new(void)
{
        struct jail_spec *s = xcalloc(1, sizeof(*s));

        s->env = xcalloc(1, sizeof(char *));
        s->argv = xcalloc(1, sizeof(char *));
        s->workdir = xstrdup("/");
        s->path = JAIL_DEFAULT_PATH;
        s->net = JAIL_NET_LOOPBACK;
        s->netns_fd = -1;
        s->uid = JAIL_DEFAULT_UID;
        s->gid = JAIL_DEFAULT_GID;
        return s;
}

static void mount_free(struct jail_mount *m)
{
        free(m->src);
        free(m->dst);
        free(m->data);
}

void jail_spec_free(struct jail_spec *s)
{
        if (s == NULL)
                return;
        for (size_t i = 0; i < s->n_mounts; i++)
                mount_free(&s->mounts[i]);
        free(s->mounts);
        strv_free(s->env);
        strv_free(s->argv);
        free(s->workdir);
        if (s->netns_fd >= 0)
                close(s->netns_fd);
        free(s->ports);
        free(s->pass_fds);
        free(s);
}

static int check_mutable(struct jail_spec *s, struct err *err)
{
        if (s == NULL)
                return err_set(err, EINVAL, "jail: no spec");
        if (s->frozen)
                return err_set(err, EPERM, "jail: the spec is frozen");
        return 0;
}

static bool under(const char *path, const char *dir)
{
        size_t n = strlen(dir);

        return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int check_path(const char *what, const char *p, struct err *err)
{
        if (p == NULL || p[0] == '\0')
                return err_set(err, EINVAL, "jail: %s: empty path", what);
        if (strlen(p) >= PATH_MAX)
                return err_set(err, ENAMETOOLONG, "jail: %s %.40s...", what, p);
        if (!path_is_absolute_clean(p) || (strlen(p) > 1 && p[strlen(p) - 1] == '/'))
                return err_set(err, EINVAL,
                               "jail: %s %s: not an absolute path without . or .. components", what, p);
        return 0;
}

static int check_target(const char *p, struct err *err)
{
        int r = check_path("target", p, err);

        if (r < 0)
                return r;
        if (strcmp(p, "/") == 0)
                return err_set(err, EINVAL, "jail: target /: the root is the jail's own tmpfs");
        if (under(p, "/proc") || under(p, "/dev"))
                return err_set(err, EINVAL, "jail: target %s: /proc and /dev are the jail's own", p);
        return 0;
}

static int add_mount(struct jail_spec *s, const struct jail_mount *m, struct err *err)
{
        for (size_t i = 0; i < s->n_mounts; i++)
                if (strcmp(s->mounts[i].dst, m->dst) == 0)
                        return err_set(err, EEXIST, "jail: target %s: mounted twice", m->dst);
        if (s->n_mounts >= MAX_MOUNTS)
                return err_set(err, E2BIG, "jail: more than %d mounts", MAX_MOUNTS);
        s->mounts = xreallocarray(s->mounts, s->n_mounts + 1, sizeof(*s->mounts));
        s->mounts[s->n_mounts++] = *m;
        return 0;
}

int jail_spec_add_bind(struct jail_spec *s, const char *host, const char *inside, unsigned flags,
                       struct err *err)
{
        struct jail_mount m = { .kind = JM_BIND };
        int r;

        if ((r = check_mutable(s, err)) < 0 || (r = check_path("bind source", host, err)) < 0 ||
            (r = check_target(inside, err)) < 0)
                return r;
        if (flags & ~(unsigned)(JAIL_BIND_RW | JAIL_BIND_EXEC))
                return err_set(err, EINVAL, "jail: bind %s -> %s: unknown flags %#x", host, inside,
                               flags);
        m.src = xstrdup(host);
        m.dst = xstrdup(inside);
        m.flags = flags;
        r = add_mount(s, &m, err);
        if (r < 0)
                mount_free(&m);
        return r;
}

static int check_tmpfs_size(const char *inside, uint64_t size, struct err *err)
{
        if (size < MIN_TMPFS || size > MAX_TMPFS)
                return err_set(err, EINVAL, "jail: tmpfs %s: size %llu out of range (4KiB to 1TiB)",
                               inside, (unsigned long long)size);
        return 0;
}

int jail_spec_add_tmpfs(struct jail_spec *s, const char *inside, uint64_t size, struct err *err)
{
        struct jail_mount m = { .kind = JM_TMPFS, .flags = JAIL_BIND_RW };
        int r;

        if (size == 0)
                size = JAIL_DEFAULT_TMPFS_SIZE;
        if ((r = check_mutable(s, err)) < 0 || (r = check_target(inside, err)) < 0 ||
            (r = check_tmpfs_size(inside, size, err)) < 0)
                return r;
        m.dst = xstrdup(inside);
        m.size = size;
        r = add_mount(s, &m, err);
        if (r < 0)
                mount_free(&m);
        return r;
}

int jail_spec_mark_exec(struct jail_spec *s, const char *inside, struct err *err)
{
        int r = check_mutable(s, err);

        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n_mounts; i++) {
                struct jail_mount *m = &s->mounts[i];

                if (strcmp(m->dst, inside) == 0 && (m->kind == JM_BIND || m->kind == JM_TMPFS)) {
                        m->flags |= JAIL_BIND_EXEC;
                        return 0;
                }
        }
        return err_set(err, ENOENT, "jail: exec %s: no bind or tmpfs is mounted there", inside);
}

int jail_spec_add_file(struct jail_spec *s, const char *inside, const void *data, size_t len,
                       struct err *err)
{
        struct jail_mount m = { .kind = JM_FILE };
        int r;

        if ((r = check_mutable(s, err)) < 0 || (r = check_target(inside, err)) < 0)
                return r;
        if (len > MAX_FILE_LEN)
                return err_set(err, EFBIG, "jail: file %s: larger than 1MiB", inside);
        m.dst = xstrdup(inside);
        m.data = xmemdup(len > 0 ? data : "", len > 0 ? len : 1);
        m.len = len;
        r = add_mount(s, &m, err);
        if (r < 0)
                mount_free(&m);
        return r;
}

int jail_spec_no_default_mounts(struct jail_spec *s, struct err *err)
{
        int r = check_mutable(s, err);

        if (r < 0)
                return r;
        s->no_defaults = true;
        return 0;
}

static int check_env(const char *kv, struct err *err)
{
        const char *eq = kv != NULL ? strchr(kv, '=') : NULL;

        if (eq == NULL || eq == kv)
                return err_set(err, EINVAL, "jail: env \"%s\": expected NAME=VALUE",
                               kv != NULL ? kv : "");
        return 0;
}

/* replace an entry with the same name, like setenv */
static void env_put(struct jail_spec *s, const char *kv)
{
        size_t klen = (size_t)(strchr(kv, '=') - kv) + 1;

        for (size_t i = 0; i < s->n_env; i++) {
                if (strncmp(s->env[i], kv, klen) == 0) {
                        free(s->env[i]);
                        s->env[i] = xstrdup(kv);
                        return;
                }
        }
        s->env = xreallocarray(s->env, s->n_env + 2, sizeof(char *));
        s->env[s->n_env++] = xstrdup(kv);
        s->env[s->n_env] = NULL;
}

int jail_spec_add_env(struct jail_spec *s, const char *kv, struct err *err)
{
        int r;

        if ((r = check_mutable(s, err)) < 0 || (r = check_env(kv, err)) < 0)
                return r;
        if (s->n_env >= MAX_ENV)
                return err_set(err, E2BIG, "jail: more than %d environment variables", MAX_ENV);
        env_put(s, kv);
        return 0;
}

int jail_spec_set_env(struct jail_spec *s, const char *const *kv, struct err *err)
{
        size_t n = 0;
        int r = check_mutable(s, err);

        if (r < 0)
                return r;
        for (; kv != NULL && kv[n] != NULL; n++)
                if ((r = check_env(kv[n], err)) < 0)
                        return r;
        if (n > MAX_ENV)
                return err_set(err, E2BIG, "jail: more than %d environment variables", MAX_ENV);
        strv_free(s->env);
        s->env = xcalloc(1, sizeof(char *));
        s->n_env = 0;
        for (size_t i = 0; i < n; i++)
                env_put(s, kv[i]);
        return 0;
}

int jail_spec_set_limits(struct jail_spec *s, const struct jail_limits *l, struct err *err)
{
        int r = check_mutable(s, err);

        if (r < 0)
                return r;
        if (l->memory != 0 && l->memory < MIN_MEMORY)
                return err_set(err, EINVAL, "jail: memory limit %llu: below the 8MiB minimum",
                               (unsigned long long)l->memory);
        if (l->nofile != 0 && l->nofile < 16)
                return err_set(err, EINVAL, "jail: open-file limit %llu: below 16",
                               (unsigned long long)l->nofile);
        if (l->pids > (1U << 22))
                return err_set(err, EINVAL, "jail: pids limit %llu: above 4194304",
                               (unsigned long long)l->pids);
        if (l->cpu_quota_milli != 0 && l->cpu_quota_milli < 10)
                return err_set(err, EINVAL, "jail: CPU quota below 0.01 CPU");
        s->limits = *l;
        return 0;
}

void jail_spec_get_limits(struct jail_limits *out, const struct jail_spec *s)
{
        *out = s->limits;
}

int jail_spec_set_net(struct jail_spec *s, enum jail_net net, struct err *err)
{
        int r = check_mutable(s, err);

        if (r < 0)
                return r;
        if (net != JAIL_NET_LOOPBACK && net != JAIL_NET_NONE)
                return err_set(err, EINVAL, "jail: unknown network mode %d", (int)net);
        s->net = net;
        return 0;
}

int jail_spec_set_netns_fd(struct jail_spec *s, int nsfd, struct err *err)
{
        int r = check_mutable(s, err);
        int fd, type;

        if (r < 0)
                return r;
        type = nsfd >= 0 ? ioctl(nsfd, NS_GET_NSTYPE) : -1;
        if (type != CLONE_NEWNET)
                return err_set(err, EINVAL, "jail: fd %d: not a network namespace", nsfd);
        fd = fcntl(nsfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return err_set(err, errno, "jail: keep the network namespace");
        if (s->netns_fd >= 0)
                close(s->netns_fd);
        s->netns_fd = fd;
        return 0;
}

int jail_spec_set_netns(struct jail_spec *s, const struct jail_netns *ns, struct err *err)
{
        if (ns == NULL || jail_netns_fd(ns) < 0) {
                int r = check_mutable(s, err);

                return r < 0 ? r : err_set(err, EINVAL, "jail: no network namespace given");
        }
        return jail_spec_set_netns_fd(s, jail_netns_fd(ns), err);
}

int jail_spec_allow_connect(struct jail_spec *s, uint16_t port, struct err *err)
{
        int r = check_mutable(s, err);

        if (r < 0)
                return r;
        if (port == 0)
                return err_set(err, EINVAL, "jail: port 0 cannot be allowed");
        for (size_t i = 0; i < s->n_ports; i++)
                if (s->ports[i] == port)
                        return 0;
        if (s->n_ports >= MAX_PORTS)
                return err_set(err, E2BIG, "jail: more than %d allowed ports", MAX_PORTS);
        s->ports = xreallocarray(s->ports, s->n_ports + 1, sizeof(*s->ports));
        s->ports[s->n_ports++] = port;
        return 0;
}

static bool id_ok(uint32_t id)
{
        /* -1 means "unchanged" to the set*id calls; 65535 and up collide
         * with the overflow ids of older interfaces */
        return id < 65535U || (id > 65535U && id < UINT32_MAX);
}

int jail_spec_set_ids(struct jail_spec *s, uid_t uid, gid_t gid, struct err *err)
{
        int r = check_mutable(s, err);

        if (r < 0)
                return r;
        if (!id_ok(uid) || !id_ok(gid))
                return err_set(err, EINVAL, "jail: ids %u:%u not usable", (unsigned)uid, (unsigned)gid);
        s->uid = uid;
        s->gid = gid;
        return 0;
}

int jail_spec_set_outside_ids(struct jail_spec *s, uid_t uid, gid_t gid, struct err *err)
{
        int r = check_mutable(s, err);

        if (r < 0)
                return r;
        if (uid == 0 || gid == 0 || !id_ok(uid) || !id_ok(gid))
                return err_set(err, EINVAL, "jail: outside ids %u:%u: must be unprivileged",
                               (unsigned)uid, (unsigned)gid);
        s->outside_set = true;
        s->outside_uid = uid;
        s->outside_gid = gid;
        return 0;
}

void jail_spec_outside_ids(const struct jail_spec *s, uid_t *uid, gid_t *gid)
{
        if (geteuid() != 0) {
                *uid = geteuid();
                *gid = getegid();
        } else if (s->outside_set) {
                *uid = s->outside_uid;
                *gid = s->outside_gid;
        } else {
                *uid = JAIL_ROOT_OUTSIDE_ID;
                *gid = JAIL_ROOT_OUTSIDE_ID;
        }
}

int jail_spec_set_workdir(struct jail_spec *s, const char *dir, struct err *err)
{
        int r;

        if ((r = check_mutable(s, err)) < 0 || (r = check_path("workdir", dir, err)) < 0)
                return r;
        free(s->workdir);
        s->workdir = xstrdup(dir);
        return 0;
}

int jail_spec_set_argv(struct jail_spec *s, const char *const *argv, struct err *err)
{
        size_t n = 0;
        int r = check_mutable(s, err);

        if (r < 0)
                return r;
        while (argv != NULL && argv[n] != NULL)
                n++;
        if (n == 0 || argv[0][0] == '\0')
                return err_set(err, EINVAL, "jail: no command given");
        if (n > MAX_ARGV)
                return err_set(err, E2BIG, "jail: more than %d arguments", MAX_ARGV);
        strv_free(s->argv);
        s->argv = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                s->argv[i] = xstrdup(argv[i]);
        s->n_argv = n;
        return 0;
}

int jail_spec_pass_fd(struct jail_spec *s, int fd, struct err *err)
{
        int r = check_mutable(s, err);

        if (r < 0)
                return r;
        if (fd < 3 || fcntl(fd, F_GETFD) < 0)
                return err_set(err, EBADF, "jail: pass fd %d: not an open descriptor above 2", fd);
        if (s->n_pass_fds >= MAX_PASS_FDS)
                return err_set(err, E2BIG, "jail: more than %d passed fds", MAX_PASS_FDS);
        s->pass_fds = xreallocarray(s->pass_fds, s->n_pass_fds + 1, sizeof(int));
        s->pass_fds[s->n_pass_fds++] = fd;
        return 0;
}

static bool has_target(const struct jail_spec *s, const char *dst)
{
        for (size_t i = 0; i < s->n_mounts; i++)
                if (strcmp(s->mounts[i].dst, dst) == 0)
                        return true;
        return false;
}

static char *gen_file(const struct jail_spec *s, enum default_kind kind)
{
        switch (kind) {
        case DM_PASSWD:
                if (s->uid == 0)
                        return xasprintf("root:x:0:%u:root:/tmp:/bin/sh\n", (unsigned)s->gid);
                return xasprintf("root:x:0:0:root:/root:/bin/sh\n"
                                 "tfgate:x:%u:%u:tfgate:/tmp:/bin/sh\n"
                                 "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
                                 (unsigned)s->uid, (unsigned)s->gid);
        case DM_GROUP:
                if (s->gid == 0)
                        return xstrdup("root:x:0:\n");
                return xasprintf("root:x:0:\ntfgate:x:%u:\nnogroup:x:65534:\n", (unsigned)s->gid);
        case DM_HOSTS:
                return xstrdup("127.0.0.1\tlocalhost " JAIL_HOSTNAME "\n::1\tlocalhost ip6-localhost\n");
        default:
                return xstrdup("");
        }
}

static int add_default(struct jail_spec *s, const struct default_mount *d, struct err *err)
{
        struct jail_mount m = { .dst = NULL, .is_default = true, .flags = d->flags };
        struct stat st;

        switch (d->kind) {
        case DM_BIND:
                if (lstat(d->path, &st) < 0) {
                        if (errno == ENOENT)
                                return 0;
                        return err_set(err, errno, "jail: default bind %s", d->path);
                }
                if (S_ISLNK(st.st_mode)) {
                        char link[PATH_MAX];
                        ssize_t n = readlink(d->path, link, sizeof(link) - 1);

                        if (n < 0)
                                return err_set(err, errno, "jail: default bind %s: readlink", d->path);
                        link[n] = '\0';
                        m.kind = JM_SYMLINK;
                        m.src = xstrdup(link);
                } else {
                        m.kind = JM_BIND;
                        m.src = xstrdup(d->path);
                }
                break;
        case DM_TMPFS:
                m.kind = JM_TMPFS;
                m.size = d->size;
                break;
        default:
                m.kind = JM_FILE;
                m.data = gen_file(s, d->kind);
                m.len = strlen(m.data);
                break;
        }
        m.dst = xstrdup(d->path);
        return add_mount(s, &m, err);
}

static int cmp_mount(const void *a, const void *b)
{
        return strcmp(((const struct jail_mount *)a)->dst, ((const struct jail_mount *)b)->dst);
}

int jail_spec_freeze(struct jail_spec *s, struct err *err)
{
        const struct sock_fprog *progs[2];
        int r = check_mutable(s, err);

        if (r < 0)
                return r;
        if (s->n_argv == 0)
                return err_set(err, EINVAL, "jail: no command given");
        if (!s->no_defaults) {
                for (size_t i = 0; i < ARRAY_SIZE(default_mounts); i++) {
                        if (has_target(s, default_mounts[i].path))
                                continue;
                        if ((r = add_default(s, &default_mounts[i], err)) < 0)
                                return r;
                }
        }
        qsort(s->mounts, s->n_mounts, sizeof(*s->mounts), cmp_mount);
        for (size_t i = 0; i < s->n_env; i++)
                if (strncmp(s->env[i], "PATH=", 5) == 0)
                        s->path = s->env[i] + 5;
        /* compile now, so a broken filter fails the spec, not a job */
        if ((r = jail_seccomp_programs(progs, err)) < 0)
                return r;
        s->frozen = true;
        return 0;
}

bool jail_spec_frozen(const struct jail_spec *s)
{
        return s != NULL && s->frozen;
}
