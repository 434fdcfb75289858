/* audit.c - the hash-chained audit log. */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keys.h"
#include "result.h"
#include "runner/util/buf.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/log.h"
#include "runner/util/xalloc.h"

#define GENESIS "0000000000000000000000000000000000000000000000000000000000000000"
#define HEAD_MAGIC "tfgate-audit-head v1"

static const char *const event_names[AUDIT__COUNT] = {
        [AUDIT_CONFIG_LOADED] = "config_loaded",
        [AUDIT_KEY_LOADED] = "key_loaded",
        [AUDIT_JOB_CLAIMED] = "job_claimed",
        [AUDIT_FETCHED] = "fetched",
        [AUDIT_INSPECTED] = "inspected",
        [AUDIT_STEP_FINISHED] = "step_finished",
        [AUDIT_REPORTED] = "reported",
        [AUDIT_CLEANED] = "cleaned",
        [AUDIT_LOG_REPAIRED] = "log_repaired",
};

struct audit_log {
        pthread_mutex_t lock;
        int fd;
        char *path;
        char *head_path;
        uint64_t seq;
        char prev[65];
        bool broken;
};

const char *audit_event_name(enum audit_event ev)
{
        return (unsigned)ev < AUDIT__COUNT ? event_names[ev] : NULL;
}

static bool known_event(const char *name)
{
        for (size_t i = 0; i < AUDIT__COUNT; i++)
                if (strcmp(event_names[i], name) == 0)
                        return true;
        return false;
}

/* ---- the head file ------------------------------------------------------ */

static int head_write(const char *head_path, uint64_t seq, const char *hash, struct err *err)
{
        char line[128];
        int n = snprintf(line, sizeof(line), HEAD_MAGIC " %llu %s\n", (unsigned long long)seq, hash);

        return file_write_atomic(head_path, line, (size_t)n, 0600, err);
}

/* 0 and the values; -ENOENT when there is no head file; other negatives
 * when it cannot be read or is malformed */
static int head_read(uint64_t *seq, char hash[65], const char *head_path, struct err *err)
{
        _cleanup_free_ char *data = NULL;
        unsigned long long s;
        size_t len;
        int used = 0;
        int r = file_read_all(&data, &len, head_path, 256, err);

        if (r < 0)
                return r;
        if (sscanf(data, HEAD_MAGIC " %llu %64[0-9a-f]%n", &s, hash, &used) != 2 ||
            strlen(hash) != 64 || (size_t)used + 1 != len || data[used] != '\n')
                return err_set(err, EINVAL, "%s: not a tfgate audit head file", head_path);
        *seq = s;
        return 0;
}

/* ---- verification --------------------------------------------------------- */

