/* scheduler.c - pollers, workers, per-job watchers; see scheduler.h.
 *
 * One mutex (s->mu) guards the job list, the counters and the
 * generations; one condition variable (s->cv) is broadcast on every change
 * a thread may wait for (a job queued or ended, capacity, stop, a new
 * generation).  Per job, wmu serialises the forge calls the adapter
 * contract says must not overlap (canceled() against start/finish). */
#include "scheduler.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "recovery.h"
#include "runner/fetch/url.h"
#include "runner/metrics/metrics.h"
#include "runner/redact/redact.h"
#include "runner/util/cleanup.h"
#include "runner/util/log.h"
#include "runner/util/randid.h"
#include "runner/util/xalloc.h"

#define TAIL_MAX (64u << 10)            /* filtered log tail kept for the state store */

struct gen {
        struct config *cfg;
        struct sched_forge *forges;
        size_t n_forges;
        pthread_t *pollers;
        bool *poller_made;
        unsigned pollers_live;
        unsigned refs;                  /* jobs (queued or running) of this generation */
        bool retired;
        unsigned id;
        struct gen *next;
};

enum sj_state { SJ_QUEUED = 0, SJ_RUNNING };

struct sjob {
        struct sched *s;
        struct gen *gen;
        size_t fi;                      /* index of its forge in gen */
        struct job *job;
        char exec_id[RANDID_HEX_LEN + 1];
        enum sj_state state;
        char step[32];
        uint64_t claimed_ms, started_ms, phase_ms;
        int cancel[2];
        atomic_bool cancel_sent;
        /* watcher */
        pthread_mutex_t wmu;
        pthread_cond_t wcv;
        bool watch_stop;
        /* filtered log tail */
        pthread_mutex_t tmu;
        char *tail;
        size_t tail_len;
        struct sjob *next;
};

struct sched {
        struct sched_opts o;
        pthread_mutex_t mu;
        pthread_cond_t cv;
        struct gen *gens;               /* all live generations, newest first */
        struct gen *cur;
        unsigned next_gen_id;
        struct sjob *jobs;              /* queued and running, in claim order */
        uint32_t running, queued, reserved, peak;
        uint32_t poll_waiters;          /* pollers waiting for room to poll */
        uint64_t finished;
        pthread_t *workers;
        size_t n_workers;
        unsigned workers_live;
        bool stopping;
        enum sched_stop_mode stop_mode;
        bool abandon_pollers;           /* sched_wait gave up on stuck pollers */
        uint64_t poke;                  /* sched_poll_now() count */
};

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* condition variables wait on CLOCK_MONOTONIC (see cond_init) */
static void cond_init(pthread_cond_t *cv)
{
        pthread_condattr_t a;

        pthread_condattr_init(&a);
        pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
        pthread_cond_init(cv, &a);
        pthread_condattr_destroy(&a);
}

static void wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t deadline_ms)
{
        struct timespec ts = { (time_t)(deadline_ms / 1000), (long)(deadline_ms % 1000) * 1000000L };

        pthread_cond_timedwait(cv, mu, &ts);
}

static const struct cfg_forge *cfg_forge_of(const struct sjob *sj)
{
        return &sj->gen->cfg->forges[sj->fi];
}

static struct forge *forge_of(const struct sjob *sj)
{
        return sj->gen->forges[sj->fi].forge;
}

static uint32_t queue_max(const struct sched *s)
{
        return s->o.queue_max ? s->o.queue_max : s->cur->cfg->concurrency;
}

/* running jobs of the same (forge name, project) */
static uint32_t project_running(const struct sched *s, const struct sjob *like)
{
        uint32_t n = 0;

        for (const struct sjob *j = s->jobs; j != NULL; j = j->next)
                if (j->state == SJ_RUNNING && strcmp(forge_of(j)->name, forge_of(like)->name) == 0 &&
                    strcmp(j->job->project, like->job->project) == 0)
                        n++;
        return n;
}

static bool project_has_room(const struct sched *s, const struct sjob *sj)
{
        return project_running(s, sj) < cfg_forge_of(sj)->per_project_limit;
}

static uint32_t concurrency(const struct sched *s)
{
        return s->cur->cfg->concurrency;
}

/* queued jobs a worker would start now */
static uint32_t queued_eligible(const struct sched *s)
{
        uint32_t n = 0;

        for (const struct sjob *j = s->jobs; j != NULL; j = j->next)
                if (j->state == SJ_QUEUED && project_has_room(s, j))
                        n++;
        return n;
}

/* May a poller ask its forge for a job?  Only for an idle worker, and only
 * while the queue could hold the job if its project is at its cap. */
static bool can_poll(const struct sched *s)
{
        uint32_t eligible = queued_eligible(s);
        uint32_t busy = s->running + eligible + s->reserved;
        uint32_t blocked = s->queued - eligible;

        return busy < concurrency(s) && blocked + s->reserved < queue_max(s);
}

