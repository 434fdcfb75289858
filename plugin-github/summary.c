/* summary.c - what a check run or a commit status says: Markdown that is
 * safe to render, within GitHub's limits.
 *
 * Everything that comes from a job (reasons, provider sources, findings,
 * file names, the log) is the repository author's text.  It goes through
 * github_md_escape(), which leaves nothing Markdown or HTML could act on:
 * every ASCII punctuation mark is backslash-escaped, < > & become entities,
 * '@' is followed by a word joiner (no mentions, no e-mail autolinks),
 * control and bidi characters and invalid UTF-8 become U+FFFD or a space.
 * The log goes into a code fence longer than any backtick run inside it.
 * Sizes are counted in bytes, which is never less than GitHub's character
 * count, so a body within GITHUB_OUTPUT_MAX bytes is always accepted. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "github_int.h"
#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

#define REPLACEMENT "\xef\xbf\xbd"      /* U+FFFD */
#define WORD_JOINER "\xe2\x81\xa0"      /* U+2060 */
#define MESSAGE_MAX 4096                /* annotation message, bytes */

static const char *const gate_rules[] = {
        "provider-not-allowed", "provider-unpinned", "lock-missing", "hash-mismatch",
        "mirror-missing",
};

/* Length of the valid UTF-8 sequence at p (1..4), 0 when invalid. */
static size_t utf8_len(const unsigned char *p, size_t n, uint32_t *cp)
{
        size_t need;
        uint32_t v;

        if (p[0] < 0x80) {
                *cp = p[0];
                return 1;
        }
        if (p[0] >= 0xc2 && p[0] <= 0xdf)
                need = 2, v = p[0] & 0x1f;
        else if (p[0] >= 0xe0 && p[0] <= 0xef)
                need = 3, v = p[0] & 0x0f;
        else if (p[0] >= 0xf0 && p[0] <= 0xf4)
                need = 4, v = p[0] & 0x07;
        else
                return 0;
        if (n < need)
                return 0;
        for (size_t i = 1; i < need; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                v = v << 6 | (p[i] & 0x3f);
        }
        if ((need == 3 && v < 0x800) || (need == 4 && (v < 0x10000 || v > 0x10ffff)) ||
            (v >= 0xd800 && v <= 0xdfff))
                return 0;
        *cp = v;
        return need;
}

static bool is_bidi_or_invisible(uint32_t cp)
{
        return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
               cp == 0x200e || cp == 0x200f || cp == 0x061c || (cp >= 0x80 && cp < 0xa0);
}

/* Copy s as clean UTF-8: invalid bytes, bidi controls and C1 controls become
 * U+FFFD; C0 controls other than keep become a space. */
static int clean_utf8(struct buf *out, const char *s, size_t len, const char *keep,
                      struct err *err)
{
        const unsigned char *p = (const unsigned char *)s;
        int r = 0;

        for (size_t i = 0; i < len && r == 0;) {
                uint32_t cp;
                size_t k = utf8_len(p + i, len - i, &cp);

                if (k == 0) {
                        r = buf_puts(out, REPLACEMENT, err);
                        i++;
                } else if (k == 1 && (cp < 0x20 || cp == 0x7f)) {
                        r = buf_putc(out, strchr(keep, (int)cp) && cp ? (char)cp : ' ', err);
                        i++;
                } else if (is_bidi_or_invisible(cp)) {
                        r = buf_puts(out, REPLACEMENT, err);
                        i += k;
                } else {
                        r = buf_append(out, p + i, k, err);
                        i += k;
                }
        }
        return r;
}

