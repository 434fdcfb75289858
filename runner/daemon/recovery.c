/* recovery.c - the running-jobs journal and the clean-up at start; see
 * recovery.h for what is removed and why the rest is left alone. */
#include "recovery.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "runner/pipeline/workspace.h"
#include "runner/state/state.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/log.h"
#include "runner/util/randid.h"
#include "runner/util/xalloc.h"

#define PROC_TEXT_MAX (1u << 20)

/* ---- journal ---- */

static void strv_push(char ***v, size_t *n, char *s)
{
        *v = xreallocarray(*v, *n + 2, sizeof(char *));
        (*v)[(*n)++] = s;
        (*v)[*n] = NULL;
}


int recovery_journal_add(const char *dir, const struct recovery_entry *e, struct err *err)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        json_t *o;
        int r;

        if (!randid_valid(e->exec_id))
                return err_set(err, 0, "journal: bad execution id");
        if (e->handle != NULL && strlen(e->handle) > RECOVERY_HANDLE_MAX)
                return err_set(err, EFBIG, "journal: the forge's handle is over %u bytes",
                               RECOVERY_HANDLE_MAX);
        if ((r = mkdir_p(dir, 0700, err)) < 0)
                return r;
        o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "exec_id", e->exec_id, "forge", e->forge,
                      "job", e->job_id, "project", e->project, "commit", e->commit,
                      "pid", (json_int_t)e->pid);
        if (o != NULL && e->handle != NULL &&
            json_object_set_new(o, "handle", json_string(e->handle)) < 0) {
                json_decref(o);
                o = NULL;
        }
        if (o == NULL)
                return err_set(err, 0, "journal: a field is not valid UTF-8");
        text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (text == NULL)
                return err_set(err, ENOMEM, "journal: encode");
        path = xasprintf("%s/%s.json", dir, e->exec_id);
        r = file_write_atomic(path, text, strlen(text), 0600, err);
        /* the handle holds the job's token */
        explicit_bzero(text, strlen(text));
        return r;
}

int recovery_journal_remove(const char *dir, const char *exec_id, struct err *err)
{
        _cleanup_free_ char *path = NULL;

        if (!randid_valid(exec_id))
                return err_set(err, 0, "journal: bad execution id");
        path = xasprintf("%s/%s.json", dir, exec_id);
        if (unlink(path) < 0 && errno != ENOENT)
                return err_set(err, errno, "journal: remove %s", path);
        return 0;
}

void recovery_entries_free(struct recovery_entry *v, size_t n)
{
        for (size_t i = 0; v != NULL && i < n; i++) {
                if (v[i].handle != NULL) {
                        explicit_bzero(v[i].handle, strlen(v[i].handle));
                        free(v[i].handle);
                }
        }
        free(v);
}

/* flags of a journal field */
enum { F_OPT = 1, F_NONEMPTY = 2, F_PRINTABLE = 4 };

struct jfield {
        const char *key;
        size_t off;             /* of the char array in struct recovery_entry */
        size_t size;
        unsigned flags;
};

/* what an entry holds; anything else in the file is ignored */
static const struct jfield jfields[] = {
        { "exec_id", offsetof(struct recovery_entry, exec_id), sizeof(((struct recovery_entry *)0)->exec_id), F_NONEMPTY },
        { "forge", offsetof(struct recovery_entry, forge), sizeof(((struct recovery_entry *)0)->forge), F_NONEMPTY },
        { "job", offsetof(struct recovery_entry, job_id), sizeof(((struct recovery_entry *)0)->job_id), F_NONEMPTY | F_PRINTABLE },
        { "project", offsetof(struct recovery_entry, project), sizeof(((struct recovery_entry *)0)->project), F_PRINTABLE },
        { "commit", offsetof(struct recovery_entry, commit), sizeof(((struct recovery_entry *)0)->commit), 0 },
};

