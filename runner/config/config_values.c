/* config_values.c - validators for single configuration values: URLs,
 * listen addresses, repository names, provider addresses, version
 * constraints.  Each is a pure function of one string so it can be tested
 * on its own and reused by the schema table in config.c. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "../util/cleanup.h"
#include "../util/xalloc.h"
#include "config_int.h"

static bool all_chars(const char *s, size_t n, const char *extra)
{
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)s[i];

                if (!isalnum(ch) && (ch == '\0' || strchr(extra, ch) == NULL))
                        return false;
        }
        return true;
}

/* "1".."65535", whole string of n bytes */
static bool port_ok(const char *s, size_t n)
{
        unsigned long v = 0;

        if (n == 0 || n > 5)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (unsigned long)(s[i] - '0');
        }
        return v >= 1 && v <= 65535;
}

struct hostport {
        char host[256];          /* without brackets */
        bool v6;                 /* was [..] */
};

/* Split "host[:port]" / "[v6][:port]" of n bytes; need_port demands a port.
 * NULL on success, else what is wrong. */
static const char *split_hostport(struct hostport *hp, const char *s, size_t n, bool need_port)
{
        const char *host = s, *rest;
        size_t hlen;

        hp->v6 = false;
        if (n > 0 && s[0] == '[') {
                const char *close = memchr(s, ']', n);

                if (close == NULL)
                        return "has an unclosed [ in its host";
                host = s + 1;
                hlen = (size_t)(close - host);
                rest = close + 1;
                hp->v6 = true;
        } else {
                const char *colon = memchr(s, ':', n);

                hlen = colon ? (size_t)(colon - s) : n;
                rest = s + hlen;
        }
        if (hlen == 0)
                return "has no host";
        if (hlen >= sizeof(hp->host))
                return "has a host name that is too long";
        memcpy(hp->host, host, hlen);
        hp->host[hlen] = '\0';
        if (hp->v6) {
                struct in6_addr a6;

                if (inet_pton(AF_INET6, hp->host, &a6) != 1)
                        return "has a malformed IPv6 address";
        } else if (!all_chars(hp->host, hlen, ".-_")) {
                return "has a host name with characters other than letters, digits, '.', '-' and '_'";
        }
        if (rest == s + n) {
                if (need_port)
                        return "needs a port (HOST:PORT)";
                return NULL;
        }
        if (*rest != ':' || !port_ok(rest + 1, (size_t)(s + n - rest - 1)))
                return "has a port that is not a number from 1 to 65535";
        return NULL;
}

static bool host_is_loopback(const struct hostport *hp)
{
        struct in_addr a4;

        if (hp->v6)
                return strcmp(hp->host, "::1") == 0 ||
                       strcmp(hp->host, "0:0:0:0:0:0:0:1") == 0;
        if (strcasecmp(hp->host, "localhost") == 0)
                return true;
        return inet_pton(AF_INET, hp->host, &a4) == 1 &&
               (ntohl(a4.s_addr) >> 24) == 127;
}

static bool has_space_or_control(const char *s)
{
        for (; *s != '\0'; s++)
                if ((unsigned char)*s <= 0x20 || *s == 0x7f)
                        return true;
        return false;
}

/* check an http(s) URL; *https tells which scheme it was */
static const char *check_url(const char *s, bool *https, struct hostport *hp)
{
        const char *auth;
        size_t alen;
        const char *why;

        if (strncasecmp(s, "https://", 8) == 0) {
                *https = true;
                auth = s + 8;
        } else if (strncasecmp(s, "http://", 7) == 0) {
                *https = false;
                auth = s + 7;
        } else {
                return "expected an https:// URL";
        }
        if (has_space_or_control(s))
                return "a URL must not contain spaces or control characters";
        if (strpbrk(auth, "?#") != NULL)
                return "a URL here must not have a query (?) or fragment (#)";
        alen = strcspn(auth, "/");
        if (memchr(auth, '@', alen) != NULL)
                return "a URL must not carry a user name or password: use token_file";
        why = split_hostport(hp, auth, alen, false);
        if (why != NULL)
                return why;
        return NULL;
}

const char *cfgv_forge_url(const char *s)
{
        struct hostport hp;
        bool https;
        const char *why = check_url(s, &https, &hp);

        if (why != NULL)
                return why;
        if (!https && !host_is_loopback(&hp))
                return "expected an https:// URL (http:// only for 127.0.0.0/8, ::1 and localhost)";
        return NULL;
}

const char *cfgv_public_url(const char *s)
{
        struct hostport hp;
        bool https;
        const char *why = check_url(s, &https, &hp);

        if (why != NULL && strcmp(why, "expected an https:// URL") == 0)
                return "expected an http:// or https:// URL";
        return why;
}

const char *cfgv_listen(const char *s)
{
        struct hostport hp;

        if (has_space_or_control(s))
                return "expected HOST:PORT like 127.0.0.1:8080";
        return split_hostport(&hp, s, strlen(s), true);
}

/* a GitHub owner or repository name */
static bool gh_name_ok(const char *s, size_t n)
{
        if (n == 0 || n > 100)
                return false;
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
                return false;
        return all_chars(s, n, "._-");
}

const char *cfgv_repository(const char *s)
{
        const char *slash = strchr(s, '/');

        if (slash == NULL || !gh_name_ok(s, (size_t)(slash - s)) ||
            !gh_name_ok(slash + 1, strlen(slash + 1)))
                return "expected owner/name (letters, digits, '.', '-', '_')";
        return NULL;
}

