/* test_redact_stream.c - the streaming filter equals the one-shot reference
 * whatever the chunking, every encoded form is masked at every split point,
 * overlapping secrets, caps at exact byte counts, draining. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runner/redact/redact.h"
#include "runner/util/cleanup.h"
#include "redact_test_util.h"


/* stream in the given chunk sizes (cycled); result in c */
static void run_chunks(struct coll *c, const struct redact_registry *r,
                       const struct redact_opts *o, const char *in, size_t len,
                       const size_t *chunks, size_t nchunks)
{
        struct redact_stream *s = redact_stream_new(r, o);
        struct err e = ERR_INIT;
        size_t off = 0, k = 0;

        while (off < len) {
                size_t n = chunks[k++ % nchunks];

                if (n > len - off)
                        n = len - off;
                assert_int_equal(redact_stream_write(s, in + off, n, collect, c, &e), 0);
                off += n;
        }
        assert_int_equal(redact_stream_finish(s, collect, c, &e), 0);
        assert_int_equal(redact_stream_bytes_in(s), len);
        assert_int_equal(redact_stream_bytes_out(s), c->n);
        redact_stream_free(s);
}

static char *reference(const struct redact_registry *r, const struct redact_opts *o,
                       const char *in, size_t len, size_t *n)
{
        char *out;

        assert_int_equal(redact_oneshot(&out, n, r, o, in, len, NULL), 0);
        return out;
}

static void same_at_every_split(const struct redact_registry *r, const struct redact_opts *o,
                                const char *in, size_t len, const char *want)
{
        size_t rn;
        _cleanup_free_ char *ref = reference(r, o, in, len, &rn);

        if (want != NULL && strcmp(ref, want) != 0)
                fail_msg("reference: got \"%s\", want \"%s\"", ref, want);
        for (size_t cut = 0; cut <= len; cut++) {
                struct coll c = { 0 };
                size_t ch[2] = { cut, len - cut };

                if (cut == 0)
                        ch[0] = len;
                run_chunks(&c, r, o, in, len, ch, 2);
                if (c.n != rn || memcmp(c.b ? c.b : "", ref, rn) != 0)
                        fail_msg("split at %zu of \"%s\": got \"%s\", want \"%s\"", cut, in,
                                 c.b ? c.b : "", ref);
                free(c.b);
        }
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64(const uint8_t *p, size_t n)
{
        char *o = malloc(4 * (n + 2) / 3 + 4);
        size_t k = 0;

        for (size_t i = 0; i < n; i += 3) {
                uint32_t x = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                             (i + 2 < n ? p[i + 2] : 0);

                o[k++] = b64[x >> 18 & 63];
                o[k++] = b64[x >> 12 & 63];
                o[k++] = i + 1 < n ? b64[x >> 6 & 63] : '=';
                o[k++] = i + 2 < n ? b64[x & 63] : '=';
        }
        o[k] = '\0';
        return o;
}

#define SECRET "p@ss/w0rd'x+\"y"

static struct redact_registry *one_secret(const char *v, bool patterns)
{
        struct redact_registry *r = redact_registry_new();

        if (v != NULL)
                assert_int_equal(redact_registry_add_secret(r, "S", v, strlen(v), NULL), 0);
        if (patterns)
                assert_int_equal(redact_registry_add_patterns(r, NULL), 0);
        assert_int_equal(redact_registry_freeze(r, NULL), 0);
        return r;
}

/* each literal form, embedded in text, is replaced exactly, at every split */
static void every_form_every_split(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = one_secret(SECRET, true);
        static const char *const forms[] = {
                SECRET,
                "p%40ss%2Fw0rd%27x%2B%22y",
                "p%40ss%2fw0rd%27x%2b%22y",
                "p@ss/w0rd'x+\\\"y",
                "p@ss\\/w0rd'x+\\\"y",
                "p@ss/w0rd'\\''x+\"y",
        };

        for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
                char in[128], want[128];

                snprintf(in, sizeof(in), "k=%s;\n", forms[i]);
                snprintf(want, sizeof(want), "k=" REDACT_MASK ";\n");
                same_at_every_split(r, NULL, in, strlen(in), want);
        }
}

/* base64 of the secret inside longer data, at each alignment, with data
 * after it or not: no whole character that depends on the secret alone
 * survives, at every split */
