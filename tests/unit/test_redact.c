/* test_redact.c - the normaliser's exact output, the registry's derived
 * forms, the credential rules, trusted masking. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runner/redact/redact.h"
#include "runner/util/cleanup.h"
#include "runner/util/log.h"

/* normalise and compare with the exact expected bytes */
static void norm_is(const char *in, size_t inlen, const char *want)
{
        size_t n;
        _cleanup_free_ char *out = redact_normalise(in, inlen, &n);

        if (n != strlen(want) || memcmp(out, want, n) != 0)
                fail_msg("normalise(%zu bytes): got \"%s\", want \"%s\"", inlen, out, want);
}

#define NORM(in, want) norm_is(in, sizeof(in) - 1, want)

static void norm_escapes(void **state)
{
        NORM("SEC\x1b[0mRET", "SECRET");
        NORM("a\x1b[31;1mb\x1b[Kc\x1b[2J", "abc");
        NORM("x\x1b]0;evil title\x07y", "xy");
        NORM("x\x1b]8;;http://e.example/\x1b\\link\x1b]8;;\x1b\\y", "xlinky");
        NORM("x\x1b]52;c;c2VjcmV0\x07y", "xy");                  /* OSC 52 clipboard */
        NORM("x\x1bPq#0;2;0;0;0\x1b\\y", "xy");                  /* DCS */
        NORM("x\x1b(By", "xy");                                  /* nF: charset */
        NORM("x\x1b" "7y\x1b" "8", "xy");                        /* Fp: save/restore */
        NORM("x\x1b", "x");                                      /* lone ESC at the end */
        NORM("x\x1b\x1b[1my", "xy");
        NORM("x\x1b[1\ny", "x\ny");                               /* broken CSI */
        NORM("x\x1b]unterminated\ny", "x\ny");                   /* OSC ends at newline */
        NORM("x\x1b\x80y", "x\xef\xbf\xbdy");
}

static void norm_controls(void **state)
{
        NORM("a\x00" "b\x07" "c\x08" "d\x7f" "e\x0b\x0c" "f", "abcdef");
        NORM("tab\there\n", "tab\there\n");
        NORM("crlf\r\nnext\r\n", "crlf\nnext\n");
        NORM("50%\r60%\r\n", "50%\xe2\x90\x8d" "60%\n");
        NORM("hidden\rshown", "hidden\xe2\x90\x8dshown");
        NORM("a\r\x1b[K\nb", "a\nb");                             /* dropped bytes between CR LF */
        NORM("a\r\rb", "a\xe2\x90\x8d\xe2\x90\x8d" "b");
        NORM("end\r", "end\xe2\x90\x8d");
        /* C1 as UTF-8 (U+0085 NEL, U+009B CSI) */
        NORM("a\xc2\x85" "b\xc2\x9b" "c", "abc");
}

static void norm_bidi_and_utf8(void **state)
{
        /* RLO ... PDF, LRI ... PDI (Trojan Source), LRM, line separator */
        NORM("x\xe2\x80\xae" "cba\xe2\x80\xac" "y", "xcbay");
        NORM("x\xe2\x81\xa6" "a\xe2\x81\xa9" "y", "xay");
        NORM("x\xe2\x80\x8fy\xe2\x80\xa8z", "xyz");
        /* valid UTF-8 stays */
        NORM("caf\xc3\xa9 \xe2\x94\x82 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x94\x82 \xf0\x9f\x98\x80");
        /* invalid: stray continuation, overlong, surrogate, too large, truncated */
        NORM("a\x80" "b", "a\xef\xbf\xbd" "b");
        NORM("a\xc0\xaf" "b", "a\xef\xbf\xbd\xef\xbf\xbd" "b");
        NORM("a\xe0\x80\xaf" "b", "a\xef\xbf\xbd" "b");
        NORM("a\xed\xa0\x80" "b", "a\xef\xbf\xbd" "b");
        NORM("a\xf4\x90\x80\x80" "b", "a\xef\xbf\xbd" "b");
        NORM("a\xe2\x82" "b", "a\xef\xbf\xbd" "b");
        NORM("a\xe2\x82", "a\xef\xbf\xbd");
        NORM("a\xff" "b", "a\xef\xbf\xbd" "b");
}

