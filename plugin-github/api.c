/* api.c - one GitHub API call as the rest of the adapter sees it: the right
 * credential, conditional GETs with ETags tied to that credential, rate
 * limits honoured (no request goes out while the forge is blocked), a 401
 * on an installation token answered by minting a new one and retrying once,
 * and a few spaced retries on 5xx. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "github_int.h"
#include "runner/util/cleanup.h"
#include "runner/util/log.h"
#include "runner/util/xalloc.h"

#define ETAGS_MAX 4096

uint64_t gh_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void gh_sleep_ms(uint64_t ms)
{
        struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static uint64_t fnv64(const char *s)
{
        uint64_t h = 0xcbf29ce484222325ull;

        for (; s != NULL && *s; s++) {
                h ^= (unsigned char)*s;
                h *= 0x100000001b3ull;
        }
        return h;
}

/* with g->mu held */
static struct gh_etag *etag_find(struct gh_forge *g, const char *url)
{
        for (size_t i = 0; i < g->n_etags; i++)
                if (strcmp(g->etags[i].url, url) == 0)
                        return &g->etags[i];
        return NULL;
}

static void etag_clear(struct gh_etag *e)
{
        free(e->url);
        free(e->etag);
        free(e->body);
        memset(e, 0, sizeof(*e));
}

/* with g->mu held; replaces an older entry for the URL */
static void etag_store(struct gh_forge *g, const char *url, uint64_t auth_hash,
                       const struct gh_resp *rs)
{
        struct gh_etag *e = etag_find(g, url);

        if (e == NULL) {
                if (g->n_etags == ETAGS_MAX) {
                        /* full: drop the oldest half rather than grow without bound */
                        for (size_t i = 0; i < ETAGS_MAX / 2; i++)
                                etag_clear(&g->etags[i]);
                        memmove(g->etags, g->etags + ETAGS_MAX / 2,
                                (ETAGS_MAX - ETAGS_MAX / 2) * sizeof(*g->etags));
                        g->n_etags = ETAGS_MAX - ETAGS_MAX / 2;
                }
                g->etags = xreallocarray(g->etags, g->n_etags + 1, sizeof(*g->etags));
                e = &g->etags[g->n_etags++];
                memset(e, 0, sizeof(*e));
                e->url = xstrdup(url);
        }
        free(e->etag);
        free(e->body);
        e->etag = xstrdup(rs->etag);
        e->auth_hash = auth_hash;
        e->body = xmemdup(rs->body.data ? rs->body.data : "", rs->body.len + 1);
        e->len = rs->body.len;
}

int gh_status_err(const struct gh_resp *rs, const char *what, struct err *err)
{
        json_t *doc = json_loadb(buf_str(&rs->body), rs->body.len, 0, NULL);
        const char *msg = json_string_value(json_object_get(doc, "message"));
        char clean[160];
        size_t k = 0;

        /* the server's message goes to our log only, cleaned and short */
        for (const char *p = msg; p != NULL && *p && k + 1 < sizeof(clean); p++)
                clean[k++] = ((unsigned char)*p < ' ' || *p == 0x7f) ? '?' : *p;
        clean[k] = '\0';
        json_decref(doc);
        return err_set(err, rs->status == 404 ? ENOENT : EIO, "%s: HTTP %ld%s%s", what,
                       rs->status, k ? ": " : "", clean);
}

/* Wait for a rate-limit block to pass, or fail fast.  With g->mu held. */
static int wait_unblocked(struct gh_forge *g, const struct gh_call *c, struct err *err)
{
        for (;;) {
                time_t now = time(NULL);
                uint64_t ms;

                if (g->blocked_until <= now)
                        return 0;
                ms = (uint64_t)(g->blocked_until - now) * 1000;
                if (!c->may_wait || ms > g->timing.max_wait_ms)
                        return err_set(err, EAGAIN, "GitHub rate limit: next request in %llds",
                                       (long long)(g->blocked_until - now));
                pthread_mutex_unlock(&g->mu);
                log_info("github: rate limited, waiting %llums", (unsigned long long)ms);
                gh_sleep_ms(ms);
                pthread_mutex_lock(&g->mu);
        }
}

static bool is_mutation(const char *method)
{
        return strcmp(method, "GET") != 0;
}

static void wipe_freep(char **s)
{
        if (*s != NULL) {
                explicit_bzero(*s, strlen(*s));
                free(*s);
        }
}

