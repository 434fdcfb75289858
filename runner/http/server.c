/* server.c - the libmicrohttpd side: limits, rate cap, dispatch, replies.
 *
 * libmicrohttpd parses HTTP; this file never does.  It runs one internal
 * polling thread, so a handler must not block: the webhook callback only
 * queues work.  Limits: connection memory (request line + headers)
 * HTTP_MAX_HEADERS, hook bodies HTTP_MAX_HOOK_BODY, 10 s per connection,
 * 128 connections (16 per client address), and a token bucket per client
 * address plus one for all clients.  Error bodies are fixed short strings;
 * the detail goes to the local log only. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "http.h"
#include "http_int.h"
#include "runner/metrics/metrics.h"
#include "runner/util/buf.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/log.h"
#include "runner/util/xalloc.h"

#define MAX_CONNECTIONS 128
#define MAX_PER_CLIENT 16
#define CONNECTION_TIMEOUT_S 10
#define RATE_SLOTS 256
#define MAX_PAGE (16u << 20)
#define MAX_META (64u << 10)
#define MAX_KEY (16u << 10)
#define MAX_SECRET 4096
#define HTTP_MAX_DISCARD (8u << 20)

struct bucket {
        unsigned char addr[16];
        double tokens;
        double last;            /* monotonic seconds */
        bool used;
};

struct http_server {
        struct MHD_Daemon *mhd;
        const struct config *cfg;
        struct state *st;
        struct http_hooks hooks;
        char *key_path;
        unsigned char *secret;
        size_t secret_len;
        double rate, burst;
        pthread_mutex_t rate_mu;
        struct bucket all;
        struct bucket clients[RATE_SLOTS];
        uint16_t port;
};

/* per-request state between libmicrohttpd's calls */
struct request {
        struct http_route route;
        struct buf body;
        bool too_big;
        size_t discarded;
        bool answered;
};

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* take a token; 0 when allowed, else the seconds to wait */
static double bucket_take(struct bucket *b, double rate, double burst, double now)
{
        if (!b->used) {
                b->used = true;
                b->tokens = burst;
                b->last = now;
        }
        b->tokens = fmin(burst, b->tokens + (now - b->last) * rate);
        b->last = now;
        if (b->tokens >= 1) {
                b->tokens -= 1;
                return 0;
        }
        return (1 - b->tokens) / rate;
}

static void client_key(unsigned char out[16], const struct sockaddr *sa)
{
        memset(out, 0, 16);
        if (sa != NULL && sa->sa_family == AF_INET)
                memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        else if (sa != NULL && sa->sa_family == AF_INET6)
                memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
}

/* the client's bucket: its own slot, a free one, or the one idle longest
 * (an attacker cycling addresses then only resets buckets, and still
 * meets the global one) */
static struct bucket *client_bucket(struct http_server *srv, const unsigned char key[16])
{
        struct bucket *oldest = &srv->clients[0];

        for (size_t i = 0; i < RATE_SLOTS; i++) {
                struct bucket *b = &srv->clients[i];

                if (b->used && memcmp(b->addr, key, 16) == 0)
                        return b;
                if (!b->used) {
                        memcpy(b->addr, key, 16);
                        return b;
                }
                if (b->last < oldest->last)
                        oldest = b;
        }
        oldest->used = false;
        memcpy(oldest->addr, key, 16);
        return oldest;
}

/* 0 when the request may go on, else whole seconds for Retry-After */
static unsigned rate_check(struct http_server *srv, struct MHD_Connection *c)
{
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        unsigned char key[16];
        double t = now_s(), wait;

        client_key(key, ci != NULL ? ci->client_addr : NULL);
        pthread_mutex_lock(&srv->rate_mu);
        wait = bucket_take(client_bucket(srv, key), srv->rate, srv->burst, t);
        if (wait == 0)
                wait = bucket_take(&srv->all, srv->rate * 10, srv->burst * 10, t);
        pthread_mutex_unlock(&srv->rate_mu);
        return wait == 0 ? 0 : (unsigned)ceil(wait);
}

enum page_kind { PK_PLAIN, PK_HTML, PK_BADGE };

/* every reply goes through here: security headers, status metric */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *ctype,
                             void *body, size_t len, enum MHD_ResponseMemoryMode mode,
                             enum page_kind kind, const char *const *extra)
{
        struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
        char code[8];
        const char *labels[] = { code };
        enum MHD_Result ret;

