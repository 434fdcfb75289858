/* test_constraint.c - Terraform's provider version constraints, checked
 * against a table of cases.  The expectations come from go-versions'
 * set_test.go / ruby_style_test.go and Terraform's documented rules
 * (pre-releases only through an exact "=" naming them). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runner/providers/constraint.h"
#include "runner/util/cleanup.h"

struct match_case {
        const char *constraint;
        const char *version;
        bool want;
};

static const struct match_case match_cases[] = {
        /* empty constraint: everything, even 0.0.0 and pre-releases */
        { "", "1.0.0", true },
        { "   ", "0.0.0", true },
        { "", "2.0.0-beta1", true },
        /* bare version and "=" */
        { "1.2.3", "1.2.3", true },
        { "1.2.3", "1.2.4", false },
        { "= 1.2.3", "1.2.3", true },
        { "=1.2.3", "1.2.3", true },
        { "1.2", "1.2.0", true },
        { "1.2", "1.2.1", false },
        { "1", "1.0.0", true },
        { "1", "1.1.0", false },
        /* metadata counts for = and != only */
        { "1.2.3", "1.2.3+abc", false },
        { "1.2.3+abc", "1.2.3+abc", true },
        { "1.2.3+abc", "1.2.3", false },
        { ">= 1.2.3+abc", "1.2.3", true },
        { ">= 1.2.3", "1.2.3+zzz", true },
        { "!= 1.2.3", "1.2.3+x", true },
        /* != */
        { "!= 1.2.3", "1.2.3", false },
        { "!= 1.2.3", "1.2.4", true },
        { "!= 2.0.0-beta1, 2.0.0-beta1", "2.0.0-beta1", false },
        /* > >= < <= */
        { "> 1.2.3", "1.2.3", false },
        { "> 1.2.3", "1.2.4", true },
        { ">1.2.3", "1.3.0", true },
        { ">= 1.2.3", "1.2.3", true },
        { ">= 1.2.3", "1.2.2", false },
        { "< 2.0.0", "1.99.99", true },
        { "< 2.0.0", "2.0.0", false },
        { "<= 2.0.0", "2.0.0", true },
        { "<= 2.0.0", "2.0.1", false },
        { "> 1.2", "1.2.1", true },     /* omitted numbers are zero */
        { "<= 1.2", "1.2.1", false },
        { ">= 1.0, < 2", "1.5.0", true },
        { ">= 1.0, < 2", "2.0.0", false },
        { ">= 1.0.0, < 2.0.0, != 1.5.0", "1.5.0", false },
        { ">= 1.0.0, < 2.0.0, != 1.5.0", "1.5.1", true },
        { ">= 1.0.0,< 2.0.0", "1.0.0", true },
        { ">= 1.0.0 ,  < 2.0.0", "1.9.0", true },
        { ">= 1.0.0,", "1.9.0", true }, /* trailing comma, as go-versions */
        /* ~> with 1, 2 and 3 components */
        { "~> 1", "1.0.0", true },
        { "~> 1", "1.2.3", true },
        { "~> 1", "1.99.0", true },
        { "~> 1", "2.0.0", false },
        { "~> 1", "0.9.0", false },
        { "~> 1.2", "1.2.0", true },
        { "~> 1.2", "1.3.0", true },
        { "~> 1.2", "1.1.9", false },
        { "~> 1.2", "2.0.0", false },
        { "~> 1.2.3", "1.2.3", true },
        { "~> 1.2.3", "1.2.9", true },
        { "~> 1.2.3", "1.3.0", false },
        { "~> 1.2.3", "1.2.2", false },
        { "~> 0.12", "0.15.1", true },
        { "~> 0.12", "1.0.0", false },
        { "~> 0.12.0", "0.12.31", true },
        { "~> 0.12.0", "0.13.0", false },
        { "~>1.2", "1.4.0", true },
        { "~> 5.0", "5.31.0", true },
        { "~> 5.0", "6.0.0", false },
        /* pre-releases: only an exact = naming them */
        { ">= 1.0.0", "1.0.0-beta1", false },
        { ">= 1.0.0", "2.0.0-beta1", false },
        { "< 2.0.0", "2.0.0-beta1", false },
        { "~> 2.0", "2.1.0-rc1", false },
        { "2.0.0-beta1", "2.0.0-beta1", true },
        { "= 2.0.0-beta1", "2.0.0-beta1", true },
        { "2.0.0-beta1", "2.0.0-beta2", false },
        { "2.0.0-beta1", "2.0.0", false },
        { ">= 1.0.0, 2.0.0-beta1", "2.0.0-beta1", true },
        { "> 2.0.0, 2.0.0-beta1", "2.0.0-beta1", false },
        { ">= 2.0.0-alpha", "2.0.0-beta", false },
        { ">= 2.0.0-alpha", "2.0.0", true },
        { "~> 1.2.0-beta", "1.2.0-beta", false },   /* not requested by ~> */
        { "~> 1.2.0-beta", "1.2.0", true },
        { "~> 1.2.0-beta", "1.3.0", false },
        { "!= 1.0.0-beta", "1.0.0-beta", false },
        { "!= 1.0.0-beta", "1.0.0-rc", false },     /* pre-release, never requested */
        { "1.0-beta2", "1.0.0-beta2", true },       /* missing numbers implied 0 */
        { "1.0.0-beta.2", "1.0.0-beta.2", true },
        { "1.0.0-beta1+foo.bar", "1.0.0-beta1+foo.bar", true },
        { "1.0.0-beta1+foo.bar", "1.0.0-beta1", false },
        /* 0.0.0 is outside every non-empty constraint */
        { ">= 0.0.0", "0.0.0", false },
        { "0.0.0", "0.0.0", false },
        { ">= 0.0.0", "0.0.1", true },
        /* precedence of pre-release identifiers */
        { "> 1.0.0-alpha.1, 1.0.0-alpha.beta", "1.0.0-alpha.beta", true },
        { "> 1.0.0-alpha.10, 1.0.0-alpha.9", "1.0.0-alpha.9", false },
        { "> 1.0.0-alpha.9, 1.0.0-alpha.10", "1.0.0-alpha.10", true },
        { "< 1.0.0-rc.1, 1.0.0-beta.11", "1.0.0-beta.11", true },
        /* large numbers */
        { "~> 18446744073709551615.0", "18446744073709551615.5.0", false }, /* upper wraps to 0 as in Go */
        { ">= 18446744073709551615.0.0", "18446744073709551615.0.0", true },
};