static bool is_hex64(const char *s)
{
        return s != NULL && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* field checks of one record; msg says what is wrong */
static int check_record(const json_t *rec, uint64_t lineno, const char *prev, char *msg, size_t n)
{
        static const char *const keys[] = { "seq", "time", "prev", "event", "data" };
        const json_t *seq = json_object_get(rec, "seq");
        const char *p = json_string_value(json_object_get(rec, "prev"));
        const char *ev = json_string_value(json_object_get(rec, "event"));
        const char *tm = json_string_value(json_object_get(rec, "time"));

        if (!json_is_object(rec) || json_object_size(rec) != ARRAY_SIZE(keys)) {
                snprintf(msg, n, "line %llu: not an audit record (expected exactly seq, time, prev, event, data)",
                         (unsigned long long)lineno);
                return -1;
        }
        if (!json_is_integer(seq) || !is_hex64(p) || ev == NULL || !known_event(ev) || tm == NULL ||
            !json_is_object(json_object_get(rec, "data"))) {
                snprintf(msg, n, "line %llu: a field of the audit record is missing or invalid",
                         (unsigned long long)lineno);
                return -1;
        }
        if ((uint64_t)json_integer_value(seq) != lineno) {
                snprintf(msg, n, "line %llu: seq is %lld, expected %llu: a line was deleted, inserted or reordered before it",
                         (unsigned long long)lineno, (long long)json_integer_value(seq),
                         (unsigned long long)lineno);
                return -1;
        }
        if (strcmp(p, prev) != 0) {
                if (lineno == 1)
                        snprintf(msg, n, "line 1: prev is not the genesis value (lines were removed from the start)");
                else
                        snprintf(msg, n, "line %llu: prev does not match the hash of line %llu: broken link between lines %llu and %llu (line %llu was changed, or lines were removed or reordered)",
                                 (unsigned long long)lineno, (unsigned long long)lineno - 1,
                                 (unsigned long long)lineno - 1, (unsigned long long)lineno,
                                 (unsigned long long)lineno - 1);
                return -1;
        }
        return 0;
}

static int check_line(const char *line, size_t len, uint64_t lineno, const char *prev,
                      char *msg, size_t n)
{
        json_error_t jerr;
        json_t *rec;
        int r;

        if (len == 0) {
                snprintf(msg, n, "line %llu: empty line", (unsigned long long)lineno);
                return -1;
        }
        rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
        if (rec == NULL) {
                snprintf(msg, n, "line %llu: not valid JSON (%s)", (unsigned long long)lineno, jerr.text);
                return -1;
        }
        r = check_record(rec, lineno, prev, msg, n);
        json_decref(rec);
        return r;
}

struct scan {
        struct audit_report *rep;
        uint64_t head_seq;          /* line whose hash the head file records; 0 = none */
        char head_line_hash[65];    /* that line's actual hash */
};

/* feed whole lines of b to the checker; consumes them */
static int scan_lines(struct scan *sc, struct buf *b)
{
        struct audit_report *rep = sc->rep;
        char *nl;

        while ((nl = memchr(b->data, '\n', b->len)) != NULL) {
                size_t len = (size_t)(nl - b->data);
                uint64_t lineno = rep->lines + 1;

                if (check_line(b->data, len, lineno, rep->head, rep->msg, sizeof(rep->msg)) < 0) {
                        rep->status = AUDIT_BROKEN;
                        rep->bad_line = lineno;
                        return -1;
                }
                dsse_sha256_hex(rep->head, b->data, len);
                if (lineno == sc->head_seq)
                        memcpy(sc->head_line_hash, rep->head, sizeof(sc->head_line_hash));
                rep->lines = lineno;
                rep->valid_bytes += (off_t)len + 1;
                buf_consume(b, len + 1);
        }
        if (b->len >= AUDIT_LINE_MAX) {
                rep->status = AUDIT_BROKEN;
                rep->bad_line = rep->lines + 1;
                snprintf(rep->msg, sizeof(rep->msg), "line %llu: longer than %u bytes",
                         (unsigned long long)rep->bad_line, AUDIT_LINE_MAX);
                return -1;
        }
        return 0;
}

static int scan_file(struct scan *sc, int fd, const char *path, struct err *err)
{
        struct buf b = BUF_INIT(AUDIT_LINE_MAX + 65536);
        char chunk[65536];
        int r = 0;

        for (;;) {
                ssize_t n = read(fd, chunk, sizeof(chunk));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = err_set(err, errno, "read %s", path);
                        break;
                }
                if (n == 0) {
                        sc->rep->partial_bytes = (off_t)b.len;
                        break;
                }
                if (buf_append(&b, chunk, (size_t)n, err) < 0 || scan_lines(sc, &b) < 0)
                        break;   /* the report holds the problem */
        }
        buf_free(&b);
        return r;
}

/* the head file against the whole lines read */
static void check_head(struct scan *sc, int head_r, const char *head_hash)
{
        struct audit_report *rep = sc->rep;
        unsigned long long n = (unsigned long long)rep->lines;

        if (head_r == -ENOENT) {
                if (rep->lines > 0) {
                        rep->status = AUDIT_NO_HEAD;
                        snprintf(rep->msg, sizeof(rep->msg),
                                 "the head file is missing: %llu lines verify, but lines cut from the end cannot be detected", n);
                }
                return;
        }
        if (sc->head_seq > rep->lines) {
                rep->status = AUDIT_TRUNCATED;
                rep->bad_line = rep->lines + 1;
                snprintf(rep->msg, sizeof(rep->msg),
                         "truncated: the head file records %llu lines but the log has %llu whole lines; line %llu onwards was removed",
                         (unsigned long long)sc->head_seq, n, n + 1);
        } else if (sc->head_seq > 0 && strcmp(sc->head_line_hash, head_hash) != 0) {
                rep->status = AUDIT_HEAD_MISMATCH;
                rep->bad_line = sc->head_seq;
                snprintf(rep->msg, sizeof(rep->msg),
                         "line %llu: does not match the head file's hash: line %llu was changed",
                         (unsigned long long)sc->head_seq, (unsigned long long)sc->head_seq);
        }
}

