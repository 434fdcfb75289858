/* github.h - the GitHub forge adapter (module tfgate_github): a GitHub App
 * that reports check runs, or a fine-grained token that reports commit
 * statuses.  Work is discovered by polling open pull requests of the
 * configured repositories; webhooks (optional) only make the next poll come
 * sooner.  docs/github.md describes the protocol, limits and tests.
 *
 * The forge (github_forge_new) is thread-safe: poll() from one thread,
 * start/log/finish/canceled from job threads.  Everything else here is a
 * pure function, public so that tests and the HTTP endpoint can use it. */
#ifndef TFGATE_GITHUB_H
#define TFGATE_GITHUB_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "runner/config/config.h"
#include "runner/forge/forge.h"
#include "runner/util/buf.h"
#include "runner/util/err.h"

#define GITHUB_CHECK_NAME "tfgate"            /* check run name and status context */
#define GITHUB_OUTPUT_MAX 65535               /* output.summary / output.text, bytes */
#define GITHUB_ANNOTATIONS_PER_REQUEST 50
#define GITHUB_ANNOTATIONS_MAX 1000           /* per check run; the rest are counted */
#define GITHUB_STATUS_DESCRIPTION_MAX 140     /* bytes (the server counts characters) */
#define GITHUB_REPLY_MAX (16u << 20)          /* any API reply */
#define GITHUB_PAGES_MAX 10                   /* pull request pages per repository */
#define GITHUB_TOKEN_MAX 8192                 /* installation tokens have no fixed length */

/* ---- the forge ---- */

/* A forge for one `type: github` entry.  Reads the App's private key or the
 * token file now (secret files, checked private); state_dir (may be NULL)
 * keeps this host's instance id, which marks the check runs it creates so a
 * restarted runner can take back the ones it left queued. */
int github_forge_new(struct forge **out, const struct cfg_forge *cfg, const char *state_dir,
                     struct err *err);

/* Timing knobs; the defaults suit GitHub, tests shrink them. */
struct github_timing {
        uint64_t max_wait_ms;      /* longest rate-limit wait inside one call (default 120 s) */
        uint64_t backoff_ms;       /* first retry delay after a 5xx (default 1 s, doubles) */
        unsigned retries;          /* 5xx retries per request (default 2) */
        uint64_t mutate_gap_ms;    /* pause between mutating calls (default 1 s) */
        uint64_t request_timeout_ms; /* whole request (default 30 s) */
        uint64_t cancel_check_ms;  /* canceled(): look at the PR at most this often (10 s) */
};
void github_forge_set_timing(struct forge *f, const struct github_timing *t);

/* The page that shows this run (the badge or status page), put in the check
 * run's details_url / the status's target_url from start() on.  Only
 * http(s) URLs are used; anything else is ignored with a warning. */
int github_job_set_details_url(struct job *j, const char *url, struct err *err);

/* What a poll of this forge did, for logs, metrics and tests. */
struct github_stats {
        uint64_t requests;         /* HTTP requests made */
        uint64_t not_modified;     /* 304 answers */
        uint64_t rate_limited;     /* 403/429 rate-limit answers */
        uint64_t token_mints;      /* installation tokens created */
        uint64_t retries_401;      /* requests retried after a 401 */
        uint64_t refused_prs;      /* pull requests refused by the parser */
        uint64_t next_poll_ms;     /* current poll interval */
};
void github_forge_stats(struct forge *f, struct github_stats *out);

/* ---- hints from webhooks ---- */

enum github_hint_kind {
        GITHUB_HINT_NONE = 0,      /* an event that needs no work */
        GITHUB_HINT_SCAN,          /* scan this repository now (a PR opened or moved) */
        GITHUB_HINT_RERUN,         /* run this commit again (check suite/run re-requested) */
};

struct github_hint {
        enum github_hint_kind kind;
        char repo[256];            /* "owner/name" */
        char sha[65];              /* RERUN: the head sha */
};

/* 0 when signature_header is "sha256=" + the lowercase hex HMAC-SHA256 of
 * body under secret, compared in constant time; -EPERM otherwise (missing,
 * wrong prefix, wrong length, wrong digest). */
int github_webhook_verify(const char *secret, const void *body, size_t len,
                          const char *signature_header, struct err *err);
/* Turn a verified delivery (X-GitHub-Event, body) into a hint.  The hint is
 * only a reason to poll sooner: the forge checks everything with the API. */
