/* poll.c - discovering work: open pull requests of each configured
 * repository, their head commits in this host's shard, and whether tfgate
 * already has a result for them.
 *
 * A scan lists every repository's open pull requests (sorted by update,
 * following Link rel="next", at most GITHUB_PAGES_MAX pages), and for each
 * head in the shard asks for tfgate's latest check run (App mode: filtered
 * by our app_id, so another App's run named "tfgate" changes nothing) or
 * the commit's statuses (token mode).  All of these are conditional GETs;
 * 304s cost nothing against the primary rate limit.  The candidates of one
 * scan are handed out one per poll() call; the next scan comes after an
 * interval that grows with the rate-limit budget (github_poll_interval_ms),
 * after failures (doubling, at most 5 minutes) or with a webhook hint. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "github_int.h"
#include "runner/fetch/url.h"
#include "runner/util/cleanup.h"
#include "runner/util/log.h"
#include "runner/util/xalloc.h"

#define SCAN_BACKOFF_MAX_MS (5u * 60 * 1000)
#define CANDIDATES_MAX 10000
#define CANDIDATES_TTL_MS (60u * 1000)
#define OWN_RUNS_MAX 65536

struct scan {
        struct gh_cand *cands;
        size_t n_cands;
        struct gh_live *live;      /* heads seen in this scan (one job per head) */
        size_t n_live;
};

static void scan_free(struct scan *s)
{
        free(s->cands);
        free(s->live);
}

static bool live_has(const struct gh_live *v, size_t n, size_t repo, const char *sha)
{
        for (size_t i = 0; i < n; i++)
                if (v[i].repo == repo && strcmp(v[i].sha, sha) == 0)
                        return true;
        return false;
}

static void live_add(struct gh_live **v, size_t *n, size_t repo, const char *sha)
{
        *v = xreallocarray(*v, *n + 1, sizeof(**v));
        (*v)[*n].repo = repo;
        snprintf((*v)[*n].sha, sizeof((*v)[*n].sha), "%s", sha);
        (*n)++;
}

static void live_del(struct gh_live *v, size_t *n, size_t repo, const char *sha)
{
        for (size_t i = 0; i < *n; i++) {
                if (v[i].repo == repo && strcmp(v[i].sha, sha) == 0) {
                        v[i] = v[--*n];
                        return;
                }
        }
}

static int get_json(json_t **out, struct gh_forge *g, size_t repo, const char *url,
                    const char *what, struct err *err)
{
        struct gh_call c = { .method = "GET", .url = url, .auth = GH_AUTH_REPO, .repo = repo,
                             .conditional = true };
        struct gh_resp rs;
        json_error_t je;
        int r;

        *out = NULL;
        gh_resp_init(&rs);
        r = gh_api(g, &c, &rs, err);
        if (r == 0 && rs.status != 200)
                r = gh_status_err(&rs, what, err);
        if (r == 0) {
                *out = json_loadb(buf_str(&rs.body), rs.body.len, 0, &je);
                if (*out == NULL)
                        r = err_set(err, EINVAL, "%s: bad JSON at %d:%d", what, je.line, je.column);
        }
        gh_resp_free(&rs);
        return r;
}

static bool hint_rerun(struct gh_forge *g, size_t repo, const char *sha)
{
        bool yes = false;

        pthread_mutex_lock(&g->mu);
        for (size_t i = 0; i < g->n_hints; i++)
                if (g->hints[i].kind == GITHUB_HINT_RERUN && strcmp(g->hints[i].sha, sha) == 0 &&
                    strcasecmp(g->hints[i].repo, g->repos[repo].full) == 0)
                        yes = true;
        pthread_mutex_unlock(&g->mu);
        return yes;
}

/* App mode: what to do about repo@sha, from tfgate's latest check run and
 * the App's check suites.  1 = a candidate in *c, 0 = nothing. */
static int check_app(struct gh_cand *c, struct gh_forge *g, size_t repo, const char *sha,
                     struct err *err)
{
        _cleanup_free_ char *url = NULL, *what = NULL;
        json_t *doc = NULL, *runs, *run = NULL;
        const char *status, *ext;
        size_t ilen = strlen(g->instance);
        int r;

