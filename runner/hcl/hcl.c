/* hcl.c - the HCL native syntax reader (see hcl.h).
 *
 * A recursive-descent reader over bytes.  Bodies (attributes and blocks) are
 * parsed strictly, because that is where a misread would hide a provisioner
 * or a provider from the gate.  Expressions are parsed only as far as needed
 * to find where they end: a single literal operand (string, heredoc,
 * number, bool, null, list, object) is decoded; anything longer is kept as
 * source text.  Every recursion passes a depth that is checked against
 * HCL_MAX_DEPTH, every loop consumes at least one byte or ends, and every
 * node is counted against HCL_MAX_NODES, so no input can crash, hang or
 * exhaust the stack.  Positions are computed from byte offsets through a
 * table of line starts. */
#include "hcl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/buf.h"
#include "../util/cleanup.h"
#include "../util/fileio.h"
#include "../util/xalloc.h"
#include "hcl_internal.h"

/* Where an expression may end; the reader stops at the first byte that ends
 * it in its context, outside any bracket, string or heredoc. */
/* Terraform's blocks have at most two labels; a generous bound keeps the
 * label array's growth linear. */
#define HCL_MAX_LABELS 16

enum ctx {
        CTX_ATTR,       /* attribute value in a body: newline, '}' or EOF */
        CTX_LIST,       /* list element: ',' or ']' */
        CTX_KEY,        /* object key: '=' or ':' */
        CTX_OBJVAL,     /* object member value: ',', newline or '}' */
};

struct parser {
        const char *name;
        const char *s;
        size_t n;
        size_t i;
        size_t *lines;          /* offsets of line starts */
        size_t n_lines;
        size_t nodes;
        struct err *err;
};

/* ---- positions and errors ------------------------------------------- */

static struct hcl_pos pos_at(const struct parser *p, size_t off)
{
        size_t lo = 0, hi = p->n_lines;
        struct hcl_pos pos;

        /* the last line start <= off */
        while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;

                if (p->lines[mid] <= off)
                        lo = mid;
                else
                        hi = mid;
        }
        pos.line = (uint32_t)(lo + 1);
        pos.col = (uint32_t)(off - p->lines[lo] + 1);
        return pos;
}

__attribute__((format(printf, 3, 4)))
static int fail_at(struct parser *p, size_t off, const char *fmt, ...)
{
        struct hcl_pos pos = pos_at(p, off);
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return err_set(p->err, 0, "%s:%u:%u: %s", p->name, pos.line, pos.col, msg);
}

/* a byte as it should appear in a message */
static const char *show_byte(char out[8], unsigned char c)
{
        if (c >= 0x21 && c < 0x7f)
                snprintf(out, 8, "'%c'", c);
        else if (c == '\n')
                snprintf(out, 8, "newline");
        else
                snprintf(out, 8, "0x%02x", c);
        return out;
}

static int count_node(struct parser *p, size_t off)
{
        if (++p->nodes > HCL_MAX_NODES)
                return fail_at(p, off, "too many values (limit %zu)", HCL_MAX_NODES);
        return 0;
}

static int check_depth(struct parser *p, int depth, size_t off)
{
        if (depth > HCL_MAX_DEPTH)
                return fail_at(p, off, "nesting deeper than %d levels", HCL_MAX_DEPTH);
        return 0;
}

/* ---- character classes ---------------------------------------------- */

static int peek(const struct parser *p, size_t k)
{
        return p->i + k < p->n ? (unsigned char)p->s[p->i + k] : -1;
}

