#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "runner/util/err.h"

static void set_with_errno(void **state)
{
        struct err e = ERR_INIT;
        int r = err_set(&e, ENOENT, "open %s", "/x");

        assert_int_equal(r, -ENOENT);
        assert_int_equal(e.code, -ENOENT);
        assert_string_equal(e.msg, "open /x: No such file or directory");
}

static void set_without_errno(void **state)
{
        struct err e = ERR_INIT;

        assert_int_equal(err_set(&e, 0, "bad %d", 7), -EINVAL);
        assert_string_equal(e.msg, "bad 7");
}

static void wrap_adds_context(void **state)
{
        struct err e = ERR_INIT;

        err_set(&e, EACCES, "open f");
        assert_int_equal(err_wrap(&e, "config %s", "c.yaml"), -EACCES);
        assert_string_equal(e.msg, "config c.yaml: open f: Permission denied");
        err_clear(&e);
        assert_int_equal(e.code, 0);
        assert_string_equal(e.msg, "");
}

static void null_err_is_allowed(void **state)
{
        assert_int_equal(err_set(NULL, EPERM, "x"), -EPERM);
        assert_int_equal(err_wrap(NULL, "x"), -EINVAL);
        err_clear(NULL);
}

static void long_message_is_cut_not_overflowed(void **state)
{
        struct err e = ERR_INIT;
        char big[3000];

        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        err_set(&e, EIO, "%s", big);
        assert_int_equal(strlen(e.msg), ERR_MSG_MAX - 1);
        err_wrap(&e, "%s", big);
        assert_int_equal(strlen(e.msg), ERR_MSG_MAX - 1);
        assert_int_equal(e.code, -EIO);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(set_with_errno),
                cmocka_unit_test(set_without_errno),
                cmocka_unit_test(wrap_adds_context),
                cmocka_unit_test(null_err_is_allowed),
                cmocka_unit_test(long_message_is_cut_not_overflowed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
