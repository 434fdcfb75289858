/* redact_registry.c - the secrets to mask and every form they may take in
 * output, indexed for the stream's scan.
 *
 * Each value is registered as (docs/redaction.md has the reasoning):
 *   - the raw bytes;
 *   - base64, standard and URL alphabets, at the three alignments the value
 *     can have inside a longer encoded input (0, 1 or 2 unknown bytes in
 *     front of it).  At each alignment we register the run of characters
 *     that depend on the value alone (no unknown bits before or after),
 *     and, for the value ending the input, that run plus the final partial
 *     character, with and without '=' padding;
 *   - percent-encoded with upper- and lower-case hex (RFC 3986 unreserved
 *     characters kept);
 *   - JSON-string-escaped, with '/' plain and escaped as "\/";
 *   - shell single-quote escaped ('\'' for every ');
 *   - every line of a multi-line value (trimmed of blanks and CR), with
 *     all of the above.
 * Every form is passed through the normaliser (printable ASCII needs
 * none), so it looks exactly as it will after the stream normalised the
 * output.  Forms are deduplicated as they are added (a short look-back: a
 * value's forms often coincide) and exactly at freeze (within each key
 * group), so a registry of 10,000 secrets never holds or sorts its
 * ~240,000 raw forms; the variants of one base64 encoding share bytes.
 *
 * The index (see RSTRIDE in redact_int.h): forms are grouped by their first
 * RKEY bytes (the key; a secret's forms share few distinct keys), the groups
 * are found by key in an open-addressing table, and two small blocked
 * Bloom filters sit in front: the RGRAM-byte grams at offsets
 * 0..RSTRIDE-1 of every key, probed at every sampled text position, and
 * the keys themselves, probed for the starts a passing gram allows.  Both
 * are capped in size so they stay in cache; more secrets than they were
 * sized for only raise the rate of candidates that a key lookup rejects. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "redact_int.h"
#include "runner/util/cleanup.h"
#include "runner/util/log.h"
#include "runner/util/xalloc.h"

static const char b64std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Fault in the pages of a large fresh block with one call.  A registry of
 * 10,000 secrets touches ~6 MB as it is built, and on a VM a page-fault
 * trap can cost ~10 us: 1,500 of them were most of its build time.  Best
 * effort: without MADV_POPULATE_WRITE (Linux < 5.14) the pages fault in
 * one by one as before. */
#define POPULATE_MIN (64 * 1024)

static void populate(void *p, size_t n)
{
#ifdef MADV_POPULATE_WRITE
        uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t a = ((uintptr_t)p + pg - 1) & ~(pg - 1), e = ((uintptr_t)p + n) & ~(pg - 1);

        if (n >= POPULATE_MIN && e > a)
                (void)madvise((void *)a, e - a, MADV_POPULATE_WRITE);
#else
        (void)p;
        (void)n;
#endif
}

static void *big_malloc(size_t n)
{
        void *p = xmalloc(n);

        populate(p, n);
        return p;
}

static void *big_calloc(size_t n, size_t size)
{
        void *p = xcalloc(n, size);

        populate(p, n * size);  /* xcalloc checked the product */
        return p;
}

struct redact_registry *redact_registry_new(void)
{
        return xcalloc(1, sizeof(struct redact_registry));
}

void redact_registry_free(struct redact_registry *r)
{
        if (r == NULL)
                return;
        free(r->forms);
        free(r->arena);
        free(r->groups);
        free(r->gtab);
        free(r->gramf.w);
        free(r->keyf.w);
        free(r->bekeys);
        free(r);
}

size_t redact_registry_nforms(const struct redact_registry *r)
{
        return r->nforms;
}

size_t redact_registry_maxlen(const struct redact_registry *r)
{
        return r->maxlen;
}

#define DEDUP_LOOKBACK 8

/* a value's forms often coincide (an alphanumeric value is its own
 * percent, JSON and shell form): look back a little; freeze drops any
 * other duplicate */
static bool seen_recently(const struct redact_registry *r, const uint8_t *p, size_t n)
{
        for (size_t k = r->nforms; k > 0 && k + DEDUP_LOOKBACK > r->nforms; k--)
                if (r->forms[k - 1].len == n && memcmp(r->arena + r->forms[k - 1].off, p, n) == 0)
                        return true;
        return false;
}