static void set_queue_metric(const struct sched *s)
{
        metrics_set(M_QUEUE_DEPTH, NULL, (double)s->queued);
}

/* ---- one job ---- */

static void sjob_free(struct sjob *sj)
{
        if (sj->cancel[0] >= 0)
                close(sj->cancel[0]);
        if (sj->cancel[1] >= 0)
                close(sj->cancel[1]);
        pthread_mutex_destroy(&sj->wmu);
        pthread_cond_destroy(&sj->wcv);
        pthread_mutex_destroy(&sj->tmu);
        free(sj->tail);
        job_free(sj->job);
        free(sj);
}

static void cancel_job(struct sjob *sj, const char *why)
{
        if (atomic_exchange(&sj->cancel_sent, true))
                return;
        log_info("job %s (%s, execution %s): canceling: %s", sj->job->id, forge_of(sj)->name,
                 sj->exec_id, why);
        /* the pipe is new and non-blocking: one byte always fits */
        if (write(sj->cancel[1], "c", 1) != 1)
                log_error("job %s: cancel pipe: %s", sj->job->id, strerror(errno));
}

static bool cancel_requested(const struct sjob *sj)
{
        struct pollfd p = { .fd = sj->cancel[0], .events = POLLIN };

        return poll(&p, 1, 0) > 0;
}

static void *watcher_main(void *arg)
{
        struct sjob *sj = arg;
        uint64_t period = sj->s->o.cancel_check_ms ? sj->s->o.cancel_check_ms : 1000;
        struct forge *f = forge_of(sj);

        log_thread_own_exec_id(sj->exec_id);
        pthread_mutex_lock(&sj->wmu);
        while (!sj->watch_stop) {
                wait_until(&sj->wcv, &sj->wmu, now_ms() + period);
                if (sj->watch_stop)
                        break;
                /* under wmu: canceled() never overlaps start/finish/job_free */
                if (f->ops->canceled != NULL && f->ops->canceled(f, sj->job))
                        cancel_job(sj, "the forge canceled the job");
        }
        pthread_mutex_unlock(&sj->wmu);
        return NULL;
}

static int hook_log(void *arg, const void *buf, size_t len)
{
        struct sjob *sj = arg;
        struct forge *f = forge_of(sj);
        const char *labels[] = { f->name };
        struct err e = ERR_INIT;

        pthread_mutex_lock(&sj->tmu);
        if (len >= TAIL_MAX) {
                memcpy(sj->tail, (const char *)buf + len - TAIL_MAX, TAIL_MAX);
                sj->tail_len = TAIL_MAX;
        } else {
                if (sj->tail_len + len > TAIL_MAX) {
                        size_t drop = sj->tail_len + len - TAIL_MAX;

                        memmove(sj->tail, sj->tail + drop, sj->tail_len - drop);
                        sj->tail_len -= drop;
                }
                memcpy(sj->tail + sj->tail_len, buf, len);
                sj->tail_len += len;
        }
        pthread_mutex_unlock(&sj->tmu);
        /* a forge that cannot take the log does not stop the job: the
         * verdict does not depend on it and finish() reports the end */
        if (f->ops->log(f, sj->job, buf, len, &e) < 0) {
                log_warn("job %s: forge log: %s", sj->job->id, e.msg);
                return 0;
        }
        metrics_add(M_LOG_BYTES_SHIPPED_TOTAL, labels, (double)len);
        return 0;
}

static char *hook_section(void *arg, const char *name, bool begin)
{
        struct sjob *sj = arg;
        struct forge *f = forge_of(sj);

        return f->ops->section ? f->ops->section(f, sj->job, name, begin) : NULL;
}

static void hook_phase(void *arg, const char *name, bool begin, const char *detail)
{
        struct sjob *sj = arg;
        struct sched *s = sj->s;
        uint64_t t = now_ms();

        pthread_mutex_lock(&s->mu);
        if (begin) {
                if (strcmp(sj->step, name) != 0)
                        sj->phase_ms = t;
                snprintf(sj->step, sizeof(sj->step), "%s", name);
        }
        pthread_mutex_unlock(&s->mu);
        if (!begin) {
                const char *labels[] = { name };

                metrics_observe(M_STEP_DURATION_SECONDS, labels, (double)(t - sj->phase_ms) / 1000.0);
        }
}

struct outcome_map {
        enum job_outcome outcome;
        const char *summary;            /* generic: what goes to the forge */
        const char *verdict;            /* state store */
        const char *failure_reason;     /* metrics label */
};