static void base64_alignments_every_split(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = one_secret(SECRET, false);
        size_t sl = strlen(SECRET);

        for (size_t a = 0; a < 3; a++) {
                for (int tail = 0; tail < 2; tail++) {
                        uint8_t data[64];
                        size_t dl = 0;
                        _cleanup_free_ char *enc = NULL;
                        char in[160], mid[64];
                        size_t rn, first = (8 * a + 5) / 6, whole = (8 * (a + sl)) / 6;
                        _cleanup_free_ char *ref = NULL;

                        memcpy(data, "QZ", a);
                        dl = a;
                        memcpy(data + dl, SECRET, sl);
                        dl += sl;
                        if (tail) {
                                memcpy(data + dl, "\n!", 2);
                                dl += 2;
                        }
                        enc = base64(data, dl);
                        snprintf(in, sizeof(in), "data: %s end\n", enc);
                        ref = reference(r, NULL, in, strlen(in), &rn);
                        /* the characters that only the secret determines */
                        memcpy(mid, enc + first, whole - first);
                        mid[whole - first] = '\0';
                        assert_true(strlen(mid) >= 8);
                        for (size_t k = 0; k + 4 <= strlen(mid); k++) {
                                char piece[5];

                                memcpy(piece, mid + k, 4);
                                piece[4] = '\0';
                                if (strstr(ref, piece) != NULL)
                                        fail_msg("a=%zu tail=%d: \"%s\" left in \"%s\"", a, tail, piece, ref);
                        }
                        assert_non_null(strstr(ref, REDACT_MASK));
                        same_at_every_split(r, NULL, in, strlen(in), NULL);
                }
        }
}

static void overlapping_secrets(void **state)
{
        struct redact_registry *r = redact_registry_new();

        /* gitlab-runner's masker leaks these at an unlucky split */
        assert_int_equal(redact_registry_add_secret(r, "A", "abababab12", 10, NULL), 0);
        assert_int_equal(redact_registry_add_secret(r, "B", "aaaaaaab", 8, NULL), 0);
        /* one secret overlapping the end of another */
        assert_int_equal(redact_registry_add_secret(r, "C", "xxxxSECR", 8, NULL), 0);
        assert_int_equal(redact_registry_add_secret(r, "D", "SECRETVALUE", 11, NULL), 0);
        assert_int_equal(redact_registry_freeze(r, NULL), 0);
        same_at_every_split(r, NULL, "xabababababab12|", 16, "xabab" REDACT_MASK "|");
        same_at_every_split(r, NULL, "aaaaaaaaaaaab aaaaaaab", 22, "aaaaa" REDACT_MASK " " REDACT_MASK);
        same_at_every_split(r, NULL, "<xxxxSECRETVALUE>", 17, "<" REDACT_MASK ">");
        /* touching occurrences merge into one mask */
        same_at_every_split(r, NULL, "aaaaaaabaaaaaaab.", 17, REDACT_MASK ".");
        same_at_every_split(r, NULL, "aaaaaaab aaaaaaab.", 18, REDACT_MASK " " REDACT_MASK ".");
        redact_registry_free(r);
}

static void ansi_interrupted_secret(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = one_secret("SECRETVALUE", false);
        static const char in[] = "x=SEC\x1b[0mRET\x1b]0;t\x07VAL\xe2\x80\xaeUE\r\n";

        same_at_every_split(r, NULL, in, sizeof(in) - 1, "x=" REDACT_MASK "\n");
}

static void tokens_every_split(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = one_secret(NULL, true);
        static const char in[] =
                "a AKIAIOSFODNN7EXAMPLE b ghp_abcdefghijklmnopqrstuvwxyz0123456789 "
                "glpat-0123456789abcdefghij\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQ\nAoGB\n"
                "-----END EC PRIVATE KEY-----\nGR1348941abcdefghijklmnopqrst";

        same_at_every_split(r, NULL, in, sizeof(in) - 1,
                            "a AKIA" REDACT_MASK " b ghp_" REDACT_MASK " glpat-" REDACT_MASK
                            "\n-----BEGIN EC PRIVATE KEY-----\n" REDACT_MASK
                            "\n-----END EC PRIVATE KEY-----\nGR1348941" REDACT_MASK);
}

/* random texts built from secrets, their pieces, forms, controls, colours
 * and noise, streamed in random chunkings, against the reference, with
 * colours stripped and kept */
static int atoi_bounded(const char *s)
{
        long v = strtol(s, NULL, 10);

        return v < 1 ? 1 : v > 1000000 ? 1000000 : (int)v;
}