        url = xasprintf("/repos/%s/commits/%s/check-runs?check_name=%s&filter=latest&app_id=%" PRId64,
                        g->repos[repo].full, sha, GITHUB_CHECK_NAME, g->app_id);
        what = xasprintf("check runs of %s@%.12s", g->repos[repo].full, sha);
        if ((r = get_json(&doc, g, repo, url, what, err)) < 0)
                return r;
        runs = json_object_get(doc, "check_runs");
        for (size_t i = 0; i < json_array_size(runs); i++) {
                json_t *x = json_array_get(runs, i);

                if (json_is_string(json_object_get(x, "name")) &&
                    strcmp(json_string_value(json_object_get(x, "name")), GITHUB_CHECK_NAME) == 0 &&
                    json_is_integer(json_object_get(x, "id"))) {
                        run = x;
                        break;
                }
        }
        if (run == NULL) {
                json_decref(doc);
                c->kind = GH_CAND_NEW;
                return 1;
        }
        status = json_string_value(json_object_get(run, "status"));
        ext = json_string_value(json_object_get(run, "external_id"));
        if (status != NULL && strcmp(status, "completed") != 0) {
                /* ours from an earlier life of this host (a restart): take it back */
                bool mine = ext != NULL && strncmp(ext, g->instance, ilen) == 0 && ext[ilen] == ':';

                c->kind = GH_CAND_RECLAIM;
                c->run_id = json_integer_value(json_object_get(run, "id"));
                json_decref(doc);
                /* a run this process already had is not taken back: its
                 * job is running, or its finish failed (left to a restart) */
                pthread_mutex_lock(&g->mu);
                for (size_t i = 0; mine && i < g->n_own_runs; i++)
                        if (g->own_runs[i] == c->run_id)
                                mine = false;
                pthread_mutex_unlock(&g->mu);
                return mine ? 1 : 0;
        }
        json_decref(doc);
        doc = NULL;
        if (hint_rerun(g, repo, sha)) {
                c->kind = GH_CAND_RERUN;
                return 1;
        }
        /* a re-run asked for in the UI puts the App's suite back to queued
         * with no conclusion; our completed run is not changed by it */
        free(url);
        free(what);
        url = xasprintf("/repos/%s/commits/%s/check-suites?app_id=%" PRId64, g->repos[repo].full,
                        sha, g->app_id);
        what = xasprintf("check suites of %s@%.12s", g->repos[repo].full, sha);
        if ((r = get_json(&doc, g, repo, url, what, err)) < 0)
                return r;
        r = 0;
        runs = json_object_get(doc, "check_suites");
        for (size_t i = 0; i < json_array_size(runs); i++) {
                json_t *s = json_array_get(runs, i);
                const char *st = json_string_value(json_object_get(s, "status"));

                if (st != NULL && strcmp(st, "queued") == 0 &&
                    json_is_null(json_object_get(s, "conclusion"))) {
                        c->kind = GH_CAND_RERUN;
                        r = 1;
                }
        }
        json_decref(doc);
        return r;
}

/* token mode: a commit without a "tfgate" status is new work */
static int check_token(struct gh_cand *c, struct gh_forge *g, size_t repo, const char *sha,
                       struct err *err)
{
        _cleanup_free_ char *url = NULL, *what = NULL;
        json_t *doc = NULL, *sts;
        int r;

        url = xasprintf("/repos/%s/commits/%s/status", g->repos[repo].full, sha);
        what = xasprintf("statuses of %s@%.12s", g->repos[repo].full, sha);
        if ((r = get_json(&doc, g, repo, url, what, err)) < 0)
                return r;
        sts = json_object_get(doc, "statuses");
        r = 1;
        for (size_t i = 0; i < json_array_size(sts); i++) {
                const char *ctx = json_string_value(json_object_get(json_array_get(sts, i), "context"));

                /* contexts are case-insensitive on GitHub */
                if (ctx != NULL && strcasecmp(ctx, GITHUB_CHECK_NAME) == 0)
                        r = 0;
        }
        json_decref(doc);
        c->kind = GH_CAND_NEW;
        return r;
}

static bool inflight_has(struct gh_forge *g, size_t repo, const char *sha)
{
        bool yes;

        pthread_mutex_lock(&g->mu);
        yes = live_has(g->inflight, g->n_inflight, repo, sha);
        pthread_mutex_unlock(&g->mu);
        return yes;
}

