/* test_url.c - repository URL validation: a table of accepted and refused
 * URLs (TB1-T: ext::, file:// when not allowed, other hosts, userinfo,
 * option injection, control characters), host comparison and redaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "runner/fetch/url.h"
#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

#define L URL_ALLOW_LOCAL
#define H URL_ALLOW_HTTP_LOOPBACK
#define E URL_ALLOW_EMPTY_PATH

struct ok_case {
        const char *in;
        unsigned flags;
        const char *url;        /* canonical */
        const char *host;
        unsigned port;
};

static const struct ok_case ok_cases[] = {
        { "https://gitlab.example.com/group/proj.git", 0,
          "https://gitlab.example.com/group/proj.git", "gitlab.example.com", 443 },
        { "HTTPS://GitLab.Example.COM/g/p.git", 0,
          "https://gitlab.example.com/g/p.git", "gitlab.example.com", 443 },
        { "https://gitlab.example.com:443/g/p", 0,
          "https://gitlab.example.com/g/p", "gitlab.example.com", 443 },
        { "https://git.example.com:8443/g/p", 0,
          "https://git.example.com:8443/g/p", "git.example.com", 8443 },
        { "https://[2001:db8::1]/g/p", 0, "https://[2001:db8::1]/g/p", "[2001:db8::1]", 443 },
        { "https://github.com/o/r%20x.git", 0, "https://github.com/o/r%20x.git", "github.com", 443 },
        { "https://gitlab.example.com", E, "https://gitlab.example.com", "gitlab.example.com", 443 },
        { "http://127.0.0.1:8080/r.git", H, "http://127.0.0.1:8080/r.git", "127.0.0.1", 8080 },
        { "http://localhost/r.git", H, "http://localhost/r.git", "localhost", 80 },
        { "http://[::1]:9/r.git", H, "http://[::1]:9/r.git", "[::1]", 9 },
        { "file:///srv/repo.git", L, "file:///srv/repo.git", NULL, 0 },
        { "file://localhost/srv/repo", L, "file:///srv/repo", NULL, 0 },
        { "/srv/repo", L, "/srv/repo", NULL, 0 },
        { "/srv/a:b", L, "/srv/a:b", NULL, 0 },
};

struct bad_case {
        const char *in;
        unsigned flags;
        const char *why;        /* a substring of the error */
};

static const struct bad_case bad_cases[] = {
        { "", L | H, "empty" },
        { "ext::sh -c touch% /tmp/pwned", L | H, "space" },
        { "ext::sh", L | H, "transport helper" },
        { "fd::3", L | H, "transport helper" },
        { "https::https://example.com/x", L | H, "transport helper" },
        { "ssh://git@example.com/x.git", L | H, "scheme \"ssh\"" },
        { "git://example.com/x.git", L | H, "scheme \"git\"" },
        { "git+ssh://example.com/x.git", L | H, "scheme \"git+ssh\"" },
        { "ftp://example.com/x.git", L | H, "scheme \"ftp\"" },
        { "git@github.com:o/r.git", L | H, "ssh \"host:path\"" },
        { "example.com:o/r.git", L | H, "ssh \"host:path\"" },
        { "file:///srv/repo", 0, "not allowed here" },
        { "/srv/repo", 0, "not allowed here" },
        { "file://otherhost/srv/repo", L, "local absolute path" },
        { "file:///srv/%2e%2e/x", L, "percent" },
        { "relative/repo", L, "relative path" },
        { "http://gitlab.example.com/g/p", 0, "not allowed here" },
        { "http://gitlab.example.com/g/p", H, "loopback" },
        { "http://127.0.0.1.evil.com/g/p", H, "loopback" },
        { "http://10.0.0.1/g/p", H, "loopback" },
        { "https://user:token@gitlab.example.com/g/p", 0, "credentials" },
        { "https://token@gitlab.example.com/g/p", 0, "credentials" },
        { "https://gitlab.example.com@evil.com/g/p", 0, "credentials" },
        { "-uhttps://x/y", L | H, "starts with '-'" },
        { "--upload-pack=touch /tmp/x", L | H, "space" },
        { "--upload-pack=id", L | H, "starts with '-'" },
        { "https://gitlab.example.com/g/p\n", 0, "control character" },
        { "https://gitlab.example.com/g\r/p", 0, "control character" },
        { "https://gitlab.example.com/g\x7f", 0, "control character" },
        { "https://gitlab.example.com/g/p?private_token=x", 0, "query" },
        { "https://gitlab.example.com/g/p#frag", 0, "query" },
        { "https://gitlab.example.com/g p", 0, "space" },
        { "https://gitlab.example.com\\@evil.com/", 0, "backslash" },
        { "https://g\xc3\xa9t.example.com/x", 0, "non-ASCII" },
        { "https://gitlab.example.com/%0a", 0, "percent escape of a control" },
        { "https://gitlab.example.com/%zz", 0, "bad percent" },
        { "https://gitlab.example.com", 0, "no path" },
        { "https://gitlab.example.com:0/x", 0, "out of range" },
        { "https://gitlab.example.com:65536/x", 0, "out of range" },
        { "https://gitlab.example.com:/x", 0, "malformed port" },
        { "https://gitlab.example.com:99999999999999/x", 0, "malformed port" },
        { "https://gitlab.example.com./x", 0, "malformed host" },
        { "https://-gitlab.example.com/x", 0, "malformed host" },
        { "https://gitlab..example.com/x", 0, "malformed host" },
        { "https:///x", 0, "empty host" },
        { "https://[::1/x", 0, "IPv6" },
        { "https://[::1]x/x", 0, "IPv6" },
        { "https://exa_mple.com/x", 0, "not allowed in host" },
        { "https://example.com/<script>", 0, "not allowed in path" },
};

