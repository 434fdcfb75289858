/* logsink.c - fan-out of filtered output to the forge, a file and JSON
 * lines.  Each (step, stream) pair has its own redact stream, so a secret
 * split across two writes of stdout is still whole to its matcher, while
 * stdout and stderr never mix inside one match. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logsink.h"
#include "runner/util/buf.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

#define LS_STREAMS 4
#define LS_NAME_MAX 64

struct ls_stream {
        char name[LS_NAME_MAX];
        struct redact_stream *rs;
        struct buf line;        /* JSON: the current line, up to its newline */
        struct logsink *ls;
};

struct logsink {
        const struct redact_registry *reg;
        struct logsink_opts o;
        struct redact_opts ropts;
        struct redact_budget step, job;
        char *step_name;
        struct ls_stream st[LS_STREAMS];
        size_t nst;
        bool text_at_bol;       /* the text sinks are at the start of a line */
        uint64_t dropped;
        int rc;
};

struct logsink *logsink_new(const struct redact_registry *reg, const struct logsink_opts *opts)
{
        struct logsink *ls = xcalloc(1, sizeof(*ls));

        ls->reg = reg;
        ls->o = *opts;
        ls->job.limit = opts->job_max;
        ls->job.what = "job";
        ls->step.what = "step";
        ls->ropts.line_max = opts->line_max;
        ls->ropts.keep_colour = opts->keep_colour;
        ls->ropts.caps[0] = &ls->step;
        ls->ropts.caps[1] = &ls->job;
        ls->text_at_bol = true;
        return ls;
}

uint64_t logsink_dropped(const struct logsink *ls)
{
        return ls->dropped;
}

/* JSON string body: quote, backslash and controls escaped, U+2028/2029 too
 * (they end lines in JavaScript); the text is valid UTF-8 already */
