/* test_http.c - routing (traversal and encodings refused), segment
 * decoding, HTML escaping, badges, the result page against a hostile job,
 * and the webhook signature check (GitHub's test vector). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runner/http/http_int.h"

#define ID "0123456789abcdef0123456789abcdef"

struct route_case {
        const char *method, *path;
        enum http_route_kind kind;
};

static const struct route_case cases[] = {
        { "GET", "/healthz", HR_HEALTHZ },
        { "HEAD", "/healthz", HR_HEALTHZ },
        { "GET", "/metrics", HR_METRICS },
        { "GET", "/key.pub", HR_KEY_PUB },
        { "POST", "/hooks/github", HR_HOOK_GITHUB },
        { "GET", "/hooks/github", HR_METHOD_NOT_ALLOWED },
        { "POST", "/metrics", HR_METHOD_NOT_ALLOWED },
        { "DELETE", "/results/" ID, HR_METHOD_NOT_ALLOWED },
        { "GET", "/results/" ID, HR_RESULT_PAGE },
        { "GET", "/results/" ID "/result.json", HR_RESULT_FILE },
        { "GET", "/results/" ID "/result.dsse.json", HR_RESULT_FILE },
        { "GET", "/results/" ID "/log.txt", HR_NOT_FOUND },
        { "GET", "/results/" ID "/meta.json", HR_NOT_FOUND },
        { "GET", "/results/" ID "/", HR_NOT_FOUND },
        { "GET", "/results/" ID "x", HR_NOT_FOUND },
        { "GET", "/results/0123456789ABCDEF0123456789ABCDEF", HR_NOT_FOUND },
        { "GET", "/results/../../etc/passwd", HR_NOT_FOUND },
        { "GET", "/results/%2e%2e/%2e%2e/etc/passwd", HR_NOT_FOUND },
        { "GET", "/results/..%2f..%2fetc%2fpasswd", HR_NOT_FOUND },
        { "GET", "/results/" ID "/../../badges.json", HR_NOT_FOUND },
        { "GET", "/results/" ID "/..%2f..%2fbadges.json", HR_NOT_FOUND },
        { "GET", "/results", HR_NOT_FOUND },
        { "GET", "/healthz/", HR_NOT_FOUND },
        { "GET", "//healthz", HR_NOT_FOUND },
        { "GET", "/", HR_NOT_FOUND },
        { "GET", "", HR_NOT_FOUND },
        { "GET", "/badge/gitlab/group%2Fproj/main.svg", HR_BADGE_SVG },
        { "GET", "/badge/gitlab/group/proj/main.json", HR_BADGE_JSON },
        { "HEAD", "/badge/gitlab/group/sub/proj/feature%2Fx.svg", HR_BADGE_SVG },
        { "GET", "/badge/gitlab/proj/main.png", HR_NOT_FOUND },
        { "GET", "/badge/gitlab/proj/.svg", HR_NOT_FOUND },
        { "GET", "/badge/gitlab/main.svg", HR_NOT_FOUND },
        { "GET", "/badge/gitlab//proj/main.svg", HR_NOT_FOUND },
        { "GET", "/badge/gitlab/../proj/main.svg", HR_NOT_FOUND },
        { "GET", "/badge/gitlab/%2e%2e/main.svg", HR_NOT_FOUND },
        { "GET", "/badge/gitlab/proj/main.svg/", HR_NOT_FOUND },
        { "GET", "/badge/git%00lab/proj/main.svg", HR_NOT_FOUND },
        { "GET", "/badge/gitlab/pr%0aoj/main.svg", HR_NOT_FOUND },
        { "GET", "/badge/gitlab/proj/ma%zzin.svg", HR_NOT_FOUND },
        { "GET", "/badge/gitlab/proj/main%2.svg", HR_NOT_FOUND },
        { "GET", "/badge/git lab!/proj/main.svg", HR_NOT_FOUND },
        { "GET", "/badge/%2e%2e/proj/main.svg", HR_NOT_FOUND },
};

static void routes(void **unused)
{
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct http_route r;

                http_route(&r, cases[i].method, cases[i].path);
                if (r.kind != cases[i].kind)
                        fail_msg("%s %s: route %d, want %d", cases[i].method, cases[i].path, r.kind,
                                 cases[i].kind);
                http_route_free(&r);
        }
}

static void route_fields(void **unused)
{
        struct http_route r;

        http_route(&r, "GET", "/badge/gitlab/group%2Fsub/proj/feature%2Fx.svg");
        assert_int_equal(r.kind, HR_BADGE_SVG);
        assert_string_equal(r.forge, "gitlab");
        assert_string_equal(r.project, "group/sub/proj");
        assert_string_equal(r.ref, "feature/x");
        http_route_free(&r);
        http_route(&r, "GET", "/results/" ID "/result.dsse.json");
        assert_string_equal(r.exec_id, ID);
        assert_string_equal(r.file, "result.dsse.json");
        http_route_free(&r);
        http_route(&r, "PUT", "/hooks/github");
        assert_string_equal(r.allow, "POST");
        http_route_free(&r);
}

static void decode(void **unused)
{
        char *s = http_decode_segment("a%2Fb%20c%c3%a9", 15);

        assert_string_equal(s, "a/b c\xc3\xa9");
        free(s);
        assert_null(http_decode_segment("%", 1));
        assert_null(http_decode_segment("%4", 2));
        assert_null(http_decode_segment("%00", 3));
        assert_null(http_decode_segment("%1b", 3));
        assert_null(http_decode_segment("%2e%2E", 6));
        assert_null(http_decode_segment("", 0));
}

static char *escaped(const char *s, size_t n)
{
        struct buf b = BUF_INIT(1 << 16);

        assert_int_equal(http_html_escape(&b, s, n, NULL), 0);
        return buf_steal(&b, NULL);
}

static void html_escape(void **unused)
{
        char *s = escaped("<script>alert(1)</script>&\"'", 28);

        assert_string_equal(s, "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;");
        free(s);
        s = escaped("a\x1b[31mb\r\n\tc\xff\xc3\xa9", 14);
        assert_string_equal(s, "a\xef\xbf\xbd[31mb\xef\xbf\xbd\n\tc\xef\xbf\xbd\xc3\xa9");
        free(s);
        s = escaped("x\0y", 3);
        assert_string_equal(s, "x\xef\xbf\xbdy");
        free(s);
}

static void badges(void **unused)
{
        struct buf b = BUF_INIT(1 << 16);
        struct http_badge pass = http_badge_of("PASSED"), fail = http_badge_of("FAILED");
        struct http_badge err = http_badge_of("ERROR"), none = http_badge_of(NULL);

        assert_string_equal(pass.message, "passed");
        assert_string_equal(pass.color, "brightgreen");
        assert_string_equal(fail.message, "failed");
        assert_string_equal(fail.color, "red");
        assert_string_equal(err.message, "unknown");
        assert_string_equal(none.color, "lightgrey");
        assert_int_equal(http_render_badge_json(&b, &fail, NULL), 0);
        assert_string_equal(buf_str(&b),
                            "{\"color\":\"red\",\"label\":\"tfgate\",\"message\":\"failed\",\"schemaVersion\":1}\n");
        buf_reset(&b);
        assert_int_equal(http_render_badge_svg(&b, &pass, NULL), 0);
        assert_non_null(strstr(buf_str(&b), "<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert_non_null(strstr(buf_str(&b), ">passed</text>"));
        assert_non_null(strstr(buf_str(&b), "#4c1"));
        assert_null(strstr(buf_str(&b), "<script"));
        buf_free(&b);
}

static const char hostile_meta[] =
        "{\"exec_id\":\"" ID "\",\"forge\":\"gitlab\",\"project\":\"<b>proj</b>\","
        "\"ref\":\"\\\"><script>alert(2)</script>\",\"commit\":null,\"verdict\":\"FAILED\"}";
static const char hostile_result[] =
        "{\"verdict\":\"FAILED\",\"reason\":\"<img src=x onerror=alert(3)>\",\"mode\":\"plan\","
        "\"steps\":[{\"name\":\"init\",\"exit_code\":0,\"reason\":\"\",\"wall_ms\":1500,\"output_bytes\":10,"
        "\"truncated\":false},{\"name\":\"plan</td><script>\",\"exit_code\":1,\"reason\":\"x\",\"wall_ms\":2,"
        "\"output_bytes\":3,\"truncated\":true}],"
        "\"plan\":{\"add\":1,\"change\":2,\"destroy\":3},"
        "\"providers\":[{\"source\":\"registry.terraform.io/hashicorp/aws\",\"constraints\":\"~> 5.0\","
        "\"locked_version\":\"5.1.0\",\"hashes\":[\"h1:x\"],\"allowed\":true,\"mirror\":\"verified\"}],"
        "\"findings\":[{\"rule\":\"data-external\",\"severity\":\"error\",\"file\":\"main.tf\",\"line\":7,"
        "\"message\":\"<iframe src=//evil>\"}],\"diagnostics\":[]}";
static const char hostile_log[] = "ok\n<script>alert(1)</script>\n<img src=x onerror=alert(1)>\n\x1b[2J";

static void result_page_escapes_everything(void **unused)
{
        struct buf b = BUF_INIT(1 << 20);
        struct http_page_input in = {
                .exec_id = ID, .meta = hostile_meta, .meta_len = sizeof(hostile_meta) - 1,
                .result = hostile_result, .result_len = sizeof(hostile_result) - 1,
                .log = hostile_log, .log_len = sizeof(hostile_log) - 1,
                .have_envelope = true, .have_key = true,
        };
        const char *page;

        assert_int_equal(http_render_result_page(&b, &in, NULL), 0);
        page = buf_str(&b);
        /* the only tags are ours: no script, img, iframe, b from the job */
        assert_null(strstr(page, "<script"));
        assert_null(strstr(page, "<img"));
        assert_null(strstr(page, "<iframe"));
        assert_null(strstr(page, "<b>"));
        assert_null(strstr(page, "\x1b"));
        assert_non_null(strstr(page, "&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert_non_null(strstr(page, "&quot;&gt;&lt;script&gt;alert(2)"));
        assert_non_null(strstr(page, "&lt;img src=x onerror=alert(3)&gt;"));
        assert_non_null(strstr(page, "id=\"verdict\">FAILED<"));
        assert_non_null(strstr(page, "1 to add, 2 to change, 3 to destroy"));
        assert_non_null(strstr(page, "main.tf:7"));
        assert_non_null(strstr(page, "1s500ms"));
        assert_non_null(strstr(page, "href=\"" ID "/result.json\""));
        assert_non_null(strstr(page, "href=\"" ID "/result.dsse.json\""));
        assert_non_null(strstr(page, "href=\"../key.pub\""));
        buf_free(&b);
}

static void result_page_without_result(void **unused)
{
        struct buf b = BUF_INIT(1 << 20);
        struct http_page_input in = { .exec_id = ID, .meta = hostile_meta, .meta_len = sizeof(hostile_meta) - 1 };

        assert_int_equal(http_render_result_page(&b, &in, NULL), 0);
        assert_non_null(strstr(buf_str(&b), "No result was recorded"));
        assert_null(strstr(buf_str(&b), "result.json\">"));
        buf_free(&b);
        in.meta = "[]";
        in.meta_len = 2;
        assert_true(http_render_result_page(&b, &in, NULL) < 0);
        buf_free(&b);
}

static void page_size_is_capped(void **unused)
{
        struct buf b = BUF_INIT(2048);
        struct http_page_input in = {
                .exec_id = ID, .meta = hostile_meta, .meta_len = sizeof(hostile_meta) - 1,
                .result = hostile_result, .result_len = sizeof(hostile_result) - 1,
        };

        /* a page larger than its buffer is an error, never a cut page */
        assert_true(http_render_result_page(&b, &in, NULL) < 0);
        buf_free(&b);
}

static void webhook_signature(void **unused)
{
        const unsigned char key[] = "It's a Secret to Everybody";
        const char *body = "Hello, World!";
        const char *good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        const char *upper = "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17";
        const char *bad = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18";

        assert_true(http_hook_signature_ok(key, sizeof(key) - 1, body, strlen(body), good));
        assert_true(http_hook_signature_ok(key, sizeof(key) - 1, body, strlen(body), upper));
        assert_false(http_hook_signature_ok(key, sizeof(key) - 1, body, strlen(body), bad));
        assert_false(http_hook_signature_ok(key, sizeof(key) - 1, "Hello, World?", 13, good));
        assert_false(http_hook_signature_ok(key, sizeof(key) - 2, body, strlen(body), good));
        assert_false(http_hook_signature_ok(key, sizeof(key) - 1, body, strlen(body), NULL));
        assert_false(http_hook_signature_ok(key, sizeof(key) - 1, body, strlen(body), "sha256="));
        assert_false(http_hook_signature_ok(key, sizeof(key) - 1, body, strlen(body), good + 7));
        assert_false(http_hook_signature_ok(key, sizeof(key) - 1, body, strlen(body),
                                            "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
        assert_false(http_hook_signature_ok(key, sizeof(key) - 1, body, strlen(body),
                                            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(routes),
                cmocka_unit_test(route_fields),
                cmocka_unit_test(decode),
                cmocka_unit_test(html_escape),
                cmocka_unit_test(badges),
                cmocka_unit_test(result_page_escapes_everything),
                cmocka_unit_test(result_page_without_result),
                cmocka_unit_test(page_size_is_capped),
                cmocka_unit_test(webhook_signature),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
