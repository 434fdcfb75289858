/* redact_simd.c - the two byte scans every byte of output goes through,
 * vectorised: the normaliser's run of plain bytes, and the credential-rule
 * prefilter.  AVX2 is chosen at run time (__builtin_cpu_supports) where
 * the CPU has it, SSE2 (always there on x86-64) otherwise, and plain C on
 * other architectures.  All versions return the same results; the vector
 * loops only decide where the scalar code has to look.
 *
 * The rule prefilter classifies bytes by their two nibbles (the "shufti"
 * technique): a 16-entry table for the low nibble and one for the high
 * nibble, ANDed, give each byte a set of bucket bits.  Bits 0-3 stand for
 * "may be the first byte of a rule prefix", bits 4-7 for "may be the
 * second byte"; a position is a candidate when its byte has a first-byte
 * bit and the next byte a second-byte bit.  The classes may be wider than
 * the sets (buckets are shared when the sets have more than 4 distinct
 * high nibbles); the exact 2-byte table decides. */
#include "redact_int.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RSIMD_X86 1
#endif

/* bytes the normaliser passes through unchanged in mid-line: printable
 * ASCII and tab, except '#' (which may begin "##[") */
static bool is_plain(uint8_t c)
{
        return c == '\t' || (c >= 0x20 && c < 0x7F && c != '#');
}

static size_t plain_run_c(const uint8_t *p, size_t n)
{
        size_t i = 0;

        while (i < n && is_plain(p[i]))
                i++;
        return i;
}


static size_t tok_next_c(const struct redact_registry *r, const uint8_t *w, size_t i, size_t n)
{
        for (; i + 2 <= n; i++)
                if (rtok_maybe(r, w + i, n - i))
                        return i;
        return SIZE_MAX;
}

void rtok_classes(struct redact_registry *r)
{
        uint8_t hi[2][RTOKSET_MAX];
        size_t nhi[2] = { 0, 0 };
        const uint8_t *set[2] = { r->tokfirst, r->toksecond };
        size_t nset[2] = { r->ntokfirst, r->ntoksecond };

        memset(r->toklo, 0, sizeof(r->toklo));
        memset(r->tokhi, 0, sizeof(r->tokhi));
        for (int k = 0; k < 2; k++) {
                for (size_t i = 0; i < nset[k]; i++) {
                        uint8_t b = set[k][i], h = b >> 4;
                        size_t bucket = 0;

                        while (bucket < nhi[k] && hi[k][bucket] != h)
                                bucket++;
                        if (bucket == nhi[k])
                                hi[k][nhi[k]++] = h;
                        bucket = 4 * (size_t)k + bucket % 4;
                        r->toklo[b & 15] |= (uint8_t)(1u << bucket);
                        r->tokhi[h] |= (uint8_t)(1u << bucket);
                }
        }
}

#ifdef RSIMD_X86
static size_t plain_run_sse2(const uint8_t *p, size_t n)
{
        const __m128i sp = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7F);
        const __m128i hash = _mm_set1_epi8('#'), tab = _mm_set1_epi8('\t');
        size_t i = 0;

        for (; i + 16 <= n; i += 16) {
                __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
                /* signed: below 0x20 or 0x80 and up */
                __m128i bad = _mm_andnot_si128(_mm_cmpeq_epi8(v, tab), _mm_cmpgt_epi8(sp, v));
                unsigned m;

                bad = _mm_or_si128(bad, _mm_or_si128(_mm_cmpeq_epi8(v, del), _mm_cmpeq_epi8(v, hash)));
                m = (unsigned)_mm_movemask_epi8(bad);
                if (m != 0)
                        return i + (size_t)__builtin_ctz(m);
        }
        return i + plain_run_c(p + i, n - i);
}

