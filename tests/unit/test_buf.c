#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runner/util/buf.h"

static void append_within_cap(void **state)
{
        struct buf b = BUF_INIT(10);
        struct err e = ERR_INIT;

        assert_int_equal(buf_append(&b, "hello", 5, &e), 0);
        assert_int_equal(buf_puts(&b, "world", &e), 0);
        assert_int_equal(b.len, 10);
        assert_string_equal(buf_str(&b), "helloworld");
        buf_free(&b);
}

static void cap_enforced_at_the_edge(void **state)
{
        struct buf b = BUF_INIT(10);
        struct err e = ERR_INIT;

        assert_int_equal(buf_append(&b, "0123456789", 10, &e), 0);
        /* one byte more is refused and the content is unchanged */
        assert_int_equal(buf_putc(&b, 'x', &e), -EFBIG);
        assert_int_equal(b.len, 10);
        assert_string_equal(buf_str(&b), "0123456789");
        assert_non_null(strstr(e.msg, "10 bytes"));
        /* nothing was written past cap + NUL */
        assert_true(b.cap <= 11);
        buf_free(&b);
}

static void oversized_single_append_refused(void **state)
{
        struct buf b = BUF_INIT(4);
        struct err e = ERR_INIT;

        assert_int_equal(buf_append(&b, "ab", 2, &e), 0);
        assert_int_equal(buf_append(&b, "cde", 3, &e), -EFBIG);
        assert_string_equal(buf_str(&b), "ab");
        assert_int_equal(buf_append(&b, "cd", 2, &e), 0);
        assert_string_equal(buf_str(&b), "abcd");
        buf_free(&b);
}

static void huge_length_does_not_wrap(void **state)
{
        struct buf b = BUF_INIT((size_t)-1);
        struct err e = ERR_INIT;

        assert_int_equal(buf_append(&b, "a", 1, &e), 0);
        assert_int_equal(buf_append(&b, "a", (size_t)-1, &e), -EFBIG);
        assert_int_equal(b.len, 1);
        buf_free(&b);
}

static void printf_respects_cap(void **state)
{
        struct buf b = BUF_INIT(8);
        struct err e = ERR_INIT;

        assert_int_equal(buf_printf(&b, &e, "%d-%s", 42, "ab"), 0);
        assert_string_equal(buf_str(&b), "42-ab");
        assert_int_equal(buf_printf(&b, &e, "%s", "xyzw"), -EFBIG);
        assert_string_equal(buf_str(&b), "42-ab");
        buf_free(&b);
}

static void consume_steal_reset(void **state)
{
        struct buf b = BUF_INIT(100);
        struct err e = ERR_INIT;
        size_t len;
        char *p;

        assert_string_equal(buf_str(&b), "");
        buf_puts(&b, "abcdef", &e);
        buf_consume(&b, 2);
        assert_string_equal(buf_str(&b), "cdef");
        buf_consume(&b, 100);
        assert_int_equal(b.len, 0);
        buf_puts(&b, "xy", &e);
        p = buf_steal(&b, &len);
        assert_int_equal(len, 2);
        assert_string_equal(p, "xy");
        assert_null(b.data);
        free(p);
        p = buf_steal(&b, &len);
        assert_string_equal(p, "");
        free(p);
}

static void zero_cap_refuses_everything(void **state)
{
        struct buf b = BUF_INIT(0);
        struct err e = ERR_INIT;

        assert_int_equal(buf_append(&b, "", 0, &e), 0);
        assert_int_equal(buf_putc(&b, 'a', &e), -EFBIG);
        buf_free(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(append_within_cap),
                cmocka_unit_test(cap_enforced_at_the_edge),
                cmocka_unit_test(oversized_single_append_refused),
                cmocka_unit_test(huge_length_does_not_wrap),
                cmocka_unit_test(printf_respects_cap),
                cmocka_unit_test(consume_steal_reset),
                cmocka_unit_test(zero_cap_refuses_everything),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
