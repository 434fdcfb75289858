/* fake_forge.c - see fake_forge.h.  Tests only. */
#include "fake_forge.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

#define FAKE_MAX_JOBS 256
#define FAKE_MAX_STATES 8

struct fake_queued {
        char id[64];
        char project[128];
        struct job_variable *vars;
        size_t n_vars;
};

struct fake_state {
        char name[64];
        pthread_mutex_t mu;
        pthread_cond_t cv;
        struct fake_queued queue[FAKE_MAX_JOBS];
        size_t q_head, q_tail;
        struct fake_job_record rec[FAKE_MAX_JOBS];
        bool in_canceled[FAKE_MAX_JOBS];
        size_t n_rec;
        int poll_errors;
        uint64_t poll_delay_ms;
        uint64_t polls, polls_failed;
        int violations;
        int live;
        void (*on_poll)(void *arg);
        void *on_poll_arg;
};

struct fake_forge {
        struct forge base;
        struct fake_state *st;
};

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct fake_state *registry[FAKE_MAX_STATES];

uint64_t fake_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct fake_state *fake_state_new(const char *name)
{
        struct fake_state *s = xcalloc(1, sizeof(*s));

        snprintf(s->name, sizeof(s->name), "%s", name);
        pthread_mutex_init(&s->mu, NULL);
        pthread_cond_init(&s->cv, NULL);
        pthread_mutex_lock(&registry_mu);
        for (size_t i = 0; i < FAKE_MAX_STATES; i++) {
                if (registry[i] == NULL) {
                        registry[i] = s;
                        break;
                }
        }
        pthread_mutex_unlock(&registry_mu);
        return s;
}

static void free_vars(struct job_variable *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].key);
                free(v[i].value);
        }
        free(v);
}

void fake_state_free(struct fake_state *s)
{
        if (s == NULL)
                return;
        pthread_mutex_lock(&registry_mu);
        for (size_t i = 0; i < FAKE_MAX_STATES; i++)
                if (registry[i] == s)
                        registry[i] = NULL;
        pthread_mutex_unlock(&registry_mu);
        for (size_t i = s->q_head; i < s->q_tail; i++)
                free_vars(s->queue[i].vars, s->queue[i].n_vars);
        for (size_t i = 0; i < s->n_rec; i++)
                free(s->rec[i].log);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        free(s);
}

void fake_state_unregister_all(void)
{
        pthread_mutex_lock(&registry_mu);
        memset(registry, 0, sizeof(registry));
        pthread_mutex_unlock(&registry_mu);
}

void fake_queue(struct fake_state *s, const char *id, const char *project,
                const struct job_variable *vars, size_t n_vars)
{
        struct fake_queued *q;

        pthread_mutex_lock(&s->mu);
        if (s->q_tail == FAKE_MAX_JOBS) {
                pthread_mutex_unlock(&s->mu);
                abort();
        }
        q = &s->queue[s->q_tail++];
        snprintf(q->id, sizeof(q->id), "%s", id);
        snprintf(q->project, sizeof(q->project), "%s", project);
        q->vars = n_vars ? xcalloc(n_vars, sizeof(*q->vars)) : NULL;
        q->n_vars = n_vars;
        for (size_t i = 0; i < n_vars; i++) {
                q->vars[i].key = xstrdup(vars[i].key);
                q->vars[i].value = xstrdup(vars[i].value);
                q->vars[i].secret = vars[i].secret;
                q->vars[i].file = vars[i].file;
        }
        pthread_mutex_unlock(&s->mu);
}

static struct fake_job_record *find(struct fake_state *s, const char *id)
{
        for (size_t i = 0; i < s->n_rec; i++)
                if (strcmp(s->rec[i].id, id) == 0)
                        return &s->rec[i];
        return NULL;
}

void fake_cancel(struct fake_state *s, const char *id)
{
        struct fake_job_record *r;

        pthread_mutex_lock(&s->mu);
        r = find(s, id);
        if (r != NULL) {
                r->cancel = true;
                r->cancel_set_ms = fake_now_ms();
        }
        pthread_mutex_unlock(&s->mu);
}

void fake_poll_errors(struct fake_state *s, int n)
{
        pthread_mutex_lock(&s->mu);
        s->poll_errors = n;
        pthread_mutex_unlock(&s->mu);
}

void fake_on_poll(struct fake_state *s, void (*fn)(void *arg), void *arg)
{
        pthread_mutex_lock(&s->mu);
        s->on_poll = fn;
        s->on_poll_arg = arg;
        pthread_mutex_unlock(&s->mu);
}

void fake_poll_delay(struct fake_state *s, uint64_t ms)
{
        pthread_mutex_lock(&s->mu);
        s->poll_delay_ms = ms;
        pthread_mutex_unlock(&s->mu);
}