static bool printable(const char *s)
{
        for (; *s != '\0'; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

/* a string member with no NUL inside and at most max bytes; NULL if not */
static const char *string_field(json_t *o, const char *key, size_t max, const char **why)
{
        json_t *v = json_object_get(o, key);
        const char *s = json_string_value(v);

        if (v == NULL)
                *why = "missing";
        else if (s == NULL)
                *why = "not a string";
        else if (json_string_length(v) != strlen(s))
                *why = "holds a NUL byte";
        else if (strlen(s) > max)
                *why = "too long";
        else
                return s;
        return NULL;
}

int recovery_entry_parse(struct recovery_entry *out, const char *text, size_t len, const char *id,
                         struct err *err)
{
        _cleanup_(json_decrefp) json_t *o = NULL;
        json_error_t je;
        const char *why = NULL, *s;
        json_t *pid;

        memset(out, 0, sizeof(*out));
        o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
        if (o == NULL)
                return err_set(err, EBADMSG, "not JSON (line %d: %s)", je.line, je.text);
        if (!json_is_object(o))
                return err_set(err, EBADMSG, "not a JSON object");
        for (size_t i = 0; i < ARRAY_SIZE(jfields); i++) {
                const struct jfield *f = &jfields[i];

                s = string_field(o, f->key, f->size - 1, &why);
                if (s == NULL)
                        return err_set(err, EBADMSG, "\"%s\" is %s", f->key, why);
                if ((f->flags & F_NONEMPTY) && s[0] == '\0')
                        return err_set(err, EBADMSG, "\"%s\" is empty", f->key);
                if ((f->flags & F_PRINTABLE) && !printable(s))
                        return err_set(err, EBADMSG, "\"%s\" has control characters", f->key);
                memcpy((char *)out + f->off, s, strlen(s) + 1);
        }
        /* the name is what recovery acts on: it must be the entry's own id */
        if (strcmp(out->exec_id, id) != 0)
                return err_set(err, EBADMSG, "\"exec_id\" is not the file's name");
        if (!state_forge_name_valid(out->forge))
                return err_set(err, EBADMSG, "\"forge\" is not a forge name");
        if (out->commit[0] != '\0' && !job_sha_valid(out->commit))
                return err_set(err, EBADMSG, "\"commit\" is not a commit id");
        pid = json_object_get(o, "pid");
        if (!json_is_integer(pid) || json_integer_value(pid) < 0 || json_integer_value(pid) > INT32_MAX)
                return err_set(err, EBADMSG, "\"pid\" is not a process id");
        out->pid = (long)json_integer_value(pid);
        if (json_object_get(o, "handle") != NULL) {
                s = string_field(o, "handle", RECOVERY_HANDLE_MAX, &why);
                if (s == NULL)
                        return err_set(err, EBADMSG, "\"handle\" is %s", why);
                out->handle = xstrdup(s);
        }
        return 0;
}

/* the text of a journal file: a regular file of ours, private, bounded */
static int read_entry(char **out, size_t *len, const char *path, struct err *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        struct stat st;

        if (fd < 0)
                return err_set(err, errno, errno == ELOOP ? "a symbolic link" : "open");
        if (fstat(fd, &st) < 0)
                return err_set(err, errno, "stat");
        if (!S_ISREG(st.st_mode))
                return err_set(err, EBADMSG, "not a regular file");
        if (st.st_uid != geteuid() || (st.st_mode & 077) != 0)
                return err_set(err, EBADMSG, "not private to this user (mode %04o)",
                               (unsigned)(st.st_mode & 07777));
        if (st.st_size > (off_t)RECOVERY_ENTRY_MAX)
                return err_set(err, EFBIG, "%lld bytes, over the %u-byte limit",
                               (long long)st.st_size, RECOVERY_ENTRY_MAX);
        return fd_read_all(out, len, fd, RECOVERY_ENTRY_MAX, err);
}

static void free_secret_text(char *s, size_t len)
{
        if (s != NULL) {
                explicit_bzero(s, len);
                free(s);
        }
}

int recovery_journal_list(struct recovery_entry **out, size_t *n, char ***corrupt, const char *dir,
                          size_t max, struct err *err)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        struct recovery_entry *v = NULL;
        size_t n_corrupt = 0;

        *out = NULL;
        *n = 0;
        if (corrupt != NULL)
                *corrupt = xcalloc(1, sizeof(char *));
        if (d == NULL)
                return errno == ENOENT ? 0 : err_set(err, errno, "journal: open %s", dir);
        while ((de = readdir(d)) != NULL && *n + n_corrupt < max) {
                char id[RANDID_HEX_LEN + 1];
                const char *dot = strrchr(de->d_name, '.');
                _cleanup_free_ char *path = NULL;
                char *text = NULL;
                size_t len = 0;
                struct err e = ERR_INIT;
                int r;

                if (dot == NULL || strcmp(dot, ".json") != 0 || dot - de->d_name != RANDID_HEX_LEN)
                        continue;
                memcpy(id, de->d_name, RANDID_HEX_LEN);
                id[RANDID_HEX_LEN] = '\0';
                if (!randid_valid(id))
                        continue;
                path = xasprintf("%s/%s", dir, de->d_name);
                v = xreallocarray(v, *n + 1, sizeof(*v));
                memset(&v[*n], 0, sizeof(v[*n]));
                r = read_entry(&text, &len, path, &e);
                if (r == 0)
                        r = recovery_entry_parse(&v[*n], text, len, id, &e);
                free_secret_text(text, len);
                if (r < 0) {
                        log_warn("journal: %s is malformed (%s); removing it, its job is not "
                                 "reported to the forge", path, e.msg);
                        free(v[*n].handle);
                        (void)unlink(path);
                        if (corrupt != NULL)
                                strv_push(corrupt, &n_corrupt, xstrdup(id));
                        else
                                n_corrupt++;
                        continue;
                }
                (*n)++;
        }
        closedir(d);
        *out = v;
        return 0;
}

/* ---- cgroups ---- */

static bool has_token(const char *list, size_t n, const char *tok)
{
        size_t tl = strlen(tok);

        for (const char *p = list, *end = list + n; p < end;) {
                const char *c = memchr(p, ',', (size_t)(end - p));
                size_t len = c ? (size_t)(c - p) : (size_t)(end - p);

                if (len == tl && memcmp(p, tok, tl) == 0)
                        return true;
                p += len + 1;
        }
        return false;
}

/* fields of a line split at spaces, at most max */
static size_t split(char *line, char **f, size_t max)
{
        size_t n = 0;

        for (char *p = line; n < max && p != NULL && *p != '\0';) {
                f[n++] = p;
                p = strchr(p, ' ');
                if (p != NULL)
                        *p++ = '\0';
        }
        return n;
}

/* our cgroup in the hierarchy with ctrl (v1), or the v2 one (ctrl NULL) */
static char *own_group(const char *self, const char *ctrl)
{
        for (const char *line = self; line != NULL && *line != '\0';) {
                const char *eol = strchr(line, '\n');
                const char *end = eol ? eol : line + strlen(line);
                const char *c1 = memchr(line, ':', (size_t)(end - line));
                const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;

                if (c2 != NULL) {
                        bool v2 = c1 - line == 1 && line[0] == '0' && c2 == c1 + 1;

                        if ((ctrl == NULL && v2) ||
                            (ctrl != NULL && has_token(c1 + 1, (size_t)(c2 - c1 - 1), ctrl)))
                                return xstrndup(c2 + 1, (size_t)(end - c2 - 1));
                }
                line = eol ? eol + 1 : NULL;
        }
        return NULL;
}

/* the directory of our group in the hierarchy holding ctrl (NULL = v2) */
static char *group_dir(const char *mountinfo, const char *self, const char *ctrl)
{
        _cleanup_free_ char *text = xstrdup(mountinfo);
        _cleanup_free_ char *own = own_group(self, ctrl);

        if (own == NULL)
                return NULL;
        for (char *line = text; line != NULL && *line != '\0';) {
                char *eol = strchr(line, '\n');
                char *sep, *f[8], *g[4];

                if (eol != NULL)
                        *eol = '\0';
                sep = strstr(line, " - ");
                if (sep != NULL) {
                        *sep = '\0';
                        size_t nf = split(line, f, 8), ng = split(sep + 3, g, 4);
                        bool v2 = ng >= 1 && strcmp(g[0], "cgroup2") == 0;
                        bool v1 = ng >= 3 && strcmp(g[0], "cgroup") == 0 &&
                                  ctrl != NULL && has_token(g[2], strlen(g[2]), ctrl);

                        if (nf >= 5 && ((ctrl == NULL && v2) || v1)) {
                                const char *root = f[3], *mnt = f[4];
                                size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);

                                if (strncmp(own, root, rl) != 0)
                                        return NULL;
                                return xasprintf("%s%s", mnt, strcmp(own + rl, "/") == 0 ? "" : own + rl);
                        }
                }
                line = eol ? eol + 1 : NULL;
        }
        return NULL;
}