int audit_verify(struct audit_report *out, const char *path, struct err *err)
{
        _cleanup_free_ char *head_path = xasprintf("%s.head", path);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        char head_hash[65] = GENESIS;
        struct scan sc = { .rep = out };
        struct err herr = ERR_INIT;
        int head_r, r;

        memset(out, 0, sizeof(*out));
        memcpy(out->head, GENESIS, sizeof(out->head));
        if (fd < 0)
                return err_set(err, errno, "%s", path);
        head_r = head_read(&sc.head_seq, head_hash, head_path, &herr);
        if (head_r < 0 && head_r != -ENOENT)
                return err_set(err, -head_r, "%s", herr.msg);
        out->head_seq = sc.head_seq;
        r = scan_file(&sc, fd, path, err);
        if (r < 0 || out->status != AUDIT_OK)
                return r;
        check_head(&sc, head_r, head_hash);
        if (out->status == AUDIT_OK && out->partial_bytes > 0) {
                out->status = AUDIT_PARTIAL;
                out->bad_line = out->lines + 1;
                snprintf(out->msg, sizeof(out->msg),
                         "partial line: the log is valid up to line %llu (head %s); line %llu is incomplete (%lld bytes without a newline, a crash during a write?); `tfgate audit verify --repair` removes it",
                         (unsigned long long)out->lines, out->head,
                         (unsigned long long)out->bad_line, (long long)out->partial_bytes);
        }
        return 0;
}

/* ---- writing ---------------------------------------------------------------- */

static int create_log(const char *path, const char *head_path, struct err *err)
{
        _cleanup_close_ int fd = -1;

        if (access(head_path, F_OK) == 0)
                return err_set(err, ENOENT, "audit log %s is missing but %s exists: refusing to start a new log over a lost one",
                               path, head_path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return err_set(err, errno, "create %s", path);
        return head_write(head_path, 0, GENESIS, err);
}

static int open_locked(int *out, const char *path, struct err *err)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        struct stat st;

        if (fd < 0)
                return err_set(err, errno, "%s", path);
        if (fstat(fd, &st) < 0)
                return err_set(err, errno, "%s", path);
        if (!S_ISREG(st.st_mode))
                return err_set(err, EINVAL, "%s: not a regular file", path);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return err_set(err, errno, "%s: in use by another process", path);
        *out = TAKE_FD(fd);
        return 0;
}

int audit_open(struct audit_log **out, const char *path, struct err *err)
{
        _cleanup_free_ char *head_path = xasprintf("%s.head", path);
        _cleanup_close_ int fd = -1;
        struct audit_report rep;
        struct audit_log *log;
        int r;

        *out = NULL;
        if (access(path, F_OK) < 0) {
                if (errno != ENOENT)
                        return err_set(err, errno, "%s", path);
                r = create_log(path, head_path, err);
                if (r < 0)
                        return r;
        }
        r = open_locked(&fd, path, err);
        if (r == 0)
                r = audit_verify(&rep, path, err);
        if (r < 0)
                return err_wrap(err, "audit log");
        if (rep.status != AUDIT_OK)
                return err_set(err, EBADMSG, "audit log %s: %s; refusing to append", path, rep.msg);
        if (rep.lines == 0 && access(head_path, F_OK) < 0) {
                r = head_write(head_path, 0, GENESIS, err);
                if (r < 0)
                        return r;
        }
        log = xcalloc(1, sizeof(*log));
        pthread_mutex_init(&log->lock, NULL);
        log->fd = TAKE_FD(fd);
        log->path = xstrdup(path);
        log->head_path = TAKE_PTR(head_path);
        log->seq = rep.lines;
        memcpy(log->prev, rep.head, sizeof(log->prev));
        *out = log;
        return 0;
}