        if (resp == NULL) {
                if (mode == MHD_RESPMEM_MUST_FREE)
                        free(body);
                return MHD_NO;
        }
        MHD_add_response_header(resp, "Content-Type", ctype);
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(resp, "Content-Security-Policy",
                                kind == PK_HTML ? "default-src 'none'; style-src 'unsafe-inline'; "
                                                  "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
                                                : "default-src 'none'; frame-ancestors 'none'");
        /* GitHub's camo proxy needs no-cache plus a validator (ETag) to
         * refetch badges; everything else is not to be cached at all */
        MHD_add_response_header(resp, "Cache-Control", kind == PK_BADGE ? "no-cache" : "no-store");
        for (size_t i = 0; extra != NULL && extra[i] != NULL; i += 2)
                MHD_add_response_header(resp, extra[i], extra[i + 1]);
        ret = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        snprintf(code, sizeof(code), "%u", status);
        metrics_add(M_HTTP_REQUESTS_TOTAL, labels, 1);
        return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text,
                                  const char *const *extra)
{
        return reply(c, status, "text/plain; charset=utf-8", (void *)text, strlen(text),
                     MHD_RESPMEM_PERSISTENT, PK_PLAIN, extra);
}

static enum MHD_Result reply_buf(struct MHD_Connection *c, unsigned status, const char *ctype,
                                 struct buf *b, enum page_kind kind, const char *const *extra)
{
        size_t len;
        char *data = buf_steal(b, &len);

        return reply(c, status, ctype, data, len, MHD_RESPMEM_MUST_FREE, kind, extra);
}

static enum MHD_Result not_found(struct MHD_Connection *c)
{
        return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n", NULL);
}

static enum MHD_Result internal_error(struct MHD_Connection *c, const struct err *e)
{
        log_warn("http: %s", e->msg);
        return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n", NULL);
}

static enum MHD_Result serve_healthz(struct http_server *srv, struct MHD_Connection *c)
{
        bool ready = srv->hooks.ready == NULL || srv->hooks.ready(srv->hooks.ctx);

        if (ready)
                return reply_text(c, MHD_HTTP_OK, "ok\n", NULL);
        return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n", NULL);
}

static enum MHD_Result serve_metrics(struct MHD_Connection *c)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        if (f == NULL)
                return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n", NULL);
        metrics_render(f);
        if (fclose(f) != 0) {
                free(text);
                return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n", NULL);
        }
        return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len,
                     MHD_RESPMEM_MUST_FREE, PK_PLAIN, NULL);
}

static const struct cfg_forge *find_forge(const struct config *cfg, const char *name)
{
        for (size_t i = 0; i < cfg->n_forges; i++)
                if (strcmp(cfg->forges[i].name, name) == 0)
                        return &cfg->forges[i];
        return NULL;
}

/* only refs of configured projects get a badge: GitHub repositories are
 * listed in the config; GitLab hands out jobs of any project the runner
 * is enabled for, so there a project is known once a job of it ran */
static bool project_served(const struct http_server *srv, const char *forge, const char *project)
{
        const struct cfg_forge *f = find_forge(srv->cfg, forge);

        if (f == NULL)
                return false;
        if (f->type == FORGE_GITHUB) {
                for (size_t i = 0; i < f->n_repositories; i++)
                        if (strcasecmp(f->repositories[i], project) == 0)
                                return true;
                return false;
        }
        return state_has_project(srv->st, forge, project);
}

static enum MHD_Result serve_badge(struct http_server *srv, struct MHD_Connection *c,
                                   const struct http_route *rt)
{
        struct state_badge sb;
        struct http_badge b;
        struct buf out = BUF_INIT(16384);
        struct err e = ERR_INIT;
        char etag[64];
        const char *inm, *extra[] = { "ETag", etag, NULL };
        bool known;
        int r;

        if (!srv->cfg->http.badges || !project_served(srv, rt->forge, rt->project))
                return not_found(c);
        known = state_badge(srv->st, rt->forge, rt->project, rt->ref, &sb) == 0;
        if (!known && strncmp(rt->ref, "refs/", 5) != 0) {
                _cleanup_free_ char *full = xasprintf("refs/heads/%s", rt->ref);

                known = state_badge(srv->st, rt->forge, rt->project, full, &sb) == 0;
        }
        b = http_badge_of(known ? sb.verdict : NULL);
        snprintf(etag, sizeof(etag), "\"%s-%s-%s\"", rt->kind == HR_BADGE_SVG ? "s" : "j",
                 known ? sb.exec_id : "none", b.message);
        inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
        if (inm != NULL && strcmp(inm, etag) == 0)
                return reply(c, MHD_HTTP_NOT_MODIFIED, "text/plain", (void *)"", 0,
                             MHD_RESPMEM_PERSISTENT, PK_BADGE, extra);
        if (rt->kind == HR_BADGE_SVG)
                r = http_render_badge_svg(&out, &b, &e);
        else
                r = http_render_badge_json(&out, &b, &e);
        if (r < 0) {
                buf_free(&out);
                return internal_error(c, &e);
        }
        return reply_buf(c, MHD_HTTP_OK, rt->kind == HR_BADGE_SVG ? "image/svg+xml" : "application/json",
                         &out, PK_BADGE, extra);
}