static size_t tok_next_sse2(const struct redact_registry *r, const uint8_t *w, size_t i, size_t n)
{
        __m128i f[RTOKSET_MAX], sc[RTOKSET_MAX];
        size_t nf = r->ntokfirst, ns = r->ntoksecond;

        if (nf == 0 || ns == 0)
                return tok_next_c(r, w, i, n);
        for (size_t k = 0; k < nf; k++)
                f[k] = _mm_set1_epi8((char)r->tokfirst[k]);
        for (size_t k = 0; k < ns; k++)
                sc[k] = _mm_set1_epi8((char)r->toksecond[k]);
        while (i + 17 <= n) {
                __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(w + i));
                __m128i v1 = _mm_loadu_si128((const __m128i *)(const void *)(w + i + 1));
                __m128i m = _mm_cmpeq_epi8(v, f[0]);
                __m128i m1 = _mm_cmpeq_epi8(v1, sc[0]);
                unsigned bits;

                for (size_t k = 1; k < nf; k++)
                        m = _mm_or_si128(m, _mm_cmpeq_epi8(v, f[k]));
                for (size_t k = 1; k < ns; k++)
                        m1 = _mm_or_si128(m1, _mm_cmpeq_epi8(v1, sc[k]));
                bits = (unsigned)_mm_movemask_epi8(_mm_and_si128(m, m1));
                while (bits != 0) {
                        size_t p = i + (size_t)__builtin_ctz(bits);

                        if (rtok_maybe(r, w + p, n - p))
                                return p;
                        bits &= bits - 1;
                }
                i += 16;
        }
        return tok_next_c(r, w, i, n);
}

__attribute__((target("avx2")))
static size_t plain_run_avx2(const uint8_t *p, size_t n)
{
        const __m256i sp = _mm256_set1_epi8(0x20), del = _mm256_set1_epi8(0x7F);
        const __m256i hash = _mm256_set1_epi8('#'), tab = _mm256_set1_epi8('\t');
        size_t i = 0;

        for (; i + 32 <= n; i += 32) {
                __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
                __m256i bad = _mm256_andnot_si256(_mm256_cmpeq_epi8(v, tab), _mm256_cmpgt_epi8(sp, v));
                unsigned m;

                bad = _mm256_or_si256(bad, _mm256_or_si256(_mm256_cmpeq_epi8(v, del),
                                                           _mm256_cmpeq_epi8(v, hash)));
                m = (unsigned)_mm256_movemask_epi8(bad);
                if (m != 0)
                        return i + (size_t)__builtin_ctz(m);
        }
        return i + plain_run_sse2(p + i, n - i);
}

/* candidates among the 32 positions at w: bit k set when w[k] may begin a
 * prefix and w[k + 1] may continue it */
__attribute__((target("avx2")))
static unsigned tok_cands_avx2(__m256i lo, __m256i hi, const uint8_t *w)
{
        const __m256i nib = _mm256_set1_epi8(0x0F), zero = _mm256_setzero_si256();
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)w);
        __m256i v1 = _mm256_loadu_si256((const __m256i *)(const void *)(w + 1));
        __m256i c = _mm256_and_si256(_mm256_shuffle_epi8(lo, _mm256_and_si256(v, nib)),
                                     _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi16(v, 4), nib)));
        __m256i c1 = _mm256_and_si256(_mm256_shuffle_epi8(lo, _mm256_and_si256(v1, nib)),
                                      _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi16(v1, 4), nib)));
        unsigned f = ~(unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_and_si256(c, nib), zero));
        unsigned s = ~(unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_andnot_si256(nib, c1), zero));

        return f & s;
}

__attribute__((target("avx2")))
static size_t tok_next_avx2(const struct redact_registry *r, const uint8_t *w, size_t i, size_t n)
{
        const __m256i lo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)r->toklo));
        const __m256i hi = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)r->tokhi));

        for (; i + 33 <= n; i += 32) {
                unsigned bits = tok_cands_avx2(lo, hi, w + i);

                while (bits != 0) {
                        size_t p = i + (size_t)__builtin_ctz(bits);

                        if (rtok_maybe(r, w + p, n - p))
                                return p;
                        bits &= bits - 1;
                }
        }
        return tok_next_c(r, w, i, n);
}
#endif

size_t rsimd_plain_run(const uint8_t *p, size_t n)
{
#ifdef RSIMD_X86
        if (__builtin_cpu_supports("avx2"))
                return plain_run_avx2(p, n);
        return plain_run_sse2(p, n);
#else
        return plain_run_c(p, n);
#endif
}

size_t rsimd_tok_next(const struct redact_registry *r, const uint8_t *w, size_t i, size_t n)
{
#ifdef RSIMD_X86
        if (__builtin_cpu_supports("avx2"))
                return tok_next_avx2(r, w, i, n);
        return tok_next_sse2(r, w, i, n);
#else
        return tok_next_c(r, w, i, n);
#endif
}

/* the portable versions, for tests that compare them with what the CPU runs */
size_t rsimd_plain_run_ref(const uint8_t *p, size_t n)
{
        return plain_run_c(p, n);
}

size_t rsimd_tok_next_ref(const struct redact_registry *r, const uint8_t *w, size_t i, size_t n)
{
        return tok_next_c(r, w, i, n);
}