static int append_locked(struct audit_log *log, enum audit_event ev, json_t *fields,
                         struct err *err)
{
        _cleanup_free_ char *line = NULL;
        struct timespec now;
        char tm[32];
        json_t *rec;
        size_t len;
        int r;

        if (log->broken)
                return err_set(err, EIO, "audit log %s: an earlier write failed; refusing to append", log->path);
        if (audit_event_name(ev) == NULL)
                return err_set(err, EINVAL, "audit: unknown event %d", (int)ev);
        if (fields != NULL && !json_is_object(fields))
                return err_set(err, EINVAL, "audit: fields must be a JSON object");
        clock_gettime(CLOCK_REALTIME, &now);
        result_format_time(tm, &now);
        rec = json_pack("{s:I, s:s, s:s, s:s, s:o}", "seq", (json_int_t)(log->seq + 1), "time", tm,
                        "prev", log->prev, "event", audit_event_name(ev),
                        "data", fields != NULL ? json_incref(fields) : json_object());
        if (rec == NULL)
                return err_set(err, EINVAL, "audit: cannot build the record");
        line = json_dumps(rec, JSON_COMPACT);
        json_decref(rec);
        if (line == NULL)
                return err_set(err, EINVAL, "audit: fields cannot be serialised");
        len = strlen(line);
        if (len >= AUDIT_LINE_MAX)
                return err_set(err, E2BIG, "audit: record of %zu bytes exceeds %u", len, AUDIT_LINE_MAX);
        line[len] = '\n';   /* json_dumps' NUL becomes the newline: one write */
        r = write_all(log->fd, line, len + 1);
        if (r < 0) {
                log->broken = true;
                return err_set(err, -r, "append to %s", log->path);
        }
        dsse_sha256_hex(log->prev, line, len);
        log->seq++;
        return 0;
}

int audit_append(struct audit_log *log, enum audit_event ev, json_t *fields, struct err *err)
{
        int r;

        pthread_mutex_lock(&log->lock);
        r = append_locked(log, ev, fields, err);
        pthread_mutex_unlock(&log->lock);
        return r;
}

int audit_sync(struct audit_log *log, struct err *err)
{
        int r = 0;

        pthread_mutex_lock(&log->lock);
        if (fsync(log->fd) < 0)
                r = err_set(err, errno, "fsync %s", log->path);
        /* the head moves only after the lines it names are on disk */
        else if (!log->broken)
                r = head_write(log->head_path, log->seq, log->prev, err);
        pthread_mutex_unlock(&log->lock);
        return r;
}

uint64_t audit_seq(const struct audit_log *log)
{
        return log->seq;
}

void audit_close(struct audit_log *log)
{
        struct err err = ERR_INIT;

        if (log == NULL)
                return;
        if (audit_sync(log, &err) < 0)
                log_error("audit: %s", err.msg);
        close(log->fd);
        pthread_mutex_destroy(&log->lock);
        free(log->path);
        free(log->head_path);
        free(log);
}

int audit_repair(struct audit_report *out, const char *path, struct err *err)
{
        struct audit_log *log = NULL;
        off_t dropped;
        json_t *fields;
        int r = audit_verify(out, path, err);

        if (r < 0)
                return r;
        if (out->status != AUDIT_PARTIAL)
                return err_set(err, EINVAL, "%s: only a partial last line can be repaired; %s", path,
                               out->status == AUDIT_OK ? "the log is valid" : out->msg);
        dropped = out->partial_bytes;
        if (truncate(path, out->valid_bytes) < 0)
                return err_set(err, errno, "truncate %s", path);
        r = audit_open(&log, path, err);
        if (r < 0)
                return r;
        fields = json_pack("{s:I, s:I}", "dropped_bytes", (json_int_t)dropped,
                           "after_line", (json_int_t)out->lines);
        r = audit_append(log, AUDIT_LOG_REPAIRED, fields, err);
        json_decref(fields);
        if (r == 0)
                r = audit_sync(log, err);
        audit_close(log);
        if (r < 0)
                return r;
        return audit_verify(out, path, err);
}