static const struct outcome_map outcome_table[] = {
        [PIPELINE_PASSED] = { JOB_PASSED, "tfgate: the Terraform check passed", "PASSED", "none" },
        [PIPELINE_FAILED] = { JOB_FAILED, "tfgate: the Terraform check failed", "FAILED", "script_failure" },
        [PIPELINE_ERROR] = { JOB_SYSTEM_FAILURE, "tfgate: the runner could not complete the check",
                             "ERROR", "runner_system_failure" },
        [PIPELINE_TIMEOUT] = { JOB_TIMEOUT, "tfgate: the job ran out of time", "FAILED",
                               "job_execution_timeout" },
        [PIPELINE_CANCELED] = { JOB_CANCELED, "tfgate: the job was canceled", "CANCELED", "canceled" },
};

static void audit_claimed(struct sched *s, struct sjob *sj)
{
        struct forge *f = forge_of(sj);
        json_t *fields;
        struct err e = ERR_INIT;

        if (s->o.audit == NULL)
                return;
        fields = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "exec_id", sj->exec_id,
                           "forge", f->name, "forge_type", f->ops->name, "job", sj->job->id,
                           "project", sj->job->project, "repository", sj->job->repo_url,
                           "commit", sj->job->sha, "ref", sj->job->ref ? sj->job->ref : "");
        if (fields == NULL || audit_append(s->o.audit, AUDIT_JOB_CLAIMED, fields, &e) < 0)
                log_error("audit log: %s", fields ? e.msg : "job_claimed: invalid field");
        json_decref(fields);
}

static int build_registry(struct redact_registry **out, const struct job *j, struct err *err)
{
        _cleanup_(redact_registry_freep) struct redact_registry *reg = redact_registry_new();
        int r;

        for (size_t i = 0; i < j->n_vars; i++) {
                if (!j->vars[i].secret || j->vars[i].value == NULL)
                        continue;
                r = redact_registry_add_secret(reg, j->vars[i].key, j->vars[i].value,
                                               strlen(j->vars[i].value), err);
                if (r < 0)
                        return r;
        }
        if (j->clone_password != NULL && j->clone_password[0] != '\0' &&
            (r = redact_registry_add_secret(reg, "clone password", j->clone_password,
                                            strlen(j->clone_password), err)) < 0)
                return r;
        if ((r = redact_registry_add_patterns(reg, err)) < 0 || (r = redact_registry_freeze(reg, err)) < 0)
                return r;
        *out = TAKE_PTR(reg);
        return 0;
}

static const char *strip_tf_var(const char *name)
{
        return strncmp(name, "TF_VAR_", 7) == 0 ? name + 7 : name;
}

char **sched_tf_vars(const struct job *j, char *const *allow)
{
        char **v = xcalloc(j->n_vars + 1, sizeof(char *));
        size_t n = 0;

        for (size_t i = 0; allow != NULL && allow[i] != NULL; i++) {
                const char *want = strip_tf_var(allow[i]);
                const struct job_variable *pick = NULL;

                for (size_t k = 0; k < j->n_vars; k++) {
                        const struct job_variable *jv = &j->vars[k];

                        /* file variables hold a file's content, not a value */
                        if (jv->file || jv->value == NULL || strcmp(strip_tf_var(jv->key), want) != 0)
                                continue;
                        if (pick == NULL || strncmp(jv->key, "TF_VAR_", 7) == 0)
                                pick = jv;
                }
                if (pick == NULL)
                        continue;
                /* the allowlist may name a variable twice (NAME, TF_VAR_NAME) */
                bool dup = false;
                for (size_t k = 0; k < n; k++)
                        dup |= strncmp(v[k], want, strlen(want)) == 0 && v[k][strlen(want)] == '=';
                if (!dup && n < j->n_vars)
                        v[n++] = xasprintf("%s=%s", want, pick->value);
        }
        v[n] = NULL;
        return v;
}

static uint64_t job_timeout(const struct sjob *sj)
{
        uint64_t mine = sj->gen->cfg->sandbox.wall_timeout_ms, theirs = sj->job->timeout_ms;

        /* the forge may shorten the runner's limit, never lengthen it */
        if (theirs == 0)
                return mine;
        return mine != 0 && mine < theirs ? mine : theirs;
}

static const char *forge_url_of(const struct cfg_forge *cf)
{
        return cf->type == FORGE_GITHUB ? cf->clone_url : cf->url;
}

/* a journal text field (for logs only): cut, if it must be, at a UTF-8
 * sequence boundary (a cut sequence would make the entry unwritable), and
 * control characters replaced (recovery refuses them) */
static void copy_text(char *dst, size_t n, const char *src)
{
        size_t len = strlen(src);

        if (len >= n) {
                len = n - 1;
                while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
                        len--;
        }
        for (size_t i = 0; i < len; i++)
                dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
        dst[len] = '\0';
}