char **recovery_cgroups(const char *mountinfo, const char *self_cgroup, const char *exec_id)
{
        static const char *const hierarchies[] = { "memory", "pids", "cpu", NULL };
        char **v = xcalloc(1, sizeof(char *));
        size_t n = 0;

        for (size_t h = 0; h < ARRAY_SIZE(hierarchies); h++) {
                _cleanup_free_ char *base = group_dir(mountinfo, self_cgroup, hierarchies[h]);
                DIR *d;
                struct dirent *de;

                if (base == NULL)
                        continue;
                d = opendir(base);
                if (d == NULL)
                        continue;
                while ((de = readdir(d)) != NULL) {
                        const char *id = de->d_name + 7;

                        if (strncmp(de->d_name, "tfgate-", 7) != 0 || !randid_valid(id) ||
                            (exec_id != NULL && strcmp(id, exec_id) != 0))
                                continue;
                        strv_push(&v, &n, xasprintf("%s/%s", base, de->d_name));
                }
                closedir(d);
        }
        return v;
}

/* pids listed in a group's cgroup.procs; 0 when none or unreadable */
static size_t group_pids(const char *dir, pid_t *pids, size_t max)
{
        _cleanup_free_ char *path = xasprintf("%s/cgroup.procs", dir);
        _cleanup_free_ char *text = NULL;
        size_t len, n = 0;

        if (file_read_all(&text, &len, path, PROC_TEXT_MAX, NULL) < 0)
                return 0;
        for (char *p = text; *p != '\0' && n < max;) {
                char *end;
                long v = strtol(p, &end, 10);

                if (end == p)
                        break;
                if (v > 0)
                        pids[n++] = (pid_t)v;
                p = end;
                while (*p == '\n' || *p == ' ')
                        p++;
        }
        return n;
}

