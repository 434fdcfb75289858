/* constraint.c - versions and Terraform's ruby-style constraints.
 *
 * The scanner follows go-versions' raw_scan.rl grammar:
 *   op   = bytes that are not digit, space, letter, '.' or '*'
 *   sep  = (space | 'v')*
 *   nums = num ('.' num)*      num = digit+ | '*' | 'x' | 'X'
 *   pre  = '-' (alnum | '.' | '-')+     meta = '+' (alnum | '.' | '-')+
 * and the checks of ParseRubyStyleMulti are applied in the same order, so
 * the same strings are accepted and refused. */
#include "constraint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/util/buf.h"
#include "runner/util/xalloc.h"

/* ASCII classes, independent of the locale */
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static bool is_extra(char c) { return is_digit(c) || is_alpha(c) || c == '.' || c == '-'; }

static bool is_op_char(char c)
{
        return c != '\0' && !is_digit(c) && !is_space(c) && !is_alpha(c) && c != '.' && c != '*';
}

/* ---- versions ---------------------------------------------------------- */

/* go-versions VersionExtra.LessThan, including its rule that a string with
 * fewer dot-separated parts precedes one with more as soon as either runs
 * out of dots (so "b" < "a.1"): Terraform orders pre-releases this way. */
static bool extra_part_less(const char *a, size_t na, const char *b, size_t nb)
{
        bool an = true, bn = true;

        for (size_t i = 0; i < na; i++)
                an = an && is_digit(a[i]);
        for (size_t i = 0; i < nb; i++)
                bn = bn && is_digit(b[i]);
        if (an && !bn)
                return true;
        if (bn && !an)
                return false;
        if (an && na != nb)
                return na < nb;
        int c = memcmp(a, b, na < nb ? na : nb);
        return c < 0 || (c == 0 && na < nb);
}

static bool extra_less(const char *a, const char *b)
{
        if (strcmp(a, b) == 0)
                return false;
        for (;;) {
                const char *da = strchr(a, '.'), *db = strchr(b, '.');

                if (da == NULL && db != NULL)
                        return true;
                if (db == NULL && da != NULL)
                        return false;
                if (da == NULL)
                        return extra_part_less(a, strlen(a), b, strlen(b));
                if ((size_t)(da - a) != (size_t)(db - b) || memcmp(a, b, (size_t)(da - a)) != 0)
                        return extra_part_less(a, (size_t)(da - a), b, (size_t)(db - b));
                a = da + 1;
                b = db + 1;
        }
}

static int cmp_u64(uint64_t a, uint64_t b)
{
        return a < b ? -1 : a > b;
}

int tfver_cmp(const struct tfver *a, const struct tfver *b)
{
        int c;

        if ((c = cmp_u64(a->major, b->major)) != 0 || (c = cmp_u64(a->minor, b->minor)) != 0 ||
            (c = cmp_u64(a->patch, b->patch)) != 0)
                return c;
        if (strcmp(a->pre, b->pre) == 0)
                return 0;
        if (a->pre[0] == '\0')
                return 1;       /* a release follows its pre-releases */
        if (b->pre[0] == '\0')
                return -1;
        return extra_less(a->pre, b->pre) ? -1 : 1;
}

bool tfver_equal(const struct tfver *a, const struct tfver *b)
{
        return tfver_cmp(a, b) == 0 && strcmp(a->meta, b->meta) == 0;
}

int tfver_format(char *out, size_t n, const struct tfver *v)
{
        return snprintf(out, n, "%llu.%llu.%llu%s%s%s%s", (unsigned long long)v->major,
                        (unsigned long long)v->minor, (unsigned long long)v->patch,
                        v->pre[0] ? "-" : "", v->pre, v->meta[0] ? "+" : "", v->meta);
}

static bool is_unspecified(const struct tfver *v)
{
        return v->major == 0 && v->minor == 0 && v->patch == 0 && v->pre[0] == '\0' &&
               v->meta[0] == '\0';
}

/* ---- scanning ---------------------------------------------------------- */

struct raw_sel {
        const char *op;
        size_t op_len;
        const char *sep;
        size_t sep_len;
        const char *nums[4];    /* first three kept; count goes on */
        size_t num_len[4];
        unsigned num_ct;
        const char *pre, *meta; /* without the '-' / '+' */
        size_t pre_len, meta_len;
};

