/* redact_norm.c - the first stage of the filter: make untrusted output
 * inert and canonical before secrets are matched, so that a secret broken
 * up by invisible bytes (`SEC\e[0mRET`) is whole again when it is matched.
 *
 *  - escape sequences are dropped whole: CSI (including SGR colours), OSC,
 *    DCS/SOS/PM/APC strings (ended by BEL, ST, CAN, SUB or a newline),
 *    two-byte and nF escapes, and a lone ESC;
 *  - C0 controls except \n and \t, DEL, C1 (U+0080-U+009F), bidi controls
 *    (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C) and the line and
 *    paragraph separators U+2028/U+2029 are dropped;
 *  - CRLF becomes LF and a lone CR becomes U+240D (visible, and it can no
 *    longer overwrite a line in a viewer); dropped bytes between CR and LF
 *    do not count, so "\r\e[K\n" is a plain newline;
 *  - invalid UTF-8 becomes U+FFFD: one per ill-formed sequence (lead byte
 *    and the continuation bytes that followed it), one per stray byte;
 *  - forge command markers get REDACT_INERT in front: GitHub `::` at the
 *    start of a line (after blanks, as the runner trims them) and `##[`
 *    anywhere, GitLab `section_start:` / `section_end:` at the start of a
 *    line.
 *
 * In keep-colour mode (rnorm_init with an SGR list) an SGR sequence, ESC [
 * with only digits and ';' as parameters and final 'm', at most RSGR_MAX
 * bytes, is left out of the text like any other sequence but recorded with
 * its position in the text; the stream puts it back on output.  A sequence
 * that breaks any of these rules is dropped whole.
 *
 * Everything is a state machine over single bytes, so the result does not
 * depend on how the input is split.  A run of plain ASCII inside a line is
 * copied in bulk. */
#include "redact_int.h"

#include <stdlib.h>

#include "runner/util/xalloc.h"

enum {
        E_NONE = 0,
        E_ESC,          /* after ESC */
        E_NF,           /* ESC + intermediates, waiting for the final byte */
        E_CSI,          /* ESC [ ... */
        E_STR,          /* ESC ] / P / X / ^ / _ ... (OSC, DCS, SOS, PM, APC) */
        E_STR_ESC,      /* ESC inside a string: ESC \ ends it */
};

static const char *const markers[] = { "::", "section_start:", "section_end:", "##[" };
/* markers[i] counts only at the start of a line (after blanks) */
static const bool marker_at_start[] = { true, true, true, false };

/* bytes that need no attention in the middle of a line: printable ASCII
 * and tab, except '#' (which may begin "##[") */
static const uint8_t plain[256] = {
        ['\t'] = 1,
        [' '] = 1, ['!'] = 1, ['"'] = 1, ['$' ... '~'] = 1,
};

void rnorm_init(struct rnorm *n, struct rsgrs *sgrs)
{
        memset(n, 0, sizeof(*n));
        n->sgrs = sgrs;
}

void rsgrs_free(struct rsgrs *q)
{
        free(q->v);
        memset(q, 0, sizeof(*q));
}

static void rsgrs_push(struct rsgrs *q, uint64_t pos, const uint8_t *b, size_t len)
{
        struct rsgr *e;

        if (q->n == q->cap && q->head > 0) {
                memmove(q->v, q->v + q->head, (q->n - q->head) * sizeof(*q->v));
                q->n -= q->head;
                q->head = 0;
        }
        if (q->n == q->cap) {
                q->cap = q->cap ? 2 * q->cap : 16;
                q->v = xreallocarray(q->v, q->cap, sizeof(*q->v));
        }
        e = &q->v[q->n++];
        e->pos = pos;
        e->len = (uint8_t)len;
        memcpy(e->b, b, len);
}

/* a CSI parameter or intermediate byte: is the sequence still a keepable SGR? */
static void sgr_param(struct rnorm *n, uint8_t b)
{
        if (!n->sgr_ok)
                return;
        if (((b >= '0' && b <= '9') || b == ';') && n->sgrlen < RSGR_MAX - 1)
                n->sgr[n->sgrlen++] = b;
        else
                n->sgr_ok = false;
}

/* the final byte of a CSI; at is its position in the text */
static void sgr_final(struct rnorm *n, uint8_t b, uint64_t at)
{
        if (n->sgr_ok && b == 'm') {
                n->sgr[n->sgrlen++] = b;
                rsgrs_push(n->sgrs, at, n->sgr, n->sgrlen);
        }
        n->sgr_ok = false;
}

static size_t put(uint8_t *out, const void *p, size_t len)
{
        memcpy(out, p, len);
        return len;
}

