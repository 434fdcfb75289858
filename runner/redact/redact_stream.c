/* redact_stream.c - the streaming filter: normalise, mask, split and cap.
 *
 * The masker scans the normalised text position by position.  At each
 * position it asks: does a registered form start here (first 8 bytes hashed
 * and looked up, then compared whole), does a credential rule match here?
 * Matches become intervals [start, end); overlapping or touching intervals
 * merge and come out as one REDACT_MASK.  Once the scan has passed position
 * F, every match starting before F is known (matches are found at their
 * start, credential bodies a few bytes after it), so output up to F that is
 * not inside an interval is final and goes out; an interval is closed when
 * the scan has passed its end.
 *
 * What is held back: the bytes from the first undecided position to the
 * end of the input seen so far.  The scan stops early only at a position
 * where a candidate (a form whose first 8 bytes matched, or a credential
 * prefix) needs more bytes than have arrived, so the hold is at most the
 * longest form (or a PEM body) plus 7 bytes.  Because everything is decided
 * from absolute positions and whole-input facts, the output equals
 * redact_oneshot() for any split of the input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "redact_int.h"
#include "runner/util/xalloc.h"

#define OUT_FLUSH (64 * 1024)
#define NORM_CHUNK (64 * 1024)
#define PEND_MAX 64

struct interval {
        uint64_t s, e;
};

struct redact_stream {
        const struct redact_registry *reg;
        struct rnorm norm;
        struct rout out;
        uint8_t *win;           /* normalised text from absolute position base */
        size_t wlen, wcap;
        uint64_t base;
        uint64_t scan;          /* next sampled position, a multiple of RSTRIDE */
        uint64_t known;         /* every match starting before this is recorded */
        uint64_t emit;          /* output decided up to here */
        bool mask_open;
        uint64_t mask_end;
        struct interval pend[PEND_MAX];  /* found, not yet started; sorted, disjoint */
        size_t npend;
        bool finished;
        bool raw;               /* trusted text: no normalising */
        struct rsgrs sgrs;      /* keep-colour: SGR sequences not yet written */
        uint64_t bytes_in;
        /* the call in progress */
        redact_out_fn fn;
        void *arg;
        int rc;
};

/* ---- output stage ---- */

void rout_init(struct rout *o, const struct redact_opts *opts)
{
        memset(o, 0, sizeof(*o));
        o->opts = opts;
}

void rout_free(struct rout *o)
{
        free(o->buf);
        o->buf = NULL;
}

static void rout_append(struct rout *o, const void *p, size_t n)
{
        if (n == 0)
                return;
        if (o->len + n > o->cap) {
                size_t c = o->cap ? o->cap : 4096;

                while (c < o->len + n)
                        c *= 2;
                o->buf = xrealloc(o->buf, c);
                o->cap = c;
        }
        memcpy(o->buf + o->len, p, n);
        o->len += n;
        o->bytes_out += n;
}

static void cap_note(struct rout *o, struct redact_budget *b)
{
        char note[160];
        int n;

        b->noted = true;
        n = snprintf(note, sizeof(note),
                     "\n[tfgate: %s output cap of %llu bytes reached; further output is dropped]\n",
                     b->what ? b->what : "output", (unsigned long long)b->limit);
        rout_append(o, note, (size_t)n);
}

/* what budget b still allows */
static uint64_t budget_room(const struct redact_budget *b)
{
        if (b->noted || b->used >= b->limit)
                return 0;
        return b->limit - b->used;
}

/* after line splitting: the byte caps.  Once a budget is exhausted its
 * note is written and every later byte is counted, not written.  whole:
 * p is one SGR sequence, written whole or not at all. */
