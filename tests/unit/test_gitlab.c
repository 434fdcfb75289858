/* test_gitlab.c - the GitLab adapter's bookkeeping: trace ranges (append,
 * chunking at 1 MiB, 416 resync, 412 reset, the size cap, CRC32), section
 * markers, failure_reason mapping, system_id, the stored zip and the
 * terraform report. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "plugin-gitlab/gitlab_int.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

static void test_trace_ranges(void **state)
{
        struct gl_trace t;
        size_t off, len;
        struct err err = ERR_INIT;
        char *big = xmalloc(GITLAB_PATCH_MAX + 10);

        gl_trace_init(&t, GITLAB_TRACE_MAX);
        gl_trace_chunk(&t, GITLAB_PATCH_MAX, &off, &len);
        assert_int_equal(len, 0);
        memset(big, 'x', GITLAB_PATCH_MAX + 10);
        gl_trace_append(&t, "hello\n", 6);
        gl_trace_append(&t, big, GITLAB_PATCH_MAX + 10);
        assert_int_equal(gl_trace_pending(&t), GITLAB_PATCH_MAX + 16);
        gl_trace_chunk(&t, GITLAB_PATCH_MAX, &off, &len);
        assert_int_equal(off, 0);
        assert_int_equal(len, GITLAB_PATCH_MAX);
        gl_trace_acked(&t, off + len);
        gl_trace_chunk(&t, GITLAB_PATCH_MAX, &off, &len);
        assert_int_equal(off, GITLAB_PATCH_MAX);
        assert_int_equal(len, 16);
        /* 416: GitLab has only 100 bytes: resend from 100 */
        assert_int_equal(gl_trace_resync(&t, "0-100", &err), 0);
        gl_trace_chunk(&t, GITLAB_PATCH_MAX, &off, &len);
        assert_int_equal(off, 100);
        assert_int_equal(len, GITLAB_PATCH_MAX + 16 - 100);
        /* malformed or impossible Range headers are refused, offset kept */
        assert_true(gl_trace_resync(&t, "", &err) < 0);
        assert_true(gl_trace_resync(&t, "5-10", &err) < 0);
        assert_true(gl_trace_resync(&t, "0-abc", &err) < 0);
        assert_true(gl_trace_resync(&t, "0-99999999", &err) < 0);
        assert_true(gl_trace_resync(&t, "0--1", &err) < 0);
        assert_int_equal(t.sent, 100);
        /* 412: everything again */
        gl_trace_reset(&t);
        gl_trace_chunk(&t, GITLAB_PATCH_MAX, &off, &len);
        assert_int_equal(off, 0);
        /* acked past the end is clamped */
        gl_trace_acked(&t, SIZE_MAX);
        assert_int_equal(gl_trace_pending(&t), 0);
        free(big);
        gl_trace_free(&t);
}

static void test_trace_crc_and_cap(void **state)
{
        struct gl_trace t;
        char sum[16], want[16];

        gl_trace_init(&t, 200);
        gl_trace_append(&t, "abc", 3);
        gl_trace_checksum(&t, sum);
        snprintf(want, sizeof(want), "crc32:%08lx", crc32(crc32(0L, Z_NULL, 0), (const Bytef *)"abc", 3));
        assert_string_equal(sum, want);
        assert_string_equal(sum, "crc32:352441c2");
        /* over the cap: what fits, then the note, then nothing */
        for (int i = 0; i < 100; i++)
                gl_trace_append(&t, "0123456789", 10);
        assert_true(t.capped);
        assert_true(t.data.len <= 200);
        assert_non_null(strstr(t.data.data, "size limit"));
        {
                size_t len = t.data.len;

                gl_trace_append(&t, "more", 4);
                assert_int_equal(t.data.len, len);
                snprintf(want, sizeof(want), "crc32:%08lx",
                         crc32(crc32(0L, Z_NULL, 0), (const Bytef *)t.data.data, (uInt)len));
                gl_trace_checksum(&t, sum);
                assert_string_equal(sum, want);
        }
        gl_trace_free(&t);
}

static void test_section(void **state)
{
        _cleanup_free_ char *a = gl_section_marker("Plan: modules/net", true, 1700000000);
        _cleanup_free_ char *b = gl_section_marker("init", false, 1700000001);
        _cleanup_free_ char *c = gl_section_marker("x\r\033[0Ksection_end:1:y", true, 5);
        _cleanup_free_ char *d = gl_section_marker("", false, 5);

        assert_string_equal(a, "section_start:1700000000:plan__modules_net[collapsed=true]\r\033[0K");
        assert_string_equal(b, "section_end:1700000001:init\r\033[0K");
        assert_string_equal(c, "section_start:5:x___0ksection_end_1_y[collapsed=true]\r\033[0K");
        assert_string_equal(d, "section_end:5:_\r\033[0K");
}

