/* state.c - the state directory: per-job result files and badges.json.
 *
 * A job's files are written into a fresh temporary directory under
 * results/ and renamed into place with RENAME_NOREPLACE, so a reader sees a
 * job completely or not at all and an execution id is never overwritten.
 * badges.json is rewritten whole (temporary file + rename) under an flock
 * on STATE_DIR/.lock, after re-reading it inside the lock, so writers in
 * several threads or processes never lose each other's updates.  Readers
 * keep a parsed copy and re-read the file when its inode, size or mtime
 * changed. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/log.h"
#include "runner/util/randid.h"
#include "runner/util/xalloc.h"

struct cache {
        pthread_mutex_t mu;
        json_t *root;           /* {"version":1,"forges":{F:{P:{R:{...}}}}} */
        struct stat st;         /* of the file root was read from */
        bool have_st;
};

struct state {
        char *dir;
        char *results;
        char *badges_path;
        char *lock_path;
        /* behind a pointer: state_badge() takes a const state but may
         * refresh the cache */
        struct cache *cache;
};

static const char *const verdicts[] = { "PASSED", "FAILED", "ERROR", "CANCELED" };
static const char *const stored_files[] = { "result.json", "result.dsse.json", "log.txt", "meta.json" };

bool state_verdict_valid(const char *verdict)
{
        for (size_t i = 0; verdict != NULL && i < ARRAY_SIZE(verdicts); i++)
                if (strcmp(verdict, verdicts[i]) == 0)
                        return true;
        return false;
}

static bool stored_file_valid(const char *file)
{
        for (size_t i = 0; file != NULL && i < ARRAY_SIZE(stored_files); i++)
                if (strcmp(file, stored_files[i]) == 0)
                        return true;
        return false;
}

static bool has_control(const char *s)
{
        for (; *s != '\0'; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

bool state_forge_name_valid(const char *s)
{
        size_t n = s != NULL ? strlen(s) : 0;

        if (n == 0 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char)s[i]) && strchr("._-", s[i]) == NULL)
                        return false;
        return true;
}

static bool commit_valid(const char *s)
{
        size_t n = strlen(s);

        if (n != 40 && n != 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isdigit((unsigned char)s[i]) && (s[i] < 'a' || s[i] > 'f'))
                        return false;
        return true;
}