static void test_accepts(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(ok_cases); i++) {
                const struct ok_case *c = &ok_cases[i];
                struct url u = URL_INIT;
                struct err err = ERR_INIT;

                if (url_parse(&u, c->in, c->flags, &err) != 0)
                        fail_msg("refused %s: %s", c->in, err.msg);
                assert_string_equal(u.url, c->url);
                if (c->host == NULL)
                        assert_null(u.host);
                else
                        assert_string_equal(u.host, c->host);
                assert_int_equal(u.port, c->port);
                url_free(&u);
        }
}

static void test_refuses(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
                const struct bad_case *c = &bad_cases[i];
                struct url u = URL_INIT;
                struct err err = ERR_INIT;

                if (url_parse(&u, c->in, c->flags, &err) == 0)
                        fail_msg("accepted %s as %s", c->in, u.url);
                assert_true(err.code < 0);
                if (strstr(err.msg, c->why) == NULL)
                        fail_msg("%s: error \"%s\" does not mention \"%s\"", c->in, err.msg, c->why);
                /* the refused URL may carry a token: never echoed back */
                assert_null(strstr(err.msg, "token@"));
                assert_null(u.url);
        }
}

static void test_overlong(void **state)
{
        _cleanup_free_ char *s = xmalloc(URL_MAX_LEN + 2);
        struct url u = URL_INIT;
        struct err err = ERR_INIT;
        size_t pre = strlen("https://h.example/");

        memcpy(s, "https://h.example/", pre);
        memset(s + pre, 'a', URL_MAX_LEN - pre);
        s[URL_MAX_LEN] = '\0';
        assert_int_equal(url_parse(&u, s, 0, &err), 0);
        url_free(&u);
        s[URL_MAX_LEN] = 'a';
        s[URL_MAX_LEN + 1] = '\0';
        assert_true(url_parse(&u, s, 0, &err) < 0);
        assert_non_null(strstr(err.msg, "longer than"));
}

static void test_same_host(void **state)
{
        static const struct {
                const char *repo, *forge;
                bool same;
        } cases[] = {
                { "https://gitlab.example.com/g/p", "https://gitlab.example.com", true },
                { "https://GITLAB.example.com:443/g/p", "https://gitlab.example.com/", true },
                { "https://gitlab.example.com:8443/g/p", "https://gitlab.example.com", false },
                { "https://gitlab.example.com.evil.com/g/p", "https://gitlab.example.com", false },
                { "https://evil.com/gitlab.example.com/p", "https://gitlab.example.com", false },
                { "https://github.com/o/r", "https://gitlab.example.com", false },
                { "http://127.0.0.1:9000/r", "http://127.0.0.1:9000", true },
                { "http://127.0.0.1:9000/r", "http://127.0.0.1:9001", false },
                { "/srv/repo", "https://gitlab.example.com", false },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_(url_freep) struct url u = URL_INIT;
                struct err err = ERR_INIT;
                int r;

                assert_int_equal(url_parse(&u, cases[i].repo, L | H, &err), 0);
                r = url_require_host(&u, cases[i].forge, &err);
                if ((r == 0) != cases[i].same)
                        fail_msg("%s vs %s: got %d (%s)", cases[i].repo, cases[i].forge, r, err.msg);
        }
}

static void test_redact(void **state)
{
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "https://user:s3cret@gitlab.example.com/g/p.git",
                  "https://***@gitlab.example.com/g/p.git" },
                { "https://x-access-token:ghs_abc@github.com/o/r",
                  "https://***@github.com/o/r" },
                { "https://a@b@host/p", "https://***@host/p" },
                { "https://host/p?private_token=abc#x", "https://host/p?***" },
                { "https://host/p", "https://host/p" },
                { "git@github.com:o/r.git", "***@github.com:o/r.git" },
                { "/srv/repo", "/srv/repo" },
                { "https://host/p\x1b[31m", "https://host/p?[31m" },
                { "", "" },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_free_ char *r = url_redact(cases[i].in);

                assert_string_equal(r, cases[i].out);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_accepts),
                cmocka_unit_test(test_refuses),
                cmocka_unit_test(test_overlong),
                cmocka_unit_test(test_same_host),
                cmocka_unit_test(test_redact),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
