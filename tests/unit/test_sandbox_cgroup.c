/* test_sandbox_cgroup.c - cgroup discovery, group creation, limits, events
 * and removal against fake v1 and v2 trees (plain directories named in a
 * synthetic mountinfo), so every branch runs on any host. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"
#include "sandbox/internal.h"

#define ID "0123456789abcdef0123456789abcdef"

static char tmp[64];

static int setup(void **state)
{
        snprintf(tmp, sizeof(tmp), "/tmp/tfgate-test-cgroup-XXXXXX");
        return mkdtemp(tmp) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
        return rm_rf(tmp, NULL);
}

static void mkdirs(const char *rel)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", tmp, rel);

        assert_int_equal(mkdir_p(p, 0755, NULL), 0);
}

static void put(const char *rel, const char *text)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", tmp, rel);

        assert_int_equal(file_write_atomic(p, text, strlen(text), 0644, NULL), 0);
}

static char *get(const char *rel)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", tmp, rel);
        char *text = NULL;
        size_t len;

        if (file_read_all(&text, &len, p, 4096, NULL) < 0)
                return NULL;
        return text;
}

/* the file holds exactly want */
static void expect_file(const char *rel, const char *want)
{
        _cleanup_free_ char *text = get(rel);

        assert_non_null(text);
        assert_string_equal(text, want);
}

static bool present(const char *rel)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", tmp, rel);

        return access(p, F_OK) == 0;
}

/* a hybrid host: v1 memory/pids/cpu, v2 with nothing, our memory group nested */
static char *v1_mountinfo(void)
{
        return xasprintf(
                "21 26 0:20 / /proc rw,relatime - proc proc rw\n"
                "31 30 0:28 / %s/cpu rw,relatime - cgroup cgroup rw,cpu\n"
                "32 30 0:29 / %s/cpu\\040acct rw,relatime - cgroup cgroup rw,cpuacct\n"
                "34 30 0:31 / %s/memory rw,relatime - cgroup cgroup rw,memory\n"
                "38 30 0:35 / %s/pids rw,relatime - cgroup cgroup rw,pids\n"
                "40 30 0:37 / %s/unified rw,relatime - cgroup2 cgroup2 rw\n",
                tmp, tmp, tmp, tmp, tmp);
}

static const char v1_self[] = "8:pids:/\n4:memory:/api/x1\n2:cpuacct:/\n1:cpu:/\n0::/\n";