static void test_failure_reason(void **state)
{
        static const char *const full[] = { "unknown_failure", "script_failure", "runner_system_failure",
                                            "job_execution_timeout", "job_canceled", NULL };
        static const char *const few[] = { "script_failure", NULL };

        assert_null(gl_failure_reason(JOB_PASSED, full));
        assert_string_equal(gl_failure_reason(JOB_FAILED, full), "script_failure");
        assert_string_equal(gl_failure_reason(JOB_SYSTEM_FAILURE, full), "runner_system_failure");
        assert_string_equal(gl_failure_reason(JOB_TIMEOUT, full), "job_execution_timeout");
        assert_string_equal(gl_failure_reason(JOB_CANCELED, full), "job_canceled");
        /* always-accepted reasons stay even when not listed */
        assert_string_equal(gl_failure_reason(JOB_TIMEOUT, few), "job_execution_timeout");
        assert_string_equal(gl_failure_reason(JOB_SYSTEM_FAILURE, NULL), "runner_system_failure");
        /* unlisted internal reasons fall back */
        assert_string_equal(gl_failure_reason(JOB_CANCELED, few), "unknown_failure");
        assert_string_equal(gl_failure_reason((enum job_outcome)42, full), "unknown_failure");
}

static void test_system_id(void **state)
{
        char id[GITLAB_SYSTEM_ID_LEN + 1], again[GITLAB_SYSTEM_ID_LEN + 1];
        char dir[] = "/tmp/test_gitlab_XXXXXX";
        struct err err = ERR_INIT;

        /* HMAC-SHA256(key "0123456789abcdef0123456789abcdef", "gitlab-runner"),
         * cross-checked with: printf gitlab-runner | openssl dgst -sha256 -hmac KEY */
        assert_int_equal(gl_system_id_from_machine_id(id, "0123456789abcdef0123456789abcdef\n", 33, &err), 0);
        assert_string_equal(id, "s_ee3af03959fe");
        assert_true(gl_system_id_from_machine_id(id, "\n", 1, &err) < 0);

        assert_non_null(mkdtemp(dir));
        assert_int_equal(gitlab_system_id(id, dir, "gitlab", &err), 0);
        assert_int_equal(strlen(id), GITLAB_SYSTEM_ID_LEN);
        assert_true(id[0] == 's' || id[0] == 'r');
        assert_int_equal(gitlab_system_id(again, dir, "gitlab", &err), 0);
        assert_string_equal(id, again);  /* stable: kept in the state file */
        {
                _cleanup_free_ char *p = gl_state_path(dir, "gitlab");

                assert_int_equal(file_check_private(p, &err), 0);
                assert_int_equal(unlink(p), 0);
        }
        assert_int_equal(rmdir(dir), 0);
}