static int scan_repo(struct scan *s, struct gh_forge *g, size_t repo, struct err *err)
{
        _cleanup_free_ char *url = NULL;
        _cleanup_free_ char *next_prefix = xasprintf("%s/", g->api_url);
        const char *full = g->repos[repo].full;

        url = xasprintf("%s/repos/%s/pulls?state=open&sort=updated&direction=desc&per_page=100",
                        g->api_url, full);
        for (unsigned page = 0; url != NULL && page < GITHUB_PAGES_MAX; page++) {
                struct gh_call c = { .method = "GET", .url = url, .auth = GH_AUTH_REPO,
                                     .repo = repo, .conditional = true };
                _cleanup_free_ struct github_pr *prs = NULL;
                struct gh_resp rs;
                size_t n = 0, refused = 0;
                char *next = NULL;
                int r;

                gh_resp_init(&rs);
                r = gh_api(g, &c, &rs, err);
                if (r == 0 && rs.status != 200)
                        r = gh_status_err(&rs, full, err);
                if (r == 0)
                        r = github_pulls_parse(&prs, &n, &refused, rs.body.data, rs.body.len, full, err);
                if (r == 0 && github_link_next(&next, rs.link, NULL) < 0)
                        log_warn("github: %s: malformed Link header, stopping at page %u", full, page + 1);
                gh_resp_free(&rs);
                if (r < 0)
                        return r;
                pthread_mutex_lock(&g->mu);
                g->stats.refused_prs += refused;
                pthread_mutex_unlock(&g->mu);
                for (size_t i = 0; i < n; i++) {
                        struct gh_cand cand = { .repo = repo, .number = prs[i].number };

                        if (!github_shard_mine(g->repos[repo].lower, prs[i].sha, g->shard_index,
                                               g->shard_count))
                                continue;
                        if (live_has(s->live, s->n_live, repo, prs[i].sha))
                                continue;       /* two PRs with one head: one job */
                        live_add(&s->live, &s->n_live, repo, prs[i].sha);
                        if (inflight_has(g, repo, prs[i].sha))
                                continue;
                        snprintf(cand.sha, sizeof(cand.sha), "%s", prs[i].sha);
                        r = g->app_mode ? check_app(&cand, g, repo, prs[i].sha, err)
                                        : check_token(&cand, g, repo, prs[i].sha, err);
                        if (r < 0)
                                return r;
                        if (r == 1 && s->n_cands < CANDIDATES_MAX) {
                                s->cands = xreallocarray(s->cands, s->n_cands + 1, sizeof(*s->cands));
                                s->cands[s->n_cands++] = cand;
                        }
                }
                free(url);
                url = NULL;
                /* follow only links back to the API we were given */
                if (next != NULL && strncmp(next, next_prefix, strlen(next_prefix)) != 0)
                        log_warn("github: %s: Link rel=next leaves %s, not followed", full, g->api_url);
                else
                        url = next, next = NULL;
                free(next);
        }
        return 0;
}

static int scan(struct gh_forge *g, struct err *err)
{
        struct scan s = { 0 };
        struct err first = ERR_INIT;
        size_t ok = 0;

        for (size_t i = 0; i < g->n_repos; i++) {
                struct err e = ERR_INIT;

                if (scan_repo(&s, g, i, &e) < 0) {
                        log_warn("github: scanning %s: %s", g->repos[i].full, e.msg);
                        if (first.code == 0)
                                first = e;
                        /* a rate limit stops the whole scan: the next repo would hit it too */
                        if (e.code == -EAGAIN)
                                break;
                        continue;
                }
                ok++;
        }
        pthread_mutex_lock(&g->mu);
        free(g->cands);
        g->cands = TAKE_PTR(s.cands);
        g->n_cands = s.n_cands;
        /* hints are consumed by any scan: one whose repository failed still
         * finds a re-run later through the App's check suite */
        g->n_hints = 0;
        g->cands_ms = gh_now_ms();
        pthread_mutex_unlock(&g->mu);
        scan_free(&s);
        if (ok == 0 && first.code != 0) {
                if (err != NULL)
                        *err = first;
                return first.code;
        }
        return 0;
}