static bool is_blank_cp(uint32_t cp)
{
        return cp == ' ' || cp == '\t' || cp == 0xA0 || cp == 0x1680 ||
               (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F ||
               cp == 0x3000;
}

static bool is_dropped_cp(uint32_t cp)
{
        return (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
               (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E || cp == 0x200F ||
               cp == 0x061C || cp == 0x2028 || cp == 0x2029;
}

/* 0 no marker starts with mk, 1 a proper prefix of an eligible one, 2 a
 * whole eligible marker */
static int marker_state(const struct rnorm *n)
{
        int best = 0;

        for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++) {
                size_t ml = strlen(markers[i]);

                if (marker_at_start[i] && !n->mk_at_start)
                        continue;
                if (n->mklen > ml || memcmp(markers[i], n->mk, n->mklen) != 0)
                        continue;
                if (n->mklen == ml)
                        return 2;
                best = 1;
        }
        return best;
}

static bool starts_marker(const struct rnorm *n, uint8_t c)
{
        return c == '#' || (!n->line_text && (c == ':' || c == 's'));
}

/* one ASCII character (not newline) through the marker stage */
static size_t mk_ascii(struct rnorm *n, uint8_t c, uint8_t *out)
{
        uint8_t q[2 * sizeof(n->mk)];
        size_t qi = 0, qn = 0, o = 0;

        q[qn++] = c;
        while (qi < qn) {
                uint8_t ch = q[qi++];
                uint8_t rest[sizeof(q)];
                size_t nr = 0;
                int st;

                if (n->mklen == 0) {
                        if (!starts_marker(n, ch)) {
                                out[o++] = ch;
                                if (ch != ' ' && ch != '\t')
                                        n->line_text = true;
                                continue;
                        }
                        n->mk_at_start = !n->line_text;
                }
                n->mk[n->mklen++] = ch;
                st = marker_state(n);
                if (st == 1)
                        continue;
                if (st == 2) {
                        o += put(out + o, REDACT_INERT, strlen(REDACT_INERT));
                        o += put(out + o, n->mk, n->mklen);
                        n->mklen = 0;
                        n->line_text = true;
                        continue;
                }
                /* no marker here: the first byte is ordinary text, the rest
                 * may still begin one ("###[") and go round again */
                out[o++] = n->mk[0];
                n->line_text = true;
                for (size_t i = 1; i < n->mklen; i++)
                        rest[nr++] = n->mk[i];
                for (size_t i = qi; i < qn; i++)
                        rest[nr++] = q[i];
                n->mklen = 0;
                memcpy(q, rest, nr);
                qi = 0;
                qn = nr;
        }
        return o;
}

/* text held as a marker candidate goes out unchanged: what comes next can
 * not complete a marker */
static size_t mk_flush(struct rnorm *n, uint8_t *out)
{
        size_t o = put(out, n->mk, n->mklen);

        if (n->mklen > 0)
                n->line_text = true;
        n->mklen = 0;
        return o;
}

static size_t resolve_cr(struct rnorm *n, uint8_t *out)
{
        size_t o = 0;

        if (n->cr) {
                n->cr = false;
                o += mk_flush(n, out);
                o += put(out + o, REDACT_CR_SYMBOL, strlen(REDACT_CR_SYMBOL));
                n->line_text = true;
        }
        return o;
}

/* a decoded character other than newline and ASCII */
static size_t emit_cp(struct rnorm *n, uint32_t cp, const uint8_t *bytes, size_t len,
                      uint8_t *out)
{
        size_t o;

        if (is_dropped_cp(cp))
                return 0;
        o = resolve_cr(n, out);
        o += mk_flush(n, out + o);
        o += put(out + o, bytes, len);
        if (!is_blank_cp(cp))
                n->line_text = true;
        return o;
}

static size_t emit_ascii(struct rnorm *n, uint8_t c, uint8_t *out)
{
        size_t o = 0;

        if (c == '\n') {
                if (n->cr)
                        n->cr = false;  /* CRLF */
                o += mk_flush(n, out);
                out[o++] = '\n';
                n->line_text = false;
                return o;
        }
        if (c == '\r') {
                o = resolve_cr(n, out);
                n->cr = true;
                return o;
        }
        if (c != '\t' && (c < 0x20 || c == 0x7F))
                return 0;
        o = resolve_cr(n, out);
        return o + mk_ascii(n, c, out + o);
}

static size_t u8_bad(struct rnorm *n, uint8_t *out)
{
        n->u8need = 0;
        n->u8len = 0;
        return emit_cp(n, 0xFFFD, (const uint8_t *)REDACT_REPLACEMENT, 3, out);
}

/* one byte with no escape sequence and no UTF-8 sequence in progress */
static size_t byte_fresh(struct rnorm *n, uint8_t b, uint8_t *out)
{
        if (b == 0x1B) {
                n->esc = E_ESC;
                return 0;
        }
        if (b < 0x80)
                return emit_ascii(n, b, out);
        n->u8buf[0] = b;
        n->u8len = 1;
        if (b >= 0xC2 && b <= 0xDF) {
                n->u8need = 1;
                n->cp = b & 0x1Fu;
                n->u8min = 0x80;
        } else if (b >= 0xE0 && b <= 0xEF) {
                n->u8need = 2;
                n->cp = b & 0x0Fu;
                n->u8min = 0x800;
        } else if (b >= 0xF0 && b <= 0xF4) {
                n->u8need = 3;
                n->cp = b & 0x07u;
                n->u8min = 0x10000;
        } else {
                return u8_bad(n, out);
        }
        return 0;
}

/* one byte inside an escape sequence (at: the text position); returns
 * true when b is not part of the sequence and must be processed anew */
static bool byte_esc(struct rnorm *n, uint8_t b, uint64_t at)
{
        switch (n->esc) {
        case E_ESC:
                if (b == '[') {
                        n->esc = E_CSI;
                        n->sgr_ok = n->sgrs != NULL;
                        n->sgr[0] = 0x1B;
                        n->sgr[1] = '[';
                        n->sgrlen = 2;
                } else if (b == ']' || b == 'P' || b == 'X' || b == '^' || b == '_') {
                        n->esc = E_STR;
                } else if (b >= 0x20 && b <= 0x2F) {
                        n->esc = E_NF;
                } else if (b >= 0x30 && b <= 0x7E) {
                        n->esc = E_NONE;
                } else if (b == 0x1B) {
                        n->esc = E_ESC;
                } else {
                        n->esc = E_NONE;
                        return true;
                }
                return false;
        case E_NF:
                if (b >= 0x20 && b <= 0x2F)
                        return false;
                n->esc = E_NONE;
                return !(b >= 0x30 && b <= 0x7E);
        case E_CSI:
                if (b >= 0x20 && b <= 0x3F) {
                        sgr_param(n, b);
                        return false;
                }
                n->esc = E_NONE;
                if (b >= 0x40 && b <= 0x7E) {
                        sgr_final(n, b, at);
                        return false;
                }
                n->sgr_ok = false;      /* cut short: dropped */
                return true;
        case E_STR:
                if (b == 0x07 || b == 0x18 || b == 0x1A)
                        n->esc = E_NONE;
                else if (b == 0x1B)
                        n->esc = E_STR_ESC;
                else if (b == '\n') {
                        n->esc = E_NONE;
                        return true;
                }
                return false;
        case E_STR_ESC:
                if (b == '\\') {
                        n->esc = E_NONE;
                        return false;
                }
                n->esc = E_ESC;
                return byte_esc(n, b, at);
        default:
                n->esc = E_NONE;
                return true;
        }
}

/* at: the text position of out */
static size_t byte_slow(struct rnorm *n, uint8_t b, uint8_t *out, uint64_t at)
{
        size_t o = 0;

        if (n->u8need > 0) {
                if ((b & 0xC0) == 0x80) {
                        n->u8buf[n->u8len++] = b;
                        n->cp = (n->cp << 6) | (b & 0x3Fu);
                        if (--n->u8need > 0)
                                return 0;
                        n->u8len = 0;
                        if (n->cp < n->u8min || n->cp > 0x10FFFF ||
                            (n->cp >= 0xD800 && n->cp <= 0xDFFF))
                                return u8_bad(n, out);
                        return emit_cp(n, n->cp, n->u8buf,
                                       n->u8min == 0x80 ? 2 : n->u8min == 0x800 ? 3 : 4, out);
                }
                o = u8_bad(n, out);
        }
        if (n->esc != E_NONE && !byte_esc(n, b, at + o))
                return o;
        return o + byte_fresh(n, b, out + o);
}

size_t rnorm_feed(struct rnorm *n, const uint8_t *in, size_t len, uint8_t *out)
{
        size_t i = 0, o = 0;

        while (i < len) {
                bool idle = n->esc == E_NONE && n->u8need == 0 && !n->cr && n->mklen == 0;

                if (idle && n->line_text && plain[in[i]]) {
                        size_t j = i + 1 + rsimd_plain_run(in + i + 1, len - i - 1);

                        memcpy(out + o, in + i, j - i);
                        o += j - i;
                        i = j;
                        continue;
                }
                /* blanks that start a line change nothing (an indented
                 * plan line): copied as they are too */
                if (idle && !n->line_text && (in[i] == ' ' || in[i] == '\t')) {
                        size_t j = i + 1;

                        while (j < len && (in[j] == ' ' || in[j] == '\t'))
                                j++;
                        memcpy(out + o, in + i, j - i);
                        o += j - i;
                        i = j;
                        continue;
                }
                o += byte_slow(n, in[i], out + o, n->pos + o);
                i++;
        }
        n->pos += o;
        return o;
}

size_t rnorm_finish(struct rnorm *n, uint8_t *out)
{
        size_t o = 0;

        if (n->u8need > 0)
                o += u8_bad(n, out);
        n->esc = E_NONE;
        n->sgr_ok = false;
        o += resolve_cr(n, out + o);
        o += mk_flush(n, out + o);
        n->pos += o;
        return o;
}

char *redact_normalise(const void *in, size_t len, size_t *out_len)
{
        struct rnorm n;
        uint8_t *out = xmalloc(RNORM_BOUND(len) + 1);
        size_t o;

        rnorm_init(&n, NULL);
        o = rnorm_feed(&n, in, len, out);
        o += rnorm_finish(&n, out + o);
        out[o] = '\0';
        *out_len = o;
        return (char *)out;
}
