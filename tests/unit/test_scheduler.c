/* test_scheduler.c - the daemon's scheduler with the fake forge adapter
 * (tests/unit/fake_forge.c) and a fast stand-in for pipeline_run: caps,
 * per-project fairness, failure isolation, cancellation latency, stop
 * modes, secrets and variables handed to the pipeline, poll back-off,
 * configuration generations, result storage. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_forge.h"
#include "runner/daemon/scheduler.h"
#include "runner/metrics/metrics.h"
#include "runner/redact/redact.h"
#include "runner/state/state.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/log.h"
#include "runner/util/xalloc.h"

/* ---- the pipeline stand-in ---- */

#define MAX_PROJECTS 32

struct seen {
        char project[64];
        char exec_id[40];
        uint32_t concurrency;           /* of the config the job got */
        char tf_vars[256];
        bool secret_masked, clone_masked;
        uint64_t timeout_ms;
        char forge_url[64];
};

static struct {
        pthread_mutex_t mu;
        int running, peak;
        char projects[MAX_PROJECTS][64];
        int proj_running[MAX_PROJECTS], proj_peak[MAX_PROJECTS];
        int sleep_ms;
        int concurrency;                /* for the poll check */
        int polls_while_full;
        struct seen seen[64];
        size_t n_seen;
        uint64_t start_ms[64];
} T = { .mu = PTHREAD_MUTEX_INITIALIZER };

static int proj_slot(const char *p)
{
        for (int i = 0; i < MAX_PROJECTS; i++) {
                if (strcmp(T.projects[i], p) == 0)
                        return i;
                if (T.projects[i][0] == '\0') {
                        snprintf(T.projects[i], sizeof(T.projects[i]), "%s", p);
                        return i;
                }
        }
        abort();
}

static bool masks(const struct redact_registry *reg, const char *secret)
{
        _cleanup_free_ char *out = NULL;
        _cleanup_free_ char *in = xasprintf("value: %s\n", secret);
        size_t len;

        if (reg == NULL || redact_oneshot(&out, &len, reg, NULL, in, strlen(in), NULL) < 0)
                return false;
        return strstr(out, secret) == NULL && strstr(out, REDACT_MASK) != NULL;
}

static int fake_pipeline(struct pipeline_outcome *out, const struct config *cfg,
                         struct pipeline_job *job, const struct pipeline_hooks *hooks,
                         const char *out_dir, struct err *err)
{
        int slot, wait_ms;
        struct pollfd p = { .fd = job->cancel_fd, .events = POLLIN };
        const char *line = "step output\n";
        bool canceled;

        memset(out, 0, sizeof(*out));
        pthread_mutex_lock(&T.mu);
        slot = proj_slot(job->project);
        T.running++;
        if (T.running > T.peak)
                T.peak = T.running;
        T.proj_running[slot]++;
        if (T.proj_running[slot] > T.proj_peak[slot])
                T.proj_peak[slot] = T.proj_running[slot];
        if (T.n_seen < 64) {
                struct seen *s = &T.seen[T.n_seen];

                T.start_ms[T.n_seen] = fake_now_ms();
                T.n_seen++;
                snprintf(s->project, sizeof(s->project), "%s", job->project);
                snprintf(s->exec_id, sizeof(s->exec_id), "%s", job->exec_id);
                s->concurrency = cfg->concurrency;
                s->timeout_ms = job->timeout_ms;
                snprintf(s->forge_url, sizeof(s->forge_url), "%s", job->forge_url ? job->forge_url : "");
                for (size_t i = 0; job->tf_vars && job->tf_vars[i]; i++) {
                        size_t l = strlen(s->tf_vars);

                        snprintf(s->tf_vars + l, sizeof(s->tf_vars) - l, "%s;", job->tf_vars[i]);
                }
                s->secret_masked = masks(job->secrets, "super-secret-value-123");
                s->clone_masked = job->password && masks(job->secrets, job->password);
        }
        wait_ms = T.sleep_ms;
        pthread_mutex_unlock(&T.mu);

        hooks->phase(hooks->phase_arg, "plan", true, NULL);
        hooks->log(hooks->log_arg, line, strlen(line));
        canceled = poll(&p, 1, wait_ms) > 0;
        hooks->phase(hooks->phase_arg, "plan", false, NULL);

        pthread_mutex_lock(&T.mu);
        T.running--;
        T.proj_running[slot]--;
        pthread_mutex_unlock(&T.mu);

        if (canceled) {
                out->status = PIPELINE_CANCELED;
                return 0;
        }
        if (strncmp(job->project, "error/", 6) == 0)
                return err_set(err, 0, "no result at all (test)");
        if (strncmp(job->project, "fail/", 5) == 0) {
                out->status = PIPELINE_FAILED;
                out->failed_exit_code = 7;
        } else if (strncmp(job->project, "boom/", 5) == 0) {
                out->status = PIPELINE_ERROR;
                snprintf(out->detail, sizeof(out->detail), "/secret/path/on/host broke");
        } else if (strncmp(job->project, "slow/", 5) == 0) {
                out->status = PIPELINE_TIMEOUT;
        } else {
                out->status = PIPELINE_PASSED;
        }
        out->result_json = xstrdup("{\"verdict\":\"PASSED\"}");
        out->result_len = strlen(out->result_json);
        return 0;
}

