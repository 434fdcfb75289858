/* http.h - tfgate's HTTP endpoint (libmicrohttpd): health, Prometheus
 * metrics, status badges, result pages and GitHub webhooks.  Off unless
 * http.listen is set.  docs/http.md lists the endpoints and limits.
 *
 * The server runs on its own thread.  cfg, st and hooks (and what they
 * point to) must stay valid until http_server_stop() returns. */
#ifndef TFGATE_HTTP_H
#define TFGATE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runner/config/config.h"
#include "runner/state/state.h"
#include "runner/util/err.h"

/* request limits (docs/http.md) */
#define HTTP_MAX_HOOK_BODY      (1u << 20)      /* POST /hooks/github */
#define HTTP_MAX_HEADERS        (32u << 10)     /* request line + headers */
#define HTTP_DEFAULT_RATE       20              /* requests per second per client */
#define HTTP_DEFAULT_BURST      40

struct http_server;

/* What the daemon provides.  Every member may be NULL / 0. */
struct http_hooks {
        void *ctx;                      /* passed to the callbacks */
        /* GET /healthz: true when every forge answered its last poll;
         * NULL means always ready */
        bool (*ready)(void *ctx);
        /* POST /hooks/github with a verified signature: event is the
         * X-GitHub-Event name ([a-z_]{1,64}), delivery the X-GitHub-Delivery
         * id ("" when absent), body the raw bytes (NUL-terminated, not
         * counted in len).  Runs on the server thread: queue the work and
         * return at once (GitHub wants an answer within 10 s).  0 = accepted
         * (202), negative = refused for now (503). */
        int (*webhook)(void *ctx, const char *event, const char *delivery, const char *body,
                       size_t len);
        /* file holding the webhook secret (mode 0600; read once at start,
         * trailing newline dropped).  NULL: POST /hooks/github answers 404. */
        const char *webhook_secret_file;
        /* served as GET /key.pub; NULL: signing.key_file + ".pub" when
         * signing is configured, else 404 */
        const char *public_key_path;
        /* overrides http.listen ("HOST:PORT", "[v6]:PORT"; port 0 picks a
         * free port, see http_server_port()); for tests */
        const char *listen;
        /* token bucket per client address; 0 = the defaults above.  All
         * clients together get ten times this. */
        unsigned rate_per_sec;
        unsigned rate_burst;
};

/* Start serving.  When neither hooks->listen nor cfg->http.listen is set,
 * returns 0 with *out = NULL (the endpoint is off).  Fails when the address
 * cannot be bound or the webhook secret cannot be read. */
int http_server_start(struct http_server **out, const struct config *cfg, struct state *st,
                      const struct http_hooks *hooks, struct err *err);
/* stop accepting, finish in-flight requests, free; NULL is a no-op */
void http_server_stop(struct http_server *srv);
/* the bound TCP port */
uint16_t http_server_port(const struct http_server *srv);

#endif
