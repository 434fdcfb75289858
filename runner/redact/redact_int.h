/* redact_int.h - shared between the files of the redact module only; not
 * part of its interface (that is redact.h and logsink.h). */
#ifndef TFGATE_REDACT_INT_H
#define TFGATE_REDACT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "redact.h"

/* ---- normaliser (redact_norm.c) ---- */

/* Keep-colour mode: an SGR sequence (ESC [ digits and ';' m, at most
 * RSGR_MAX bytes in all) is not part of the text that is matched; it is
 * recorded with its position in that text and put back on output. */
#define RSGR_MAX REDACT_SGR_MAX

struct rsgr {
        uint64_t pos;           /* text bytes before it (absolute) */
        uint8_t len;
        uint8_t b[RSGR_MAX];
};

/* recorded SGR sequences, in position order; v[head..n) are pending */
struct rsgrs {
        struct rsgr *v;
        size_t head, n, cap;
};

void rsgrs_free(struct rsgrs *q);

struct rnorm {
        uint8_t esc;            /* enum in redact_norm.c: where in an escape sequence */
        uint8_t u8need;         /* continuation bytes still expected */
        uint8_t u8len;          /* bytes of the partial sequence held in u8buf */
        uint8_t u8buf[4];
        uint32_t cp;            /* code point being decoded */
        uint32_t u8min;         /* smallest code point allowed for this length */
        bool cr;                /* a CR is pending: LF makes it a newline */
        bool line_text;         /* the line has had a non-blank character */
        uint8_t mklen;          /* bytes of a possible forge marker held in mk */
        bool mk_at_start;       /* the held candidate began on a blank line start */
        uint8_t mk[16];
        uint64_t pos;           /* text bytes written so far */
        struct rsgrs *sgrs;     /* NULL: SGR sequences are dropped like any CSI */
        uint8_t sgrlen;         /* bytes of the CSI in progress kept in sgr */
        bool sgr_ok;            /* it can still be a kept SGR */
        uint8_t sgr[RSGR_MAX];
};

/* worst-case output of feeding len bytes plus finishing */
#define RNORM_BOUND(len) ((len) * 16 + 64)

/* sgrs: where kept SGR sequences go (keep-colour), or NULL */
void rnorm_init(struct rnorm *n, struct rsgrs *sgrs);
/* out must have room for RNORM_BOUND(len); returns bytes written */
size_t rnorm_feed(struct rnorm *n, const uint8_t *in, size_t len, uint8_t *out);
size_t rnorm_finish(struct rnorm *n, uint8_t *out);

/* ---- registry (redact_registry.c) ---- */

struct rform {
        uint32_t off;           /* into the arena */
        uint32_t len;
};

#define RFORM_NONE UINT32_MAX

/* Sampling: every form is at least 8 bytes, so an occurrence starting at p
 * contains, at the first position j >= p that is a multiple of RSTRIDE,
 * the RGRAM bytes of the form at offset j - p (< RSTRIDE, and
 * j - p + RGRAM <= 8: inside the form's first 8 bytes, its key).  The scan
 * tests only those positions against the gram filter; a position that
 * passes has its RSTRIDE possible starts tested against the key filter,
 * and a start that passes that is looked up by its key. */
#define RGRAM 4
#define RSTRIDE 5
#define RKEY 8

#define RTOKSET_MAX 16
#define RTOK4_BITS 4096

/* forms sharing their first RKEY bytes (a secret's base64 variants, both
 * percent cases of an alphanumeric value...): forms[first .. first + n) */
struct rgroup {
        uint64_t key;
        uint32_t first;
        uint32_t n;
};

/* A blocked Bloom filter: a key sets 2 bits of one 64-bit word, so a test
 * is one load.  Sized from the number of keys and capped (see
 * redact_registry.c), so the one the scan probes every RSTRIDE bytes stays
 * in L1/L2 whatever the number of secrets. */
struct rfilter {
        uint64_t *w;
        unsigned shift;         /* 64 - log2(words) */
};

struct redact_registry {
        struct rform *forms;            /* frozen: ordered by group */
        size_t nforms, cap;
        uint8_t *arena;
        size_t alen, acap;
        size_t maxlen;
        bool frozen;
        bool patterns;
        struct rgroup *groups;
        size_t ngroups;
        uint32_t *gtab;                 /* key hash -> group index, open addressing */
        unsigned gtbits;
        struct rfilter gramf;           /* RGRAM-byte grams at offsets 0..RSTRIDE-1 of the keys */
        struct rfilter keyf;            /* the keys */
        uint8_t tokfirst[RTOKSET_MAX];  /* distinct first bytes of the rule prefixes */
        size_t ntokfirst;
        uint8_t toksecond[RTOKSET_MAX]; /* and second bytes */
        size_t ntoksecond;
        uint64_t tok2[65536 / 64];      /* 2-byte prefixes of the credential rules */
        uint64_t tok4[RTOK4_BITS / 64]; /* hashed 4-byte prefixes (all are >= 4 bytes) */
        uint8_t toklo[16], tokhi[16];   /* nibble classes of tokfirst/toksecond (redact_simd.c) */
        uint64_t *bekeys;               /* the keys as big-endian numbers, sorted: which
                                         * keys begin with given bytes */
};

