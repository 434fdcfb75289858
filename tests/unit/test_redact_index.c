/* test_redact_index.c - the matcher's index (key groups behind two blocked
 * Bloom filters, capped in size) never drops a true match: thousands of
 * secrets sharing prefixes and suffixes, one key shared by a thousand
 * forms, 10,000 secrets with a planted match at every split point of a
 * two-chunk write, matches across the stream's internal 64 KiB chunks,
 * filters filled past their design size, duplicate forms; with many
 * secrets, the stream still equals the one-shot reference; and the vector
 * scans (redact_simd.c, an internal interface) agree with their C versions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runner/redact/redact.h"
#include "runner/redact/redact_int.h"
#include "runner/util/cleanup.h"
#include "redact_test_util.h"


static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* secret i: prefix, then random alphanumerics up to len, then suffix */
static char *make_secret(const char *prefix, size_t len, const char *suffix)
{
        size_t pl = strlen(prefix), sl = strlen(suffix);
        char *s = malloc(len + 1);

        assert_non_null(s);
        assert_true(pl + sl <= len);
        memcpy(s, prefix, pl);
        for (size_t k = pl; k < len - sl; k++)
                s[k] = alnum[rnd() % 62];
        memcpy(s + len - sl, suffix, sl);
        s[len] = '\0';
        return s;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64(const char *in)
{
        const uint8_t *p = (const uint8_t *)in;
        size_t n = strlen(in), k = 0;
        char *o = malloc(4 * (n + 2) / 3 + 4);

        assert_non_null(o);
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

struct set {
        struct redact_registry *r;
        char **v;
        size_t n;
};

static void set_build(struct set *s, size_t n, const char *prefix, const char *suffix)
{
        s->r = redact_registry_new();
        s->v = calloc(n, sizeof(*s->v));
        s->n = n;
        assert_non_null(s->v);
        for (size_t i = 0; i < n; i++) {
                s->v[i] = make_secret(prefix, 16 + rnd() % 25, suffix);
                assert_int_equal(redact_registry_add_secret(s->r, "S", s->v[i], strlen(s->v[i]), NULL), 0);
        }
        assert_int_equal(redact_registry_freeze(s->r, NULL), 0);
}

static void set_free(struct set *s)
{
        for (size_t i = 0; i < s->n; i++)
                free(s->v[i]);
        free(s->v);
        redact_registry_free(s->r);
}

static void stream_chunks(struct coll *c, const struct redact_registry *r, const char *in,
                          size_t len, size_t chunk)
{
        struct redact_stream *s = redact_stream_new(r, NULL);

        for (size_t off = 0; off < len; off += chunk)
                assert_int_equal(redact_stream_write(s, in + off, len - off < chunk ? len - off : chunk,
                                                     collect, c, NULL), 0);
        assert_int_equal(redact_stream_finish(s, collect, c, NULL), 0);
        redact_stream_free(s);
}

/* every secret of the set, raw and in base64, one per line: every line is
 * masked whole, whatever the chunk size */
static void every_line_masked(const struct set *s, const size_t *chunks, size_t nchunks)
{
        size_t cap = 0, len = 0, wlen = 0;
        char *in, *want;

        for (size_t i = 0; i < s->n; i++)
                cap += 2 * strlen(s->v[i]) + 16;
        in = malloc(cap);
        want = malloc(cap);
        assert_non_null(in);
        assert_non_null(want);
        for (size_t i = 0; i < s->n; i++) {
                _cleanup_free_ char *enc = base64(s->v[i]);

                len += (size_t)snprintf(in + len, cap - len, "%s\n- %s\n", s->v[i], enc);
                wlen += (size_t)snprintf(want + wlen, cap - wlen, REDACT_MASK "\n- " REDACT_MASK "\n");
        }
        for (size_t k = 0; k < nchunks; k++) {
                struct coll c = { 0 };

                stream_chunks(&c, s->r, in, len, chunks[k]);
                if (c.n != wlen || memcmp(c.b, want, wlen) != 0) {
                        size_t d = 0;

                        while (d < c.n && d < wlen && c.b[d] == want[d])
                                d++;
                        fail_msg("chunk %zu: output differs at byte %zu: \"%.60s\"", chunks[k], d,
                                 c.b + (d > 20 ? d - 20 : 0));
                }
                free(c.b);
        }
        free(in);
        free(want);
}

static const size_t chunk_sizes[] = { 1, 7, 64, 4093, 1 << 20 };

/* 1,000 secrets sharing their first 8 bytes: one key, a thousand forms
 * behind it */
static void shared_prefix(void **state)
{
        struct set s;

        rng_state = 0x1234567;
        set_build(&s, 1000, "PREFIXED", "");
        every_line_masked(&s, (const size_t[]){ 1, 4093, 1 << 20 }, 3);
        set_free(&s);
}

/* secrets sharing a long suffix, and short ones (8 bytes: the key is the
 * whole form) */
static void shared_suffix_and_short(void **state)
{
        struct set s;
        struct redact_registry *r = redact_registry_new();
        static const char in[] = "a=12345678;b=1234567;c=x12345678y;d=abcdefgh\n";
        struct coll c = { 0 };

        rng_state = 0x7654321;
        set_build(&s, 2000, "", "-common-suffix");
        every_line_masked(&s, chunk_sizes, ARRAY_SIZE(chunk_sizes));
        set_free(&s);
        assert_int_equal(redact_registry_add_secret(r, "A", "12345678", 8, NULL), 0);
        assert_int_equal(redact_registry_add_secret(r, "B", "abcdefgh", 8, NULL), 0);
        assert_int_equal(redact_registry_freeze(r, NULL), 0);
        for (size_t k = 0; k < ARRAY_SIZE(chunk_sizes); k++) {
                stream_chunks(&c, r, in, sizeof(in) - 1, chunk_sizes[k]);
                assert_string_equal(c.b, "a=[MASKED];b=1234567;c=x[MASKED]y;d=[MASKED]\n");
                c.n = 0;
        }
        free(c.b);
        redact_registry_free(r);
}

/* 10,000 secrets; for a sample of them, raw and base64 in a line, at every
 * split point of a two-chunk write */
static void ten_thousand_every_split(void **state)
{
        struct set s;

        rng_state = 0xC0FFEE;
        set_build(&s, 10000, "", "");
        for (size_t i = 0; i < s.n; i += 397) {
                _cleanup_free_ char *enc = base64(s.v[i]);
                char in[256];
                int len = snprintf(in, sizeof(in), "k=%s v=%s;", s.v[i], enc);

                for (int cut = 0; cut <= len; cut++) {
                        struct redact_stream *st = redact_stream_new(s.r, NULL);
                        struct coll c = { 0 };

                        assert_int_equal(redact_stream_write(st, in, (size_t)cut, collect, &c, NULL), 0);
                        assert_int_equal(redact_stream_write(st, in + cut, (size_t)(len - cut), collect, &c, NULL), 0);
                        assert_int_equal(redact_stream_finish(st, collect, &c, NULL), 0);
                        if (c.b == NULL || strcmp(c.b, "k=" REDACT_MASK " v=" REDACT_MASK ";") != 0)
                                fail_msg("secret %zu, split at %d: \"%s\"", i, cut, c.b ? c.b : "");
                        redact_stream_free(st);
                        free(c.b);
                }
        }
        set_free(&s);
}

/* secrets planted at every offset around the stream's internal 64 KiB
 * chunk boundary, at the start and at the very end of the input */
static void across_internal_chunks(void **state)
{
        struct set s;
        const size_t total = 3 * 65536;
        char *in = malloc(total + 64), *want = malloc(total + 64);

        rng_state = 0xBADC0DE;
        set_build(&s, 1000, "", "");
        assert_non_null(in);
        assert_non_null(want);
        for (size_t at = 65536 - 45; at <= 65536 + 3; at++) {
                const char *v = s.v[at % s.n];
                size_t vl = strlen(v), len = total, wl;
                struct coll c = { 0 };

                memset(in, '.', total);
                memcpy(in, v, vl);
                memcpy(in + at, v, vl);
                memcpy(in + total - vl, v, vl);
                memcpy(want, REDACT_MASK, 8);
                wl = 8;
                memset(want + wl, '.', at - vl);
                wl += at - vl;
                memcpy(want + wl, REDACT_MASK, 8);
                wl += 8;
                memset(want + wl, '.', total - vl - (at + vl));
                wl += total - vl - (at + vl);
                memcpy(want + wl, REDACT_MASK, 8);
                wl += 8;
                for (size_t k = 0; k < 2; k++) {
                        stream_chunks(&c, s.r, in, len, k ? 4096 : total);
                        if (c.n != wl || memcmp(c.b, want, wl) != 0)
                                fail_msg("secret at %zu not masked exactly", at);
                        c.n = 0;
                }
                free(c.b);
        }
        free(in);
        free(want);
        set_free(&s);
}

/* far more keys than the filters were sized for (their size is capped):
 * more candidates, never a missed match */
static void filters_past_capacity(void **state)
{
        struct set s;
        struct set sample;

        rng_state = 0xFEEDFACE;
        set_build(&s, 40000, "", "");
        sample.r = s.r;
        sample.n = 400;
        sample.v = s.v + 1000;
        every_line_masked(&sample, (const size_t[]){ 13, 1 << 20 }, 2);
        set_free(&s);
}

/* duplicates are dropped wherever they come from */
static void duplicate_forms(void **state)
{
        struct redact_registry *a = redact_registry_new(), *b = redact_registry_new();
        static const char *const v[] = { "SECRETVALUE", "U0VDUkVUVkFMVUU=", "another-one-here" };

        for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
                assert_int_equal(redact_registry_add_secret(a, "A", v[i], strlen(v[i]), NULL), 0);
                for (int k = 0; k < 3; k++)
                        assert_int_equal(redact_registry_add_secret(b, "B", v[i], strlen(v[i]), NULL), 0);
        }
        /* apart by more than the look-back while adding */
        for (int i = 0; i < 20; i++) {
                char f[32];

                snprintf(f, sizeof(f), "filler-secret-%02d", i);
                assert_int_equal(redact_registry_add_secret(a, "F", f, strlen(f), NULL), 0);
                assert_int_equal(redact_registry_add_secret(b, "F", f, strlen(f), NULL), 0);
        }
        assert_int_equal(redact_registry_add_secret(b, "B", v[0], strlen(v[0]), NULL), 0);
        assert_int_equal(redact_registry_freeze(a, NULL), 0);
        assert_int_equal(redact_registry_freeze(b, NULL), 0);
        assert_int_equal(redact_registry_nforms(a), redact_registry_nforms(b));
        redact_registry_free(a);
        redact_registry_free(b);
}

/* many secrets with shared pieces, random texts of their pieces and forms,
 * random chunkings: stream equals reference */
static void many_secrets_against_reference(void **state)
{
        struct set s;
        char *atoms[64];

        rng_state = 0xABCDEF;
        set_build(&s, 300, "", "");
        for (size_t i = 0; i < ARRAY_SIZE(atoms); i++) {
                const char *v = s.v[rnd() % s.n];
                size_t vl = strlen(v), a = rnd() % vl, b = a + 1 + rnd() % (vl - a);

                if (i % 4 == 0)
                        atoms[i] = base64(v);
                else if (i % 4 == 1)
                        atoms[i] = strdup(v);
                else
                        atoms[i] = strndup(v + a, b - a);
                assert_non_null(atoms[i]);
        }
        for (int iter = 0; iter < 60; iter++) {
                char in[400];
                size_t len = 0, rn;
                _cleanup_free_ char *ref = NULL;
                struct coll c = { 0 };
                size_t chunk = 1 + rnd() % 50;

                while (len < 300) {
                        const char *a = atoms[rnd() % ARRAY_SIZE(atoms)];
                        size_t al = strlen(a);

                        memcpy(in + len, a, al);
                        len += al;
                        in[len++] = " \n="[rnd() % 3];
                }
                assert_int_equal(redact_oneshot(&ref, &rn, s.r, NULL, in, len, NULL), 0);
                stream_chunks(&c, s.r, in, len, chunk);
                if (c.n != rn || memcmp(c.b, ref, rn) != 0)
                        fail_msg("iteration %d: \"%s\" != \"%s\"", iter, c.b, ref);
                free(c.b);
        }
        for (size_t i = 0; i < ARRAY_SIZE(atoms); i++)
                free(atoms[i]);
        set_free(&s);
}

/* the plain-run and rule-prefix scans the CPU runs (AVX2 or SSE2) agree
 * with the portable ones at every start and length, on text dense with
 * the bytes they look for */
static void vector_scans_agree(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = redact_registry_new();
        static const char pool[] = "AKIASgGh_l-#\t \x7f\x1b\x80\xc3\xe2lpitbo0aZ\n";
        uint8_t buf[300];

        assert_int_equal(redact_registry_add_patterns(r, NULL), 0);
        assert_int_equal(redact_registry_freeze(r, NULL), 0);
        rng_state = 0x5EED;
        for (int iter = 0; iter < 200; iter++) {
                static const char *const prefixes[] = { "AKIA", "ghp_", "glpat-", "gldt-", "gi",
                                                        "-----BEGIN ", "_gitlab_session=", "GR1348941" };
                size_t hits = 0;

                for (size_t i = 0; i < sizeof(buf);) {
                        const char *a = prefixes[rnd() % ARRAY_SIZE(prefixes)];
                        size_t al = strlen(a);

                        if (rnd() % 8 == 0 && i + al <= sizeof(buf)) {
                                memcpy(buf + i, a, al);
                                i += al;
                        } else {
                                buf[i++] = (uint8_t)(rnd() % 4 ? pool[rnd() % (sizeof(pool) - 1)] : 'x');
                        }
                }
                for (size_t i = 0; rsimd_tok_next_ref(r, buf, i, sizeof(buf)) != SIZE_MAX; hits++)
                        i = rsimd_tok_next_ref(r, buf, i, sizeof(buf)) + 1;
                assert_true(hits > 0);
                for (size_t from = 0; from < 70; from++) {
                        size_t n = sizeof(buf) - from - rnd() % 40;

                        assert_int_equal(rsimd_plain_run(buf + from, n), rsimd_plain_run_ref(buf + from, n));
                        for (size_t i = from; i < sizeof(buf); i = rsimd_tok_next_ref(r, buf, i, n + from) + 1) {
                                size_t want = rsimd_tok_next_ref(r, buf, i, n + from);

                                assert_int_equal(rsimd_tok_next(r, buf, i, n + from), want);
                                if (want == SIZE_MAX)
                                        break;
                        }
                }
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(shared_prefix),
                cmocka_unit_test(shared_suffix_and_short),
                cmocka_unit_test(ten_thousand_every_split),
                cmocka_unit_test(across_internal_chunks),
                cmocka_unit_test(filters_past_capacity),
                cmocka_unit_test(duplicate_forms),
                cmocka_unit_test(many_secrets_against_reference),
                cmocka_unit_test(vector_scans_agree),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
