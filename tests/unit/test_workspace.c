#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "runner/pipeline/workspace.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/randid.h"
#include "runner/util/xalloc.h"

static char base[64];

static int setup(void **state)
{
        snprintf(base, sizeof(base), "/tmp/tfgate-test-ws-XXXXXX");
        return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
        return rm_rf(base, NULL);
}

static void create_and_destroy(void **state)
{
        struct workspace ws = { 0 };
        struct err e = ERR_INIT;
        char id[RANDID_HEX_LEN + 1];
        struct stat st;
        _cleanup_free_ char *root = NULL;
        _cleanup_free_ char *junk = NULL;

        assert_int_equal(randid_new(id, &e), 0);
        assert_int_equal(workspace_create(&ws, base, id, (uid_t)-1, (gid_t)-1, &e), 0);
        root = xstrdup(ws.root);
        assert_int_equal(stat(ws.repo, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(stat(ws.root, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
        assert_non_null(strstr(ws.data, id));
        /* something the job left behind, including a read-only dir */
        junk = xasprintf("%s/x/y", ws.data);
        assert_int_equal(mkdir_p(junk, 0755, &e), 0);
        chmod(junk, 0500);
        assert_int_equal(workspace_destroy(&ws, &e), 0);
        assert_int_equal(access(root, F_OK), -1);
        assert_null(ws.root);
}

static void id_is_never_reused(void **state)
{
        struct workspace a = { 0 }, b = { 0 };
        struct err e = ERR_INIT;
        char id[RANDID_HEX_LEN + 1];
        _cleanup_strv_free_ char **left = NULL;

        assert_int_equal(randid_new(id, &e), 0);
        assert_int_equal(workspace_create(&a, base, id, (uid_t)-1, (gid_t)-1, &e), 0);
        assert_int_equal(workspace_create(&b, base, id, (uid_t)-1, (gid_t)-1, &e), -EEXIST);
        assert_non_null(strstr(e.msg, "File exists"));
        assert_int_equal(workspace_list_leftovers(&left, base, &e), 0);
        assert_non_null(left[0]);
        assert_string_equal(left[0], id);
        assert_null(left[1]);
        assert_int_equal(workspace_destroy(&a, &e), 0);
        assert_int_equal(workspace_destroy(&b, &e), 0); /* zeroed: fine */
}

static void bad_ids_refused(void **state)
{
        struct workspace ws = { 0 };
        struct err e = ERR_INIT;

        assert_true(workspace_create(&ws, base, "../../etc", (uid_t)-1, (gid_t)-1, &e) < 0);
        assert_non_null(strstr(e.msg, "not an execution id"));
        assert_true(workspace_create(&ws, base, "ABCDEF", (uid_t)-1, (gid_t)-1, &e) < 0);
}

static void two_jobs_never_share(void **state)
{
        struct workspace a = { 0 }, b = { 0 };
        struct err e = ERR_INIT;
        char ia[RANDID_HEX_LEN + 1], ib[RANDID_HEX_LEN + 1];

        assert_int_equal(randid_new(ia, &e), 0);
        assert_int_equal(randid_new(ib, &e), 0);
        assert_string_not_equal(ia, ib);
        assert_int_equal(workspace_create(&a, base, ia, (uid_t)-1, (gid_t)-1, &e), 0);
        assert_int_equal(workspace_create(&b, base, ib, (uid_t)-1, (gid_t)-1, &e), 0);
        assert_string_not_equal(a.repo, b.repo);
        assert_string_not_equal(a.data, b.data);
        workspace_destroy(&a, NULL);
        workspace_destroy(&b, NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(create_and_destroy),
                cmocka_unit_test(id_is_never_reused),
                cmocka_unit_test(bad_ids_refused),
                cmocka_unit_test(two_jobs_never_share),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