static void journal(struct sched *s, struct sjob *sj, bool add)
{
        struct err e = ERR_INIT;
        struct recovery_entry ent = { .pid = (long)getpid() };
        int r;

        if (s->o.journal_dir == NULL)
                return;
        if (add) {
                snprintf(ent.exec_id, sizeof(ent.exec_id), "%s", sj->exec_id);
                snprintf(ent.forge, sizeof(ent.forge), "%s", forge_of(sj)->name);
                copy_text(ent.job_id, sizeof(ent.job_id), sj->job->id);
                copy_text(ent.project, sizeof(ent.project), sj->job->project);
                snprintf(ent.commit, sizeof(ent.commit), "%s", sj->job->sha);
                /* what the adapter needs to report the job should we die */
                if (forge_of(sj)->ops->job_handle != NULL)
                        ent.handle = forge_of(sj)->ops->job_handle(forge_of(sj), sj->job);
                r = recovery_journal_add(s->o.journal_dir, &ent, &e);
                if (ent.handle != NULL) {
                        explicit_bzero(ent.handle, strlen(ent.handle));
                        free(ent.handle);
                }
        } else {
                r = recovery_journal_remove(s->o.journal_dir, sj->exec_id, &e);
        }
        if (r < 0)
                log_error("journal: %s", e.msg);
}

static void store_state(struct sched *s, struct sjob *sj, const struct pipeline_outcome *o,
                        const char *verdict)
{
        struct state_record rec = {
                .exec_id = sj->exec_id, .forge = forge_of(sj)->name, .project = sj->job->project,
                .ref = sj->job->ref ? sj->job->ref : "", .commit = sj->job->sha, .verdict = verdict,
                .result_json = o ? o->result_json : NULL, .result_len = o ? o->result_len : 0,
                .envelope = o ? o->envelope : NULL, .envelope_len = o ? o->envelope_len : 0,
                .log_tail = sj->tail, .log_tail_len = sj->tail_len, .finished = time(NULL),
        };
        struct err e = ERR_INIT;

        if (s->o.state != NULL && state_record(s->o.state, &rec, &e) < 0)
                log_error("state: %s", e.msg);
}

/* run the pipeline unless the job was canceled before it began */
static int run_pipeline(struct sjob *sj, struct pipeline_outcome *out, const struct redact_registry *reg,
                        char **tf_vars, struct err *err)
{
        struct sched *s = sj->s;
        const struct config *cfg = sj->gen->cfg;
        const struct cfg_forge *cf = cfg_forge_of(sj);
        struct pipeline_job pj = {
                .forge = forge_of(sj)->ops->name, .project = sj->job->project,
                .url = sj->job->repo_url, .forge_url = forge_url_of(cf),
                /* config allows an http:// forge only on loopback (tests);
                 * its repositories are then on the same loopback host */
                .url_flags = strncmp(forge_url_of(cf), "http://", 7) == 0 ? URL_ALLOW_HTTP_LOOPBACK : 0,
                .sha = sj->job->sha, .ref = sj->job->ref ? sj->job->ref : "",
                .refspecs = (const char *const *)sj->job->refspecs, .n_refspecs = sj->job->n_refspecs,
                .username = sj->job->clone_username, .password = sj->job->clone_password,
                .tf_vars = (const char *const *)tf_vars, .secrets = reg, .mode = cfg->terraform.mode,
                .timeout_ms = job_timeout(sj), .cancel_fd = sj->cancel[0],
        };
        struct pipeline_hooks hooks = {
                .log = hook_log, .log_arg = sj, .log_file_fd = -1,
                .phase = hook_phase, .phase_arg = sj,
                .section = hook_section, .section_arg = sj,
                .audit = s->o.audit,
        };
        pthread_t watcher;
        bool watching;
        int r;

        memset(out, 0, sizeof(*out));
        if (cancel_requested(sj)) {
                out->status = PIPELINE_CANCELED;
                snprintf(out->reason, sizeof(out->reason), "canceled before it began");
                return 0;
        }
        snprintf(pj.exec_id, sizeof(pj.exec_id), "%s", sj->exec_id);
        watching = pthread_create(&watcher, NULL, watcher_main, sj) == 0;
        if (!watching)
                log_error("job %s: no cancel watcher (thread): the forge's cancel is not seen",
                          sj->job->id);
        r = s->o.pipeline(out, cfg, &pj, &hooks, NULL, err);
        /* the pipeline's log_set_exec_id calls touched only this thread's id */
        log_set_exec_id(sj->exec_id);
        if (watching) {
                pthread_mutex_lock(&sj->wmu);
                sj->watch_stop = true;
                pthread_cond_signal(&sj->wcv);
                pthread_mutex_unlock(&sj->wmu);
                pthread_join(watcher, NULL);
        }
        /* the pipeline may settle a cancel it saw late as an error */
        if (r == 0 && out->status == PIPELINE_ERROR && atomic_load(&sj->cancel_sent))
                out->status = PIPELINE_CANCELED;
        return r;
}

