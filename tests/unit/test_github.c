/* test_github.c - plugin-github's pure parts: the App JWT (claims and an
 * RS256 signature checked with OpenSSL's verifier), webhook HMAC, Link and
 * rate-limit headers, the shard function, the pull request parser, Markdown
 * escaping, the 65,535-byte cut, annotation batches and status bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ctype.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin-github/github.h"
#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

static char tmpdir[] = "/tmp/test_github.XXXXXX";

static int setup(void **state)
{
        (void)state;
        return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
        static const char *const names[] = { "key.pem", "small.pem", "ec.pem" };

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", tmpdir, names[i]);

                unlink(p);
        }
        return rmdir(tmpdir);
}

/* ---- JWT ---- */

static char *write_key(EVP_PKEY *k, const char *name, mode_t mode)
{
        char *path = xasprintf("%s/%s", tmpdir, name);
        FILE *f;

        unlink(path);
        f = fopen(path, "w");
        assert_non_null(f);
        assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
        fclose(f);
        chmod(path, mode);
        return path;
}

static unsigned char *b64url_decode(const char *s, size_t n, size_t *outlen)
{
        unsigned char *out = xmalloc(n + 1);
        uint32_t acc = 0;
        int bits = 0;
        size_t k = 0;

        for (size_t i = 0; i < n; i++) {
                const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                const char *p = strchr(tab, s[i]);

                assert_non_null(p);
                assert_true(s[i] != '\0');
                acc = acc << 6 | (uint32_t)(p - tab);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[k++] = (unsigned char)(acc >> bits);
                }
        }
        out[k] = 0;
        *outlen = k;
        return out;
}

static void test_jwt(void **state)
{
        EVP_PKEY *gen = EVP_RSA_gen(2048), *key = NULL;
        _cleanup_free_ char *path = NULL, *jwt = NULL;
        _cleanup_free_ unsigned char *hdr = NULL, *claims = NULL, *sig = NULL;
        const time_t now = 1700000000;
        const char *dot1, *dot2;
        size_t hl, cl, sl;
        json_t *h, *c;
        EVP_MD_CTX *md;

        (void)state;
        assert_non_null(gen);
        path = write_key(gen, "key.pem", 0600);
        assert_int_equal(github_key_load(&key, path, NULL), 0);
        assert_int_equal(github_jwt_make(&jwt, key, 4242, now, NULL), 0);

        dot1 = strchr(jwt, '.');
        assert_non_null(dot1);
        dot2 = strchr(dot1 + 1, '.');
        assert_non_null(dot2);
        assert_null(strchr(dot2 + 1, '.'));
        assert_null(strchr(jwt, '='));  /* no padding */
        hdr = b64url_decode(jwt, (size_t)(dot1 - jwt), &hl);
        claims = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &cl);
        sig = b64url_decode(dot2 + 1, strlen(dot2 + 1), &sl);
        h = json_loadb((char *)hdr, hl, 0, NULL);
        c = json_loadb((char *)claims, cl, 0, NULL);
        assert_non_null(h);
        assert_non_null(c);
        assert_string_equal(json_string_value(json_object_get(h, "alg")), "RS256");
        assert_string_equal(json_string_value(json_object_get(h, "typ")), "JWT");
        assert_int_equal(json_integer_value(json_object_get(c, "iat")), now - 60);
        assert_int_equal(json_integer_value(json_object_get(c, "exp")), now + 540);
        /* GitHub: exp at most 10 minutes in the future */
        assert_true(json_integer_value(json_object_get(c, "exp")) - now < 600);
        assert_int_equal(json_integer_value(json_object_get(c, "iss")), 4242);
        assert_int_equal(sl, 256);

        /* the signature verifies with the public key over "header.claims" ... */
        md = EVP_MD_CTX_new();
        assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, gen), 1);
        assert_int_equal(EVP_DigestVerify(md, sig, sl, (unsigned char *)jwt, (size_t)(dot2 - jwt)), 1);
        EVP_MD_CTX_free(md);
        /* ... and not over anything else */
        sig[10] ^= 1;
        md = EVP_MD_CTX_new();
        assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, gen), 1);
        assert_int_not_equal(EVP_DigestVerify(md, sig, sl, (unsigned char *)jwt, (size_t)(dot2 - jwt)), 1);
        EVP_MD_CTX_free(md);

        free(jwt);
        jwt = NULL;
        assert_true(github_jwt_make(&jwt, key, 0, now, NULL) < 0);
        assert_null(jwt);
        json_decref(h);
        json_decref(c);
        EVP_PKEY_free(key);
        EVP_PKEY_free(gen);
}