/* copy n bytes into the arena; their offset */
static uint32_t arena_put(struct redact_registry *r, const uint8_t *p, size_t n)
{
        uint32_t off = (uint32_t)r->alen;

        if (r->alen + n > UINT32_MAX)
                xalloc_die(n);
        if (r->alen + n > r->acap) {
                size_t old = r->acap;

                r->acap = r->acap ? 2 * r->acap : 4096;
                while (r->acap < r->alen + n)
                        r->acap *= 2;
                r->arena = xrealloc(r->arena, r->acap);
                populate(r->arena + old, r->acap - old);
        }
        memcpy(r->arena + r->alen, p, n);
        r->alen += n;
        return off;
}

/* a form of n bytes at off in the arena */
static void form_ref(struct redact_registry *r, uint32_t off, size_t n)
{
        struct rform *f;

        if (r->nforms >= RFORM_NONE - 1)
                xalloc_die(n);
        if (r->nforms == r->cap) {
                size_t old = r->cap;

                r->cap = r->cap ? 2 * r->cap : 64;
                r->forms = xreallocarray(r->forms, r->cap, sizeof(*r->forms));
                populate(r->forms + old, (r->cap - old) * sizeof(*r->forms));
        }
        f = &r->forms[r->nforms++];
        f->off = off;
        f->len = (uint32_t)n;
}

static void add_piece(struct redact_registry *r, const uint8_t *p, size_t n)
{
        if (!seen_recently(r, p, n))
                form_ref(r, arena_put(r, p, n), n);
}

/* text the normaliser leaves as it is in mid-line, short enough to be one
 * piece: registered without normalising */
static bool verbatim(const uint8_t *p, size_t n)
{
        return n <= REDACT_MAX_FORM && rsimd_plain_run(p, n) == n;
}

/* normalise as text in the middle of a line, then register in pieces of
 * at most REDACT_MAX_FORM bytes (the last piece overlaps the one before) */
static void add_form(struct redact_registry *r, const uint8_t *p, size_t n)
{
        struct rnorm st;
        uint8_t small[4096];
        _cleanup_free_ uint8_t *heap = NULL;
        uint8_t *norm = small;
        size_t nl, off = 0;

        if (verbatim(p, n)) {
                if (n >= REDACT_MIN_SECRET)
                        add_piece(r, p, n);
                return;
        }
        if (RNORM_BOUND(n) > sizeof(small))
                norm = heap = xmalloc(RNORM_BOUND(n));
        rnorm_init(&st, NULL);
        st.line_text = true;
        nl = rnorm_feed(&st, p, n, norm);
        nl += rnorm_finish(&st, norm + nl);
        if (nl < REDACT_MIN_SECRET)
                return;
        while (off + REDACT_MAX_FORM < nl) {
                add_piece(r, norm + off, REDACT_MAX_FORM);
                off += REDACT_MAX_FORM;
        }
        off = nl > REDACT_MAX_FORM ? nl - REDACT_MAX_FORM : 0;
        add_piece(r, norm + off, nl - off);
}

/* forms that are prefixes of p (lens ascending), such as base64 without
 * and with its last character and padding: stored once */
static void add_prefixes(struct redact_registry *r, const uint8_t *p, const size_t *lens, size_t k)
{
        size_t max = lens[k - 1];
        uint32_t off = UINT32_MAX;

        if (!verbatim(p, max)) {
                for (size_t i = 0; i < k; i++)
                        add_form(r, p, lens[i]);
                return;
        }
        for (size_t i = 0; i < k; i++) {
                if (lens[i] < REDACT_MIN_SECRET || (i > 0 && lens[i] == lens[i - 1]) ||
                    seen_recently(r, p, lens[i]))
                        continue;
                if (off == UINT32_MAX)
                        off = arena_put(r, p, max);
                form_ref(r, off, lens[i]);
        }
}

#define B64_STACK 1024

/* both alphabets at each alignment, one after the other, so that the
 * look-back in add_piece sees that they coincide (they do unless the
 * encoding has a character 62 or 63) */