static int claim_run(int64_t *run_id, struct gh_forge *g, const struct gh_cand *c,
                     const char *external_id, struct err *err)
{
        _cleanup_free_ char *url = NULL, *body = NULL;
        struct gh_call call = { .method = "POST", .auth = GH_AUTH_REPO, .repo = c->repo,
                                .may_wait = true };
        struct gh_resp rs;
        json_t *doc;
        int r;

        if (c->kind == GH_CAND_RECLAIM) {
                *run_id = c->run_id;
                return 0;
        }
        if (g->app_mode) {
                url = xasprintf("/repos/%s/check-runs", g->repos[c->repo].full);
                doc = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "name", GITHUB_CHECK_NAME,
                                "head_sha", c->sha, "status", "queued", "external_id", external_id,
                                "output", "title", "tfgate: queued", "summary",
                                "Waiting for a tfgate runner.");
        } else {
                url = xasprintf("/repos/%s/statuses/%s", g->repos[c->repo].full, c->sha);
                r = github_status_body(&doc, NULL, "queued", NULL, err);
                if (r < 0)
                        return r;
        }
        body = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        call.url = url;
        call.body = body;
        gh_resp_init(&rs);
        r = gh_api(g, &call, &rs, err);
        if (r == 0 && rs.status != 201)
                r = gh_status_err(&rs, g->app_mode ? "creating the check run" : "posting a status", err);
        if (r == 0 && g->app_mode) {
                doc = json_loadb(buf_str(&rs.body), rs.body.len, 0, NULL);
                if (!json_is_integer(json_object_get(doc, "id")))
                        r = err_set(err, EINVAL, "check run reply without an id");
                else
                        *run_id = json_integer_value(json_object_get(doc, "id"));
                json_decref(doc);
        }
        gh_resp_free(&rs);
        return r;
}

static int make_job(struct job **out, struct gh_forge *g, const struct gh_cand *c, int64_t run_id,
                    struct err *err)
{
        _cleanup_(url_freep) struct url u = URL_INIT;
        _cleanup_free_ char *repo_url = NULL;
        struct job *j;
        struct gh_job *gj;
        int r;

        /* always the base repository: fork heads come as refs/pull/N/head,
         * never from the URL a pull request names */
        repo_url = xasprintf("%s/%s.git", g->clone_url, g->repos[c->repo].full);
        r = url_parse(&u, repo_url, URL_ALLOW_HTTP_LOOPBACK, err);
        if (r == 0)
                r = url_require_host(&u, g->clone_url, err);
        if (r < 0)
                return err_wrap(err, "clone URL of %s", g->repos[c->repo].full);
        j = xcalloc(1, sizeof(*j));
        gj = xcalloc(1, sizeof(*gj));
        j->forge = &g->base;
        j->priv = gj;
        gj->repo = c->repo;
        gj->number = c->number;
        gj->run_id = run_id;
        buf_init(&gj->tail, 2 * GH_TAIL_MAX);
        j->id = xasprintf("%s@%s", g->repos[c->repo].full, c->sha);
        j->project = xstrdup(g->repos[c->repo].full);
        j->repo_url = xstrdup(u.url);
        j->sha = xstrdup(c->sha);
        j->ref = xasprintf("refs/pull/%" PRIu64 "/head", c->number);
        j->refspecs = xcalloc(2, sizeof(char *));
        j->refspecs[0] = xstrdup(j->ref);
        j->n_refspecs = 1;
        j->clone_username = xstrdup("x-access-token");
        r = gh_clone_token(&j->clone_password, g, c->repo, err);
        if (r < 0) {
                job_free(j);
                return r;
        }
        *out = j;
        return 0;
}