static void on_poll(void *arg)
{
        (void)arg;
        pthread_mutex_lock(&T.mu);
        /* a poll while every worker runs a job takes a job another runner could run */
        if (T.running >= T.concurrency)
                T.polls_while_full++;
        pthread_mutex_unlock(&T.mu);
}

/* ---- fixtures ---- */

static char tmp[64];

static struct config *make_config(unsigned conc, unsigned per_project, const char *extra)
{
        _cleanup_free_ char *yaml = NULL, *tok = xasprintf("%s/token", tmp);
        struct config *cfg = NULL;
        struct err e = ERR_INIT;

        if (access(tok, F_OK) != 0)
                assert_int_equal(file_write_new(tok, "glrt-test-token\n", 16, 0600, &e), 0);
        yaml = xasprintf("concurrency: %u\n"
                         "state_dir: %s/state\n"
                         "work_dir: %s/work\n"
                         "forges:\n"
                         "  - type: gitlab\n"
                         "    name: fa\n"
                         "    url: http://127.0.0.1:9\n"
                         "    token_file: %s\n"
                         "    poll_interval: 100ms\n"
                         "    per_project_limit: %u\n"
                         "terraform:\n"
                         "  variables: [region, TF_VAR_size]\n"
                         "sandbox: { wall_timeout: 10m }\n"
                         "%s",
                         conc, tmp, tmp, tok, per_project, extra ? extra : "");
        if (config_load_string(&cfg, yaml, strlen(yaml), "test.yaml", NULL, &e) < 0)
                fail_msg("config: %s", e.msg);
        return cfg;
}

static void reset(int sleep_ms, int conc)
{
        pthread_mutex_lock(&T.mu);
        T.running = T.peak = 0;
        memset(T.projects, 0, sizeof(T.projects));
        memset(T.proj_running, 0, sizeof(T.proj_running));
        memset(T.proj_peak, 0, sizeof(T.proj_peak));
        T.sleep_ms = sleep_ms;
        T.concurrency = conc;
        T.polls_while_full = 0;
        T.n_seen = 0;
        pthread_mutex_unlock(&T.mu);
}

struct fx {
        struct sched *s;
        struct fake_state *fs;
        struct state *state;
};

static void fx_start(struct fx *fx, unsigned conc, unsigned per_project, int sleep_ms,
                     uint64_t cancel_check_ms)
{
        struct sched_opts o = { .pipeline = fake_pipeline, .cancel_check_ms = cancel_check_ms,
                                .backoff_base_ms = 20, .backoff_max_ms = 80 };
        struct err e = ERR_INIT;
        struct config *cfg = make_config(conc, per_project, NULL);
        struct sched_forge f = { 0 };
        _cleanup_free_ char *sd = xasprintf("%s/state", tmp);

        reset(sleep_ms, (int)conc);
        assert_int_equal(state_open(&fx->state, sd, &e), 0);
        o.state = fx->state;
        fx->fs = fake_state_new("fa");
        fake_on_poll(fx->fs, on_poll, NULL);
        f.forge = fake_forge_wrap(fx->fs);
        assert_int_equal(sched_new(&fx->s, &o, &e), 0);
        assert_int_equal(sched_set_config(fx->s, cfg, &f, 1, &e), 0);
}

