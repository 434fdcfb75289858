/* test_daemon.c - `tfgate run`'s main loop (daemon_run) with the fake forge
 * adapter in the forge table and a stand-in for pipeline_run: real signals
 * through the signalfd (SIGTERM cancels and reports, SIGQUIT drains,
 * SIGHUP reloads and keeps the old config when the new one is bad), the
 * status socket, the journal, the state directory lock, exit codes, and
 * recovery of a killed predecessor's leftovers at start. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_forge.h"
#include "runner/daemon/daemon.h"
#include "runner/daemon/recovery.h"
#include "runner/daemon/status.h"
#include "runner/sign/audit.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/log.h"
#include "runner/util/xalloc.h"

static struct {
        pthread_mutex_t mu;
        int running, peak;
        int sleep_ms;
} T = { .mu = PTHREAD_MUTEX_INITIALIZER };

static int fake_pipeline(struct pipeline_outcome *out, const struct config *cfg,
                         struct pipeline_job *job, const struct pipeline_hooks *hooks,
                         const char *out_dir, struct err *err)
{
        struct pollfd p = { .fd = job->cancel_fd, .events = POLLIN };
        int wait_ms;
        bool canceled;

        memset(out, 0, sizeof(*out));
        pthread_mutex_lock(&T.mu);
        if (++T.running > T.peak)
                T.peak = T.running;
        wait_ms = T.sleep_ms;
        pthread_mutex_unlock(&T.mu);
        hooks->phase(hooks->phase_arg, "plan", true, NULL);
        canceled = poll(&p, 1, wait_ms) > 0;
        pthread_mutex_lock(&T.mu);
        T.running--;
        pthread_mutex_unlock(&T.mu);
        out->status = canceled ? PIPELINE_CANCELED : PIPELINE_PASSED;
        return 0;
}

static const struct daemon_forge_type fake_types[] = {
        { "gitlab", fake_forge_new, NULL, 0 },
};

static char tmp[64];
static char cfg_path[128], log_path[128];
static FILE *log_file;

static void write_config(unsigned conc, const char *raw)
{
        _cleanup_free_ char *tok = xasprintf("%s/token", tmp), *yaml = NULL;
        struct err e = ERR_INIT;

        if (access(tok, F_OK) != 0)
                assert_int_equal(file_write_new(tok, "glrt-test\n", 10, 0600, &e), 0);
        yaml = raw ? xstrdup(raw)
                   : xasprintf("concurrency: %u\n"
                               "state_dir: %s/state\n"
                               "work_dir: %s/work\n"
                               "audit: { path: %s/audit.log }\n"
                               "forges:\n"
                               "  - { type: gitlab, name: fa, url: \"http://127.0.0.1:9\", token_file: %s,\n"
                               "      poll_interval: 100ms, per_project_limit: 4 }\n",
                               conc, tmp, tmp, tmp, tok);
        assert_int_equal(file_write_atomic(cfg_path, yaml, strlen(yaml), 0644, &e), 0);
}

struct runner {
        pthread_t th;
        struct daemon_opts o;
        struct recovery_env env;
        struct err err;
        int rc;
        bool done;
};

static void *run_main(void *arg)
{
        struct runner *r = arg;

        r->rc = daemon_run(&r->o, &r->err);
        __atomic_store_n(&r->done, true, __ATOMIC_SEQ_CST);
        return NULL;
}

static void runner_init(struct runner *r)
{
        memset(r, 0, sizeof(*r));
        r->o.config_path = cfg_path;
        r->o.forge_types = fake_types;
        r->o.n_forge_types = ARRAY_SIZE(fake_types);
        r->o.pipeline = fake_pipeline;
        r->o.poll_grace_ms = 2000;
        r->o.cancel_check_ms = 100;
        /* no cgroups of the host: an empty tree */
        r->env.mountinfo = "";
        r->env.self_cgroup = "0::/\n";
        r->o.recovery = &r->env;
}

static bool log_has(const char *needle)
{
        _cleanup_free_ char *text = NULL;
        size_t len;

        fflush(log_file);
        return file_read_all(&text, &len, log_path, 1 << 20, NULL) == 0 && strstr(text, needle) != NULL;
}

static bool wait_for(bool (*cond)(const void *), const void *arg, int ms)
{
        for (int i = 0; i < ms / 10; i++) {
                if (cond(arg))
                        return true;
                usleep(10000);
        }
        return cond(arg);
}

