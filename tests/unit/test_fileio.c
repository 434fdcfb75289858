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
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

static char tmpdir[64];

static int setup(void **state)
{
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/tfgate-test-fileio-XXXXXX");
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
        return rm_rf(tmpdir, NULL);
}

static char *path_in(const char *name)
{
        return xasprintf("%s/%s", tmpdir, name);
}

static void read_bounded(void **state)
{
        _cleanup_free_ char *p = path_in("f");
        _cleanup_free_ char *data = NULL;
        struct err e = ERR_INIT;
        size_t len;

        assert_int_equal(file_write_new(p, "0123456789", 10, 0644, &e), 0);
        assert_int_equal(file_read_all(&data, &len, p, 10, &e), 0);
        assert_int_equal(len, 10);
        assert_string_equal(data, "0123456789");
        free(TAKE_PTR(data));
        assert_int_equal(file_read_all(&data, &len, p, 9, &e), -EFBIG);
        assert_null(data);
        assert_non_null(strstr(e.msg, p));
        /* exists: refused */
        assert_int_equal(file_write_new(p, "x", 1, 0644, &e), -EEXIST);
}

static void secret_permissions(void **state)
{
        _cleanup_free_ char *p = path_in("token");
        _cleanup_free_ char *data = NULL;
        struct err e = ERR_INIT;
        size_t len;

        assert_int_equal(file_write_new(p, "glrt-abc", 8, 0640, &e), 0);
        assert_int_equal(file_read_secret(&data, &len, p, 4096, &e), -EPERM);
        assert_non_null(strstr(e.msg, "mode 0640"));
        assert_null(data);
        chmod(p, 0604);
        assert_int_equal(file_read_secret(&data, &len, p, 4096, &e), -EPERM);
        chmod(p, 0600);
        assert_int_equal(file_read_secret(&data, &len, p, 4096, &e), 0);
        assert_string_equal(data, "glrt-abc");
        assert_int_equal(file_check_private(tmpdir, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "not a regular file"));
}

static void atomic_replace(void **state)
{
        _cleanup_free_ char *p = path_in("a");
        _cleanup_free_ char *data = NULL;
        struct err e = ERR_INIT;
        struct stat st;
        size_t len;

        assert_int_equal(file_write_atomic(p, "one", 3, 0600, &e), 0);
        assert_int_equal(file_write_atomic(p, "two!", 4, 0600, &e), 0);
        assert_int_equal(file_read_all(&data, &len, p, 100, &e), 0);
        assert_string_equal(data, "two!");
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
}

static void rm_rf_does_not_follow_links(void **state)
{
        _cleanup_free_ char *outside = path_in("outside");
        _cleanup_free_ char *keep = path_in("outside/keep");
        _cleanup_free_ char *tree = path_in("tree/a/b");
        _cleanup_free_ char *link = path_in("tree/a/link");
        _cleanup_free_ char *root = path_in("tree");
        _cleanup_free_ char *ro = path_in("tree/a");
        struct err e = ERR_INIT;

        assert_int_equal(mkdir_p(outside, 0755, &e), 0);
        assert_int_equal(file_write_new(keep, "k", 1, 0644, &e), 0);
        assert_int_equal(mkdir_p(tree, 0755, &e), 0);
        assert_int_equal(symlink(outside, link), 0);
        chmod(ro, 0555);
        assert_int_equal(rm_rf(root, &e), 0);
        assert_int_equal(access(root, F_OK), -1);
        assert_int_equal(access(keep, F_OK), 0);
        assert_int_equal(rm_rf(root, &e), 0); /* already gone is fine */
}

static void clean_paths(void **state)
{
        assert_true(path_is_absolute_clean("/usr/lib"));
        assert_true(path_is_absolute_clean("/"));
        assert_false(path_is_absolute_clean("usr"));
        assert_false(path_is_absolute_clean("/usr/../etc"));
        assert_false(path_is_absolute_clean("/usr/./lib"));
        assert_false(path_is_absolute_clean("/usr//lib"));
        assert_false(path_is_absolute_clean("/.."));
        assert_false(path_is_absolute_clean(NULL));
        assert_true(path_is_absolute_clean("/a/..b/c."));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(read_bounded),
                cmocka_unit_test(secret_permissions),
                cmocka_unit_test(atomic_replace),
                cmocka_unit_test(rm_rf_does_not_follow_links),
                cmocka_unit_test(clean_paths),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
