#include "url.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "runner/util/buf.h"
#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

#define HOST_MAX 253

struct scheme_rule {
        const char *name;
        enum url_scheme scheme;
        unsigned needs;         /* flag the caller must pass, 0 = always */
        uint16_t default_port;
};

/* Every scheme tfgate fetches from.  Anything else (ssh, git, git+ssh,
 * ftp, ...) is refused by name: ssh runs a program chosen by config and
 * git:// is unauthenticated, and neither is needed for a forge. */
static const struct scheme_rule scheme_rules[] = {
        { "https", URL_HTTPS, 0, 443 },
        { "http", URL_HTTP, URL_ALLOW_HTTP_LOOPBACK, 80 },
        { "file", URL_FILE, URL_ALLOW_LOCAL, 0 },
};

static bool is_alpha(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
        return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static char to_lower(char c)
{
        return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int hex_val(char c)
{
        if (is_digit(c))
                return c - '0';
        return to_lower(c) - 'a' + 10;
}

/* Characters that never belong in a repository URL or path we hand to
 * libgit2: controls, DEL, non-ASCII (no IDNA, and no homoglyph hosts),
 * space and the backslash (a path separator on other systems). */
static int check_bytes(const char *s, struct err *err)
{
        for (size_t i = 0; s[i] != '\0'; i++) {
                unsigned char c = (unsigned char)s[i];

                if (c < 0x20 || c == 0x7f)
                        return err_set(err, 0, "repository URL: control character at offset %zu", i);
                if (c >= 0x80)
                        return err_set(err, 0, "repository URL: non-ASCII byte at offset %zu "
                                       "(internationalised names are not supported)", i);
                if (c == ' ')
                        return err_set(err, 0, "repository URL: space at offset %zu", i);
                if (c == '\\')
                        return err_set(err, 0, "repository URL: backslash at offset %zu", i);
        }
        return 0;
}

/* characters allowed in a URL path besides alphanumerics and %XX */
static bool path_char_ok(char c)
{
        return strchr("/-._~!$&'()*+,;=:@", c) != NULL;
}

static int check_url_path(const char *path, struct err *err)
{
        for (size_t i = 0; path[i] != '\0'; i++) {
                char c = path[i];

                if (c == '?' || c == '#')
                        return err_set(err, 0, "repository URL: a query or fragment is not allowed");
                if (c == '%') {
                        int v;

                        if (!is_hex(path[i + 1]) || !is_hex(path[i + 2]))
                                return err_set(err, 0, "repository URL: bad percent escape in path");
                        v = hex_val(path[i + 1]) * 16 + hex_val(path[i + 2]);
                        if (v < 0x20 || v >= 0x7f)
                                return err_set(err, 0, "repository URL: percent escape of a control "
                                               "or non-ASCII byte in path");
                        i += 2;
                        continue;
                }
                if (!is_alpha(c) && !is_digit(c) && !path_char_ok(c))
                        return err_set(err, 0, "repository URL: character '%c' not allowed in path", c);
        }
        return 0;
}

/* A registered name: letters, digits, '-' and '.', non-empty labels that
 * do not start or end with '-', no trailing dot (so that "a.b." and "a.b"
 * cannot compare unequal while naming the same host). */
static int check_reg_name(const char *h, size_t n, struct err *err)
{
        size_t label = 0;

        if (n == 0)
                return err_set(err, 0, "repository URL: empty host");
        if (n > HOST_MAX)
                return err_set(err, 0, "repository URL: host name longer than %d", HOST_MAX);
        for (size_t i = 0; i < n; i++) {
                char c = h[i];

                if (c == '.') {
                        if (label == 0 || h[i - 1] == '-')
                                return err_set(err, 0, "repository URL: malformed host name");
                        label = 0;
                        continue;
                }
                if (!is_alpha(c) && !is_digit(c) && c != '-')
                        return err_set(err, 0, "repository URL: character '%c' not allowed in host", c);
                if (c == '-' && label == 0)
                        return err_set(err, 0, "repository URL: malformed host name");
                label++;
        }
        if (label == 0 || h[n - 1] == '-')
                return err_set(err, 0, "repository URL: malformed host name");
        return 0;
}

static int check_ipv6(const char *h, size_t n, struct err *err)
{
        /* h includes the brackets */
        if (n < 4)
                return err_set(err, 0, "repository URL: malformed IPv6 address");
        for (size_t i = 1; i + 1 < n; i++)
                if (!is_hex(h[i]) && h[i] != ':' && h[i] != '.')
                        return err_set(err, 0, "repository URL: malformed IPv6 address");
        return 0;
}

static int parse_port(const char *p, size_t n, uint16_t *out, struct err *err)
{
        unsigned long v = 0;

        if (n == 0 || n > 5)
                return err_set(err, 0, "repository URL: malformed port");
        for (size_t i = 0; i < n; i++) {
                if (!is_digit(p[i]))
                        return err_set(err, 0, "repository URL: malformed port");
                v = v * 10 + (unsigned long)(p[i] - '0');
        }
        if (v == 0 || v > 65535)
                return err_set(err, 0, "repository URL: port %lu out of range", v);
        *out = (uint16_t)v;
        return 0;
}

/* 127.0.0.0/8 written as four decimal octets, localhost, or [::1] */
static bool is_loopback_host(const char *h)
{
        unsigned octet[4] = { 0 };
        size_t k = 0, digits = 0;

        if (strcmp(h, "localhost") == 0 || strcmp(h, "[::1]") == 0)
                return true;
        for (const char *p = h;; p++) {
                if (*p == '.' || *p == '\0') {
                        if (digits == 0 || k >= 4)
                                return false;
                        k++;
                        digits = 0;
                        if (*p == '\0')
                                break;
                        continue;
                }
                if (k >= 4 || !is_digit(*p) || ++digits > 3)
                        return false;
                octet[k] = octet[k] * 10 + (unsigned)(*p - '0');
                if (octet[k] > 255)
                        return false;
        }
        return k == 4 && octet[0] == 127;
}

static int parse_local(struct url *out, const char *path, enum url_scheme scheme,
                       struct err *err)
{
        if (path[0] != '/')
                return err_set(err, 0, "repository path must be absolute");
        if (scheme == URL_FILE && strchr(path, '%') != NULL)
                return err_set(err, 0, "repository URL: percent escapes are not allowed in file:// URLs");
        out->scheme = scheme;
        out->host = NULL;
        out->port = 0;
        out->path = xstrdup(path);
        out->url = scheme == URL_FILE ? xasprintf("file://%s", path) : xstrdup(path);
        return 0;
}

static int parse_network(struct url *out, const struct scheme_rule *rule,
                         const char *rest, unsigned flags, struct err *err)
{
        size_t alen = strcspn(rest, "/?#");
        const char *host = rest, *colon;
        size_t hlen;
        uint16_t port = rule->default_port;
        _cleanup_free_ char *lhost = NULL;
        const char *path = rest + alen;
        int r;

        if (memchr(rest, '@', alen) != NULL)
                return err_set(err, 0, "repository URL: credentials in the URL are not allowed "
                               "(they come from the configured token)");
        if (alen > 0 && host[0] == '[') {
                const char *close = memchr(host, ']', alen);

                if (close == NULL)
                        return err_set(err, 0, "repository URL: malformed IPv6 address");
                hlen = (size_t)(close - host) + 1;
                r = check_ipv6(host, hlen, err);
                if (r < 0)
                        return r;
                colon = hlen < alen ? host + hlen : NULL;
                if (colon != NULL && *colon != ':')
                        return err_set(err, 0, "repository URL: malformed IPv6 address");
        } else {
                colon = memchr(host, ':', alen);
                hlen = colon != NULL ? (size_t)(colon - host) : alen;
                r = check_reg_name(host, hlen, err);
                if (r < 0)
                        return r;
        }
        if (colon != NULL) {
                r = parse_port(colon + 1, alen - (size_t)(colon + 1 - host), &port, err);
                if (r < 0)
                        return r;
        }
        lhost = xstrndup(host, hlen);
        for (char *p = lhost; *p != '\0'; p++)
                *p = to_lower(*p);

        if (*path == '\0' && !(flags & URL_ALLOW_EMPTY_PATH))
                return err_set(err, 0, "repository URL has no path");
        r = check_url_path(path, err);
        if (r < 0)
                return r;
        if (rule->scheme == URL_HTTP && !is_loopback_host(lhost))
                return err_set(err, 0, "repository URL: http:// is allowed only to a loopback "
                               "host (tests); use https://");

        out->scheme = rule->scheme;
        out->port = port;
        out->path = xstrdup(path);
        if (port == rule->default_port)
                out->url = xasprintf("%s://%s%s", rule->name, lhost, path);
        else
                out->url = xasprintf("%s://%s:%u%s", rule->name, lhost, (unsigned)port, path);
        out->host = TAKE_PTR(lhost);
        return 0;
}

static int parse_any(struct url *out, const char *s, unsigned flags, struct err *err)
{
        const char *sep, *slash, *helper;
        size_t slen;
        int r;

        if (s == NULL || s[0] == '\0')
                return err_set(err, 0, "repository URL is empty");
        if (strnlen(s, URL_MAX_LEN + 1) > URL_MAX_LEN)
                return err_set(err, 0, "repository URL longer than %d bytes", URL_MAX_LEN);
        r = check_bytes(s, err);
        if (r < 0)
                return r;
        if (s[0] == '-')
                return err_set(err, 0, "repository URL starts with '-' (looks like an option)");

        /* git's "<transport>::<address>" runs a remote helper (ext:: runs
         * any command); an IPv6 "[::1]" only appears after the "//" */
        helper = strstr(s, "::");
        slash = strchr(s, '/');
        if (helper != NULL && (slash == NULL || helper < slash))
                return err_set(err, 0, "repository URL uses a transport helper (\"X::\"); "
                               "only https is allowed");

        sep = strstr(s, "://");
        slen = sep != NULL ? (size_t)(sep - s) : 0;
        for (size_t i = 0; sep != NULL && i < slen; i++)
                if (!is_alpha(s[i]) && !is_digit(s[i]) && !strchr("+.-", s[i]))
                        sep = NULL;
        if (sep != NULL && slen > 0) {
                const struct scheme_rule *rule = NULL;

                for (size_t i = 0; i < ARRAY_SIZE(scheme_rules); i++)
                        if (strlen(scheme_rules[i].name) == slen &&
                            strncasecmp(s, scheme_rules[i].name, slen) == 0)
                                rule = &scheme_rules[i];
                if (rule == NULL)
                        return err_set(err, 0, "repository URL scheme \"%.*s\" is not allowed; "
                                       "only https is", (int)(slen > 32 ? 32 : slen), s);
                if (rule->needs != 0 && !(flags & rule->needs))
                        return err_set(err, 0, "repository URL scheme \"%s\" is not allowed here; "
                                       "only https is", rule->name);
                if (rule->scheme == URL_FILE) {
                        const char *p = sep + 3;

                        if (strncasecmp(p, "localhost/", 10) == 0)
                                p += 9;
                        if (p[0] != '/')
                                return err_set(err, 0, "file:// URL must name a local absolute path");
                        return parse_local(out, p, URL_FILE, err);
                }
                return parse_network(out, rule, sep + 3, flags, err);
        }

        if (s[0] == '/') {
                if (!(flags & URL_ALLOW_LOCAL))
                        return err_set(err, 0, "local repository paths are not allowed here; "
                                       "only https is");
                return parse_local(out, s, URL_LOCAL_PATH, err);
        }
        if (strchr(s, ':') != NULL)
                return err_set(err, 0, "repository URL looks like ssh \"host:path\" syntax; "
                               "only https is allowed");
        return err_set(err, 0, "repository is a relative path; give an absolute path or a URL");
}

int url_parse(struct url *out, const char *s, unsigned flags, struct err *err)
{
        struct url u = URL_INIT;
        int r = parse_any(&u, s, flags, err);

        if (r < 0) {
                url_free(&u);
                *out = (struct url)URL_INIT;
                return r;
        }
        *out = u;
        return 0;
}

void url_free(struct url *u)
{
        if (u == NULL)
                return;
        free(u->host);
        free(u->path);
        free(u->url);
        *u = (struct url)URL_INIT;
}

bool url_same_host(const struct url *a, const struct url *b)
{
        if (a->host == NULL || b->host == NULL)
                return false;
        return a->port == b->port && strcmp(a->host, b->host) == 0;
}

int url_require_host(const struct url *repo, const char *forge_url, struct err *err)
{
        _cleanup_(url_freep) struct url forge = URL_INIT;
        int r;

        r = url_parse(&forge, forge_url, URL_ALLOW_EMPTY_PATH | URL_ALLOW_HTTP_LOOPBACK, err);
        if (r < 0)
                return err_wrap(err, "forge URL");
        if (repo->host == NULL)
                return err_set(err, 0, "repository is local, but the job's forge is %s", forge.host);
        if (!url_same_host(repo, &forge))
                return err_set(err, 0, "repository host %s:%u is not the forge host %s:%u",
                               repo->host, (unsigned)repo->port, forge.host, (unsigned)forge.port);
        return 0;
}

char *url_redact(const char *s)
{
        struct buf b = BUF_INIT(SIZE_MAX / 2);
        const char *auth, *end, *at, *q;
        size_t n;

        if (s == NULL)
                return xstrdup("");
        n = strlen(s);
        auth = strstr(s, "://");
        auth = auth != NULL ? auth + 3 : s;
        end = auth + strcspn(auth, "/?#");
        at = NULL;
        for (const char *p = auth; p < end; p++)
                if (*p == '@')
                        at = p;
        q = end + strcspn(end, "?#");

        buf_append(&b, s, (size_t)(auth - s), NULL);
        if (at != NULL) {
                buf_puts(&b, "***", NULL);
                auth = at;
        }
        buf_append(&b, auth, (size_t)(q - auth), NULL);
        if (q < s + n)
                buf_puts(&b, "?***", NULL);
        /* what goes to a log is printable ASCII */
        for (size_t i = 0; i < b.len; i++) {
                unsigned char c = (unsigned char)b.data[i];

                if (c < 0x20 || c >= 0x7f)
                        b.data[i] = '?';
        }
        return buf_steal(&b, NULL);
}