int github_md_escape(struct buf *out, const char *s, size_t len, struct err *err)
{
        _cleanup_(buf_freep) struct buf c = BUF_INIT(8 * (size_t)len + 16);
        int r;

        if (len == 0)
                return 0;
        r = clean_utf8(&c, s, len, "", err);
        for (size_t i = 0; r == 0 && i < c.len; i++) {
                unsigned char ch = (unsigned char)c.data[i];

                switch (ch) {
                case '<':
                        r = buf_puts(out, "&lt;", err);
                        break;
                case '>':
                        r = buf_puts(out, "&gt;", err);
                        break;
                case '&':
                        r = buf_puts(out, "&amp;", err);
                        break;
                case '@':
                        r = buf_puts(out, "@" WORD_JOINER, err);
                        break;
                default:
                        if (ch < 0x80 && ch > ' ' && !isalnum(ch))
                                r = buf_putc(out, '\\', err);
                        if (r == 0)
                                r = buf_putc(out, (char)ch, err);
                }
        }
        return r;
}

static int md(struct buf *b, const char *s, struct err *err)
{
        if (s == NULL || *s == '\0')
                return buf_puts(b, "\\-", err);
        return github_md_escape(b, s, strlen(s), err);
}

/* the result document, when the report has one that parses */
static json_t *result_doc(const struct job_report *r)
{
        if (r->result_json == NULL)
                return NULL;
        return json_loadb(r->result_json, r->result_len, 0, NULL);
}

static bool has_gate_error(json_t *doc)
{
        json_t *fs = json_object_get(doc, "findings");

        for (size_t i = 0; i < json_array_size(fs); i++) {
                json_t *f = json_array_get(fs, i);
                const char *rule = json_string_value(json_object_get(f, "rule"));
                const char *sev = json_string_value(json_object_get(f, "severity"));

                if (rule == NULL || sev == NULL || strcmp(sev, "error") != 0)
                        continue;
                for (size_t k = 0; k < ARRAY_SIZE(gate_rules); k++)
                        if (strcmp(rule, gate_rules[k]) == 0)
                                return true;
        }
        return false;
}

const char *github_conclusion(const struct job_report *r)
{
        static const char *const by_outcome[] = {
                [JOB_PASSED] = "success",
                [JOB_FAILED] = "failure",
                [JOB_SYSTEM_FAILURE] = "failure",
                [JOB_TIMEOUT] = "timed_out",
                [JOB_CANCELED] = "cancelled",
        };
        const char *c;

        if ((unsigned)r->outcome >= ARRAY_SIZE(by_outcome))
                return "failure";
        c = by_outcome[r->outcome];
        if (r->outcome == JOB_FAILED) {
                json_t *doc = result_doc(r);

                if (has_gate_error(doc))
                        c = "action_required";
                json_decref(doc);
        }
        return c;
}

static const char *title_of(const struct job_report *r)
{
        const char *c = github_conclusion(r);

        if (strcmp(c, "action_required") == 0)
                return "tfgate: refused providers";
        if (r->outcome == JOB_SYSTEM_FAILURE)
                return "tfgate: infrastructure error";
        if (strcmp(c, "success") == 0)
                return "tfgate: passed";
        if (strcmp(c, "timed_out") == 0)
                return "tfgate: timed out";
        if (strcmp(c, "cancelled") == 0)
                return "tfgate: cancelled";
        return "tfgate: failed";
}

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
        const char *s = json_string_value(json_object_get(o, key));

        return s != NULL ? s : dflt;
}

static int put_location(struct buf *b, json_t *o, struct err *err)
{
        const char *file = json_string_value(json_object_get(o, "file"));
        json_t *line = json_object_get(o, "line");
        int r;

        if (file == NULL)
                return buf_puts(b, "\\-", err);
        r = md(b, file, err);
        if (r == 0 && json_is_integer(line))
                r = buf_printf(b, err, ":%" JSON_INTEGER_FORMAT, json_integer_value(line));
        return r;
}

static int put_signature(struct buf *b, const struct job_report *rep, const char *sha,
                         struct err *err)
{
        unsigned char d[EVP_MAX_MD_SIZE];
        unsigned int dl = 0;
        char hex[2 * EVP_MAX_MD_SIZE + 1];