static bool is_id_start(int c)
{
        /* bytes >= 0x80 are accepted as parts of UTF-8 letters */
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_id_char(int c)
{
        return is_id_start(c) || (c >= '0' && c <= '9') || c == '-';
}

static bool is_digit(int c)
{
        return c >= '0' && c <= '9';
}

/* Skip blanks and comments.  With newlines false, stop at a newline (a
 * line comment ends just before its newline).  Fails only on an
 * unterminated block comment. */
static int skip_space(struct parser *p, bool newlines)
{
        while (p->i < p->n) {
                int c = peek(p, 0);

                if (c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n')) {
                        p->i++;
                } else if (c == '#' || (c == '/' && peek(p, 1) == '/')) {
                        while (p->i < p->n && p->s[p->i] != '\n')
                                p->i++;
                } else if (c == '/' && peek(p, 1) == '*') {
                        const char *end = memmem(p->s + p->i + 2, p->n - p->i - 2, "*/", 2);

                        if (end == NULL)
                                return fail_at(p, p->i, "unterminated comment");
                        p->i = (size_t)(end - p->s) + 2;
                } else {
                        break;
                }
        }
        return 0;
}

/* ---- values --------------------------------------------------------- */

static struct hcl_value *value_new(struct parser *p, enum hcl_kind kind, size_t start)
{
        struct hcl_value *v = xcalloc(1, sizeof(*v));

        v->kind = kind;
        v->pos = pos_at(p, start);
        v->text = p->s + start;
        return v;
}

void hcl_value_free(struct hcl_value *v)
{
        if (v == NULL)
                return;
        free(v->str);
        for (size_t i = 0; i < v->n_items; i++)
                hcl_value_free(v->items[i]);
        free(v->items);
        for (size_t i = 0; i < v->n_members; i++) {
                free(v->members[i].key);
                hcl_value_free(v->members[i].value);
        }
        free(v->members);
        free(v->owned_text_);
        free(v);
}

/* Make room for element n of an array grown one element at a time: the
 * allocation doubles whenever n reaches a power of two, so appends stay
 * amortised O(1) without storing a capacity. */
void *hcl_grow(void *arr, size_t n, size_t size)
{
        if (n == 0)
                return xreallocarray(arr, 1, size);
        if ((n & (n - 1)) == 0)
                return xreallocarray(arr, n, 2 * size);
        return arr;
}

static void value_freep(struct hcl_value **v)
{
        hcl_value_free(*v);
}

#define _cleanup_value_ _cleanup_(value_freep)

/* ---- strings and templates ------------------------------------------ */

static int skip_token(struct parser *p, int depth);

/* p->i is at the '{' of "${" or "%{": skip to just past the matching '}'.
 * Inside, newlines are insignificant and strings may nest. */
static int skip_group(struct parser *p, int depth)
{
        size_t open = p->i;
        char want = p->s[p->i] == '(' ? ')' : p->s[p->i] == '[' ? ']' : '}';
        int r;

        if ((r = check_depth(p, depth, open)) < 0)
                return r;
        p->i++;
        for (;;) {
                int c;

                if ((r = skip_space(p, true)) < 0)
                        return r;
                if (p->i >= p->n)
                        return fail_at(p, open, "unclosed '%c'", p->s[open]);
                c = peek(p, 0);
                if (c == want) {
                        p->i++;
                        return 0;
                }
                if (c == ')' || c == ']' || c == '}') {
                        char b[8];

                        return fail_at(p, p->i, "unexpected %s, expected '%c' to close '%c' at %u:%u",
                                       show_byte(b, (unsigned char)c), want, p->s[open],
                                       pos_at(p, open).line, pos_at(p, open).col);
                }
                if ((r = skip_token(p, depth + 1)) < 0)
                        return r;
        }
}

static void utf8_put(struct buf *b, uint32_t cp)
{
        char u[4];
        size_t n;

        if (cp < 0x80) {
                u[0] = (char)cp;
                n = 1;
        } else if (cp < 0x800) {
                u[0] = (char)(0xc0 | (cp >> 6));
                u[1] = (char)(0x80 | (cp & 0x3f));
                n = 2;
        } else if (cp < 0x10000) {
                u[0] = (char)(0xe0 | (cp >> 12));
                u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                u[2] = (char)(0x80 | (cp & 0x3f));
                n = 3;
        } else {
                u[0] = (char)(0xf0 | (cp >> 18));
                u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
                u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
                u[3] = (char)(0x80 | (cp & 0x3f));
                n = 4;
        }
        /* the buffer's cap is the source size, never reached by decoding */
        buf_append(b, u, n, NULL);
}

static int decode_escape(struct parser *p, struct buf *out)
{
        size_t at = p->i;       /* the backslash */
        int c = peek(p, 1);
        static const struct { char in, out; } simple[] = {
                { 'n', '\n' }, { 'r', '\r' }, { 't', '\t' }, { '"', '"' }, { '\\', '\\' },
        };

        for (size_t k = 0; k < ARRAY_SIZE(simple); k++) {
                if (c == simple[k].in) {
                        buf_putc(out, simple[k].out, NULL);
                        p->i += 2;
                        return 0;
                }
        }
        if (c == 'u' || c == 'U') {
                size_t digits = c == 'u' ? 4 : 8;
                uint32_t cp = 0;

                for (size_t k = 0; k < digits; k++) {
                        int h = peek(p, 2 + k);
                        int v = h >= '0' && h <= '9' ? h - '0'
                                : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;

                        if (v < 0)
                                return fail_at(p, at, "invalid \\%c escape: expected %zu hex digits", c, digits);
                        cp = cp << 4 | (uint32_t)v;
                }
                if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return fail_at(p, at, "invalid unicode code point U+%X", cp);
                utf8_put(out, cp);
                p->i += 2 + digits;
                return 0;
        }
        if (c < 0 || c == '\n')
                return fail_at(p, at, "unterminated string");
        if (c >= 0x21 && c < 0x7f)
                return fail_at(p, at, "invalid escape sequence \\%c", c);
        return fail_at(p, at, "invalid escape sequence");
}

/* A quoted string at p->i.  Returns a STRING value when it holds no
 * template sequence, else an EXPR (its text is the quoted source). */
static int parse_quoted(struct parser *p, struct hcl_value **out, int depth)
{
        size_t open = p->i;
        struct buf dec = BUF_INIT(p->n + 1);
        bool templated = false;
        int r;

        if ((r = check_depth(p, depth, open)) < 0)
                return r;
        p->i++;
        for (;;) {
                int c = peek(p, 0);

                if (c < 0 || c == '\n') {
                        buf_free(&dec);
                        return fail_at(p, open, "unterminated string");
                }
                if (c == '"') {
                        p->i++;
                        break;
                }
                if (c == '\\') {
                        if ((r = decode_escape(p, &dec)) < 0) {
                                buf_free(&dec);
                                return r;
                        }
                        continue;
                }
                if ((c == '$' || c == '%') && peek(p, 1) == c && peek(p, 2) == '{') {
                        /* $${ and %%{ are the literal ${ and %{ */
                        buf_putc(&dec, (char)c, NULL);
                        buf_putc(&dec, '{', NULL);
                        p->i += 3;
                        continue;
                }
                if ((c == '$' || c == '%') && peek(p, 1) == '{') {
                        templated = true;
                        p->i++;
                        if ((r = skip_group(p, depth + 1)) < 0) {
                                buf_free(&dec);
                                return r;
                        }
                        continue;
                }
                buf_putc(&dec, (char)c, NULL);
                p->i++;
        }
        if ((r = count_node(p, open)) < 0) {
                buf_free(&dec);
                return r;
        }
        *out = value_new(p, templated ? HCL_EXPR : HCL_STRING, open);
        (*out)->text_len = p->i - open;
        if (!templated)
                (*out)->str = buf_steal(&dec, &(*out)->str_len);
        buf_free(&dec);
        return 0;
}

/* the length of the line starting at off, without its "\n" or "\r\n" */
static size_t line_len(const struct parser *p, size_t off, size_t *next)
{
        const char *nl = memchr(p->s + off, '\n', p->n - off);
        size_t end = nl ? (size_t)(nl - p->s) : p->n;

        *next = nl ? end + 1 : p->n;
        if (end > off && p->s[end - 1] == '\r')
                end--;
        return end - off;
}

static bool heredoc_close(const struct parser *p, size_t off, const char *marker, size_t mlen)
{
        size_t next, len = line_len(p, off, &next);
        const char *l = p->s + off;

        while (len > 0 && (*l == ' ' || *l == '\t')) {
                l++;
                len--;
        }
        return len == mlen && memcmp(l, marker, mlen) == 0;
}

/* strip the common leading blanks of non-blank lines (<<-) */
static char *dedent(const char *s, size_t len, size_t *out_len)
{
        size_t min = SIZE_MAX, i = 0, o = 0;
        char *r = xmalloc(len + 1);

        while (i < len) {
                size_t lead = 0, j = i;

                while (j < len && (s[j] == ' ' || s[j] == '\t')) {
                        j++;
                        lead++;
                }
                if (j < len && s[j] != '\n' && s[j] != '\r' && lead < min)
                        min = lead;
                while (j < len && s[j] != '\n')
                        j++;
                i = j + 1;
        }
        if (min == SIZE_MAX)
                min = 0;
        for (i = 0; i < len;) {
                size_t k = 0;

                while (k < min && i < len && (s[i] == ' ' || s[i] == '\t')) {
                        i++;
                        k++;
                }
                while (i < len && s[i] != '\n')
                        r[o++] = s[i++];
                if (i < len)
                        r[o++] = s[i++];
        }
        r[o] = '\0';
        *out_len = o;
        return r;
}

/* A heredoc at p->i ("<<" or "<<-"). */
static int parse_heredoc(struct parser *p, struct hcl_value **out, int depth)
{
        size_t open = p->i, mstart, mlen, body, off;
        bool indent = false, templated = false;
        const char *marker;
        int r;

        p->i += 2;
        if (peek(p, 0) == '-') {
                indent = true;
                p->i++;
        }
        mstart = p->i;
        if (!is_id_start(peek(p, 0)))
                return fail_at(p, open, "heredoc: expected an identifier after \"<<\"");
        while (is_id_char(peek(p, 0)))
                p->i++;
        marker = p->s + mstart;
        mlen = p->i - mstart;
        if (peek(p, 0) == '\r')
                p->i++;
        if (peek(p, 0) != '\n')
                return fail_at(p, p->i, "heredoc: expected a newline after the \"%.*s\" marker",
                               (int)mlen, marker);
        body = ++p->i;
        /* literal mode: look for the marker at each line start; skip
         * interpolations, which may span lines */
        for (bool line_start = true;;) {
                int c;

                if (line_start && heredoc_close(p, p->i, marker, mlen))
                        break;
                if (p->i >= p->n)
                        return fail_at(p, open, "unterminated heredoc: no line \"%.*s\"",
                                       (int)mlen, marker);
                line_start = false;
                c = peek(p, 0);
                if ((c == '$' || c == '%') && peek(p, 1) == c && peek(p, 2) == '{') {
                        p->i += 3;
                } else if ((c == '$' || c == '%') && peek(p, 1) == '{') {
                        templated = true;
                        p->i++;
                        if ((r = skip_group(p, depth + 1)) < 0)
                                return r;
                } else {
                        line_start = c == '\n';
                        p->i++;
                }
        }
        off = p->i;
        {
                size_t next;
                size_t content_len = off - body;

                line_len(p, off, &next);
                /* the value ends after the marker, before its newline */
                p->i = next;
                if (p->i > 0 && p->s[p->i - 1] == '\n')
                        p->i--;
                if (p->i > 0 && p->s[p->i - 1] == '\r')
                        p->i--;
                if ((r = count_node(p, open)) < 0)
                        return r;
                *out = value_new(p, templated ? HCL_EXPR : HCL_STRING, open);
                (*out)->text_len = p->i - open;
                if (!templated) {
                        if (indent) {
                                (*out)->str = dedent(p->s + body, content_len, &(*out)->str_len);
                        } else {
                                (*out)->str = xstrndup(p->s + body, content_len);
                                (*out)->str_len = content_len;
                        }
                }
        }
        return 0;
}

/* ---- opaque tokens -------------------------------------------------- */

/* Consume one token of an expression whose structure is not decoded:
 * a string, a heredoc, a bracketed group, a run of identifier or number
 * characters, or one operator byte.  The caller has skipped blanks and
 * handled closing brackets. */
static int skip_token(struct parser *p, int depth)
{
        _cleanup_value_ struct hcl_value *v = NULL;
        int c = peek(p, 0);

        if (c == '"')
                return parse_quoted(p, &v, depth);
        if (c == '<' && peek(p, 1) == '<')
                return parse_heredoc(p, &v, depth);
        if (c == '(' || c == '[' || c == '{')
                return skip_group(p, depth);
        if (is_id_char(c) || is_digit(c)) {
                while (is_id_char(peek(p, 0)) || is_digit(peek(p, 0)))
                        p->i++;
                return 0;
        }
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                char b[8];

                return fail_at(p, p->i, "invalid character %s", show_byte(b, (unsigned char)c));
        }
        p->i++;
        return 0;
}