static void test_key_refused(void **state)
{
        EVP_PKEY *small = EVP_RSA_gen(1024), *ec = EVP_EC_gen("P-256"), *big = EVP_RSA_gen(2048);
        _cleanup_free_ char *p1 = NULL, *p2 = NULL, *p3 = NULL;
        EVP_PKEY *k = NULL;
        struct err e = ERR_INIT;

        (void)state;
        p1 = write_key(small, "small.pem", 0600);
        p2 = write_key(ec, "ec.pem", 0600);
        p3 = write_key(big, "key.pem", 0640);
        assert_true(github_key_load(&k, p1, &e) < 0);
        assert_non_null(strstr(e.msg, "bits"));
        assert_true(github_key_load(&k, p2, &e) < 0);
        assert_non_null(strstr(e.msg, "RSA"));
        /* readable by the group: a secret file must be private */
        assert_true(github_key_load(&k, p3, &e) < 0);
        assert_null(k);
        EVP_PKEY_free(small);
        EVP_PKEY_free(ec);
        EVP_PKEY_free(big);
}

/* ---- webhooks ---- */

static void test_webhook_verify(void **state)
{
        const char *secret = "It's a Secret to Everybody";
        const char *body = "Hello, World!";
        const char *good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

        (void)state;
        assert_int_equal(github_webhook_verify(secret, body, strlen(body), good, NULL), 0);
        /* one digit off, body changed, secret changed */
        assert_true(github_webhook_verify(secret, body, strlen(body),
                    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18", NULL) < 0);
        assert_true(github_webhook_verify(secret, "Hello, World?", 13, good, NULL) < 0);
        assert_true(github_webhook_verify("other", body, strlen(body), good, NULL) < 0);
        /* missing, wrong prefix, sha1, truncated, uppercase, trailing junk, no secret */
        assert_true(github_webhook_verify(secret, body, strlen(body), NULL, NULL) < 0);
        assert_true(github_webhook_verify(secret, body, strlen(body), good + 7, NULL) < 0);
        assert_true(github_webhook_verify(secret, body, strlen(body),
                    "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", NULL) < 0);
        assert_true(github_webhook_verify(secret, body, strlen(body), "sha256=757107ea", NULL) < 0);
        assert_true(github_webhook_verify(secret, body, strlen(body),
                    "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17", NULL) < 0);
        assert_true(github_webhook_verify(secret, body, strlen(body),
                    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1700", NULL) < 0);
        assert_true(github_webhook_verify("", body, strlen(body), good, NULL) < 0);
        assert_true(github_webhook_verify(secret, body, strlen(body), "", NULL) < 0);
}

static void test_webhook_parse(void **state)
{
        static const char sha[] = "0123456789abcdef0123456789abcdef01234567";
        struct github_hint h;
        char body[1024];

        (void)state;
        snprintf(body, sizeof(body), "{\"action\":\"synchronize\",\"repository\":{\"full_name\":\"o/r\"}}");
        assert_int_equal(github_webhook_parse(&h, "pull_request", body, strlen(body), NULL), 0);
        assert_int_equal(h.kind, GITHUB_HINT_SCAN);
        assert_string_equal(h.repo, "o/r");
        snprintf(body, sizeof(body), "{\"action\":\"closed\",\"repository\":{\"full_name\":\"o/r\"}}");
        assert_int_equal(github_webhook_parse(&h, "pull_request", body, strlen(body), NULL), 0);
        assert_int_equal(h.kind, GITHUB_HINT_NONE);
        snprintf(body, sizeof(body), "{\"action\":\"rerequested\",\"check_suite\":{\"head_sha\":\"%s\"},"
                 "\"repository\":{\"full_name\":\"o/r\"}}", sha);
        assert_int_equal(github_webhook_parse(&h, "check_suite", body, strlen(body), NULL), 0);
        assert_int_equal(h.kind, GITHUB_HINT_RERUN);
        assert_string_equal(h.sha, sha);
        snprintf(body, sizeof(body), "{\"action\":\"rerequested\",\"check_run\":{\"name\":\"tfgate\","
                 "\"head_sha\":\"%s\"},\"repository\":{\"full_name\":\"o/r\"}}", sha);
        assert_int_equal(github_webhook_parse(&h, "check_run", body, strlen(body), NULL), 0);
        assert_int_equal(h.kind, GITHUB_HINT_RERUN);
        snprintf(body, sizeof(body), "{\"action\":\"rerequested\",\"check_run\":{\"name\":\"other\","
                 "\"head_sha\":\"%s\"},\"repository\":{\"full_name\":\"o/r\"}}", sha);
        assert_int_equal(github_webhook_parse(&h, "check_run", body, strlen(body), NULL), 0);
        assert_int_equal(h.kind, GITHUB_HINT_NONE);
        /* hostile: bad sha, control character in the name, not JSON */
        snprintf(body, sizeof(body), "{\"action\":\"rerequested\",\"check_suite\":{\"head_sha\":\"$(id)\"},"
                 "\"repository\":{\"full_name\":\"o/r\"}}");
        assert_true(github_webhook_parse(&h, "check_suite", body, strlen(body), NULL) < 0);
        snprintf(body, sizeof(body), "{\"action\":\"opened\",\"repository\":{\"full_name\":\"o/r\\n\"}}");
        assert_true(github_webhook_parse(&h, "pull_request", body, strlen(body), NULL) < 0);
        assert_true(github_webhook_parse(&h, "pull_request", "[1]", 3, NULL) < 0);
}

/* ---- headers ---- */

static void test_link(void **state)
{
        char *next = NULL;

        (void)state;
        assert_int_equal(github_link_next(&next,
                "<https://api.github.com/repositories/1/pulls?page=2>; rel=\"next\", "
                "<https://api.github.com/repositories/1/pulls?page=3>; rel=\"last\"", NULL), 0);
        assert_string_equal(next, "https://api.github.com/repositories/1/pulls?page=2");
        free(next);
        assert_int_equal(github_link_next(&next,
                "<https://x/a?page=1>; rel=\"prev\", <https://x/a?page=3>; rel=\"next\"", NULL), 0);
        assert_string_equal(next, "https://x/a?page=3");
        free(next);
        assert_int_equal(github_link_next(&next,
                "<https://x/a?page=1>; rel=\"first\", <https://x/a?page=2>; rel=\"prev\"", NULL), 0);
        assert_null(next);
        assert_int_equal(github_link_next(&next, NULL, NULL), 0);
        assert_null(next);
        assert_true(github_link_next(&next, "https://x/a; rel=\"next\"", NULL) < 0);
        assert_true(github_link_next(&next, "<https://x/a; rel=\"next\"", NULL) < 0);
        assert_true(github_link_next(&next, "<https://x/a b>; rel=\"next\"", NULL) < 0);
        assert_true(github_link_next(&next, "<>; rel=\"next\"", NULL) < 0);
        /* "next" inside another relation's URL does not count */
        assert_int_equal(github_link_next(&next, "<https://x/rel=\"next\">; rel=\"last\"", NULL), 0);
        assert_null(next);
}

static void feed(struct github_ratelimit *rl, const char *line)
{
        github_ratelimit_header(rl, line, strlen(line));
}

static void test_ratelimit(void **state)
{
        struct github_ratelimit rl;
        const time_t now = 1700000000;

        (void)state;
        github_ratelimit_init(&rl);
        feed(&rl, "X-RateLimit-Limit: 5000\r\n");
        feed(&rl, "x-ratelimit-remaining:  4990 \r\n");
        feed(&rl, "x-ratelimit-reset: 1700003600\r\n");
        feed(&rl, "x-ratelimit-used: 10\r\n");
        feed(&rl, "x-ratelimit-remainingx: 1\r\n");
        assert_true(rl.have);
        assert_int_equal(rl.limit, 5000);
        assert_int_equal(rl.remaining, 4990);
        assert_int_equal(rl.reset, 1700003600);
        assert_int_equal(rl.retry_after, -1);
        assert_int_equal(github_ratelimit_wait(200, &rl, "", now), 0);
        assert_int_equal(github_ratelimit_wait(403, &rl, "{\"message\":\"Resource not accessible\"}", now), 0);
        assert_int_equal(github_ratelimit_wait(403, &rl,
                "{\"message\":\"You have exceeded a secondary rate limit\"}", now), 60);
        assert_int_equal(github_ratelimit_wait(429, &rl, "", now), 60);
        feed(&rl, "Retry-After: 7\r\n");
        assert_int_equal(github_ratelimit_wait(429, &rl, "", now), 7);
        assert_int_equal(github_ratelimit_wait(403, &rl, "", now), 7);
        github_ratelimit_init(&rl);
        feed(&rl, "x-ratelimit-remaining: 0\r\n");
        feed(&rl, "x-ratelimit-reset: 1700000030\r\n");
        assert_int_equal(github_ratelimit_wait(403, &rl, "", now), 30);
        /* garbage values are ignored */
        github_ratelimit_init(&rl);
        feed(&rl, "retry-after: -5\r\n");
        feed(&rl, "x-ratelimit-remaining: 12abc\r\n");
        feed(&rl, "retry-after: 99999999999999999999\r\n");
        assert_int_equal(rl.retry_after, -1);
        assert_false(rl.have);

        /* poll interval: the base, x-poll-interval, the budget */
        github_ratelimit_init(&rl);
        assert_int_equal(github_poll_interval_ms(3000, &rl, 10, now), 3000);
        feed(&rl, "x-poll-interval: 60\r\n");
        assert_int_equal(github_poll_interval_ms(3000, &rl, 10, now), 60000);
        github_ratelimit_init(&rl);
        feed(&rl, "x-ratelimit-limit: 5000\r\n");
        feed(&rl, "x-ratelimit-remaining: 5000\r\n");
        feed(&rl, "x-ratelimit-reset: 1700003600\r\n");
        /* 3750 spendable calls / 10 per scan = 375 scans in 3600 s => 9.6 s */
        assert_int_equal(github_poll_interval_ms(3000, &rl, 10, now), 9600);
        assert_int_equal(github_poll_interval_ms(3000, &rl, 0, now), 3000);
        feed(&rl, "x-ratelimit-remaining: 1000\r\n");
        assert_int_equal(github_poll_interval_ms(3000, &rl, 10, now), 3600000);
}

/* ---- shards ---- */

static void test_shard(void **state)
{
        char sha[41];
        unsigned count[3] = { 0 };

        (void)state;
        /* FNV-1a 64 of "o/r/" + 40 zeros, computed independently (python) */
        assert_true(github_shard_hash("o/r", "0000000000000000000000000000000000000000") ==
                    UINT64_C(0x8f49a7914a7b8ca4));
        assert_true(github_shard_hash("Owner/Repo", "abc") == github_shard_hash("owner/repo", "abc"));
        for (unsigned i = 0; i < 3000; i++) {
                unsigned owners = 0;

                snprintf(sha, sizeof(sha), "%040x", i * 2654435761u);
                for (uint32_t k = 0; k < 3; k++) {
                        if (github_shard_mine("octo/infra", sha, k, 3)) {
                                owners++;
                                count[k]++;
                        }
                }
                assert_int_equal(owners, 1);
                assert_true(github_shard_mine("octo/infra", sha, 0, 1));
                assert_true(github_shard_mine("octo/infra", sha, 0, 0));
        }
        for (unsigned k = 0; k < 3; k++)
                assert_true(count[k] > 800 && count[k] < 1200);
}

/* ---- pull requests ---- */

static void test_pulls(void **state)
{
        const char *good_sha = "0123456789abcdef0123456789abcdef01234567";
        _cleanup_free_ char *title = xmalloc(1 << 20);
        _cleanup_free_ char *json = NULL;
        struct github_pr *prs = NULL;
        size_t n = 0, refused = 0;

        (void)state;
        memset(title, 'A', (1 << 20) - 1);
        title[(1 << 20) - 1] = '\0';
        json = xasprintf("["
                "{\"number\":1,\"title\":\"%s\",\"head\":{\"sha\":\"%s\",\"ref\":\"x\\u001b[31m\","
                "\"repo\":{\"full_name\":\"o/r\"}},\"base\":{\"repo\":{\"full_name\":\"O/R\"}},\"draft\":false},"
                "{\"number\":2,\"head\":{\"sha\":\"%s\",\"repo\":{\"full_name\":\"evil/r\",\"clone_url\":\"https://evil.example/x.git\"}},"
                "\"base\":{\"repo\":{\"full_name\":\"o/r\"}}},"
                "{\"number\":3,\"head\":{\"sha\":\"%s\",\"repo\":null},\"base\":{\"repo\":{\"full_name\":\"o/r\"}},\"draft\":true},"
                "{\"number\":\"4\",\"head\":{\"sha\":\"%s\"},\"base\":{\"repo\":{\"full_name\":\"o/r\"}}},"
                "{\"number\":5,\"head\":{\"sha\":\"0123456789ABCDEF0123456789ABCDEF01234567\"},\"base\":{\"repo\":{\"full_name\":\"o/r\"}}},"
                "{\"number\":6,\"head\":{\"sha\":\"0123\"},\"base\":{\"repo\":{\"full_name\":\"o/r\"}}},"
                "{\"number\":7,\"head\":{\"sha\":\"%s\"},\"base\":{\"repo\":{\"full_name\":\"other/r\"}}},"
                "{\"number\":-8,\"head\":{\"sha\":\"%s\"},\"base\":{\"repo\":{\"full_name\":\"o/r\"}}},"
                "{\"number\":9,\"head\":{\"sha\":\"%s\"},\"base\":{\"repo\":{\"full_name\":\"o/r\"}},\"draft\":\"yes\"},"
                "17, null]",
                title, good_sha, good_sha, good_sha, good_sha, good_sha, good_sha, good_sha);
        assert_int_equal(github_pulls_parse(&prs, &n, &refused, json, strlen(json), "o/r", NULL), 0);
        assert_int_equal(n, 3);
        assert_int_equal(refused, 8);
        assert_int_equal(prs[0].number, 1);
        assert_false(prs[0].fork);
        assert_string_equal(prs[0].sha, good_sha);
        assert_int_equal(prs[1].number, 2);
        assert_true(prs[1].fork);
        assert_true(prs[2].fork);       /* a deleted fork */
        assert_true(prs[2].draft);
        free(prs);
        assert_true(github_pulls_parse(&prs, &n, &refused, "{}", 2, "o/r", NULL) < 0);
        assert_true(github_pulls_parse(&prs, &n, &refused, "[", 1, "o/r", NULL) < 0);
        assert_true(github_pulls_parse(&prs, &n, &refused, "[{\"a\":1,\"a\":2}]", 15, "o/r", NULL) < 0);
        assert_int_equal(github_pulls_parse(&prs, &n, &refused, "[]", 2, "o/r", NULL), 0);
        assert_int_equal(n, 0);
        free(prs);
}

/* ---- Markdown ---- */

/* Undo github_md_escape for ASCII input; fails the test on any Markdown or
 * HTML character that was left active. */
static char *md_unescape(const char *s)
{
        struct buf b = BUF_INIT(1 << 24);

        for (const char *p = s; *p;) {
                if (*p == '\\') {
                        assert_true(ispunct((unsigned char)p[1]));
                        buf_putc(&b, p[1], NULL);
                        p += 2;
                } else if (strncmp(p, "&lt;", 4) == 0) {
                        buf_putc(&b, '<', NULL);
                        p += 4;
                } else if (strncmp(p, "&gt;", 4) == 0) {
                        buf_putc(&b, '>', NULL);
                        p += 4;
                } else if (strncmp(p, "&amp;", 5) == 0) {
                        buf_putc(&b, '&', NULL);
                        p += 5;
                } else if (strncmp(p, "@\xe2\x81\xa0", 4) == 0) {
                        buf_putc(&b, '@', NULL);
                        p += 4;
                } else {
                        /* nothing active may appear bare */
                        if (ispunct((unsigned char)*p))
                                fail_msg("bare '%c' in %s", *p, s);
                        assert_true(*p != '\n' && *p != '\r');
                        buf_putc(&b, *p, NULL);
                        p++;
                }
        }
        return buf_steal(&b, NULL);
}

static void test_md_escape(void **state)
{
        static const char *const hostile[] = {
                "<script>alert(1)</script>",
                "<img src=x onerror=alert(1)>",
                "[click](javascript:alert(1)) ![x](https://evil.example/p.png)",
                "| a | b |\n|---|---|\n| c | d |",
                "**bold** _it_ ~~s~~ `code` ```fence```",
                "# heading\n> quote\n- item\n1. item",
                "@octo/team @everyone a@b.example",
                "https://evil.example www.evil.example",
                "&lt; &#60; &amp; \\* \\",
                "<!-- comment --> <details open>",
                "{{template}} $x$ ^sup^ =h= %p% \"q\" 'q'",
        };
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
                struct buf b = BUF_INIT(1 << 20);
                _cleanup_free_ char *back = NULL;
                _cleanup_free_ char *want = xstrdup(hostile[i]);

                assert_int_equal(github_md_escape(&b, hostile[i], strlen(hostile[i]), NULL), 0);
                assert_null(strchr(buf_str(&b), '<'));
                assert_null(strchr(buf_str(&b), '\n'));
                back = md_unescape(buf_str(&b));
                for (char *p = want; *p; p++)
                        if (*p == '\n')
                                *p = ' ';
                assert_string_equal(back, want);
                buf_free(&b);
        }
        {
                /* control, bidi and invalid bytes */
                const char in[] = "a\x1b[31mb\r\x7f\xe2\x80\xae" "evil\xff\xc0\xaf z\xc3\xa9";
                struct buf b = BUF_INIT(4096);

                assert_int_equal(github_md_escape(&b, in, sizeof(in) - 1, NULL), 0);
                assert_null(strchr(buf_str(&b), '\x1b'));
                assert_null(strchr(buf_str(&b), '\r'));
                assert_null(strchr(buf_str(&b), '\x7f'));
                assert_null(strstr(buf_str(&b), "\xe2\x80\xae"));
                assert_null(strchr(buf_str(&b), '\xff'));
                assert_non_null(strstr(buf_str(&b), "\xef\xbf\xbd"));
                assert_non_null(strstr(buf_str(&b), "z\xc3\xa9"));
                buf_free(&b);
        }
}

/* ---- summaries and bodies ---- */

static char *result_with(size_t n_findings, size_t msg_len, const char *rule, const char *file)
{
        json_t *doc = json_pack("{s:s, s:s, s:s, s:{s:i, s:i, s:i}, s:[], s:[], s:[]}",
                                "reason", "plan failed <b>", "mode", "plan", "terraform_version", "1.9.0",
                                "plan", "add", 1, "change", 2, "destroy", 3, "steps", "providers",
                                "diagnostics", "findings");
        json_t *fs = json_array();
        _cleanup_free_ char *msg = xmalloc(msg_len + 1);
        char *out;

        memset(msg, 'm', msg_len);
        msg[msg_len] = '\0';
        for (size_t i = 0; i < n_findings; i++)
                json_array_append_new(fs, json_pack("{s:s, s:s, s:s, s:I, s:s}", "rule", rule,
                                                    "severity", "error", "file", file, "line",
                                                    (json_int_t)(i + 1), "message", msg));
        json_object_set_new(doc, "findings", fs);
        json_array_append_new(json_object_get(doc, "diagnostics"),
                json_pack("{s:s, s:s, s:s, s:s, s:i}", "severity", "warning", "summary", "deprecated",
                          "detail", "use x", "file", "main.tf", "line", 3));
        json_array_append_new(json_object_get(doc, "diagnostics"),
                json_pack("{s:s, s:s, s:n, s:n, s:n}", "severity", "error", "summary", "no location",
                          "detail", "file", "line"));
        out = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        return out;
}

static const char sha40[] = "89abcdef0123456789abcdef0123456789abcdef";

static void test_summary_cut(void **state)
{
        _cleanup_free_ char *res = result_with(3000, 200, "data-external", "main.tf");
        _cleanup_free_ char *sum = NULL, *small = NULL;
        struct job_report rep = { .outcome = JOB_FAILED, .summary = "failed",
                                  .result_json = res, .result_len = strlen(res),
                                  .envelope = "{\"payload\":\"x\"}", .envelope_len = 15 };

        (void)state;
        assert_int_equal(github_summary(&sum, &rep, sha40, NULL), 0);
        assert_true(strlen(sum) <= GITHUB_OUTPUT_MAX);
        assert_true(strlen(sum) > GITHUB_OUTPUT_MAX - 1000);
        assert_non_null(strstr(sum, "**Cut:**"));
        assert_non_null(strstr(sum, "the rest is in result.json"));
        /* the parts before the findings survive the cut */
        assert_non_null(strstr(sum, "| 1 | 2 | 3 |"));
        assert_non_null(strstr(sum, "tfgate verify --key tfgate.pub --expect-commit " ));
        assert_non_null(strstr(sum, sha40));
        assert_non_null(strstr(sum, "SHA-256: `"));
        assert_non_null(strstr(sum, "plan failed &lt;b&gt;"));

        /* the worst case: 5000 findings of 4000 characters that all need
         * escaping still give a summary (the working buffer stays bounded) */
        {
                json_t *doc = json_loads(res, 0, NULL);
                json_t *fs = json_array();
                char *msg = xmalloc(4001);
                char *big;
                _cleanup_free_ char *worst = NULL;

                memset(msg, '<', 4000);
                msg[4000] = '\0';
                for (int i = 0; i < 5000; i++)
                        json_array_append_new(fs, json_pack("{s:s, s:s, s:s, s:i, s:s}", "rule", "x",
                                                            "severity", "error", "file", "a.tf",
                                                            "line", 1, "message", msg));
                json_object_set_new(doc, "findings", fs);
                big = json_dumps(doc, JSON_COMPACT);
                rep.result_json = big;
                rep.result_len = strlen(big);
                assert_int_equal(github_summary(&worst, &rep, sha40, NULL), 0);
                assert_true(strlen(worst) <= GITHUB_OUTPUT_MAX);
                assert_non_null(strstr(worst, "**Cut:**"));
                free(big);
                free(msg);
                json_decref(doc);
        }

        /* a small one is not cut */
        rep.envelope = NULL;
        free(res);
        res = result_with(2, 10, "data-external", "main.tf");
        rep.result_json = res;
        rep.result_len = strlen(res);
        assert_int_equal(github_summary(&small, &rep, sha40, NULL), 0);
        assert_null(strstr(small, "**Cut:**"));
        assert_non_null(strstr(small, "not signed"));
        assert_non_null(strstr(small, "### Findings (2)"));
}

static void test_envelope_digest(void **state)
{
        const char env[] = "{\"payload\":\"x\"}";
        unsigned char d[32];
        unsigned int dl;
        char hex[65], want[80];
        _cleanup_free_ char *sum = NULL;
        struct job_report rep = { .outcome = JOB_PASSED, .summary = "passed",
                                  .envelope = env, .envelope_len = sizeof(env) - 1 };

        (void)state;
        EVP_Digest(env, sizeof(env) - 1, d, &dl, EVP_sha256(), NULL);
        for (unsigned i = 0; i < 32; i++)
                snprintf(hex + 2 * i, 3, "%02x", d[i]);
        snprintf(want, sizeof(want), "SHA-256: `%s`", hex);
        assert_int_equal(github_summary(&sum, &rep, sha40, NULL), 0);
        assert_non_null(strstr(sum, want));
        assert_non_null(strstr(sum, "## tfgate: passed"));
}

static void test_finish_bodies(void **state)
{
        _cleanup_free_ char *res = result_with(120, 10, "provider-not-allowed", "modules/a.tf");
        struct job_report rep = { .outcome = JOB_FAILED, .summary = "failed",
                                  .result_json = res, .result_len = strlen(res),
                                  .log_tail = "line ``` one\n", .log_tail_len = 13 };
        json_t *bodies = NULL;
        size_t total = 0;

        (void)state;
        assert_string_equal(github_conclusion(&rep), "action_required");
        assert_int_equal(github_finish_bodies(&bodies, &rep, sha40, "https://runner.example/j/1", NULL), 0);
        /* 120 findings + 1 located diagnostic = 121 annotations: 50, 50, 21 */
        assert_int_equal(json_array_size(bodies), 3);
        for (size_t i = 0; i < 3; i++) {
                json_t *b = json_array_get(bodies, i);
                json_t *out = json_object_get(b, "output");
                json_t *ann = json_object_get(out, "annotations");

                assert_true(json_array_size(ann) <= GITHUB_ANNOTATIONS_PER_REQUEST);
                total += json_array_size(ann);
                assert_non_null(json_string_value(json_object_get(out, "title")));
                assert_true(strlen(json_string_value(json_object_get(out, "summary"))) <= GITHUB_OUTPUT_MAX);
                if (i < 2) {
                        assert_null(json_object_get(b, "status"));
                        assert_null(json_object_get(b, "conclusion"));
                        assert_int_equal(json_array_size(ann), 50);
                } else {
                        const char *text = json_string_value(json_object_get(out, "text"));

                        assert_string_equal(json_string_value(json_object_get(b, "status")), "completed");
                        assert_string_equal(json_string_value(json_object_get(b, "conclusion")), "action_required");
                        assert_non_null(json_object_get(b, "completed_at"));
                        assert_string_equal(json_string_value(json_object_get(b, "details_url")),
                                            "https://runner.example/j/1");
                        /* the fence is longer than the log's backtick run */
                        assert_true(strncmp(text, "````\n", 5) == 0);
                }
                for (size_t k = 0; k < json_array_size(ann); k++) {
                        json_t *a = json_array_get(ann, k);
                        const char *lvl = json_string_value(json_object_get(a, "annotation_level"));

                        assert_true(strcmp(lvl, "failure") == 0 || strcmp(lvl, "warning") == 0 ||
                                    strcmp(lvl, "notice") == 0);
                        assert_true(json_integer_value(json_object_get(a, "start_line")) >= 1);
                        assert_int_equal(json_integer_value(json_object_get(a, "start_line")),
                                         json_integer_value(json_object_get(a, "end_line")));
                }
        }
        assert_int_equal(total, 121);
        json_decref(bodies);

        /* no annotations at all: one completing body; paths outside the repo dropped */
        free(res);
        res = result_with(3, 10, "data-http", "../etc/passwd");
        rep.result_json = res;
        rep.result_len = strlen(res);
        rep.outcome = JOB_TIMEOUT;
        assert_string_equal(github_conclusion(&rep), "timed_out");
        assert_int_equal(github_finish_bodies(&bodies, &rep, sha40, NULL, NULL), 0);
        assert_int_equal(json_array_size(bodies), 1);
        assert_int_equal(json_array_size(json_object_get(json_object_get(json_array_get(bodies, 0), "output"),
                                                         "annotations")), 1);
        json_decref(bodies);
        rep.outcome = JOB_FAILED;
        assert_string_equal(github_conclusion(&rep), "failure");
        rep.outcome = JOB_CANCELED;
        assert_string_equal(github_conclusion(&rep), "cancelled");
        rep.outcome = JOB_PASSED;
        assert_string_equal(github_conclusion(&rep), "success");
        rep.outcome = JOB_SYSTEM_FAILURE;
        assert_string_equal(github_conclusion(&rep), "failure");
}

static void test_log_text(void **state)
{
        size_t n = 300000;
        _cleanup_free_ char *log = xmalloc(n);
        _cleanup_free_ char *text = NULL;

        (void)state;
        for (size_t i = 0; i < n; i++)
                log[i] = "abc\n`\xc3\xa9"[i % 7];
        memcpy(log + n - 4, "END\n", 4);
        assert_int_equal(github_log_text(&text, log, n, NULL), 0);
        assert_true(strlen(text) <= GITHUB_OUTPUT_MAX);
        assert_non_null(strstr(text, "were cut"));
        assert_non_null(strstr(text, "END\n"));
        free(text);
        text = NULL;
        assert_int_equal(github_log_text(&text, "`````` x \x1b[2J", 13, NULL), 0);
        assert_true(strncmp(text, "```````\n", 8) == 0);
        assert_null(strchr(text, '\x1b'));
}

static void test_status_body(void **state)
{
        char longtext[400];
        json_t *b = NULL;
        const char *d;
        struct job_report rep = { .outcome = JOB_FAILED, .summary = longtext };

        (void)state;
        memset(longtext, 'x', sizeof(longtext) - 1);
        longtext[sizeof(longtext) - 1] = '\0';
        longtext[5] = '\n';
        longtext[6] = (char)0xc3;
        assert_int_equal(github_status_body(&b, &rep, NULL, "https://r.example/x", NULL), 0);
        d = json_string_value(json_object_get(b, "description"));
        assert_int_equal(strlen(d), GITHUB_STATUS_DESCRIPTION_MAX);
        assert_string_equal(d + strlen(d) - 3, "...");
        assert_int_equal(d[5], '?');
        assert_int_equal(d[6], '?');
        assert_string_equal(json_string_value(json_object_get(b, "state")), "failure");
        assert_string_equal(json_string_value(json_object_get(b, "context")), "tfgate");
        assert_string_equal(json_string_value(json_object_get(b, "target_url")), "https://r.example/x");
        json_decref(b);
        assert_int_equal(github_status_body(&b, NULL, "queued", NULL, NULL), 0);
        assert_string_equal(json_string_value(json_object_get(b, "state")), "pending");
        assert_null(json_object_get(b, "target_url"));
        json_decref(b);
        rep.outcome = JOB_TIMEOUT;
        rep.summary = "timed out";
        assert_int_equal(github_status_body(&b, &rep, NULL, NULL, NULL), 0);
        assert_string_equal(json_string_value(json_object_get(b, "state")), "error");
        json_decref(b);
}

static void test_forge_new(void **state)
{
        _cleanup_free_ char *tok = xasprintf("%s/token", tmpdir);
        _cleanup_free_ char *sdir = xasprintf("%s/state", tmpdir);
        _cleanup_free_ char *inst = xasprintf("%s/state/github-gh.instance", tmpdir);
        _cleanup_free_ char *id1 = NULL, *id2 = NULL;
        char *repos[] = { "o/r", NULL };
        struct cfg_forge cfg = { .type = FORGE_GITHUB, .name = "gh", .api_url = "https://api.github.com",
                                 .clone_url = "https://github.com", .token_file = tok,
                                 .repositories = repos, .n_repositories = 1 };
        struct forge *f = NULL;
        struct err e = ERR_INIT;
        FILE *fp;
        size_t n;

        (void)state;
        fp = fopen(tok, "w");
        assert_non_null(fp);
        fputs("github_pat_abc\n", fp);
        fclose(fp);
        chmod(tok, 0644);
        assert_true(github_forge_new(&f, &cfg, NULL, &e) < 0);      /* readable by others */
        assert_null(f);
        chmod(tok, 0600);
        assert_int_equal(github_forge_new(&f, &cfg, sdir, &e), 0);
        assert_string_equal(f->ops->name, "github");
        f->ops->free(f);
        /* the instance id survives a restart: it marks this host's runs */
        fp = fopen(inst, "r");
        assert_non_null(fp);
        id1 = xcalloc(1, 64);
        n = fread(id1, 1, 63, fp);
        fclose(fp);
        assert_int_equal(n, 33);
        assert_int_equal(github_forge_new(&f, &cfg, sdir, &e), 0);
        f->ops->free(f);
        fp = fopen(inst, "r");
        id2 = xcalloc(1, 64);
        assert_int_equal(fread(id2, 1, 63, fp), 33);
        fclose(fp);
        assert_string_equal(id1, id2);
        /* a token with a character tokens never have (header injection) */
        fp = fopen(tok, "w");
        fputs("ghp_abc\r\nX-Evil: 1\n", fp);
        fclose(fp);
        assert_true(github_forge_new(&f, &cfg, NULL, &e) < 0);
        /* wrong type, no repositories, a non-https API */
        cfg.type = FORGE_GITLAB;
        assert_true(github_forge_new(&f, &cfg, NULL, &e) < 0);
        cfg.type = FORGE_GITHUB;
        cfg.n_repositories = 0;
        assert_true(github_forge_new(&f, &cfg, NULL, &e) < 0);
        cfg.n_repositories = 1;
        cfg.api_url = "http://api.github.com";
        assert_true(github_forge_new(&f, &cfg, NULL, &e) < 0);
        unlink(inst);
        rmdir(sdir);
        unlink(tok);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_jwt),
                cmocka_unit_test(test_key_refused),
                cmocka_unit_test(test_webhook_verify),
                cmocka_unit_test(test_webhook_parse),
                cmocka_unit_test(test_link),
                cmocka_unit_test(test_ratelimit),
                cmocka_unit_test(test_shard),
                cmocka_unit_test(test_pulls),
                cmocka_unit_test(test_md_escape),
                cmocka_unit_test(test_summary_cut),
                cmocka_unit_test(test_envelope_digest),
                cmocka_unit_test(test_finish_bodies),
                cmocka_unit_test(test_log_text),
                cmocka_unit_test(test_status_body),
                cmocka_unit_test(test_forge_new),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