int gh_poll(struct forge *f, struct job **out, struct err *err)
{
        struct gh_forge *g = gh_of(f);
        uint64_t now = gh_now_ms();
        char external_id[64];
        struct gh_cand c;
        int64_t run_id = 0;
        bool found = false;
        int r = 0;

        *out = NULL;
        pthread_mutex_lock(&g->mu);
        /* candidates found long ago may be stale (a push, a close): look again */
        if (g->n_cands > 0 && now - g->cands_ms > CANDIDATES_TTL_MS)
                g->n_cands = 0;
        if (g->n_cands == 0 && (now >= g->next_scan_ms || g->n_hints > 0)) {
                uint64_t calls0 = g->stats.requests - g->stats.not_modified;
                uint64_t next;

                pthread_mutex_unlock(&g->mu);
                r = scan(g, err);
                pthread_mutex_lock(&g->mu);
                if (r < 0) {
                        unsigned k = g->scan_failures < 16 ? g->scan_failures : 16;

                        g->scan_failures++;
                        next = g->poll_base_ms << k;
                        if (next > SCAN_BACKOFF_MAX_MS)
                                next = SCAN_BACKOFF_MAX_MS;
                } else {
                        g->scan_failures = 0;
                        next = github_poll_interval_ms(g->poll_base_ms, &g->rl,
                                                       g->stats.requests - g->stats.not_modified - calls0,
                                                       time(NULL));
                }
                if (g->blocked_until > time(NULL) &&
                    (uint64_t)(g->blocked_until - time(NULL)) * 1000 > next)
                        next = (uint64_t)(g->blocked_until - time(NULL)) * 1000;
                g->stats.next_poll_ms = next;
                g->next_scan_ms = gh_now_ms() + next;
        }
        while (g->n_cands > 0 && !found) {
                c = g->cands[0];
                memmove(g->cands, g->cands + 1, (g->n_cands - 1) * sizeof(*g->cands));
                g->n_cands--;
                if (live_has(g->inflight, g->n_inflight, c.repo, c.sha))
                        continue;
                live_add(&g->inflight, &g->n_inflight, c.repo, c.sha);
                found = true;
                snprintf(external_id, sizeof(external_id), "%s:%" PRIu64, g->instance,
                         ++g->job_counter);
        }
        pthread_mutex_unlock(&g->mu);
        if (!found)
                return r < 0 ? r : 1;

        r = claim_run(&run_id, g, &c, external_id, err);
        if (r == 0 && run_id != 0) {
                pthread_mutex_lock(&g->mu);
                if (g->n_own_runs == OWN_RUNS_MAX) {
                        /* forget the oldest half: those jobs finished long ago */
                        memmove(g->own_runs, g->own_runs + OWN_RUNS_MAX / 2,
                                (OWN_RUNS_MAX / 2) * sizeof(*g->own_runs));
                        g->n_own_runs = OWN_RUNS_MAX / 2;
                }
                g->own_runs = xreallocarray(g->own_runs, g->n_own_runs + 1, sizeof(*g->own_runs));
                g->own_runs[g->n_own_runs++] = run_id;
                pthread_mutex_unlock(&g->mu);
        }
        if (r == 0)
                r = make_job(out, g, &c, run_id, err);
        if (r < 0) {
                pthread_mutex_lock(&g->mu);
                live_del(g->inflight, &g->n_inflight, c.repo, c.sha);
                pthread_mutex_unlock(&g->mu);
                return err_wrap(err, "claiming %s@%.12s", g->repos[c.repo].full, c.sha);
        }
        log_info("github: %s #%" PRIu64 " @%.12s: %s%s", g->repos[c.repo].full, c.number, c.sha,
                 c.kind == GH_CAND_NEW ? "new" : c.kind == GH_CAND_RERUN ? "re-run" : "taken back",
                 g->app_mode ? "" : " (commit status)");
        return 0;
}

/* The job's pull request, looked at with a conditional GET at most every
 * cancel_check_ms (a 304 costs no rate limit): closed, or its head moved
 * on, means the result would be for a commit nobody asks about anymore.
 * Only a clear answer cancels; errors and rate limits do not. */
bool gh_canceled(struct forge *f, struct job *j)
{
        struct gh_forge *g = gh_of(f);
        struct gh_job *gj = j->priv;
        _cleanup_free_ char *url = NULL, *what = NULL;
        uint64_t now = gh_now_ms(), every;
        json_t *doc = NULL;
        const char *state, *head;

        if (gj->canceled || now < gj->next_check_ms)
                return gj->canceled;
        pthread_mutex_lock(&g->mu);
        every = g->timing.cancel_check_ms;
        pthread_mutex_unlock(&g->mu);
        gj->next_check_ms = now + every;
        url = xasprintf("/repos/%s/pulls/%" PRIu64, g->repos[gj->repo].full, gj->number);
        what = xasprintf("pull request %s#%" PRIu64, g->repos[gj->repo].full, gj->number);
        if (get_json(&doc, g, gj->repo, url, what, NULL) < 0)
                return false;
        state = json_string_value(json_object_get(doc, "state"));
        head = json_string_value(json_object_get(json_object_get(doc, "head"), "sha"));
        if (state != NULL && head != NULL && (strcmp(state, "open") != 0 || strcmp(head, j->sha) != 0)) {
                log_info("github: %s: %s, canceling the job for %.12s", what,
                         strcmp(state, "open") != 0 ? "closed" : "head moved", j->sha);
                gj->canceled = true;
        }
        json_decref(doc);
        return gj->canceled;
}

void gh_release(struct gh_forge *g, size_t repo, const char *sha)
{
        pthread_mutex_lock(&g->mu);
        live_del(g->inflight, &g->n_inflight, repo, sha);
        pthread_mutex_unlock(&g->mu);
}