/* one attempt; *retry set when the caller should try again */
static int attempt(struct gh_forge *g, const struct gh_call *c, const char *url,
                   struct gh_resp *rs, bool *retry_auth, struct err *err)
{
        _cleanup_(wipe_freep) char *auth = NULL;
        _cleanup_free_ char *etag = NULL, *cached = NULL;
        struct gh_req rq = { .method = c->method, .url = url, .body = c->body };
        size_t cached_len = 0;
        uint64_t ah;
        int64_t wait;
        int r;

        r = gh_auth_header(&auth, g, c->auth, c->repo, err);
        if (r < 0)
                return r;
        ah = fnv64(auth);
        rq.auth = auth;

        pthread_mutex_lock(&g->mu);
        r = wait_unblocked(g, c, err);
        if (r == 0 && is_mutation(c->method) && g->timing.mutate_gap_ms > 0) {
                uint64_t now = gh_now_ms();

                /* GitHub asks for about a second between content-creating calls */
                if (g->last_mutate_ms + g->timing.mutate_gap_ms > now) {
                        uint64_t ms = g->last_mutate_ms + g->timing.mutate_gap_ms - now;

                        pthread_mutex_unlock(&g->mu);
                        gh_sleep_ms(ms);
                        pthread_mutex_lock(&g->mu);
                }
                g->last_mutate_ms = gh_now_ms();
        }
        if (r == 0 && c->conditional) {
                struct gh_etag *e = etag_find(g, url);

                if (e != NULL && e->auth_hash == ah) {
                        etag = xstrdup(e->etag);
                        cached = xmemdup(e->body, e->len + 1);
                        cached_len = e->len;
                }
        }
        g->stats.requests += r == 0;
        pthread_mutex_unlock(&g->mu);
        if (r < 0)
                return r;

        rq.etag = etag;
        gh_resp_free(rs);
        gh_resp_init(rs);
        r = gh_http_do(&g->http, &rq, rs, err);
        if (r < 0)
                return r;

        pthread_mutex_lock(&g->mu);
        if (rs->rl.have)
                g->rl = rs->rl;
        if (rs->rl.poll_interval > 0)
                g->rl.poll_interval = rs->rl.poll_interval;
        wait = github_ratelimit_wait(rs->status, &rs->rl, buf_str(&rs->body), time(NULL));
        if (wait > 0) {
                time_t until = time(NULL) + wait;

                if (until > g->blocked_until)
                        g->blocked_until = until;
                g->stats.rate_limited++;
        }
        if (rs->status == 304 && cached != NULL) {
                g->stats.not_modified++;
                pthread_mutex_unlock(&g->mu);
                buf_reset(&rs->body);
                rs->status = 200;
                return buf_append(&rs->body, cached, cached_len, err);
        }
        if (rs->status == 200 && c->conditional && rs->etag != NULL)
                etag_store(g, url, ah, rs);
        pthread_mutex_unlock(&g->mu);

        if (rs->status == 401 && c->auth == GH_AUTH_REPO && g->app_mode) {
                gh_auth_invalidate(g, c->repo);
                *retry_auth = true;
        }
        return 0;
}

int gh_api(struct gh_forge *g, const struct gh_call *c, struct gh_resp *rs, struct err *err)
{
        _cleanup_free_ char *url = NULL;
        bool retried_auth = false;
        unsigned fails5 = 0, limited = 0;

        url = c->url[0] == '/' ? xasprintf("%s%s", g->api_url, c->url) : xstrdup(c->url);
        for (;;) {
                bool retry_auth = false;
                int r = attempt(g, c, url, rs, &retry_auth, err);

                if (r < 0)
                        return r;
                if (retry_auth && !retried_auth) {
                        /* an expired or revoked installation token: one new token, one retry */
                        retried_auth = true;
                        pthread_mutex_lock(&g->mu);
                        g->stats.retries_401++;
                        pthread_mutex_unlock(&g->mu);
                        log_info("github: %s %s: 401, renewing the installation token", c->method,
                                 c->url);
                        continue;
                }
                if ((rs->status == 403 || rs->status == 429) &&
                    github_ratelimit_wait(rs->status, &rs->rl, buf_str(&rs->body), time(NULL)) > 0) {
                        if (!c->may_wait || ++limited > 2)
                                return err_set(err, EAGAIN, "%s %s: rate limited (HTTP %ld)",
                                               c->method, c->url, rs->status);
                        continue;       /* attempt() waits for the block to pass */
                }
                if (rs->status >= 500 && fails5 < g->timing.retries) {
                        uint64_t ms = g->timing.backoff_ms << fails5;

                        fails5++;
                        log_info("github: %s %s: HTTP %ld, retry in %llums", c->method, c->url,
                                 rs->status, (unsigned long long)ms);
                        gh_sleep_ms(ms);
                        continue;
                }
                return 0;
        }
}
