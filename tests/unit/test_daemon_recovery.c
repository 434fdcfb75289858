/* test_daemon_recovery.c - the running-jobs journal and the clean-up at
 * start (runner/daemon/recovery.h): journal round trip and privacy,
 * malformed and hostile entries (named, removed, their leftovers still
 * cleaned), the forge's handle kept and handed to forge_ops.abandon with
 * each answer (reported, no longer accepted, unreachable: never retried),
 * forges gone or without the op, cgroup discovery from mountinfo (v1 hybrid, v2),
 * a journaled job's group emptied (its task killed) and removed, a live
 * group of someone else left alone, stale and young unjournaled
 * workspaces, and a real cgroup v1/v2 group on this host when we may
 * create one. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include <cmocka.h>

#include "runner/daemon/recovery.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/log.h"
#include "runner/util/xalloc.h"

static const char ID1[] = "0123456789abcdef0123456789abcdef";
static const char ID2[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char ID3[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

static char tmp[64];

static int setup(void **state)
{
        snprintf(tmp, sizeof(tmp), "/tmp/test-recovery.XXXXXX");
        assert_non_null(mkdtemp(tmp));
        return 0;
}

static int teardown(void **state)
{
        rm_rf(tmp, NULL);
        return 0;
}

static struct recovery_entry entry(const char *id)
{
        struct recovery_entry e = { .pid = 4242 };

        snprintf(e.exec_id, sizeof(e.exec_id), "%s", id);
        snprintf(e.forge, sizeof(e.forge), "gitlab");
        snprintf(e.job_id, sizeof(e.job_id), "1234");
        snprintf(e.project, sizeof(e.project), "group/project");
        snprintf(e.commit, sizeof(e.commit), "0123456789abcdef0123456789abcdef01234567");
        return e;
}

static void test_journal_round_trip(void **state)
{
        _cleanup_free_ char *dir = xasprintf("%s/running", tmp);
        _cleanup_free_ char *path = xasprintf("%s/%s.json", dir, ID1);
        _cleanup_free_ char *bad = xasprintf("%s/%s.json", dir, ID2);
        _cleanup_free_ char *other = xasprintf("%s/notes.txt", dir);
        struct recovery_entry e = entry(ID1), *list = NULL;
        struct err err = ERR_INIT;
        struct stat st;
        size_t n = 0;

        assert_int_equal(recovery_journal_add(dir, &e, &err), 0);
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        /* an entry whose content names another id, and a stray file */
        assert_int_equal(file_write_new(bad, "{\"exec_id\":\"" "0123456789abcdef0123456789abcdef" "\"}", 46, 0600, &err), 0);
        assert_int_equal(file_write_new(other, "x", 1, 0600, &err), 0);
        assert_int_equal(recovery_journal_list(&list, &n, NULL, dir, 100, &err), 0);
        assert_int_equal(n, 1);
        assert_string_equal(list[0].exec_id, ID1);
        assert_string_equal(list[0].forge, "gitlab");
        assert_string_equal(list[0].job_id, "1234");
        assert_string_equal(list[0].project, "group/project");
        assert_int_equal(list[0].pid, 4242);
        assert_null(list[0].handle);
        recovery_entries_free(list, n);
        assert_int_not_equal(access(bad, F_OK), 0);     /* malformed: removed */
        assert_int_equal(access(other, F_OK), 0);       /* not a journal name: untouched */
        assert_int_equal(recovery_journal_remove(dir, ID1, &err), 0);
        assert_int_equal(recovery_journal_remove(dir, ID1, &err), 0);   /* idempotent */
        assert_int_not_equal(access(path, F_OK), 0);
        /* ids are checked: nothing outside the directory can be named */
        assert_true(recovery_journal_remove(dir, "../../etc/passwd", &err) < 0);
        e = entry("../x");
        assert_true(recovery_journal_add(dir, &e, &err) < 0);
        /* a missing directory is an empty journal */
        {
                _cleanup_free_ char *none = xasprintf("%s/none", tmp);

                assert_int_equal(recovery_journal_list(&list, &n, NULL, none, 100, &err), 0);
                assert_int_equal(n, 0);
                recovery_entries_free(list, n);
        }
}