/* ---- expressions ---------------------------------------------------- */

static int parse_expr(struct parser *p, enum ctx ctx, struct hcl_value **out, int depth);

static bool at_end(const struct parser *p, enum ctx ctx)
{
        int c = peek(p, 0);

        switch (ctx) {
        case CTX_ATTR:
                return c < 0 || c == '\n' || c == '}';
        case CTX_LIST:
                return c < 0 || c == ',' || c == ']';
        case CTX_KEY:
                return c < 0 || c == ':' || c == '}' || c == ',' ||
                       (c == '=' && peek(p, 1) != '=' && peek(p, 1) != '>');
        case CTX_OBJVAL:
                return c < 0 || c == ',' || c == '\n' || c == '}';
        }
        return true;
}

/* after '[' or '{': is this a for expression? */
static bool starts_for(const struct parser *p)
{
        size_t j = p->i + 1;

        while (j < p->n && (p->s[j] == ' ' || p->s[j] == '\t' || p->s[j] == '\n' || p->s[j] == '\r'))
                j++;
        return j + 3 < p->n && memcmp(p->s + j, "for", 3) == 0 &&
               !is_id_char((unsigned char)p->s[j + 3]);
}

static int opaque_group(struct parser *p, struct hcl_value **out, int depth)
{
        size_t open = p->i;
        int r;

        if ((r = skip_group(p, depth)) < 0 || (r = count_node(p, open)) < 0)
                return r;
        *out = value_new(p, HCL_EXPR, open);
        (*out)->text_len = p->i - open;
        return 0;
}

