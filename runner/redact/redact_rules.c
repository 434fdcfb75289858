/* redact_rules.c - credential shapes masked without registration, like
 * gitlab-runner's token sanitizer: a fixed prefix, then a body from a known
 * alphabet.  The prefix stays visible (it says what leaked), the body is
 * masked.  Shapes: reference/signing-and-redaction.md B3.
 *
 * A rule's body is the longest run of its alphabet after the prefix, cut at
 * `max` bytes; it matches when the run is at least `min` bytes.  A PEM
 * private key keeps its BEGIN and END lines and masks everything between,
 * up to REDACT_PEM_MAX bytes (then the rest of the body is not held). */
#include <assert.h>
#include <stdlib.h>

#include "redact_int.h"

#include "runner/util/cleanup.h"

enum rclass { C_AWS = 0, C_B62, C_WORD, C_GITLAB, C_LOWALNUM, C_NCLASS };

struct rrule {
        const char *prefix;
        uint8_t plen;
        enum rclass cls;
        uint16_t min, max;
};

#define RULE(prefix, cls, min, max) { prefix, sizeof(prefix) - 1, cls, min, max }

static const struct rrule rules[] = {
        RULE("AKIA", C_AWS, 16, 16),
        RULE("ASIA", C_AWS, 16, 16),
        RULE("ABIA", C_AWS, 16, 16),
        RULE("ACCA", C_AWS, 16, 16),
        RULE("ghp_", C_B62, 36, 36),
        RULE("gho_", C_B62, 36, 36),
        RULE("ghu_", C_B62, 36, 36),
        RULE("ghs_", C_B62, 36, 36),
        RULE("ghr_", C_B62, 36, 36),
        RULE("github_pat_", C_WORD, 82, 82),
        RULE("glpat-", C_GITLAB, 20, 320),
        RULE("glrt-", C_GITLAB, 20, 320),
        RULE("glrtr-", C_GITLAB, 20, 320),
        RULE("gloas-", C_GITLAB, 20, 320),
        RULE("gldt-", C_GITLAB, 20, 320),
        RULE("glcbt-", C_GITLAB, 20, 320),
        RULE("glptt-", C_GITLAB, 20, 320),
        RULE("glft-", C_GITLAB, 20, 320),
        RULE("glimt-", C_GITLAB, 20, 320),
        RULE("glagent-", C_GITLAB, 20, 320),
        RULE("glsoat-", C_GITLAB, 20, 320),
        RULE("glffct-", C_GITLAB, 20, 320),
        RULE("gltok-", C_GITLAB, 20, 320),
        RULE("GR1348941", C_GITLAB, 20, 320),
        RULE("_gitlab_session=", C_LOWALNUM, 32, 128),
};

#define PEM_BEGIN "-----BEGIN "
#define PEM_END "-----END "
#define PEM_DASHES "-----"
#define PEM_LABEL_MAX 64

static bool in_class(enum rclass c, uint8_t b)
{
        bool digit = b >= '0' && b <= '9', upper = b >= 'A' && b <= 'Z',
             lower = b >= 'a' && b <= 'z';

        switch (c) {
        case C_AWS:
                return upper || (b >= '2' && b <= '7');
        case C_B62:
                return digit || upper || lower;
        case C_WORD:
                return digit || upper || lower || b == '_';
        case C_GITLAB:
                return digit || upper || lower || b == '_' || b == '-' || b == '.' || b == '=';
        case C_LOWALNUM:
                return digit || lower;
        default:
                return false;
        }
}

static void add_byte(uint8_t *set, size_t *n, uint8_t b)
{
        for (size_t i = 0; i < *n; i++)
                if (set[i] == b)
                        return;
        if (*n < RTOKSET_MAX)
                set[(*n)++] = b;
}

static void prefix_bits(uint64_t *tok2, uint64_t *tok4, uint8_t *first, size_t *nfirst,
                        uint8_t *second, size_t *nsecond, const char *prefix)
{
        uint16_t k = rload16((const uint8_t *)prefix);
        size_t b = rtok4_bit((const uint8_t *)prefix);

        tok2[k >> 6] |= 1ull << (k & 63);
        tok4[b >> 6] |= 1ull << (b & 63);
        add_byte(first, nfirst, (uint8_t)prefix[0]);
        add_byte(second, nsecond, (uint8_t)prefix[1]);
}