static void fx_end(struct fx *fx)
{
        sched_stop(fx->s, SCHED_STOP_CANCEL);
        assert_int_equal(sched_wait(fx->s, 5000), 0);
        sched_free(fx->s);
        assert_int_equal(fake_live_forges(fx->fs), 0);
        assert_int_equal(fake_violations(fx->fs), 0);
        fake_state_free(fx->fs);
        state_close(fx->state);
}

/* the scheduler counts a job after finish(), state and job_free */
static void wait_done(struct sched *s, uint64_t n)
{
        struct sched_stats st;
        uint64_t t0 = fake_now_ms();

        do {
                sched_get_stats(s, &st);
                if (st.finished >= n)
                        return;
                usleep(2000);
        } while (fake_now_ms() - t0 < 5000);
        fail_msg("only %llu of %llu jobs done", (unsigned long long)st.finished, (unsigned long long)n);
}

static enum job_outcome outcome_of(struct fake_state *fs, const char *id)
{
        struct fake_job_record r;

        assert_true(fake_record(fs, id, &r));
        assert_int_equal(r.finished, 1);
        return r.outcome;
}

static int setup(void **state)
{
        snprintf(tmp, sizeof(tmp), "/tmp/test-sched.XXXXXX");
        assert_non_null(mkdtemp(tmp));
        return 0;
}

static int teardown(void **state)
{
        struct err e = ERR_INIT;

        rm_rf(tmp, &e);
        return 0;
}

/* ---- tests ---- */

static void test_concurrency_cap(void **state)
{
        struct fx fx;
        char id[16], proj[32];

        fx_start(&fx, 2, 20, 20, 0);
        for (int i = 0; i < 20; i++) {
                snprintf(id, sizeof(id), "%d", i);
                snprintf(proj, sizeof(proj), "p/%d", i);
                fake_queue(fx.fs, id, proj, NULL, 0);
        }
        assert_true(fake_wait_finished(fx.fs, 20, 20000));
        wait_done(fx.s, 20);
        for (int i = 0; i < 20; i++) {
                snprintf(id, sizeof(id), "%d", i);
                assert_int_equal(outcome_of(fx.fs, id), JOB_PASSED);
        }
        assert_true(T.peak <= 2);
        assert_int_equal(T.peak, 2);            /* it did run two at once */
        assert_int_equal(T.polls_while_full, 0);
        {
                struct sched_stats st;

                sched_get_stats(fx.s, &st);
                assert_true(st.peak_running <= 2);
                assert_int_equal(st.finished, 20);
        }
        fx_end(&fx);
}

static void test_per_project_cap(void **state)
{
        static const char *const order[][2] = {
                { "a1", "big/a" }, { "a2", "big/a" }, { "a3", "big/a" }, { "b1", "small/b" },
                { "a4", "big/a" }, { "a5", "big/a" }, { "c1", "small/c" }, { "a6", "big/a" },
        };
        struct fx fx;
        struct fake_job_record b1, last_a;

        fx_start(&fx, 3, 1, 60, 0);
        for (size_t i = 0; i < ARRAY_SIZE(order); i++)
                fake_queue(fx.fs, order[i][0], order[i][1], NULL, 0);
        assert_true(fake_wait_finished(fx.fs, ARRAY_SIZE(order), 20000));
        for (int i = 0; i < MAX_PROJECTS; i++)
                assert_true(T.proj_peak[i] <= 1);
        assert_true(T.peak >= 2 && T.peak <= 3);
        /* b1 ran beside big/a's jobs instead of waiting behind all of them */
        assert_true(fake_record(fx.fs, "b1", &b1));
        assert_true(fake_record(fx.fs, "a6", &last_a));
        assert_true(b1.finished_ms < last_a.finished_ms);
        assert_int_equal(T.polls_while_full, 0);
        fx_end(&fx);
}

