/* cgroup.c - the jail's resource groups.
 *
 * cgroup v1 when the memory or pids controller is mounted as a v1
 * hierarchy (hybrid hosts such as this project's CI VMs), else cgroup v2
 * when its controllers are delegated to us.  Groups are created below the
 * cgroup the runner itself is in, as <own>/tfgate-<exec-id>, so a runner
 * started by systemd with Delegate=yes keeps its jails inside its own
 * slice.  When that is not possible (an unprivileged runner without
 * delegation) the jail falls back to rlimits and says so
 * (jail_result.cgroup = NONE).
 *
 * Discovery reads the text of /proc/self/mountinfo and /proc/self/cgroup,
 * passed in by the caller, so tests can point it at a fake tree.  Files are
 * written with O_CREAT: harmless on cgroupfs where they exist, and it lets
 * the fake tree record what was written. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

static const char *const v1_names[JCG__COUNT] = { "memory", "pids", "cpu" };

static bool is_octal(char c)
{
        return c >= '0' && c <= '7';
}

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static char *unescape(const char *s, size_t n)
{
        char *out = xmalloc(n + 1);
        size_t j = 0;

        for (size_t i = 0; i < n; i++) {
                if (s[i] == '\\' && i + 3 < n &&
                    is_octal(s[i + 1]) && is_octal(s[i + 2]) && is_octal(s[i + 3])) {
                        out[j++] = (char)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) |
                                          (s[i + 3] - '0'));
                        i += 3;
                } else {
                        out[j++] = s[i];
                }
        }
        out[j] = '\0';
        return out;
}

static bool has_token(const char *list, size_t n, const char *tok)
{
        size_t tl = strlen(tok);
        const char *p = list, *end = list + n;

        while (p < end) {
                const char *c = memchr(p, ',', (size_t)(end - p));
                size_t len = c != NULL ? (size_t)(c - p) : (size_t)(end - p);

                if (len == tl && memcmp(p, tok, tl) == 0)
                        return true;
                p += len + 1;
        }
        return false;
}

/* the n-th space-separated field of [s, end) */
static bool field(const char *s, const char *end, int n, const char **f, size_t *len)
{
        for (int i = 0; s < end; i++) {
                const char *sp = memchr(s, ' ', (size_t)(end - s));
                size_t l = sp != NULL ? (size_t)(sp - s) : (size_t)(end - s);

                if (i == n) {
                        *f = s;
                        *len = l;
                        return true;
                }
                if (sp == NULL)
                        break;
                s = sp + 1;
        }
        return false;
}

/* the mount point and mount root of a cgroup hierarchy: fstype "cgroup"
 * with ctrl among its super options, or "cgroup2" when ctrl is NULL */
static bool find_mount(const char *mountinfo, const char *ctrl, char **mnt, char **root)
{
        const char *line = mountinfo;

        while (line != NULL && *line != '\0') {
                const char *eol = strchr(line, '\n');
                const char *end = eol != NULL ? eol : line + strlen(line);
                const char *sep = strstr(line, " - ");
                const char *f, *r, *m, *opts;
                size_t flen, rlen, mlen, olen;

                if (sep != NULL && sep < end && field(sep + 3, end, 0, &f, &flen) &&
                    field(line, sep, 3, &r, &rlen) && field(line, sep, 4, &m, &mlen)) {
                        bool v2 = flen == 7 && memcmp(f, "cgroup2", 7) == 0;
                        bool v1 = flen == 6 && memcmp(f, "cgroup", 6) == 0;

                        if ((ctrl == NULL && v2) ||
                            (ctrl != NULL && v1 && field(sep + 3, end, 2, &opts, &olen) &&
                             has_token(opts, olen, ctrl))) {
                                *mnt = unescape(m, mlen);
                                *root = unescape(r, rlen);
                                return true;
                        }
                }
                line = eol != NULL ? eol + 1 : NULL;
        }
        return false;
}