static void random_chunkings(void **state)
{
        struct redact_registry *r = redact_registry_new();
        static const char *const secrets[] = { "abababab12", "correct horse battery", "aaaaaaab",
                                               "tok\xc3\xa9n-\xe2\x82\xac-value", "line-one-x\nline-two-y" };
        static const char *const atoms[] = {
                "abababab12", "abab", "ab12", "aaaa", "b", "correct horse", " battery",
                "Y29ycmVjdCBob3JzZSBiYXR0ZXJ5", "correct%20horse%20battery", "\x1b[0m", "\x1b]0;x\x07",
                "\r", "\r\n", "\n", "::", "##[", "section_start:", "\xe2\x80\xae", "\xe2\x82", "\xc3",
                "AKIA", "IOSFODNN7EXAMPLE", "ghp_", "0123456789abcdefghijklmnopqrstuvwxyz",
                "-----BEGIN RSA PRIVATE KEY-----\n", "-----END RSA PRIVATE KEY-----", "glpat-",
                "line-one-x", "line-two-y", " ", "tok\xc3\xa9n-", "\xe2\x82\xac-value", "\t", "\x00",
                "\x1b[31m", "\x1b[1;32m", "\x1b[", "m", ";", "\x1b[?25l", "\x1b[38:5:1m",
        };
        struct redact_opts opts[4] = { { 0 }, { .line_max = 40 }, { .keep_colour = true },
                                       { .line_max = 40, .keep_colour = true } };

        for (size_t i = 0; i < ARRAY_SIZE(secrets); i++)
                assert_int_equal(redact_registry_add_secret(r, "S", secrets[i], strlen(secrets[i]), NULL), 0);
        assert_int_equal(redact_registry_add_patterns(r, NULL), 0);
        assert_int_equal(redact_registry_freeze(r, NULL), 0);
        rng_state = 0x2545F4914F6CDD1Dull;
        /* REDACT_PROPERTY_ITERS runs a longer search by hand (bounded) */
        int iters = getenv("REDACT_PROPERTY_ITERS") ? atoi_bounded(getenv("REDACT_PROPERTY_ITERS")) : 400;

        for (int iter = 0; iter < iters; iter++) {
                char in[2048];
                size_t len = 0, rn, chunks[16];
                int natoms = 1 + (int)(rnd() % 60);
                const struct redact_opts *o = &opts[iter & 3];
                _cleanup_free_ char *ref = NULL;
                struct coll c = { 0 };

                for (int k = 0; k < natoms; k++) {
                        const char *a = atoms[rnd() % ARRAY_SIZE(atoms)];
                        size_t al = a[0] ? strlen(a) : 1;

                        if (len + al > sizeof(in))
                                break;
                        memcpy(in + len, a, al);
                        len += al;
                }
                for (size_t k = 0; k < ARRAY_SIZE(chunks); k++)
                        chunks[k] = 1 + rnd() % (rnd() % 4 == 0 ? 64 : 7);
                ref = reference(r, o, in, len, &rn);
                run_chunks(&c, r, o, in, len, chunks, ARRAY_SIZE(chunks));
                if (getenv("DUMP") && (c.n != rn || memcmp(c.b ? c.b : "", ref, rn) != 0)) {
                        FILE *f = fopen("/tmp/redact_fail.bin", "w");
                        fwrite(in, 1, len, f);
                        fclose(f);
                        for (size_t k = 0; k < 16; k++)
                                fprintf(stderr, "%zu ", chunks[k]);
                }
                if (c.n != rn || memcmp(c.b ? c.b : "", ref, rn) != 0)
                        fail_msg("iteration %d: stream \"%s\" != reference \"%s\"", iter,
                                 c.b ? c.b : "", ref);
                /* no registered secret survives, whole */
                for (size_t k = 0; k < 3; k++)
                        assert_null(strstr(ref, secrets[k]));
                free(c.b);
        }
        redact_registry_free(r);
}

static void line_cap_splits_visibly(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = one_secret("0123456789abcdef", false);
        struct redact_opts o = { .line_max = 10 };

        same_at_every_split(r, &o, "aaaaaaaaaabbbbb\nshort\n", 22,
                            "aaaaaaaaaa\n" REDACT_LINE_CONT "bbbb\n" REDACT_LINE_CONT "b\nshort\n");
        /* a marker pushed to the start of a split-off part stays inert */
        same_at_every_split(r, &o, "xxxxxxxxxx::set-env::y\n", 23,
                            "xxxxxxxxxx\n" REDACT_LINE_CONT "::se\n" REDACT_LINE_CONT "t-en\n"
                            REDACT_LINE_CONT "v::y\n");
        /* a secret across the split point is masked before the split */
        same_at_every_split(r, &o, "xxxxx0123456789abcdefyy\n", 24,
                            "xxxxx[MASK\n" REDACT_LINE_CONT "ED]y\n" REDACT_LINE_CONT "y\n");
        /* never inside a character */
        same_at_every_split(r, &o, "123456789\xc3\xa9x\n", 13,
                            "123456789\n" REDACT_LINE_CONT "\xc3\xa9x\n");
}

