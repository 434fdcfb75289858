/* http.c - every request plugin-gitlab makes goes through gl_http_do():
 * TLS verification always on (optional CA bundle, optional client
 * certificate), no redirects, http/https only, a User-Agent and a fresh
 * X-Request-Id, a hard cap on the reply body and on the few headers kept. */
#include "gitlab_int.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "runner/fetch/url.h"
#include "runner/util/cleanup.h"
#include "runner/util/randid.h"
#include "runner/util/units.h"
#include "runner/util/xalloc.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
        curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

const char *gl_arch(void)
{
        static const struct { const char *uname, *go; } map[] = {
                { "x86_64", "amd64" }, { "aarch64", "arm64" }, { "i686", "386" },
                { "i386", "386" },     { "armv7l", "arm" },    { "s390x", "s390x" },
                { "ppc64le", "ppc64le" }, { "riscv64", "riscv64" },
        };
        static __thread char other[65];
        struct utsname u;

        if (uname(&u) < 0)
                return "unknown";
        for (size_t i = 0; i < ARRAY_SIZE(map); i++)
                if (strcmp(u.machine, map[i].uname) == 0)
                        return map[i].go;
        snprintf(other, sizeof(other), "%s", u.machine);
        return other;
}

uint64_t gl_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void gl_sleep_ms(uint64_t ms)
{
        struct timespec ts = { (time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

uint64_t gl_jitter(uint64_t d)
{
        uint64_t r = 0;

        if (d < 2)
                return d;
        if (random_bytes(&r, sizeof(r), NULL) < 0)
                r = (uint64_t)gl_now_ms() * 2654435761u;
        return d / 2 + r % (d - d / 2 + 1);
}

int gl_http_init(struct gl_http *h, const char *url, const struct cfg_tls *tls, struct err *err)
{
        _cleanup_(url_freep) struct url u = URL_INIT;
        size_t n;
        int r;

        memset(h, 0, sizeof(*h));
        pthread_once(&curl_once, curl_init);
        if (curl_init_rc != CURLE_OK)
                return err_set(err, 0, "libcurl: %s", curl_easy_strerror(curl_init_rc));
        r = url_parse(&u, url, URL_ALLOW_EMPTY_PATH | URL_ALLOW_HTTP_LOOPBACK, err);
        if (r < 0)
                return err_wrap(err, "GitLab URL");
        h->url = xstrdup(u.url);
        n = strlen(h->url);
        while (n > 0 && h->url[n - 1] == '/')
                h->url[--n] = '\0';
        h->base = xasprintf("%s/api/v4/", h->url);
        if (tls != NULL) {
                h->ca_file = tls->ca_file ? xstrdup(tls->ca_file) : NULL;
                h->cert_file = tls->client_cert_file ? xstrdup(tls->client_cert_file) : NULL;
                h->key_file = tls->client_key_file ? xstrdup(tls->client_key_file) : NULL;
        }
        h->user_agent = xasprintf("tfgate %s (gitlab-runner-api-v4; linux/%s)", TFGATE_VERSION,
                                  gl_arch());
        return 0;
}

void gl_http_free(struct gl_http *h)
{
        free(h->url);
        free(h->base);
        free(h->ca_file);
        free(h->cert_file);
        free(h->key_file);
        free(h->user_agent);
        memset(h, 0, sizeof(*h));
}

void gl_resp_init(struct gl_resp *r)
{
        memset(r, 0, sizeof(*r));
        buf_init(&r->body, GITLAB_REPLY_MAX);
        r->trace_interval_s = -1;
        r->retry_after_ms = -1;
}

void gl_resp_free(struct gl_resp *r)
{
        buf_free(&r->body);
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
        struct gl_resp *rs = arg;
        size_t n = size * nmemb;

        if (buf_append(&rs->body, p, n, NULL) < 0)
                return 0; /* curl aborts: CURLE_WRITE_ERROR */
        return n;
}

/* copy a header value, trimmed, into a fixed field; overlong values are
 * dropped whole rather than cut (a cut Range would be a wrong number) */
static void keep(char *dst, size_t dstlen, const char *v, size_t n)
{
        while (n > 0 && isspace((unsigned char)*v))
                v++, n--;
        while (n > 0 && isspace((unsigned char)v[n - 1]))
                n--;
        if (n >= dstlen) {
                dst[0] = '\0';
                return;
        }
        memcpy(dst, v, n);
        dst[n] = '\0';
}

static int64_t parse_seconds(const char *s)
{
        uint64_t v;

        if (parse_uint(s, 86400u * 365u, &v, NULL) < 0)
                return -1;
        return (int64_t)v;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
        struct gl_resp *rs = arg;
        size_t n = size * nmemb;
        const char *colon = memchr(p, ':', n);
        char tmp[128];
        size_t klen;

        if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
                /* a new response (after 100-continue): forget the old headers */
                rs->job_status[0] = rs->last_update[0] = rs->range[0] = '\0';
                rs->content_type[0] = rs->request_id[0] = '\0';
                rs->trace_interval_s = rs->retry_after_ms = -1;
                return n;
        }
        if (colon == NULL)
                return n;
        klen = (size_t)(colon - p);
        colon++;
#define IS(name) (klen == sizeof(name) - 1 && strncasecmp(p, name, klen) == 0)
        if (IS("Job-Status")) {
                keep(rs->job_status, sizeof(rs->job_status), colon, n - klen - 1);
        } else if (IS("X-GitLab-Last-Update")) {
                keep(rs->last_update, sizeof(rs->last_update), colon, n - klen - 1);
        } else if (IS("Range")) {
                keep(rs->range, sizeof(rs->range), colon, n - klen - 1);
        } else if (IS("Content-Type")) {
                keep(rs->content_type, sizeof(rs->content_type), colon, n - klen - 1);
        } else if (IS("X-Request-Id")) {
                keep(rs->request_id, sizeof(rs->request_id), colon, n - klen - 1);
        } else if (IS("X-GitLab-Trace-Update-Interval")) {
                keep(tmp, sizeof(tmp), colon, n - klen - 1);
                rs->trace_interval_s = parse_seconds(tmp);
        } else if (IS("Retry-After") || IS("RateLimit-ResetTime")) {
                int64_t s;
                bool reset = IS("RateLimit-ResetTime");

                keep(tmp, sizeof(tmp), colon, n - klen - 1);
                s = parse_seconds(tmp);
                if (s < 0) {
                        /* an HTTP date */
                        time_t t = curl_getdate(tmp, NULL);
                        time_t now = time(NULL);

                        s = t < 0 ? -1 : (t > now ? (int64_t)(t - now) : 0);
                }
                /* RateLimit-ResetTime wins over Retry-After, as in gitlab-runner */
                if (s >= 0 && (reset || rs->retry_after_ms < 0))
                        rs->retry_after_ms = s * 1000;
        }
#undef IS
        return n;
}

static struct curl_slist *add_header(struct curl_slist *l, const char *name, const char *v)
{
        /* "Name:" alone removes a header curl would add by itself */
        _cleanup_free_ char *line = v[0] ? xasprintf("%s: %s", name, v) : xasprintf("%s:", name);
        struct curl_slist *n = curl_slist_append(l, line);

        if (n == NULL)
                xalloc_die(strlen(line));
        explicit_bzero(line, strlen(line));
        return n;
}

static void slist_freep(struct curl_slist **l)
{
        curl_slist_free_all(*l);
}

/* everything of a request but its headers, body and reply buffers */
static void setup(const struct gl_http *h, CURL *c, const struct gl_req *rq)
{
        _cleanup_free_ char *url = xasprintf("%s%s", h->base, rq->path);

        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
        if (h->ca_file != NULL)
                curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
        if (h->cert_file != NULL) {
                curl_easy_setopt(c, CURLOPT_SSLCERT, h->cert_file);
                curl_easy_setopt(c, CURLOPT_SSLKEY, h->key_file);
        }
        curl_easy_setopt(c, CURLOPT_USERAGENT, h->user_agent);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 15000L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(rq->timeout_ms ? rq->timeout_ms : 60000));
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, NULL);
}