static int parse_list(struct parser *p, struct hcl_value **out, int depth)
{
        _cleanup_value_ struct hcl_value *v = NULL;
        size_t open = p->i;
        int r;

        if ((r = check_depth(p, depth, open)) < 0 || (r = count_node(p, open)) < 0)
                return r;
        v = value_new(p, HCL_LIST, open);
        p->i++;
        for (;;) {
                struct hcl_value *item = NULL;

                if ((r = skip_space(p, true)) < 0)
                        return r;
                if (peek(p, 0) == ']')
                        break;
                if (p->i >= p->n)
                        return fail_at(p, open, "unclosed '['");
                if ((r = parse_expr(p, CTX_LIST, &item, depth + 1)) < 0)
                        return r;
                v->items = hcl_grow(v->items, v->n_items, sizeof(*v->items));
                v->items[v->n_items++] = item;
                if (p->i >= p->n)
                        return fail_at(p, open, "unclosed '['");
                if (peek(p, 0) == ',')
                        p->i++;
                else if (peek(p, 0) != ']')
                        return fail_at(p, p->i, "expected ',' or ']' in list");
        }
        p->i++;
        v->text_len = p->i - open;
        *out = TAKE_PTR(v);
        return 0;
}

/* the key of an object member as a string: a bare identifier, a literal
 * string, or the source text of anything else */