static void test_failure_isolated(void **state)
{
        static const struct {
                const char *id, *project;
                enum job_outcome want;
                int exit_code;
        } cases[] = {
                { "ok1", "ok/1", JOB_PASSED, 0 },
                { "err", "error/x", JOB_SYSTEM_FAILURE, 1 },
                { "ok2", "ok/2", JOB_PASSED, 0 },
                { "fail", "fail/x", JOB_FAILED, 7 },
                { "boom", "boom/x", JOB_SYSTEM_FAILURE, 1 },
                { "slow", "slow/x", JOB_TIMEOUT, 1 },
                { "ok3", "ok/3", JOB_PASSED, 0 },
        };
        struct fx fx;

        fx_start(&fx, 3, 1, 10, 0);
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
                fake_queue(fx.fs, cases[i].id, cases[i].project, NULL, 0);
        assert_true(fake_wait_finished(fx.fs, ARRAY_SIZE(cases), 20000));
        wait_done(fx.s, ARRAY_SIZE(cases));
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct fake_job_record r;

                assert_true(fake_record(fx.fs, cases[i].id, &r));
                assert_int_equal(r.finished, 1);
                assert_true(r.started);
                assert_int_equal(r.outcome, cases[i].want);
                assert_int_equal(r.exit_code, cases[i].exit_code);
                /* forge-facing text is generic: no detail, no path */
                assert_non_null(strstr(r.summary, "tfgate: "));
                assert_null(strstr(r.summary, "/secret/path"));
                assert_true(r.freed);
        }
        fx_end(&fx);
}

static void test_cancel_within_a_second(void **state)
{
        struct fx fx;
        struct fake_job_record r;
        uint64_t t0;

        fx_start(&fx, 2, 1, 10000, 0);          /* the real watcher period: 1 s */
        fake_queue(fx.fs, "long", "p/long", NULL, 0);
        fake_queue(fx.fs, "other", "p/other", NULL, 0);
        t0 = fake_now_ms();
        while (fake_started_count(fx.fs) < 2 && fake_now_ms() - t0 < 5000)
                usleep(5000);
        usleep(200 * 1000);
        fake_cancel(fx.fs, "long");
        assert_true(fake_wait_finished(fx.fs, 1, 5000));
        assert_true(fake_record(fx.fs, "long", &r));
        assert_int_equal(r.finished, 1);
        assert_int_equal(r.outcome, JOB_CANCELED);
        /* the watcher asks once a second; allow scheduling slack */
        assert_true(r.finished_ms - r.cancel_set_ms < 1500);
        assert_true(r.canceled_calls >= 1);
        /* the other job is untouched */
        assert_true(fake_record(fx.fs, "other", &r));
        assert_int_equal(r.finished, 0);
        fx_end(&fx);
}

static void test_stop_cancel_reports_all(void **state)
{
        struct fx fx;
        uint64_t t0;

        fx_start(&fx, 3, 1, 10000, 0);
        fake_queue(fx.fs, "r1", "p/1", NULL, 0);
        fake_queue(fx.fs, "r2", "p/2", NULL, 0);
        fake_queue(fx.fs, "q1", "p/1", NULL, 0);        /* waits for p/1's cap */
        t0 = fake_now_ms();
        while (fake_started_count(fx.fs) < 2 && fake_now_ms() - t0 < 5000)
                usleep(5000);
        usleep(150 * 1000);
        t0 = fake_now_ms();
        sched_stop(fx.s, SCHED_STOP_CANCEL);
        assert_int_equal(sched_wait(fx.s, 5000), 0);
        assert_true(fake_now_ms() - t0 < 2000);
        assert_int_equal(outcome_of(fx.fs, "r1"), JOB_CANCELED);
        assert_int_equal(outcome_of(fx.fs, "r2"), JOB_CANCELED);
        assert_int_equal(outcome_of(fx.fs, "q1"), JOB_CANCELED);
        fx_end(&fx);
}