static void rout_capped_as(struct rout *o, const uint8_t *p, size_t n, bool whole)
{
        struct redact_budget *const *caps = o->opts ? o->opts->caps : NULL;
        bool short_of[2] = { false, false };
        size_t fit = n;

        for (int i = 0; caps != NULL && i < 2; i++)
                if (caps[i] != NULL && caps[i]->limit > 0 && budget_room(caps[i]) < fit)
                        fit = (size_t)budget_room(caps[i]);
        /* the budgets that actually limit this write get the blame */
        for (int i = 0; caps != NULL && i < 2 && fit < n; i++)
                short_of[i] = caps[i] != NULL && caps[i]->limit > 0 && budget_room(caps[i]) == fit;
        if (fit < n && whole)
                fit = 0;
        if (fit < n)
                while (fit > 0 && (p[fit] & 0xC0) == 0x80)
                        fit--;  /* never cut a character */
        rout_append(o, p, fit);
        for (int i = 0; caps != NULL && i < 2; i++)
                if (caps[i] != NULL && caps[i]->limit > 0)
                        caps[i]->used += fit;
        if (fit == n)
                return;
        o->dropped += n - fit;
        for (int i = 0; i < 2; i++) {
                if (!short_of[i])
                        continue;
                caps[i]->dropped += n - fit;
                if (o->cap_hit == NULL)
                        o->cap_hit = caps[i];
                if (!caps[i]->noted)
                        cap_note(o, caps[i]);
        }
}

static void rout_capped(struct rout *o, const uint8_t *p, size_t n)
{
        rout_capped_as(o, p, n, false);
}

static size_t u8_seqlen(uint8_t lead)
{
        return lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
}

static void rout_lines(struct rout *o, const uint8_t *p, size_t n);

/* Splitting and capping work on whole characters, whatever the pieces the
 * masker hands over: an incomplete character at the end of a piece waits
 * in o->part for the rest. */
void rout_put(struct rout *o, const uint8_t *p, size_t n)
{
        size_t tail = 0;

        if (o->opts == NULL) {
                rout_append(o, p, n);
                return;
        }
        while (o->partlen > 0 && n > 0) {
                o->part[o->partlen++] = *p++;
                n--;
                if (o->partlen == u8_seqlen(o->part[0])) {
                        rout_lines(o, o->part, o->partlen);
                        o->partlen = 0;
                }
        }
        if (o->partlen > 0)
                return;         /* all of p went into the waiting character */
        /* an incomplete character at the end? */
        for (size_t k = 1; k <= 3 && k <= n; k++) {
                uint8_t b = p[n - k];

                if ((b & 0xC0) != 0x80) {
                        if (b >= 0xC0 && u8_seqlen(b) > k)
                                tail = k;
                        break;
                }
        }
        rout_lines(o, p, n - tail);
        memcpy(o->part, p + n - tail, tail);
        o->partlen = (uint8_t)tail;
}

/* a split-off part starts with REDACT_LINE_CONT: a smaller cap would
 * leave no room for a character after it and never make progress */
#define RLINE_MIN (sizeof(REDACT_LINE_CONT) - 1 + 4)

static void rout_lines(struct rout *o, const uint8_t *p, size_t n)
{
        size_t max = o->opts->line_max;

        if (max > 0 && max < RLINE_MIN)
                max = RLINE_MIN;
        if (max == 0) {
                rout_capped(o, p, n);
                return;
        }
        while (n > 0) {
                const uint8_t *nl;
                size_t room = o->col < max ? max - o->col : 0, take;

                nl = memchr(p, '\n', n < room + 1 ? n : room + 1);
                if (nl != NULL) {
                        take = (size_t)(nl - p) + 1;
                        rout_capped(o, p, take);
                        o->col = 0;
                        p += take;
                        n -= take;
                        continue;
                }
                if (n <= room) {
                        rout_capped(o, p, n);
                        o->col += n;
                        return;
                }
                /* the line goes past max: end it here, at a character boundary */
                take = room;
                while (take > 0 && (p[take] & 0xC0) == 0x80)
                        take--;
                rout_capped(o, p, take);
                rout_capped(o, (const uint8_t *)"\n" REDACT_LINE_CONT, 1 + strlen(REDACT_LINE_CONT));
                o->col = strlen(REDACT_LINE_CONT);
                p += take;
                n -= take;
        }
}