static void run_job(struct sjob *sj)
{
        struct sched *s = sj->s;
        struct forge *f = forge_of(sj);
        const char *flabel[] = { f->name };
        _cleanup_(redact_registry_freep) struct redact_registry *reg = NULL;
        _cleanup_strv_free_ char **tf_vars = NULL;
        struct pipeline_outcome out;
        bool have_out = false;
        const struct outcome_map *m = &outcome_table[PIPELINE_ERROR];
        struct job_report rep = { 0 };
        struct err e = ERR_INIT;
        int r;

        log_thread_own_exec_id(sj->exec_id);
        log_info("job %s of %s (%s) at %s: running", sj->job->id, sj->job->project, f->name,
                 sj->job->sha);
        metrics_add(M_JOBS_RUNNING, flabel, 1);
        journal(s, sj, true);
        audit_claimed(s, sj);
        /* secrets first: nothing of the job may reach a log unmasked */
        r = build_registry(&reg, sj->job, &e);
        if (r < 0)
                log_error("job %s: secrets: %s", sj->job->id, e.msg);
        tf_vars = sched_tf_vars(sj->job, sj->gen->cfg->terraform.variables);
        if (r == 0) {
                pthread_mutex_lock(&sj->wmu);
                r = f->ops->start(f, sj->job, &e);
                pthread_mutex_unlock(&sj->wmu);
                if (r < 0)
                        log_error("job %s: forge start: %s", sj->job->id, e.msg);
        }
        if (r == 0) {
                r = run_pipeline(sj, &out, reg, tf_vars, &e);
                have_out = true;
                if (r < 0)
                        log_error("job %s: %s", sj->job->id, e.msg);
                else if (out.detail[0] != '\0')
                        log_info("job %s: %s", sj->job->id, out.detail);
        }
        if (r == 0 && (unsigned)out.status < ARRAY_SIZE(outcome_table))
                m = &outcome_table[out.status];
        rep.outcome = m->outcome;
        rep.summary = m->summary;
        rep.exit_code = rep.outcome == JOB_PASSED ? 0 : (r == 0 && out.failed_exit_code ? out.failed_exit_code : 1);
        if (r == 0) {
                rep.result = out.result;
                rep.result_json = out.result_json;
                rep.result_len = out.result_len;
                rep.envelope = out.envelope;
                rep.envelope_len = out.envelope_len;
        }
        pthread_mutex_lock(&sj->tmu);
        rep.log_tail = sj->tail;
        rep.log_tail_len = sj->tail_len;
        pthread_mutex_unlock(&sj->tmu);
        pthread_mutex_lock(&sj->wmu);
        if (f->ops->finish(f, sj->job, &rep, &e) < 0)
                log_error("job %s: forge finish: %s", sj->job->id, e.msg);
        pthread_mutex_unlock(&sj->wmu);
        log_info("job %s: %s (%s)", sj->job->id, job_outcome_name(rep.outcome),
                 r == 0 && out.reason[0] ? out.reason : m->summary);
        store_state(s, sj, r == 0 ? &out : NULL, m->verdict);
        {
                const char *labels[] = { f->name, job_outcome_name(rep.outcome), m->failure_reason };

                metrics_add(M_JOBS_TOTAL, labels, 1);
        }
        metrics_add(M_JOBS_RUNNING, flabel, -1);
        if (s->o.audit != NULL && audit_sync(s->o.audit, &e) < 0)
                log_error("audit log: %s", e.msg);
        journal(s, sj, false);
        if (have_out)
                pipeline_outcome_free(&out);
        log_thread_own_exec_id(NULL);
}

/* ---- workers ---- */

static struct sjob *pick(struct sched *s)
{
        if (s->cur == NULL || s->running >= concurrency(s))
                return NULL;
        for (struct sjob *j = s->jobs; j != NULL; j = j->next)
                if (j->state == SJ_QUEUED && project_has_room(s, j))
                        return j;
        return NULL;
}

static void unlink_job(struct sched *s, struct sjob *sj)
{
        for (struct sjob **p = &s->jobs; *p != NULL; p = &(*p)->next) {
                if (*p == sj) {
                        *p = sj->next;
                        return;
                }
        }
}

static unsigned pollers_live(const struct sched *s)
{
        unsigned n = 0;

        for (const struct gen *g = s->gens; g != NULL; g = g->next)
                n += g->pollers_live;
        return n;
}

static void *worker_main(void *arg)
{
        struct sched *s = arg;

        log_thread_own_exec_id(NULL);
        pthread_mutex_lock(&s->mu);
        for (;;) {
                struct sjob *sj = pick(s);

                if (sj != NULL) {
                        sj->state = SJ_RUNNING;
                        sj->started_ms = now_ms();
                        snprintf(sj->step, sizeof(sj->step), "start");
                        s->queued--;
                        s->running++;
                        if (s->running > s->peak)
                                s->peak = s->running;
                        set_queue_metric(s);
                        if (s->stopping && s->stop_mode == SCHED_STOP_CANCEL)
                                cancel_job(sj, "the runner is shutting down");
                        pthread_cond_broadcast(&s->cv);
                        pthread_mutex_unlock(&s->mu);
                        run_job(sj);
                        pthread_mutex_lock(&s->mu);
                        unlink_job(s, sj);
                        s->running--;
                        s->finished++;
                        sj->gen->refs--;
                        pthread_cond_broadcast(&s->cv);
                        pthread_mutex_unlock(&s->mu);
                        sjob_free(sj);
                        pthread_mutex_lock(&s->mu);
                        continue;
                }
                if (s->stopping && s->queued == 0 && (pollers_live(s) == 0 || s->abandon_pollers))
                        break;
                pthread_cond_wait(&s->cv, &s->mu);
        }
        s->workers_live--;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        return NULL;
}

