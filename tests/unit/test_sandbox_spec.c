/* test_sandbox_spec.c - building, validating and freezing a jail spec. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "runner/util/cleanup.h"
#include "sandbox/internal.h"
#include "sandbox/sandbox.h"

static const char *const true_argv[] = { "/bin/true", NULL };

static const struct jail_mount *find(const struct jail_spec *s, const char *dst)
{
        for (size_t i = 0; i < s->n_mounts; i++)
                if (strcmp(s->mounts[i].dst, dst) == 0)
                        return &s->mounts[i];
        return NULL;
}

static void new_spec_defaults(void **state)
{
        _cleanup_(jail_spec_freep) struct jail_spec *s = jail_spec_new();
        struct jail_limits l;

        assert_false(jail_spec_frozen(s));
        assert_int_equal(s->uid, 1000);
        assert_int_equal(s->gid, 1000);
        assert_string_equal(s->workdir, "/");
        assert_int_equal(s->net, JAIL_NET_LOOPBACK);
        assert_int_equal(s->netns_fd, -1);
        assert_int_equal(s->n_env, 0);
        assert_null(s->env[0]);
        jail_spec_get_limits(&l, s);
        assert_int_equal(l.memory, 0);
        assert_int_equal(l.wall_ms, 0);
}

static void bind_paths_validated(void **state)
{
        _cleanup_(jail_spec_freep) struct jail_spec *s = jail_spec_new();
        static const struct {
                const char *host, *inside;
                int code;
                const char *needle;
        } cases[] = {
                { "relative/dir", "/x", -EINVAL, "relative/dir" },
                { "/usr/share", "inside/rel", -EINVAL, "inside/rel" },
                { "/usr/share", "/a/../../etc", -EINVAL, "/a/../../etc" },
                { "/usr/share", "/a/./b", -EINVAL, "/a/./b" },
                { "/usr/share", "/a//b", -EINVAL, "/a//b" },
                { "/usr/share", "/a/", -EINVAL, "/a/" },
                { "/usr/share", "/", -EINVAL, "target /" },
                { "/usr/share", "/proc/self", -EINVAL, "/proc/self" },
                { "/usr/share", "/dev", -EINVAL, "/dev" },
                { "", "/x", -EINVAL, "empty" },
                { "/usr/../etc", "/x", -EINVAL, "/usr/../etc" },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct err e = ERR_INIT;

                assert_int_equal(jail_spec_add_bind(s, cases[i].host, cases[i].inside, 0, &e),
                                 cases[i].code);
                assert_non_null(strstr(e.msg, cases[i].needle));
                assert_int_equal(strncmp(e.msg, "jail: ", 6), 0);
        }
        assert_int_equal(s->n_mounts, 0);
        /* /proc-like names that are not /proc are fine */
        assert_int_equal(jail_spec_add_bind(s, "/usr/share", "/procs", 0, NULL), 0);
        assert_int_equal(jail_spec_add_bind(s, "/usr/share", "/devel", JAIL_BIND_RW, NULL), 0);
        assert_int_equal(jail_spec_add_bind(s, "/usr", "/u", 1U << 7, NULL), -EINVAL);
}

static void duplicate_targets(void **state)
{
        _cleanup_(jail_spec_freep) struct jail_spec *s = jail_spec_new();
        struct err e = ERR_INIT;

        assert_int_equal(jail_spec_add_bind(s, "/usr", "/work", 0, &e), 0);
        assert_int_equal(jail_spec_add_bind(s, "/etc", "/work", JAIL_BIND_RW, &e), -EEXIST);
        assert_non_null(strstr(e.msg, "/work"));
        assert_int_equal(jail_spec_add_tmpfs(s, "/work", 0, &e), -EEXIST);
        assert_int_equal(jail_spec_add_file(s, "/work", "x", 1, &e), -EEXIST);
        /* nesting is not duplication */
        assert_int_equal(jail_spec_add_tmpfs(s, "/work/tmp", 0, &e), 0);
        assert_int_equal(s->n_mounts, 2);
}

static void tmpfs_sizes(void **state)
{
        _cleanup_(jail_spec_freep) struct jail_spec *s = jail_spec_new();
        struct err e = ERR_INIT;

        assert_int_equal(jail_spec_add_tmpfs(s, "/a", 1, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "/a"));
        assert_int_equal(jail_spec_add_tmpfs(s, "/b", 4095, &e), -EINVAL);
        assert_int_equal(jail_spec_add_tmpfs(s, "/c", (1ULL << 40) + 1, &e), -EINVAL);
        assert_int_equal(jail_spec_add_tmpfs(s, "/d", 4096, &e), 0);
        assert_int_equal(jail_spec_add_tmpfs(s, "/e", 0, &e), 0);
        assert_int_equal(find(s, "/e")->size, JAIL_DEFAULT_TMPFS_SIZE);
        assert_int_equal(find(s, "/e")->flags, JAIL_BIND_RW);
}