static size_t scan_num(const char *p)
{
        size_t n = 0;

        if (*p == '*' || *p == 'x' || *p == 'X')
                return 1;
        while (is_digit(p[n]))
                n++;
        return n;
}

static size_t scan_extra(const char *p)
{
        size_t n = 0;

        while (is_extra(p[n]))
                n++;
        return n;
}

/* scan one selection at s; returns the number of bytes consumed */
static size_t scan_selection(struct raw_sel *r, const char *s)
{
        const char *p = s;

        memset(r, 0, sizeof(*r));
        r->op = p;
        while (is_op_char(*p))
                p++;
        r->op_len = (size_t)(p - r->op);
        r->sep = p;
        while (is_space(*p) || *p == 'v')
                p++;
        r->sep_len = (size_t)(p - r->sep);
        for (;;) {
                size_t n = scan_num(p);

                if (n == 0)
                        break;
                if (r->num_ct < 3) {
                        r->nums[r->num_ct] = p;
                        r->num_len[r->num_ct] = n;
                }
                r->num_ct++;
                p += n;
                if (*p != '.' || scan_num(p + 1) == 0)
                        break;
                p++;
        }
        if (r->num_ct > 0 && *p == '-' && scan_extra(p + 1) > 0) {
                r->pre = p + 1;
                r->pre_len = scan_extra(p + 1);
                p += 1 + r->pre_len;
        }
        if (r->num_ct > 0 && *p == '+' && scan_extra(p + 1) > 0) {
                r->meta = p + 1;
                r->meta_len = scan_extra(p + 1);
                p += 1 + r->meta_len;
        }
        return (size_t)(p - s);
}

static const struct {
        const char *text;
        enum tfcons_op op;
} op_table[] = {
        { "", TFCONS_EQ },   { "=", TFCONS_EQ },  { "!=", TFCONS_NE }, { ">", TFCONS_GT },
        { ">=", TFCONS_GE }, { "<", TFCONS_LT },  { "<=", TFCONS_LE }, { "~>", TFCONS_TILDE_MINOR },
};

static bool raw_is(const char *p, size_t n, const char *lit)
{
        return strlen(lit) == n && memcmp(p, lit, n) == 0;
}

static int parse_u64(uint64_t *out, const char *p, size_t n)
{
        uint64_t v = 0;

        for (size_t i = 0; i < n; i++) {
                if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t)(p[i] - '0'), &v))
                        return -ERANGE;
        }
        *out = v;
        return 0;
}

static int copy_extra(char *dst, const char *src, size_t n)
{
        if (n >= TFVER_EXTRA_MAX)
                return -ERANGE;
        memcpy(dst, src, n);
        dst[n] = '\0';
        return 0;
}

/* fill v from the numbers and extras of r; *reason set on failure */
static int raw_to_version(struct tfver *v, const struct raw_sel *r, const char **reason)
{
        static const char *const wildcard[3] = {
                "can't use wildcard for major number; omit segments that should be unconstrained",
                "can't use wildcard for minor number; omit segments that should be unconstrained",
                "can't use wildcard for patch number; omit segments that should be unconstrained",
        };
        uint64_t *slot[3] = { &v->major, &v->minor, &v->patch };

        memset(v, 0, sizeof(*v));
        for (unsigned i = 0; i < r->num_ct && i < 3; i++) {
                if (!is_digit(r->nums[i][0])) {
                        *reason = wildcard[i];
                        return -EINVAL;
                }
                if (parse_u64(slot[i], r->nums[i], r->num_len[i]) < 0) {
                        *reason = "version number too large";
                        return -EINVAL;
                }
        }
        if (copy_extra(v->pre, r->pre ? r->pre : "", r->pre_len) < 0 ||
            copy_extra(v->meta, r->meta ? r->meta : "", r->meta_len) < 0) {
                *reason = "pre-release or metadata part too long";
                return -EINVAL;
        }
        return 0;
}

static const char unknown_op[] = "invalid constraint operator";