/* ---- pollers ---- */

struct poller_arg {
        struct sched *s;
        struct gen *g;
        size_t fi;
};

static uint64_t jitter(uint64_t d)
{
        uint32_t r = 0;

        if (d < 2 || random_bytes(&r, sizeof(r), NULL) < 0)
                return d;
        /* between half and all of d: pollers that failed together spread out */
        return d / 2 + (uint64_t)r % (d - d / 2 + 1);
}

static void enqueue(struct sched *s, struct gen *g, size_t fi, struct job *j)
{
        struct sjob *sj = xcalloc(1, sizeof(*sj));
        struct sjob **tail;
        struct err e = ERR_INIT;

        sj->s = s;
        sj->gen = g;
        sj->fi = fi;
        sj->job = j;
        sj->cancel[0] = sj->cancel[1] = -1;
        sj->tail = xmalloc(TAIL_MAX);
        pthread_mutex_init(&sj->wmu, NULL);
        cond_init(&sj->wcv);
        pthread_mutex_init(&sj->tmu, NULL);
        snprintf(sj->step, sizeof(sj->step), "queued");
        sj->claimed_ms = now_ms();
        if (randid_new(sj->exec_id, &e) < 0 || pipe2(sj->cancel, O_CLOEXEC | O_NONBLOCK) < 0) {
                /* cannot happen in practice; the job still gets reported */
                log_error("job %s: %s", j->id, e.msg[0] ? e.msg : "pipe failed");
                if (sj->exec_id[0] == '\0')
                        snprintf(sj->exec_id, sizeof(sj->exec_id), "%032x", 0);
        }
        g->refs++;
        s->queued++;
        for (tail = &s->jobs; *tail != NULL; tail = &(*tail)->next)
                ;
        *tail = sj;
        if (s->stopping && s->stop_mode == SCHED_STOP_CANCEL)
                cancel_job(sj, "the runner is shutting down");
        set_queue_metric(s);
        pthread_cond_broadcast(&s->cv);
}

static void *poller_main(void *arg)
{
        struct poller_arg pa = *(struct poller_arg *)arg;
        struct sched *s = pa.s;
        struct gen *g = pa.g;
        struct sched_forge *sf = &g->forges[pa.fi];
        const struct cfg_forge *cf = &g->cfg->forges[pa.fi];
        const char *labels[] = { sf->forge->name };
        uint64_t base = s->o.backoff_base_ms ? s->o.backoff_base_ms : 1000;
        uint64_t cap = s->o.backoff_max_ms ? s->o.backoff_max_ms : 60000;
        uint64_t next = 0;
        uint64_t seen_poke;
        unsigned failures = 0;

        free(arg);
        log_thread_own_exec_id(NULL);
        pthread_mutex_lock(&s->mu);
        seen_poke = s->poke;
        while (!s->stopping && !g->retired) {
                struct job *j = NULL;
                struct err e = ERR_INIT;
                uint64_t delay;
                int r;

                if (s->poke != seen_poke) {
                        seen_poke = s->poke;
                        if (failures == 0)
                                next = 0;
                }
                if (now_ms() < next) {
                        wait_until(&s->cv, &s->mu, next);
                        continue;
                }
                if (!can_poll(s)) {
                        s->poll_waiters++;
                        pthread_cond_wait(&s->cv, &s->mu);
                        s->poll_waiters--;
                        continue;
                }
                s->reserved++;
                pthread_mutex_unlock(&s->mu);
                r = sf->forge->ops->poll(sf->forge, &j, &e);
                delay = cf->poll_interval_ms;
                if (r == 0 || r == 1) {
                        failures = 0;
                        if (sf->poll_delay_ms != NULL) {
                                uint64_t want = sf->poll_delay_ms(sf->forge);

                                if (want > delay)
                                        delay = want;
                        }
                } else if (sf->refused != 0 && r == sf->refused) {
                        log_warn("forge %s: a job was refused: %s", sf->forge->name, e.msg);
                        delay = 0;
                } else {
                        uint64_t d = cap;

                        if (failures < 32 && (base << failures) < cap)
                                d = base << failures;
                        failures++;
                        delay = jitter(d);
                        metrics_add(M_POLL_ERRORS_TOTAL, labels, 1);
                        log_warn("forge %s: poll: %s (retrying in %llu ms)", sf->forge->name, e.msg,
                                 (unsigned long long)delay);
                }
                pthread_mutex_lock(&s->mu);
                s->reserved--;
                sf->answered = failures == 0;
                if (r == 0) {
                        /* the forge handed it to us: it is ours to report, even when stopping */
                        log_info("forge %s: job %s of %s claimed", sf->forge->name, j->id, j->project);
                        enqueue(s, g, pa.fi, j);
                        delay = 0;
                } else if (s->poll_waiters > 0 || s->stopping) {
                        /* the poll's slot is free again; only pollers
                         * waiting for room and a stop care.  No broadcast
                         * otherwise: an idle daemon's workers sleep through
                         * every empty poll */
                        pthread_cond_broadcast(&s->cv);
                }
                if (delay == UINT64_MAX) {
                        log_error("forge %s: the forge stopped polling (see above); no more jobs from it",
                                  sf->forge->name);
                        break;
                }
                next = now_ms() + delay;
        }
        g->pollers_live--;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        return NULL;
}