void rout_put_sgr(struct rout *o, const uint8_t *p, size_t n)
{
        if (o->opts == NULL) {
                rout_append(o, p, n);
                return;
        }
        /* a character cut by a mask edge goes first, as it is */
        if (o->partlen > 0)
                rout_lines(o, o->part, o->partlen);
        o->partlen = 0;
        rout_capped_as(o, p, n, true);
}

void rout_finish(struct rout *o)
{
        char note[160];
        int n;

        if (o->partlen > 0)
                rout_lines(o, o->part, o->partlen);
        o->partlen = 0;
        if (o->dropped == 0)
                return;
        n = snprintf(note, sizeof(note), "\n[tfgate: %llu bytes of output dropped by the %s output cap]\n",
                     (unsigned long long)o->dropped,
                     o->cap_hit && o->cap_hit->what ? o->cap_hit->what : "byte");
        rout_append(o, note, (size_t)n);
}

/* ---- masking ---- */

static void out_flush(struct redact_stream *s)
{
        struct rout *o = &s->out;

        if (o->len == 0)
                return;
        if (s->rc == 0 && s->fn != NULL)
                s->rc = s->fn(s->arg, o->buf, o->len);
        o->len = 0;
}

static void out_text(struct redact_stream *s, const uint8_t *p, size_t n)
{
        rout_put(&s->out, p, n);
        if (s->out.len >= OUT_FLUSH)
                out_flush(s);
}

static void out_sgr(struct redact_stream *s, const struct rsgr *e)
{
        rout_put_sgr(&s->out, e->b, e->len);
        if (s->out.len >= OUT_FLUSH)
                out_flush(s);
}

/* text [from, to), with the SGR sequences recorded before positions in it */
static void out_plain(struct redact_stream *s, uint64_t from, uint64_t to)
{
        struct rsgrs *q = &s->sgrs;

        while (q->head < q->n && q->v[q->head].pos < to) {
                uint64_t at = q->v[q->head].pos;

                if (at > from) {
                        out_text(s, s->win + (from - s->base), (size_t)(at - from));
                        from = at;
                }
                out_sgr(s, &q->v[q->head++]);
        }
        if (to > from)
                out_text(s, s->win + (from - s->base), (size_t)(to - from));
}

/* SGR sequences up to and including position to: the edge of a mask */
static void out_sgr_upto(struct redact_stream *s, uint64_t to)
{
        struct rsgrs *q = &s->sgrs;

        while (q->head < q->n && q->v[q->head].pos <= to)
                out_sgr(s, &q->v[q->head++]);
}

/* SGR sequences before end, inside a mask: they go with it */
static void drop_sgr_before(struct redact_stream *s, uint64_t end)
{
        struct rsgrs *q = &s->sgrs;

        while (q->head < q->n && q->v[q->head].pos < end)
                q->head++;
        if (q->head == q->n)
                q->head = q->n = 0;
}

/* every match starting before f is known: write out what is decided */
static void advance(struct redact_stream *s, uint64_t f)
{
        for (;;) {
                if (s->mask_open) {
                        while (s->npend > 0 && s->pend[0].s <= s->mask_end) {
                                if (s->pend[0].e > s->mask_end)
                                        s->mask_end = s->pend[0].e;
                                memmove(s->pend, s->pend + 1, --s->npend * sizeof(s->pend[0]));
                        }
                        if (s->mask_end < f) {
                                s->mask_open = false;
                                s->emit = s->mask_end;
                                drop_sgr_before(s, s->emit);
                                continue;
                        }
                        if (f > s->emit)
                                s->emit = f;
                        /* inside the mask (its start went out with it): drop
                         * now, so a mask that never ends holds no colours */
                        drop_sgr_before(s, s->emit);
                        return;
                }
                if (s->npend > 0 && s->pend[0].s < f) {
                        out_plain(s, s->emit, s->pend[0].s);
                        out_sgr_upto(s, s->pend[0].s);
                        out_text(s, (const uint8_t *)REDACT_MASK, strlen(REDACT_MASK));
                        s->mask_open = true;
                        s->emit = s->pend[0].s;
                        s->mask_end = s->pend[0].e;
                        memmove(s->pend, s->pend + 1, --s->npend * sizeof(s->pend[0]));
                        continue;
                }
                out_plain(s, s->emit, f);
                if (f > s->emit)
                        s->emit = f;
                return;
        }
}