static void limits_validated(void **state)
{
        _cleanup_(jail_spec_freep) struct jail_spec *s = jail_spec_new();
        struct jail_limits l = { .memory = 1 << 20 };
        struct err e = ERR_INIT;

        assert_int_equal(jail_spec_set_limits(s, &l, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "memory"));
        l.memory = 8 << 20;
        l.nofile = 3;
        assert_int_equal(jail_spec_set_limits(s, &l, &e), -EINVAL);
        l.nofile = 64;
        l.cpu_quota_milli = 5;
        assert_int_equal(jail_spec_set_limits(s, &l, &e), -EINVAL);
        l.cpu_quota_milli = 1500;
        l.pids = 64;
        l.wall_ms = 2000;
        assert_int_equal(jail_spec_set_limits(s, &l, &e), 0);
        jail_spec_get_limits(&l, s);
        assert_int_equal(l.pids, 64);
        assert_int_equal(l.cpu_quota_milli, 1500);
}

static void env_list(void **state)
{
        _cleanup_(jail_spec_freep) struct jail_spec *s = jail_spec_new();
        static const char *const bad[] = { "NOEQUALS", "=value", "" };
        struct err e = ERR_INIT;

        for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
                assert_int_equal(jail_spec_add_env(s, bad[i], &e), -EINVAL);
        assert_non_null(strstr(e.msg, "NAME=VALUE"));
        assert_int_equal(jail_spec_add_env(s, "A=1", &e), 0);
        assert_int_equal(jail_spec_add_env(s, "B=x y", &e), 0);
        assert_int_equal(jail_spec_add_env(s, "C=", &e), 0);
        /* same name: replaced, like setenv */
        assert_int_equal(jail_spec_add_env(s, "A=2", &e), 0);
        assert_int_equal(s->n_env, 3);
        assert_string_equal(s->env[0], "A=2");
        assert_null(s->env[3]);
        assert_int_equal(jail_spec_set_env(s, (const char *const[]){ "X=1", "BAD", NULL }, &e), -EINVAL);
        assert_int_equal(s->n_env, 3); /* unchanged by the refused list */
        assert_int_equal(jail_spec_set_env(s, (const char *const[]){ "PATH=/opt/bin", NULL }, &e), 0);
        assert_int_equal(s->n_env, 1);
        assert_int_equal(jail_spec_set_argv(s, true_argv, &e), 0);
        assert_int_equal(jail_spec_freeze(s, &e), 0);
        /* argv[0] lookup uses the jail's own PATH */
        assert_string_equal(s->path, "/opt/bin");
}

static void argv_and_ids(void **state)
{
        _cleanup_(jail_spec_freep) struct jail_spec *s = jail_spec_new();
        struct err e = ERR_INIT;

        assert_int_equal(jail_spec_set_argv(s, (const char *const[]){ NULL }, &e), -EINVAL);
        assert_int_equal(jail_spec_set_argv(s, (const char *const[]){ "", NULL }, &e), -EINVAL);
        assert_int_equal(jail_spec_set_argv(s, NULL, &e), -EINVAL);
        assert_int_equal(jail_spec_freeze(s, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "no command"));
        assert_int_equal(jail_spec_set_ids(s, (uid_t)-1, 5, &e), -EINVAL);
        assert_int_equal(jail_spec_set_ids(s, 65535, 5, &e), -EINVAL);
        assert_int_equal(jail_spec_set_ids(s, 0, 0, &e), 0);
        assert_int_equal(jail_spec_set_outside_ids(s, 0, 100, &e), -EINVAL);
        assert_int_equal(jail_spec_set_outside_ids(s, 100000, 100000, &e), 0);
        assert_int_equal(jail_spec_allow_connect(s, 0, &e), -EINVAL);
        assert_int_equal(jail_spec_allow_connect(s, 4566, &e), 0);
        assert_int_equal(jail_spec_allow_connect(s, 4566, &e), 0);
        assert_int_equal(s->n_ports, 1);
        assert_int_equal(jail_spec_pass_fd(s, 1, &e), -EBADF);
        assert_int_equal(jail_spec_pass_fd(s, 999, &e), -EBADF);
        assert_int_equal(jail_spec_set_workdir(s, "wd", &e), -EINVAL);
        assert_non_null(strstr(e.msg, "wd"));
}

