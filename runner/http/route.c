/* route.c - mapping a request line to an endpoint.
 *
 * The path arrives still percent-encoded (the server installs a no-op
 * unescape callback), so an encoded slash in a badge's project or ref can
 * be told from a real one, and so that every segment is decoded exactly
 * once, here.  Anything that does not match a route exactly is 404:
 * execution ids are 32 lowercase hex digits, nothing else names a file. */
#include <ctype.h>
#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "http_int.h"
#include "runner/state/state.h"
#include "runner/util/cleanup.h"
#include "runner/util/randid.h"
#include "runner/util/xalloc.h"

static int hexval(int c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

char *http_decode_segment(const char *s, size_t n)
{
        _cleanup_free_ char *out = xmalloc(n + 1);
        size_t k = 0;

        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];

                if (c == '%') {
                        int hi, lo;

                        if (i + 2 >= n)
                                return NULL;
                        hi = hexval((unsigned char)s[i + 1]);
                        lo = hexval((unsigned char)s[i + 2]);
                        if (hi < 0 || lo < 0)
                                return NULL;
                        c = (unsigned char)(hi << 4 | lo);
                        i += 2;
                }
                if (c < 0x20 || c == 0x7f)
                        return NULL;
                out[k++] = (char)c;
        }
        out[k] = '\0';
        if (k == 0 || strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
                return NULL;
        return TAKE_PTR(out);
}

static bool ends_with(const char *s, size_t n, const char *suffix, size_t *stem)
{
        size_t k = strlen(suffix);

        if (n <= k || memcmp(s + n - k, suffix, k) != 0)
                return false;
        *stem = n - k;
        return true;
}

/* /badge/<forge>/<project...>/<ref>.svg|.json: the first segment is the
 * forge, the last the ref, the ones between (each decoded) are joined with
 * '/' into the project; so "acme/infra" may be written plain or as
 * acme%2Finfra, and a ref with slashes must be encoded (feature%2Fx) */
static void route_badge(struct http_route *out, const char *p)
{
        const char *segs[64];
        size_t lens[64], n = 0, stem;
        _cleanup_free_ char *forge = NULL, *ref = NULL;
        struct buf project = BUF_INIT(256);
        bool svg;

        while (*p != '\0') {
                size_t len = strcspn(p, "/");

                if (len == 0 || n == ARRAY_SIZE(segs))
                        goto out;
                segs[n] = p;
                lens[n++] = len;
                p += len;
                if (*p == '/')
                        p++;
                if (*p == '\0' && p[-1] == '/')
                        goto out; /* trailing slash */
        }
        if (n < 3)
                goto out;
        if (ends_with(segs[n - 1], lens[n - 1], ".svg", &stem))
                svg = true;
        else if (ends_with(segs[n - 1], lens[n - 1], ".json", &stem))
                svg = false;
        else
                goto out;
        forge = http_decode_segment(segs[0], lens[0]);
        ref = http_decode_segment(segs[n - 1], stem);
        if (forge == NULL || ref == NULL || !state_forge_name_valid(forge) || strlen(ref) > 1024)
                goto out;
        for (size_t i = 1; i + 1 < n; i++) {
                _cleanup_free_ char *part = http_decode_segment(segs[i], lens[i]);

                if (part == NULL)
                        goto out;
                if ((i > 1 && buf_putc(&project, '/', NULL) < 0) || buf_puts(&project, part, NULL) < 0)
                        goto out;
        }
        out->kind = svg ? HR_BADGE_SVG : HR_BADGE_JSON;
        out->forge = TAKE_PTR(forge);
        out->ref = TAKE_PTR(ref);
        out->project = buf_steal(&project, NULL);
out:
        buf_free(&project);
}

/* /results/<id>, /results/<id>/result.json, /results/<id>/result.dsse.json */
static void route_results(struct http_route *out, const char *p)
{
        static const char *const files[] = { "result.json", "result.dsse.json" };
        char id[33];

        if (strlen(p) < 32)
                return;
        memcpy(id, p, 32);
        id[32] = '\0';
        if (!randid_valid(id))
                return;
        p += 32;
        if (*p == '\0') {
                out->kind = HR_RESULT_PAGE;
        } else if (*p == '/') {
                for (size_t i = 0; i < ARRAY_SIZE(files); i++)
                        if (strcmp(p + 1, files[i]) == 0) {
                                out->kind = HR_RESULT_FILE;
                                out->file = files[i];
                        }
                if (out->kind != HR_RESULT_FILE)
                        return;
        } else {
                return;
        }
        memcpy(out->exec_id, id, sizeof(id));
}

struct fixed_route {
        const char *path;
        enum http_route_kind kind;
};

static const struct fixed_route fixed[] = {
        { "/healthz", HR_HEALTHZ },
        { "/metrics", HR_METRICS },
        { "/key.pub", HR_KEY_PUB },
        { "/hooks/github", HR_HOOK_GITHUB },
};

static bool method_ok(enum http_route_kind k, const char *method, const char **allow)
{
        if (k == HR_HOOK_GITHUB) {
                *allow = "POST";
                return strcmp(method, "POST") == 0;
        }
        *allow = "GET, HEAD";
        return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

void http_route(struct http_route *out, const char *method, const char *raw_path)
{
        memset(out, 0, sizeof(*out));
        out->kind = HR_NOT_FOUND;
        if (raw_path == NULL || method == NULL || strlen(raw_path) > HTTP_MAX_PATH)
                return;
        for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
                if (strcmp(raw_path, fixed[i].path) == 0)
                        out->kind = fixed[i].kind;
        if (out->kind == HR_NOT_FOUND && strncmp(raw_path, "/badge/", 7) == 0)
                route_badge(out, raw_path + 7);
        else if (out->kind == HR_NOT_FOUND && strncmp(raw_path, "/results/", 9) == 0)
                route_results(out, raw_path + 9);
        if (out->kind != HR_NOT_FOUND && !method_ok(out->kind, method, &out->allow)) {
                http_route_free(out);
                out->kind = HR_METHOD_NOT_ALLOWED;
        }
}

void http_route_free(struct http_route *r)
{
        free(r->forge);
        free(r->project);
        free(r->ref);
        r->forge = r->project = r->ref = NULL;
}

bool http_hook_signature_ok(const unsigned char *key, size_t key_len, const char *body,
                            size_t len, const char *header)
{
        unsigned char want[32], mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;

        if (header == NULL || strncmp(header, "sha256=", 7) != 0 || strlen(header) != 7 + 64)
                return false;
        for (size_t i = 0; i < 32; i++) {
                int hi = hexval((unsigned char)header[7 + 2 * i]);
                int lo = hexval((unsigned char)header[8 + 2 * i]);

                if (hi < 0 || lo < 0)
                        return false;
                want[i] = (unsigned char)(hi << 4 | lo);
        }
        if (key_len > INT_MAX ||
            HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)body, len, mac, &mac_len) == NULL ||
            mac_len != sizeof(want))
                return false;
        return CRYPTO_memcmp(mac, want, sizeof(want)) == 0;
}