/* add [ms, me) to the pending intervals, merging what overlaps or touches */
static void add_match(struct redact_stream *s, uint64_t ms, uint64_t me)
{
        size_t i = 0, j;

        if (s->mask_open && ms <= s->mask_end) {
                if (me > s->mask_end)
                        s->mask_end = me;
                return;
        }
        while (i < s->npend && s->pend[i].e < ms)
                i++;
        j = i;
        while (j < s->npend && s->pend[j].s <= me) {
                if (s->pend[j].s < ms)
                        ms = s->pend[j].s;
                if (s->pend[j].e > me)
                        me = s->pend[j].e;
                j++;
        }
        if (j == i && s->npend == PEND_MAX)
                abort();        /* cannot happen: starts lie within a prefix of the scan */
        memmove(s->pend + i + 1, s->pend + j, (s->npend - j) * sizeof(s->pend[0]));
        s->npend = s->npend - (j - i) + 1;
        s->pend[i].s = ms;
        s->pend[i].e = me;
}

/* The next position >= from (window offsets) where a credential rule
 * could start: the 2-byte prefix test, vectorised (redact_simd.c). */
static size_t next_tok(const struct redact_stream *s, size_t from)
{
        if (!s->reg->patterns)
                return SIZE_MAX;
        return rsimd_tok_next(s->reg, s->win, from, s->wlen);
}

/* does some form begin with the avail (1..RKEY-1) bytes at p?  The keys
 * that do are the range [lo, hi] of the sorted big-endian keys. */
static bool could_start_form(const struct redact_registry *r, const uint8_t *p, size_t avail)
{
        uint64_t lo = 0, hi;
        size_t a = 0, b = r->ngroups;

        memcpy(&lo, p, avail);
        lo = rbig_endian(lo);     /* the bytes on top, zeros below */
        hi = lo | (UINT64_MAX >> (8 * avail));
        while (a < b) {
                size_t m = a + (b - a) / 2;

                if (r->bekeys[m] < lo)
                        a = m + 1;
                else
                        b = m;
        }
        return a < r->ngroups && r->bekeys[a] <= hi;
}

/* One sampled position j (window offset, absolute position a multiple of
 * RSTRIDE): every match starting in [j - RSTRIDE + 1, j] is found here
 * (forms through the gram at j, rules at each of those positions).
 * Nothing is recorded unless everything could be decided: false means
 * more input is needed. */
static bool step_at(struct redact_stream *s, size_t j, size_t lo, bool eof)
{
        const struct redact_registry *r = s->reg;
        const uint8_t *w = s->win;
        size_t n = s->wlen;
        size_t lit_end[RSTRIDE] = { 0 }, tms[RSTRIDE], tme[RSTRIDE];
        bool tok[RSTRIDE] = { false };
        /* slot of start p: p + RSTRIDE - 1 - j, in [0, RSTRIDE) */
        const size_t sh = RSTRIDE - 1;

        for (size_t o = 0; r->nforms > 0 && o < RSTRIDE && o <= j && j - o >= lo; o++) {
                size_t p = j - o, avail = n - p;
                const struct rgroup *g;
                uint64_t key;

                if (avail < RKEY) {
                        if (!eof && could_start_form(r, w + p, avail))
                                return false;
                        continue;
                }
                key = rload64(w + p);
                if (!rfilter_test(&r->keyf, rhash64(key)) || (g = rgroup_find(r, key)) == NULL)
                        continue;
                for (uint32_t k = g->first; k < g->first + g->n; k++) {
                        const struct rform *f = &r->forms[k];
                        size_t cmp = f->len < avail ? f->len : avail;

                        if (f->len <= lit_end[p + sh - j] ||
                            memcmp(w + p + RKEY, r->arena + f->off + RKEY, cmp - RKEY) != 0)
                                continue;
                        if (f->len > avail) {
                                if (!eof)
                                        return false;   /* matches so far: wait */
                                continue;
                        }
                        lit_end[p + sh - j] = f->len;
                }
        }
        for (size_t p = j >= sh && j - sh > lo ? j - sh : lo; r->patterns && p <= j; p++) {
                if (!rtok_maybe(r, w + p, n - p))
                        continue;
                switch (rrules_try(w + p, n - p, eof, &tms[p + sh - j], &tme[p + sh - j])) {
                case RRULE_MORE:
                        return false;
                case RRULE_MATCH:
                        tok[p + sh - j] = true;
                        break;
                default:
                        break;
                }
        }
        for (size_t k = 0; k < RSTRIDE; k++) {
                uint64_t at = s->base + j + k - sh;

                if (lit_end[k] > 0)
                        add_match(s, at, at + lit_end[k]);
                if (tok[k])
                        add_match(s, at + tms[k], at + tme[k]);
        }
        return true;
}