int github_webhook_parse(struct github_hint *out, const char *event, const void *body,
                         size_t len, struct err *err);
/* Queue a hint for the next poll() (repositories not configured are ignored). */
void github_forge_hint(struct forge *f, const struct github_hint *h);

/* ---- App JWT ---- */

/* RS256 JWT: iat = now - 60, exp = now + 540 (10 minutes after iat), iss =
 * app_id.  key must be RSA. */
int github_jwt_make(char **out, EVP_PKEY *key, int64_t app_id, time_t now, struct err *err);
/* a PEM RSA private key (PKCS#1 or PKCS#8) of at least 2048 bits, from a
 * private file */
int github_key_load(EVP_PKEY **out, const char *path, struct err *err);

/* ---- wire helpers ---- */

/* The rel="next" URL of a Link header; *out NULL when there is none. */
int github_link_next(char **out, const char *link, struct err *err);

struct github_ratelimit {
        bool have;                 /* x-ratelimit-remaining was seen */
        int64_t limit, remaining, reset;   /* reset: epoch seconds */
        int64_t retry_after;       /* seconds, -1 = absent */
        int64_t poll_interval;     /* x-poll-interval seconds, -1 = absent */
};
void github_ratelimit_init(struct github_ratelimit *rl);
/* feed one raw header line ("Name: value\r\n"); other headers are ignored */
void github_ratelimit_header(struct github_ratelimit *rl, const char *line, size_t len);
/* Seconds to wait before the next request after an answer with this status
 * and these headers, or 0 when it is not a rate limit (a 403 without any
 * rate-limit sign is a permission error).  Order (GitHub's docs): retry-after;
 * remaining 0 => until reset; a secondary-limit message => 60 s. */
int64_t github_ratelimit_wait(long status, const struct github_ratelimit *rl,
                              const char *body, time_t now);
/* The next poll interval: at least base_ms and x-poll-interval; stretched so
 * that one scan of calls_per_scan requests every interval leaves a quarter
 * of the hourly budget for reports until the reset. */
uint64_t github_poll_interval_ms(uint64_t base_ms, const struct github_ratelimit *rl,
                                 uint64_t calls_per_scan, time_t now);

/* FNV-1a 64 over lowercase "owner/repo" + "/" + sha, and the shard test
 * (count 0 or 1: everything is mine). */
uint64_t github_shard_hash(const char *repo, const char *sha);
bool github_shard_mine(const char *repo, const char *sha, uint32_t index, uint32_t count);

/* One open pull request, as far as tfgate uses it. */
struct github_pr {
        uint64_t number;
        char sha[65];
        bool fork;                 /* head repository differs from the base */
        bool draft;
};
/* Parse a page of GET /repos/{o}/{r}/pulls.  Entries that fail the checks
 * (number, 40/64 lowercase hex sha, base repository == repo) are refused and
 * counted in *refused; a reply that is not an array is an error. */
int github_pulls_parse(struct github_pr **out, size_t *n, size_t *refused, const char *json,
                       size_t len, const char *repo, struct err *err);

/* ---- reporting ---- */

/* Append s (len bytes, any content) to out as inert Markdown text: no HTML,
 * no links or images, no emphasis, no table breaks, no mentions; control
 * and bidi characters and invalid UTF-8 replaced. */
int github_md_escape(struct buf *out, const char *s, size_t len, struct err *err);
/* output.summary: verdict, reason, plan counts, signature digest and verify
 * command, steps, providers and findings; at most GITHUB_OUTPUT_MAX bytes
 * with a visible note when cut. */
int github_summary(char **out, const struct job_report *r, const char *sha, struct err *err);
/* output.text: the log tail in a code fence, same limit */
int github_log_text(char **out, const char *log, size_t len, struct err *err);
/* success, failure, cancelled, timed_out or action_required (a failed run
 * whose findings hold provider-gate errors) */
const char *github_conclusion(const struct job_report *r);
/* The PATCH bodies that complete a check run, in order: every body carries
 * output.title and output.summary and at most 50 annotations; the last one
 * sets status completed, conclusion, completed_at and output.text. */
int github_finish_bodies(json_t **out, const struct job_report *r, const char *sha,
                         const char *details_url, struct err *err);
/* The commit status for a finished job (r) or a pending one (r NULL). */
int github_status_body(json_t **out, const struct job_report *r, const char *pending_text,
                       const char *details_url, struct err *err);

#endif