/* our cgroup path in the hierarchy holding ctrl (v1), or the v2 one */
static char *own_path(const char *self, const char *ctrl)
{
        const char *line = self;

        while (line != NULL && *line != '\0') {
                const char *eol = strchr(line, '\n');
                const char *end = eol != NULL ? eol : line + strlen(line);
                const char *c1 = memchr(line, ':', (size_t)(end - line));
                const char *c2 = c1 != NULL ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;

                if (c2 != NULL) {
                        bool v2 = c1 - line == 1 && line[0] == '0' && c2 == c1 + 1;

                        if ((ctrl == NULL && v2) ||
                            (ctrl != NULL && has_token(c1 + 1, (size_t)(c2 - c1 - 1), ctrl)))
                                return xstrndup(c2 + 1, (size_t)(end - c2 - 1));
                }
                line = eol != NULL ? eol + 1 : NULL;
        }
        return NULL;
}

static char *group_base(const char *mountinfo, const char *self, const char *ctrl)
{
        _cleanup_free_ char *mnt = NULL, *root = NULL, *own = NULL;
        const char *rel;
        size_t rl;

        if (!find_mount(mountinfo, ctrl, &mnt, &root))
                return NULL;
        own = own_path(self, ctrl);
        if (own == NULL)
                return NULL;
        rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
        if (strncmp(own, root, rl) != 0)
                return NULL;    /* our group is outside what is mounted */
        rel = own + rl;
        if (strcmp(rel, "/") == 0)
                rel = "";
        return xasprintf("%s%s", mnt, rel);
}

static int put(const char *dir, const char *file, const char *value, struct err *err)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int r;

        if (fd < 0)
                return err_set(err, errno, "jail: cgroup: open %s", path);
        r = write_all(fd, value, strlen(value));
        if (r < 0)
                return err_set(err, -r, "jail: cgroup: write %s to %s", value, path);
        return 0;
}

static bool exists(const char *dir, const char *file)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);

        return access(path, F_OK) == 0;
}

static bool not_delegated(int e)
{
        return e == EACCES || e == EPERM || e == EROFS || e == ENOENT || e == EBUSY ||
               e == EOPNOTSUPP;
}

#define STALE_AFTER_S 60

/* Groups left by a runner that was killed (SIGKILL gives it no chance to
 * clean up): rmdir those older than a minute.  rmdir refuses a group that
 * still has processes, and a live jail attaches within milliseconds of
 * creating its group, so only dead jails' groups go. */
static void sweep(const char *base)
{
        DIR *d = opendir(base);
        struct dirent *de;
        time_t now = time(NULL);

        if (d == NULL)
                return;
        while ((de = readdir(d)) != NULL) {
                struct stat st;

                if (strncmp(de->d_name, "tfgate-", 7) != 0 || !randid_valid(de->d_name + 7))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISDIR(st.st_mode) || st.st_mtime > now - STALE_AFTER_S)
                        continue;
                (void)unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
        }
        closedir(d);
}

/* mkdir base/tfgate-<id>: flat, so concurrent jails share no directory
 * that one of them would have to remove */
static int make_leaf(char **leaf, const char *base, const char *id, struct err *err)
{
        sweep(base);
        *leaf = xasprintf("%s/tfgate-%s", base, id);
        /* the id is one-shot: an existing group is refused, never reused */
        if (mkdir(*leaf, 0755) < 0) {
                int e = errno;
                int r = err_set(err, e, "jail: cgroup: mkdir %s", *leaf);

                free(*leaf);
                *leaf = NULL;
                return r;
        }
        return 0;
}