static void match_table(void **state)
{
        int failures = 0;

        for (size_t i = 0; i < ARRAY_SIZE(match_cases); i++) {
                const struct match_case *t = &match_cases[i];
                _cleanup_(tfcons_freep) struct tfcons c = { NULL, 0 };
                struct tfver v;
                struct err e = ERR_INIT;

                if (tfcons_parse(&c, t->constraint, &e) < 0) {
                        print_error("case %zu: parse \"%s\": %s\n", i, t->constraint, e.msg);
                        failures++;
                        continue;
                }
                if (tfver_parse(&v, t->version, &e) < 0) {
                        print_error("case %zu: version \"%s\": %s\n", i, t->version, e.msg);
                        failures++;
                        continue;
                }
                if (tfcons_allows(&c, &v) != t->want) {
                        print_error("case %zu: \"%s\" allows \"%s\": got %d want %d\n", i,
                                    t->constraint, t->version, !t->want, t->want);
                        failures++;
                }
        }
        assert_int_equal(failures, 0);
}

struct error_case {
        const char *constraint;
        const char *want_in_msg;
};

static const struct error_case error_cases[] = {
        { "v1.0.0", "\"v\" prefix" },
        { ">= v1.0.0", "\"v\" prefix" },
        { "~> v1.1.1", "\"v\" prefix" },
        { ">= 1.0, < v2.0", "\"v\" prefix" },
        { "1.0.0.0", "too many numbered portions" },
        { "=> 1.1.1", "did you mean \">=\"?" },
        { "=>1.1.1", "did you mean \">=\"?" },
        { "=< 1.1.1", "did you mean \"<=\"?" },
        { "=  1.1.1", "only one space" },
        { ">=\t1.0", "only one space" },
        { "garbage", "expected a version number" },
        { "& 1.1.0", "invalid constraint operator \"&\"" },
        { "^1.0", "invalid constraint operator \"^\"" },
        { "~ 1.0", "invalid constraint operator \"~\"" },
        { "== 1.0", "invalid constraint operator \"==\"" },
        { "1.*.*", "wildcard for minor" },
        { "1.0.x", "wildcard for patch" },
        { "*", "wildcard for major" },
        { "1.0 || 2.0", "comma" },
        { ">= 1.0 < 2", "comma" },
        { "1.0.0 - 2.0.0", "range constraints" },
        { ">=", "expected a version number" },
        { "~>", "expected a version number" },
        { ", 1.0", "invalid constraint operator \",\"" },
        { "1.0,,2.0", "invalid constraint operator \",\"" },
        { "99999999999999999999.0.0", "too large" },
        { "1.0.0-", "range constraints" },
        { "1.0.0+", "comma" },
        { "1.0.0 beta", "comma" },
};

static void parse_errors(void **state)
{
        int failures = 0;

        for (size_t i = 0; i < ARRAY_SIZE(error_cases); i++) {
                const struct error_case *t = &error_cases[i];
                struct tfcons c = { NULL, 0 };
                struct err e = ERR_INIT;

                if (tfcons_parse(&c, t->constraint, &e) == 0) {
                        print_error("case %zu: \"%s\" parsed, want an error\n", i, t->constraint);
                        tfcons_free(&c);
                        failures++;
                        continue;
                }
                assert_null(c.sels);
                if (strstr(e.msg, t->want_in_msg) == NULL || strstr(e.msg, t->constraint) == NULL) {
                        print_error("case %zu: \"%s\": message \"%s\" lacks \"%s\"\n", i,
                                    t->constraint, e.msg, t->want_in_msg);
                        failures++;
                }
        }
        assert_int_equal(failures, 0);
}