bool sched_ready(struct sched *s)
{
        bool ready;

        pthread_mutex_lock(&s->mu);
        ready = s->cur != NULL && !s->stopping;
        for (size_t i = 0; ready && i < s->cur->n_forges; i++)
                ready = s->cur->forges[i].answered;
        pthread_mutex_unlock(&s->mu);
        return ready;
}

void sched_poll_now(struct sched *s)
{
        pthread_mutex_lock(&s->mu);
        s->poke++;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
}

void sched_each_forge(struct sched *s, void (*fn)(struct forge *f, void *arg), void *arg)
{
        pthread_mutex_lock(&s->mu);
        for (size_t i = 0; s->cur != NULL && i < s->cur->n_forges; i++)
                if (s->cur->forges[i].forge != NULL)
                        fn(s->cur->forges[i].forge, arg);
        pthread_mutex_unlock(&s->mu);
}

/* ---- generations ---- */

static void gen_free(struct gen *g, bool free_forges)
{
        if (free_forges) {
                for (size_t i = 0; i < g->n_forges; i++)
                        if (g->forges[i].forge != NULL)
                                g->forges[i].forge->ops->free(g->forges[i].forge);
        }
        free(g->forges);
        free(g->pollers);
        free(g->poller_made);
        config_free(g->cfg);
        free(g);
}

static void join_pollers(struct gen *g)
{
        for (size_t i = 0; i < g->n_forges; i++)
                if (g->poller_made[i]) {
                        pthread_join(g->pollers[i], NULL);
                        g->poller_made[i] = false;
                }
}

void sched_reap(struct sched *s)
{
        pthread_mutex_lock(&s->mu);
        for (struct gen **p = &s->gens; *p != NULL;) {
                struct gen *g = *p;

                if (g->retired && g->refs == 0 && g->pollers_live == 0) {
                        *p = g->next;
                        pthread_mutex_unlock(&s->mu);
                        join_pollers(g);
                        log_debug("configuration generation %u released", g->id);
                        gen_free(g, true);
                        pthread_mutex_lock(&s->mu);
                        p = &s->gens;
                        continue;
                }
                p = &g->next;
        }
        pthread_mutex_unlock(&s->mu);
}

bool sched_has_retired(struct sched *s)
{
        bool any = false;

        pthread_mutex_lock(&s->mu);
        for (const struct gen *g = s->gens; g != NULL && !any; g = g->next)
                any = g->retired;
        pthread_mutex_unlock(&s->mu);
        return any;
}

static int spawn_workers(struct sched *s, uint32_t want, struct err *err)
{
        if (want <= s->n_workers)
                return 0;
        s->workers = xreallocarray(s->workers, want, sizeof(*s->workers));
        while (s->n_workers < want) {
                int e = pthread_create(&s->workers[s->n_workers], NULL, worker_main, s);

                if (e != 0)
                        return err_set(err, e, "scheduler: worker thread");
                pthread_mutex_lock(&s->mu);
                s->workers_live++;
                pthread_mutex_unlock(&s->mu);
                s->n_workers++;
        }
        return 0;
}

int sched_set_config(struct sched *s, struct config *cfg, struct sched_forge *forges, size_t n,
                     struct err *err)
{
        struct gen *g = xcalloc(1, sizeof(*g));
        int r;