static void caps_exact(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = one_secret(NULL, false);
        struct redact_budget step = { .limit = 100, .what = "step" };
        struct redact_budget job = { .limit = 150, .what = "job" };
        struct redact_opts o = { .caps = { &step, &job } };
        char in[1000];
        struct coll c = { 0 };
        size_t one = 1;

        memset(in, 'x', sizeof(in));
        /* exactly the cap: no note */
        run_chunks(&c, r, &o, in, 100, &one, 1);
        assert_int_equal(c.n, 100);
        assert_int_equal(step.dropped, 0);
        assert_false(step.noted);
        free(c.b);
        /* one byte over, byte by byte: 100 bytes, the note, 1 byte counted */
        memset(&c, 0, sizeof(c));
        step = (struct redact_budget){ .limit = 100, .what = "step" };
        job = (struct redact_budget){ .limit = 150, .what = "job" };
        run_chunks(&c, r, &o, in, 101, &one, 1);
        assert_string_equal(c.b + 100,
                            "\n[tfgate: step output cap of 100 bytes reached; further output is dropped]\n"
                            "\n[tfgate: 1 bytes of output dropped by the step output cap]\n");
        assert_memory_equal(c.b, in, 100);
        assert_int_equal(step.used, 100);
        assert_int_equal(step.dropped, 1);
        free(c.b);
        /* the job budget carries over to the next step's stream */
        memset(&c, 0, sizeof(c));
        step = (struct redact_budget){ .limit = 100, .what = "step" };
        run_chunks(&c, r, &o, in, 1000, (size_t[]){ 333 }, 1);
        assert_int_equal(job.used, 150);
        assert_int_equal(job.dropped, 950);
        assert_memory_equal(c.b, in, 50);
        assert_string_equal(c.b + 50,
                            "\n[tfgate: job output cap of 150 bytes reached; further output is dropped]\n"
                            "\n[tfgate: 950 bytes of output dropped by the job output cap]\n");
        free(c.b);
}

/* a producer that never stops: every write returns, memory stays bounded,
 * the count of dropped bytes is exact */
static void flood_is_drained(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = one_secret("0123456789abcdef", true);
        struct redact_budget step = { .limit = 4096, .what = "step" };
        struct redact_opts o = { .caps = { &step, NULL } };
        struct redact_stream *s = redact_stream_new(r, &o);
        struct coll c = { 0 };
        char chunk[65536];
        uint64_t total = 0;

        for (size_t i = 0; i < sizeof(chunk); i++)
                chunk[i] = (char)('a' + i % 26);
        for (int i = 0; i < 160; i++) {         /* 10 MiB */
                assert_int_equal(redact_stream_write(s, chunk, sizeof(chunk), collect, &c, NULL), 0);
                total += sizeof(chunk);
        }
        assert_int_equal(redact_stream_finish(s, collect, &c, NULL), 0);
        assert_true(c.n < 4096 + 300);
        assert_int_equal(step.used, 4096);
        assert_int_equal(step.used + step.dropped, total);
        assert_non_null(strstr(c.b, "10481664 bytes of output dropped"));
        redact_stream_free(s);
        free(c.b);
}

static void output_error_is_reported(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = one_secret(NULL, false);
        struct redact_stream *s = redact_stream_new(r, NULL);
        struct coll c = { .fail_after = 1 };
        struct err e = ERR_INIT;

        assert_int_equal(redact_stream_write(s, "hello world\n", 12, collect, &c, &e), -EIO);
        assert_non_null(strstr(e.msg, "writing output"));
        /* nothing was held back: a finished line is not kept waiting */
        assert_int_equal(redact_stream_finish(s, collect, &c, &e), 0);
        assert_int_equal(redact_stream_write(s, "x", 1, collect, &c, &e), -EPIPE);
        redact_stream_free(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(every_form_every_split),
                cmocka_unit_test(base64_alignments_every_split),
                cmocka_unit_test(overlapping_secrets),
                cmocka_unit_test(ansi_interrupted_secret),
                cmocka_unit_test(tokens_every_split),
                cmocka_unit_test(random_chunkings),
                cmocka_unit_test(line_cap_splits_visibly),
                cmocka_unit_test(caps_exact),
                cmocka_unit_test(flood_is_drained),
                cmocka_unit_test(output_error_is_reported),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