static void outside_ids(void **state)
{
        _cleanup_(jail_spec_freep) struct jail_spec *s = jail_spec_new();
        uid_t u;
        gid_t g;

        jail_spec_outside_ids(s, &u, &g);
        if (geteuid() == 0) {
                assert_int_equal(u, JAIL_ROOT_OUTSIDE_ID);
                assert_int_equal(g, JAIL_ROOT_OUTSIDE_ID);
                assert_int_equal(jail_spec_set_outside_ids(s, 4000, 4001, NULL), 0);
                jail_spec_outside_ids(s, &u, &g);
                assert_int_equal(u, 4000);
                assert_int_equal(g, 4001);
        } else {
                /* an unprivileged runner can only map itself */
                assert_int_equal(u, geteuid());
                assert_int_equal(g, getegid());
        }
}

static void netns_fd_checked(void **state)
{
        _cleanup_(jail_spec_freep) struct jail_spec *s = jail_spec_new();
        _cleanup_close_ int own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int mnt = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
        struct err e = ERR_INIT;

        assert_true(own >= 0 && mnt >= 0);
        assert_int_equal(jail_spec_set_netns_fd(s, -1, &e), -EINVAL);
        assert_int_equal(jail_spec_set_netns_fd(s, mnt, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "not a network namespace"));
        assert_int_equal(jail_spec_set_netns_fd(s, own, &e), 0);
        /* the spec holds its own descriptor */
        assert_true(s->netns_fd >= 0 && s->netns_fd != own);
}

static void freeze_adds_defaults_and_sorts(void **state)
{
        _cleanup_(jail_spec_freep) struct jail_spec *s = jail_spec_new();
        struct err e = ERR_INIT;
        const struct jail_mount *m;
        struct stat st;

        assert_int_equal(jail_spec_add_bind(s, "/usr/share", "/work/share", 0, &e), 0);
        assert_int_equal(jail_spec_add_bind(s, "/usr", "/work", JAIL_BIND_RW, &e), 0);
        assert_int_equal(jail_spec_add_tmpfs(s, "/tmp", 8192, &e), 0);
        assert_int_equal(jail_spec_set_ids(s, 4242, 4343, &e), 0);
        assert_int_equal(jail_spec_set_argv(s, true_argv, &e), 0);
        assert_int_equal(jail_spec_freeze(s, &e), 0);
        assert_true(jail_spec_frozen(s));
        /* parents before children */
        for (size_t i = 1; i < s->n_mounts; i++)
                assert_true(strcmp(s->mounts[i - 1].dst, s->mounts[i].dst) < 0);
        /* the user's /tmp replaced the default one */
        m = find(s, "/tmp");
        assert_non_null(m);
        assert_int_equal(m->size, 8192);
        assert_false(m->is_default);
        /* system binds: read-only and executable, or the host's symlink */
        m = find(s, "/usr");
        assert_non_null(m);
        assert_int_equal(m->kind, JM_BIND);
        assert_int_equal(m->flags, JAIL_BIND_EXEC);
        assert_true(m->is_default);
        if (lstat("/bin", &st) == 0 && S_ISLNK(st.st_mode)) {
                m = find(s, "/bin");
                assert_non_null(m);
                assert_int_equal(m->kind, JM_SYMLINK);
        }
        if (lstat("/etc/ssl/certs", &st) == 0) {
                m = find(s, "/etc/ssl/certs");
                assert_non_null(m);
                assert_int_equal(m->flags, JAIL_BIND_RO);
        }
        /* generated files know the jail's ids; resolv.conf is empty */
        m = find(s, "/etc/passwd");
        assert_non_null(m);
        assert_int_equal(m->kind, JM_FILE);
        assert_non_null(strstr(m->data, "tfgate:x:4242:4343:"));
        assert_int_equal(find(s, "/etc/resolv.conf")->len, 0);
        assert_non_null(strstr(find(s, "/etc/hosts")->data, "127.0.0.1"));
}

static void no_defaults(void **state)
{
        _cleanup_(jail_spec_freep) struct jail_spec *s = jail_spec_new();
        struct err e = ERR_INIT;

        assert_int_equal(jail_spec_no_default_mounts(s, &e), 0);
        assert_int_equal(jail_spec_add_bind(s, "/usr", "/usr", JAIL_BIND_EXEC, &e), 0);
        assert_int_equal(jail_spec_set_argv(s, true_argv, &e), 0);
        assert_int_equal(jail_spec_freeze(s, &e), 0);
        assert_int_equal(s->n_mounts, 1);
        assert_null(find(s, "/tmp"));
}