static int record_check(const struct state_record *r, struct err *err)
{
        if (r->exec_id == NULL || !randid_valid(r->exec_id))
                return err_set(err, EINVAL, "state: execution id is not 32 lowercase hex digits");
        if (!state_forge_name_valid(r->forge))
                return err_set(err, EINVAL, "state: forge name is not [A-Za-z0-9._-]{1,64}");
        if (r->project == NULL || r->project[0] == '\0' || strlen(r->project) > 256 ||
            has_control(r->project))
                return err_set(err, EINVAL, "state: project name empty, too long or with control characters");
        if (r->ref == NULL || strlen(r->ref) > 1024 || has_control(r->ref))
                return err_set(err, EINVAL, "state: ref too long or with control characters");
        if (r->commit != NULL && !commit_valid(r->commit))
                return err_set(err, EINVAL, "state: commit is not 40 or 64 hex digits");
        if (!state_verdict_valid(r->verdict))
                return err_set(err, EINVAL, "state: unknown verdict");
        if ((r->result_json != NULL && r->result_len > STATE_MAX_RESULT) ||
            (r->envelope != NULL && r->envelope_len > STATE_MAX_RESULT) ||
            (r->log_tail != NULL && r->log_tail_len > STATE_MAX_LOG_TAIL))
                return err_set(err, EFBIG, "state: a result file of job %s is over its limit",
                               r->exec_id);
        return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* read and check badges.json; a missing file is an empty registry */
static int badges_load(json_t **out, struct stat *st, bool *have_st, const char *path,
                       struct err *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        _cleanup_free_ char *text = NULL;
        json_error_t jerr;
        size_t len;
        json_t *root, *forges;
        int r;

        *have_st = false;
        if (fd < 0 && errno == ENOENT) {
                *out = json_pack("{s:i,s:{}}", "version", 1, "forges");
                return 0;
        }
        if (fd < 0 || fstat(fd, st) < 0)
                return err_set(err, errno, "state: open %s", path);
        if (!S_ISREG(st->st_mode))
                return err_set(err, EINVAL, "state: %s is not a regular file", path);
        r = fd_read_all(&text, &len, fd, STATE_MAX_BADGES_FILE, err);
        if (r < 0)
                return err_wrap(err, "state: %s", path);
        root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        forges = json_object_get(root, "forges");
        if (root == NULL || json_integer_value(json_object_get(root, "version")) != 1 ||
            !json_is_object(forges)) {
                json_decref(root);
                return err_set(err, EINVAL, "state: %s is not a tfgate badges file", path);
        }
        *have_st = true;
        *out = root;
        return 0;
}

static int lock_state(int *fd_out, const struct state *s, struct err *err)
{
        int fd = open(s->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

        if (fd < 0)
                return err_set(err, errno, "state: open %s", s->lock_path);
        while (flock(fd, LOCK_EX) < 0) {
                if (errno != EINTR) {
                        int e = errno;

                        close(fd);
                        return err_set(err, e, "state: lock %s", s->lock_path);
                }
        }
        *fd_out = fd;
        return 0;
}

int state_open(struct state **out, const char *state_dir, struct err *err)
{
        struct state *s;
        json_t *root = NULL;
        struct stat st;
        bool have_st;
        int r;

        *out = NULL;
        if (state_dir == NULL || state_dir[0] == '\0')
                return err_set(err, EINVAL, "state: no state directory");
        r = mkdir_p(state_dir, 0700, err);
        if (r < 0)
                return err_wrap(err, "state");
        s = xcalloc(1, sizeof(*s));
        s->dir = xstrdup(state_dir);
        s->results = xasprintf("%s/results", state_dir);
        s->badges_path = xasprintf("%s/badges.json", state_dir);
        s->lock_path = xasprintf("%s/.lock", state_dir);
        s->cache = xcalloc(1, sizeof(*s->cache));
        pthread_mutex_init(&s->cache->mu, NULL);
        if (mkdir(s->results, 0700) < 0 && errno != EEXIST) {
                r = err_set(err, errno, "state: mkdir %s", s->results);
                state_close(s);
                return r;
        }
        r = badges_load(&root, &st, &have_st, s->badges_path, err);
        if (r < 0) {
                state_close(s);
                return r;
        }
        s->cache->root = root;
        s->cache->st = st;
        s->cache->have_st = have_st;
        *out = s;
        return 0;
}

void state_close(struct state *s)
{
        if (s == NULL)
                return;
        if (s->cache != NULL) {
                json_decref(s->cache->root);
                pthread_mutex_destroy(&s->cache->mu);
                free(s->cache);
        }
        free(s->dir);
        free(s->results);
        free(s->badges_path);
        free(s->lock_path);
        free(s);
}

/* re-read badges.json if another writer changed it; keeps the old copy if
 * the new one cannot be read.  Cache lock held. */
static void cache_refresh(const struct state *s)
{
        struct cache *c = s->cache;
        struct stat st;
        json_t *root = NULL;
        bool have_st;
        struct err e = ERR_INIT;

        if (stat(s->badges_path, &st) < 0) {
                if (!c->have_st)
                        return;
        } else if (c->have_st && same_file(&st, &c->st)) {
                return;
        }
        if (badges_load(&root, &st, &have_st, s->badges_path, &e) < 0) {
                log_warn("%s (keeping the badges read before)", e.msg);
                return;
        }
        json_decref(c->root);
        c->root = root;
        c->st = st;
        c->have_st = have_st;
}

static json_t *badge_entry(json_t *root, const char *forge, const char *project, const char *ref)
{
        json_t *f = json_object_get(json_object_get(root, "forges"), forge);

        return json_object_get(json_object_get(f, project), ref);
}

int state_badge(const struct state *s, const char *forge, const char *project, const char *ref,
                struct state_badge *out)
{
        json_t *b;
        const char *verdict, *id;
        int r = -ENOENT;

        if (forge == NULL || project == NULL || ref == NULL)
                return -ENOENT;
        pthread_mutex_lock(&s->cache->mu);
        cache_refresh(s);
        b = badge_entry(s->cache->root, forge, project, ref);
        verdict = json_string_value(json_object_get(b, "verdict"));
        id = json_string_value(json_object_get(b, "exec_id"));
        if (state_verdict_valid(verdict) && id != NULL && randid_valid(id)) {
                memset(out, 0, sizeof(*out));
                snprintf(out->verdict, sizeof(out->verdict), "%s", verdict);
                snprintf(out->exec_id, sizeof(out->exec_id), "%s", id);
                out->finished = (time_t)json_integer_value(json_object_get(b, "finished"));
                r = 0;
        }
        pthread_mutex_unlock(&s->cache->mu);
        return r;
}

bool state_has_project(const struct state *s, const char *forge, const char *project)
{
        bool found;

        if (forge == NULL || project == NULL)
                return false;
        pthread_mutex_lock(&s->cache->mu);
        cache_refresh(s);
        found = json_object_size(json_object_get(
                        json_object_get(json_object_get(s->cache->root, "forges"), forge), project)) > 0;
        pthread_mutex_unlock(&s->cache->mu);
        return found;
}

char *state_result_path(const struct state *s, const char *exec_id, const char *file)
{
        _cleanup_free_ char *path = NULL;
        struct stat st;

        if (exec_id == NULL || !randid_valid(exec_id) || !stored_file_valid(file))
                return NULL;
        path = xasprintf("%s/%s/%s", s->results, exec_id, file);
        if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
                return NULL;
        return TAKE_PTR(path);
}

int state_read(char **out, size_t *len, const struct state *s, const char *exec_id,
               const char *file, size_t max, struct err *err)
{
        _cleanup_free_ char *path = state_result_path(s, exec_id, file);
        _cleanup_close_ int fd = -1;

        *out = NULL;
        *len = 0;
        if (path == NULL)
                return err_set(err, ENOENT, "state: no %s for that job", stored_file_valid(file) ? file : "such file");
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return err_set(err, errno, "state: open %s", path);
        return fd_read_all(out, len, fd, max, err);
}

/* drop the oldest badge until at most STATE_MAX_BADGES remain */
static void badges_evict(json_t *forges)
{
        for (;;) {
                size_t n = 0;
                json_int_t oldest = 0;
                json_t *victim_proj = NULL;
                const char *victim_ref = NULL, *fk, *pk, *rk;
                json_t *fv, *pv, *rv;

                json_object_foreach(forges, fk, fv) {
                        json_object_foreach(fv, pk, pv) {
                                json_object_foreach(pv, rk, rv) {
                                        json_int_t t = json_integer_value(json_object_get(rv, "finished"));

                                        n++;
                                        if (victim_ref == NULL || t < oldest) {
                                                oldest = t;
                                                victim_proj = pv;
                                                victim_ref = rk;
                                        }
                                }
                        }
                }
                if (n <= STATE_MAX_BADGES || victim_ref == NULL)
                        return;
                json_object_del(victim_proj, victim_ref);
        }
}

static int badges_update(struct state *s, const struct state_record *rec, struct err *err)
{
        _cleanup_close_ int lock_fd = -1;
        json_t *root = NULL, *forges, *f, *p;
        _cleanup_free_ char *text = NULL;
        struct stat st;
        bool have_st;
        int r;

        r = lock_state(&lock_fd, s, err);
        if (r < 0)
                return r;
        /* inside the lock: another writer may have changed the file */
        r = badges_load(&root, &st, &have_st, s->badges_path, err);
        if (r < 0)
                return r;
        forges = json_object_get(root, "forges");
        f = json_object_get(forges, rec->forge);
        if (f == NULL) {
                f = json_object();
                json_object_set_new(forges, rec->forge, f);
        }
        p = json_object_get(f, rec->project);
        if (p == NULL) {
                p = json_object();
                json_object_set_new(f, rec->project, p);
        }
        json_object_set_new(p, rec->ref,
                            json_pack("{s:s,s:s,s:I}", "verdict", rec->verdict, "exec_id", rec->exec_id,
                                      "finished", (json_int_t)rec->finished));
        badges_evict(forges);
        text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(root);
        if (text == NULL)
                return err_set(err, ENOMEM, "state: serialise badges");
        if (strlen(text) > STATE_MAX_BADGES_FILE)
                return err_set(err, EFBIG, "state: badges file would exceed %u bytes",
                               STATE_MAX_BADGES_FILE);
        r = file_write_atomic(s->badges_path, text, strlen(text), 0600, err);
        if (r < 0)
                return err_wrap(err, "state");
        /* the next reader refreshes from the file it now finds */
        return 0;
}

static int write_in(int dfd, const char *name, const void *data, size_t len, struct err *err)
{
        _cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

        if (fd < 0)
                return err_set(err, errno, "state: create %s", name);
        if (write_all(fd, data, len) < 0 || fsync(fd) < 0)
                return err_set(err, errno, "state: write %s", name);
        return 0;
}

static char *meta_json(const struct state_record *rec)
{
        json_t *m = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s?,s:s,s:I}", "version", 1, "exec_id", rec->exec_id,
                              "forge", rec->forge, "project", rec->project, "ref", rec->ref,
                              "commit", rec->commit, "verdict", rec->verdict, "finished",
                              (json_int_t)rec->finished);
        char *text = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);

        json_decref(m);
        if (text == NULL)
                xalloc_die(0);
        return text;
}