static void norm_forge_markers(void **state)
{
        NORM("::set-output name=x::y\n", "(inert)::set-output name=x::y\n");
        NORM("  \t::add-mask::z\n", "  \t(inert)::add-mask::z\n");
        NORM("ok\n::error::bad\n", "ok\n(inert)::error::bad\n");
        /* not at the start of a line: not a command, untouched */
        NORM("echo ::warning::x\n", "echo ::warning::x\n");
        NORM(":x:\n", ":x:\n");
        /* no-break space is blank for the runner's TrimStart */
        NORM("\xc2\xa0::stop-commands::t\n", "\xc2\xa0(inert)::stop-commands::t\n");
        /* escape sequences cannot hide the start of a line */
        NORM("\x1b[0K::group::g\n", "(inert)::group::g\n");
        /* v1 commands are found anywhere on a line */
        NORM("x ##[set-env name=A]b\n", "x (inert)##[set-env name=A]b\n");
        NORM("###[x]\n", "#(inert)##[x]\n");
        NORM("## [x]\n", "## [x]\n");
        /* GitLab sections, live only after ESC[0K, which is stripped anyway */
        NORM("\x1b[0Ksection_start:1700000000:fake\r\x1b[0KFake\n",
             "(inert)section_start:1700000000:fake\xe2\x90\x8d" "Fake\n");
        NORM("section_end:1:x\n", "(inert)section_end:1:x\n");
        NORM("sections\nsection_\n", "sections\nsection_\n");
        NORM("a section_start:1:x\n", "a section_start:1:x\n");
        /* a lone CR cannot make a new line start */
        NORM("x\r::cmd::\n", "x\xe2\x90\x8d::cmd::\n");
}

struct coll {
        char b[512];
        size_t n;
};

static int collect(void *arg, const void *b, size_t l)
{
        struct coll *c = arg;

        assert_true(c->n + l <= sizeof(c->b));
        memcpy(c->b + c->n, b, l);
        c->n += l;
        return 0;
}

static void norm_split_anywhere(void **state)
{
        /* the streaming normaliser gives the same bytes whatever the split */
        static const char in[] = "a\x1b[31mb\r\n::x::\xe2\x80\xae\xc3\xa9##[\x1b]0;t\x07\xe2\x82z";
        size_t n;
        _cleanup_free_ char *want = redact_normalise(in, sizeof(in) - 1, &n);
        _cleanup_(redact_registry_freep) struct redact_registry *r = redact_registry_new();

        assert_int_equal(redact_registry_freeze(r, NULL), 0);
        for (size_t cut = 0; cut <= sizeof(in) - 1; cut++) {
                struct redact_stream *s = redact_stream_new(r, NULL);
                struct coll c = { { 0 }, 0 };
                struct err e = ERR_INIT;

                assert_int_equal(redact_stream_write(s, in, cut, collect, &c, &e), 0);
                assert_int_equal(redact_stream_write(s, in + cut, sizeof(in) - 1 - cut, collect, &c, &e), 0);
                assert_int_equal(redact_stream_finish(s, collect, &c, &e), 0);
                assert_int_equal(c.n, n);
                assert_memory_equal(c.b, want, n);
                redact_stream_free(s);
        }
}

static char *mask1(struct redact_registry *r, const char *in)
{
        char *out;
        size_t n;

        assert_int_equal(redact_oneshot(&out, &n, r, NULL, in, strlen(in), NULL), 0);
        return out;
}

static void forms_of_a_secret(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = redact_registry_new();
        static const struct {
                const char *text, *want;
        } cases[] = {
                { "v=hunter2!'x/y z", "v=[MASKED]" },
                /* base64 of the value alone, and with 1 and 2 bytes in front */
                { "b64 aHVudGVyMiEneC95IHo=", "b64 [MASKED]" },
                { "b64 aHVudGVyMiEneC95IHo", "b64 [MASKED]" },
                { "b64 QWh1bnRlcjIhJ3gveSB6", "b64 QW[MASKED]" },
                { "b64 QUJodW50ZXIyISd4L3kgeg==", "b64 QUJ[MASKED]" },
                /* value followed by more data: the stable middle still goes */
                { "b64 aHVudGVyMiEneC95IHoK", "b64 [MASKED]K" },
                /* base64url */
                { "u aHVudGVyMiEneC95IHo", "u [MASKED]" },
                /* percent, both cases */
                { "q=hunter2%21%27x%2Fy%20z&", "q=[MASKED]&" },
                { "q=hunter2%21%27x%2fy%20z&", "q=[MASKED]&" },
                /* JSON, with and without escaped slash */
                { "{\"k\":\"hunter2!'x\\/y z\"}", "{\"k\":\"[MASKED]\"}" },
                /* shell single-quoted */
                { "+ echo 'hunter2!'\\''x/y z'", "+ echo '[MASKED]'" },
                /* an ordinary near miss is left alone */
                { "hunter2!'x/y", "hunter2!'x/y" },
        };

        assert_int_equal(redact_registry_add_secret(r, "PW", "hunter2!'x/y z", 14, NULL), REDACT_ADDED);
        assert_int_equal(redact_registry_freeze(r, NULL), 0);
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_free_ char *got = mask1(r, cases[i].text);

                if (strcmp(got, cases[i].want) != 0)
                        fail_msg("case %zu: got \"%s\", want \"%s\"", i, got, cases[i].want);
        }
}