static void add_base64(struct redact_registry *r, const uint8_t *v, size_t n)
{
        static const size_t first_whole[3] = { 0, 2, 3 };
        static const char *const alpha[2] = { b64std, b64url };

        for (size_t a = 0; a < 3; a++) {
                size_t in = a + n, groups = (in + 2) / 3;
                size_t whole = (8 * in) / 6, nopad = (8 * in + 5) / 6;
                size_t lens[3] = { whole - first_whole[a], nopad - first_whole[a],
                                   groups * 4 - first_whole[a] };
                uint8_t sbuf[B64_STACK], ebuf[B64_STACK];
                _cleanup_free_ uint8_t *heap = groups * 4 > B64_STACK ? xmalloc(groups * 7) : NULL;
                uint8_t *src = heap ? heap : sbuf, *enc = heap ? heap + groups * 3 : ebuf;

                memset(src, 0, groups * 3);
                memcpy(src + a, v, n);
                for (size_t k = 0; k < 2; k++) {
                        for (size_t g = 0; g < groups; g++) {
                                uint32_t x = (uint32_t)src[3 * g] << 16 |
                                             (uint32_t)src[3 * g + 1] << 8 | src[3 * g + 2];

                                for (int c = 0; c < 4; c++)
                                        enc[4 * g + (size_t)c] = (uint8_t)alpha[k][(x >> (18 - 6 * c)) & 63];
                        }
                        for (size_t c = nopad; c < groups * 4; c++)
                                enc[c] = '=';
                        add_prefixes(r, enc + first_whole[a], lens, 3);
                }
        }
}

static bool unreserved(uint8_t c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_' || c == '~';
}

static void add_percent(struct redact_registry *r, const uint8_t *v, size_t n,
                        const char *hex)
{
        _cleanup_free_ uint8_t *o = xmalloc(3 * n);
        size_t k = 0;

        for (size_t i = 0; i < n; i++) {
                if (unreserved(v[i])) {
                        o[k++] = v[i];
                } else {
                        o[k++] = '%';
                        o[k++] = (uint8_t)hex[v[i] >> 4];
                        o[k++] = (uint8_t)hex[v[i] & 15];
                }
        }
        add_form(r, o, k);
}

static void add_json(struct redact_registry *r, const uint8_t *v, size_t n, bool slash)
{
        static const char hex[] = "0123456789abcdef";
        _cleanup_free_ uint8_t *o = xmalloc(6 * n);
        size_t k = 0;

        for (size_t i = 0; i < n; i++) {
                uint8_t c = v[i];
                const char *esc = NULL;

                switch (c) {
                case '"': esc = "\\\""; break;
                case '\\': esc = "\\\\"; break;
                case '\n': esc = "\\n"; break;
                case '\r': esc = "\\r"; break;
                case '\t': esc = "\\t"; break;
                case '\b': esc = "\\b"; break;
                case '\f': esc = "\\f"; break;
                case '/': esc = slash ? "\\/" : NULL; break;
                default: break;
                }
                if (esc != NULL) {
                        memcpy(o + k, esc, 2);
                        k += 2;
                } else if (c < 0x20) {
                        memcpy(o + k, "\\u00", 4);
                        o[k + 4] = (uint8_t)hex[c >> 4];
                        o[k + 5] = (uint8_t)hex[c & 15];
                        k += 6;
                } else {
                        o[k++] = c;
                }
        }
        add_form(r, o, k);
}

static void add_shell(struct redact_registry *r, const uint8_t *v, size_t n)
{
        _cleanup_free_ uint8_t *o = xmalloc(4 * n);
        size_t k = 0;

        for (size_t i = 0; i < n; i++) {
                if (v[i] == '\'') {
                        memcpy(o + k, "'\\''", 4);
                        k += 4;
                } else {
                        o[k++] = v[i];
                }
        }
        add_form(r, o, k);
}

static void add_all_forms(struct redact_registry *r, const uint8_t *v, size_t n)
{
        /* the forms that most often coincide with the raw value first */
        add_form(r, v, n);
        add_percent(r, v, n, "0123456789ABCDEF");
        add_percent(r, v, n, "0123456789abcdef");
        add_json(r, v, n, false);
        add_json(r, v, n, true);
        add_shell(r, v, n);
        add_base64(r, v, n);
}

static bool is_trim(uint8_t c)
{
        return c == ' ' || c == '\t' || c == '\r';
}