static char *member_key(const struct hcl_value *k)
{
        if (k->kind == HCL_STRING)
                return xstrdup(k->str);
        return xstrndup(k->text, k->text_len);
}

static int parse_object(struct parser *p, struct hcl_value **out, int depth)
{
        _cleanup_value_ struct hcl_value *v = NULL;
        size_t open = p->i;
        int r;

        if ((r = check_depth(p, depth, open)) < 0 || (r = count_node(p, open)) < 0)
                return r;
        v = value_new(p, HCL_OBJECT, open);
        p->i++;
        for (;;) {
                _cleanup_value_ struct hcl_value *key = NULL;
                struct hcl_value *val = NULL;
                struct hcl_member *m;
                size_t kstart;
                char b[8];

                if ((r = skip_space(p, true)) < 0)
                        return r;
                if (peek(p, 0) == '}')
                        break;
                if (p->i >= p->n)
                        return fail_at(p, open, "unclosed '{'");
                kstart = p->i;
                if ((r = parse_expr(p, CTX_KEY, &key, depth + 1)) < 0)
                        return r;
                if (peek(p, 0) != '=' && peek(p, 0) != ':') {
                        if (p->i >= p->n)
                                return fail_at(p, open, "unclosed '{'");
                        return fail_at(p, p->i, "expected '=' or ':' after object key, found %s",
                                       show_byte(b, (unsigned char)p->s[p->i]));
                }
                p->i++;
                if ((r = skip_space(p, false)) < 0)
                        return r;
                if (at_end(p, CTX_OBJVAL))
                        return fail_at(p, p->i, "expected a value after the object key");
                if ((r = parse_expr(p, CTX_OBJVAL, &val, depth + 1)) < 0)
                        return r;
                v->members = hcl_grow(v->members, v->n_members, sizeof(*v->members));
                m = &v->members[v->n_members++];
                m->key = member_key(key);
                m->pos = pos_at(p, kstart);
                m->value = val;
                if (p->i >= p->n)
                        return fail_at(p, open, "unclosed '{'");
                if (peek(p, 0) == ',' || peek(p, 0) == '\n')
                        p->i++;
        }
        p->i++;
        v->text_len = p->i - open;
        *out = TAKE_PTR(v);
        return 0;
}

static int parse_number(struct parser *p, struct hcl_value **out)
{
        size_t start = p->i;
        _cleanup_free_ char *t = NULL;
        int r;

        while (is_digit(peek(p, 0)))
                p->i++;
        if (peek(p, 0) == '.' && is_digit(peek(p, 1))) {
                p->i++;
                while (is_digit(peek(p, 0)))
                        p->i++;
        }
        if ((peek(p, 0) == 'e' || peek(p, 0) == 'E') &&
            (is_digit(peek(p, 1)) || ((peek(p, 1) == '+' || peek(p, 1) == '-') && is_digit(peek(p, 2))))) {
                p->i += 2;
                while (is_digit(peek(p, 0)))
                        p->i++;
        }
        if ((r = count_node(p, start)) < 0)
                return r;
        t = xstrndup(p->s + start, p->i - start);
        *out = value_new(p, HCL_NUMBER, start);
        (*out)->text_len = p->i - start;
        (*out)->number = strtod(t, NULL);
        return 0;
}

static int parse_word(struct parser *p, struct hcl_value **out)
{
        static const struct { const char *w; enum hcl_kind kind; bool b; } words[] = {
                { "true", HCL_BOOL, true }, { "false", HCL_BOOL, false }, { "null", HCL_NULL, false },
        };
        size_t start = p->i, len;
        int r;

        while (is_id_char(peek(p, 0)))
                p->i++;
        len = p->i - start;
        if ((r = count_node(p, start)) < 0)
                return r;
        *out = value_new(p, HCL_EXPR, start);
        (*out)->text_len = len;
        for (size_t k = 0; k < ARRAY_SIZE(words); k++) {
                if (strlen(words[k].w) == len && memcmp(words[k].w, p->s + start, len) == 0) {
                        (*out)->kind = words[k].kind;
                        (*out)->boolean = words[k].b;
                }
        }
        /* a bare identifier key (`source = ...`) decodes to its name */
        if ((*out)->kind == HCL_EXPR) {
                (*out)->str = xstrndup(p->s + start, len);
                (*out)->str_len = len;
        }
        return 0;
}

/* One operand; for anything but a literal, the value is an EXPR covering
 * just the token. */
static int parse_operand(struct parser *p, struct hcl_value **out, int depth)
{
        size_t start = p->i;
        int c = peek(p, 0);
        int r;

        if (c == '"')
                return parse_quoted(p, out, depth);
        if (c == '<' && peek(p, 1) == '<')
                return parse_heredoc(p, out, depth);
        if (is_digit(c))
                return parse_number(p, out);
        if (is_id_start(c))
                return parse_word(p, out);
        if ((c == '[' || c == '{') && starts_for(p))
                return opaque_group(p, out, depth);
        if (c == '[')
                return parse_list(p, out, depth);
        if (c == '{')
                return parse_object(p, out, depth);
        if ((r = skip_token(p, depth)) < 0 || (r = count_node(p, start)) < 0)
                return r;
        *out = value_new(p, HCL_EXPR, start);
        (*out)->text_len = p->i - start;
        return 0;
}