static void test_stop_drain_finishes(void **state)
{
        struct fx fx;
        uint64_t t0;

        fx_start(&fx, 2, 2, 300, 0);
        fake_queue(fx.fs, "d1", "p/1", NULL, 0);
        fake_queue(fx.fs, "d2", "p/2", NULL, 0);
        t0 = fake_now_ms();
        while (fake_started_count(fx.fs) < 2 && fake_now_ms() - t0 < 5000)
                usleep(5000);
        fake_queue(fx.fs, "late", "p/3", NULL, 0);      /* must not be taken */
        sched_stop(fx.s, SCHED_STOP_DRAIN);
        assert_int_equal(sched_wait(fx.s, 5000), 0);
        assert_int_equal(outcome_of(fx.fs, "d1"), JOB_PASSED);
        assert_int_equal(outcome_of(fx.fs, "d2"), JOB_PASSED);
        {
                struct fake_job_record r;

                assert_false(fake_record(fx.fs, "late", &r));
        }
        fx_end(&fx);
}

static void test_secrets_and_variables(void **state)
{
        const struct job_variable vars[] = {
                { "region", "eu-west-1", false, false },
                { "TF_VAR_size", "big", false, false },
                { "size", "small", false, false },              /* TF_VAR_size wins */
                { "API_TOKEN", "super-secret-value-123", true, false },
                { "other", "not-allowed", false, false },
                { "TF_VAR_sneaky", "x", false, false },         /* not allowlisted */
        };
        struct fx fx;
        struct seen s;

        fx_start(&fx, 1, 1, 1, 0);
        fake_queue(fx.fs, "v", "p/v", vars, ARRAY_SIZE(vars));
        assert_true(fake_wait_finished(fx.fs, 1, 5000));
        pthread_mutex_lock(&T.mu);
        s = T.seen[0];
        pthread_mutex_unlock(&T.mu);
        assert_string_equal(s.tf_vars, "region=eu-west-1;size=big;");
        assert_true(s.secret_masked);
        assert_true(s.clone_masked);
        assert_int_equal(s.timeout_ms, 10 * 60 * 1000);
        assert_string_equal(s.forge_url, "http://127.0.0.1:9");
        fx_end(&fx);
}

static void test_result_and_log_stored(void **state)
{
        struct fx fx;
        struct seen s;
        _cleanup_free_ char *log_path = NULL, *res_path = NULL, *text = NULL;
        size_t len;

        fx_start(&fx, 1, 1, 1, 0);
        fake_queue(fx.fs, "st", "p/st", NULL, 0);
        assert_true(fake_wait_finished(fx.fs, 1, 5000));
        wait_done(fx.s, 1);
        pthread_mutex_lock(&T.mu);
        s = T.seen[0];
        pthread_mutex_unlock(&T.mu);
        {
                char *forge_log = fake_log(fx.fs, "st");

                assert_string_equal(forge_log, "step output\n");
                free(forge_log);
        }
        fx_end(&fx);
        {
                struct state *st = NULL;
                struct err e = ERR_INIT;
                _cleanup_free_ char *sd = xasprintf("%s/state", tmp);

                assert_int_equal(state_open(&st, sd, &e), 0);
                res_path = state_result_path(st, s.exec_id, "result.json");
                log_path = state_result_path(st, s.exec_id, "log.txt");
                state_close(st);
        }
        assert_non_null(res_path);
        assert_non_null(log_path);
        assert_int_equal(file_read_all(&text, &len, log_path, 4096, NULL), 0);
        assert_non_null(strstr(text, "step output"));
}

static void test_poll_errors_back_off(void **state)
{
        struct fx fx;
        _cleanup_free_ char *render = NULL;
        size_t rlen = 0;
        FILE *f;
        uint64_t t0 = fake_now_ms();

        metrics_reset();
        fx_start(&fx, 1, 1, 1, 0);
        fake_poll_errors(fx.fs, 4);
        fake_queue(fx.fs, "after", "p/a", NULL, 0);
        assert_true(fake_wait_finished(fx.fs, 1, 5000));
        /* 20, 40, 80, 80 ms, each at least halved by the jitter */
        assert_true(fake_now_ms() - t0 >= 110);
        assert_int_equal(fake_polls_failed(fx.fs), 4);
        assert_int_equal(outcome_of(fx.fs, "after"), JOB_PASSED);
        fx_end(&fx);
        f = open_memstream(&render, &rlen);
        metrics_render(f);
        fclose(f);
        assert_non_null(strstr(render, "tfgate_poll_errors_total{forge=\"fa\"} 4"));
        assert_non_null(strstr(render, "tfgate_jobs_total{forge=\"fa\",verdict=\"passed\""));
}