/* the checks of go-versions parseRubyStyle, in its order */
static int check_selection(struct tfcons_sel *sel, const struct raw_sel *r, const char **reason)
{
        size_t i;

        for (i = 0; i < sizeof(op_table) / sizeof(op_table[0]); i++)
                if (raw_is(r->op, r->op_len, op_table[i].text))
                        break;
        if (i == sizeof(op_table) / sizeof(op_table[0])) {
                if (raw_is(r->op, r->op_len, "=<"))
                        *reason = "invalid constraint operator \"=<\"; did you mean \"<=\"?";
                else if (raw_is(r->op, r->op_len, "=>"))
                        *reason = "invalid constraint operator \"=>\"; did you mean \">=\"?";
                else
                        *reason = unknown_op;
                return -EINVAL;
        }
        sel->op = op_table[i].op;
        if (sel->op == TFCONS_TILDE_MINOR && r->num_ct == 3)
                sel->op = TFCONS_TILDE_PATCH;
        if (r->sep_len > 0 && !raw_is(r->sep, r->sep_len, " ")) {
                if (memchr(r->sep, 'v', r->sep_len) != NULL)
                        *reason = "a \"v\" prefix should not be used when specifying versions";
                else if (r->op_len == 0)
                        *reason = "extraneous spaces at start of specification";
                else
                        *reason = "only one space is expected after the operator";
                return -EINVAL;
        }
        if (r->sep_len > 0 && r->op_len == 0) {
                *reason = "extraneous spaces at start of specification";
                return -EINVAL;
        }
        if (r->num_ct == 0) {
                *reason = "expected a version number";
                return -EINVAL;
        }
        if (r->num_ct > 3) {
                *reason = "too many numbered portions; only three are allowed (major, minor, patch)";
                return -EINVAL;
        }
        return raw_to_version(&sel->v, r, reason);
}

static const char *trim_left(const char *p)
{
        while (is_space(*p))
                p++;
        return p;
}

void tfcons_free(struct tfcons *c)
{
        if (c == NULL)
                return;
        free(c->sels);
        c->sels = NULL;
        c->n = 0;
}

int tfcons_parse(struct tfcons *out, const char *s, struct err *err)
{
        struct tfcons c = { NULL, 0 };
        const char *p = trim_left(s);
        size_t len = strlen(s);

        out->sels = NULL;
        out->n = 0;
        if (len > TFCONS_MAX_LEN)
                return err_set(err, 0, "version constraint longer than %d bytes", TFCONS_MAX_LEN);
        while (*p != '\0') {
                struct raw_sel r;
                struct tfcons_sel sel;
                const char *reason = NULL;
                size_t n = scan_selection(&r, p);

                if (check_selection(&sel, &r, &reason) < 0) {
                        int k = (int)(n > 0 ? n : strcspn(p, ","));

                        tfcons_free(&c);
                        if (reason == unknown_op)
                                return err_set(err, EINVAL,
                                               "invalid version constraint \"%s\": invalid constraint operator \"%.*s\"",
                                               s, (int)r.op_len, r.op);
                        return err_set(err, 0, "invalid version constraint \"%s\": \"%.*s\": %s",
                                       s, k, p, reason);
                }
                if (c.n == TFCONS_MAX_SELECTIONS) {
                        tfcons_free(&c);
                        return err_set(err, 0, "invalid version constraint \"%s\": more than %d selections",
                                       s, TFCONS_MAX_SELECTIONS);
                }
                c.sels = xreallocarray(c.sels, c.n + 1, sizeof(*c.sels));
                c.sels[c.n++] = sel;
                p = trim_left(p + n);
                if (*p == '\0')
                        break;
                if (*p != ',') {
                        const char *why = *p == 'v' ? "a \"v\" prefix should not be used when specifying versions"
                                        : *p == '-' ? "range constraints are not supported"
                                        : "expected a comma between selections";
                        tfcons_free(&c);
                        return err_set(err, 0, "invalid version constraint \"%s\": %s, at \"%s\"",
                                       s, why, p);
                }
                /* go-versions accepts a trailing comma, so this does too */
                p = trim_left(p + 1);
        }
        *out = c;
        return 0;
}

int tfver_parse(struct tfver *out, const char *s, struct err *err)
{
        struct raw_sel r;
        const char *reason = NULL;
        size_t n = scan_selection(&r, s);

        memset(out, 0, sizeof(*out));
        if (r.op_len > 0 || r.sep_len > 0)
                return err_set(err, 0, "invalid version \"%s\": %s", s,
                               memchr(r.sep, 'v', r.sep_len) ? "a \"v\" prefix should not be used"
                                                            : "a version, not a constraint, is expected");
        if (r.num_ct == 0 || r.num_ct > 3 || s[n] != '\0')
                return err_set(err, 0, "invalid version \"%s\": expected MAJOR.MINOR.PATCH[-PRERELEASE][+METADATA]", s);
        if (raw_to_version(out, &r, &reason) < 0)
                return err_set(err, 0, "invalid version \"%s\": %s", s, reason);
        return 0;
}