int redact_registry_add_secret(struct redact_registry *r, const char *name,
                               const void *value, size_t len, struct err *err)
{
        const uint8_t *v = value;
        size_t start = 0, line = 0;
        bool multi = memchr(v, '\n', len) != NULL;

        if (r->frozen)
                return err_set(err, EBUSY, "secret %s: registry is frozen", name);
        if (len < REDACT_MIN_SECRET) {
                log_warn("secret %s is shorter than %d bytes and will not be masked",
                         name, REDACT_MIN_SECRET);
                return REDACT_REFUSED_SHORT;
        }
        add_all_forms(r, v, len);
        while (multi && start <= len) {
                const uint8_t *nl = memchr(v + start, '\n', len - start);
                size_t end = nl ? (size_t)(nl - v) : len, s = start, e = end;

                line++;
                while (s < e && is_trim(v[s]))
                        s++;
                while (e > s && is_trim(v[e - 1]))
                        e--;
                if (e - s >= REDACT_MIN_SECRET)
                        add_all_forms(r, v + s, e - s);
                else if (e > s)
                        log_warn("secret %s: line %zu is shorter than %d bytes and is not "
                                 "masked on its own", name, line, REDACT_MIN_SECRET);
                start = end + 1;
        }
        return REDACT_ADDED;
}

int redact_registry_add_patterns(struct redact_registry *r, struct err *err)
{
        if (r->frozen)
                return err_set(err, EBUSY, "credential patterns: registry is frozen");
        r->patterns = true;
        return 0;
}

/* log2 of the words of a filter for nkeys keys: about 16 bits per key
 * (2 bits set per key: a false positive rate near 1%), between min_log2
 * and max_log2 words */
static void rfilter_init(struct rfilter *f, size_t nkeys, unsigned min_log2, unsigned max_log2)
{
        unsigned l = min_log2;

        while (l < max_log2 && ((size_t)1 << l) * 4 < nkeys)
                l++;
        f->w = big_calloc((size_t)1 << l, sizeof(uint64_t));
        f->shift = 64 - l;
}

static void rfilter_add(struct rfilter *f, uint64_t h)
{
        f->w[h >> f->shift] |= rfilter_mask(h, f->shift);
}

/* The gram filter is probed every RSTRIDE bytes and every false pass costs
 * RSTRIDE probes of the key filter: at least 8 KiB (a few secrets pass
 * almost nothing), at most 512 KiB, so it stays in L2. */
#define GRAMF_MIN_LOG2 10
#define GRAMF_MAX_LOG2 16
#define KEYF_MIN_LOG2 8
#define KEYF_MAX_LOG2 15

static int form_cmp(const void *a, const void *b, void *arg)
{
        const struct rform *x = a, *y = b;
        const uint8_t *arena = arg;
        size_t n = x->len < y->len ? x->len : y->len;
        int c = memcmp(arena + x->off, arena + y->off, n);

        if (c != 0)
                return c;
        return x->len < y->len ? -1 : x->len > y->len;
}

/* the group table's slot for key: the slot of its group, or an empty one */
static size_t gtab_slot(const struct redact_registry *r, uint64_t key)
{
        size_t mask = ((size_t)1 << r->gtbits) - 1;
        size_t i = rhash64(key) >> (64 - r->gtbits);

        while (r->gtab[i] != RFORM_NONE && r->groups[r->gtab[i]].key != key)
                i = (i + 1) & mask;
        return i;
}

/* Group the forms by key (r->groups, r->gtab), reorder r->forms so a
 * group's forms are contiguous, and drop duplicate forms: they share a
 * key, so sorting each group finds them (a group is a handful of forms,
 * unless many values share their first RKEY bytes). */
