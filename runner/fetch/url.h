/* url.h - repository URL validation for fetching.
 *
 * A repository URL comes from a forge reply or a command line and is
 * hostile until checked here.  Accepted forms:
 *   https://host[:port]/path                 always
 *   http://loopback[:port]/path              only with URL_ALLOW_HTTP_LOOPBACK
 *                                            (tests; host 127.0.0.0/8,
 *                                            localhost or [::1])
 *   file:///abs/path, /abs/path              only with URL_ALLOW_LOCAL
 *                                            (`tfgate check`, tests)
 * Refused, each with an error naming the reason: transport helpers
 * (`ext::`, `fd::`, any `X::`), ssh://, git://, other schemes, scp syntax
 * (`git@host:path`), userinfo (credentials come only from the fetch
 * credential callback), a query or fragment, control characters, spaces,
 * backslashes, non-ASCII (no IDNA), a leading `-` (option injection),
 * relative local paths and anything longer than URL_MAX_LEN.
 *
 * Hosts are compared case-insensitively with the scheme's default port
 * filled in, so the pipeline can require "repository host == forge host". */
#ifndef TFGATE_FETCH_URL_H
#define TFGATE_FETCH_URL_H

#include <stdbool.h>
#include <stdint.h>

#include "runner/util/err.h"

#define URL_MAX_LEN 2048

/* flags for url_parse() */
#define URL_ALLOW_LOCAL         (1u << 0)  /* file:// and absolute paths */
#define URL_ALLOW_HTTP_LOOPBACK (1u << 1)  /* http:// to a loopback host */
#define URL_ALLOW_EMPTY_PATH    (1u << 2)  /* "https://host" (a forge base URL) */

enum url_scheme { URL_HTTPS = 0, URL_HTTP, URL_FILE, URL_LOCAL_PATH };

struct url {
        enum url_scheme scheme;
        char *host;        /* lowercase; IPv6 in brackets; NULL for local */
        uint16_t port;     /* explicit or the scheme's default; 0 for local */
        char *path;        /* "/..." ("" only with URL_ALLOW_EMPTY_PATH) */
        char *url;         /* canonical form: lowercase scheme and host, the
                            * default port dropped; what is given to libgit2 */
};

#define URL_INIT { URL_HTTPS, NULL, 0, NULL, NULL }

/* Parse and validate s.  On failure *out is left zeroed (URL_INIT). */
int url_parse(struct url *out, const char *s, unsigned flags, struct err *err);
void url_free(struct url *u);

static inline void url_freep(struct url *u)
{
        url_free(u);
}

/* true when both are network URLs with the same host and port */
bool url_same_host(const struct url *a, const struct url *b);

/* 0 when repo's host and port equal those of forge_url (an https base URL
 * such as "https://gitlab.example.com"), else an error naming both hosts */
int url_require_host(const struct url *repo, const char *forge_url, struct err *err);

/* A copy of s that is safe to log: any userinfo ("user:token@") in the
 * authority is replaced by "***@", and a query or fragment by "?***".
 * Works on any string, valid URL or not; never fails.  Free the result. */
char *url_redact(const char *s);

#endif