static uint16_t rd16(const unsigned char *p)
{
        return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const unsigned char *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_zip(void **state)
{
        const struct gl_zip_entry e[] = { { "result.json", "{\"a\":1}", 7 },
                                          { "result.dsse.json", "{}", 2 } };
        struct buf b = BUF_INIT(1u << 20);
        struct err err = ERR_INIT;
        const unsigned char *p, *eocd;
        uint32_t cd_off, cd_size;

        assert_int_equal(gl_zip_stored(&b, e, 2, 1700000000, &err), 0);
        p = (const unsigned char *)b.data;
        assert_int_equal(rd32(p), 0x04034b50);
        assert_int_equal(rd32(p + 14), crc32(crc32(0L, Z_NULL, 0), (const Bytef *)"{\"a\":1}", 7));
        assert_int_equal(rd32(p + 18), 7);
        assert_memory_equal(p + 30, "result.json", 11);
        assert_memory_equal(p + 41, "{\"a\":1}", 7);
        eocd = p + b.len - 22;
        assert_int_equal(rd32(eocd), 0x06054b50);
        assert_int_equal(rd16(eocd + 10), 2);
        cd_size = rd32(eocd + 12);
        cd_off = rd32(eocd + 16);
        assert_int_equal(cd_off + cd_size, b.len - 22);
        assert_int_equal(rd32(p + cd_off), 0x02014b50);
        assert_int_equal(rd32(p + cd_off + 42), 0);  /* first entry at offset 0 */
        buf_free(&b);
}

static void test_terraform_report(void **state)
{
        static const char with[] = "{\"plan\":{\"add\":3,\"change\":1,\"destroy\":2000000}}";
        static const char without[] = "{\"plan\":null}";
        static const char bad[] = "{\"plan\":{\"add\":\"3\",\"change\":1,\"destroy\":0}}";
        _cleanup_free_ char *out = NULL;
        char *none = NULL;
        struct err err = ERR_INIT;

        assert_int_equal(gl_terraform_report(&out, with, strlen(with), &err), 0);
        assert_string_equal(out, "{\"create\":3,\"update\":1,\"delete\":999999}");
        assert_int_equal(gl_terraform_report(&none, without, strlen(without), &err), 1);
        assert_null(none);
        assert_true(gl_terraform_report(&none, bad, strlen(bad), &err) < 0);
        assert_true(gl_terraform_report(&none, "x", 1, &err) < 0);
}

static void test_token_check(void **state)
{
        struct err err = ERR_INIT;

        assert_int_equal(gl_token_check("glrt-abc_DEF.123", &err), 0);
        assert_true(gl_token_check("", &err) < 0);
        assert_true(gl_token_check("glrt-a\r\nX: y", &err) < 0);
        assert_true(gl_token_check("glrt a", &err) < 0);
        assert_true(gl_token_check("glrt-\xc3\xa9", &err) < 0);
}

/* crash recovery: the handle journaled for a job, read back at start */
static void test_handle(void **state)
{
        static const char url[] = "https://gitlab.example.com";
        static const struct { const char *text; int64_t id; const char *why; } cases[] = {
                { "{\"v\":1,\"url\":\"https://gitlab.example.com\",\"id\":4711,\"token\":\"glcbt-64_abc\"}", 4711, NULL },
                { "{\"v\":1,\"url\":\"https://evil.example.net\",\"id\":4711,\"token\":\"glcbt-64_abc\"}", 0, "another GitLab URL" },
                { "{\"v\":1,\"url\":\"https://gitlab.example.com.evil.net\",\"id\":1,\"token\":\"t\"}", 0, "another GitLab URL" },
                { "{\"v\":2,\"url\":\"https://gitlab.example.com\",\"id\":4711,\"token\":\"t\"}", 0, "unknown version" },
                { "{\"v\":1,\"url\":\"https://gitlab.example.com\",\"id\":0,\"token\":\"t\"}", 0, "bad job id" },
                { "{\"v\":1,\"url\":\"https://gitlab.example.com\",\"id\":\"7\",\"token\":\"t\"}", 0, "bad job id" },
                { "{\"v\":1,\"url\":\"https://gitlab.example.com\",\"id\":7,\"token\":\"a\\r\\nX-Evil: 1\"}", 0, "bad job token" },
                { "{\"v\":1,\"url\":\"https://gitlab.example.com\",\"id\":7,\"token\":\"\"}", 0, "bad job token" },
                { "{\"v\":1,\"url\":\"https://gitlab.example.com\",\"id\":7,\"token\":5}", 0, "bad job token" },
                { "{\"v\":1,\"url\":\"https://gitlab.example.com\",\"id\":7,\"id\":8,\"token\":\"t\"}", 0, "not a JSON object" },
                { "{\"v\":1,\"url\":", 0, "not a JSON object" },
                { "[]", 0, "not a JSON object" },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct err err = ERR_INIT;
                char *token = NULL;
                int64_t id = -1;
                int r = gl_handle_parse(&id, &token, cases[i].text, url, &err);

                if (cases[i].why == NULL) {
                        assert_int_equal(r, 0);
                        assert_int_equal(id, cases[i].id);
                        assert_string_equal(token, "glcbt-64_abc");
                } else {
                        assert_int_equal(r, -EBADMSG);
                        assert_null(token);
                        if (strstr(err.msg, cases[i].why) == NULL)
                                fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err.msg, cases[i].why);
                        /* the token is never part of the message */
                        assert_null(strstr(err.msg, "glcbt"));
                }
                free(token);
        }
}

/* abandon() refuses a handle for another URL before any request */
static void test_abandon_other_url(void **state)
{
        char dir[] = "/tmp/test-gitlab-abandon.XXXXXX";
        _cleanup_free_ char *tok = NULL;
        struct cfg_forge cf = { .type = FORGE_GITLAB, .name = "gl", .url = "http://127.0.0.1:9" };
        struct forge *f = NULL;
        struct err err = ERR_INIT;

        assert_non_null(mkdtemp(dir));
        tok = xasprintf("%s/token", dir);
        assert_int_equal(file_write_new(tok, "glrt-abc\n", 9, 0600, &err), 0);
        cf.token_file = tok;
        assert_int_equal(gitlab_forge_new(&f, &cf, dir, &err), 0);
        assert_non_null(f->ops->abandon);
        assert_non_null(f->ops->job_handle);
        assert_int_equal(f->ops->abandon(f, "{\"v\":1,\"url\":\"http://127.0.0.2:9\",\"id\":7,"
                                         "\"token\":\"glcbt-x\"}", &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "another GitLab URL"));
        f->ops->free(f);
        rm_rf(dir, NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_trace_ranges),
                cmocka_unit_test(test_trace_crc_and_cap),
                cmocka_unit_test(test_section),
                cmocka_unit_test(test_failure_reason),
                cmocka_unit_test(test_system_id),
                cmocka_unit_test(test_zip),
                cmocka_unit_test(test_terraform_report),
                cmocka_unit_test(test_token_check),
                cmocka_unit_test(test_handle),
                cmocka_unit_test(test_abandon_other_url),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
