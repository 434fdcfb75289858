/* result.h - the result of one job: what ran, how it ended, and why the
 * verdict is what it is.  Serialised as JSON (docs/result.schema.json), signed
 * by dsse_sign_result() and posted to the forge.
 *
 * Build it with the result_set_*() / result_add_*() functions; every setter
 * checks its input (lengths, enums, hex), so a result that serialises is
 * valid.  result_to_json() and result_from_json() both run result_validate(),
 * the one validator that implements docs/result.schema.json; `tfgate sign`
 * uses it before signing anything.
 *
 * Strings are copied; json_t values given to result_set_providers() and
 * result_set_findings() are referenced (json_incref), never stolen. */
#ifndef TFGATE_RESULT_H
#define TFGATE_RESULT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "runner/util/err.h"

#define RESULT_VERSION 1
#define RESULT_MAX_BYTES (16u << 20)     /* a serialised result, and what sign reads */
#define RESULT_MAX_STEPS 256
#define RESULT_MAX_DIAGS 1000
#define RESULT_MAX_PROVIDERS 1000
#define RESULT_MAX_FINDINGS 5000

enum result_verdict { RESULT_PASSED = 0, RESULT_FAILED };

struct result_step {
        const char *name;          /* "init", "plan", "plan:modules/net" */
        int exit_code;             /* 0..255; -1 = no exit status (signal, not started) */
        const char *reason;        /* "exited 0", "killed after 600s", ... may be "" */
        uint64_t wall_ms;
        uint64_t output_bytes;
        bool truncated;            /* output hit the cap */
};

struct result_diag {
        const char *severity;      /* "error", "warning", "unknown" */
        const char *summary;
        const char *detail;        /* NULL = none */
        const char *file;          /* NULL = no source location */
        int64_t line;              /* -1 = unknown */
};

struct result;

struct result *result_new(void);
void result_free(struct result *r);

static inline void result_freep(struct result **r)
{
        result_free(*r);
}

/* execution id: 32 lowercase hex (randid); forge: [A-Za-z0-9._-]{1,64};
 * project: 1..256 printable characters */
int result_set_job(struct result *r, const char *execution_id, const char *forge,
                   const char *project, struct err *err);
/* the URL's userinfo (user:password@) is removed before it is stored;
 * commit is 40 or 64 lowercase hex; ref may be "" */
int result_set_source(struct result *r, const char *repo_url, const char *ref,
                      const char *commit, struct err *err);
/* terraform_version NULL when terraform never ran */
int result_set_versions(struct result *r, const char *tfgate_version,
                        const char *terraform_version, struct err *err);
/* "validate", "plan" or "apply" */
int result_set_mode(struct result *r, const char *mode, struct err *err);
int result_add_step(struct result *r, const struct result_step *step, struct err *err);
int result_add_diag(struct result *r, const struct result_diag *diag, struct err *err);
int result_set_plan(struct result *r, uint64_t add, uint64_t change, uint64_t destroy,
                    struct err *err);
/* arrays from the inspection module, checked against the schema's shape */
int result_set_providers(struct result *r, json_t *providers, struct err *err);
int result_set_findings(struct result *r, json_t *findings, struct err *err);
int result_set_verdict(struct result *r, enum result_verdict verdict, const char *reason,
                       struct err *err);
int result_set_times(struct result *r, const struct timespec *started,
                     const struct timespec *finished, struct err *err);

/* Compact JSON with sorted keys: the exact bytes that are hashed and signed.
 * Fails when a required part was never set. */
int result_to_json(char **out, size_t *len, const struct result *r, struct err *err);
/* parse and validate; *out is NULL on failure */
int result_from_json(struct result **out, const char *data, size_t len, struct err *err);
/* the validator behind both: errors name the JSON path ("steps[2].exit_code: ...") */
int result_validate(const json_t *doc, struct err *err);

/* accessors for the statement builder and the CLI */
const char *result_commit(const struct result *r);
const char *result_ref(const struct result *r);
const char *result_repository(const struct result *r);
const char *result_mode(const struct result *r);
const char *result_tfgate_version(const struct result *r);
const char *result_terraform_version(const struct result *r);  /* NULL: none */
const char *result_finished_at(const struct result *r);
enum result_verdict result_verdict(const struct result *r);
const char *result_verdict_name(enum result_verdict v);

/* Copy url to out without its userinfo ("https://u:p@h/x" -> "https://h/x").
 * Fails on a string that is not scheme://... */
int result_strip_userinfo(char **out, const char *url, struct err *err);
/* RFC 3339 UTC with milliseconds: "2026-01-02T03:04:05.123Z" */
void result_format_time(char out[32], const struct timespec *ts);

#endif