bool fake_record(struct fake_state *s, const char *id, struct fake_job_record *out)
{
        struct fake_job_record *r;

        pthread_mutex_lock(&s->mu);
        r = find(s, id);
        if (r != NULL) {
                *out = *r;
                out->log = NULL;
        }
        pthread_mutex_unlock(&s->mu);
        return r != NULL;
}

char *fake_log(struct fake_state *s, const char *id)
{
        struct fake_job_record *r;
        char *copy = NULL;

        pthread_mutex_lock(&s->mu);
        r = find(s, id);
        if (r != NULL)
                copy = xstrdup(r->log ? r->log : "");
        pthread_mutex_unlock(&s->mu);
        return copy;
}

static size_t count(struct fake_state *s, bool finished)
{
        size_t n = 0;

        pthread_mutex_lock(&s->mu);
        for (size_t i = 0; i < s->n_rec; i++)
                n += finished ? s->rec[i].finished > 0 : s->rec[i].started;
        pthread_mutex_unlock(&s->mu);
        return n;
}

size_t fake_finished_count(struct fake_state *s)
{
        return count(s, true);
}

size_t fake_started_count(struct fake_state *s)
{
        return count(s, false);
}

uint64_t fake_polls(struct fake_state *s)
{
        uint64_t n;

        pthread_mutex_lock(&s->mu);
        n = s->polls;
        pthread_mutex_unlock(&s->mu);
        return n;
}

uint64_t fake_polls_failed(struct fake_state *s)
{
        uint64_t n;

        pthread_mutex_lock(&s->mu);
        n = s->polls_failed;
        pthread_mutex_unlock(&s->mu);
        return n;
}

int fake_violations(struct fake_state *s)
{
        int n;

        pthread_mutex_lock(&s->mu);
        n = s->violations;
        pthread_mutex_unlock(&s->mu);
        return n;
}

int fake_live_forges(struct fake_state *s)
{
        int n;

        pthread_mutex_lock(&s->mu);
        n = s->live;
        pthread_mutex_unlock(&s->mu);
        return n;
}

bool fake_wait_finished(struct fake_state *s, size_t n, uint64_t timeout_ms)
{
        uint64_t end = fake_now_ms() + timeout_ms;

        while (fake_finished_count(s) < n) {
                struct timespec ts = { 0, 10 * 1000 * 1000 };

                if (fake_now_ms() > end)
                        return false;
                nanosleep(&ts, NULL);
        }
        return true;
}

/* ---- the adapter ---- */

static struct fake_state *st_of(struct forge *f)
{
        return ((struct fake_forge *)f)->st;
}

static size_t idx_of(struct job *j)
{
        return (size_t)(uintptr_t)j->priv - 1;
}

static int fk_poll(struct forge *f, struct job **out, struct err *err)
{
        struct fake_state *s = st_of(f);
        struct fake_queued q;
        struct job *j;
        uint64_t delay;

        pthread_mutex_lock(&s->mu);
        if (s->on_poll != NULL)
                s->on_poll(s->on_poll_arg);
        s->polls++;
        if (s->poll_errors > 0) {
                s->poll_errors--;
                s->polls_failed++;
                pthread_mutex_unlock(&s->mu);
                return err_set(err, 0, "fake: injected poll error");
        }
        if (s->q_head == s->q_tail) {
                delay = s->poll_delay_ms;
                pthread_mutex_unlock(&s->mu);
                if (delay > 0) {
                        struct timespec ts = { (time_t)(delay / 1000), (long)(delay % 1000) * 1000000L };

                        nanosleep(&ts, NULL);
                }
                return 1;
        }
        q = s->queue[s->q_head++];
        if (s->n_rec == FAKE_MAX_JOBS)
                abort();
        memset(&s->rec[s->n_rec], 0, sizeof(s->rec[s->n_rec]));
        snprintf(s->rec[s->n_rec].id, sizeof(s->rec[0].id), "%s", q.id);
        snprintf(s->rec[s->n_rec].project, sizeof(s->rec[0].project), "%s", q.project);
        s->n_rec++;
        j = xcalloc(1, sizeof(*j));
        j->forge = f;
        j->priv = (void *)(uintptr_t)s->n_rec;
        pthread_mutex_unlock(&s->mu);
        j->id = xstrdup(q.id);
        j->project = xstrdup(q.project);
        j->repo_url = xasprintf("https://127.0.0.1/%s.git", q.project);
        j->sha = xstrdup("0123456789abcdef0123456789abcdef01234567");
        j->ref = xstrdup("main");
        j->refspecs = xcalloc(1, sizeof(char *));
        j->clone_username = xstrdup("gitlab-ci-token");
        j->clone_password = xasprintf("clone-secret-%s", q.id);
        j->vars = q.vars;
        j->n_vars = q.n_vars;
        *out = j;
        return 0;
}