int gl_http_do(const struct gl_http *h, CURL *c, const struct gl_req *rq, struct gl_resp *rs,
               struct err *err)
{
        _cleanup_(slist_freep) struct curl_slist *hdrs = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        char reqid[RANDID_HEX_LEN + 1];
        CURLcode rc;
        int r;

        buf_reset(&rs->body);
        rs->status = 0;
        r = randid_new(reqid, err);
        if (r < 0)
                return r;
        hdrs = add_header(hdrs, "X-Request-Id", reqid);
        if (rq->token_header != NULL && rq->token != NULL)
                hdrs = add_header(hdrs, rq->token_header, rq->token);
        if (rq->want_json)
                hdrs = add_header(hdrs, "Accept", "application/json");
        if (rq->content_type != NULL && rq->mime == NULL)
                hdrs = add_header(hdrs, "Content-Type", rq->content_type);
        if (rq->content_range != NULL)
                hdrs = add_header(hdrs, "Content-Range", rq->content_range);
        /* no "Expect: 100-continue" round trip on uploads */
        hdrs = add_header(hdrs, "Expect", "");

        if (!rq->same_setup)
                setup(h, c, rq);
        /* per request: the header list, the reply's buffers, the body */
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, rs);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, rs);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        if (rq->mime != NULL) {
                curl_easy_setopt(c, CURLOPT_MIMEPOST, rq->mime);
        } else if (rq->content_type != NULL) {
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
        }
        rc = curl_easy_perform(c);
        /* the header list held the token: wipe before it is freed */
        for (struct curl_slist *l = hdrs; l != NULL; l = l->next)
                explicit_bzero(l->data, strlen(l->data));
        if (rc == CURLE_WRITE_ERROR && rs->body.len + CURL_MAX_WRITE_SIZE > rs->body.max)
                return err_set(err, EFBIG, "%s %s: reply larger than %zu bytes", rq->method,
                               rq->path, rs->body.max);
        if (rc != CURLE_OK)
                return err_set(err, rc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : ECONNABORTED,
                               "%s %s: %s", rq->method, rq->path,
                               errbuf[0] ? errbuf : curl_easy_strerror(rc));
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
        if (rq->want_json && rs->status / 100 == 2 && rs->status != 204 &&
            strncasecmp(rs->content_type, "application/json", 16) != 0)
                return err_set(err, EPROTO, "%s %s: HTTP %ld reply is not application/json",
                               rq->method, rq->path, rs->status);
        return 0;
}