/* ---- matching ---------------------------------------------------------- */

static bool sel_holds(const struct tfcons_sel *sel, const struct tfver *v)
{
        struct tfver upper;
        int c = tfver_cmp(v, &sel->v);

        switch (sel->op) {
        case TFCONS_EQ:
                return tfver_equal(v, &sel->v);
        case TFCONS_NE:
                return !tfver_equal(v, &sel->v);
        case TFCONS_GT:
                return c > 0;
        case TFCONS_GE:
                return c >= 0;
        case TFCONS_LT:
                return c < 0;
        case TFCONS_LE:
                return c <= 0;
        case TFCONS_TILDE_MINOR:
        case TFCONS_TILDE_PATCH:
                memset(&upper, 0, sizeof(upper));
                upper.major = sel->v.major;
                if (sel->op == TFCONS_TILDE_MINOR)
                        upper.major++;  /* wraps like Go's uint64 */
                else
                        upper.minor = sel->v.minor + 1;
                return c >= 0 && tfver_cmp(v, &upper) < 0;
        }
        return false;
}

bool tfcons_allows(const struct tfcons *c, const struct tfver *v)
{
        bool requested = false;

        if (c->n == 0)
                return true;
        if (is_unspecified(v))
                return false;   /* go-versions: only the "All" set holds 0.0.0 */
        for (size_t i = 0; i < c->n; i++) {
                if (!sel_holds(&c->sels[i], v))
                        return false;
                if (c->sels[i].op == TFCONS_EQ)
                        requested = true;       /* it held, so it names v exactly */
        }
        return v->pre[0] == '\0' || requested;
}

/* ---- canonical form ---------------------------------------------------- */

static int op_priority(enum tfcons_op op)
{
        static const int prio[] = {
                [TFCONS_GT] = 1, [TFCONS_GE] = 2, [TFCONS_EQ] = 3, [TFCONS_TILDE_PATCH] = 4,
                [TFCONS_TILDE_MINOR] = 5, [TFCONS_LE] = 6, [TFCONS_LT] = 7, [TFCONS_NE] = 8,
        };
        return prio[op];
}

static int sel_order(const void *pa, const void *pb)
{
        const struct tfcons_sel *a = pa, *b = pb;
        int c = tfver_cmp(&a->v, &b->v);

        if (c == 0 && strcmp(a->v.meta, b->v.meta) != 0)
                c = extra_less(a->v.meta, b->v.meta) ? -1 : 1;
        if (c != 0)
                return c;
        return op_priority(a->op) - op_priority(b->op);
}

char *tfcons_canonical(const struct tfcons *c)
{
        static const char *const prefix[] = {
                [TFCONS_EQ] = "", [TFCONS_NE] = "!= ", [TFCONS_GT] = "> ", [TFCONS_GE] = ">= ",
                [TFCONS_LT] = "< ", [TFCONS_LE] = "<= ", [TFCONS_TILDE_MINOR] = "~> ",
                [TFCONS_TILDE_PATCH] = "~> ",
        };
        struct tfcons_sel *s = c->n ? xmemdup(c->sels, c->n * sizeof(*s)) : NULL;
        struct buf b = BUF_INIT((size_t)1 << 20);
        size_t n = 0;

        if (c->n)
                qsort(s, c->n, sizeof(*s), sel_order);
        for (size_t i = 0; i < c->n; i++) {
                if (n > 0 && sel_order(&s[n - 1], &s[i]) == 0 && s[n - 1].op == s[i].op)
                        continue;
                s[n++] = s[i];
        }
        for (size_t i = 0; i < n; i++) {
                const struct tfver *v = &s[i].v;

                buf_printf(&b, NULL, "%s%s%llu.%llu", i ? ", " : "", prefix[s[i].op],
                           (unsigned long long)v->major, (unsigned long long)v->minor);
                if (s[i].op != TFCONS_TILDE_MINOR)
                        buf_printf(&b, NULL, ".%llu", (unsigned long long)v->patch);
                buf_printf(&b, NULL, "%s%s%s%s", v->pre[0] ? "-" : "", v->pre,
                           v->meta[0] ? "+" : "", v->meta);
        }
        free(s);
        return buf_steal(&b, NULL);
}