static void json_escape(struct buf *b, const uint8_t *p, size_t n)
{
        static const char hex[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                uint8_t c = p[i];
                char e[7];

                if (c == '"' || c == '\\') {
                        e[0] = '\\';
                        e[1] = (char)c;
                        buf_append(b, e, 2, NULL);
                } else if (c == '\n') {
                        buf_append(b, "\\n", 2, NULL);
                } else if (c == '\t') {
                        buf_append(b, "\\t", 2, NULL);
                } else if (c == '\r') {
                        buf_append(b, "\\r", 2, NULL);
                } else if (c < 0x20 || c == 0x7F) {
                        memcpy(e, "\\u00", 4);
                        e[4] = hex[c >> 4];
                        e[5] = hex[c & 15];
                        buf_append(b, e, 6, NULL);
                } else if (c == 0xE2 && i + 2 < n && p[i + 1] == 0x80 &&
                           (p[i + 2] == 0xA8 || p[i + 2] == 0xA9)) {
                        buf_append(b, p[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6, NULL);
                        i += 2;
                } else {
                        buf_append(b, &c, 1, NULL);
                }
        }
}

static int json_line(struct logsink *ls, const char *stream, const uint8_t *p, size_t n,
                     bool partial)
{
        _cleanup_(buf_freep) struct buf b = BUF_INIT(SIZE_MAX / 2);
        const char *step = ls->step_name ? ls->step_name : "";

        buf_puts(&b, "{\"step\":\"", NULL);
        json_escape(&b, (const uint8_t *)step, strlen(step));
        buf_puts(&b, "\",\"stream\":\"", NULL);
        json_escape(&b, (const uint8_t *)stream, strlen(stream));
        buf_puts(&b, "\",\"line\":\"", NULL);
        json_escape(&b, p, n);
        buf_puts(&b, partial ? "\",\"partial\":true}\n" : "\"}\n", NULL);
        return write_all(ls->o.json_fd, b.data, b.len);
}

static int text_out(struct logsink *ls, const void *p, size_t n)
{
        int r = 0;

        if (n == 0)
                return 0;
        if (ls->o.forge != NULL)
                r = ls->o.forge(ls->o.forge_arg, p, n);
        if (r == 0 && ls->o.file_fd >= 0)
                r = write_all(ls->o.file_fd, p, n);
        ls->text_at_bol = ((const char *)p)[n - 1] == '\n';
        return r;
}

/* the redact stream's output callback */
static int stream_out(void *arg, const void *buf, size_t len)
{
        struct ls_stream *st = arg;
        struct logsink *ls = st->ls;
        const uint8_t *p = buf;
        int r = text_out(ls, buf, len);

        if (r < 0 || ls->o.json_fd < 0)
                return r;
        while (len > 0) {
                const uint8_t *nl = memchr(p, '\n', len);
                size_t take = nl ? (size_t)(nl - p) : len;

                if (st->line.len + take > LOGSINK_JSON_LINE_MAX) {
                        size_t room = LOGSINK_JSON_LINE_MAX - st->line.len;

                        buf_append(&st->line, p, room, NULL);
                        r = json_line(ls, st->name, (const uint8_t *)st->line.data, st->line.len, true);
                        buf_reset(&st->line);
                        if (r < 0)
                                return r;
                        p += room;
                        len -= room;
                        continue;
                }
                buf_append(&st->line, p, take, NULL);
                p += take;
                len -= take;
                if (nl == NULL)
                        break;
                r = json_line(ls, st->name, (const uint8_t *)buf_str(&st->line), st->line.len, false);
                buf_reset(&st->line);
                if (r < 0)
                        return r;
                p++;
                len--;
        }
        return 0;
}

static int finish_streams(struct logsink *ls, struct err *err)
{
        int r = 0;

        for (size_t i = 0; i < ls->nst; i++) {
                struct ls_stream *st = &ls->st[i];

                if (r == 0)
                        r = redact_stream_finish(st->rs, stream_out, st, err);
                ls->dropped += redact_stream_bytes_dropped(st->rs);
                if (r == 0 && st->line.len > 0 && ls->o.json_fd >= 0) {
                        r = json_line(ls, st->name, (const uint8_t *)st->line.data, st->line.len, false);
                        if (r < 0)
                                err_set(err, -r, "writing JSON log");
                }
                redact_stream_free(st->rs);
                buf_free(&st->line);
        }
        ls->nst = 0;
        return r;
}

void logsink_free(struct logsink *ls)
{
        if (ls == NULL)
                return;
        finish_streams(ls, NULL);
        free(ls->step_name);
        free(ls);
}

int logsink_step_begin(struct logsink *ls, const char *step, struct err *err)
{
        int r = logsink_step_end(ls, err);

        if (r < 0)
                return r;
        free(ls->step_name);
        ls->step_name = xstrdup(step);
        memset(&ls->step, 0, sizeof(ls->step));
        ls->step.limit = ls->o.step_max;
        ls->step.what = "step";
        return 0;
}

int logsink_step_end(struct logsink *ls, struct err *err)
{
        return finish_streams(ls, err);
}

static struct ls_stream *get_stream(struct logsink *ls, const char *name, struct err *err)
{
        struct ls_stream *st;

        for (size_t i = 0; i < ls->nst; i++)
                if (strcmp(ls->st[i].name, name) == 0)
                        return &ls->st[i];
        if (ls->nst == LS_STREAMS || strlen(name) >= LS_NAME_MAX) {
                err_set(err, EINVAL, "logsink: too many streams or name too long: %.64s", name);
                return NULL;
        }
        st = &ls->st[ls->nst++];
        memset(st, 0, sizeof(*st));
        memcpy(st->name, name, strlen(name) + 1);
        st->rs = redact_stream_new(ls->reg, &ls->ropts);
        buf_init(&st->line, LOGSINK_JSON_LINE_MAX);
        st->ls = ls;
        return st;
}

int logsink_write(struct logsink *ls, const char *stream, const void *buf, size_t len,
                  struct err *err)
{
        struct ls_stream *st = get_stream(ls, stream, err);

        if (st == NULL)
                return -EINVAL;
        return redact_stream_write(st->rs, buf, len, stream_out, st, err);
}

int logsink_write_marker(struct logsink *ls, const char *text, size_t len, struct err *err)
{
        _cleanup_free_ char *m = NULL;
        size_t mlen, body;
        int r;

        r = redact_mask_trusted(&m, &mlen, ls->reg, text, len, err);
        if (r < 0)
                return r;
        if (!ls->text_at_bol)
                r = text_out(ls, "\n", 1);
        if (r == 0)
                r = text_out(ls, m, mlen);
        if (r == 0 && (mlen == 0 || m[mlen - 1] != '\n'))
                r = text_out(ls, "\n", 1);
        body = mlen > 0 && m[mlen - 1] == '\n' ? mlen - 1 : mlen;
        if (r == 0 && ls->o.json_fd >= 0)
                r = json_line(ls, "tfgate", (const uint8_t *)m, body, false);
        if (r < 0)
                return err_set(err, -r, "logsink: writing a marker");
        return 0;
}