static void sleep_ms(long ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

        nanosleep(&ts, NULL);
}

/* kill every task of a group and remove it; true when it is gone */
static bool kill_group(const char *dir, bool *had_tasks)
{
        _cleanup_free_ char *kill_file = xasprintf("%s/cgroup.kill", dir);
        pid_t pids[256];

        *had_tasks = false;
        for (int round = 0; round < 100; round++) {
                size_t n = group_pids(dir, pids, ARRAY_SIZE(pids));
                int fd;

                if (n == 0)
                        break;
                *had_tasks = true;
                /* v2 kills the whole group at once; v1 pid by pid, until
                 * nothing forks any more */
                fd = open(kill_file, O_WRONLY | O_CLOEXEC);
                if (fd >= 0) {
                        (void)write_all(fd, "1", 1);
                        close(fd);
                }
                for (size_t i = 0; i < n; i++)
                        (void)kill(pids[i], SIGKILL);
                sleep_ms(10);
        }
        for (int i = 0; i < 200; i++) {
                struct statfs sf;

                if (rmdir(dir) == 0 || errno == ENOENT)
                        return true;
                /* a test's fake tree is a plain directory holding files */
                if (errno == ENOTEMPTY && statfs(dir, &sf) == 0 && sf.f_type != CGROUP_SUPER_MAGIC &&
                    sf.f_type != CGROUP2_SUPER_MAGIC)
                        return rm_rf(dir, NULL) == 0;
                if (errno != EBUSY)
                        break;
                sleep_ms(10);
        }
        return false;
}

/* ---- workspaces ---- */

/* detach whatever is mounted at or below root (deepest first) */
static size_t detach_mounts(const char *mountinfo, const char *root)
{
        _cleanup_free_ char *text = xstrdup(mountinfo);
        _cleanup_strv_free_ char **found = xcalloc(1, sizeof(char *));
        size_t n = 0, rl = strlen(root), done = 0;

        for (char *line = text; line != NULL && *line != '\0';) {
                char *eol = strchr(line, '\n');
                char *f[6];

                if (eol != NULL)
                        *eol = '\0';
                if (split(line, f, 6) >= 5 && strncmp(f[4], root, rl) == 0 &&
                    (f[4][rl] == '\0' || f[4][rl] == '/'))
                        strv_push(&found, &n, xstrdup(f[4]));
                line = eol ? eol + 1 : NULL;
        }
        while (n > 0) {
                n--;
                if (umount2(found[n], MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
                        done++;
                else
                        log_warn("recovery: umount %s: %s", found[n], strerror(errno));
        }
        return done;
}

static bool remove_workspace(struct recovery_report *rep, const char *mountinfo, const char *work_dir,
                             const char *id)
{
        _cleanup_free_ char *root = xasprintf("%s/%s%s", work_dir, WORKSPACE_PREFIX, id);
        struct err e = ERR_INIT;
        struct stat st;

        if (lstat(root, &st) < 0)
                return errno == ENOENT;
        rep->mounts += detach_mounts(mountinfo, root);
        if (rm_rf(root, &e) < 0) {
                log_error("recovery: %s", e.msg);
                return false;
        }
        rep->workspaces++;
        return true;
}

static bool in_entries(const struct recovery_entry *v, size_t n, const char *id)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i].exec_id, id) == 0)
                        return true;
        return false;
}