        g->cfg = cfg;
        g->forges = xcalloc(n ? n : 1, sizeof(*g->forges));
        if (n)
                memcpy(g->forges, forges, n * sizeof(*forges));
        g->n_forges = n;
        g->pollers = xcalloc(n ? n : 1, sizeof(*g->pollers));
        g->poller_made = xcalloc(n ? n : 1, sizeof(*g->poller_made));
        if (n != cfg->n_forges) {
                gen_free(g, true);
                return err_set(err, 0, "scheduler: %zu forges for a config with %zu", n, cfg->n_forges);
        }
        pthread_mutex_lock(&s->mu);
        g->id = ++s->next_gen_id;
        if (s->cur != NULL)
                s->cur->retired = true;
        g->next = s->gens;
        s->gens = g;
        s->cur = g;
        for (size_t i = 0; i < n && !s->stopping; i++) {
                struct poller_arg *pa = xmalloc(sizeof(*pa));

                *pa = (struct poller_arg){ s, g, i };
                if (pthread_create(&g->pollers[i], NULL, poller_main, pa) != 0) {
                        free(pa);
                        log_error("forge %s: no poller thread; its jobs are not taken",
                                  forges[i].forge->name);
                        continue;
                }
                g->poller_made[i] = true;
                g->pollers_live++;
        }
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        /* a pool as large as the largest concurrency yet: workers beyond
         * the current one find nothing to pick */
        if ((r = spawn_workers(s, cfg->concurrency, err)) < 0)
                log_error("scheduler: %s; running with %zu workers", err ? err->msg : "", s->n_workers);
        return 0;
}

int sched_new(struct sched **out, const struct sched_opts *opts, struct err *err)
{
        struct sched *s;

        if (opts->pipeline == NULL)
                return err_set(err, 0, "scheduler: no pipeline function");
        s = xcalloc(1, sizeof(*s));
        s->o = *opts;
        pthread_mutex_init(&s->mu, NULL);
        cond_init(&s->cv);
        *out = s;
        return 0;
}

void sched_stop(struct sched *s, enum sched_stop_mode mode)
{
        pthread_mutex_lock(&s->mu);
        if (!s->stopping || mode == SCHED_STOP_CANCEL)
                s->stop_mode = mode;
        s->stopping = true;
        if (s->stop_mode == SCHED_STOP_CANCEL)
                for (struct sjob *j = s->jobs; j != NULL; j = j->next)
                        cancel_job(j, "the runner is shutting down");
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
}

int sched_wait(struct sched *s, uint64_t grace_ms)
{
        uint64_t deadline = now_ms() + grace_ms;
        int stuck;

        pthread_mutex_lock(&s->mu);
        /* jobs first: workers end once nothing is queued and no poller
         * can still bring a job */
        while (pollers_live(s) > 0 && now_ms() < deadline)
                wait_until(&s->cv, &s->mu, deadline);
        stuck = (int)pollers_live(s);
        if (stuck > 0) {
                log_warn("%d forge poll(s) still in progress after %llu ms; not waiting for them", stuck,
                         (unsigned long long)grace_ms);
                s->abandon_pollers = true;
                pthread_cond_broadcast(&s->cv);
        }
        pthread_mutex_unlock(&s->mu);
        for (size_t i = 0; i < s->n_workers; i++)
                pthread_join(s->workers[i], NULL);
        s->n_workers = 0;
        return stuck;
}

void sched_free(struct sched *s)
{
        if (s == NULL)
                return;
        if (s->n_workers > 0) {
                sched_stop(s, SCHED_STOP_CANCEL);
                sched_wait(s, 0);
        }
        while (s->gens != NULL) {
                struct gen *g = s->gens;
                bool done = g->pollers_live == 0;

                s->gens = g->next;
                if (done)
                        join_pollers(g);
                else
                        continue;       /* a poller still uses it: the process is exiting */
                gen_free(g, true);
        }
        free(s->workers);
        if (!s->abandon_pollers) {
                pthread_mutex_destroy(&s->mu);
                pthread_cond_destroy(&s->cv);
                free(s);
        }
}

void sched_get_stats(struct sched *s, struct sched_stats *out)
{
        memset(out, 0, sizeof(*out));
        pthread_mutex_lock(&s->mu);
        out->running = s->running;
        out->queued = s->queued;
        out->peak_running = s->peak;
        out->finished = s->finished;
        for (const struct gen *g = s->gens; g != NULL; g = g->next)
                out->generations++;
        out->concurrency = s->cur ? s->cur->cfg->concurrency : 0;
        pthread_mutex_unlock(&s->mu);
}

json_t *sched_jobs_json(struct sched *s)
{
        json_t *a = json_array();
        uint64_t t = now_ms();

        pthread_mutex_lock(&s->mu);
        for (const struct sjob *j = s->jobs; j != NULL; j = j->next) {
                uint64_t since = j->state == SJ_RUNNING ? j->started_ms : j->claimed_ms;
                json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "id", j->job->id,
                                      "exec_id", j->exec_id, "forge", forge_of(j)->name,
                                      "project", j->job->project, "step", j->step,
                                      "elapsed", (json_int_t)((t - since) / 1000));

                if (o != NULL)
                        json_array_append_new(a, o);
        }
        pthread_mutex_unlock(&s->mu);
        return a;
}

const struct config *sched_config(struct sched *s)
{
        return s->cur ? s->cur->cfg : NULL;
}