static int v1_limits(struct jail_cgroup *cg, const struct jail_limits *l, struct err *err)
{
        char v[64];
        int r = 0;

        if (cg->dir[JCG_MEMORY] != NULL && l->memory > 0) {
                snprintf(v, sizeof(v), "%llu", (unsigned long long)l->memory);
                r = put(cg->dir[JCG_MEMORY], "memory.limit_in_bytes", v, err);
                /* memory and swap together, when swap accounting exists */
                if (r == 0 && exists(cg->dir[JCG_MEMORY], "memory.memsw.limit_in_bytes"))
                        r = put(cg->dir[JCG_MEMORY], "memory.memsw.limit_in_bytes", v, err);
        }
        if (r == 0 && cg->dir[JCG_PIDS] != NULL && l->pids > 0) {
                /* + the monitor and init, which live in the group too */
                snprintf(v, sizeof(v), "%llu", (unsigned long long)l->pids + 2);
                r = put(cg->dir[JCG_PIDS], "pids.max", v, err);
        }
        if (r == 0 && cg->dir[JCG_CPU] != NULL && l->cpu_quota_milli > 0) {
                r = put(cg->dir[JCG_CPU], "cpu.cfs_period_us", "100000", err);
                snprintf(v, sizeof(v), "%u", l->cpu_quota_milli * 100);
                if (r == 0)
                        r = put(cg->dir[JCG_CPU], "cpu.cfs_quota_us", v, err);
        }
        return r;
}

static int v1_create(struct jail_cgroup *cg, const char *mountinfo, const char *self,
                     const char *id, const struct jail_limits *l, struct err *err)
{
        for (int c = 0; c < JCG__COUNT; c++) {
                _cleanup_free_ char *base = NULL;
                int r;

                if (c == JCG_CPU && l->cpu_quota_milli == 0)
                        continue;
                base = group_base(mountinfo, self, v1_names[c]);
                if (base == NULL)
                        continue;
                r = make_leaf(&cg->dir[c], base, id, err);
                if (r < 0)
                        return r;
        }
        return v1_limits(cg, l, err);
}

static bool listed(const char *dir, const char *file, const char *ctrl)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
        _cleanup_free_ char *text = NULL;
        size_t len;

        if (file_read_all(&text, &len, path, 4096, NULL) < 0)
                return false;
        for (char *p = text; (p = strstr(p, ctrl)) != NULL; p++)
                if ((p == text || p[-1] == ' ') && (p[strlen(ctrl)] == ' ' || p[strlen(ctrl)] == '\n' ||
                                                    p[strlen(ctrl)] == '\0'))
                        return true;
        return false;
}

static int v2_create(struct jail_cgroup *cg, const char *base, const char *id,
                     const struct jail_limits *l, struct err *err)
{
        bool cpu = l->cpu_quota_milli > 0 && listed(base, "cgroup.controllers", "cpu");
        const char *enable = cpu ? "+memory +pids +cpu" : "+memory +pids";
        char v[64];
        int r;

        if (!listed(base, "cgroup.subtree_control", "memory") ||
            !listed(base, "cgroup.subtree_control", "pids") ||
            (cpu && !listed(base, "cgroup.subtree_control", "cpu")))
                if ((r = put(base, "cgroup.subtree_control", enable, err)) < 0)
                        return r;
        if ((r = make_leaf(&cg->dir[0], base, id, err)) < 0)
                return r;
        if (l->memory > 0) {
                snprintf(v, sizeof(v), "%llu", (unsigned long long)l->memory);
                if ((r = put(cg->dir[0], "memory.max", v, err)) < 0)
                        return r;
                if (exists(cg->dir[0], "memory.swap.max") &&
                    (r = put(cg->dir[0], "memory.swap.max", "0", err)) < 0)
                        return r;
        }
        if (l->pids > 0) {
                snprintf(v, sizeof(v), "%llu", (unsigned long long)l->pids + 2);
                if ((r = put(cg->dir[0], "pids.max", v, err)) < 0)
                        return r;
        }
        if (cpu) {
                snprintf(v, sizeof(v), "%u 100000", l->cpu_quota_milli * 100);
                if ((r = put(cg->dir[0], "cpu.max", v, err)) < 0)
                        return r;
        }
        return 0;
}

static void forget(struct jail_cgroup *cg)
{
        struct err ignored = ERR_INIT;

        (void)jail_cgroup_destroy(cg, &ignored);
        cg->mode = JAIL_CGROUP_NONE;
}

int jail_cgroup_create(struct jail_cgroup *cg, const char *mountinfo, const char *self,
                       const char *id, const struct jail_limits *l, bool required,
                       struct err *err)
{
        _cleanup_free_ char *v1_mem = group_base(mountinfo, self, "memory");
        _cleanup_free_ char *v1_pids = group_base(mountinfo, self, "pids");
        _cleanup_free_ char *v2 = NULL;
        int r;

