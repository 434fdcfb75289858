/* test_redact_colour.c - keep-colour mode: exact output bytes with colours
 * kept and stripped, SGR sequences at the edges of and inside masked spans,
 * hostile sequences, line and byte caps, the logsink option; the stream
 * equals the one-shot reference at every split point. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <cmocka.h>

#include "runner/redact/logsink.h"
#include "runner/redact/redact.h"
#include "runner/util/cleanup.h"
#include "redact_test_util.h"


static struct redact_registry *registry(void)
{
        struct redact_registry *r = redact_registry_new();

        assert_int_equal(redact_registry_add_secret(r, "S", "SECRETVALUE", 11, NULL), 0);
        assert_int_equal(redact_registry_add_secret(r, "T", "abababab12", 10, NULL), 0);
        assert_int_equal(redact_registry_add_patterns(r, NULL), 0);
        assert_int_equal(redact_registry_freeze(r, NULL), 0);
        return r;
}

/* the stream split in two at every point, against want (and the reference) */
static void exact_every_split(const struct redact_registry *r, const struct redact_opts *o,
                              const char *in, size_t len, const char *want, size_t wlen)
{
        char *ref;
        size_t rn;

        assert_int_equal(redact_oneshot(&ref, &rn, r, o, in, len, NULL), 0);
        if (rn != wlen || memcmp(ref, want, wlen) != 0)
                fail_msg("reference: got \"%s\", want \"%s\"", ref, want);
        free(ref);
        for (size_t cut = 0; cut <= len; cut++) {
                struct redact_stream *s = redact_stream_new(r, o);
                struct coll c = { 0 };

                assert_int_equal(redact_stream_write(s, in, cut, collect, &c, NULL), 0);
                assert_int_equal(redact_stream_write(s, in + cut, len - cut, collect, &c, NULL), 0);
                assert_int_equal(redact_stream_finish(s, collect, &c, NULL), 0);
                if (c.n != wlen || memcmp(c.b ? c.b : "", want, wlen) != 0)
                        fail_msg("split at %zu: got \"%s\", want \"%s\"", cut, c.b ? c.b : "", want);
                redact_stream_free(s);
                free(c.b);
        }
}

#define EXACT(r, o, in, want) exact_every_split(r, o, in, sizeof(in) - 1, want, sizeof(want) - 1)

static const struct redact_opts keep = { .keep_colour = true };
static const struct redact_opts strip = { 0 };

static void colour_kept_and_stripped(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = registry();

        EXACT(r, &keep, "\x1b[1;32m+\x1b[0m create \x1b[31mweb\x1b[m\n",
              "\x1b[1;32m+\x1b[0m create \x1b[31mweb\x1b[m\n");
        EXACT(r, &strip, "\x1b[1;32m+\x1b[0m create \x1b[31mweb\x1b[m\n", "+ create web\n");
        /* other controls go in both modes */
        EXACT(r, &keep, "a\x1b[2K\x1b[1Ab\x1b]0;title\x07" "c\x1bPq#0\x1b\\d\x1b(Be\x1b" "7f\n",
              "abcdef\n");
}

/* a secret interrupted by colours is masked; a sequence strictly inside
 * the masked span goes with it, one at either edge stays in place */
static void colour_around_masks(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = registry();

        EXACT(r, &keep, "x=SEC\x1b[0mRETVALUE;\n", "x=[MASKED];\n");
        EXACT(r, &strip, "x=SEC\x1b[0mRETVALUE;\n", "x=[MASKED];\n");
        EXACT(r, &keep, "x=\x1b[31mSECRETVALUE\x1b[0m;\n", "x=\x1b[31m[MASKED]\x1b[0m;\n");
        EXACT(r, &keep, "\x1b[1mS\x1b[2mECRETVALU\x1b[3mE\x1b[4m\n", "\x1b[1m[MASKED]\x1b[4m\n");
        /* touching occurrences are one span: the sequence between them is inside */
        EXACT(r, &keep, "SECRETVALUE\x1b[7mabababab12.\n", "[MASKED].\n");
        EXACT(r, &keep, "SECRETVALUE\x1b[7m abababab12.\n", "[MASKED]\x1b[7m [MASKED].\n");
        /* at the very start and end of the input */
        EXACT(r, &keep, "\x1b[31mSECRETVALUE\x1b[0m", "\x1b[31m[MASKED]\x1b[0m");
        /* a credential body: prefix kept, colour inside the body dropped */
        EXACT(r, &keep, "ghp_abcdefghij\x1b[0mklmnopqrstuvwxyz0123456789 \x1b[0m\n",
              "ghp_[MASKED] \x1b[0m\n");
        /* a forge marker behind a colour is still made inert */
        EXACT(r, &keep, "\x1b[32m::set-output name=x::y\n", "\x1b[32m(inert)::set-output name=x::y\n");
}

