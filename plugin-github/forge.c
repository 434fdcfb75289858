/* forge.c - the GitHub adapter as a struct forge: construction from the
 * configuration, the ops table, and the small public knobs. */
#include <errno.h>
#include <string.h>

#include "github_int.h"
#include "runner/fetch/url.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/log.h"
#include "runner/util/randid.h"
#include "runner/util/xalloc.h"

#define PAT_FILE_MAX 16384

static void gh_job_free(struct forge *f, struct job *j)
{
        struct gh_job *gj = j->priv;

        if (gj == NULL)
                return;
        gh_release(gh_of(f), gj->repo, j->sha);
        buf_free(&gj->tail);
        free(gj->details_url);
        free(gj);
        j->priv = NULL;
}

static void gh_free(struct forge *f)
{
        struct gh_forge *g = gh_of(f);

        if (g == NULL)
                return;
        gh_auth_free(g);
        EVP_PKEY_free(g->key);
        for (size_t i = 0; i < g->n_repos; i++) {
                free(g->repos[i].full);
                free(g->repos[i].lower);
        }
        free(g->repos);
        for (size_t i = 0; i < g->n_etags; i++) {
                free(g->etags[i].url);
                free(g->etags[i].etag);
                free(g->etags[i].body);
        }
        free(g->etags);
        free(g->cands);
        free(g->inflight);
        free(g->own_runs);
        free(g->hints);
        free(g->http.user_agent);
        free(g->api_url);
        free(g->clone_url);
        free(g->ca_file);
        free(g->cert_file);
        free(g->key_file);
        free(g->base.name);
        pthread_mutex_destroy(&g->mu);
        pthread_mutex_destroy(&g->auth_mu);
        free(g);
}

static const struct forge_ops github_ops = {
        .name = "github",
        .poll = gh_poll,
        .start = gh_start,
        .log = gh_log,
        .section = NULL,
        .finish = gh_finish,
        .canceled = gh_canceled,
        .job_free = gh_job_free,
        .free = gh_free,
        .job_handle = gh_job_handle,
        .abandon = gh_abandon,
};

/* this host's id, kept across restarts in state_dir */
static int instance_id(char out[33], const char *state_dir, const char *name, struct err *err)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len = 0;
        int r;

        if (state_dir == NULL)
                return randid_new(out, err);
        path = xasprintf("%s/github-%s.instance", state_dir, name);
        r = file_read_all(&text, &len, path, 64, NULL);
        if (r == 0) {
                while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
                        text[--len] = '\0';
                if (randid_valid(text)) {
                        memcpy(out, text, RANDID_HEX_LEN + 1);
                        return 0;
                }
                log_warn("github: %s does not hold an instance id; making a new one", path);
        }
        if ((r = randid_new(out, err)) < 0)
                return r;
        if ((r = mkdir_p(state_dir, 0700, err)) < 0)
                return r;
        text = xasprintf("%s\n", out);
        return file_write_atomic(path, text, strlen(text), 0600, err);
}

static char *lowercase(const char *s)
{
        char *d = xstrdup(s);

        for (char *p = d; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char)(*p - 'A' + 'a');
        return d;
}

static int read_pat(char **out, const char *path, struct err *err)
{
        _cleanup_free_ char *t = NULL;
        size_t len = 0;
        int r = file_read_secret(&t, &len, path, PAT_FILE_MAX, err);

        if (r < 0)
                return r;
        while (len > 0 && (t[len - 1] == '\n' || t[len - 1] == '\r' || t[len - 1] == ' '))
                t[--len] = '\0';
        for (size_t i = 0; i < len; i++) {
                if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
                      (t[i] >= '0' && t[i] <= '9') || t[i] == '_' || t[i] == '-' || t[i] == '.')) {
                        explicit_bzero(t, len);
                        return err_set(err, EINVAL, "%s: the token holds a character tokens never have", path);
                }
        }
        if (len == 0)
                return err_set(err, EINVAL, "%s: empty token", path);
        *out = TAKE_PTR(t);
        return 0;
}

int github_forge_new(struct forge **out, const struct cfg_forge *cfg, const char *state_dir,
                     struct err *err)
{
        struct gh_forge *g;
        pthread_mutexattr_t ma;
        struct url u = URL_INIT;
        int r;