void rrules_prefix_bits(uint64_t *tok2, uint64_t *tok4, uint8_t *first, size_t *nfirst,
                        uint8_t *second, size_t *nsecond)
{
        *nfirst = 0;
        *nsecond = 0;
        /* tok4 reads 4 bytes of every prefix */
        static_assert(sizeof(PEM_BEGIN) - 1 >= 4, "PEM prefix");
        for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
                if (rules[i].plen < 4)
                        abort();        /* a rule table error, caught by every test */
                prefix_bits(tok2, tok4, first, nfirst, second, nsecond, rules[i].prefix);
        }
        prefix_bits(tok2, tok4, first, nfirst, second, nsecond, PEM_BEGIN);
}

size_t rrules_maxlen(void)
{
        return strlen(PEM_BEGIN) + PEM_LABEL_MAX + strlen(PEM_DASHES) + 1 + REDACT_PEM_MAX;
}

static const uint8_t *find(const uint8_t *h, size_t hl, const char *needle)
{
        return memmem(h, hl, needle, strlen(needle));
}

static bool label_ok(const uint8_t *l, size_t n)
{
        static const char *const ends[] = { "PRIVATE KEY", "PRIVATE KEY BLOCK" };
        bool end = false;

        for (size_t i = 0; i < n; i++)
                if (!((l[i] >= 'A' && l[i] <= 'Z') || (l[i] >= '0' && l[i] <= '9') || l[i] == ' '))
                        return false;
        for (size_t i = 0; i < ARRAY_SIZE(ends); i++) {
                size_t el = strlen(ends[i]);

                if (n >= el && memcmp(l + n - el, ends[i], el) == 0)
                        end = true;
        }
        return end;
}

static enum rrule_result try_pem(const uint8_t *p, size_t avail, bool eof,
                                 size_t *ms, size_t *me)
{
        size_t bl = strlen(PEM_BEGIN), dl = strlen(PEM_DASHES);
        size_t lim, bs, be;
        const uint8_t *d, *end;

        if (avail < bl)
                return eof || memcmp(p, PEM_BEGIN, avail) != 0 ? RRULE_NONE : RRULE_MORE;
        if (memcmp(p, PEM_BEGIN, bl) != 0)
                return RRULE_NONE;
        lim = avail - bl < PEM_LABEL_MAX + dl ? avail - bl : PEM_LABEL_MAX + dl;
        d = find(p + bl, lim, PEM_DASHES);
        if (d == NULL)
                return eof || lim == PEM_LABEL_MAX + dl ? RRULE_NONE : RRULE_MORE;
        if (!label_ok(p + bl, (size_t)(d - (p + bl))))
                return RRULE_NONE;
        bs = (size_t)(d - p) + dl;
        if (bs >= avail && !eof)
                return RRULE_MORE;      /* is a newline next? */
        if (bs < avail && p[bs] == '\n')
                bs++;
        lim = avail - bs < REDACT_PEM_MAX ? avail - bs : REDACT_PEM_MAX;
        end = find(p + bs, lim, PEM_END);
        if (end != NULL) {
                be = (size_t)(end - p);
        } else if (lim == REDACT_PEM_MAX) {
                be = bs + REDACT_PEM_MAX;
        } else if (eof) {
                be = avail;
        } else {
                /* "-----END " may be cut at the edge of what we have */
                return RRULE_MORE;
        }
        if (be > bs && p[be - 1] == '\n' && end != NULL)
                be--;
        if (be <= bs)
                return RRULE_NONE;
        *ms = bs;
        *me = be;
        return RRULE_MATCH;
}

enum rrule_result rrules_try(const uint8_t *p, size_t avail, bool eof,
                             size_t *ms, size_t *me)
{
        if (p[0] == '-')
                return try_pem(p, avail, eof, ms, me);
        for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
                const struct rrule *r = &rules[i];
                size_t pl = r->plen, run = 0;

                if (p[0] != (uint8_t)r->prefix[0])
                        continue;
                if (avail < pl) {
                        if (!eof && memcmp(p, r->prefix, avail) == 0)
                                return RRULE_MORE;
                        continue;
                }
                if (memcmp(p, r->prefix, pl) != 0)
                        continue;
                while (run < r->max && pl + run < avail && in_class(r->cls, p[pl + run]))
                        run++;
                if (run < r->max && pl + run == avail && !eof)
                        return RRULE_MORE;
                if (run < r->min)
                        return RRULE_NONE;
                *ms = pl;
                *me = pl + run;
                return RRULE_MATCH;
        }
        return RRULE_NONE;
}