static void remove_groups(struct recovery_report *rep, const struct recovery_env *env, const char *id,
                          bool kill_live)
{
        _cleanup_strv_free_ char **groups = recovery_cgroups(env->mountinfo, env->self_cgroup, id);

        for (size_t i = 0; groups[i] != NULL; i++) {
                pid_t pids[1];
                bool had = false;

                struct stat st;

                /* a live jail attaches within milliseconds of making its
                 * group: only a group empty for a minute is abandoned */
                if (!kill_live && (stat(groups[i], &st) < 0 || st.st_mtime > time(NULL) - 60))
                        continue;
                if (!kill_live && group_pids(groups[i], pids, 1) > 0) {
                        log_info("recovery: %s has live tasks (another runner's jail?); left alone",
                                 groups[i]);
                        rep->kept++;
                        continue;
                }
                if (kill_group(groups[i], &had)) {
                        rep->cgroups++;
                        rep->cgroups_killed += had;
                } else {
                        log_warn("recovery: could not remove %s: %s", groups[i], strerror(errno));
                        rep->kept++;
                }
        }
}

static void audit_recovered(struct audit_log *audit, const struct recovery_entry *e,
                            const char *forge_report)
{
        json_t *f;
        struct err err = ERR_INIT;

        if (audit == NULL)
                return;
        f = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "exec_id", e->exec_id, "forge", e->forge,
                      "job", e->job_id, "project", e->project, "recovered", 1,
                      "reason", "the runner stopped while the job ran", "forge_report", forge_report);
        if (f == NULL || audit_append(audit, AUDIT_CLEANED, f, &err) < 0)
                log_error("audit log: %s", f ? err.msg : "recovery record");
        json_decref(f);
}

static struct forge *forge_named(struct forge *const *forges, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (forges[i] != NULL && strcmp(forges[i]->name, name) == 0)
                        return forges[i];
        return NULL;
}

/* tell the job's forge that it failed; returns the audit word for it.
 * dead[i] is set once forges[i] failed a report: the rest of its jobs are
 * not tried, so a forge that is down delays the start by one report only */
static const char *report_to_forge(struct recovery_report *rep, const struct recovery_entry *e,
                                   struct forge *const *forges, size_t n_forges, bool *dead)
{
        struct forge *f = forge_named(forges, n_forges, e->forge);
        struct err err = ERR_INIT;
        size_t fi = 0;
        int r;

        while (f != NULL && forges[fi] != f)
                fi++;

        if (f == NULL) {
                log_warn("recovery: job %s: forge %s is no longer configured; the job is not "
                         "reported", e->job_id, e->forge);
                rep->unreported++;
                return "forge not configured";
        }
        if (f->ops->abandon == NULL || e->handle == NULL) {
                log_info("recovery: job %s: forge %s (%s) takes no report of an interrupted job",
                         e->job_id, e->forge, f->ops->name);
                rep->unreported++;
                return "not needed";
        }
        if (dead[fi]) {
                log_warn("recovery: job %s: forge %s failed an earlier report; not reported",
                         e->job_id, e->forge);
                rep->unreported++;
                return "failed";
        }
        r = f->ops->abandon(f, e->handle, &err);
        if (r == 0) {
                log_info("recovery: job %s reported failed to forge %s (the runner restarted)",
                         e->job_id, e->forge);
                rep->reported++;
                return "reported";
        }
        if (r == 1) {
                log_info("recovery: job %s: forge %s no longer accepts it (finished, canceled or "
                         "removed there); nothing to report", e->job_id, e->forge);
                rep->refused++;
                return "no longer accepted";
        }
        log_error("recovery: job %s: reporting it to forge %s failed: %s; not retried",
                  e->job_id, e->forge, err.msg);
        dead[fi] = true;
        rep->unreported++;
        return "failed";
}