        *out = NULL;
        if (cfg->type != FORGE_GITHUB)
                return err_set(err, EINVAL, "forge %s is not a github forge", cfg->name);
        if (cfg->n_repositories == 0)
                return err_set(err, EINVAL, "forge %s: no repositories", cfg->name);
        /* the config checked these; checked again because this is where they are used */
        r = url_parse(&u, cfg->api_url, URL_ALLOW_HTTP_LOOPBACK | URL_ALLOW_EMPTY_PATH, err);
        url_free(&u);
        if (r == 0)
                r = url_parse(&u, cfg->clone_url, URL_ALLOW_HTTP_LOOPBACK | URL_ALLOW_EMPTY_PATH, err);
        url_free(&u);
        if (r < 0)
                return err_wrap(err, "forge %s", cfg->name);

        g = xcalloc(1, sizeof(*g));
        g->base.ops = &github_ops;
        g->base.name = xstrdup(cfg->name);
        pthread_mutexattr_init(&ma);
        pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
        pthread_mutex_init(&g->auth_mu, &ma);
        pthread_mutexattr_destroy(&ma);
        pthread_mutex_init(&g->mu, NULL);
        g->api_url = xstrdup(cfg->api_url);
        g->clone_url = xstrdup(cfg->clone_url);
        g->ca_file = cfg->tls.ca_file ? xstrdup(cfg->tls.ca_file) : NULL;
        g->cert_file = cfg->tls.client_cert_file ? xstrdup(cfg->tls.client_cert_file) : NULL;
        g->key_file = cfg->tls.client_key_file ? xstrdup(cfg->tls.client_key_file) : NULL;
        g->shard_index = cfg->shard_index;
        g->shard_count = cfg->shard_count;
        g->poll_base_ms = cfg->poll_interval_ms ? cfg->poll_interval_ms : 3000;
        g->app_mode = cfg->app_id > 0;
        g->app_id = cfg->app_id;
        g->timing = (struct github_timing){ .max_wait_ms = 120000, .backoff_ms = 1000,
                                            .retries = 2, .mutate_gap_ms = 1000,
                                            .request_timeout_ms = 30000,
                                            .cancel_check_ms = 10000 };
        g->http.user_agent = xstrdup("tfgate/" TFGATE_VERSION);
        g->http.ca_file = g->ca_file;
        g->http.cert_file = g->cert_file;
        g->http.key_file = g->key_file;
        g->http.timeout_ms = g->timing.request_timeout_ms;
        github_ratelimit_init(&g->rl);
        g->repos = xcalloc(cfg->n_repositories, sizeof(*g->repos));
        g->n_repos = cfg->n_repositories;
        for (size_t i = 0; i < cfg->n_repositories; i++) {
                if (strchr(cfg->repositories[i], '/') == NULL) {
                        gh_free(&g->base);
                        return err_set(err, EINVAL, "forge %s: repository %s is not owner/name",
                                       cfg->name, cfg->repositories[i]);
                }
                g->repos[i].full = xstrdup(cfg->repositories[i]);
                g->repos[i].lower = lowercase(cfg->repositories[i]);
        }
        if (g->app_mode)
                r = github_key_load(&g->key, cfg->private_key_file, err);
        else if (cfg->token_file != NULL)
                r = read_pat(&g->pat, cfg->token_file, err);
        else
                r = err_set(err, EINVAL, "needs app_id and private_key_file, or token_file");
        if (r == 0)
                r = instance_id(g->instance, state_dir, cfg->name, err);
        if (r < 0) {
                gh_free(&g->base);
                return err_wrap(err, "forge %s", cfg->name);
        }
        *out = &g->base;
        return 0;
}

void github_forge_set_timing(struct forge *f, const struct github_timing *t)
{
        struct gh_forge *g = gh_of(f);

        pthread_mutex_lock(&g->mu);
        g->timing = *t;
        g->http.timeout_ms = t->request_timeout_ms ? t->request_timeout_ms : 30000;
        pthread_mutex_unlock(&g->mu);
}

void github_forge_stats(struct forge *f, struct github_stats *out)
{
        struct gh_forge *g = gh_of(f);

        pthread_mutex_lock(&g->mu);
        *out = g->stats;
        pthread_mutex_unlock(&g->mu);
}

void github_forge_hint(struct forge *f, const struct github_hint *h)
{
        struct gh_forge *g = gh_of(f);
        bool known = false;

        if (h->kind == GITHUB_HINT_NONE)
                return;
        pthread_mutex_lock(&g->mu);
        for (size_t i = 0; i < g->n_repos; i++)
                if (strcasecmp(g->repos[i].full, h->repo) == 0)
                        known = true;
        /* bounded: a flood of deliveries collapses into one early scan */
        if (known && g->n_hints < 256) {
                g->hints = xreallocarray(g->hints, g->n_hints + 1, sizeof(*g->hints));
                g->hints[g->n_hints++] = *h;
        }
        pthread_mutex_unlock(&g->mu);
}