static void test_cgroup_discovery(void **state)
{
        _cleanup_free_ char *mi = NULL;
        const char *self = "9:name=systemd:/\n4:memory:/svc/runner\n8:pids:/\n1:cpu:/\n0::/\n";
        char **v;

        /* v1 hybrid: memory mounted at its root, our group below it */
        mi = xasprintf("34 30 0:31 / %s/memory rw - cgroup cgroup rw,memory\n"
                       "38 30 0:35 / %s/pids rw - cgroup cgroup rw,pids\n"
                       "31 30 0:28 / %s/cpu rw - cgroup cgroup rw,cpu\n"
                       "40 30 0:37 / %s/unified rw - cgroup2 cgroup2 rw\n",
                       tmp, tmp, tmp, tmp);
        {
                const char *dirs[] = { "memory/svc/runner/tfgate-", "pids/tfgate-", "cpu/tfgate-" };

                for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
                        _cleanup_free_ char *d = xasprintf("%s/%s%s", tmp, dirs[i], ID1);

                        assert_int_equal(mkdir_p(d, 0755, NULL), 0);
                }
                _cleanup_free_ char *d2 = xasprintf("%s/pids/tfgate-%s", tmp, ID2);
                _cleanup_free_ char *junk = xasprintf("%s/pids/tfgate-notanid", tmp);

                assert_int_equal(mkdir_p(d2, 0755, NULL), 0);
                assert_int_equal(mkdir_p(junk, 0755, NULL), 0);
        }
        v = recovery_cgroups(mi, self, ID1);
        assert_non_null(v[0]);
        assert_non_null(v[1]);
        assert_non_null(v[2]);
        assert_null(v[3]);
        assert_non_null(strstr(v[0], "/memory/svc/runner/tfgate-"));
        assert_non_null(strstr(v[1], "/pids/tfgate-"));
        assert_non_null(strstr(v[2], "/cpu/tfgate-"));
        strv_free(v);
        v = recovery_cgroups(mi, self, NULL);
        {
                size_t n = 0;

                while (v[n] != NULL)
                        n++;
                assert_int_equal(n, 4);         /* not tfgate-notanid */
        }
        strv_free(v);
        /* our group outside what is mounted: nothing */
        v = recovery_cgroups(mi, "4:memory:/elsewhere\n", ID1);
        assert_null(v[0]);
        strv_free(v);
        /* a mount of a subtree that does not contain our group: nothing */
        {
                _cleanup_free_ char *mi2 = xasprintf("34 30 0:31 /other %s/memory rw - cgroup cgroup rw,memory\n", tmp);

                v = recovery_cgroups(mi2, "4:memory:/svc/runner\n", ID1);
                assert_null(v[0]);
                strv_free(v);
        }
}

static struct config *config_for(const char *work)
{
        _cleanup_free_ char *yaml = xasprintf("state_dir: %s/state\nwork_dir: %s\n", tmp, work);
        struct config *cfg = NULL;
        struct err e = ERR_INIT;

        if (config_load_string(&cfg, yaml, strlen(yaml), "t.yaml", NULL, &e) < 0)
                fail_msg("%s", e.msg);
        return cfg;
}

static void age(const char *path, time_t seconds)
{
        struct utimbuf t = { time(NULL) - seconds, time(NULL) - seconds };

        assert_int_equal(utime(path, &t), 0);
}

