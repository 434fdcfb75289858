/* fuzz_url.c - url_parse() and url_redact() on arbitrary bytes.  Beyond
 * "no crash": whatever url_parse() accepts is printable ASCII, has no
 * userinfo, survives url_redact() unchanged, and parses again to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner/fetch/url.h"
#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_accepted(const struct url *u, unsigned flags)
{
        _cleanup_free_ char *red = url_redact(u->url);
        struct url again = URL_INIT;

        for (const char *p = u->url; *p != '\0'; p++)
                if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
                        abort();
        if (u->url[0] == '-' || strstr(u->url, "::") == u->url)
                abort();
        if (strcmp(red, u->url) != 0)
                abort();
        if (url_parse(&again, u->url, flags, NULL) != 0 || strcmp(again.url, u->url) != 0)
                abort();
        if ((u->host == NULL) != (u->scheme == URL_FILE || u->scheme == URL_LOCAL_PATH))
                abort();
        url_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const unsigned flag_sets[] = {
                0,
                URL_ALLOW_LOCAL | URL_ALLOW_HTTP_LOOPBACK,
                URL_ALLOW_EMPTY_PATH,
        };
        _cleanup_free_ char *s = xstrndup((const char *)data, size);
        _cleanup_free_ char *red = url_redact(s);

        for (size_t i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
                struct url u = URL_INIT;
                struct err err = ERR_INIT;

                if (url_parse(&u, s, flag_sets[i], &err) == 0) {
                        check_accepted(&u, flag_sets[i]);
                        if (url_require_host(&u, "https://gitlab.example.com", &err) == 0 &&
                            strcmp(u.host, "gitlab.example.com") != 0)
                                abort();
                } else if (err.code >= 0 || u.url != NULL) {
                        abort();
                }
                url_free(&u);
        }
        return 0;
}