static int results_write(struct state *s, const struct state_record *rec, struct err *err)
{
        _cleanup_free_ char *tmp = xasprintf("%s/.tmp-%s-XXXXXX", s->results, rec->exec_id);
        _cleanup_free_ char *final = xasprintf("%s/%s", s->results, rec->exec_id);
        _cleanup_free_ char *meta = meta_json(rec);
        _cleanup_close_ int dfd = -1;
        struct err ignored = ERR_INIT;
        int r = 0;

        if (access(final, F_OK) == 0)
                return err_set(err, EEXIST, "state: job %s is already recorded", rec->exec_id);
        if (mkdtemp(tmp) == NULL)
                return err_set(err, errno, "state: mkdtemp in %s", s->results);
        dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                r = err_set(err, errno, "state: open %s", tmp);
        if (r == 0 && rec->result_json != NULL)
                r = write_in(dfd, "result.json", rec->result_json, rec->result_len, err);
        if (r == 0 && rec->envelope != NULL)
                r = write_in(dfd, "result.dsse.json", rec->envelope, rec->envelope_len, err);
        if (r == 0 && rec->log_tail != NULL)
                r = write_in(dfd, "log.txt", rec->log_tail, rec->log_tail_len, err);
        if (r == 0)
                r = write_in(dfd, "meta.json", meta, strlen(meta), err);
        if (r == 0 && fsync(dfd) < 0)
                r = err_set(err, errno, "state: sync %s", tmp);
        if (r == 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) < 0) {
                if (errno == EEXIST || errno == ENOTEMPTY)
                        r = err_set(err, EEXIST, "state: job %s is already recorded", rec->exec_id);
                else
                        r = err_set(err, errno, "state: rename into %s", final);
        }
        if (r < 0)
                rm_rf(tmp, &ignored);
        return r;
}

int state_record(struct state *s, const struct state_record *rec, struct err *err)
{
        int r = record_check(rec, err);

        if (r < 0)
                return r;
        r = results_write(s, rec, err);
        if (r < 0)
                return r;
        return badges_update(s, rec, err);
}