/* An expression in context ctx, starting at p->i (blanks skipped).  On
 * return p->i is at the byte that ended it. */
static int parse_expr(struct parser *p, enum ctx ctx, struct hcl_value **out, int depth)
{
        _cleanup_value_ struct hcl_value *first = NULL;
        bool nl = ctx == CTX_LIST || ctx == CTX_KEY;
        size_t start = p->i, last_end;
        unsigned tokens = 1;
        int r;

        if ((r = check_depth(p, depth, start)) < 0)
                return r;
        if ((r = skip_space(p, nl)) < 0)
                return r;
        start = p->i;
        if (at_end(p, ctx)) {
                char b[8];

                if (p->i >= p->n)
                        return fail_at(p, p->i, "expected an expression, found the end of the file");
                return fail_at(p, p->i, "expected an expression, found %s",
                               show_byte(b, (unsigned char)p->s[p->i]));
        }
        if (peek(p, 0) == ')' || peek(p, 0) == ']' || peek(p, 0) == '}') {
                char b[8];

                return fail_at(p, p->i, "unexpected %s", show_byte(b, (unsigned char)p->s[p->i]));
        }
        if ((r = parse_operand(p, &first, depth)) < 0)
                return r;
        last_end = p->i;
        for (;;) {
                int c;

                if ((r = skip_space(p, nl)) < 0)
                        return r;
                if (at_end(p, ctx))
                        break;
                c = peek(p, 0);
                if (c == ')' || c == ']' || c == '}') {
                        char b[8];

                        return fail_at(p, p->i, "unexpected %s", show_byte(b, (unsigned char)c));
                }
                /* a lone '=' cannot continue an expression: two items on
                 * one line ("a = 1 b = 2") */
                if (c == '=' && peek(p, 1) != '=' && peek(p, 1) != '>' &&
                    strchr("<>!=", p->s[p->i - 1]) == NULL)
                        return fail_at(p, p->i, "unexpected '=': one attribute per line");
                if ((r = skip_token(p, depth + 1)) < 0)
                        return r;
                last_end = p->i;
                tokens++;
        }
        if (tokens == 1) {
                /* a bare word is an expression, its decoded name only
                 * serves as an object key */
                if (first->kind == HCL_EXPR && ctx != CTX_KEY) {
                        free(first->str);
                        first->str = NULL;
                        first->str_len = 0;
                }
                if (first->kind == HCL_EXPR && ctx == CTX_KEY && first->str != NULL)
                        first->kind = HCL_STRING;
                *out = TAKE_PTR(first);
                return 0;
        }
        /* first was counted; the whole expression replaces it */
        *out = value_new(p, HCL_EXPR, start);
        (*out)->text_len = last_end - start;
        return 0;
}

/* ---- bodies --------------------------------------------------------- */

void hcl_body_free(struct hcl_body *b)
{
        for (size_t i = 0; i < b->n_attrs; i++) {
                free(b->attrs[i].name);
                hcl_value_free(b->attrs[i].value);
        }
        free(b->attrs);
        for (size_t i = 0; i < b->n_blocks; i++) {
                struct hcl_block *k = &b->blocks[i];

                free(k->type);
                strv_free(k->labels);
                hcl_body_free(&k->body);
        }
        free(b->blocks);
        memset(b, 0, sizeof(*b));
}

static char *read_ident(struct parser *p)
{
        size_t start = p->i;

        while (is_id_char(peek(p, 0)))
                p->i++;
        return xstrndup(p->s + start, p->i - start);
}

static int parse_body(struct parser *p, struct hcl_body *body, size_t open, int depth);

static int cmp_attr(const void *a, const void *b)
{
        const struct hcl_attr *x = *(const struct hcl_attr *const *)a;
        const struct hcl_attr *y = *(const struct hcl_attr *const *)b;
        int c = strcmp(x->name, y->name);

        /* equal names: source order, so the second definition is reported */
        return c != 0 ? c : (x < y ? -1 : x > y);
}

/* An attribute defined twice in one body is an error in Terraform; found by
 * sorting so a body with many attributes costs O(n log n). */