static void test_recovery_fake_tree(void **state)
{
        _cleanup_free_ char *work = xasprintf("%s/work", tmp), *cg = xasprintf("%s/cg", tmp);
        _cleanup_free_ char *journal = xasprintf("%s/state/running", tmp);
        _cleanup_free_ char *mi = xasprintf("40 30 0:37 / %s rw - cgroup2 cgroup2 rw\n", cg);
        _cleanup_free_ char *g1 = xasprintf("%s/tfgate-%s", cg, ID1);
        _cleanup_free_ char *g2 = xasprintf("%s/tfgate-%s", cg, ID2);
        _cleanup_free_ char *g3 = xasprintf("%s/tfgate-%s", cg, ID3);
        _cleanup_free_ char *ws1 = xasprintf("%s/tfgate-%s", work, ID1);
        _cleanup_free_ char *ws2 = xasprintf("%s/tfgate-%s", work, ID2);
        _cleanup_free_ char *ws3 = xasprintf("%s/tfgate-%s", work, ID3);
        _cleanup_(config_freep) struct config *cfg = config_for(work);
        struct recovery_env env = { .mountinfo = mi, .self_cgroup = "0::/\n",
                                    .workspace_min_age_ms = 3600 * 1000 };
        struct recovery_entry e = entry(ID1);
        struct recovery_report rep;
        struct err err = ERR_INIT;
        pid_t victim, bystander;
        int status;

        /* a journaled job whose jail task survived (stands in for one),
         * and another runner's live group */
        victim = fork();
        if (victim == 0) {
                pause();
                _exit(0);
        }
        bystander = fork();
        if (bystander == 0) {
                pause();
                _exit(0);
        }
        assert_int_equal(mkdir_p(g1, 0755, NULL), 0);
        assert_int_equal(mkdir_p(g2, 0755, NULL), 0);
        assert_int_equal(mkdir_p(g3, 0755, NULL), 0);
        {
                _cleanup_free_ char *p1 = xasprintf("%s/cgroup.procs", g1);
                _cleanup_free_ char *p2 = xasprintf("%s/cgroup.procs", g2);
                _cleanup_free_ char *t1 = xasprintf("%d\n", (int)victim);
                _cleanup_free_ char *t2 = xasprintf("%d\n", (int)bystander);

                assert_int_equal(file_write_new(p1, t1, strlen(t1), 0644, NULL), 0);
                assert_int_equal(file_write_new(p2, t2, strlen(t2), 0644, NULL), 0);
        }
        age(g2, 3600);
        age(g3, 3600);  /* an empty group abandoned an hour ago */
        assert_int_equal(recovery_journal_add(journal, &e, &err), 0);
        {
                _cleanup_free_ char *f = xasprintf("%s/repo/main.tf", ws1);
                _cleanup_free_ char *d = xasprintf("%s/repo", ws1);

                assert_int_equal(mkdir_p(d, 0700, NULL), 0);
                assert_int_equal(file_write_new(f, "x", 1, 0600, NULL), 0);
        }
        assert_int_equal(mkdir_p(ws2, 0700, NULL), 0);  /* young, not journaled */
        assert_int_equal(mkdir_p(ws3, 0700, NULL), 0);  /* old, not journaled */
        age(ws3, 2 * 3600);

        assert_int_equal(recovery_run(&rep, cfg, journal, NULL, 0, NULL, &env, &err), 0);
        assert_int_equal(rep.jobs, 1);
        assert_int_not_equal(access(ws1, F_OK), 0);
        assert_int_not_equal(access(g1, F_OK), 0);
        assert_int_equal(access(ws2, F_OK), 0);
        assert_int_not_equal(access(ws3, F_OK), 0);
        assert_int_equal(access(g2, F_OK), 0);          /* live and not ours: left */
        assert_int_not_equal(access(g3, F_OK), 0);      /* stale and empty: gone */
        assert_int_equal(rep.workspaces, 2);
        assert_true(rep.cgroups >= 2);
        assert_int_equal(rep.cgroups_killed, 1);
        /* the journaled job's task was killed, the bystander was not */
        assert_int_equal(waitpid(victim, &status, 0), victim);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        assert_int_equal(waitpid(bystander, &status, WNOHANG), 0);
        kill(bystander, SIGKILL);
        waitpid(bystander, &status, 0);
        {
                struct recovery_entry *list = NULL;
                size_t n = 9;

                assert_int_equal(recovery_journal_list(&list, &n, NULL, journal, 10, &err), 0);
                assert_int_equal(n, 0);
                recovery_entries_free(list, n);
        }
}

/* ---- the forge's handle, hostile entries, and the report at start ---- */