        if (rep->envelope == NULL)
                return buf_puts(b, "\n### Signature\n\nThis result is not signed.\n", err);
        if (EVP_Digest(rep->envelope, rep->envelope_len, d, &dl, EVP_sha256(), NULL) != 1)
                return err_set(err, EIO, "sha256 of the envelope");
        for (unsigned i = 0; i < dl; i++)
                snprintf(hex + 2 * i, 3, "%02x", d[i]);
        return buf_printf(b, err,
                          "\n### Signature\n\n"
                          "DSSE envelope (`result.dsse.json`) SHA-256: `%s`\n\n"
                          "Verify it offline with the runner's public key:\n\n"
                          "```\ntfgate verify --key tfgate.pub --expect-commit %s "
                          "--result result.json result.dsse.json\n```\n",
                          hex, sha);
}

/* Rows past twice the limit would be cut anyway; stopping there keeps the
 * working buffer small however many findings a result has. */
static bool full(const struct buf *b)
{
        return b->len > 2 * (size_t)GITHUB_OUTPUT_MAX;
}

static int put_tables(struct buf *b, json_t *doc, struct err *err)
{
        json_t *steps = json_object_get(doc, "steps");
        json_t *provs = json_object_get(doc, "providers");
        json_t *finds = json_object_get(doc, "findings");
        int r = 0;

        if (json_array_size(steps) > 0)
                r = buf_puts(b, "\n### Steps\n\n| step | exit | reason | seconds |\n|---|---:|---|---:|\n", err);
        for (size_t i = 0; r == 0 && !full(b) && i < json_array_size(steps); i++) {
                json_t *s = json_array_get(steps, i);

                r = buf_puts(b, "| ", err);
                if (r == 0) r = md(b, str_or(s, "name", ""), err);
                if (r == 0) r = buf_printf(b, err, " | %" JSON_INTEGER_FORMAT " | ",
                                           json_integer_value(json_object_get(s, "exit_code")));
                if (r == 0) r = md(b, str_or(s, "reason", ""), err);
                if (r == 0) r = buf_printf(b, err, " | %" JSON_INTEGER_FORMAT " |\n",
                                           json_integer_value(json_object_get(s, "wall_ms")) / 1000);
        }
        if (r == 0 && json_array_size(provs) > 0)
                r = buf_puts(b, "\n### Providers\n\n| source | constraints | locked | allowed | mirror |\n"
                                "|---|---|---|---|---|\n", err);
        for (size_t i = 0; r == 0 && !full(b) && i < json_array_size(provs); i++) {
                json_t *p = json_array_get(provs, i);

                r = buf_puts(b, "| ", err);
                if (r == 0) r = md(b, str_or(p, "source", ""), err);
                if (r == 0) r = buf_puts(b, " | ", err);
                if (r == 0) r = md(b, str_or(p, "constraints", ""), err);
                if (r == 0) r = buf_puts(b, " | ", err);
                if (r == 0) r = md(b, str_or(p, "locked_version", ""), err);
                if (r == 0) r = buf_puts(b, json_is_true(json_object_get(p, "allowed")) ? " | yes | " : " | **no** | ", err);
                if (r == 0) r = md(b, str_or(p, "mirror", ""), err);
                if (r == 0) r = buf_puts(b, " |\n", err);
        }
        if (r == 0 && json_array_size(finds) > 0)
                r = buf_printf(b, err, "\n### Findings (%zu)\n\n| severity | rule | location | message |\n"
                                       "|---|---|---|---|\n", json_array_size(finds));
        for (size_t i = 0; r == 0 && !full(b) && i < json_array_size(finds); i++) {
                json_t *f = json_array_get(finds, i);

                r = buf_puts(b, "| ", err);
                if (r == 0) r = md(b, str_or(f, "severity", ""), err);
                if (r == 0) r = buf_puts(b, " | ", err);
                if (r == 0) r = md(b, str_or(f, "rule", ""), err);
                if (r == 0) r = buf_puts(b, " | ", err);
                if (r == 0) r = put_location(b, f, err);
                if (r == 0) r = buf_puts(b, " | ", err);
                if (r == 0) r = md(b, str_or(f, "message", ""), err);
                if (r == 0) r = buf_puts(b, " |\n", err);
        }
        return r;
}