static void v1_create_limits_events_destroy(void **state)
{
        _cleanup_free_ char *mi = v1_mountinfo();
        struct jail_limits l = { .memory = 64 << 20, .pids = 10, .cpu_quota_milli = 500 };
        struct jail_cgroup cg;
        struct err e = ERR_INIT;
        bool oom, pids;

        mkdirs("memory/api/x1");
        mkdirs("pids");
        mkdirs("cpu");
        assert_int_equal(jail_cgroup_create(&cg, mi, v1_self, ID, &l, true, &e), 0);
        assert_int_equal(cg.mode, JAIL_CGROUP_V1);
        assert_true(present("memory/api/x1/tfgate-" ID));
        assert_true(present("pids/tfgate-" ID));
        expect_file("memory/api/x1/tfgate-" ID "/memory.limit_in_bytes", "67108864");
        /* no swap accounting in the fake tree: not invented */
        assert_false(present("memory/api/x1/tfgate-" ID "/memory.memsw.limit_in_bytes"));
        /* + the monitor and init */
        expect_file("pids/tfgate-" ID "/pids.max", "12");
        expect_file("cpu/tfgate-" ID "/cpu.cfs_quota_us", "50000");
        expect_file("cpu/tfgate-" ID "/cpu.cfs_period_us", "100000");

        assert_int_equal(jail_cgroup_attach(&cg, 4242, &e), 0);
        expect_file("pids/tfgate-" ID "/cgroup.procs", "4242\n");
        expect_file("memory/api/x1/tfgate-" ID "/cgroup.procs", "4242\n");

        jail_cgroup_events(&cg, &oom, &pids);
        assert_false(oom);
        assert_false(pids);
        put("pids/tfgate-" ID "/pids.events", "max 3\n");
        put("memory/api/x1/tfgate-" ID "/memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
        put("memory/api/x1/tfgate-" ID "/memory.max_usage_in_bytes", "1048576\n");
        jail_cgroup_events(&cg, &oom, &pids);
        assert_true(oom);
        assert_true(pids);
        assert_int_equal(jail_cgroup_peak_memory(&cg), 1048576);

        assert_int_equal(jail_cgroup_destroy(&cg, &e), 0);
        assert_false(present("pids/tfgate-" ID));
        assert_false(present("memory/api/x1/tfgate-" ID));
        assert_false(present("cpu/tfgate-" ID));
        assert_true(present("memory/api/x1"));
        assert_int_equal(cg.mode, JAIL_CGROUP_V1);
        assert_null(cg.dir[0]);
}

/* an execution id is one-shot: an existing group is never reused */
static void v1_existing_group_refused(void **state)
{
        _cleanup_free_ char *mi = v1_mountinfo();
        struct jail_limits l = { .pids = 10 };
        struct jail_cgroup cg;
        struct err e = ERR_INIT;

        mkdirs("memory/api/x1");
        mkdirs("pids/tfgate-" ID);
        assert_int_equal(jail_cgroup_create(&cg, mi, v1_self, ID, &l, true, &e), -EEXIST);
        assert_non_null(strstr(e.msg, "tfgate-" ID));
        /* what it had created before failing is gone again */
        assert_false(present("memory/api/x1/tfgate-" ID));
        assert_true(present("pids/tfgate-" ID));
}

/* inside a cgroup namespace the mount root is not "/" */
static void v1_mount_root_not_slash(void **state)
{
        _cleanup_free_ char *mi = xasprintf("38 30 0:35 /outer %s/pids rw - cgroup cgroup rw,pids\n", tmp);
        struct jail_limits l = { .pids = 1 };
        struct jail_cgroup cg;
        struct err e = ERR_INIT;

        mkdirs("pids/inner");
        assert_int_equal(jail_cgroup_create(&cg, mi, "8:pids:/outer/inner\n", ID, &l, true, &e), 0);
        assert_true(present("pids/inner/tfgate-" ID));
        assert_int_equal(jail_cgroup_destroy(&cg, &e), 0);
        /* our group outside what is mounted: nothing to use */
        assert_int_equal(jail_cgroup_create(&cg, mi, "8:pids:/elsewhere\n", ID, &l, false, &e), 0);
        assert_int_equal(cg.mode, JAIL_CGROUP_NONE);
}

/* not delegated: fall back quietly, or fail when cgroups are required */
static void not_delegated(void **state)
{
        _cleanup_free_ char *mi = v1_mountinfo();
        struct jail_limits l = { .pids = 10 };
        struct jail_cgroup cg;
        struct err e = ERR_INIT;

        /* the directories do not exist: mkdir fails like on a foreign tree */
        assert_int_equal(jail_cgroup_create(&cg, mi, v1_self, ID, &l, false, &e), 0);
        assert_int_equal(cg.mode, JAIL_CGROUP_NONE);
        assert_int_equal(e.code, 0);
        assert_true(jail_cgroup_create(&cg, mi, v1_self, ID, &l, true, &e) < 0);
        assert_non_null(strstr(e.msg, "jail: cgroup: mkdir"));
        assert_int_equal(cg.mode, JAIL_CGROUP_NONE);
}

static void age(const char *rel, time_t seconds)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", tmp, rel);
        struct timespec ts[2] = { { time(NULL) - seconds, 0 }, { time(NULL) - seconds, 0 } };

        assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
}