int hcl_check_unique(const struct hcl_body *body, const char *name, struct err *err)
{
        _cleanup_free_ const struct hcl_attr **v = NULL;

        if (body->n_attrs < 2)
                return 0;
        v = xreallocarray(NULL, body->n_attrs, sizeof(*v));
        for (size_t i = 0; i < body->n_attrs; i++)
                v[i] = &body->attrs[i];
        qsort(v, body->n_attrs, sizeof(*v), cmp_attr);
        for (size_t i = 1; i < body->n_attrs; i++)
                if (strcmp(v[i - 1]->name, v[i]->name) == 0)
                        return err_set(err, 0, "%s:%u:%u: attribute \"%s\" redefined (first defined at %u:%u)",
                                       name, v[i]->pos.line, v[i]->pos.col, v[i]->name,
                                       v[i - 1]->pos.line, v[i - 1]->pos.col);
        return 0;
}

static int check_unique(struct parser *p, const struct hcl_body *body)
{
        return hcl_check_unique(body, p->name, p->err);
}

static int parse_block(struct parser *p, struct hcl_body *body, char *type, size_t tstart, int depth)
{
        _cleanup_free_ char *owned_type = type;
        _cleanup_strv_free_ char **labels = xcalloc(1, sizeof(char *));
        size_t n_labels = 0, open;
        struct hcl_block *blk;
        int r;

        for (;;) {
                _cleanup_value_ struct hcl_value *lab = NULL;
                char b[8];
                char *l;

                if ((r = skip_space(p, false)) < 0)
                        return r;
                if (peek(p, 0) == '{')
                        break;
                if (peek(p, 0) == '"') {
                        size_t lstart = p->i;

                        if ((r = parse_quoted(p, &lab, depth)) < 0)
                                return r;
                        if (lab->kind != HCL_STRING)
                                return fail_at(p, lstart, "block label cannot contain a template");
                        l = TAKE_PTR(lab->str);
                } else if (is_id_start(peek(p, 0))) {
                        l = read_ident(p);
                } else if (p->i >= p->n) {
                        return fail_at(p, p->i, "expected '{' to open the \"%s\" block, found the end of the file",
                                       owned_type);
                } else {
                        return fail_at(p, p->i, "expected '=' or a block after \"%s\", found %s",
                                       owned_type, show_byte(b, (unsigned char)p->s[p->i]));
                }
                if (n_labels >= HCL_MAX_LABELS) {
                        free(l);
                        return fail_at(p, tstart, "more than %d labels on the \"%s\" block",
                                       HCL_MAX_LABELS, owned_type);
                }
                labels = xreallocarray(labels, n_labels + 2, sizeof(char *));
                labels[n_labels++] = l;
                labels[n_labels] = NULL;
        }
        open = p->i++;
        if ((r = count_node(p, tstart)) < 0)
                return r;
        body->blocks = hcl_grow(body->blocks, body->n_blocks, sizeof(*body->blocks));
        blk = &body->blocks[body->n_blocks++];
        memset(blk, 0, sizeof(*blk));
        blk->type = TAKE_PTR(owned_type);
        blk->labels = TAKE_PTR(labels);
        blk->n_labels = n_labels;
        blk->pos = pos_at(p, tstart);
        return parse_body(p, &blk->body, open, depth + 1);
}

static int parse_attr(struct parser *p, struct hcl_body *body, char *name, size_t nstart, int depth)
{
        _cleanup_free_ char *owned = name;
        struct hcl_value *v = NULL;
        struct hcl_attr *a;
        int r;

        p->i++;         /* '=' */
        if ((r = count_node(p, nstart)) < 0)
                return r;
        if ((r = parse_expr(p, CTX_ATTR, &v, depth + 1)) < 0)
                return r;
        body->attrs = hcl_grow(body->attrs, body->n_attrs, sizeof(*body->attrs));
        a = &body->attrs[body->n_attrs++];
        a->name = TAKE_PTR(owned);
        a->pos = pos_at(p, nstart);
        a->value = v;
        return 0;
}

/* A body: at top level (open == SIZE_MAX) until the end of the file, else
 * until the '}' matching the '{' at open. */
static int parse_body(struct parser *p, struct hcl_body *body, size_t open, int depth)
{
        bool top = open == SIZE_MAX;
        int r;

        if ((r = check_depth(p, depth, top ? 0 : open)) < 0)
                return r;
        for (;;) {
                size_t nstart;
                bool is_attr;
                char b[8];
                char *name;
                int c;

                if ((r = skip_space(p, true)) < 0)
                        return r;
                c = peek(p, 0);
                if (c < 0) {
                        if (top)
                                return check_unique(p, body);
                        return fail_at(p, open, "unclosed block: no '}' matches this '{'");
                }
                if (c == '}') {
                        if (top)
                                return fail_at(p, p->i, "unexpected '}'");
                        p->i++;
                        return check_unique(p, body);
                }
                if (!is_id_start(c))
                        return fail_at(p, p->i, "expected an attribute or block name, found %s",
                                       show_byte(b, (unsigned char)c));
                nstart = p->i;
                name = read_ident(p);
                if ((r = skip_space(p, false)) < 0) {
                        free(name);
                        return r;
                }
                is_attr = peek(p, 0) == '=' && peek(p, 1) != '=';
                if (is_attr)
                        r = parse_attr(p, body, name, nstart, depth);
                else
                        r = parse_block(p, body, name, nstart, depth);
                if (r < 0)
                        return r;
                /* an item ends at a newline, the end of the file, or the
                 * '}' of a one-line block */
                if ((r = skip_space(p, false)) < 0)
                        return r;
                c = peek(p, 0);
                if (c >= 0 && c != '\n' && c != '}')
                        return fail_at(p, p->i, "expected a newline after the %s, found %s",
                                       is_attr ? "attribute" : "block", show_byte(b, (unsigned char)c));
        }
}