static void mark_exec(void **state)
{
        _cleanup_(jail_spec_freep) struct jail_spec *s = jail_spec_new();
        struct err e = ERR_INIT;

        assert_int_equal(jail_spec_add_bind(s, "/usr", "/x", JAIL_BIND_RW, &e), 0);
        assert_int_equal(jail_spec_add_tmpfs(s, "/s", 0, &e), 0);
        assert_int_equal(jail_spec_add_file(s, "/f", "a", 1, &e), 0);
        assert_int_equal(jail_spec_mark_exec(s, "/not-a-bind", &e), -ENOENT);
        assert_non_null(strstr(e.msg, "/not-a-bind"));
        assert_int_equal(jail_spec_mark_exec(s, "/f", &e), -ENOENT);
        assert_int_equal(jail_spec_mark_exec(s, "/x", &e), 0);
        assert_int_equal(jail_spec_mark_exec(s, "/s", &e), 0);
        assert_int_equal(find(s, "/x")->flags, JAIL_BIND_RW | JAIL_BIND_EXEC);
        assert_int_equal(find(s, "/s")->flags, JAIL_BIND_RW | JAIL_BIND_EXEC);
}

/* after freeze every setter refuses, and the spec is unchanged */
static void frozen_is_immutable(void **state)
{
        _cleanup_(jail_spec_freep) struct jail_spec *s = jail_spec_new();
        _cleanup_(jail_netns_freep) struct jail_netns *ns = NULL;
        struct jail_limits l = { .pids = 5 };
        struct err e = ERR_INIT;
        size_t n;

        assert_int_equal(jail_spec_set_argv(s, true_argv, &e), 0);
        assert_int_equal(jail_spec_freeze(s, &e), 0);
        n = s->n_mounts;
        assert_int_equal(jail_spec_add_bind(s, "/usr", "/x", 0, &e), -EPERM);
        assert_non_null(strstr(e.msg, "frozen"));
        assert_int_equal(jail_spec_add_tmpfs(s, "/y", 0, &e), -EPERM);
        assert_int_equal(jail_spec_add_file(s, "/z", "", 0, &e), -EPERM);
        assert_int_equal(jail_spec_mark_exec(s, "/tmp", &e), -EPERM);
        assert_int_equal(jail_spec_no_default_mounts(s, &e), -EPERM);
        assert_int_equal(jail_spec_add_env(s, "A=1", &e), -EPERM);
        assert_int_equal(jail_spec_set_env(s, NULL, &e), -EPERM);
        assert_int_equal(jail_spec_set_limits(s, &l, &e), -EPERM);
        assert_int_equal(jail_spec_set_net(s, JAIL_NET_NONE, &e), -EPERM);
        assert_int_equal(jail_spec_set_netns(s, ns, &e), -EPERM);
        assert_int_equal(jail_spec_set_netns_fd(s, 0, &e), -EPERM);
        assert_int_equal(jail_spec_allow_connect(s, 80, &e), -EPERM);
        assert_int_equal(jail_spec_set_ids(s, 1, 1, &e), -EPERM);
        assert_int_equal(jail_spec_set_outside_ids(s, 5000, 5000, &e), -EPERM);
        assert_int_equal(jail_spec_set_workdir(s, "/w", &e), -EPERM);
        assert_int_equal(jail_spec_set_argv(s, true_argv, &e), -EPERM);
        assert_int_equal(jail_spec_pass_fd(s, 0, &e), -EPERM);
        assert_int_equal(jail_spec_freeze(s, &e), -EPERM);
        assert_int_equal(s->n_mounts, n);
        assert_int_equal(s->limits.pids, 0);
        assert_int_equal(s->n_env, 0);
        assert_string_equal(s->workdir, "/");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(new_spec_defaults),
                cmocka_unit_test(bind_paths_validated),
                cmocka_unit_test(duplicate_targets),
                cmocka_unit_test(tmpfs_sizes),
                cmocka_unit_test(limits_validated),
                cmocka_unit_test(env_list),
                cmocka_unit_test(argv_and_ids),
                cmocka_unit_test(outside_ids),
                cmocka_unit_test(netns_fd_checked),
                cmocka_unit_test(freeze_adds_defaults_and_sorts),
                cmocka_unit_test(no_defaults),
                cmocka_unit_test(mark_exec),
                cmocka_unit_test(frozen_is_immutable),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