static void hostile_sequences(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = registry();
        char in[256], want[256];
        size_t n;

        /* the longest kept: REDACT_SGR_MAX bytes; one more and it is dropped */
        in[0] = 'a';
        in[1] = 0x1B;
        in[2] = '[';
        for (size_t i = 3; i < REDACT_SGR_MAX; i++)
                in[i] = i % 2 ? '1' : ';';
        in[REDACT_SGR_MAX] = 'm';
        memcpy(in + REDACT_SGR_MAX + 1, "b\n", 2);
        n = REDACT_SGR_MAX + 3;
        exact_every_split(r, &keep, in, n, in, n);
        memmove(in + 4, in + 3, n - 3);
        in[3] = '1';
        memcpy(want, "ab\n", 3);
        exact_every_split(r, &keep, in, n + 1, want, 3);
        /* a huge parameter list */
        n = 0;
        memcpy(in + n, "x\x1b[", 3);
        n += 3;
        for (int i = 0; i < 60; i++) {
                memcpy(in + n, "1;", 2);
                n += 2;
        }
        memcpy(in + n, "31my\n", 5);
        exact_every_split(r, &keep, in, n + 5, "xy\n", 3);
        /* private markers, colons, intermediates, other finals */
        EXACT(r, &keep, "a\x1b[?25lb\x1b[>4;2mc\x1b[=1md\x1b[<0me\n", "abcde\n");
        EXACT(r, &keep, "a\x1b[38:2:1:2:3mb\x1b[1 mc\x1b[1;2Hd\x1b[0Ke\n", "abcde\n");
        /* an OSC inside an SGR cuts it short; the rest is text */
        EXACT(r, &keep, "a\x1b[31\x1b]0;t\x07mb\n", "amb\n");
        EXACT(r, &keep, "a\x1b[31\x1b[32mb\n", "a\x1b[32mb\n");
        /* a newline or a C0 control inside cuts it short too */
        EXACT(r, &keep, "a\x1b[3\n1mb\n", "a\n1mb\n");
        EXACT(r, &keep, "a\x1b[3\x07" "1mb\n", "a1mb\n");
        /* 8-bit CSI (C1) is not a sequence we keep: dropped as C1 */
        EXACT(r, &keep, "a\xc2\x9b" "31mb\n", "a31mb\n");
        /* unterminated at the end of the input: dropped */
        EXACT(r, &keep, "a\x1b[31", "a");
        EXACT(r, &keep, "a\x1b[", "a");
}

/* colours do not count toward the line cap and are never cut; a byte cap
 * drops a sequence whole */
static void colour_and_caps(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = registry();
        struct redact_opts o = { .keep_colour = true, .line_max = 10 };
        struct redact_opts tiny = { .line_max = 1 };
        struct redact_budget cap = { .limit = 5, .what = "step" };
        struct redact_opts oc = { .keep_colour = true, .caps = { &cap, NULL } };
        char *out;
        size_t n;

        EXACT(r, &o, "abcd\x1b[31mefgh\x1b[0mijklm\n",
              "abcd\x1b[31mefgh\x1b[0mij\n" REDACT_LINE_CONT "klm\n");
        /* a cap below 10 bytes is raised to 10 (it used to never finish) */
        EXACT(r, &tiny, "abcdefghijklmn\n",
              "abcdefghij\n" REDACT_LINE_CONT "klmn\n");
        assert_int_equal(redact_oneshot(&out, &n, r, &oc, "abc\x1b[31mde", 10, NULL), 0);
        assert_string_equal(out, "abc\n[tfgate: step output cap of 5 bytes reached; further output is "
                                 "dropped]\n\n[tfgate: 7 bytes of output dropped by the step output cap]\n");
        assert_int_equal(cap.used, 3);
        free(out);
}