        memset(cg, 0, sizeof(*cg));
        if (v1_mem != NULL || v1_pids != NULL) {
                cg->mode = JAIL_CGROUP_V1;
                r = v1_create(cg, mountinfo, self, id, l, err);
        } else {
                v2 = group_base(mountinfo, self, NULL);
                if (v2 == NULL || !listed(v2, "cgroup.controllers", "memory") ||
                    !listed(v2, "cgroup.controllers", "pids")) {
                        if (required)
                                return err_set(err, ENOTSUP, "jail: no memory and pids cgroup controllers");
                        return 0;
                }
                cg->mode = JAIL_CGROUP_V2;
                r = v2_create(cg, v2, id, l, err);
        }
        if (r < 0) {
                int code = err != NULL ? err->code : r;

                forget(cg);
                if (!required && not_delegated(-code)) {
                        err_clear(err);
                        return 0;
                }
                return r;
        }
        return 0;
}

int jail_cgroup_attach(const struct jail_cgroup *cg, pid_t pid, struct err *err)
{
        char v[32];

        snprintf(v, sizeof(v), "%d\n", (int)pid);
        for (int c = 0; c < JCG__COUNT; c++) {
                int r;

                if (cg->dir[c] == NULL)
                        continue;
                r = put(cg->dir[c], "cgroup.procs", v, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* the number after "key " in a flat keyed file */
static uint64_t keyed(const char *dir, const char *file, const char *key)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len, kl = strlen(key);

        if (dir == NULL)
                return 0;
        path = xasprintf("%s/%s", dir, file);
        if (file_read_all(&text, &len, path, 8192, NULL) < 0)
                return 0;
        for (char *line = text; line != NULL && *line != '\0';) {
                char *eol = strchr(line, '\n');

                if (strncmp(line, key, kl) == 0 && line[kl] == ' ')
                        return strtoull(line + kl + 1, NULL, 10);
                line = eol != NULL ? eol + 1 : NULL;
        }
        return 0;
}

static uint64_t number(const char *dir, const char *file)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len;

        if (dir == NULL)
                return 0;
        path = xasprintf("%s/%s", dir, file);
        if (file_read_all(&text, &len, path, 64, NULL) < 0)
                return 0;
        return strtoull(text, NULL, 10);
}

void jail_cgroup_events(const struct jail_cgroup *cg, bool *oom, bool *pids_max)
{
        *oom = false;
        *pids_max = false;
        if (cg->mode == JAIL_CGROUP_V1) {
                *oom = keyed(cg->dir[JCG_MEMORY], "memory.oom_control", "oom_kill") > 0;
                *pids_max = keyed(cg->dir[JCG_PIDS], "pids.events", "max") > 0;
        } else if (cg->mode == JAIL_CGROUP_V2) {
                *oom = keyed(cg->dir[0], "memory.events", "oom_kill") > 0;
                *pids_max = keyed(cg->dir[0], "pids.events", "max") > 0;
        }
}

uint64_t jail_cgroup_peak_memory(const struct jail_cgroup *cg)
{
        if (cg->mode == JAIL_CGROUP_V1)
                return number(cg->dir[JCG_MEMORY], "memory.max_usage_in_bytes");
        if (cg->mode == JAIL_CGROUP_V2)
                return number(cg->dir[0], "memory.peak");
        return 0;
}

/* a test's fake tree is a plain directory holding the files we wrote */
static void rm_if_not_cgroupfs(const char *dir)
{
        struct err ignored = ERR_INIT;
        struct statfs sf;

        if (statfs(dir, &sf) == 0 && sf.f_type != CGROUP_SUPER_MAGIC &&
            sf.f_type != CGROUP2_SUPER_MAGIC)
                (void)rm_rf(dir, &ignored);
}

int jail_cgroup_destroy(struct jail_cgroup *cg, struct err *err)
{
        int r = 0;

        for (int c = 0; c < JCG__COUNT; c++) {
                if (cg->dir[c] != NULL) {
                        rm_if_not_cgroupfs(cg->dir[c]);
                        /* exiting tasks leave the group a moment after they are reaped */
                        for (int i = 0; i < 200 && rmdir(cg->dir[c]) < 0 && errno == EBUSY; i++) {
                                struct timespec ts = { 0, 5 * 1000 * 1000 };

                                nanosleep(&ts, NULL);
                        }
                        if (access(cg->dir[c], F_OK) == 0 && r == 0)
                                r = err_set(err, errno, "jail: cgroup: rmdir %s", cg->dir[c]);
                        free(cg->dir[c]);
                        cg->dir[c] = NULL;
                }
        }
        return r;
}

/* ---- the janitor ---- */

/* Replace our command line as ps shows it (setproctitle): the janitor is a
 * copy of the runner and would otherwise look like one. */
static void set_title(const char *title)
{
        _cleanup_free_ char *stat = NULL;
        unsigned long long start = 0, end = 0;
        size_t len;
        char *p;

        if (file_read_all(&stat, &len, "/proc/self/stat", 4096, NULL) < 0 ||
            (p = strrchr(stat, ')')) == NULL)
                return;
        /* after "pid (comm)" the fields count from 3; arg_start is 48 */
        for (int field = 3; field <= 48 && p != NULL; field++)
                p = strchr(p + 1, ' ');
        if (p == NULL || sscanf(p + 1, "%llu %llu", &start, &end) != 2 || end <= start)
                return;
        memset((void *)(uintptr_t)start, 0, (size_t)(end - start));
        snprintf((char *)(uintptr_t)start, (size_t)(end - start), "%s", title);
}

static __attribute__((noreturn)) void janitor_main(const struct jail_cgroup *cg, int fd)
{
        struct jail_cgroup mine = *cg;
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        char c = 0;
        ssize_t n;

        /* hold nothing of the runner's: not its sockets, not its stdout */
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        for (int i = 0; i < 3 && devnull >= 0; i++)
                dup2(devnull, i);
        if (fd < 0)
                _exit(1);
        if (fd > 3)
                close_range(3, (unsigned)fd - 1, 0);
        close_range((unsigned)fd + 1, ~0U, 0);
        set_title("tfgate-jail-janitor");
        (void)prctl(PR_SET_NAME, "tfgate-janitor", 0, 0, 0);
        do
                n = read(fd, &c, 1);
        while (n < 0 && errno == EINTR);
        if (n == 1 && c == 'D')
                _exit(0);
        /* the runner died without cleaning up: its jail dies too
         * (PR_SET_PDEATHSIG); remove the groups once they are empty */
        for (int i = 0; i < 300; i++) {
                struct timespec ts = { 0, 100 * 1000 * 1000 };
                bool left = false;

                for (int k = 0; k < JCG__COUNT; k++)
                        if (mine.dir[k] != NULL && rmdir(mine.dir[k]) < 0 && errno != ENOENT)
                                left = true;
                if (!left)
                        break;
                nanosleep(&ts, NULL);
        }
        _exit(0);
}

int jail_cgroup_janitor(pid_t *pid, int *fd, const struct jail_cgroup *cg, struct err *err)
{
        int p[2];

        *pid = -1;
        *fd = -1;
        if (cg->mode == JAIL_CGROUP_NONE)
                return 0;
        /* a socket, not a pipe: telling a dead janitor must not SIGPIPE us */
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
                return err_set(err, errno, "jail: cgroup janitor: socketpair");
        *pid = fork();
        if (*pid < 0) {
                int r = err_set(err, errno, "jail: cgroup janitor: fork");

                close(p[0]);
                close(p[1]);
                return r;
        }
        if (*pid == 0) {
                close(p[1]);
                janitor_main(cg, p[0]);
        }
        close(p[0]);
        *fd = p[1];
        return 0;
}

void jail_cgroup_janitor_done(pid_t pid, int fd)
{
        if (fd >= 0) {
                (void)send(fd, "D", 1, MSG_NOSIGNAL);
                close(fd);
        }
        if (pid > 0)
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
}
