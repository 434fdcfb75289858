/* auth.c - credentials for each call.
 *
 * App mode: the App's JWT (cached until a minute before it expires) for the
 * /app and /repos/{r}/installation endpoints; for everything about a
 * repository, the installation token of the installation that covers it.
 * Installations are looked up per repository (GET /repos/{r}/installation)
 * and remembered; tokens are minted narrowed to the repositories and the
 * permissions tfgate needs, cached, and minted again 30 minutes before
 * they expire (so a clone credential handed to a job lives at least that
 * long) or after the server refused one.  Token mode: the fine-grained
 * token, for every call.
 *
 * auth_mu is recursive: looking up an installation is itself an API call
 * that asks for the JWT. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "github_int.h"
#include "runner/util/cleanup.h"
#include "runner/util/log.h"
#include "runner/util/xalloc.h"

#define TOKEN_RENEW_BEFORE (30 * 60)
#define JWT_RENEW_BEFORE 60
#define INSTALL_RETRY (5 * 60)

static bool token_chars_ok(const char *t)
{
        size_t n = strlen(t);

        if (n == 0 || n > GITHUB_TOKEN_MAX)
                return false;
        for (const char *p = t; *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
                        return false;
        return true;
}

static void secret_free(char **s)
{
        if (*s != NULL) {
                explicit_bzero(*s, strlen(*s));
                free(*s);
                *s = NULL;
        }
}

static int jwt_header(char **out, struct gh_forge *g, struct err *err)
{
        time_t now = time(NULL);
        int r = 0;

        pthread_mutex_lock(&g->auth_mu);
        if (g->jwt == NULL || g->jwt_exp - now < JWT_RENEW_BEFORE) {
                secret_free(&g->jwt);
                r = github_jwt_make(&g->jwt, g->key, g->app_id, now, err);
                g->jwt_exp = now + 540;
        }
        if (r == 0)
                *out = xasprintf("Bearer %s", g->jwt);
        pthread_mutex_unlock(&g->auth_mu);
        return r;
}

static int parse_time(time_t *out, const char *s)
{
        struct tm tm = { 0 };
        const char *end;

        if (s == NULL)
                return -EINVAL;
        end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (end == NULL || (strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0))
                return -EINVAL;
        *out = timegm(&tm);
        return 0;
}

/* with auth_mu held */
static int lookup_installation(int64_t *out, struct gh_forge *g, size_t repo, struct err *err)
{
        _cleanup_free_ char *path = NULL;
        struct gh_resp rs;
        struct gh_call c = { .method = "GET", .auth = GH_AUTH_JWT, .may_wait = true };
        json_t *doc, *id;
        int r;

        pthread_mutex_lock(&g->mu);
        path = xasprintf("/repos/%s/installation", g->repos[repo].full);
        pthread_mutex_unlock(&g->mu);
        c.url = path;
        gh_resp_init(&rs);
        r = gh_api(g, &c, &rs, err);
        if (r == 0 && rs.status != 200)
                r = gh_status_err(&rs, path, err);
        if (r < 0) {
                gh_resp_free(&rs);
                return r;
        }
        doc = json_loadb(buf_str(&rs.body), rs.body.len, 0, NULL);
        id = json_object_get(doc, "id");
        if (!json_is_integer(id) || json_integer_value(id) < 1)
                r = err_set(err, EINVAL, "%s: no installation id in the reply", path);
        else
                *out = json_integer_value(id);
        json_decref(doc);
        gh_resp_free(&rs);
        return r;
}

/* with auth_mu held */
static struct gh_install *install_get(struct gh_forge *g, int64_t id)
{
        for (size_t i = 0; i < g->n_insts; i++)
                if (g->insts[i].id == id)
                        return &g->insts[i];
        g->insts = xreallocarray(g->insts, g->n_insts + 1, sizeof(*g->insts));
        memset(&g->insts[g->n_insts], 0, sizeof(*g->insts));
        g->insts[g->n_insts].id = id;
        return &g->insts[g->n_insts++];
}

/* the installation covering repo; with auth_mu held */
static int repo_installation(struct gh_install **out, struct gh_forge *g, size_t repo,
                             struct err *err)
{
        int64_t id;
        time_t now = time(NULL);
        int r;

        pthread_mutex_lock(&g->mu);
        id = g->repos[repo].install_id;
        if (id == 0 && g->repos[repo].install_retry > now) {
                pthread_mutex_unlock(&g->mu);
                return err_set(err, ENOENT, "%s: the App's installation is unknown (retry later)",
                               g->repos[repo].full);
        }
        pthread_mutex_unlock(&g->mu);
        if (id == 0) {
                r = lookup_installation(&id, g, repo, err);
                pthread_mutex_lock(&g->mu);
                if (r < 0) {
                        g->repos[repo].install_retry = now + INSTALL_RETRY;
                        pthread_mutex_unlock(&g->mu);
                        return err_wrap(err, "GitHub App installation for %s", g->repos[repo].full);
                }
                g->repos[repo].install_id = id;
                pthread_mutex_unlock(&g->mu);
                /* a token minted before knew nothing of this repository */
                secret_free(&install_get(g, id)->token);
        }
        *out = install_get(g, id);
        return 0;
}