/* could a form or rule start at window offset i, with fewer than 8 bytes
 * after it known?  (A false yes only delays output.) */
static bool could_start(const struct redact_stream *s, size_t i)
{
        const struct redact_registry *r = s->reg;
        size_t avail = s->wlen - i, ms, me;

        if (could_start_form(r, s->win + i, avail))
                return true;
        return r->patterns && rrules_try(s->win + i, avail, false, &ms, &me) == RRULE_MORE;
}

/* could a form start at one of the RSTRIDE positions up to and including
 * p (all with RKEY bytes after them)?  The key filter only. */
static bool keys_maybe(const struct redact_registry *r, const uint8_t *p)
{
        bool any = false;

        for (size_t o = 0; o < RSTRIDE; o++)
                any |= rfilter_test(&r->keyf, rhash64(rload64(p - o)));
        return any;
}

/* s->known: every match starting before it has been recorded.  s->scan:
 * the next sampled position (absolute, a multiple of RSTRIDE). */
static void scan(struct redact_stream *s, bool eof)
{
        const struct redact_registry *r = s->reg;
        const uint8_t *w = s->win;
        const uint64_t *gramf = r->gramf.w;
        const unsigned gshift = r->gramf.shift;
        const bool forms = r->nforms > 0;
        size_t n = s->wlen, j = (size_t)(s->scan - s->base);
        size_t lo = (size_t)(s->known - s->base);
        size_t tokpos = next_tok(s, lo);
        while (j + RGRAM <= n) {
                /* the hot loop: one 4-byte hash and one bitmap test per
                 * RSTRIDE bytes, and the precomputed next rule candidate */
                if (forms) {
                        /* two samples per test and branch */
                        while (j + RSTRIDE + RGRAM <= n && tokpos > j + RSTRIDE) {
                                uint64_t h0 = rhash64(rload32(w + j)), m0 = rfilter_mask(h0, gshift);
                                uint64_t h1 = rhash64(rload32(w + j + RSTRIDE)), m1 = rfilter_mask(h1, gshift);

                                if (((gramf[h0 >> gshift] & m0) == m0) | ((gramf[h1 >> gshift] & m1) == m1))
                                        break;
                                j += 2 * RSTRIDE;
                        }
                        while (j + RGRAM <= n && tokpos > j) {
                                uint64_t h = rhash64(rload32(w + j)), m = rfilter_mask(h, gshift);

                                if ((gramf[h >> gshift] & m) == m)
                                        break;
                                j += RSTRIDE;
                        }
                } else {
                        while (j + RGRAM <= n && tokpos > j)
                                j += RSTRIDE;
                }
                if (j + RGRAM > n)
                        break;
                /* a passing gram with no rule candidate near: unless a
                 * start's key passes the key filter too, go on scanning */
                if (tokpos > j && j + RKEY <= n && j >= RSTRIDE - 1 && !keys_maybe(r, w + j)) {
                        j += RSTRIDE;
                        continue;
                }
                if (j + 1 >= RSTRIDE && j + 1 - RSTRIDE > lo)
                        lo = j + 1 - RSTRIDE;
                advance(s, s->base + lo);
                if (!step_at(s, j, lo, eof))
                        break;
                lo = j + 1;
                j += RSTRIDE;
                if (tokpos < lo)
                        tokpos = next_tok(s, lo);
        }
        /* Positions before j - RSTRIDE + 1 are decided.  At the end of the
         * input nothing can start in what is left (fewer than 8 bytes);
         * before that, a position is held only if what follows it could
         * still begin a form or a rule, so a finished line is not kept
         * waiting for the next write. */
        if (j + 1 >= RSTRIDE && j + 1 - RSTRIDE > lo)
                lo = j + 1 - RSTRIDE;
        if (eof)
                lo = n;
        else if (j + RGRAM > n)
                while (lo < n && !could_start(s, lo))
                        lo++;
        s->known = s->base + lo;
        s->scan = s->base + j;
        /* sampled positions whose starts are all decided are skipped, so
         * the window never needs bytes before s->known */
        if (s->scan < s->known)
                s->scan = (s->known + RSTRIDE - 1) / RSTRIDE * RSTRIDE;
        advance(s, s->known);
}