/* Cut at the last line end that leaves room for the note, and say so. */
static void cut_visibly(struct buf *b)
{
        char note[200];
        size_t keep;
        int n;

        if (b->len <= GITHUB_OUTPUT_MAX)
                return;
        n = snprintf(note, sizeof(note),
                     "\n\n**Cut:** the summary is longer than the %u characters GitHub "
                     "takes; the rest is in result.json.\n", (unsigned)GITHUB_OUTPUT_MAX);
        keep = GITHUB_OUTPUT_MAX - (size_t)n;
        while (keep > 0 && b->data[keep - 1] != '\n')
                keep--;
        b->len = keep;
        b->data[keep] = '\0';
        buf_puts(b, note, NULL);
}

int github_summary(char **out, const struct job_report *rep, const char *sha, struct err *err)
{
        /* the escaped text can be several times the input; the cut comes after */
        _cleanup_(buf_freep) struct buf b = BUF_INIT(64u << 20);
        json_t *doc = result_doc(rep);
        json_t *plan = json_object_get(doc, "plan");
        const char *reason = str_or(doc, "reason", rep->summary);
        int r;

        *out = NULL;
        r = buf_printf(&b, err, "## %s\n\n**Reason:** ", title_of(rep));
        if (r == 0) r = md(&b, reason, err);
        if (r == 0) r = buf_printf(&b, err, "\n\n**Commit:** `%s`", job_sha_valid(sha) ? sha : "?");
        if (r == 0 && doc != NULL) {
                r = buf_puts(&b, " · **Mode:** ", err);
                if (r == 0) r = md(&b, str_or(doc, "mode", ""), err);
                if (r == 0) r = buf_puts(&b, " · **Terraform:** ", err);
                if (r == 0) r = md(&b, str_or(doc, "terraform_version", "not run"), err);
        }
        if (r == 0) r = buf_puts(&b, "\n", err);
        if (r == 0 && json_is_object(plan))
                r = buf_printf(&b, err, "\n### Plan\n\n| add | change | destroy |\n|---:|---:|---:|\n"
                               "| %" JSON_INTEGER_FORMAT " | %" JSON_INTEGER_FORMAT " | %" JSON_INTEGER_FORMAT " |\n",
                               json_integer_value(json_object_get(plan, "add")),
                               json_integer_value(json_object_get(plan, "change")),
                               json_integer_value(json_object_get(plan, "destroy")));
        if (r == 0) r = put_signature(&b, rep, sha, err);
        if (r == 0 && doc != NULL) r = put_tables(&b, doc, err);
        json_decref(doc);
        if (r < 0)
                return err_wrap(err, "check run summary");
        cut_visibly(&b);
        *out = buf_steal(&b, NULL);
        return 0;
}

int github_log_text(char **out, const char *log, size_t len, struct err *err)
{
        _cleanup_(buf_freep) struct buf clean = BUF_INIT(4 * (size_t)len + 16);
        _cleanup_(buf_freep) struct buf b = BUF_INIT(GITHUB_OUTPUT_MAX);
        char fence[64];
        size_t run = 0, longest = 0, room, start = 0;
        int r;

        *out = NULL;
        r = clean_utf8(&clean, log != NULL ? log : "", len, "\n\t", err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < clean.len; i++) {
                run = clean.data[i] == '`' ? run + 1 : 0;
                if (run > longest)
                        longest = run;
        }
        /* a fence longer than any backtick run in the text cannot be closed by
         * it; absurdly long runs are turned into quotes instead */
        if (longest + 1 >= sizeof(fence) - 1) {
                for (size_t i = 0; i < clean.len; i++)
                        if (clean.data[i] == '`')
                                clean.data[i] = '\'';
                longest = 0;
        }
        memset(fence, '`', longest < 3 ? 3 : longest + 1);
        fence[longest < 3 ? 3 : longest + 1] = '\0';
        room = GITHUB_OUTPUT_MAX - 2 * strlen(fence) - 200;
        if (clean.len > room) {
                /* keep the end of the log, starting on a character boundary */
                start = clean.len - room;
                while (start < clean.len && ((unsigned char)clean.data[start] & 0xc0) == 0x80)
                        start++;
                r = buf_printf(&b, err, "The first %zu bytes of the log tail were cut.\n\n", start);
        }
        if (r == 0) r = buf_printf(&b, err, "%s\n", fence);
        if (r == 0) r = buf_append(&b, clean.data ? clean.data + start : "", clean.len - start, err);
        if (r == 0) r = buf_printf(&b, err, "\n%s\n", fence);
        if (r < 0)
                return err_wrap(err, "check run text");
        *out = buf_steal(&b, NULL);
        return 0;
}