/* ---- files ---------------------------------------------------------- */

static void build_lines(struct parser *p)
{
        size_t n = 1;

        for (size_t i = 0; i < p->n; i++)
                n += p->s[i] == '\n';
        p->lines = xreallocarray(NULL, n, sizeof(size_t));
        p->lines[0] = 0;
        p->n_lines = 1;
        for (size_t i = 0; i < p->n; i++)
                if (p->s[i] == '\n')
                        p->lines[p->n_lines++] = i + 1;
}

struct hcl_file *hcl_file_new(const char *name, const char *src, size_t len, bool json)
{
        struct hcl_file *f = xcalloc(1, sizeof(*f));

        f->name = xstrdup(name);
        f->json = json;
        f->src = xmalloc(len + 1);
        memcpy(f->src, src, len);
        f->src[len] = '\0';
        f->src_len = len;
        return f;
}

int hcl_parse(struct hcl_file **out, const char *name, const char *src, size_t len,
              struct err *err)
{
        _cleanup_(hcl_file_freep) struct hcl_file *f = NULL;
        struct parser p = { .name = name, .err = err };
        int r;

        *out = NULL;
        if (len > HCL_MAX_FILE_SIZE)
                return err_set(err, EFBIG, "%s: larger than %zu bytes", name, HCL_MAX_FILE_SIZE);
        f = hcl_file_new(name, src, len, false);
        p.s = f->src;
        p.n = len;
        /* a UTF-8 byte order mark is not part of the first line */
        if (len >= 3 && memcmp(p.s, "\xef\xbb\xbf", 3) == 0)
                p.i = 3;
        build_lines(&p);
        r = parse_body(&p, &f->body, SIZE_MAX, 0);
        free(p.lines);
        if (r < 0)
                return r;
        *out = TAKE_PTR(f);
        return 0;
}

void hcl_file_free(struct hcl_file *f)
{
        if (f == NULL)
                return;
        hcl_body_free(&f->body);
        free(f->name);
        free(f->src);
        free(f);
}

static bool has_suffix(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);

        return n >= m && strcmp(s + n - m, suffix) == 0;
}

int hcl_parse_path(struct hcl_file **out, const char *path, const char *name,
                   struct err *err)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r;

        *out = NULL;
        if (name == NULL)
                name = path;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
                return err_set(err, errno, "%s", name);
        r = fd_read_all(&data, &len, fd, HCL_MAX_FILE_SIZE, err);
        if (r < 0)
                return err_wrap(err, "%s", name);
        if (has_suffix(path, ".json"))
                return hcl_parse_json(out, name, data, len, err);
        return hcl_parse(out, name, data, len, err);
}

/* ---- accessors ------------------------------------------------------ */

const struct hcl_attr *hcl_body_attr(const struct hcl_body *b, const char *name)
{
        if (b == NULL)
                return NULL;
        for (size_t i = 0; i < b->n_attrs; i++)
                if (strcmp(b->attrs[i].name, name) == 0)
                        return &b->attrs[i];
        return NULL;
}

const struct hcl_block *hcl_body_next_block(const struct hcl_body *b, const char *type,
                                            const struct hcl_block *prev)
{
        size_t i;

        if (b == NULL || b->n_blocks == 0)
                return NULL;
        i = prev == NULL ? 0 : (size_t)(prev - b->blocks) + 1;
        for (; i < b->n_blocks; i++)
                if (type == NULL || strcmp(b->blocks[i].type, type) == 0)
                        return &b->blocks[i];
        return NULL;
}

const char *hcl_value_str(const struct hcl_value *v)
{
        return v != NULL && v->kind == HCL_STRING ? v->str : NULL;
}

const struct hcl_value *hcl_object_get(const struct hcl_value *v, const char *key)
{
        if (v == NULL || v->kind != HCL_OBJECT)
                return NULL;
        for (size_t i = 0; i < v->n_members; i++)
                if (strcmp(v->members[i].key, key) == 0)
                        return v->members[i].value;
        return NULL;
}

const char *hcl_kind_name(enum hcl_kind k)
{
        static const char *const names[] = {
                [HCL_NULL] = "null", [HCL_BOOL] = "bool", [HCL_NUMBER] = "number",
                [HCL_STRING] = "string", [HCL_LIST] = "list", [HCL_OBJECT] = "object",
                [HCL_EXPR] = "expression",
        };

        return (size_t)k < ARRAY_SIZE(names) ? names[k] : "?";
}
