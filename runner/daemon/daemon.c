/* daemon.c - `tfgate run`'s main loop; see daemon.h. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recovery.h"
#include "runner/http/http.h"
#include "runner/pipeline/pipeline.h"
#include "runner/sign/audit.h"
#include "runner/sign/keys.h"
#include "runner/state/state.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/log.h"
#include "runner/util/xalloc.h"
#include "status.h"

#ifdef TFGATE_HAVE_GITLAB
#include "plugin-gitlab/gitlab.h"
#endif
#ifdef TFGATE_HAVE_GITHUB
#include "plugin-github/github.h"
#endif

static const struct daemon_forge_type builtin[] = {
#ifdef TFGATE_HAVE_GITLAB
        { "gitlab", gitlab_forge_new, gitlab_poll_delay_ms, GITLAB_EREFUSED },
#endif
#ifdef TFGATE_HAVE_GITHUB
        { "github", github_forge_new, NULL, 0 },
#endif
        { NULL, NULL, NULL, 0 },
};

const struct daemon_forge_type *daemon_builtin_forges(size_t *n)
{
        *n = ARRAY_SIZE(builtin) - 1;
        return builtin;
}

static const char *const forge_type_names[] = {
        [FORGE_GITLAB] = "gitlab",
        [FORGE_GITHUB] = "github",
};

struct daemon {
        const struct daemon_opts *o;
        const struct daemon_forge_type *types;
        size_t n_types;
        struct audit_log *audit;
        struct state *state;
        struct sched *sched;
        char *journal_dir;
        char *sock_path;
        int sig_fd, lock_fd, listen_fd;
        /* the HTTP endpoint keeps the config it started with: http.* and
         * the signing key's path change with a restart, not a reload */
        struct config *http_cfg;
        struct http_hooks http_hooks;
        struct http_server *http;
};

static int load_config(struct config **out, const char *path, struct err *err)
{
        _cleanup_strv_free_ char **errors = NULL;
        int r = config_load_file(out, path, &errors, err);

        if (r < 0 && errors != NULL)
                for (size_t i = 0; errors[i] != NULL; i++)
                        log_error("%s", errors[i]);
        return r;
}

static const struct daemon_forge_type *find_type(const struct daemon *d, enum forge_type t)
{
        const char *name = (unsigned)t < ARRAY_SIZE(forge_type_names) ? forge_type_names[t] : "?";

        for (size_t i = 0; i < d->n_types; i++)
                if (strcmp(d->types[i].type, name) == 0)
                        return &d->types[i];
        return NULL;
}

static void free_forges(struct sched_forge *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (v[i].forge != NULL)
                        v[i].forge->ops->free(v[i].forge);
        free(v);
}

/* every forge of cfg, or none: a config whose forges cannot all be made is
 * not used */
static int make_forges(struct sched_forge **out, const struct daemon *d, const struct config *cfg,
                       bool *config_error, struct err *err)
{
        struct sched_forge *v = xcalloc(cfg->n_forges ? cfg->n_forges : 1, sizeof(*v));

        *config_error = false;
        for (size_t i = 0; i < cfg->n_forges; i++) {
                const struct cfg_forge *cf = &cfg->forges[i];
                const struct daemon_forge_type *t = find_type(d, cf->type);
                int r;

                if (t == NULL) {
                        *config_error = true;
                        free_forges(v, i);
                        return err_set(err, 0, "forges[%zu] (%s): type %s is not built into this tfgate",
                                       i, cf->name, forge_type_names[cf->type]);
                }
                r = t->create(&v[i].forge, cf, cfg->state_dir, err);
                if (r < 0) {
                        err_wrap(err, "forge %s", cf->name);
                        free_forges(v, i);
                        return r;
                }
                v[i].poll_delay_ms = t->poll_delay_ms;
                v[i].refused = t->refused;
        }
        *out = v;
        return 0;
}

static void audit_event(struct daemon *d, enum audit_event ev, json_t *fields)
{
        struct err e = ERR_INIT;

        if (d->audit != NULL && fields != NULL && audit_append(d->audit, ev, fields, &e) < 0)
                log_error("audit log: %s", e.msg);
        json_decref(fields);
}