/* the contract: start/finish/job_free never overlap canceled() */
static void check_overlap(struct fake_state *s, size_t i)
{
        if (s->in_canceled[i])
                s->violations++;
}

static int fk_start(struct forge *f, struct job *j, struct err *err)
{
        struct fake_state *s = st_of(f);
        size_t i = idx_of(j);

        pthread_mutex_lock(&s->mu);
        check_overlap(s, i);
        s->rec[i].started = true;
        pthread_mutex_unlock(&s->mu);
        return 0;
}

static int fk_log(struct forge *f, struct job *j, const char *buf, size_t n, struct err *err)
{
        struct fake_state *s = st_of(f);
        struct fake_job_record *r;

        pthread_mutex_lock(&s->mu);
        r = &s->rec[idx_of(j)];
        r->log = xrealloc(r->log, r->log_len + n + 1);
        memcpy(r->log + r->log_len, buf, n);
        r->log_len += n;
        r->log[r->log_len] = '\0';
        pthread_mutex_unlock(&s->mu);
        return 0;
}

static char *fk_section(struct forge *f, struct job *j, const char *name, bool begin)
{
        struct fake_state *s = st_of(f);

        pthread_mutex_lock(&s->mu);
        s->rec[idx_of(j)].sections++;
        pthread_mutex_unlock(&s->mu);
        return xasprintf("--- %s %s", begin ? "begin" : "end", name);
}

static int fk_finish(struct forge *f, struct job *j, const struct job_report *rep, struct err *err)
{
        struct fake_state *s = st_of(f);
        size_t i = idx_of(j);
        struct fake_job_record *r;

        pthread_mutex_lock(&s->mu);
        check_overlap(s, i);
        r = &s->rec[i];
        if (r->finished > 0)
                s->violations++;
        r->finished++;
        r->outcome = rep->outcome;
        r->exit_code = rep->exit_code;
        r->had_result = rep->result_json != NULL;
        r->finished_ms = fake_now_ms();
        snprintf(r->summary, sizeof(r->summary), "%s", rep->summary ? rep->summary : "");
        pthread_mutex_unlock(&s->mu);
        return 0;
}

static bool fk_canceled(struct forge *f, struct job *j)
{
        struct fake_state *s = st_of(f);
        size_t i = idx_of(j);
        bool c;

        pthread_mutex_lock(&s->mu);
        s->in_canceled[i] = true;
        s->rec[i].canceled_calls++;
        c = s->rec[i].cancel;
        pthread_mutex_unlock(&s->mu);
        /* a real adapter makes a request here: give overlaps a chance */
        sched_yield();
        pthread_mutex_lock(&s->mu);
        s->in_canceled[i] = false;
        pthread_mutex_unlock(&s->mu);
        return c;
}

static void fk_job_free(struct forge *f, struct job *j)
{
        struct fake_state *s = st_of(f);
        size_t i = idx_of(j);

        pthread_mutex_lock(&s->mu);
        check_overlap(s, i);
        s->rec[i].freed = true;
        pthread_mutex_unlock(&s->mu);
}

static void fk_free(struct forge *f)
{
        struct fake_forge *ff = (struct fake_forge *)f;

        pthread_mutex_lock(&ff->st->mu);
        ff->st->live--;
        pthread_mutex_unlock(&ff->st->mu);
        free(ff->base.name);
        free(ff);
}

static const struct forge_ops fake_ops = {
        .name = "fake",
        .poll = fk_poll,
        .start = fk_start,
        .log = fk_log,
        .section = fk_section,
        .finish = fk_finish,
        .canceled = fk_canceled,
        .job_free = fk_job_free,
        .free = fk_free,
};

struct forge *fake_forge_wrap(struct fake_state *s)
{
        struct fake_forge *ff = xcalloc(1, sizeof(*ff));

        ff->base.ops = &fake_ops;
        ff->base.name = xstrdup(s->name);
        ff->st = s;
        pthread_mutex_lock(&s->mu);
        s->live++;
        pthread_mutex_unlock(&s->mu);
        return &ff->base;
}

int fake_forge_new(struct forge **out, const struct cfg_forge *cfg, const char *state_dir,
                   struct err *err)
{
        struct fake_state *s = NULL;

        pthread_mutex_lock(&registry_mu);
        for (size_t i = 0; i < FAKE_MAX_STATES; i++)
                if (registry[i] != NULL && strcmp(registry[i]->name, cfg->name) == 0)
                        s = registry[i];
        pthread_mutex_unlock(&registry_mu);
        if (s == NULL)
                return err_set(err, ENOENT, "fake forge %s: not registered by the test", cfg->name);
        *out = fake_forge_wrap(s);
        return 0;
}
