/* http_int.h - shared between the files of runner/http (not an interface
 * for other modules): routing, escaping and rendering, webhook signature
 * checks.  Pure functions, unit-tested in tests/unit/test_http.c. */
#ifndef TFGATE_HTTP_INT_H
#define TFGATE_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "runner/util/buf.h"
#include "runner/util/err.h"

enum http_route_kind {
        HR_NOT_FOUND = 0,
        HR_METHOD_NOT_ALLOWED,
        HR_HEALTHZ,
        HR_METRICS,
        HR_BADGE_SVG,
        HR_BADGE_JSON,
        HR_RESULT_PAGE,
        HR_RESULT_FILE,
        HR_KEY_PUB,
        HR_HOOK_GITHUB,
};

struct http_route {
        enum http_route_kind kind;
        const char *allow;      /* HR_METHOD_NOT_ALLOWED: the Allow header */
        char exec_id[33];       /* results */
        const char *file;       /* HR_RESULT_FILE: "result.json" or "result.dsse.json" */
        char *forge;            /* badges: decoded, malloc'd */
        char *project;
        char *ref;
};

#define HTTP_MAX_PATH 4096

/* route a request by method and raw (still percent-encoded) path */
void http_route(struct http_route *out, const char *method, const char *raw_path);
void http_route_free(struct http_route *r);

/* percent-decode one path segment; NULL when it holds a bad escape, a
 * control character (also encoded) or decodes to "" "." or ".." */
char *http_decode_segment(const char *s, size_t n);

/* HTML text/attribute escaping: & < > " ' as entities, control
 * characters other than \n and \t and invalid UTF-8 as U+FFFD */
int http_html_escape(struct buf *b, const char *s, size_t n, struct err *err);

/* the badge of a verdict (NULL: none yet) */
struct http_badge {
        const char *message;    /* passed, failed, unknown */
        const char *color;      /* shields.io name */
        const char *hex;        /* for the SVG */
};
struct http_badge http_badge_of(const char *verdict);
int http_render_badge_svg(struct buf *out, const struct http_badge *b, struct err *err);
int http_render_badge_json(struct buf *out, const struct http_badge *b, struct err *err);

/* the result page; result (result.json) and log may be NULL */
struct http_page_input {
        const char *exec_id;
        const char *meta;
        size_t meta_len;
        const char *result;
        size_t result_len;
        const char *log;
        size_t log_len;
        bool have_envelope;
        bool have_key;
};
int http_render_result_page(struct buf *out, const struct http_page_input *in, struct err *err);

/* X-Hub-Signature-256 ("sha256=" + 64 hex) over body with key, compared in
 * constant time */
bool http_hook_signature_ok(const unsigned char *key, size_t key_len, const char *body,
                            size_t len, const char *header);

#endif