static void too_many_selections(void **state)
{
        char s[TFCONS_MAX_SELECTIONS * 8 + 16] = "";
        struct tfcons c = { NULL, 0 };
        struct err e = ERR_INIT;
        size_t off = 0;

        for (int i = 0; i <= TFCONS_MAX_SELECTIONS; i++)
                off += (size_t)snprintf(s + off, sizeof(s) - off, "%s!= 1.0", i ? ", " : "");
        assert_int_equal(tfcons_parse(&c, s, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "selections"));
}

struct canon_case {
        const char *in;
        const char *want;
};

/* Terraform getproviders.VersionConstraintsString and its tests */
static const struct canon_case canon_cases[] = {
        { "", "" },
        { "2.1.0", "2.1.0" },
        { "= 2.1.0", "2.1.0" },
        { "~> 5.0", "~> 5.0" },
        { "~> 5", "~> 5.0" },
        { "~> 1.2.3", "~> 1.2.3" },
        { ">=1.0", ">= 1.0.0" },
        { ">= 1.0.0, < 2.0.0", ">= 1.0.0, < 2.0.0" },
        { "< 2.0.0, >= 1.0.0", ">= 1.0.0, < 2.0.0" },
        { ">= 2.0, >= 2.0.0, >= 2", ">= 2.0.0" },
        { "!= 1.5.0, ~> 1.0, >= 1.0.0", ">= 1.0.0, ~> 1.0, != 1.5.0" },
        { "<= 1.0.0, 1.0.0, > 1.0.0, >= 1.0.0, ~> 1.0.0, < 1.0.0, != 1.0.0",
          "> 1.0.0, >= 1.0.0, 1.0.0, ~> 1.0.0, <= 1.0.0, < 1.0.0, != 1.0.0" },
        { "~> 1.0, ~> 1.0.0", "~> 1.0.0, ~> 1.0" },
        { "1.0.0-beta1+b, 1.0.0-beta1+a", "1.0.0-beta1+a, 1.0.0-beta1+b" },
        { "~> 1.2-beta", "~> 1.2-beta" },
};

static void canonical_form(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(canon_cases); i++) {
                _cleanup_(tfcons_freep) struct tfcons c = { NULL, 0 };
                _cleanup_free_ char *s = NULL;
                struct err e = ERR_INIT;

                assert_int_equal(tfcons_parse(&c, canon_cases[i].in, &e), 0);
                s = tfcons_canonical(&c);
                assert_string_equal(s, canon_cases[i].want);
        }
}

static void versions_parse_and_order(void **state)
{
        static const char *const ordered[] = {
                "0.0.1", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "10.0.0",
        };
        struct tfver a, b;
        struct err e = ERR_INIT;
        char out[64];

        for (size_t i = 0; i + 1 < ARRAY_SIZE(ordered); i++) {
                assert_int_equal(tfver_parse(&a, ordered[i], &e), 0);
                assert_int_equal(tfver_parse(&b, ordered[i + 1], &e), 0);
                assert_true(tfver_cmp(&a, &b) < 0);
                assert_true(tfver_cmp(&b, &a) > 0);
        }
        /* go-versions' quirk, kept because Terraform orders this way: a
         * pre-release with fewer dot-parts sorts first once either side runs
         * out of dots, so "beta" < "alpha.beta" (semver says the opposite) */
        assert_int_equal(tfver_parse(&a, "1.0.0-beta", &e), 0);
        assert_int_equal(tfver_parse(&b, "1.0.0-alpha.beta", &e), 0);
        assert_true(tfver_cmp(&a, &b) < 0);
        assert_int_equal(tfver_parse(&a, "1.2.3-rc.1+build.5", &e), 0);
        tfver_format(out, sizeof(out), &a);
        assert_string_equal(out, "1.2.3-rc.1+build.5");
        assert_int_equal(tfver_parse(&a, "01.2", &e), 0);
        tfver_format(out, sizeof(out), &a);
        assert_string_equal(out, "1.2.0");      /* parses; not normalised */
        assert_int_equal(tfver_parse(&a, "1.2.3+x", &e), 0);
        assert_int_equal(tfver_parse(&b, "1.2.3+y", &e), 0);
        assert_int_equal(tfver_cmp(&a, &b), 0);
        assert_false(tfver_equal(&a, &b));
        assert_int_equal(tfver_parse(&a, "v1.2.3", &e), -EINVAL);
        assert_non_null(strstr(e.msg, "\"v\" prefix"));
        assert_int_equal(tfver_parse(&a, ">= 1.2.3", &e), -EINVAL);
        assert_int_equal(tfver_parse(&a, "1.2.3 ", &e), -EINVAL);
        assert_int_equal(tfver_parse(&a, "1.2.3.4", &e), -EINVAL);
        assert_int_equal(tfver_parse(&a, "", &e), -EINVAL);
        assert_int_equal(tfver_parse(&a, "1.x", &e), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(match_table),
                cmocka_unit_test(parse_errors),
                cmocka_unit_test(too_many_selections),
                cmocka_unit_test(canonical_form),
                cmocka_unit_test(versions_parse_and_order),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