static void multiline_and_short(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = redact_registry_new();
        static const char v[] = "first-line-secret\n  second-line-secret \nzq9x\n";
        char *logbuf = NULL;
        size_t loglen = 0;
        FILE *lf = open_memstream(&logbuf, &loglen);

        log_set_stream(lf);
        assert_int_equal(redact_registry_add_secret(r, "MULTI", v, sizeof(v) - 1, NULL), REDACT_ADDED);
        assert_int_equal(redact_registry_add_secret(r, "TINY", "abc1234", 7, NULL), REDACT_REFUSED_SHORT);
        fflush(lf);
        log_set_stream(stderr);
        fclose(lf);
        /* the warnings name the variable, never the value */
        assert_non_null(strstr(logbuf, "TINY"));
        assert_null(strstr(logbuf, "abc1234"));
        assert_non_null(strstr(logbuf, "MULTI: line 3"));
        assert_null(strstr(logbuf, "zq9x"));
        free(logbuf);
        assert_int_equal(redact_registry_freeze(r, NULL), 0);
        {
                _cleanup_free_ char *a = mask1(r, "x second-line-secret y\nfirst-line-secret\n");
                _cleanup_free_ char *b = mask1(r, "abc1234 zq9x");

                assert_string_equal(a, "x [MASKED] y\n[MASKED]\n");
                assert_string_equal(b, "abc1234 zq9x");
        }
        /* frozen: no more additions */
        assert_true(redact_registry_add_secret(r, "LATE", "late-secret-value", 17, NULL) < 0);
}

static void credential_rules(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = redact_registry_new();
        static const struct {
                const char *text, *want;
        } cases[] = {
                { "id=AKIAIOSFODNN7EXAMPLE;", "id=AKIA[MASKED];" },
                { "ASIAY34FZKBOKMUTVV7A", "ASIA[MASKED]" },
                { "AKIAshort", "AKIAshort" },
                { "AKIA1234567890123456", "AKIA1234567890123456" },  /* 0,1,8,9 not base32 */
                { "t ghp_abcdefghijklmnopqrstuvwxyz0123456789 x", "t ghp_[MASKED] x" },
                { "ghs_abcdefghijklmnopqrstuvwxyz012345678", "ghs_abcdefghijklmnopqrstuvwxyz012345678" },
                { "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!",
                  "github_pat_[MASKED]!" },
                { "token: glpat-xxxxxxxxxxxxxxxxxxxx\n", "token: glpat-[MASKED]\n" },
                { "glrt-t1_abcdefghij0123456789ABCDEFG.01.123abcdef end", "glrt-[MASKED] end" },
                { "glpat-short", "glpat-short" },
                { "GR1348941abcdefghijklmnopqrst", "GR1348941[MASKED]" },
                { "_gitlab_session=0123456789abcdef0123456789abcdef;", "_gitlab_session=[MASKED];" },
                { "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAAAA\n-----END RSA PRIVATE KEY-----\n",
                  "-----BEGIN RSA PRIVATE KEY-----\n[MASKED]\n-----END RSA PRIVATE KEY-----\n" },
                { "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n", "-----BEGIN OPENSSH PRIVATE KEY-----\n[MASKED]" },
                { "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n",
                  "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n" },
        };

        assert_int_equal(redact_registry_add_patterns(r, NULL), 0);
        assert_int_equal(redact_registry_freeze(r, NULL), 0);
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_free_ char *got = mask1(r, cases[i].text);

                if (strcmp(got, cases[i].want) != 0)
                        fail_msg("case %zu: got \"%s\", want \"%s\"", i, got, cases[i].want);
        }
}

static void trusted_marker_masked_not_normalised(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = redact_registry_new();
        static const char m[] = "\x1b[0Ksection_start:1:plan\r\x1b[0Kplan with s3cr3t-v4lue\n";
        _cleanup_free_ char *out = NULL;
        size_t n;

        assert_int_equal(redact_registry_add_secret(r, "S", "s3cr3t-v4lue", 12, NULL), 0);
        assert_int_equal(redact_registry_freeze(r, NULL), 0);
        assert_int_equal(redact_mask_trusted(&out, &n, r, m, sizeof(m) - 1, NULL), 0);
        assert_string_equal(out, "\x1b[0Ksection_start:1:plan\r\x1b[0Kplan with [MASKED]\n");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(norm_escapes),
                cmocka_unit_test(norm_controls),
                cmocka_unit_test(norm_bidi_and_utf8),
                cmocka_unit_test(norm_forge_markers),
                cmocka_unit_test(norm_split_anywhere),
                cmocka_unit_test(forms_of_a_secret),
                cmocka_unit_test(multiline_and_short),
                cmocka_unit_test(credential_rules),
                cmocka_unit_test(trusted_marker_masked_not_normalised),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