static bool cond_log(const void *needle)
{
        return log_has(needle);
}

static bool cond_socket(const void *unused)
{
        _cleanup_free_ char *p = xasprintf("%s/state/tfgate.sock", tmp);

        return access(p, F_OK) == 0;
}

static bool cond_done(const void *r)
{
        return __atomic_load_n(&((const struct runner *)r)->done, __ATOMIC_SEQ_CST);
}

static void start(struct runner *r)
{
        assert_int_equal(pthread_create(&r->th, NULL, run_main, r), 0);
        if (!wait_for(cond_socket, NULL, 5000))
                fail_msg("daemon did not come up: %s", r->err.msg);
}

static int stop_with(struct runner *r, int sig, int ms)
{
        kill(getpid(), sig);
        if (!wait_for(cond_done, r, ms))
                fail_msg("daemon did not stop within %d ms after signal %d", ms, sig);
        pthread_join(r->th, NULL);
        return r->rc;
}

static void wait_started(struct fake_state *fs, size_t n)
{
        for (int i = 0; i < 500 && fake_started_count(fs) < n; i++)
                usleep(10000);
        assert_int_equal(fake_started_count(fs), n);
}

static size_t count_dir(const char *dir)
{
        struct recovery_entry *e = NULL;
        size_t n = 0;

        assert_int_equal(recovery_journal_list(&e, &n, NULL, dir, 100, NULL), 0);
        recovery_entries_free(e, n);
        return n;
}

static int setup(void **state)
{
        _cleanup_free_ char *p = NULL;
        struct err e = ERR_INIT;

        snprintf(tmp, sizeof(tmp), "/tmp/test-daemon.XXXXXX");
        assert_non_null(mkdtemp(tmp));
        p = xasprintf("%s/work", tmp);
        assert_int_equal(mkdir_p(p, 0700, &e), 0);
        snprintf(cfg_path, sizeof(cfg_path), "%s/tfgate.yaml", tmp);
        snprintf(log_path, sizeof(log_path), "%s/daemon.log", tmp);
        log_file = fopen(log_path, "w+");
        log_set_stream(log_file);
        T.peak = 0;
        T.sleep_ms = 10000;
        return 0;
}

static int teardown(void **state)
{
        struct err e = ERR_INIT;

        if (getenv("TEST_VERBOSE")) {
                _cleanup_free_ char *text = NULL;
                size_t len;

                if (file_read_all(&text, &len, log_path, 1 << 20, NULL) == 0)
                        fputs(text, stderr);
        }
        log_set_stream(NULL);
        fclose(log_file);
        fake_state_unregister_all();
        rm_rf(tmp, &e);
        return 0;
}

/* ---- tests ---- */

static void test_bad_config_exits_2(void **state)
{
        struct runner r;

        write_config(0, "concurrency: lots\n");
        runner_init(&r);
        assert_int_equal(daemon_run(&r.o, &r.err), DAEMON_EXIT_CONFIG);
        assert_true(log_has("concurrency"));
        r.o.config_path = "/nonexistent/tfgate.yaml";
        assert_int_equal(daemon_run(&r.o, &r.err), DAEMON_EXIT_CONFIG);
}