/* an annotation path: relative, inside the repository */
static bool path_ok(const char *p)
{
        if (p == NULL || p[0] == '\0' || p[0] == '/' || strlen(p) > 1024)
                return false;
        if (strcmp(p, "..") == 0 || strncmp(p, "../", 3) == 0 || strstr(p, "/../") != NULL ||
            (strlen(p) >= 3 && strcmp(p + strlen(p) - 3, "/..") == 0))
                return false;
        return true;
}

static json_t *annotation(json_t *o, const char *level, const char *title, const char *msg,
                          const char *detail)
{
        _cleanup_(buf_freep) struct buf m = BUF_INIT(MESSAGE_MAX + 8);
        const char *file = json_string_value(json_object_get(o, "file"));
        json_t *line = json_object_get(o, "line");
        char *text;
        size_t n;
        json_t *a;

        if (!path_ok(file) || !json_is_integer(line) || json_integer_value(line) < 1)
                return NULL;
        clean_utf8(&m, msg, strnlen(msg, MESSAGE_MAX), "", NULL);
        if (detail != NULL && *detail != '\0' && m.len + 2 < MESSAGE_MAX) {
                buf_puts(&m, "\n\n", NULL);
                clean_utf8(&m, detail, strnlen(detail, MESSAGE_MAX - m.len), "\n\t", NULL);
        }
        /* cut back to a whole character within the limit */
        n = m.len < MESSAGE_MAX ? m.len : MESSAGE_MAX;
        while (n > 0 && n < m.len && ((unsigned char)m.data[n] & 0xc0) == 0x80)
                n--;
        text = xstrndup(m.data ? m.data : "", n);
        if (*text == '\0') {
                free(text);
                text = xstrdup("(no message)");
        }
        a = json_pack("{s:s, s:I, s:I, s:s, s:s%, s:s}", "path", file, "start_line",
                      json_integer_value(line), "end_line", json_integer_value(line),
                      "annotation_level", level, "message", text, strlen(text), "title", title);
        free(text);
        return a;
}

/* every annotation the result gives, at most GITHUB_ANNOTATIONS_MAX */
static json_t *annotations(json_t *doc)
{
        static const struct {
                const char *severity, *level;
        } levels[] = { { "error", "failure" }, { "warning", "warning" }, { "unknown", "notice" } };
        json_t *all = json_array();
        json_t *ds = json_object_get(doc, "diagnostics");
        json_t *fs = json_object_get(doc, "findings");

        for (int pass = 0; pass < 2; pass++) {
                json_t *arr = pass == 0 ? fs : ds;

                for (size_t i = 0; i < json_array_size(arr); i++) {
                        json_t *o = json_array_get(arr, i);
                        const char *sev = str_or(o, "severity", "unknown");
                        const char *level = "notice";
                        json_t *a;

                        if (json_array_size(all) >= GITHUB_ANNOTATIONS_MAX)
                                return all;
                        for (size_t k = 0; k < ARRAY_SIZE(levels); k++)
                                if (strcmp(sev, levels[k].severity) == 0)
                                        level = levels[k].level;
                        if (pass == 0)
                                a = annotation(o, level, str_or(o, "rule", "policy"),
                                               str_or(o, "message", ""), NULL);
                        else
                                a = annotation(o, level, "terraform", str_or(o, "summary", ""),
                                               str_or(o, "detail", NULL));
                        if (a != NULL)
                                json_array_append_new(all, a);
                }
        }
        return all;
}