/* groups of a killed runner are swept by the next jail, live ones kept */
static void stale_groups_swept(void **state)
{
        _cleanup_free_ char *mi = v1_mountinfo();
        struct jail_limits l = { .pids = 10 };
        struct jail_cgroup cg;
        struct err e = ERR_INIT;

        mkdirs("memory/api/x1");
        mkdirs("pids/tfgate-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        mkdirs("pids/tfgate-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
        mkdirs("pids/tfgate-cccccccccccccccccccccccccccccccc/busy");
        mkdirs("pids/tfgate-other");
        age("pids/tfgate-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 120);
        age("pids/tfgate-cccccccccccccccccccccccccccccccc", 120);
        age("pids/tfgate-other", 120);
        assert_int_equal(jail_cgroup_create(&cg, mi, v1_self, ID, &l, true, &e), 0);
        assert_false(present("pids/tfgate-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
        /* young: maybe a jail between mkdir and attach */
        assert_true(present("pids/tfgate-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"));
        /* not empty (on cgroupfs: still has processes) */
        assert_true(present("pids/tfgate-cccccccccccccccccccccccccccccccc"));
        /* not one of ours */
        assert_true(present("pids/tfgate-other"));
        assert_int_equal(jail_cgroup_destroy(&cg, &e), 0);
}

static void v2_delegated(void **state)
{
        _cleanup_free_ char *mi = xasprintf("40 30 0:37 / %s/v2 rw - cgroup2 cgroup2 rw\n", tmp);
        struct jail_limits l = { .memory = 32 << 20, .pids = 7, .cpu_quota_milli = 1500 };
        struct jail_cgroup cg;
        struct err e = ERR_INIT;
        bool oom, pids;

        mkdirs("v2/svc");
        put("v2/svc/cgroup.controllers", "cpuset cpu io memory pids\n");
        put("v2/svc/cgroup.subtree_control", "\n");
        assert_int_equal(jail_cgroup_create(&cg, mi, "0::/svc\n", ID, &l, false, &e), 0);
        assert_int_equal(cg.mode, JAIL_CGROUP_V2);
        expect_file("v2/svc/cgroup.subtree_control", "+memory +pids +cpu");
        expect_file("v2/svc/tfgate-" ID "/memory.max", "33554432");
        expect_file("v2/svc/tfgate-" ID "/pids.max", "9");
        expect_file("v2/svc/tfgate-" ID "/cpu.max", "150000 100000");
        put("v2/svc/tfgate-" ID "/memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 0\n");
        jail_cgroup_events(&cg, &oom, &pids);
        assert_false(oom);
        assert_false(pids);
        put("v2/svc/tfgate-" ID "/memory.events", "oom 1\noom_kill 2\n");
        put("v2/svc/tfgate-" ID "/memory.peak", "123\n");
        jail_cgroup_events(&cg, &oom, &pids);
        assert_true(oom);
        assert_int_equal(jail_cgroup_peak_memory(&cg), 123);
        assert_int_equal(jail_cgroup_destroy(&cg, &e), 0);
        assert_false(present("v2/svc/tfgate-" ID));
}

static void v2_without_controllers(void **state)
{
        _cleanup_free_ char *mi = xasprintf("40 30 0:37 / %s/v2 rw - cgroup2 cgroup2 rw\n", tmp);
        struct jail_limits l = { .pids = 7 };
        struct jail_cgroup cg;
        struct err e = ERR_INIT;

        mkdirs("v2");
        put("v2/cgroup.controllers", "hugetlb\n");
        assert_int_equal(jail_cgroup_create(&cg, mi, "0::/\n", ID, &l, false, &e), 0);
        assert_int_equal(cg.mode, JAIL_CGROUP_NONE);
        assert_true(jail_cgroup_create(&cg, mi, "0::/\n", ID, &l, true, &e) < 0);
        assert_non_null(strstr(e.msg, "controllers"));
        assert_false(present("v2/tfgate-" ID));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(v1_create_limits_events_destroy, setup, teardown),
                cmocka_unit_test_setup_teardown(v1_existing_group_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(v1_mount_root_not_slash, setup, teardown),
                cmocka_unit_test_setup_teardown(not_delegated, setup, teardown),
                cmocka_unit_test_setup_teardown(stale_groups_swept, setup, teardown),
                cmocka_unit_test_setup_teardown(v2_delegated, setup, teardown),
                cmocka_unit_test_setup_teardown(v2_without_controllers, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