json_t *gl_resp_json(const struct gl_resp *rs, struct err *err)
{
        json_error_t je;
        json_t *j = json_loadb(rs->body.data ? rs->body.data : "", rs->body.len,
                               JSON_REJECT_DUPLICATES, &je);

        if (j == NULL) {
                err_set(err, EPROTO, "reply is not JSON: line %d: %s", je.line, je.text);
                return NULL;
        }
        if (!json_is_object(j)) {
                json_decref(j);
                err_set(err, EPROTO, "reply is not a JSON object");
                return NULL;
        }
        return j;
}

void gl_resp_message(char *out, size_t n, const struct gl_resp *rs)
{
        _cleanup_(json_decrefp) json_t *j = NULL;
        _cleanup_free_ char *m = NULL;
        const char *src = "";
        size_t o = 0;

        j = json_loadb(rs->body.data ? rs->body.data : "", rs->body.len, 0, NULL);
        if (j != NULL && json_is_object(j)) {
                json_t *msg = json_object_get(j, "message");

                if (json_is_string(msg))
                        src = json_string_value(msg);
                else if (msg != NULL)
                        src = m = json_dumps(msg, JSON_COMPACT);
        }
        /* printable ASCII only, cut short: it goes into one log line */
        for (const char *p = src ? src : ""; *p != '\0' && o + 1 < n && o < 160; p++)
                out[o++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
        out[o] = '\0';
}
