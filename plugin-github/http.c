/* http.c - one HTTPS request to the GitHub API with libcurl.
 *
 * Replies are read into a capped buf (a larger reply is an error, never a
 * truncation); TLS is always verified (optional CA file, optional client
 * certificate); no redirects are followed (GitHub's 301 for a renamed
 * repository is reported, not chased); proxies from the environment are
 * not used, so a variable cannot route tokens elsewhere. */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "github_int.h"
#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
        curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void gh_resp_init(struct gh_resp *r)
{
        r->status = 0;
        buf_init(&r->body, GITHUB_REPLY_MAX);
        r->etag = NULL;
        r->link = NULL;
        github_ratelimit_init(&r->rl);
}

void gh_resp_free(struct gh_resp *r)
{
        buf_free(&r->body);
        free(r->etag);
        free(r->link);
        r->etag = NULL;
        r->link = NULL;
}

struct sink {
        struct gh_resp *rs;
        bool overflow;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
        struct sink *s = ud;
        size_t len = size * n;

        if (buf_append(&s->rs->body, p, len, NULL) < 0) {
                s->overflow = true;
                return 0;
        }
        return len;
}

/* the value of "Name: value\r\n" when the name matches, trimmed */
static char *header_value(const char *line, size_t len, const char *name)
{
        size_t nl = strlen(name);
        const char *v, *end = line + len;

        if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
                return NULL;
        v = line + nl + 1;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && isspace((unsigned char)end[-1]))
                end--;
        return xstrndup(v, (size_t)(end - v));
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
        struct sink *s = ud;
        size_t len = size * n;
        char *v;

        /* a new status line (after a 100 Continue) starts a new header set */
        if (len > 5 && strncmp(p, "HTTP/", 5) == 0) {
                free(s->rs->etag);
                free(s->rs->link);
                s->rs->etag = s->rs->link = NULL;
                github_ratelimit_init(&s->rs->rl);
                return len;
        }
        if ((v = header_value(p, len, "etag")) != NULL) {
                free(s->rs->etag);
                s->rs->etag = v;
        } else if ((v = header_value(p, len, "link")) != NULL) {
                free(s->rs->link);
                s->rs->link = v;
        } else {
                github_ratelimit_header(&s->rs->rl, p, len);
        }
        return len;
}

static void slist_freep(struct curl_slist **l)
{
        curl_slist_free_all(*l);
}

static void easy_freep(CURL **c)
{
        if (*c != NULL)
                curl_easy_cleanup(*c);
}

static int add_header(struct curl_slist **l, const char *h, struct err *err)
{
        struct curl_slist *n = curl_slist_append(*l, h);

        if (n == NULL)
                return err_set(err, ENOMEM, "curl header list");
        *l = n;
        return 0;
}

int gh_http_do(const struct gh_http *h, const struct gh_req *rq, struct gh_resp *rs,
               struct err *err)
{
        _cleanup_(easy_freep) CURL *c = NULL;
        _cleanup_(slist_freep) struct curl_slist *hdr = NULL;
        _cleanup_free_ char *auth = NULL, *inm = NULL;
        char ebuf[CURL_ERROR_SIZE] = "";
        struct sink s = { rs, false };
        CURLcode rc = CURLE_OK;
        int r;

        pthread_once(&curl_once, curl_init);
        if (curl_init_rc != CURLE_OK)
                return err_set(err, EIO, "curl_global_init: %s", curl_easy_strerror(curl_init_rc));
        c = curl_easy_init();
        if (c == NULL)
                return err_set(err, ENOMEM, "curl_easy_init");

        if ((r = add_header(&hdr, "Accept: application/vnd.github+json", err)) < 0 ||
            (r = add_header(&hdr, "X-GitHub-Api-Version: 2022-11-28", err)) < 0)
                return r;
        if (rq->auth != NULL) {
                auth = xasprintf("Authorization: %s", rq->auth);
                if ((r = add_header(&hdr, auth, err)) < 0)
                        return r;
        }
        if (rq->body != NULL && (r = add_header(&hdr, "Content-Type: application/json", err)) < 0)
                return r;
        if (rq->etag != NULL) {
                inm = xasprintf("If-None-Match: %s", rq->etag);
                if ((r = add_header(&hdr, inm, err)) < 0)
                        return r;
        }
        /* curl adds "Expect: 100-continue" to large bodies; GitHub does not need it */
        if ((r = add_header(&hdr, "Expect:", err)) < 0)
                return r;

#define SETOPT(o, v) do { if (rc == CURLE_OK) rc = curl_easy_setopt(c, o, v); } while (0)
        SETOPT(CURLOPT_URL, rq->url);
        SETOPT(CURLOPT_CUSTOMREQUEST, rq->method);
        if (rq->body != NULL) {
                SETOPT(CURLOPT_POSTFIELDS, rq->body);
                SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(rq->body));
        } else if (strcmp(rq->method, "GET") == 0) {
                SETOPT(CURLOPT_HTTPGET, 1L);
        }
        SETOPT(CURLOPT_HTTPHEADER, hdr);
        SETOPT(CURLOPT_USERAGENT, h->user_agent);
        SETOPT(CURLOPT_PROTOCOLS_STR, "https,http");
        SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
        SETOPT(CURLOPT_PROXY, "");
        SETOPT(CURLOPT_NOSIGNAL, 1L);
        SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
        SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
        if (h->ca_file != NULL)
                SETOPT(CURLOPT_CAINFO, h->ca_file);
        if (h->cert_file != NULL) {
                SETOPT(CURLOPT_SSLCERT, h->cert_file);
                SETOPT(CURLOPT_SSLKEY, h->key_file);
        }
        SETOPT(CURLOPT_TIMEOUT_MS, (long)h->timeout_ms);
        SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)(h->timeout_ms < 10000 ? h->timeout_ms : 10000));
        SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)GITHUB_REPLY_MAX);
        SETOPT(CURLOPT_WRITEFUNCTION, on_body);
        SETOPT(CURLOPT_WRITEDATA, &s);
        SETOPT(CURLOPT_HEADERFUNCTION, on_header);
        SETOPT(CURLOPT_HEADERDATA, &s);
        SETOPT(CURLOPT_ERRORBUFFER, ebuf);
#undef SETOPT
        if (rc != CURLE_OK)
                return err_set(err, EINVAL, "curl option: %s", curl_easy_strerror(rc));

        rc = curl_easy_perform(c);
        if (s.overflow || rc == CURLE_FILESIZE_EXCEEDED)
                return err_set(err, EFBIG, "%s %s: reply larger than %u bytes", rq->method,
                               rq->url, GITHUB_REPLY_MAX);
        if (rc != CURLE_OK)
                return err_set(err, EIO, "%s %s: %s", rq->method, rq->url,
                               ebuf[0] ? ebuf : curl_easy_strerror(rc));
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
        return 0;
}