/* POST /app/installations/{id}/access_tokens; with auth_mu held */
static int mint(struct gh_forge *g, struct gh_install *in, struct err *err)
{
        _cleanup_free_ char *path = NULL, *body = NULL;
        struct gh_call c = { .method = "POST", .auth = GH_AUTH_JWT, .may_wait = true };
        struct gh_resp rs;
        json_t *req, *names, *doc;
        const char *tok;
        time_t exp = 0;
        int r;

        names = json_array();
        pthread_mutex_lock(&g->mu);
        for (size_t i = 0; i < g->n_repos; i++)
                if (g->repos[i].install_id == in->id)
                        json_array_append_new(names, json_string(strchr(g->repos[i].full, '/') + 1));
        pthread_mutex_unlock(&g->mu);
        req = json_pack("{s:o, s:{s:s, s:s, s:s, s:s}}", "repositories", names, "permissions",
                        "checks", "write", "contents", "read", "pull_requests", "read",
                        "metadata", "read");
        body = json_dumps(req, JSON_COMPACT);
        json_decref(req);
        if (body == NULL)
                return err_set(err, ENOMEM, "token request body");
        path = xasprintf("/app/installations/%" PRId64 "/access_tokens", in->id);
        c.url = path;
        c.body = body;
        gh_resp_init(&rs);
        r = gh_api(g, &c, &rs, err);
        if (r == 0 && rs.status != 201)
                r = gh_status_err(&rs, "creating an installation token", err);
        if (r < 0) {
                gh_resp_free(&rs);
                return r;
        }
        doc = json_loadb(buf_str(&rs.body), rs.body.len, 0, NULL);
        tok = json_string_value(json_object_get(doc, "token"));
        if (tok == NULL || !token_chars_ok(tok))
                r = err_set(err, EINVAL, "installation token reply: token missing or malformed");
        else if (parse_time(&exp, json_string_value(json_object_get(doc, "expires_at"))) < 0)
                r = err_set(err, EINVAL, "installation token reply: expires_at is not a time");
        if (r == 0) {
                secret_free(&in->token);
                in->token = xstrdup(tok);
                in->expires = exp;
                pthread_mutex_lock(&g->mu);
                g->stats.token_mints++;
                pthread_mutex_unlock(&g->mu);
                log_info("github: installation %" PRId64 ": new token, expires in %llds", in->id,
                         (long long)(exp - time(NULL)));
        }
        /* the reply held the token: wipe it */
        json_decref(doc);
        explicit_bzero(rs.body.data, rs.body.len);
        gh_resp_free(&rs);
        return r;
}

static int repo_token(char **out, struct gh_forge *g, size_t repo, struct err *err)
{
        struct gh_install *in = NULL;
        int r;

        if (!g->app_mode) {
                *out = xstrdup(g->pat);
                return 0;
        }
        pthread_mutex_lock(&g->auth_mu);
        r = repo_installation(&in, g, repo, err);
        if (r == 0 && (in->token == NULL || in->expires - time(NULL) < TOKEN_RENEW_BEFORE))
                r = mint(g, in, err);
        if (r == 0)
                *out = xstrdup(in->token);
        pthread_mutex_unlock(&g->auth_mu);
        return r;
}

int gh_auth_header(char **out, struct gh_forge *g, enum gh_auth auth, size_t repo,
                   struct err *err)
{
        _cleanup_free_ char *tok = NULL;
        int r;

        *out = NULL;
        if (auth == GH_AUTH_JWT) {
                if (!g->app_mode)
                        return err_set(err, EINVAL, "this call needs a GitHub App");
                return jwt_header(out, g, err);
        }
        r = repo_token(&tok, g, repo, err);
        if (r < 0)
                return r;
        *out = xasprintf("token %s", tok);
        explicit_bzero(tok, strlen(tok));
        return 0;
}

int gh_clone_token(char **out, struct gh_forge *g, size_t repo, struct err *err)
{
        return repo_token(out, g, repo, err);
}

void gh_auth_invalidate(struct gh_forge *g, size_t repo)
{
        int64_t id;

        pthread_mutex_lock(&g->auth_mu);
        pthread_mutex_lock(&g->mu);
        id = g->repos[repo].install_id;
        pthread_mutex_unlock(&g->mu);
        for (size_t i = 0; i < g->n_insts; i++)
                if (g->insts[i].id == id)
                        secret_free(&g->insts[i].token);
        pthread_mutex_unlock(&g->auth_mu);
}

void gh_auth_free(struct gh_forge *g)
{
        for (size_t i = 0; i < g->n_insts; i++)
                secret_free(&g->insts[i].token);
        free(g->insts);
        g->insts = NULL;
        g->n_insts = 0;
        secret_free(&g->jwt);
        secret_free(&g->pat);
}
