/* render.c - the HTML result page and the badges.
 *
 * Every value that comes from a job (and so from the repository's author:
 * project, ref, step reasons, findings, diagnostics, the log tail) goes
 * through http_html_escape(), both in text and in attributes; the page has
 * no script and is served with a CSP that forbids any.  Only constant
 * strings of this file are written unescaped. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <string.h>

#include "http_int.h"
#include "runner/util/cleanup.h"
#include "runner/util/units.h"
#include "runner/util/utf8.h"
#include "runner/util/xalloc.h"

/* how much of a job's data the page shows; result.json has it all */
#define PAGE_MAX_ROWS 500
#define PAGE_MAX_DETAIL 2048

static const char *const entity[128] = {
        ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;", ['\''] = "&#39;",
};

int http_html_escape(struct buf *b, const char *s, size_t n, struct err *err)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0, run = 0;
        int r = 0;

        /* copy runs of harmless bytes in one append */
        while (i < n && r == 0) {
                size_t k = utf8_seq_len(p + i, n - i);
                const char *rep = NULL;

                if (k == 0 || (k == 1 && ((p[i] < 0x20 && p[i] != '\n' && p[i] != '\t') || p[i] == 0x7f)))
                        rep = "\xef\xbf\xbd"; /* U+FFFD */
                else if (k == 1)
                        rep = entity[p[i]];
                if (rep == NULL) {
                        run += k;
                        i += k;
                        continue;
                }
                r = buf_append(b, s + i - run, run, err);
                if (r == 0)
                        r = buf_puts(b, rep, err);
                run = 0;
                i += k == 0 ? 1 : k;
        }
        if (r == 0 && run > 0)
                r = buf_append(b, s + i - run, run, err);
        return r;
}