static void test_journal_handle(void **state)
{
        _cleanup_free_ char *dir = xasprintf("%s/running", tmp);
        _cleanup_free_ char *path = xasprintf("%s/%s.json", dir, ID1);
        _cleanup_free_ char *big = NULL;
        struct recovery_entry e = entry(ID1), *list = NULL;
        struct err err = ERR_INIT;
        struct stat st;
        size_t n = 0;

        e.handle = "{\"v\":1,\"id\":7,\"token\":\"glcbt-64_secret\"}";
        assert_int_equal(recovery_journal_add(dir, &e, &err), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(recovery_journal_list(&list, &n, NULL, dir, 100, &err), 0);
        assert_int_equal(n, 1);
        assert_string_equal(list[0].handle, e.handle);
        assert_string_equal(list[0].commit, e.commit);
        recovery_entries_free(list, n);
        /* a handle over the limit is refused when written, not cut */
        big = xmalloc(RECOVERY_HANDLE_MAX + 2);
        memset(big, 'h', RECOVERY_HANDLE_MAX + 1);
        big[RECOVERY_HANDLE_MAX + 1] = '\0';
        e.handle = big;
        assert_true(recovery_journal_add(dir, &e, &err) < 0);
        assert_non_null(strstr(err.msg, "handle"));
}

/* one hostile journal text, and the field the refusal must name */
struct hostile {
        const char *text;
        const char *why;
};

#define GOOD_TAIL "\"forge\":\"gl\",\"job\":\"7\",\"project\":\"g/p\",\"commit\":\"\",\"pid\":5"

static void test_journal_corrupt(void **state)
{
        static const struct hostile cases[] = {
                { "{\"exec_id\":\"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "\",\"forge\":\"gl\",\"jo", "not JSON" },
                { "", "not JSON" },
                { "[1,2]", "not a JSON object" },
                { "{\"exec_id\":5," GOOD_TAIL "}", "\"exec_id\" is not a string" },
                { "{\"forge\":\"gl\",\"job\":\"7\",\"project\":\"g/p\",\"commit\":\"\",\"pid\":5}",
                  "\"exec_id\" is missing" },
                { "{\"exec_id\":\"" "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" "\"," GOOD_TAIL "}",
                  "not the file's name" },
                { "{\"exec_id\":\"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "\",\"forge\":\"../x\",\"job\":\"7\","
                  "\"project\":\"g/p\",\"commit\":\"\",\"pid\":5}", "\"forge\" is not a forge name" },
                { "{\"exec_id\":\"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "\",\"forge\":\"gl\",\"job\":7,"
                  "\"project\":\"g/p\",\"commit\":\"\",\"pid\":5}", "\"job\" is not a string" },
                { "{\"exec_id\":\"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "\",\"forge\":\"gl\",\"job\":\"a\\u0000b\","
                  "\"project\":\"g/p\",\"commit\":\"\",\"pid\":5}", "is not allowed" },   /* a NUL */
                { "{\"exec_id\":\"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "\",\"forge\":\"gl\",\"job\":\"7\","
                  "\"project\":\"g/p\\n\\u001b[31m\",\"commit\":\"\",\"pid\":5}", "\"project\" has control" },
                { "{\"exec_id\":\"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "\",\"forge\":\"gl\",\"job\":\"7\","
                  "\"project\":\"g/p\",\"commit\":\"xyz\",\"pid\":5}", "\"commit\" is not a commit id" },
                { "{\"exec_id\":\"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "\",\"forge\":\"gl\",\"job\":\"7\","
                  "\"project\":\"g/p\",\"commit\":\"\",\"pid\":\"5\"}", "\"pid\" is not a process id" },
                { "{\"exec_id\":\"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "\"," GOOD_TAIL ",\"handle\":{}}",
                  "\"handle\" is not a string" },
                { "{\"exec_id\":\"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "\"," GOOD_TAIL ",\"pid\":6}",
                  "not JSON" },        /* a duplicate key */
        };
        _cleanup_free_ char *dir = xasprintf("%s/running", tmp);
        _cleanup_free_ char *path = xasprintf("%s/%s.json", dir, ID2);

        assert_int_equal(mkdir_p(dir, 0700, NULL), 0);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct recovery_entry e, *list = NULL;
                _cleanup_strv_free_ char **bad = NULL;
                struct err err = ERR_INIT;
                size_t n = 9;

                /* the parser names the field */
                assert_int_equal(recovery_entry_parse(&e, cases[i].text, strlen(cases[i].text), ID2, &err),
                                 -EBADMSG);
                if (strstr(err.msg, cases[i].why) == NULL)
                        fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err.msg, cases[i].why);
                free(e.handle);
                /* listing drops and removes it, and returns its id for clean-up */
                assert_int_equal(file_write_atomic(path, cases[i].text, strlen(cases[i].text), 0600, NULL), 0);
                assert_int_equal(recovery_journal_list(&list, &n, &bad, dir, 100, &err), 0);
                assert_int_equal(n, 0);
                assert_non_null(bad[0]);
                assert_string_equal(bad[0], ID2);
                assert_null(bad[1]);
                assert_int_not_equal(access(path, F_OK), 0);
                recovery_entries_free(list, n);
        }
        /* a huge entry, a handle over its limit, a group-readable file, a
         * symbolic link and a directory are refused the same way */
        {
                size_t big = RECOVERY_ENTRY_MAX + 100;
                _cleanup_free_ char *text = xmalloc(big + 1);
                _cleanup_free_ char *h = xmalloc(RECOVERY_HANDLE_MAX + 200);
                _cleanup_free_ char *target = xasprintf("%s/target", tmp);
                const char *why[] = { "over the", "\"handle\" is too long", "not private", "symbolic link",
                                      "not a regular file" };

                memset(text, ' ', big);
                text[big] = '\0';
                memset(h, 'h', RECOVERY_HANDLE_MAX + 1);
                snprintf(h + RECOVERY_HANDLE_MAX + 1, 100, "\"}");
                for (size_t k = 0; k < 5; k++) {
                        struct recovery_entry *list = NULL;
                        _cleanup_strv_free_ char **bad = NULL;
                        _cleanup_free_ char *doc = NULL;
                        struct err err = ERR_INIT;
                        size_t n = 9;

                        switch (k) {
                        case 0:
                                assert_int_equal(file_write_atomic(path, text, big, 0600, NULL), 0);
                                break;
                        case 1:
                                doc = xasprintf("{\"exec_id\":\"%s\"," GOOD_TAIL ",\"handle\":\"%s", ID2, h);
                                assert_int_equal(recovery_entry_parse(&(struct recovery_entry){ 0 }, doc,
                                                                      strlen(doc), ID2, &err), -EBADMSG);
                                assert_non_null(strstr(err.msg, why[k]));
                                assert_int_equal(file_write_atomic(path, doc, strlen(doc), 0600, NULL), 0);
                                break;
                        case 2:
                                doc = xasprintf("{\"exec_id\":\"%s\"," GOOD_TAIL "}", ID2);
                                assert_int_equal(file_write_atomic(path, doc, strlen(doc), 0640, NULL), 0);
                                break;
                        case 3:
                                doc = xasprintf("{\"exec_id\":\"%s\"," GOOD_TAIL "}", ID2);
                                assert_int_equal(file_write_atomic(target, doc, strlen(doc), 0600, NULL), 0);
                                assert_int_equal(symlink(target, path), 0);
                                break;
                        default:
                                assert_int_equal(mkdir(path, 0700), 0);
                                break;
                        }
                        assert_int_equal(recovery_journal_list(&list, &n, &bad, dir, 100, &err), 0);
                        assert_int_equal(n, 0);
                        assert_non_null(bad[0]);
                        assert_true(access(path, F_OK) != 0 || k == 4);
                        if (k == 3)     /* the link goes, not what it pointed at */
                                assert_int_equal(access(target, F_OK), 0);
                        if (k == 4)
                                rmdir(path);
                        recovery_entries_free(list, n);
                }
                (void)why;
        }
}