const char *cfgv_identifier(const char *s)
{
        if (s[0] == '\0' || isdigit((unsigned char)s[0]) || !all_chars(s, strlen(s), "_"))
                return "expected a name of letters, digits and '_' not starting with a digit";
        return NULL;
}

const char *cfgv_rel_path(const char *s)
{
        const char *p = s;

        if (s[0] == '\0')
                return "expected a relative path, got an empty one";
        if (s[0] == '/')
                return "expected a path relative to the repository root";
        while (*p != '\0') {
                size_t n = strcspn(p, "/");

                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return "a path must stay inside the repository (no \"..\")";
                p += n;
                if (*p == '/')
                        p++;
        }
        for (p = s; *p != '\0'; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        return "a path must not contain control characters";
        return NULL;
}

const char *cfgv_forge_name(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 64)
                return "expected 1 to 64 characters";
        for (size_t i = 0; i < n; i++)
                if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
                    s[i] != '-' && s[i] != '_')
                        return "expected lowercase letters, digits, '-' and '_'";
        return NULL;
}

const char *cfgv_health(const char *s)
{
        if (strcmp(s, "tcp") == 0)
                return NULL;
        if (s[0] != '/' || has_space_or_control(s))
                return "expected an HTTP path like /_localstack/health, or tcp";
        return NULL;
}

/* "1", "1.2", "1.2.3", optionally "-pre.release" and "+metadata" (the
 * syntax runner/providers/constraint.h parses) */
static bool version_ok(const char *s, size_t n)
{
        size_t i = 0, parts = 0;

        while (parts < 3) {
                size_t start = i;

                while (i < n && isdigit((unsigned char)s[i]))
                        i++;
                if (i == start)
                        return false;
                parts++;
                if (i < n && s[i] == '.' && parts < 3) {
                        i++;
                        continue;
                }
                break;
        }
        if (i < n && s[i] == '-') {
                size_t start = ++i;

                while (i < n && s[i] != '+')
                        i++;
                if (i == start || !all_chars(s + start, i - start, ".-"))
                        return false;
        }
        if (i < n && s[i] == '+') {
                i++;
                if (i == n || !all_chars(s + i, n - i, ".-"))
                        return false;
                i = n;
        }
        return i == n;
}

const char *cfgv_versions(const char *s)
{
        static const char *const ops[] = { ">=", "<=", "!=", "~>", "=", ">", "<" };
        const char *p = s;

        for (;;) {
                size_t n = strcspn(p, ",");
                const char *part = p, *end = p + n;

                while (part < end && *part == ' ')
                        part++;
                for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
                        size_t ol = strlen(ops[i]);

                        if ((size_t)(end - part) >= ol && memcmp(part, ops[i], ol) == 0) {
                                part += ol;
                                break;
                        }
                }
                while (part < end && *part == ' ')
                        part++;
                while (end > part && end[-1] == ' ')
                        end--;
                if (!version_ok(part, (size_t)(end - part)))
                        return "expected version constraints like \"~> 5.0\" or \">= 1.2.0, < 2.0.0\"";
                if (p[n] == '\0')
                        return NULL;
                p += n + 1;
        }
}

/* a namespace or type: letters, digits, '-', not at either end */
static bool provider_part_ok(const char *s, size_t n)
{
        if (n == 0 || n > 64 || s[0] == '-' || s[n - 1] == '-')
                return false;
        return all_chars(s, n, "-");
}

char *cfgv_provider_source(const char *s, const char **why)
{
        const char *parts[4];
        size_t lens[4], n = 0;
        const char *p = s;
        _cleanup_free_ char *out = NULL;
        struct hostport hp;

        for (;;) {
                size_t len = strcspn(p, "/");

                if (n == ARRAY_SIZE(parts))
                        break;
                parts[n] = p;
                lens[n++] = len;
                if (p[len] == '\0')
                        break;
                p += len + 1;
        }
        *why = "expected NAMESPACE/TYPE or HOST/NAMESPACE/TYPE like hashicorp/aws";
        if (n < 2 || n > 3 || (n == 3 && parts[2][lens[2]] != '\0'))
                return NULL;
        if (n == 3) {
                if (split_hostport(&hp, parts[0], lens[0], false) != NULL || hp.v6) {
                        *why = "expected a registry host name like registry.terraform.io";
                        return NULL;
                }
                out = xasprintf("%.*s/%.*s/%.*s", (int)lens[0], parts[0], (int)lens[1],
                                parts[1], (int)lens[2], parts[2]);
        } else {
                out = xasprintf("registry.terraform.io/%.*s/%.*s", (int)lens[0], parts[0],
                                (int)lens[1], parts[1]);
        }
        if (!provider_part_ok(parts[n - 2], lens[n - 2]) || !provider_part_ok(parts[n - 1], lens[n - 1])) {
                *why = "namespace and type must be letters, digits and '-' (not at either end)";
                return NULL;
        }
        for (char *q = out; *q != '\0'; q++)
                *q = (char)tolower((unsigned char)*q);
        *why = NULL;
        return TAKE_PTR(out);
}

bool cfgv_env_is_secret(const char *name)
{
        static const char *const words[] = {
                "SECRET", "TOKEN", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL", "AUTH",
        };

        for (size_t i = 0; i < ARRAY_SIZE(words); i++)
                if (strcasestr(name, words[i]) != NULL)
                        return true;
        return false;
}