static void build_groups(struct redact_registry *r)
{
        size_t n = r->nforms ? r->nforms : 1, kept = 0;
        _cleanup_free_ uint32_t *gid = big_malloc(n * sizeof(*gid));
        struct rform *sorted = big_malloc(n * sizeof(*sorted));

        r->gtbits = 4;
        while (((size_t)3 << r->gtbits) < 4 * r->nforms)
                r->gtbits++;        /* at most 3/4 full */
        r->gtab = big_malloc(((size_t)1 << r->gtbits) * sizeof(*r->gtab));
        memset(r->gtab, 0xff, ((size_t)1 << r->gtbits) * sizeof(*r->gtab));
        r->groups = xcalloc(n, sizeof(*r->groups));
        r->ngroups = 0;
        for (size_t k = 0; k < r->nforms; k++) {
                uint64_t key = rload64(r->arena + r->forms[k].off);
                size_t i;

                /* a value's base64 variants come one after the other */
                if (k > 0 && key == r->groups[gid[k - 1]].key) {
                        gid[k] = gid[k - 1];
                        r->groups[gid[k]].n++;
                        continue;
                }
                i = gtab_slot(r, key);
                if (r->gtab[i] == RFORM_NONE) {
                        r->gtab[i] = (uint32_t)r->ngroups;
                        r->groups[r->ngroups++].key = key;
                }
                gid[k] = r->gtab[i];
                r->groups[gid[k]].n++;
        }
        for (size_t g = 0, at = 0; g < r->ngroups; g++) {
                r->groups[g].first = (uint32_t)at;
                at += r->groups[g].n;
                r->groups[g].n = 0;
        }
        for (size_t k = 0; k < r->nforms; k++) {
                struct rgroup *g = &r->groups[gid[k]];

                sorted[g->first + g->n++] = r->forms[k];
        }
        for (size_t g = 0; g < r->ngroups; g++) {
                struct rgroup *gr = &r->groups[g];
                struct rform *f = sorted + gr->first;
                size_t first = kept;

                if (gr->n > 1)
                        qsort_r(f, gr->n, sizeof(*f), form_cmp, r->arena);
                for (size_t k = 0; k < gr->n; k++)
                        if (k == 0 || form_cmp(&f[k - 1], &f[k], r->arena) != 0)
                                sorted[kept++] = f[k];
                gr->first = (uint32_t)first;
                gr->n = (uint32_t)(kept - first);
        }
        free(r->forms);
        r->forms = sorted;
        r->nforms = kept;
        r->cap = n;
}

/* r->bekeys: every key as a big-endian number, sorted (LSD radix sort,
 * a byte per pass), so that the keys beginning with some bytes are a range
 * of it (the last bytes of a write wait only if a form may begin there) */
static void sort_keys(struct redact_registry *r)
{
        size_t n = r->ngroups;
        _cleanup_free_ uint64_t *tmp = big_malloc((n ? n : 1) * sizeof(*tmp));
        uint64_t *a;

        a = r->bekeys = big_malloc((n ? n : 1) * sizeof(*a));
        for (size_t g = 0; g < n; g++)
                a[g] = rbig_endian(r->groups[g].key);
        for (unsigned shift = 0; shift < 64; shift += 8) {
                size_t count[257] = { 0 };
                uint64_t *t;

                for (size_t i = 0; i < n; i++)
                        count[(a[i] >> shift & 0xFF) + 1]++;
                for (size_t k = 1; k < 257; k++)
                        count[k] += count[k - 1];
                for (size_t i = 0; i < n; i++)
                        tmp[count[a[i] >> shift & 0xFF]++] = a[i];
                t = a;
                a = tmp;
                tmp = t;
        }
        /* 8 passes: the sorted keys are back in the first array */
}

int redact_registry_freeze(struct redact_registry *r, struct err *err)
{
        if (r->frozen)
                return err_set(err, EBUSY, "registry is already frozen");
        build_groups(r);
        rfilter_init(&r->gramf, r->ngroups * RSTRIDE, GRAMF_MIN_LOG2, GRAMF_MAX_LOG2);
        rfilter_init(&r->keyf, r->ngroups, KEYF_MIN_LOG2, KEYF_MAX_LOG2);
        sort_keys(r);
        r->maxlen = 0;
        for (size_t g = 0; g < r->ngroups; g++) {
                uint8_t kb[RKEY];

                memcpy(kb, &r->groups[g].key, RKEY);
                for (size_t o = 0; o < RSTRIDE; o++)
                        rfilter_add(&r->gramf, rhash64(rload32(kb + o)));
                rfilter_add(&r->keyf, rhash64(r->groups[g].key));
        }
        for (size_t k = 0; k < r->nforms; k++)
                if (r->forms[k].len > r->maxlen)
                        r->maxlen = r->forms[k].len;
        if (r->patterns) {
                rrules_prefix_bits(r->tok2, r->tok4, r->tokfirst, &r->ntokfirst, r->toksecond,
                                   &r->ntoksecond);
                rtok_classes(r);
                if (rrules_maxlen() > r->maxlen)
                        r->maxlen = rrules_maxlen();
        }
        r->frozen = true;
        return 0;
}