/* a forge adapter that only reports abandoned jobs */
struct abandon_forge {
        struct forge base;
        int result;             /* what abandon returns */
        int calls;
        char handle[256];
};

static int ab_abandon(struct forge *f, const char *handle, struct err *err)
{
        struct abandon_forge *a = (struct abandon_forge *)f;

        a->calls++;
        snprintf(a->handle, sizeof(a->handle), "%s", handle);
        if (a->result < 0)
                return err_set(err, EIO, "forge unreachable");
        return a->result;
}

static const struct forge_ops ab_ops = { .name = "abandon-test", .abandon = ab_abandon };

static void test_recovery_reports(void **state)
{
        _cleanup_free_ char *work = xasprintf("%s/work", tmp), *cg = xasprintf("%s/cg", tmp);
        _cleanup_free_ char *journal = xasprintf("%s/state/running", tmp);
        _cleanup_free_ char *mi = xasprintf("40 30 0:37 / %s rw - cgroup2 cgroup2 rw\n", cg);
        _cleanup_free_ char *ws_bad = xasprintf("%s/tfgate-%s", work, ID3);
        _cleanup_(config_freep) struct config *cfg = config_for(work);
        struct recovery_env env = { .mountinfo = mi, .self_cgroup = "0::/\n",
                                    .workspace_min_age_ms = 3600 * 1000 };
        struct abandon_forge gl = { .base = { .ops = &ab_ops, .name = "gl" } };
        struct abandon_forge none = { .base = { .ops = &(const struct forge_ops){ .name = "x" },
                                                .name = "quiet" } };
        struct forge *forges[] = { &none.base, &gl.base };
        static const struct { int result; size_t reported, refused, unreported; } rounds[] = {
                { 0, 1, 0, 0 },         /* reported */
                { 1, 0, 1, 0 },         /* 403/404: the forge no longer takes it */
                { -1, 0, 0, 1 },        /* unreachable: logged, not retried */
        };

        assert_int_equal(mkdir_p(cg, 0755, NULL), 0);
        for (size_t i = 0; i < 3; i++) {
                struct recovery_entry e = entry(ID1);
                struct recovery_report rep;
                struct err err = ERR_INIT;

                snprintf(e.forge, sizeof(e.forge), "gl");
                e.handle = "opaque-handle-1";
                gl.result = rounds[i].result;
                gl.calls = 0;
                assert_int_equal(recovery_journal_add(journal, &e, &err), 0);
                assert_int_equal(recovery_run(&rep, cfg, journal, forges, 2, NULL, &env, &err), 0);
                assert_int_equal(gl.calls, 1);
                assert_string_equal(gl.handle, "opaque-handle-1");
                assert_int_equal(rep.jobs, 1);
                assert_int_equal(rep.reported, rounds[i].reported);
                assert_int_equal(rep.refused, rounds[i].refused);
                assert_int_equal(rep.unreported, rounds[i].unreported);
                /* removed whatever the answer: no loop at every start */
                assert_int_equal(recovery_run(&rep, cfg, journal, forges, 2, NULL, &env, &err), 0);
                assert_int_equal(gl.calls, 1);
                assert_int_equal(rep.jobs, 0);
        }
        /* a forge that fails one report is not asked again at this start:
         * a forge that is down delays the start by one report, not by all */
        {
                struct recovery_entry e1 = entry(ID1), e2 = entry(ID2);
                struct recovery_report rep;
                struct err err = ERR_INIT;

                snprintf(e1.forge, sizeof(e1.forge), "gl");
                snprintf(e2.forge, sizeof(e2.forge), "gl");
                e1.handle = e2.handle = "h";
                gl.result = -1;
                gl.calls = 0;
                assert_int_equal(recovery_journal_add(journal, &e1, &err), 0);
                assert_int_equal(recovery_journal_add(journal, &e2, &err), 0);
                assert_int_equal(recovery_run(&rep, cfg, journal, forges, 2, NULL, &env, &err), 0);
                assert_int_equal(gl.calls, 1);
                assert_int_equal(rep.jobs, 2);
                assert_int_equal(rep.unreported, 2);
        }
        /* a forge no longer configured, a forge without the op, and a
         * corrupt entry: not reported; the corrupt one's workspace goes */
        {
                struct recovery_entry e1 = entry(ID1), e2 = entry(ID2);
                struct recovery_report rep;
                struct err err = ERR_INIT;
                _cleanup_free_ char *bad = xasprintf("%s/%s.json", journal, ID3);

                snprintf(e1.forge, sizeof(e1.forge), "gone");
                e1.handle = "h1";
                snprintf(e2.forge, sizeof(e2.forge), "quiet");
                e2.handle = "h2";
                gl.calls = 0;
                assert_int_equal(recovery_journal_add(journal, &e1, &err), 0);
                assert_int_equal(recovery_journal_add(journal, &e2, &err), 0);
                assert_int_equal(file_write_atomic(bad, "{\"exec_id\":", 11, 0600, NULL), 0);
                assert_int_equal(mkdir_p(ws_bad, 0700, NULL), 0);       /* young: kept if not journaled */
                assert_int_equal(recovery_run(&rep, cfg, journal, forges, 2, NULL, &env, &err), 0);
                assert_int_equal(gl.calls, 0);
                assert_int_equal(rep.jobs, 2);
                assert_int_equal(rep.reported, 0);
                assert_int_equal(rep.unreported, 3);
                assert_int_not_equal(access(ws_bad, F_OK), 0);
                assert_int_not_equal(access(bad, F_OK), 0);
        }
}