static enum MHD_Result serve_result_page(struct http_server *srv, struct MHD_Connection *c,
                                         const struct http_route *rt)
{
        _cleanup_free_ char *meta = NULL, *result = NULL, *log = NULL, *env_path = NULL;
        struct http_page_input in = { .exec_id = rt->exec_id };
        struct buf page = BUF_INIT(MAX_PAGE);
        struct err e = ERR_INIT;
        int r;

        if (state_read(&meta, &in.meta_len, srv->st, rt->exec_id, "meta.json", MAX_META, &e) < 0)
                return not_found(c);
        in.meta = meta;
        r = state_read(&result, &in.result_len, srv->st, rt->exec_id, "result.json", STATE_MAX_RESULT, &e);
        if (r < 0 && r != -ENOENT)
                return internal_error(c, &e);
        in.result = result;
        r = state_read(&log, &in.log_len, srv->st, rt->exec_id, "log.txt", STATE_MAX_LOG_TAIL, &e);
        if (r < 0 && r != -ENOENT)
                return internal_error(c, &e);
        in.log = log;
        env_path = state_result_path(srv->st, rt->exec_id, "result.dsse.json");
        in.have_envelope = env_path != NULL;
        in.have_key = srv->key_path != NULL;
        if (http_render_result_page(&page, &in, &e) < 0) {
                buf_free(&page);
                return internal_error(c, &e);
        }
        return reply_buf(c, MHD_HTTP_OK, "text/html; charset=utf-8", &page, PK_HTML, NULL);
}

static enum MHD_Result serve_result_file(struct http_server *srv, struct MHD_Connection *c,
                                         const struct http_route *rt)
{
        char *data = NULL;
        size_t len;
        struct err e = ERR_INIT;
        int r = state_read(&data, &len, srv->st, rt->exec_id, rt->file, STATE_MAX_RESULT, &e);

        if (r == -ENOENT)
                return not_found(c);
        if (r < 0)
                return internal_error(c, &e);
        return reply(c, MHD_HTTP_OK, "application/json", data, len, MHD_RESPMEM_MUST_FREE, PK_PLAIN, NULL);
}

static enum MHD_Result serve_key(struct http_server *srv, struct MHD_Connection *c)
{
        char *data = NULL;
        size_t len;
        struct err e = ERR_INIT;
        int r;

        if (srv->key_path == NULL)
                return not_found(c);
        r = file_read_all(&data, &len, srv->key_path, MAX_KEY, &e);
        if (r == -ENOENT)
                return not_found(c);
        if (r < 0)
                return internal_error(c, &e);
        return reply(c, MHD_HTTP_OK, "text/plain; charset=utf-8", data, len, MHD_RESPMEM_MUST_FREE,
                     PK_PLAIN, NULL);
}

static bool token_ok(const char *s, size_t max, const char *extra)
{
        size_t n = strlen(s);

        if (n > max)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || strchr(extra, s[i])))
                        return false;
        return true;
}

static enum MHD_Result serve_hook(struct http_server *srv, struct MHD_Connection *c, struct request *rq)
{
        const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Hub-Signature-256");
        const char *event = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-GitHub-Event");
        const char *delivery = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-GitHub-Delivery");