static inline uint64_t rload64(const uint8_t *p)
{
        uint64_t x;

        memcpy(&x, p, 8);
        return x;
}

static inline uint32_t rload32(const uint8_t *p)
{
        uint32_t x;

        memcpy(&x, p, 4);
        return x;
}

static inline uint16_t rload16(const uint8_t *p)
{
        uint16_t x;

        memcpy(&x, p, 2);
        return x;
}

#define RHASH_K 0x9E3779B97F4A7C15ull

/* 8 bytes loaded with memcpy, as a number whose order is the bytes' order */
static inline uint64_t rbig_endian(uint64_t native)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return __builtin_bswap64(native);
#else
        return native;
#endif
}

/* gram or key hash: the top bits pick the filter word, the two 6-bit
 * fields right below them the bits in it (a product's high bits depend on
 * all of the input; its low ones do not) */
static inline uint64_t rhash64(uint64_t x)
{
        x ^= x >> 29;
        return x * RHASH_K;
}

static inline uint64_t rfilter_mask(uint64_t h, unsigned shift)
{
        return 1ull << (h >> (shift - 6) & 63) | 1ull << (h >> (shift - 12) & 63);
}

static inline bool rfilter_test(const struct rfilter *f, uint64_t h)
{
        uint64_t m = rfilter_mask(h, f->shift);

        return (f->w[h >> f->shift] & m) == m;
}

/* the group whose key is key, or NULL */
static inline const struct rgroup *rgroup_find(const struct redact_registry *r, uint64_t key)
{
        size_t mask = ((size_t)1 << r->gtbits) - 1;

        for (size_t i = rhash64(key) >> (64 - r->gtbits);; i = (i + 1) & mask) {
                uint32_t g = r->gtab[i];

                if (g == RFORM_NONE)
                        return NULL;
                if (r->groups[g].key == key)
                        return &r->groups[g];
        }
}


/* ---- vectorised scans (redact_simd.c) ---- */

/* how many bytes from p the normaliser may copy as they are (printable
 * ASCII and tab, not '#') */
size_t rsimd_plain_run(const uint8_t *p, size_t n);
/* the next i' >= i with i' + 2 <= n where a credential rule may start
 * (rtok_maybe), or SIZE_MAX */
size_t rsimd_tok_next(const struct redact_registry *r, const uint8_t *w, size_t i, size_t n);
/* fill toklo/tokhi from tokfirst/toksecond */
void rtok_classes(struct redact_registry *r);
/* the portable versions, which tests compare with the vector ones */
size_t rsimd_plain_run_ref(const uint8_t *p, size_t n);
size_t rsimd_tok_next_ref(const struct redact_registry *r, const uint8_t *w, size_t i, size_t n);

/* ---- credential rules (redact_rules.c) ---- */

static inline size_t rtok4_bit(const uint8_t *p)
{
        return (size_t)(((uint64_t)rload32(p) * RHASH_K) >> 52);
}

/* could a credential rule start at p (avail bytes known)?  The exact
 * 2-byte prefix table, then, with 4 bytes known, the 4-byte one: "gi" in
 * "logging" goes no further. */
static inline bool rtok_maybe(const struct redact_registry *r, const uint8_t *p, size_t avail)
{
        uint16_t t = rload16(p);
        size_t b;

        if (!(r->tok2[t >> 6] >> (t & 63) & 1))
                return false;
        if (avail < 4)
                return true;
        b = rtok4_bit(p);
        return r->tok4[b >> 6] >> (b & 63) & 1;
}

enum rrule_result { RRULE_NONE = 0, RRULE_MATCH, RRULE_MORE };

/* Try the credential rules at p (avail bytes from p, eof: no more will
 * come).  On RRULE_MATCH, ms and me bound the masked body, relative to p. */
enum rrule_result rrules_try(const uint8_t *p, size_t avail, bool eof,
                             size_t *ms, size_t *me);
void rrules_prefix_bits(uint64_t *tok2, uint64_t *tok4, uint8_t *first, size_t *nfirst,
                        uint8_t *second, size_t *nsecond);
/* most bytes a rule needs from its start to decide */
size_t rrules_maxlen(void);

/* ---- output stage shared by stream and one-shot (redact_stream.c) ---- */

struct rout {
        const struct redact_opts *opts;
        size_t col;                     /* bytes on the current output line */
        uint64_t dropped;               /* bytes this stream lost to caps */
        struct redact_budget *cap_hit;  /* the first budget that dropped bytes */
        uint8_t part[4];                /* an incomplete character, waiting */
        uint8_t partlen;
        uint64_t bytes_out;
        /* collected output, passed on in batches */
        uint8_t *buf;
        size_t len, cap;
};

void rout_init(struct rout *o, const struct redact_opts *opts);
void rout_free(struct rout *o);
/* text after masking: line split, caps, then into o->buf */
void rout_put(struct rout *o, const uint8_t *p, size_t n);
/* a kept SGR sequence: whole or not at all, not counted in the line */
void rout_put_sgr(struct rout *o, const uint8_t *p, size_t n);
/* end of stream: dropped-bytes notes */
void rout_finish(struct rout *o);

#endif