/* this host's own cgroup tree, when we may make a group in it */
static void test_recovery_real_cgroup(void **state)
{
        _cleanup_free_ char *mi = NULL, *self = NULL;
        _cleanup_strv_free_ char **found = NULL;
        _cleanup_free_ char *work = xasprintf("%s/work", tmp);
        _cleanup_free_ char *journal = xasprintf("%s/state/running", tmp);
        _cleanup_(config_freep) struct config *cfg = config_for(work);
        struct recovery_entry e = entry(ID3);
        struct recovery_report rep;
        struct err err = ERR_INIT;
        size_t len;
        char **bases;
        _cleanup_free_ char *group = NULL, *procs = NULL, *pidtext = NULL;
        pid_t child;
        int status, fd;

        assert_int_equal(file_read_all(&mi, &len, "/proc/self/mountinfo", 1 << 20, NULL), 0);
        assert_int_equal(file_read_all(&self, &len, "/proc/self/cgroup", 1 << 20, NULL), 0);
        /* where a group would go: ask discovery for any id, then make one */
        bases = recovery_cgroups(mi, self, NULL);
        strv_free(bases);
        {
                /* the pids hierarchy (v1) or the v2 tree of our own group */
                const char *ctrl_line = strstr(self, ":pids:");
                const char *mnt = NULL;
                _cleanup_free_ char *own = NULL;

                if (ctrl_line != NULL) {
                        const char *nl = strchr(ctrl_line + 6, '\n');

                        own = xstrndup(ctrl_line + 6, nl ? (size_t)(nl - ctrl_line - 6) : strlen(ctrl_line + 6));
                        mnt = "/sys/fs/cgroup/pids";
                } else {
                        const char *v2 = strstr(self, "0::");

                        if (v2 == NULL)
                                skip();
                        const char *nl = strchr(v2 + 3, '\n');

                        own = xstrndup(v2 + 3, nl ? (size_t)(nl - v2 - 3) : strlen(v2 + 3));
                        mnt = "/sys/fs/cgroup";
                }
                group = xasprintf("%s%s/tfgate-%s", mnt, strcmp(own, "/") == 0 ? "" : own, ID3);
        }
        if (mkdir(group, 0755) < 0) {
                print_message("cannot create %s (%s): no real-cgroup check on this host\n", group,
                              strerror(errno));
                skip();
        }
        child = fork();
        if (child == 0) {
                pause();
                _exit(0);
        }
        procs = xasprintf("%s/cgroup.procs", group);
        pidtext = xasprintf("%d\n", (int)child);
        fd = open(procs, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write_all(fd, pidtext, strlen(pidtext)) < 0) {
                if (fd >= 0)
                        close(fd);
                kill(child, SIGKILL);
                waitpid(child, &status, 0);
                rmdir(group);
                print_message("cannot attach to %s: no real-cgroup check on this host\n", group);
                skip();
        }
        close(fd);
        found = recovery_cgroups(mi, self, ID3);
        assert_non_null(found[0]);
        assert_int_equal(recovery_journal_add(journal, &e, &err), 0);
        assert_int_equal(recovery_run(&rep, cfg, journal, NULL, 0, NULL, NULL, &err), 0);
        assert_int_equal(rep.jobs, 1);
        assert_true(rep.cgroups_killed >= 1);
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        assert_int_not_equal(access(group, F_OK), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_journal_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_journal_handle, setup, teardown),
                cmocka_unit_test_setup_teardown(test_journal_corrupt, setup, teardown),
                cmocka_unit_test_setup_teardown(test_recovery_reports, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cgroup_discovery, setup, teardown),
                cmocka_unit_test_setup_teardown(test_recovery_fake_tree, setup, teardown),
                cmocka_unit_test_setup_teardown(test_recovery_real_cgroup, setup, teardown),
        };

        log_setup(getenv("TEST_VERBOSE") ? LOGL_DEBUG : LOGL_WARN, LOGF_TEXT);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