/* colours inside a mask that never ends are not kept waiting for its end:
 * 16 MiB of "a\e[m" masked as one span stays in bounded memory */
static void endless_mask_bounded(void **state)
{
        struct redact_registry *r = redact_registry_new();
        struct redact_stream *s;
        struct coll c = { 0 };
        char chunk[4096];
        struct rusage before, after;

        assert_int_equal(redact_registry_add_secret(r, "A", "aaaaaaaa", 8, NULL), 0);
        assert_int_equal(redact_registry_freeze(r, NULL), 0);
        s = redact_stream_new(r, &keep);
        for (size_t i = 0; i < sizeof(chunk); i += 4)
                memcpy(chunk + i, "a\x1b[m", 4);
        assert_int_equal(getrusage(RUSAGE_SELF, &before), 0);
        for (int i = 0; i < 4096; i++)
                assert_int_equal(redact_stream_write(s, chunk, sizeof(chunk), collect, &c, NULL), 0);
        assert_int_equal(redact_stream_finish(s, collect, &c, NULL), 0);
        assert_int_equal(getrusage(RUSAGE_SELF, &after), 0);
        /* the last sequence is at the mask's edge */
        assert_string_equal(c.b, REDACT_MASK "\x1b[m");
        /* queued, the 4 Mi sequences would take 256 MiB */
        assert_true(after.ru_maxrss - before.ru_maxrss < 32 * 1024);
        redact_stream_free(s);
        redact_registry_free(r);
        free(c.b);
}

static char *slurp(int fd)
{
        static char b[4096];
        ssize_t n;

        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        n = read(fd, b, sizeof(b) - 1);
        assert_true(n >= 0);
        b[n] = '\0';
        return b;
}

/* the logsink option: forge, file and JSON get the same kept colours */
static void logsink_keeps_colour(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = registry();
        char fpath[] = "/tmp/tfgate-colour-XXXXXX", jpath[] = "/tmp/tfgate-colour-XXXXXX";
        _cleanup_close_ int ffd = mkstemp(fpath);
        _cleanup_close_ int jfd = mkstemp(jpath);
        struct coll forge = { 0 };
        struct logsink_opts lo = { .forge = collect, .forge_arg = &forge, .file_fd = ffd,
                                   .json_fd = jfd, .keep_colour = true };
        struct logsink *ls;
        static const char in[] = "\x1b[31mSEC\x1b[1mRETVALUE\x1b[0m \x1b[?1049hok\n";
        static const char want[] = "\x1b[31m[MASKED]\x1b[0m ok\n";

        assert_true(ffd >= 0 && jfd >= 0);
        unlink(fpath);
        unlink(jpath);
        ls = logsink_new(r, &lo);
        assert_int_equal(logsink_step_begin(ls, "plan", NULL), 0);
        for (size_t i = 0; i < sizeof(in) - 1; i++)
                assert_int_equal(logsink_write(ls, "stdout", in + i, 1, NULL), 0);
        assert_int_equal(logsink_step_end(ls, NULL), 0);
        logsink_free(ls);
        assert_string_equal(forge.b, want);
        assert_string_equal(slurp(ffd), want);
        assert_string_equal(slurp(jfd),
                            "{\"step\":\"plan\",\"stream\":\"stdout\",\"line\":"
                            "\"\\u001b[31m[MASKED]\\u001b[0m ok\"}\n");
        free(forge.b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(colour_kept_and_stripped),
                cmocka_unit_test(colour_around_masks),
                cmocka_unit_test(hostile_sequences),
                cmocka_unit_test(colour_and_caps),
                cmocka_unit_test(endless_mask_bounded),
                cmocka_unit_test(logsink_keeps_colour),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
