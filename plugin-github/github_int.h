/* github_int.h - shared between the files of tfgate_github only (not part
 * of the module's interface; github.h is). */
#ifndef TFGATE_GITHUB_INT_H
#define TFGATE_GITHUB_INT_H

#include <pthread.h>

#include "github.h"

/* ---- http.c: a small libcurl wrapper ---- */

struct gh_http {
        char *user_agent;
        const char *ca_file;       /* borrowed from the forge */
        const char *cert_file;
        const char *key_file;
        uint64_t timeout_ms;
};

struct gh_req {
        const char *method;        /* GET POST PATCH */
        const char *url;
        const char *auth;          /* "Bearer JWT" / "token TOKEN", may be NULL */
        const char *body;          /* JSON, may be NULL */
        const char *etag;          /* If-None-Match, may be NULL */
};

struct gh_resp {
        long status;
        struct buf body;           /* capped at GITHUB_REPLY_MAX */
        char *etag;
        char *link;
        struct github_ratelimit rl;
};

void gh_resp_init(struct gh_resp *r);
void gh_resp_free(struct gh_resp *r);
/* one request; a transport failure or an oversized reply is an error, any
 * HTTP status is a success with rs->status set */
int gh_http_do(const struct gh_http *h, const struct gh_req *rq, struct gh_resp *rs,
               struct err *err);

/* ---- the forge's state ---- */

enum gh_auth { GH_AUTH_JWT = 0, GH_AUTH_REPO };

struct gh_install {
        int64_t id;
        char *token;               /* installation token, explicit_bzero'd on free */
        time_t expires;
};

struct gh_repo {
        char *full;                /* "owner/name" as configured */
        char *lower;               /* lowercase, for the shard hash */
        int64_t install_id;        /* 0 = unknown */
        time_t install_retry;      /* next lookup after a failure */
};

struct gh_etag {
        char *url;
        uint64_t auth_hash;        /* ETags are tied to the token that got them */
        char *etag;
        char *body;
        size_t len;
};

enum gh_cand_kind { GH_CAND_NEW = 0, GH_CAND_RECLAIM, GH_CAND_RERUN };

struct gh_cand {
        size_t repo;
        uint64_t number;
        char sha[65];
        enum gh_cand_kind kind;
        int64_t run_id;            /* RECLAIM: the run to take back */
};

struct gh_live {
        size_t repo;
        char sha[65];
};

struct gh_forge {
        struct forge base;
        char *api_url;
        char *clone_url;
        char *ca_file, *cert_file, *key_file;
        uint32_t shard_index, shard_count;
        uint64_t poll_base_ms;
        bool app_mode;
        int64_t app_id;
        EVP_PKEY *key;
        char *pat;                 /* token mode */
        char instance[33];
        struct gh_http http;
        struct github_timing timing;

        pthread_mutex_t auth_mu;   /* JWT, installations; taken before mu */
        char *jwt;
        time_t jwt_exp;
        struct gh_install *insts;
        size_t n_insts;

        pthread_mutex_t mu;        /* everything below */
        struct gh_repo *repos;
        size_t n_repos;
        struct gh_etag *etags;
        size_t n_etags;
        struct github_ratelimit rl;
        time_t blocked_until;
        uint64_t last_mutate_ms;
        uint64_t next_scan_ms;
        unsigned scan_failures;
        struct gh_cand *cands;
        size_t n_cands;
        uint64_t cands_ms;         /* when the candidates were found */
        struct gh_live *inflight;  /* claimed and not finished */
        size_t n_inflight;
        struct github_hint *hints;
        size_t n_hints;
        uint64_t job_counter;
        int64_t *own_runs;         /* runs this process claimed: never "taken back" */
        size_t n_own_runs;
        struct github_stats stats;
};

struct gh_job {
        size_t repo;
        uint64_t number;
        int64_t run_id;            /* 0 in token mode */
        char *details_url;
        struct buf tail;           /* last GH_TAIL_MAX bytes of the log */
        bool finished;
        bool canceled;             /* the PR closed or its head moved (sticky) */
        uint64_t next_check_ms;    /* canceled(): next look at the PR */
};

#define GH_TAIL_MAX (60u * 1024)

static inline struct gh_forge *gh_of(struct forge *f)
{
        return (struct gh_forge *)f;
}

uint64_t gh_now_ms(void);
void gh_sleep_ms(uint64_t ms);

/* api.c: one API call with auth, ETags, rate limits, retries.  url is a
 * path ("/repos/...") or an absolute URL on api_url.  A 304 is turned
 * into a 200 with the cached body. */
struct gh_call {
        const char *method;
        const char *url;
        enum gh_auth auth;
        size_t repo;               /* GH_AUTH_REPO */
        const char *body;
        bool conditional;          /* use and keep ETags */
        bool may_wait;             /* sleep through rate limits up to max_wait_ms */
};
int gh_api(struct gh_forge *g, const struct gh_call *c, struct gh_resp *rs, struct err *err);
/* a short error for an unexpected status (the body's "message", cleaned) */
int gh_status_err(const struct gh_resp *rs, const char *what, struct err *err);

/* auth.c */
int gh_auth_header(char **out, struct gh_forge *g, enum gh_auth auth, size_t repo,
                   struct err *err);
/* the credential for cloning repo (installation token or PAT) */
int gh_clone_token(char **out, struct gh_forge *g, size_t repo, struct err *err);
/* forget a token the server refused (401), so the next call mints one */
void gh_auth_invalidate(struct gh_forge *g, size_t repo);
void gh_auth_free(struct gh_forge *g);

/* poll.c */
int gh_poll(struct forge *f, struct job **out, struct err *err);
bool gh_canceled(struct forge *f, struct job *j);
/* the job is done: its SHA may be claimed again (a re-run) */
void gh_release(struct gh_forge *g, size_t repo, const char *sha);

/* report.c */
int gh_start(struct forge *f, struct job *j, struct err *err);
int gh_log(struct forge *f, struct job *j, const char *buf, size_t n, struct err *err);
int gh_finish(struct forge *f, struct job *j, const struct job_report *r, struct err *err);
/* crash recovery (token mode; NULL in App mode): what abandon needs, and
 * the commit status "error" for a job a crash interrupted.  abandon: 0
 * reported, 1 GitHub or the config no longer has the repository or commit */
char *gh_job_handle(struct forge *f, const struct job *j);
int gh_abandon(struct forge *f, const char *handle, struct err *err);
/* a handle read back: the configured repository's index and the SHA; a
 * handle for another API URL or a bad one: -EBADMSG; a repository no longer
 * configured: -ENOENT */
int gh_handle_parse(size_t *repo, char **sha, const struct gh_forge *g, const char *handle,
                    struct err *err);
/* the UTC time as YYYY-MM-DDTHH:MM:SSZ */
void gh_iso_time(char out[32], time_t t);

#endif
