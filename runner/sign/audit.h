/* audit.h - the runner's append-only, hash-chained audit log.
 *
 * One JSON object per line:
 *     {"seq":N,"time":"RFC 3339 UTC","prev":"<hex>","event":"job_claimed","data":{...}}
 * seq counts from 1; prev is the lowercase hex SHA-256 of the previous
 * line's bytes without its newline, 64 zeros for the first line.  Lines are
 * written with one write(2) on an O_APPEND descriptor; audit_sync() fsyncs
 * the log and then records the head (seq and hash of the last line) in
 * PATH.head, replaced atomically.  The head file is what reveals lines cut
 * from the end, which the chain alone cannot.
 *
 * A log is never silently restarted: audit_open() verifies an existing log
 * and its head, continues from the head, and refuses (with the reason) a
 * log that is damaged, a log without its head file, or a head file without
 * its log.  A partial last line (a crash in the middle of a write) is
 * refused too, until `tfgate audit verify --repair` cuts it off and records
 * that it did. */
#ifndef TFGATE_AUDIT_H
#define TFGATE_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runner/util/err.h"

#define AUDIT_LINE_MAX (256u << 10)

enum audit_event {
        AUDIT_CONFIG_LOADED = 0,
        AUDIT_KEY_LOADED,
        AUDIT_JOB_CLAIMED,
        AUDIT_FETCHED,
        AUDIT_INSPECTED,
        AUDIT_STEP_FINISHED,
        AUDIT_REPORTED,
        AUDIT_CLEANED,
        AUDIT_LOG_REPAIRED,
        AUDIT__COUNT
};

/* "config_loaded", "job_claimed", ...; NULL for an unknown value */
const char *audit_event_name(enum audit_event ev);

struct audit_log;

int audit_open(struct audit_log **out, const char *path, struct err *err);
/* fields: a JSON object (NULL = {}), borrowed; it becomes "data".  Safe to
 * call from several threads.  After a failed write the log refuses further
 * appends: a half-written line must be looked at, not built upon. */
int audit_append(struct audit_log *log, enum audit_event ev, json_t *fields, struct err *err);
/* fsync the log, then record the head; call at the end of every job */
int audit_sync(struct audit_log *log, struct err *err);
/* audit_sync() and release; errors are logged */
void audit_close(struct audit_log *log);
uint64_t audit_seq(const struct audit_log *log);

enum audit_status {
        AUDIT_OK = 0,
        AUDIT_BROKEN,           /* an edited, deleted, inserted or reordered line */
        AUDIT_TRUNCATED,        /* fewer lines than the head file records */
        AUDIT_HEAD_MISMATCH,    /* the line the head names has another hash */
        AUDIT_NO_HEAD,          /* lines but no head file */
        AUDIT_PARTIAL,          /* whole lines valid; an incomplete line follows */
};

struct audit_report {
        enum audit_status status;
        uint64_t lines;         /* valid whole lines before the problem */
        char head[65];          /* hash of the last valid line (64 zeros: none) */
        uint64_t bad_line;      /* 1-based line of the problem, 0 = none */
        uint64_t head_seq;      /* what the head file records */
        off_t valid_bytes;      /* length of the valid prefix */
        off_t partial_bytes;    /* AUDIT_PARTIAL: bytes after the last newline */
        char msg[512];          /* one line saying what is wrong and where */
};

/* Check the whole chain and the head file.  Returns 0 with out->status set
 * whatever the log's state; negative only when the file cannot be read. */
int audit_verify(struct audit_report *out, const char *path, struct err *err);
/* Cut off a partial last line (only when audit_verify says AUDIT_PARTIAL and
 * everything before it is valid), then append a log_repaired record. */
int audit_repair(struct audit_report *out, const char *path, struct err *err);

#endif