static void test_sigterm_cancels_and_reports(void **state)
{
        struct fake_state *fs = fake_state_new("fa");
        struct runner r;
        json_t *doc = NULL;
        struct err e = ERR_INIT;
        struct audit_report ar;
        _cleanup_free_ char *sock = xasprintf("%s/state/tfgate.sock", tmp);
        _cleanup_free_ char *journal = xasprintf("%s/state/running", tmp);
        _cleanup_free_ char *audit = xasprintf("%s/audit.log", tmp);
        struct fake_job_record rec;
        struct stat st;

        char hostile[8 + 2 * 50 + 1] = "group/\033x";

        /* a project name with a control character (recovery refuses one in
         * an entry: the journal must write it cleaned, or the entry of this
         * job would be lost); the fake keeps 127 bytes, so the cut at a
         * UTF-8 boundary past 255 bytes is not reached here */
        for (size_t i = 0; i < 50; i++)
                memcpy(hostile + 8 + 2 * i, "\xc3\xa9", 2);
        hostile[sizeof(hostile) - 1] = '\0';
        write_config(2, NULL);
        runner_init(&r);
        start(&r);
        fake_queue(fs, "101", "group/one", NULL, 0);
        fake_queue(fs, "102", hostile, NULL, 0);
        wait_started(fs, 2);
        usleep(100 * 1000);
        /* status: both jobs, over a socket only the owner can open */
        assert_int_equal(stat(sock, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(status_query(&doc, sock, 2000, &e), 0);
        assert_int_equal(json_array_size(json_object_get(doc, "jobs")), 2);
        {
                json_t *j0 = json_array_get(json_object_get(doc, "jobs"), 0);

                assert_string_equal(json_string_value(json_object_get(j0, "forge")), "fa");
                assert_non_null(strstr(json_string_value(json_object_get(j0, "project")), "group/"));
                assert_string_equal(json_string_value(json_object_get(j0, "step")), "plan");
                assert_true(json_is_integer(json_object_get(j0, "elapsed")));
        }
        json_decref(doc);
        /* the journal names both, privately, readable by recovery */
        assert_int_equal(count_dir(journal), 2);
        assert_int_equal(stop_with(&r, SIGTERM, 5000), DAEMON_EXIT_OK);
        assert_true(fake_record(fs, "101", &rec));
        assert_int_equal(rec.outcome, JOB_CANCELED);
        assert_int_equal(rec.finished, 1);
        assert_true(fake_record(fs, "102", &rec));
        assert_int_equal(rec.outcome, JOB_CANCELED);
        assert_int_equal(count_dir(journal), 0);
        assert_int_not_equal(access(sock, F_OK), 0);
        assert_int_equal(fake_live_forges(fs), 0);
        assert_int_equal(fake_violations(fs), 0);
        /* the audit trail is intact and has the daemon's events */
        assert_int_equal(audit_verify(&ar, audit, &e), 0);
        assert_int_equal(ar.status, AUDIT_OK);
        {
                _cleanup_free_ char *text = NULL;
                size_t len;

                assert_int_equal(file_read_all(&text, &len, audit, 1 << 20, NULL), 0);
                assert_non_null(strstr(text, "\"event\":\"config_loaded\""));
                assert_non_null(strstr(text, "\"event\":\"job_claimed\""));
        }
        fake_state_free(fs);
}

static void test_sigquit_drains(void **state)
{
        struct fake_state *fs = fake_state_new("fa");
        struct runner r;
        struct fake_job_record rec;

        T.sleep_ms = 400;
        write_config(2, NULL);
        runner_init(&r);
        start(&r);
        fake_queue(fs, "1", "p/1", NULL, 0);
        fake_queue(fs, "2", "p/2", NULL, 0);
        wait_started(fs, 2);
        fake_queue(fs, "late", "p/3", NULL, 0);
        assert_int_equal(stop_with(&r, SIGQUIT, 5000), DAEMON_EXIT_OK);
        assert_true(fake_record(fs, "1", &rec));
        assert_int_equal(rec.outcome, JOB_PASSED);
        assert_true(fake_record(fs, "2", &rec));
        assert_int_equal(rec.outcome, JOB_PASSED);
        assert_false(fake_record(fs, "late", &rec));
        fake_state_free(fs);
}

static void run_batch(struct fake_state *fs, const char *prefix, int n)
{
        size_t before = fake_finished_count(fs);
        char id[32], proj[32];

        pthread_mutex_lock(&T.mu);
        T.peak = 0;
        pthread_mutex_unlock(&T.mu);
        for (int i = 0; i < n; i++) {
                snprintf(id, sizeof(id), "%s%d", prefix, i);
                snprintf(proj, sizeof(proj), "p/%s%d", prefix, i);
                fake_queue(fs, id, proj, NULL, 0);
        }
        assert_true(fake_wait_finished(fs, before + (size_t)n, 10000));
}

static void test_sighup_reload(void **state)
{
        struct fake_state *fs = fake_state_new("fa");
        struct runner r;

        T.sleep_ms = 120;
        write_config(2, NULL);
        runner_init(&r);
        start(&r);
        /* a bad config is refused and the old one (concurrency 2) stays */
        write_config(0, "concurrency: 0\nforges: nope\n");
        kill(getpid(), SIGHUP);
        assert_true(wait_for(cond_log, "keeping the running configuration", 10000));
        run_batch(fs, "a", 4);
        assert_int_equal(T.peak, 2);
        /* a good one applies to new jobs */
        write_config(1, NULL);
        kill(getpid(), SIGHUP);
        assert_true(wait_for(cond_log, "reload: configuration applied (concurrency 1", 10000));
        run_batch(fs, "b", 3);
        assert_int_equal(T.peak, 1);
        T.sleep_ms = 10000;
        assert_int_equal(stop_with(&r, SIGTERM, 5000), DAEMON_EXIT_OK);
        assert_int_equal(fake_violations(fs), 0);
        assert_int_equal(fake_live_forges(fs), 0);
        fake_state_free(fs);
}

static void test_one_daemon_per_state_dir(void **state)
{
        struct fake_state *fs = fake_state_new("fa");
        struct runner r, r2;

        write_config(1, NULL);
        runner_init(&r);
        start(&r);
        runner_init(&r2);
        assert_int_equal(daemon_run(&r2.o, &r2.err), DAEMON_EXIT_INFRA);
        assert_non_null(strstr(r2.err.msg, "another tfgate run"));
        assert_int_equal(stop_with(&r, SIGINT, 5000), DAEMON_EXIT_OK);
        fake_state_free(fs);
}

static void test_recovery_at_start(void **state)
{
        static const char id[] = "0123456789abcdef0123456789abcdef";
        static const char stray[] = "fedcba9876543210fedcba9876543210";
        struct fake_state *fs = fake_state_new("fa");
        struct recovery_entry ent = { .pid = 999999 };
        _cleanup_free_ char *journal = xasprintf("%s/state/running", tmp);
        _cleanup_free_ char *ws = xasprintf("%s/work/tfgate-%s", tmp, id);
        _cleanup_free_ char *ws_young = xasprintf("%s/work/tfgate-%s", tmp, stray);
        _cleanup_free_ char *file = xasprintf("%s/repo/main.tf", ws);
        _cleanup_free_ char *cg = xasprintf("%s/cg", tmp);
        _cleanup_free_ char *group = xasprintf("%s/cg/tfgate-%s", tmp, id);
        _cleanup_free_ char *mountinfo = NULL, *audit = xasprintf("%s/audit.log", tmp);
        _cleanup_free_ char *text = NULL;
        struct err e = ERR_INIT;
        struct runner r;
        size_t len;

        snprintf(ent.exec_id, sizeof(ent.exec_id), "%s", id);
        snprintf(ent.forge, sizeof(ent.forge), "fa");
        snprintf(ent.job_id, sizeof(ent.job_id), "77");
        snprintf(ent.project, sizeof(ent.project), "group/crashed");
        assert_int_equal(recovery_journal_add(journal, &ent, &e), 0);
        {
                _cleanup_free_ char *d = xasprintf("%s/repo", ws);

                assert_int_equal(mkdir_p(d, 0700, &e), 0);
                assert_int_equal(file_write_new(file, "x", 1, 0600, &e), 0);
                assert_int_equal(mkdir_p(ws_young, 0700, &e), 0);
                assert_int_equal(mkdir_p(group, 0755, &e), 0);
        }
        mountinfo = xasprintf("40 30 0:37 / %s rw,relatime - cgroup2 cgroup2 rw\n", cg);
        write_config(1, NULL);
        runner_init(&r);
        r.env.mountinfo = mountinfo;
        start(&r);
        assert_int_not_equal(access(ws, F_OK), 0);
        assert_int_not_equal(access(group, F_OK), 0);
        assert_int_equal(count_dir(journal), 0);
        /* not in the journal and recent: maybe a `tfgate check`; kept */
        assert_int_equal(access(ws_young, F_OK), 0);
        assert_true(log_has("job 77 of group/crashed"));
        assert_int_equal(stop_with(&r, SIGTERM, 5000), DAEMON_EXIT_OK);
        assert_int_equal(file_read_all(&text, &len, audit, 1 << 20, NULL), 0);
        assert_non_null(strstr(text, "\"recovered\":true"));
        assert_non_null(strstr(text, id));
        fake_state_free(fs);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_bad_config_exits_2, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sigterm_cancels_and_reports, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sigquit_drains, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sighup_reload, setup, teardown),
                cmocka_unit_test_setup_teardown(test_one_daemon_per_state_dir, setup, teardown),
                cmocka_unit_test_setup_teardown(test_recovery_at_start, setup, teardown),
        };
        sigset_t set;

        /* every thread inherits the block; the daemon reads them from its signalfd */
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGQUIT);
        sigaddset(&set, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