/* a JSON scalar as escaped text; "-" for null or missing */
static int put_jv(struct buf *b, const json_t *v, struct err *err)
{
        if (v == NULL)
                return buf_puts(b, "-", err);
        switch (json_typeof(v)) {
        case JSON_STRING:
                return http_html_escape(b, json_string_value(v), json_string_length(v), err);
        case JSON_INTEGER:
                return buf_printf(b, err, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        case JSON_REAL:
                return buf_printf(b, err, "%g", json_real_value(v));
        case JSON_TRUE:
                return buf_puts(b, "yes", err);
        case JSON_FALSE:
                return buf_puts(b, "no", err);
        default:
                return buf_puts(b, "-", err);
        }
}

static int put_cell(struct buf *b, const json_t *v, struct err *err)
{
        int r = buf_puts(b, "<td>", err);

        if (r == 0)
                r = put_jv(b, v, err);
        if (r == 0)
                r = buf_puts(b, "</td>", err);
        return r;
}

static int put_kv_row(struct buf *b, const char *label, const json_t *v, struct err *err)
{
        int r = buf_printf(b, err, "<tr><th>%s</th>", label);

        if (r == 0)
                r = put_cell(b, v, err);
        if (r == 0)
                r = buf_puts(b, "</tr>\n", err);
        return r;
}

static int put_more(struct buf *b, size_t total, struct err *err)
{
        if (total <= PAGE_MAX_ROWS)
                return 0;
        return buf_printf(b, err, "<p class=\"more\">%zu more in result.json</p>\n",
                          total - PAGE_MAX_ROWS);
}

static int render_steps(struct buf *b, const json_t *steps, struct err *err)
{
        size_t i;
        json_t *s;
        int r;

        if (json_array_size(steps) == 0)
                return buf_puts(b, "<h2>Steps</h2>\n<p>No step ran.</p>\n", err);
        r = buf_puts(b, "<h2>Steps</h2>\n<table><tr><th>step</th><th>exit code</th><th>time</th>"
                        "<th>output</th><th>reason</th></tr>\n", err);
        json_array_foreach(steps, i, s) {
                json_t *ms = json_object_get(s, "wall_ms");
                char dur[64] = "-";

                if (r < 0 || i >= PAGE_MAX_ROWS)
                        break;
                if (json_is_integer(ms) && json_integer_value(ms) >= 0)
                        format_duration(dur, sizeof(dur), (uint64_t)json_integer_value(ms));
                r = buf_puts(b, "<tr>", err);
                if (r == 0)
                        r = put_cell(b, json_object_get(s, "name"), err);
                if (r == 0)
                        r = put_cell(b, json_object_get(s, "exit_code"), err);
                if (r == 0)
                        r = buf_printf(b, err, "<td>%s</td><td>", dur);
                if (r == 0)
                        r = put_jv(b, json_object_get(s, "output_bytes"), err);
                if (r == 0)
                        r = buf_printf(b, err, " B%s</td>",
                                       json_is_true(json_object_get(s, "truncated")) ? " (truncated)" : "");
                if (r == 0)
                        r = put_cell(b, json_object_get(s, "reason"), err);
                if (r == 0)
                        r = buf_puts(b, "</tr>\n", err);
        }
        if (r == 0)
                r = buf_puts(b, "</table>\n", err);
        if (r == 0)
                r = put_more(b, json_array_size(steps), err);
        return r;
}

static int render_plan(struct buf *b, const json_t *plan, struct err *err)
{
        int r = buf_puts(b, "<h2>Plan</h2>\n", err);

        if (r < 0)
                return r;
        if (!json_is_object(plan))
                return buf_puts(b, "<p>No plan.</p>\n", err);
        r = buf_puts(b, "<p class=\"plan\">", err);
        if (r == 0)
                r = put_jv(b, json_object_get(plan, "add"), err);
        if (r == 0)
                r = buf_puts(b, " to add, ", err);
        if (r == 0)
                r = put_jv(b, json_object_get(plan, "change"), err);
        if (r == 0)
                r = buf_puts(b, " to change, ", err);
        if (r == 0)
                r = put_jv(b, json_object_get(plan, "destroy"), err);
        if (r == 0)
                r = buf_puts(b, " to destroy.</p>\n", err);
        return r;
}

static int render_providers(struct buf *b, const json_t *providers, struct err *err)
{
        size_t i;
        json_t *p;
        int r;

        if (json_array_size(providers) == 0)
                return buf_puts(b, "<h2>Providers</h2>\n<p>None.</p>\n", err);
        r = buf_puts(b, "<h2>Providers</h2>\n<table><tr><th>source</th><th>constraints</th>"
                        "<th>locked</th><th>allowed</th><th>mirror</th><th>hashes</th></tr>\n", err);
        json_array_foreach(providers, i, p) {
                static const char *const keys[] = { "source", "constraints", "locked_version",
                                                    "allowed", "mirror" };

                if (r < 0 || i >= PAGE_MAX_ROWS)
                        break;
                r = buf_puts(b, "<tr>", err);
                for (size_t k = 0; r == 0 && k < ARRAY_SIZE(keys); k++)
                        r = put_cell(b, json_object_get(p, keys[k]), err);
                if (r == 0)
                        r = buf_printf(b, err, "<td>%zu</td></tr>\n",
                                       json_array_size(json_object_get(p, "hashes")));
        }
        if (r == 0)
                r = buf_puts(b, "</table>\n", err);
        if (r == 0)
                r = put_more(b, json_array_size(providers), err);
        return r;
}

/* file:line, or "-" */
static int put_location(struct buf *b, const json_t *o, struct err *err)
{
        const json_t *file = json_object_get(o, "file"), *line = json_object_get(o, "line");
        int r = buf_puts(b, "<td>", err);

        if (r == 0)
                r = put_jv(b, file, err);
        if (r == 0 && json_is_integer(line))
                r = buf_printf(b, err, ":%" JSON_INTEGER_FORMAT, json_integer_value(line));
        if (r == 0)
                r = buf_puts(b, "</td>", err);
        return r;
}

static int render_findings(struct buf *b, const json_t *findings, struct err *err)
{
        size_t i;
        json_t *f;
        int r;

        if (json_array_size(findings) == 0)
                return buf_puts(b, "<h2>Findings</h2>\n<p>None.</p>\n", err);
        r = buf_puts(b, "<h2>Findings</h2>\n<table><tr><th>rule</th><th>severity</th>"
                        "<th>where</th><th>message</th></tr>\n", err);
        json_array_foreach(findings, i, f) {
                if (r < 0 || i >= PAGE_MAX_ROWS)
                        break;
                r = buf_puts(b, "<tr>", err);
                if (r == 0)
                        r = put_cell(b, json_object_get(f, "rule"), err);
                if (r == 0)
                        r = put_cell(b, json_object_get(f, "severity"), err);
                if (r == 0)
                        r = put_location(b, f, err);
                if (r == 0)
                        r = put_cell(b, json_object_get(f, "message"), err);
                if (r == 0)
                        r = buf_puts(b, "</tr>\n", err);
        }
        if (r == 0)
                r = buf_puts(b, "</table>\n", err);
        if (r == 0)
                r = put_more(b, json_array_size(findings), err);
        return r;
}

static int render_diagnostics(struct buf *b, const json_t *diags, struct err *err)
{
        size_t i;
        json_t *d;
        int r;

        if (json_array_size(diags) == 0)
                return 0;
        r = buf_puts(b, "<h2>Diagnostics</h2>\n<table><tr><th>severity</th><th>summary</th>"
                        "<th>where</th><th>detail</th></tr>\n", err);
        json_array_foreach(diags, i, d) {
                const json_t *detail = json_object_get(d, "detail");
                size_t dl = json_string_length(detail);

                if (r < 0 || i >= PAGE_MAX_ROWS)
                        break;
                r = buf_puts(b, "<tr>", err);
                if (r == 0)
                        r = put_cell(b, json_object_get(d, "severity"), err);
                if (r == 0)
                        r = put_cell(b, json_object_get(d, "summary"), err);
                if (r == 0)
                        r = put_location(b, d, err);
                if (r == 0)
                        r = buf_puts(b, "<td><pre>", err);
                /* a cut in the middle of a character becomes U+FFFD */
                if (r == 0)
                        r = http_html_escape(b, json_string_value(detail) ? json_string_value(detail) : "",
                                             dl > PAGE_MAX_DETAIL ? PAGE_MAX_DETAIL : dl, err);
                if (r == 0)
                        r = buf_printf(b, err, "%s</pre></td></tr>\n", dl > PAGE_MAX_DETAIL ? " [...]" : "");
        }
        if (r == 0)
                r = buf_puts(b, "</table>\n", err);
        if (r == 0)
                r = put_more(b, json_array_size(diags), err);
        return r;
}

static const char page_head[] =
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>tfgate result</title>\n<style>\n"
        "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em;color:#222}\n"
        "table{border-collapse:collapse;margin-bottom:1em}\n"
        "th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\n"
        "td pre,pre.log{white-space:pre-wrap;word-break:break-all;margin:0}\n"
        "pre.log{background:#f6f6f6;padding:1em;border:1px solid #ddd;max-height:40em;overflow:auto}\n"
        ".verdict{padding:.1em .5em;border-radius:.3em;color:#fff}\n"
        ".PASSED{background:#4c1}.FAILED{background:#e05d44}.ERROR,.CANCELED{background:#9f9f9f}\n"
        "</style></head><body>\n";

/* the verdict comes from the state's own record; only the four known
 * names are used as a class */
static const char *verdict_class(const char *v)
{
        static const char *const known[] = { "PASSED", "FAILED", "ERROR", "CANCELED" };

        for (size_t i = 0; v != NULL && i < ARRAY_SIZE(known); i++)
                if (strcmp(v, known[i]) == 0)
                        return known[i];
        return "ERROR";
}

static int render_summary(struct buf *b, const json_t *meta, const json_t *res, struct err *err)
{
        const char *verdict = verdict_class(json_string_value(json_object_get(meta, "verdict")));
        static const struct {
                const char *label, *key;
                bool from_result;
        } rows[] = {
                { "execution id", "exec_id", false }, { "forge", "forge", false },
                { "project", "project", false },      { "ref", "ref", false },
                { "commit", "commit", false },        { "repository", "repository", true },
                { "mode", "mode", true },             { "terraform", "terraform_version", true },
                { "tfgate", "tfgate_version", true }, { "started", "started_at", true },
                { "finished", "finished_at", true },
        };
        int r = buf_printf(b, err, "<h1>tfgate: <span class=\"verdict %s\" id=\"verdict\">%s</span></h1>\n",
                           verdict, verdict);

        if (r == 0 && res != NULL) {
                r = buf_puts(b, "<p id=\"reason\">", err);
                if (r == 0)
                        r = put_jv(b, json_object_get(res, "reason"), err);
                if (r == 0)
                        r = buf_puts(b, "</p>\n", err);
        }
        if (r == 0)
                r = buf_puts(b, "<table class=\"kv\">\n", err);
        for (size_t i = 0; r == 0 && i < ARRAY_SIZE(rows); i++) {
                if (rows[i].from_result && res == NULL)
                        continue;
                r = put_kv_row(b, rows[i].label,
                               json_object_get(rows[i].from_result ? res : meta, rows[i].key), err);
        }
        if (r == 0)
                r = buf_puts(b, "</table>\n", err);
        return r;
}

static int render_links(struct buf *b, const struct http_page_input *in, struct err *err)
{
        int r = buf_puts(b, "<h2>Signed result</h2>\n<ul>\n", err);

        /* relative links keep working behind a proxy that mounts tfgate
         * under a prefix (http.public_url) */
        if (r == 0 && in->result != NULL)
                r = buf_printf(b, err, "<li><a href=\"%s/result.json\">result.json</a></li>\n", in->exec_id);
        if (r == 0 && in->have_envelope)
                r = buf_printf(b, err, "<li><a href=\"%s/result.dsse.json\">result.dsse.json</a> "
                                       "(DSSE envelope)</li>\n", in->exec_id);
        if (r == 0 && in->have_key)
                r = buf_puts(b, "<li><a href=\"../key.pub\">key.pub</a> (the runner's public key)</li>\n", err);
        if (r == 0)
                r = buf_puts(b, "</ul>\n<p>Verify offline: <code>tfgate verify --key key.pub "
                                "result.dsse.json</code></p>\n", err);
        return r;
}

int http_render_result_page(struct buf *out, const struct http_page_input *in, struct err *err)
{
        json_t *meta = json_loadb(in->meta, in->meta_len, 0, NULL);
        json_t *res = in->result != NULL ? json_loadb(in->result, in->result_len, 0, NULL) : NULL;
        int r;

        if (!json_is_object(meta)) {
                json_decref(meta);
                json_decref(res);
                return err_set(err, EINVAL, "http: meta.json of %s is not an object", in->exec_id);
        }
        if (res != NULL && !json_is_object(res)) {
                json_decref(res);
                res = NULL;
        }
        r = buf_puts(out, page_head, err);
        if (r == 0)
                r = render_summary(out, meta, res, err);
        if (r == 0 && res != NULL)
                r = render_steps(out, json_object_get(res, "steps"), err);
        if (r == 0 && res != NULL)
                r = render_plan(out, json_object_get(res, "plan"), err);
        if (r == 0 && res != NULL)
                r = render_providers(out, json_object_get(res, "providers"), err);
        if (r == 0 && res != NULL)
                r = render_findings(out, json_object_get(res, "findings"), err);
        if (r == 0 && res != NULL)
                r = render_diagnostics(out, json_object_get(res, "diagnostics"), err);
        if (r == 0 && res == NULL)
                r = buf_puts(out, "<p>No result was recorded for this job.</p>\n", err);
        if (r == 0)
                r = buf_puts(out, "<h2>Log (filtered, last part)</h2>\n<pre class=\"log\" id=\"log\">", err);
        if (r == 0 && in->log != NULL)
                r = http_html_escape(out, in->log, in->log_len, err);
        if (r == 0)
                r = buf_puts(out, "</pre>\n", err);
        if (r == 0)
                r = render_links(out, in, err);
        if (r == 0)
                r = buf_puts(out, "</body></html>\n", err);
        json_decref(meta);
        json_decref(res);
        return r;
}

struct http_badge http_badge_of(const char *verdict)
{
        if (verdict != NULL && strcmp(verdict, "PASSED") == 0)
                return (struct http_badge){ "passed", "brightgreen", "#4c1" };
        if (verdict != NULL && strcmp(verdict, "FAILED") == 0)
                return (struct http_badge){ "failed", "red", "#e05d44" };
        /* no job yet, or it ended in an infrastructure error or was
         * canceled: nothing is known about the code */
        return (struct http_badge){ "unknown", "lightgrey", "#9f9f9f" };
}

int http_render_badge_json(struct buf *out, const struct http_badge *b, struct err *err)
{
        json_t *j = json_pack("{s:i,s:s,s:s,s:s}", "schemaVersion", 1, "label", "tfgate", "message",
                              b->message, "color", b->color);
        _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        int r;

        json_decref(j);
        if (text == NULL)
                return err_set(err, ENOMEM, "http: badge json");
        r = buf_puts(out, text, err);
        if (r == 0)
                r = buf_putc(out, '\n', err);
        return r;
}

/* about 7 px per character of Verdana 11px, the shields.io flat style */
static unsigned text_width(const char *s)
{
        return (unsigned)strlen(s) * 7 + 10;
}

int http_render_badge_svg(struct buf *out, const struct http_badge *b, struct err *err)
{
        const char *label = "tfgate";
        unsigned lw = text_width(label), mw = text_width(b->message), w = lw + mw;
        struct buf msg = BUF_INIT(256);
        int r = http_html_escape(&msg, b->message, strlen(b->message), err);

        if (r == 0)
                r = buf_printf(out, err,
                        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"20\" role=\"img\" "
                        "aria-label=\"%s: %s\"><title>%s: %s</title>"
                        "<linearGradient id=\"s\" x2=\"0\" y2=\"100%%\"><stop offset=\"0\" stop-color=\"#bbb\" "
                        "stop-opacity=\".1\"/><stop offset=\"1\" stop-opacity=\".1\"/></linearGradient>"
                        "<clipPath id=\"r\"><rect width=\"%u\" height=\"20\" rx=\"3\" fill=\"#fff\"/></clipPath>"
                        "<g clip-path=\"url(#r)\"><rect width=\"%u\" height=\"20\" fill=\"#555\"/>"
                        "<rect x=\"%u\" width=\"%u\" height=\"20\" fill=\"%s\"/>"
                        "<rect width=\"%u\" height=\"20\" fill=\"url(#s)\"/></g>"
                        "<g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,Geneva,DejaVu Sans,sans-serif\" "
                        "font-size=\"11\"><text x=\"%u\" y=\"14\">%s</text><text x=\"%u\" y=\"14\">%s</text></g></svg>\n",
                        w, label, buf_str(&msg), label, buf_str(&msg), w, lw, lw, mw, b->hex, w,
                        lw / 2, label, lw + mw / 2, buf_str(&msg));
        buf_free(&msg);
        return r;
}