static int read_proc(char **out, const char *given, const char *path, struct err *err)
{
        size_t len;

        if (given != NULL) {
                *out = xstrdup(given);
                return 0;
        }
        return file_read_all(out, &len, path, PROC_TEXT_MAX, err);
}

int recovery_run(struct recovery_report *out, const struct config *cfg, const char *journal_dir,
                 struct forge *const *forges, size_t n_forges, struct audit_log *audit,
                 const struct recovery_env *envp, struct err *err)
{
        struct recovery_env env = envp ? *envp : (struct recovery_env){ 0 };
        _cleanup_free_ char *mountinfo = NULL, *self = NULL;
        struct recovery_entry *entries = NULL;
        _cleanup_strv_free_ char **leftovers = NULL, **corrupt = NULL;
        _cleanup_free_ bool *dead = xcalloc(n_forges + 1, sizeof(bool));
        uint64_t min_age = env.workspace_min_age_ms ? env.workspace_min_age_ms
                                                    : cfg->sandbox.wall_timeout_ms + 10 * 60 * 1000;
        size_t n = 0;
        int r;

        memset(out, 0, sizeof(*out));
        if ((r = read_proc(&mountinfo, env.mountinfo, "/proc/self/mountinfo", err)) < 0 ||
            (r = read_proc(&self, env.self_cgroup, "/proc/self/cgroup", err)) < 0)
                return r;
        env.mountinfo = mountinfo;
        env.self_cgroup = self;
        if ((r = recovery_journal_list(&entries, &n, &corrupt, journal_dir, 4096, err)) < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                const struct recovery_entry *e = &entries[i];
                struct err je = ERR_INIT;
                const char *reported;

                log_warn("recovery: job %s of %s (forge %s, execution %s) was interrupted when the "
                         "runner stopped (pid %ld); cleaning up and reporting it failed",
                         e->job_id, e->project, e->forge, e->exec_id, e->pid);
                remove_groups(out, &env, e->exec_id, true);
                (void)remove_workspace(out, mountinfo, cfg->work_dir, e->exec_id);
                reported = report_to_forge(out, e, forges, n_forges, dead);
                audit_recovered(audit, e, reported);
                if (recovery_journal_remove(journal_dir, e->exec_id, &je) < 0)
                        log_error("recovery: %s", je.msg);
                out->jobs++;
        }
        /* a corrupt entry was still ours (its name is in our private
         * directory): its execution's leftovers go, unreported */
        for (size_t i = 0; corrupt[i] != NULL; i++) {
                remove_groups(out, &env, corrupt[i], true);
                (void)remove_workspace(out, mountinfo, cfg->work_dir, corrupt[i]);
                out->unreported++;
        }
        r = workspace_list_leftovers(&leftovers, cfg->work_dir, err);
        for (size_t i = 0; r == 0 && leftovers[i] != NULL; i++) {
                _cleanup_free_ char *root = xasprintf("%s/%s%s", cfg->work_dir, WORKSPACE_PREFIX,
                                                      leftovers[i]);
                struct stat st;

                if (in_entries(entries, n, leftovers[i]) || lstat(root, &st) < 0)
                        continue;
                /* not ours by the journal: maybe a `tfgate check` in progress */
                if ((uint64_t)(time(NULL) - st.st_mtime) * 1000 < min_age) {
                        log_info("recovery: workspace %s is recent and not in the journal; left alone", root);
                        out->kept++;
                        continue;
                }
                log_warn("recovery: removing stale workspace %s", root);
                remove_groups(out, &env, leftovers[i], true);
                (void)remove_workspace(out, mountinfo, cfg->work_dir, leftovers[i]);
        }
        recovery_entries_free(entries, n);
        if (r < 0)
                return r;
        /* anything else: empty groups go, busy ones belong to a live jail */
        remove_groups(out, &env, NULL, false);
        if (out->jobs + out->workspaces + out->cgroups + out->mounts + out->unreported > 0)
                log_info("recovery: %zu interrupted job(s) (%zu reported failed, %zu no longer "
                         "accepted, %zu not reported), %zu workspace(s), %zu cgroup(s) (%zu with "
                         "tasks killed), %zu mount(s) cleaned up; %zu left alone",
                         out->jobs, out->reported, out->refused, out->unreported, out->workspaces,
                         out->cgroups, out->cgroups_killed, out->mounts, out->kept);
        return 0;
}