static int audit_config(struct daemon *d, const struct config *cfg, bool reload, struct err *err)
{
        audit_event(d, AUDIT_CONFIG_LOADED,
                    json_pack("{s:s, s:i, s:i, s:b, s:s}", "source", cfg->source,
                              "concurrency", (int)cfg->concurrency, "forges", (int)cfg->n_forges,
                              "reload", reload, "mode", tf_mode_name(cfg->terraform.mode)));
        if (cfg->signing.key_file != NULL) {
                _cleanup_(dsse_key_freep) struct dsse_key *k = NULL;
                int r = dsse_key_load_private(&k, cfg->signing.key_file, err);

                if (r < 0)
                        return r;
                audit_event(d, AUDIT_KEY_LOADED, json_pack("{s:s, s:s}", "key_file", cfg->signing.key_file,
                                                           "key_id", dsse_key_id(k)));
        }
        if (d->audit != NULL) {
                struct err e = ERR_INIT;

                if (audit_sync(d->audit, &e) < 0)
                        log_error("audit log: %s", e.msg);
        }
        return 0;
}

static bool same(const char *a, const char *b)
{
        return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void reload(struct daemon *d)
{
        const struct config *old = sched_config(d->sched);
        struct config *cfg = NULL;
        struct sched_forge *forges = NULL;
        struct err e = ERR_INIT;
        bool cfg_err;

        log_info("SIGHUP: reloading %s", d->o->config_path);
        if (load_config(&cfg, d->o->config_path, &e) < 0) {
                log_error("reload: %s; keeping the running configuration", e.msg);
                return;
        }
        if (!same(cfg->state_dir, old->state_dir) || !same(cfg->work_dir, old->work_dir) ||
            !same(cfg->audit_path, old->audit_path)) {
                log_error("reload: state_dir, work_dir and audit.path need a restart; keeping the "
                          "running configuration");
                config_free(cfg);
                return;
        }
        if (cfg->signing.key_file != NULL) {
                _cleanup_(dsse_key_freep) struct dsse_key *k = NULL;

                if (dsse_key_load_private(&k, cfg->signing.key_file, &e) < 0) {
                        log_error("reload: signing key: %s; keeping the running configuration", e.msg);
                        config_free(cfg);
                        return;
                }
        }
        if (make_forges(&forges, d, cfg, &cfg_err, &e) < 0) {
                log_error("reload: %s; keeping the running configuration", e.msg);
                config_free(cfg);
                return;
        }
        (void)audit_config(d, cfg, true, &e);
        if (sched_set_config(d->sched, cfg, forges, cfg->n_forges, &e) < 0)
                log_error("reload: %s", e.msg);
        else
                log_info("reload: configuration applied (concurrency %u, %zu forge(s)); running jobs "
                         "keep the one they started with", cfg->concurrency, cfg->n_forges);
        free(forges);
}

static void serve_status(struct daemon *d)
{
        json_t *doc = json_pack("{s:I, s:o}", "pid", (json_int_t)getpid(), "jobs",
                                sched_jobs_json(d->sched));

        if (doc != NULL)
                status_serve_one(d->listen_fd, doc);
        json_decref(doc);
}

static int block_signals(sigset_t *set, struct err *err)
{
        int e;

        sigemptyset(set);
        sigaddset(set, SIGTERM);
        sigaddset(set, SIGINT);
        sigaddset(set, SIGQUIT);
        sigaddset(set, SIGHUP);
        e = pthread_sigmask(SIG_BLOCK, set, NULL);
        if (e != 0)
                return err_set(err, e, "block signals");
        /* a forge connection closing under a write must not kill us */
        signal(SIGPIPE, SIG_IGN);
        return 0;
}

/* the state directory: created 0700, locked for this daemon */
static int take_state_dir(struct daemon *d, const struct config *cfg, struct err *err)
{
        _cleanup_free_ char *lock = xasprintf("%s/tfgate.lock", cfg->state_dir);
        int r;

        if ((r = mkdir_p(cfg->state_dir, 0700, err)) < 0)
                return r;
        d->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (d->lock_fd < 0)
                return err_set(err, errno, "open %s", lock);
        if (flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0)
                return err_set(err, errno == EWOULDBLOCK ? EBUSY : errno,
                               "%s: another tfgate run uses this state directory", cfg->state_dir);
        d->journal_dir = xasprintf("%s/running", cfg->state_dir);
        d->sock_path = status_socket_path(cfg->state_dir);
        return 0;
}

static bool http_ready(void *ctx)
{
        struct daemon *d = ctx;

        return sched_ready(d->sched);
}

#ifdef TFGATE_HAVE_GITHUB
static void hint_github(struct forge *f, void *arg)
{
        if (strcmp(f->ops->name, "github") == 0)
                github_forge_hint(f, arg);
}
#endif

/* a verified GitHub webhook: a hint for the GitHub forges (scan that
 * repository, or run that commit again) and the pollers look now; the
 * forge checks everything with the API, polling stays the source of jobs */
static int http_webhook(void *ctx, const char *event, const char *delivery, const char *body,
                        size_t len)
{
        struct daemon *d = ctx;
#ifdef TFGATE_HAVE_GITHUB
        struct github_hint hint;
        struct err e = ERR_INIT;

        if (github_webhook_parse(&hint, event, body, len, &e) < 0) {
                log_warn("webhook %s (%s): %s", event, delivery, e.msg);
                return 0;
        }
        if (hint.kind == GITHUB_HINT_NONE)
                return 0;
        log_info("webhook %s (%s) for %s: polling now", event, delivery, hint.repo);
        sched_each_forge(d->sched, hint_github, &hint);
#else
        (void)event;
        (void)body;
        (void)len;
        log_info("webhook %s (%s): polling now", event, delivery);
#endif
        sched_poll_now(d->sched);
        return 0;
}

static int start_http(struct daemon *d, struct err *err)
{
        int r = load_config(&d->http_cfg, d->o->config_path, err);

        if (r < 0)
                return r;
        d->http_hooks = (struct http_hooks){
                .ctx = d,
                .ready = http_ready,
                .webhook = http_webhook,
                .webhook_secret_file = d->http_cfg->http.webhook_secret_file,
        };
        r = http_server_start(&d->http, d->http_cfg, d->state, &d->http_hooks, err);
        if (r < 0)
                return err_wrap(err, "http endpoint");
        if (d->http != NULL)
                log_info("http endpoint on %s (port %u)", d->http_cfg->http.listen,
                         (unsigned)http_server_port(d->http));
        return 0;
}

static int start(struct daemon *d, struct config **cfgp, struct err *err)
{
        struct config *cfg = *cfgp;
        struct sched_forge *forges = NULL;
        struct sched_opts so = {
                .pipeline = d->o->pipeline ? d->o->pipeline : pipeline_run,
                .cancel_check_ms = d->o->cancel_check_ms, .backoff_base_ms = d->o->backoff_base_ms,
                .backoff_max_ms = d->o->backoff_max_ms, .queue_max = d->o->queue_max,
        };
        struct recovery_report rep;
        bool cfg_err;
        int r;

        if ((r = take_state_dir(d, cfg, err)) < 0)
                return DAEMON_EXIT_INFRA;
        if (cfg->audit_path != NULL && audit_open(&d->audit, cfg->audit_path, err) < 0) {
                err_wrap(err, "audit log");
                return DAEMON_EXIT_INFRA;
        }
        if (audit_config(d, cfg, false, err) < 0) {
                err_wrap(err, "signing key");
                return DAEMON_EXIT_CONFIG;
        }
        if (state_open(&d->state, cfg->state_dir, err) < 0)
                return DAEMON_EXIT_INFRA;
        /* the forges first: recovery reports interrupted jobs through them */
        if (make_forges(&forges, d, cfg, &cfg_err, err) < 0)
                return cfg_err ? DAEMON_EXIT_CONFIG : DAEMON_EXIT_INFRA;
        {
                _cleanup_free_ struct forge **fv = xcalloc(cfg->n_forges + 1, sizeof(*fv));

                for (size_t i = 0; i < cfg->n_forges; i++)
                        fv[i] = forges[i].forge;
                r = recovery_run(&rep, cfg, d->journal_dir, fv, cfg->n_forges, d->audit,
                                 d->o->recovery, err);
        }
        if (r < 0) {
                free_forges(forges, cfg->n_forges);
                err_wrap(err, "recovery");
                return DAEMON_EXIT_INFRA;
        }
        if (status_listen(&d->listen_fd, d->sock_path, err) < 0) {
                free_forges(forges, cfg->n_forges);
                return DAEMON_EXIT_INFRA;
        }
        so.audit = d->audit;
        so.state = d->state;
        so.journal_dir = d->journal_dir;
        if (sched_new(&d->sched, &so, err) < 0) {
                free_forges(forges, cfg->n_forges);
                return DAEMON_EXIT_INFRA;
        }
        r = sched_set_config(d->sched, TAKE_PTR(*cfgp), forges, cfg->n_forges, err);
        free(forges);
        if (r < 0)
                return DAEMON_EXIT_INFRA;
        return start_http(d, err) < 0 ? DAEMON_EXIT_INFRA : DAEMON_EXIT_OK;
}

/* read the pending signals; returns what they ask of the loop */
static void handle_signals(struct daemon *d, bool *stopping)
{
        struct signalfd_siginfo si;

        while (read(d->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                switch (si.ssi_signo) {
                case SIGTERM:
                case SIGINT:
                        log_info("%s: canceling running jobs and stopping", strsignal((int)si.ssi_signo));
                        sched_stop(d->sched, SCHED_STOP_CANCEL);
                        *stopping = true;
                        break;
                case SIGQUIT:
                        log_info("SIGQUIT: taking no more jobs; stopping when the running ones end");
                        sched_stop(d->sched, SCHED_STOP_DRAIN);
                        *stopping = true;
                        break;
                case SIGHUP:
                        if (*stopping)
                                log_info("SIGHUP while stopping: ignored");
                        else
                                reload(d);
                        break;
                default:
                        break;
                }
        }
}

static void loop(struct daemon *d)
{
        bool stopping = false;

        log_info("running: %u job(s) at once; status on %s", sched_config(d->sched)->concurrency,
                 d->sock_path);
        for (;;) {
                struct pollfd p[2] = { { .fd = d->sig_fd, .events = POLLIN },
                                       { .fd = d->listen_fd, .events = POLLIN } };
                struct sched_stats st;

                /* idle: no timer at all (every wake-up costs; signals and
                 * status requests wake us); a retired generation to free:
                 * once a second; stopping: notice the end sooner */
                int timeout = stopping ? 100 : sched_has_retired(d->sched) ? 1000 : -1;

                if (poll(p, 2, timeout) < 0 && errno != EINTR)
                        log_error("poll: %s", strerror(errno));
                if (p[0].revents & POLLIN)
                        handle_signals(d, &stopping);
                if (p[1].revents & POLLIN)
                        serve_status(d);
                sched_reap(d->sched);
                sched_get_stats(d->sched, &st);
                if (stopping && st.running == 0 && st.queued == 0)
                        break;
        }
}

static void finish(struct daemon *d)
{
        http_server_stop(d->http);
        config_free(d->http_cfg);
        if (d->sched != NULL) {
                int stuck = sched_wait(d->sched, d->o->poll_grace_ms ? d->o->poll_grace_ms : 10000);

                if (stuck == 0)
                        sched_free(d->sched);
                /* else: a thread is inside a forge's poll; the process exits
                 * with it rather than free what it uses */
        }
        if (d->listen_fd >= 0) {
                close(d->listen_fd);
                (void)unlink(d->sock_path);
        }
        state_close(d->state);
        if (d->audit != NULL)
                audit_close(d->audit);
        if (d->lock_fd >= 0)
                close(d->lock_fd);
        if (d->sig_fd >= 0)
                close(d->sig_fd);
        free(d->journal_dir);
        free(d->sock_path);
}

int daemon_run(const struct daemon_opts *opts, struct err *err)
{
        struct daemon d = { .o = opts, .sig_fd = -1, .lock_fd = -1, .listen_fd = -1 };
        struct config *cfg = NULL;
        sigset_t set;
        int rc;

        if (opts->config_path == NULL)
                return err_set(err, 0, "no configuration file (-c FILE)"), DAEMON_EXIT_CONFIG;
        d.types = opts->forge_types;
        d.n_types = opts->n_forge_types;
        if (d.types == NULL)
                d.types = daemon_builtin_forges(&d.n_types);
        if (block_signals(&set, err) < 0)
                return DAEMON_EXIT_INFRA;
        d.sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (d.sig_fd < 0) {
                err_set(err, errno, "signalfd");
                return DAEMON_EXIT_INFRA;
        }
        if (load_config(&cfg, opts->config_path, err) < 0) {
                close(d.sig_fd);
                return DAEMON_EXIT_CONFIG;
        }
        /* the more verbose level and JSON if either the command line or the
         * config asks for it */
        log_setup(cfg->log_level > log_get_level() ? cfg->log_level : log_get_level(),
                  cfg->log_format == LOGF_JSON ? LOGF_JSON : log_get_format());
        log_thread_own_exec_id(NULL);
        rc = start(&d, &cfg, err);
        config_free(cfg);
        if (rc == DAEMON_EXIT_OK)
                loop(&d);
        finish(&d);
        if (rc == DAEMON_EXIT_OK)
                log_info("stopped");
        return rc;
}