/* end of input: every match is known; close an interval ending at the end */
static void close_all(struct redact_stream *s)
{
        uint64_t end = s->base + s->wlen;

        advance(s, end);
        if (s->mask_open) {
                s->mask_open = false;
                s->emit = s->mask_end;
                drop_sgr_before(s, s->emit);
        }
        out_plain(s, s->emit, end);
        out_sgr_upto(s, end);
        s->emit = end;
}

/* drop window bytes that are decided, make room for more */
static void compact(struct redact_stream *s, size_t need)
{
        size_t keep_from = (size_t)(s->emit - s->base);

        if (keep_from > 0) {
                memmove(s->win, s->win + keep_from, s->wlen - keep_from);
                s->wlen -= keep_from;
                s->base = s->emit;
        }
        if (s->wlen + need > s->wcap) {
                size_t c = s->wcap ? s->wcap : 4096;

                while (c < s->wlen + need)
                        c *= 2;
                s->win = xrealloc(s->win, c);
                s->wcap = c;
        }
}

struct redact_stream *redact_stream_new(const struct redact_registry *reg,
                                        const struct redact_opts *opts)
{
        struct redact_stream *s = xcalloc(1, sizeof(*s));

        if (!reg->frozen)
                abort();        /* a programming error, not a runtime one */
        s->reg = reg;
        rnorm_init(&s->norm, opts != NULL && opts->keep_colour ? &s->sgrs : NULL);
        rout_init(&s->out, opts);
        return s;
}

void redact_stream_free(struct redact_stream *s)
{
        if (s == NULL)
                return;
        rout_free(&s->out);
        rsgrs_free(&s->sgrs);
        free(s->win);
        free(s);
}

uint64_t redact_stream_bytes_in(const struct redact_stream *s)
{
        return s->bytes_in;
}

uint64_t redact_stream_bytes_out(const struct redact_stream *s)
{
        return s->out.bytes_out;
}

uint64_t redact_stream_bytes_dropped(const struct redact_stream *s)
{
        return s->out.dropped;
}

static int call_end(struct redact_stream *s, struct err *err)
{
        int rc;

        out_flush(s);
        rc = s->rc;
        s->rc = 0;
        s->fn = NULL;
        s->arg = NULL;
        if (rc < 0)
                return err_set(err, -rc, "redact: writing output");
        return 0;
}

int redact_stream_write(struct redact_stream *s, const void *buf, size_t len,
                        redact_out_fn out, void *arg, struct err *err)
{
        const uint8_t *p = buf;

        if (s->finished)
                return err_set(err, EPIPE, "redact: write after finish");
        s->fn = out;
        s->arg = arg;
        s->bytes_in += len;
        while (len > 0) {
                size_t n = len < NORM_CHUNK ? len : NORM_CHUNK;

                compact(s, RNORM_BOUND(n));
                if (s->raw) {
                        memcpy(s->win + s->wlen, p, n);
                        s->wlen += n;
                } else {
                        s->wlen += rnorm_feed(&s->norm, p, n, s->win + s->wlen);
                }
                scan(s, false);
                p += n;
                len -= n;
        }
        return call_end(s, err);
}

