/* report.c - telling GitHub how a job goes: the check run (App mode) or
 * the commit status (token mode) through start, log and finish. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "github_int.h"
#include "runner/fetch/url.h"
#include "runner/util/cleanup.h"
#include "runner/util/log.h"
#include "runner/util/xalloc.h"

static int send_json(struct gh_forge *g, size_t repo, const char *method, const char *path,
                     json_t *body, long want, const char *what, struct err *err)
{
        _cleanup_free_ char *text = json_dumps(body, JSON_COMPACT);
        struct gh_call c = { .method = method, .url = path, .auth = GH_AUTH_REPO, .repo = repo,
                             .body = text, .may_wait = true };
        struct gh_resp rs;
        int r;

        if (text == NULL)
                return err_set(err, ENOMEM, "%s: body", what);
        gh_resp_init(&rs);
        r = gh_api(g, &c, &rs, err);
        if (r == 0 && rs.status != want)
                r = gh_status_err(&rs, what, err);
        gh_resp_free(&rs);
        return r;
}

int github_job_set_details_url(struct job *j, const char *url, struct err *err)
{
        _cleanup_(url_freep) struct url u = URL_INIT;
        struct gh_job *gj = j->priv;
        int r;

        r = url_parse(&u, url, URL_ALLOW_HTTP_LOOPBACK, err);
        if (r < 0) {
                log_warn("github: details URL not used: %s", err ? err->msg : "invalid");
                return r;
        }
        free(gj->details_url);
        gj->details_url = xstrdup(u.url);
        return 0;
}

static int post_status(struct gh_forge *g, struct job *j, const struct job_report *rep,
                       const char *pending, struct err *err)
{
        struct gh_job *gj = j->priv;
        _cleanup_free_ char *path = xasprintf("/repos/%s/statuses/%s", g->repos[gj->repo].full, j->sha);
        json_t *body;
        int r;

        r = github_status_body(&body, rep, pending, gj->details_url, err);
        if (r < 0)
                return r;
        r = send_json(g, gj->repo, "POST", path, body, 201, "posting the commit status", err);
        json_decref(body);
        return r;
}

int gh_start(struct forge *f, struct job *j, struct err *err)
{
        struct gh_forge *g = gh_of(f);
        struct gh_job *gj = j->priv;
        _cleanup_free_ char *path = NULL;
        char now[32];
        json_t *body;
        int r;

        if (!g->app_mode)
                return post_status(g, j, NULL, "running", err);
        gh_iso_time(now, time(NULL));
        path = xasprintf("/repos/%s/check-runs/%" PRId64, g->repos[gj->repo].full, gj->run_id);
        body = json_pack("{s:s, s:s, s:{s:s, s:s}}", "status", "in_progress", "started_at", now,
                         "output", "title", "tfgate: running", "summary",
                         "tfgate is checking this commit.");
        if (gj->details_url != NULL)
                json_object_set_new(body, "details_url", json_string(gj->details_url));
        r = send_json(g, gj->repo, "PATCH", path, body, 200, "marking the check run in progress", err);
        json_decref(body);
        return r;
}

int gh_log(struct forge *f, struct job *j, const char *data, size_t n, struct err *err)
{
        struct gh_job *gj = j->priv;

        /* GitHub shows no live log for an App's run: keep the tail for output.text */
        if (n >= GH_TAIL_MAX) {
                buf_reset(&gj->tail);
                return buf_append(&gj->tail, data + n - GH_TAIL_MAX, GH_TAIL_MAX, err);
        }
        if (gj->tail.len + n > GH_TAIL_MAX)
                buf_consume(&gj->tail, gj->tail.len + n - GH_TAIL_MAX);
        return buf_append(&gj->tail, data, n, err);
}

int gh_finish(struct forge *f, struct job *j, const struct job_report *rep, struct err *err)
{
        struct gh_forge *g = gh_of(f);
        struct gh_job *gj = j->priv;
        struct job_report r2 = *rep;
        _cleanup_free_ char *path = NULL;
        json_t *bodies = NULL;
        int r;

        if (r2.details_url != NULL) {
                _cleanup_(url_freep) struct url u = URL_INIT;

                if (url_parse(&u, r2.details_url, URL_ALLOW_HTTP_LOOPBACK, NULL) == 0) {
                        free(gj->details_url);
                        gj->details_url = xstrdup(u.url);
                }
        }
        if (r2.log_tail == NULL) {
                r2.log_tail = buf_str(&gj->tail);
                r2.log_tail_len = gj->tail.len;
        }
        if (!g->app_mode) {
                r = post_status(g, j, &r2, NULL, err);
        } else {
                r = github_finish_bodies(&bodies, &r2, j->sha, gj->details_url, err);
                path = xasprintf("/repos/%s/check-runs/%" PRId64, g->repos[gj->repo].full, gj->run_id);
                /* annotations go 50 per PATCH (each one adds to the run's);
                 * the last PATCH completes the run */
                for (size_t i = 0; r == 0 && i < json_array_size(bodies); i++)
                        r = send_json(g, gj->repo, "PATCH", path, json_array_get(bodies, i), 200,
                                      "completing the check run", err);
                json_decref(bodies);
        }
        /* the SHA is released in job_free: a run left incomplete by a failed
         * finish is ours and is taken back by the next scan */
        if (r == 0)
                gj->finished = true;
        return r;
}

