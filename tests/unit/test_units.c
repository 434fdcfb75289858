#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "runner/util/units.h"

struct size_case {
        const char *in;
        int ok;
        uint64_t want;
        const char *msg; /* substring of the error */
};

static const struct size_case size_cases[] = {
        { "512MiB", 1, 512ULL << 20, NULL },
        { "1GiB", 1, 1ULL << 30, NULL },
        { "2G", 1, 2ULL << 30, NULL },
        { "100B", 1, 100, NULL },
        { "0B", 1, 0, NULL },
        { "10KB", 1, 10000, NULL },
        { "3 MiB", 1, 3ULL << 20, NULL },
        { "16TiB", 1, 16ULL << 40, NULL },
        { "512", 0, 0, "has no unit" },
        { "-1MiB", 0, 0, "negative" },
        { "lots", 0, 0, "expected a size like 512MiB, got \"lots\"" },
        { "", 0, 0, "got nothing" },
        { "1.5GiB", 0, 0, "expected a size" },
        { "10XB", 0, 0, "expected a size" },
        { "99999999999999999999B", 0, 0, "too large" },
        { "20000000TiB", 0, 0, "too large" },
        { "MiB", 0, 0, "expected a size" },
        { "+5MiB", 0, 0, "expected a size" },
};

static void sizes(void **state)
{
        for (size_t i = 0; i < sizeof(size_cases) / sizeof(size_cases[0]); i++) {
                const struct size_case *c = &size_cases[i];
                struct err e = ERR_INIT;
                uint64_t v = 12345;
                int r = parse_size(c->in, &v, &e);

                if (c->ok) {
                        assert_int_equal(r, 0);
                        assert_int_equal(v, c->want);
                } else {
                        assert_true(r < 0);
                        assert_int_equal(v, 12345); /* untouched */
                        if (strstr(e.msg, c->msg) == NULL)
                                fail_msg("\"%s\": message \"%s\" lacks \"%s\"", c->in, e.msg, c->msg);
                }
        }
}

static const struct size_case dur_cases[] = {
        { "30s", 1, 30000, NULL },
        { "5m", 1, 300000, NULL },
        { "1h30m", 1, 5400000, NULL },
        { "500ms", 1, 500, NULL },
        { "2d", 1, 172800000, NULL },
        { "0s", 1, 0, NULL },
        { "1m30s250ms", 1, 90250, NULL },
        { "30", 0, 0, "has no unit" },
        { "-5s", 0, 0, "negative" },
        { "5 minutes", 0, 0, "expected a duration" },
        { "5x", 0, 0, "expected a duration" },
        { "", 0, 0, "got nothing" },
        { "1.5s", 0, 0, "expected a duration" },
        { "99999999999999999999d", 0, 0, "too long" },
        { "9999999999999999d", 0, 0, "too long" },
        { "s", 0, 0, "expected a duration" },
};

static void durations(void **state)
{
        for (size_t i = 0; i < sizeof(dur_cases) / sizeof(dur_cases[0]); i++) {
                const struct size_case *c = &dur_cases[i];
                struct err e = ERR_INIT;
                uint64_t v = 12345;
                int r = parse_duration_ms(c->in, &v, &e);

                if (c->ok) {
                        if (r != 0)
                                fail_msg("\"%s\": %s", c->in, e.msg);
                        assert_int_equal(v, c->want);
                } else {
                        assert_true(r < 0);
                        assert_int_equal(v, 12345);
                        if (strstr(e.msg, c->msg) == NULL)
                                fail_msg("\"%s\": message \"%s\" lacks \"%s\"", c->in, e.msg, c->msg);
                }
        }
}

static void uints(void **state)
{
        struct err e = ERR_INIT;
        uint64_t v;

        assert_int_equal(parse_uint("42", 100, &v, &e), 0);
        assert_int_equal(v, 42);
        assert_true(parse_uint("101", 100, &v, &e) < 0);
        assert_non_null(strstr(e.msg, "out of range"));
        assert_true(parse_uint("-1", 100, &v, &e) < 0);
        assert_true(parse_uint("4x", 100, &v, &e) < 0);
        assert_true(parse_uint("", 100, &v, &e) < 0);
        assert_true(parse_uint("18446744073709551616", UINT64_MAX, &v, &e) < 0);
        assert_int_equal(parse_uint("18446744073709551615", UINT64_MAX, &v, &e), 0);
        assert_true(v == UINT64_MAX);
}

static void formatting_round_trips(void **state)
{
        char out[64];
        uint64_t v;

        format_size(out, sizeof(out), 512ULL << 20);
        assert_string_equal(out, "512MiB");
        format_size(out, sizeof(out), 1000);
        assert_string_equal(out, "1000B");
        format_size(out, sizeof(out), 3ULL << 30);
        assert_string_equal(out, "3GiB");
        assert_int_equal(parse_size(out, &v, NULL), 0);
        assert_true(v == 3ULL << 30);
        format_duration(out, sizeof(out), 5400000);
        assert_string_equal(out, "1h30m");
        format_duration(out, sizeof(out), 90250);
        assert_string_equal(out, "1m30s250ms");
        assert_int_equal(parse_duration_ms(out, &v, NULL), 0);
        assert_int_equal(v, 90250);
        format_duration(out, sizeof(out), 0);
        assert_string_equal(out, "0s");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(sizes),
                cmocka_unit_test(durations),
                cmocka_unit_test(uints),
                cmocka_unit_test(formatting_round_trips),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