        if (rq->too_big)
                return reply_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "payload too large\n", NULL);
        if (!http_hook_signature_ok(srv->secret, srv->secret_len, buf_str(&rq->body), rq->body.len, sig)) {
                log_info("http: webhook with a missing or wrong signature refused");
                return reply_text(c, MHD_HTTP_UNAUTHORIZED, "unauthorized\n", NULL);
        }
        if (delivery == NULL)
                delivery = "";
        if (event == NULL || event[0] == '\0' || !token_ok(event, 64, "_") ||
            !token_ok(delivery, 64, "-ABCDEF"))
                return reply_text(c, MHD_HTTP_BAD_REQUEST, "bad request\n", NULL);
        if (srv->hooks.webhook(srv->hooks.ctx, event, delivery, buf_str(&rq->body), rq->body.len) < 0)
                return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "busy\n", NULL);
        return reply_text(c, MHD_HTTP_ACCEPTED, "accepted\n", NULL);
}

static enum MHD_Result dispatch(struct http_server *srv, struct MHD_Connection *c, struct request *rq)
{
        const struct http_route *rt = &rq->route;
        const char *allow[] = { "Allow", rt->allow, NULL };

        switch (rt->kind) {
        case HR_HEALTHZ:
                return serve_healthz(srv, c);
        case HR_METRICS:
                return serve_metrics(c);
        case HR_BADGE_SVG:
        case HR_BADGE_JSON:
                return serve_badge(srv, c, rt);
        case HR_RESULT_PAGE:
                return serve_result_page(srv, c, rt);
        case HR_RESULT_FILE:
                return serve_result_file(srv, c, rt);
        case HR_KEY_PUB:
                return serve_key(srv, c);
        case HR_HOOK_GITHUB:
                return serve_hook(srv, c, rq);
        case HR_METHOD_NOT_ALLOWED:
                return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", allow);
        case HR_NOT_FOUND:
                break;
        }
        return not_found(c);
}

/* the first call of a request: rate cap, routing, early refusals.
 * Returns with rq->answered set unless the hook body is still to come. */
static enum MHD_Result begin(struct http_server *srv, struct MHD_Connection *c, const char *url,
                             const char *method, struct request *rq)
{
        unsigned wait = rate_check(srv, c);
        const char *cl;

        rq->answered = true;
        if (wait > 0) {
                char secs[16];
                const char *extra[] = { "Retry-After", secs, NULL };

                snprintf(secs, sizeof(secs), "%u", wait);
                return reply_text(c, MHD_HTTP_TOO_MANY_REQUESTS, "too many requests\n", extra);
        }
        http_route(&rq->route, method, url);
        if (rq->route.kind == HR_HOOK_GITHUB && (srv->hooks.webhook == NULL || srv->secret == NULL))
                rq->route.kind = HR_NOT_FOUND;
        if (rq->route.kind != HR_HOOK_GITHUB)
                return dispatch(srv, c, rq);
        /* refuse an announced oversized body before reading it */
        cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl != NULL && strtoull(cl, NULL, 10) > HTTP_MAX_HOOK_BODY)
                return reply_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "payload too large\n", NULL);
        rq->answered = false;
        return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
        struct http_server *srv = cls;
        struct request *rq = *con_cls;

        if (rq == NULL) {
                rq = xcalloc(1, sizeof(*rq));
                buf_init(&rq->body, HTTP_MAX_HOOK_BODY);
                *con_cls = rq;
                return begin(srv, c, url, method, rq);
        }
        if (rq->answered) {
                *upload_size = 0; /* the reply is queued; drop the rest */
                return MHD_YES;
        }
        if (*upload_size > 0) {
                /* libmicrohttpd cannot answer before the body has been read
                 * (it would close the connection without a reply), so an
                 * unannounced (chunked) oversized body is read and dropped
                 * up to HTTP_MAX_DISCARD, then answered 413; past that
                 * the connection is closed */
                if (!rq->too_big && buf_append(&rq->body, upload, *upload_size, NULL) < 0)
                        rq->too_big = true;
                if (rq->too_big) {
                        rq->discarded += *upload_size;
                        if (rq->discarded > HTTP_MAX_DISCARD)
                                return MHD_NO;
                }
                *upload_size = 0;
                return MHD_YES;
        }
        rq->answered = true;
        return dispatch(srv, c, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        struct request *rq = *con_cls;

        if (rq == NULL)
                return;
        http_route_free(&rq->route);
        buf_free(&rq->body);
        free(rq);
        *con_cls = NULL;
}

/* the path stays percent-encoded: route.c decodes each segment once */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
        return strlen(s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
        char line[512];

        vsnprintf(line, sizeof(line), fmt, ap);
        line[strcspn(line, "\n")] = '\0';
        log_debug("http: libmicrohttpd: %s", line);
}