/* ---- crash recovery: job_handle and abandon (docs/github.md) ----
 *
 * Token mode only.  In App mode the next scan takes back this host's own
 * unfinished check runs and runs the commit again, which gives a real
 * verdict: failing the run at start would stop that, so no handle is kept. */

#define HANDLE_VERSION 1
#define ABANDON_TEXT "the tfgate runner restarted while this job ran; push again or re-run"

char *gh_job_handle(struct forge *f, const struct job *j)
{
        struct gh_forge *g = gh_of(f);
        struct gh_job *gj = j->priv;
        json_auto_t *o = NULL;
        char *s;

        if (g->app_mode)
                return NULL;
        /* the API URL ties the handle to the GitHub the token is for */
        o = json_pack("{s:i, s:s, s:s, s:s}", "v", HANDLE_VERSION, "api", g->api_url, "repo",
                      g->repos[gj->repo].full, "sha", j->sha);
        if (o == NULL || (s = json_dumps(o, JSON_COMPACT)) == NULL)
                xalloc_die(0);
        return s;
}

int gh_handle_parse(size_t *repo, char **sha, const struct gh_forge *g, const char *handle,
                    struct err *err)
{
        json_auto_t *o = json_loads(handle, JSON_REJECT_DUPLICATES, NULL);
        json_t *v, *api, *rj, *sj;
        const char *name;

        *sha = NULL;
        if (!json_is_object(o))
                return err_set(err, EBADMSG, "job handle is not a JSON object");
        v = json_object_get(o, "v");
        api = json_object_get(o, "api");
        rj = json_object_get(o, "repo");
        sj = json_object_get(o, "sha");
        if (!json_is_integer(v) || json_integer_value(v) != HANDLE_VERSION)
                return err_set(err, EBADMSG, "job handle: unknown version");
        if (!json_is_string(api) || strcmp(json_string_value(api), g->api_url) != 0)
                return err_set(err, EBADMSG, "job handle: made for another GitHub API URL; the "
                               "token is not sent to this one");
        if (!json_is_string(sj) || json_string_length(sj) != strlen(json_string_value(sj)) ||
            !job_sha_valid(json_string_value(sj)))
                return err_set(err, EBADMSG, "job handle: bad commit SHA");
        if (!json_is_string(rj))
                return err_set(err, EBADMSG, "job handle: bad repository");
        name = json_string_value(rj);
        for (size_t i = 0; i < g->n_repos; i++)
                if (strcmp(g->repos[i].full, name) == 0) {
                        *repo = i;
                        *sha = xstrdup(json_string_value(sj));
                        return 0;
                }
        return err_set(err, ENOENT, "job handle: repository %s is no longer configured", name);
}

int gh_abandon(struct forge *f, const char *handle, struct err *err)
{
        struct gh_forge *g = gh_of(f);
        _cleanup_free_ char *sha = NULL, *path = NULL, *text = NULL;
        json_auto_t *body = NULL;
        struct gh_call c = { .method = "POST", .auth = GH_AUTH_REPO, .may_wait = false };
        struct gh_resp rs;
        size_t repo = 0;
        int r;

        if (g->app_mode)
                return err_set(err, EINVAL, "github: a token-mode job handle given to an App");
        r = gh_handle_parse(&repo, &sha, g, handle, err);
        if (r == -ENOENT)
                return 1;       /* nothing of ours to report there any more */
        if (r < 0)
                return r;
        body = json_pack("{s:s, s:s, s:s}", "state", "error", "context", GITHUB_CHECK_NAME,
                         "description", ABANDON_TEXT);
        if (body == NULL || (text = json_dumps(body, JSON_COMPACT)) == NULL)
                xalloc_die(0);
        path = xasprintf("/repos/%s/statuses/%s", g->repos[repo].full, sha);
        c.url = path;
        c.repo = repo;
        c.body = text;
        gh_resp_init(&rs);
        r = gh_api(g, &c, &rs, err);
        if (r == 0 && rs.status != 201) {
                /* the repository or commit is gone, or no longer ours to write */
                if (rs.status == 403 || rs.status == 404 || rs.status == 422)
                        r = 1;
                else
                        r = gh_status_err(&rs, "reporting the interrupted job", err);
        }
        gh_resp_free(&rs);
        return r;
}