int redact_stream_finish(struct redact_stream *s, redact_out_fn out, void *arg,
                         struct err *err)
{
        if (s->finished)
                return err_set(err, EPIPE, "redact: finished twice");
        s->finished = true;
        s->fn = out;
        s->arg = arg;
        compact(s, RNORM_BOUND(0));
        if (!s->raw)
                s->wlen += rnorm_finish(&s->norm, s->win + s->wlen);
        scan(s, true);
        close_all(s);
        rout_finish(&s->out);
        return call_end(s, err);
}

/* ---- one-shot forms ---- */

static int collect(void *arg, const void *buf, size_t len)
{
        struct rout *o = arg;

        rout_append(o, buf, len);
        return 0;
}

int redact_mask_trusted(char **out, size_t *out_len, const struct redact_registry *reg,
                        const void *in, size_t len, struct err *err)
{
        struct redact_stream *s = redact_stream_new(reg, NULL);
        struct rout acc;
        int r;

        rout_init(&acc, NULL);
        s->raw = true;
        r = redact_stream_write(s, in, len, collect, &acc, err);
        if (r == 0)
                r = redact_stream_finish(s, collect, &acc, err);
        redact_stream_free(s);
        if (r < 0) {
                rout_free(&acc);
                return r;
        }
        rout_append(&acc, "", 1);
        *out = (char *)acc.buf;
        *out_len = acc.len - 1;
        return 0;
}

/* The reference, written for obviousness: mark every byte covered by any
 * occurrence of any form or rule body, then replace each run of marked
 * bytes by one REDACT_MASK.  Kept SGR sequences (keep_colour) go out
 * before the byte they preceded, except those strictly inside a run of
 * marked bytes. */
int redact_oneshot(char **out, size_t *out_len, const struct redact_registry *reg,
                   const struct redact_opts *opts, const void *in, size_t len,
                   struct err *err)
{
        struct rsgrs q = { 0 };
        struct rnorm nm;
        uint8_t *t;
        bool *mark;
        struct rout o;
        size_t n, e = 0;

        if (!reg->frozen)
                return err_set(err, EINVAL, "redact: registry not frozen");
        t = xmalloc(RNORM_BOUND(len) + 1);
        rnorm_init(&nm, opts != NULL && opts->keep_colour ? &q : NULL);
        n = rnorm_feed(&nm, in, len, t);
        n += rnorm_finish(&nm, t + n);
        mark = xcalloc(n + 1, sizeof(bool));
        for (size_t p = 0; p < n; p++) {
                size_t ms, me;

                for (size_t k = 0; k < reg->nforms; k++) {
                        const struct rform *f = &reg->forms[k];

                        if (f->len <= n - p && memcmp(t + p, reg->arena + f->off, f->len) == 0)
                                for (size_t m = p; m < p + f->len; m++)
                                        mark[m] = true;
                }
                if (reg->patterns && rrules_try(t + p, n - p, true, &ms, &me) == RRULE_MATCH)
                        for (size_t m = p + ms; m < p + me; m++)
                                mark[m] = true;
        }
        rout_init(&o, opts);
        for (size_t i = 0;;) {
                size_t j;

                for (; e < q.n && q.v[e].pos <= i; e++) {
                        size_t at = (size_t)q.v[e].pos;

                        if (!(at > 0 && at < n && mark[at - 1] && mark[at]))
                                rout_put_sgr(&o, q.v[e].b, q.v[e].len);
                }
                if (i >= n)
                        break;
                j = i + 1;
                while (j < n && mark[j] == mark[i] && (mark[i] || e >= q.n || q.v[e].pos > j))
                        j++;
                if (mark[i])
                        rout_put(&o, (const uint8_t *)REDACT_MASK, strlen(REDACT_MASK));
                else
                        rout_put(&o, t + i, j - i);
                i = j;
        }
        rout_finish(&o);
        rout_append(&o, "", 1);
        free(t);
        free(mark);
        rsgrs_free(&q);
        *out = (char *)o.buf;
        *out_len = o.len - 1;
        return 0;
}
