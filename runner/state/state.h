/* state.h - what the runner remembers across restarts in its state
 * directory: each finished job's result files and filtered log tail, and
 * the last verdict per (forge, project, ref) for status badges.
 *
 *   STATE_DIR/results/<exec id>/{result.json,result.dsse.json,log.txt,meta.json}
 *   STATE_DIR/badges.json        (forge, project, ref) -> verdict, exec id, time
 *
 * Writes are atomic (temporary file + rename).  Reads are bounded.  Only
 * execution ids (32 hex) name directories, so no request can traverse out.
 * Thread-safe. */
#ifndef TFGATE_STATE_H
#define TFGATE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "runner/util/err.h"

/* limits of what one record may store (larger is refused, not cut) */
#define STATE_MAX_RESULT        (16u << 20)     /* result.json, result.dsse.json */
#define STATE_MAX_LOG_TAIL      (1u << 20)      /* log.txt */
#define STATE_MAX_BADGES_FILE   (8u << 20)      /* badges.json */
/* badges kept; beyond this the oldest (by finished time) is dropped */
#define STATE_MAX_BADGES        20000

struct state;

struct state_record {
        const char *exec_id;
        const char *forge;              /* config forge name */
        const char *project;
        const char *ref;
        const char *commit;
        const char *verdict;            /* "PASSED", "FAILED", "ERROR", "CANCELED" */
        const char *result_json;        /* may be NULL (no result) */
        size_t result_len;
        const char *envelope;           /* may be NULL */
        size_t envelope_len;
        const char *log_tail;           /* filtered; may be NULL */
        size_t log_tail_len;
        time_t finished;
};

/* creates the directory (0700) and results/ if missing; fails on an
 * unreadable or malformed badges.json, naming it */
int state_open(struct state **out, const char *state_dir, struct err *err);
void state_close(struct state *s);

/* store one finished job and update its ref's badge.  Refused (-EINVAL)
 * when a field is out of shape: exec_id not 32 lowercase hex, forge not
 * [A-Za-z0-9._-]{1,64}, project empty or over 256 bytes, ref over 1024
 * bytes, control characters, commit not 40/64 hex (NULL allowed), unknown
 * verdict; -EEXIST when that execution id was already recorded; -EFBIG
 * past the limits above.  Safe against concurrent writers in this and
 * other processes (flock on STATE_DIR/.lock). */
int state_record(struct state *s, const struct state_record *rec, struct err *err);

struct state_badge {
        char verdict[16];
        char exec_id[33];
        time_t finished;
};
/* 0 and *out when known, -ENOENT when no job of that ref finished yet.
 * Sees records written by other processes (badges.json is re-read when it
 * changed). */
int state_badge(const struct state *s, const char *forge, const char *project, const char *ref,
                struct state_badge *out);
/* path of a stored file of a job ("result.json", ...), NULL when absent;
 * malloc'd */
char *state_result_path(const struct state *s, const char *exec_id, const char *file);

/* additions for the HTTP endpoint */
/* true when some job of that project on that forge was recorded */
bool state_has_project(const struct state *s, const char *forge, const char *project);
/* read a stored file of a job (one of result.json, result.dsse.json,
 * log.txt, meta.json), at most max bytes, without following symlinks;
 * -ENOENT when the id or file is unknown or malformed, -EFBIG when larger */
int state_read(char **out, size_t *len, const struct state *s, const char *exec_id,
               const char *file, size_t max, struct err *err);
/* the verdict names state_record accepts */
bool state_verdict_valid(const char *verdict);
/* a forge name as config allows it: [A-Za-z0-9._-]{1,64} */
bool state_forge_name_valid(const char *s);

#endif