static void test_generations(void **state)
{
        struct fx fx;
        struct sched_stats st;
        struct fake_state *fs2 = fake_state_new("fa2");
        struct sched_forge f2 = { 0 };
        struct err e = ERR_INIT;
        uint64_t t0;

        fx_start(&fx, 2, 1, 400, 0);
        fake_queue(fx.fs, "old", "p/old", NULL, 0);
        t0 = fake_now_ms();
        while (fake_started_count(fx.fs) < 1 && fake_now_ms() - t0 < 5000)
                usleep(5000);
        f2.forge = fake_forge_wrap(fs2);
        assert_int_equal(sched_set_config(fx.s, make_config(1, 1, NULL), &f2, 1, &e), 0);
        sched_get_stats(fx.s, &st);
        assert_int_equal(st.generations, 2);
        assert_int_equal(st.concurrency, 1);
        fake_queue(fs2, "new", "p/new", NULL, 0);
        assert_true(fake_wait_finished(fx.fs, 1, 5000));
        assert_true(fake_wait_finished(fs2, 1, 5000));
        /* the running job kept the config it started with */
        pthread_mutex_lock(&T.mu);
        assert_int_equal(T.n_seen, 2);
        assert_string_equal(T.seen[0].project, "p/old");
        assert_int_equal(T.seen[0].concurrency, 2);
        assert_int_equal(T.seen[1].concurrency, 1);
        pthread_mutex_unlock(&T.mu);
        /* the old generation goes once its job and poller are done */
        t0 = fake_now_ms();
        do {
                sched_reap(fx.s);
                sched_get_stats(fx.s, &st);
                usleep(10000);
        } while (st.generations > 1 && fake_now_ms() - t0 < 3000);
        assert_int_equal(st.generations, 1);
        assert_int_equal(fake_live_forges(fx.fs), 0);
        sched_stop(fx.s, SCHED_STOP_CANCEL);
        assert_int_equal(sched_wait(fx.s, 5000), 0);
        sched_free(fx.s);
        assert_int_equal(fake_live_forges(fs2), 0);
        assert_int_equal(fake_violations(fx.fs), 0);
        assert_int_equal(fake_violations(fs2), 0);
        fake_state_free(fx.fs);
        fake_state_free(fs2);
        state_close(fx.state);
}

static void test_tf_vars_rules(void **state)
{
        struct job_variable vars[] = {
                { "TF_VAR_a", "1", false, false },
                { "a", "2", false, false },
                { "b", "3", false, false },
                { "f", "file-content", false, true },
        };
        struct job j = { .vars = vars, .n_vars = ARRAY_SIZE(vars) };
        char *allow[] = { "a", "TF_VAR_a", "b", "f", "missing", NULL };
        char **v = sched_tf_vars(&j, allow);

        assert_string_equal(v[0], "a=1");
        assert_string_equal(v[1], "b=3");
        assert_null(v[2]);      /* no duplicate a, no file variable */
        strv_free(v);
        v = sched_tf_vars(&j, NULL);
        assert_null(v[0]);
        strv_free(v);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tf_vars_rules),
                cmocka_unit_test(test_concurrency_cap),
                cmocka_unit_test(test_per_project_cap),
                cmocka_unit_test(test_failure_isolated),
                cmocka_unit_test(test_cancel_within_a_second),
                cmocka_unit_test(test_stop_cancel_reports_all),
                cmocka_unit_test(test_stop_drain_finishes),
                cmocka_unit_test(test_secrets_and_variables),
                cmocka_unit_test(test_result_and_log_stored),
                cmocka_unit_test(test_poll_errors_back_off),
                cmocka_unit_test(test_generations),
        };

        log_setup(getenv("TEST_VERBOSE") ? LOGL_DEBUG : LOGL_WARN, LOGF_TEXT);
        return cmocka_run_group_tests(tests, setup, teardown);
}