static int resolve_listen(struct sockaddr_storage *ss, bool *v6, const char *listen, struct err *err)
{
        _cleanup_free_ char *host = NULL;
        const char *port;
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
        struct addrinfo *ai = NULL;
        int r;

        if (listen[0] == '[') {
                const char *close = strchr(listen, ']');

                if (close == NULL || close[1] != ':')
                        return err_set(err, EINVAL, "http: listen address %s is not [IPv6]:PORT", listen);
                host = xstrndup(listen + 1, (size_t)(close - listen - 1));
                port = close + 2;
        } else {
                const char *colon = strrchr(listen, ':');

                if (colon == NULL)
                        return err_set(err, EINVAL, "http: listen address %s is not HOST:PORT", listen);
                host = xstrndup(listen, (size_t)(colon - listen));
                port = colon + 1;
        }
        r = getaddrinfo(host, port, &hints, &ai);
        if (r != 0)
                return err_set(err, EINVAL, "http: listen address %s: %s", listen, gai_strerror(r));
        memcpy(ss, ai->ai_addr, ai->ai_addrlen);
        *v6 = ai->ai_family == AF_INET6;
        freeaddrinfo(ai);
        return 0;
}

static int read_secret(struct http_server *srv, const char *path, struct err *err)
{
        char *s = NULL;
        size_t len;
        int r = file_read_secret(&s, &len, path, MAX_SECRET, err);

        if (r < 0)
                return err_wrap(err, "http: webhook secret");
        while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
                len--;
        if (len == 0) {
                free(s);
                return err_set(err, EINVAL, "http: webhook secret file %s is empty", path);
        }
        srv->secret = (unsigned char *)s;
        srv->secret_len = len;
        return 0;
}

static void server_free(struct http_server *srv)
{
        if (srv->secret != NULL)
                explicit_bzero(srv->secret, srv->secret_len);
        free(srv->secret);
        free(srv->key_path);
        pthread_mutex_destroy(&srv->rate_mu);
        free(srv);
}

int http_server_start(struct http_server **out, const struct config *cfg, struct state *st,
                      const struct http_hooks *hooks, struct err *err)
{
        static const struct http_hooks none;
        const char *listen = hooks != NULL && hooks->listen != NULL ? hooks->listen : cfg->http.listen;
        struct sockaddr_storage ss;
        struct http_server *srv;
        const union MHD_DaemonInfo *di;
        bool v6 = false;
        int r;

        *out = NULL;
        if (listen == NULL)
                return 0;
        r = resolve_listen(&ss, &v6, listen, err);
        if (r < 0)
                return r;
        srv = xcalloc(1, sizeof(*srv));
        pthread_mutex_init(&srv->rate_mu, NULL);
        srv->cfg = cfg;
        srv->st = st;
        srv->hooks = hooks != NULL ? *hooks : none;
        srv->rate = srv->hooks.rate_per_sec > 0 ? srv->hooks.rate_per_sec : HTTP_DEFAULT_RATE;
        srv->burst = srv->hooks.rate_burst > 0 ? srv->hooks.rate_burst : HTTP_DEFAULT_BURST;
        if (srv->hooks.public_key_path != NULL)
                srv->key_path = xstrdup(srv->hooks.public_key_path);
        else if (cfg->signing.key_file != NULL)
                srv->key_path = xasprintf("%s.pub", cfg->signing.key_file);
        if (srv->hooks.webhook_secret_file != NULL) {
                r = read_secret(srv, srv->hooks.webhook_secret_file, err);
                if (r < 0) {
                        server_free(srv);
                        return r;
                }
        }
        srv->mhd = MHD_start_daemon(
                MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | (v6 ? MHD_USE_IPv6 : 0) | MHD_USE_ERROR_LOG,
                0, NULL, NULL, on_request, srv,
                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
                MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)MAX_PER_CLIENT,
                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MAX_HEADERS,
                MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
                MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                MHD_OPTION_END);
        if (srv->mhd == NULL) {
                server_free(srv);
                return err_set(err, EADDRNOTAVAIL, "http: cannot listen on %s", listen);
        }
        di = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
        srv->port = di != NULL ? di->port : 0;
        log_info("http: listening on %s (port %u)", listen, (unsigned)srv->port);
        *out = srv;
        return 0;
}

void http_server_stop(struct http_server *srv)
{
        if (srv == NULL)
                return;
        MHD_stop_daemon(srv->mhd);
        server_free(srv);
}

uint16_t http_server_port(const struct http_server *srv)
{
        return srv != NULL ? srv->port : 0;
}