void gh_iso_time(char out[32], time_t t)
{
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int github_finish_bodies(json_t **out, const struct job_report *rep, const char *sha,
                         const char *details_url, struct err *err)
{
        _cleanup_free_ char *summary = NULL, *text = NULL;
        json_t *doc = result_doc(rep), *all, *bodies;
        size_t n, batches;
        char now[32];
        int r;

        *out = NULL;
        r = github_summary(&summary, rep, sha, err);
        if (r == 0)
                r = github_log_text(&text, rep->log_tail, rep->log_tail ? rep->log_tail_len : 0, err);
        if (r < 0) {
                json_decref(doc);
                return r;
        }
        all = annotations(doc);
        json_decref(doc);
        n = json_array_size(all);
        batches = n == 0 ? 1 : (n + GITHUB_ANNOTATIONS_PER_REQUEST - 1) / GITHUB_ANNOTATIONS_PER_REQUEST;
        bodies = json_array();
        gh_iso_time(now, time(NULL));
        for (size_t b = 0; b < batches; b++) {
                json_t *output = json_pack("{s:s, s:s}", "title", title_of(rep), "summary", summary);
                json_t *batch = json_array();
                json_t *body = json_object();

                for (size_t i = b * GITHUB_ANNOTATIONS_PER_REQUEST;
                     i < n && i < (b + 1) * GITHUB_ANNOTATIONS_PER_REQUEST; i++)
                        json_array_append(batch, json_array_get(all, i));
                if (json_array_size(batch) > 0)
                        json_object_set(output, "annotations", batch);
                json_decref(batch);
                if (b + 1 == batches) {
                        json_object_set_new(output, "text", json_string(text));
                        json_object_set_new(body, "status", json_string("completed"));
                        json_object_set_new(body, "conclusion", json_string(github_conclusion(rep)));
                        json_object_set_new(body, "completed_at", json_string(now));
                        if (details_url != NULL)
                                json_object_set_new(body, "details_url", json_string(details_url));
                }
                json_object_set_new(body, "output", output);
                json_array_append_new(bodies, body);
        }
        json_decref(all);
        *out = bodies;
        return 0;
}

int github_status_body(json_t **out, const struct job_report *rep, const char *pending_text,
                       const char *details_url, struct err *err)
{
        static const char *const states[] = {
                [JOB_PASSED] = "success", [JOB_FAILED] = "failure",
                [JOB_SYSTEM_FAILURE] = "error", [JOB_TIMEOUT] = "error",
                [JOB_CANCELED] = "error",
        };
        const char *state = "pending";
        const char *text = pending_text;
        char desc[GITHUB_STATUS_DESCRIPTION_MAX + 1];
        size_t k = 0;

        if (rep != NULL) {
                state = (unsigned)rep->outcome < ARRAY_SIZE(states) ? states[rep->outcome] : "error";
                text = rep->summary != NULL ? rep->summary : title_of(rep);
        }
        if (text == NULL)
                text = "";
        /* printable ASCII only, so bytes == characters; "..." marks a cut */
        for (const char *p = text; *p && k < GITHUB_STATUS_DESCRIPTION_MAX; p++)
                desc[k++] = ((unsigned char)*p >= ' ' && (unsigned char)*p < 0x7f) ? *p : '?';
        if (k == GITHUB_STATUS_DESCRIPTION_MAX && text[k] != '\0')
                memcpy(desc + k - 3, "...", 3);
        desc[k] = '\0';
        *out = json_pack("{s:s, s:s, s:s}", "state", state, "context", GITHUB_CHECK_NAME,
                         "description", desc);
        if (*out == NULL)
                return err_set(err, ENOMEM, "status body");
        if (details_url != NULL)
                json_object_set_new(*out, "target_url", json_string(details_url));
        return 0;
}
