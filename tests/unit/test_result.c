/* test_result.c - the result model: builders, the round trip through JSON,
 * credential stripping, and the validator refusing each kind of bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "runner/sign/result.h"
#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

static const char commit40[] = "0123456789abcdef0123456789abcdef01234567";

static struct result *full_result(void)
{
        struct result *r = result_new();
        struct result_step init = { "init", 0, "exited 0", 800, 1024, false };
        struct result_step plan = { "plan", 1, "exited 1", 2500, 1u << 20, true };
        struct result_diag d1 = { "error", "Unsupported argument", "An argument named \"x\" is not expected here.\n", "main.tf", 12 };
        struct result_diag d2 = { "warning", "Deprecated", NULL, NULL, 0 };
        struct timespec t0 = { 1764054000, 5000000 }, t1 = { 1764054065, 250000000 };
        json_t *providers = json_pack("[{s:s, s:s, s:s, s:[s], s:b, s:s}]",
                                      "source", "registry.terraform.io/hashicorp/aws",
                                      "constraints", "~> 5.0", "locked_version", "5.31.0",
                                      "hashes", "h1:abc=", "allowed", 1, "mirror", "verified");
        json_t *findings = json_pack("[{s:s, s:s, s:s, s:i, s:s}]", "rule", "provisioner_local_exec",
                                     "severity", "error", "file", "main.tf", "line", 40,
                                     "message", "local-exec provisioners are not allowed");

        assert_int_equal(result_set_job(r, "00112233445566778899aabbccddeeff", "gitlab", "group/proj", NULL), 0);
        assert_int_equal(result_set_source(r, "https://oauth2:glpat-secret@gitlab.example.com/group/proj.git",
                                           "refs/merge-requests/7/head", commit40, NULL), 0);
        assert_int_equal(result_set_versions(r, "0.1.0", "1.9.8", NULL), 0);
        assert_int_equal(result_set_mode(r, "plan", NULL), 0);
        assert_int_equal(result_add_step(r, &init, NULL), 0);
        assert_int_equal(result_add_step(r, &plan, NULL), 0);
        assert_int_equal(result_add_diag(r, &d1, NULL), 0);
        assert_int_equal(result_add_diag(r, &d2, NULL), 0);
        assert_int_equal(result_set_plan(r, 3, 1, 0, NULL), 0);
        assert_int_equal(result_set_providers(r, providers, NULL), 0);
        assert_int_equal(result_set_findings(r, findings, NULL), 0);
        assert_int_equal(result_set_verdict(r, RESULT_FAILED, "plan exited 1", NULL), 0);
        assert_int_equal(result_set_times(r, &t0, &t1, NULL), 0);
        json_decref(providers);
        json_decref(findings);
        return r;
}

static void test_roundtrip(void **state)
{
        _cleanup_(result_freep) struct result *r = full_result(), *back = NULL;
        _cleanup_free_ char *json = NULL, *again = NULL;
        size_t len, len2;

        assert_int_equal(result_to_json(&json, &len, r, NULL), 0);
        assert_null(strstr(json, "glpat-secret"));
        assert_null(strstr(json, "oauth2"));
        assert_non_null(strstr(json, "\"repository\":\"https://gitlab.example.com/group/proj.git\""));
        assert_non_null(strstr(json, "\"started_at\":\"2025-11-25T07:00:00.005Z\""));
        assert_non_null(strstr(json, "\"finished_at\":\"2025-11-25T07:01:05.250Z\""));
        assert_non_null(strstr(json, "\"detail\":null"));
        assert_non_null(strstr(json, "\"line\":null"));
        assert_int_equal(result_from_json(&back, json, len, NULL), 0);
        assert_int_equal(result_to_json(&again, &len2, back, NULL), 0);
        assert_int_equal(len, len2);
        assert_memory_equal(json, again, len);
        assert_string_equal(result_commit(back), commit40);
        assert_string_equal(result_ref(back), "refs/merge-requests/7/head");
        assert_int_equal(result_verdict(back), RESULT_FAILED);
        assert_string_equal(result_terraform_version(back), "1.9.8");
}

static void test_incomplete_refused(void **state)
{
        _cleanup_(result_freep) struct result *r = result_new();
        _cleanup_free_ char *json = NULL;
        struct err err = ERR_INIT;
        size_t len;

        assert_true(result_to_json(&json, &len, r, &err) < 0);
        assert_null(json);
        assert_non_null(strstr(err.msg, "missing"));
}

static void test_strip_userinfo(void **state)
{
        static const char *const cases[][2] = {
                { "https://u:p@h.example/x", "https://h.example/x" },
                { "https://u@h.example", "https://h.example" },
                { "https://a@b:c@h.example:8443/x@y?q=@#@", "https://h.example:8443/x@y?q=@#@" },
                { "https://h.example/g/p.git", "https://h.example/g/p.git" },
                { "file:///srv/repo", "file:///srv/repo" },
        };
        struct err err = ERR_INIT;
        char *out;

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                assert_int_equal(result_strip_userinfo(&out, cases[i][0], NULL), 0);
                assert_string_equal(out, cases[i][1]);
                free(out);
        }
        assert_true(result_strip_userinfo(&out, "/srv/repo", &err) < 0);
        assert_true(result_strip_userinfo(&out, NULL, &err) < 0);
}

static void test_builder_checks(void **state)
{
        _cleanup_(result_freep) struct result *r = result_new();
        struct result_step bad_exit = { "plan", 256, "", 0, 0, false };
        struct result_step huge = { "plan", 0, "", UINT64_MAX, 0, false };
        struct result_step ctrl = { "pl\x1b[2Jan", 0, "", 0, 0, false };
        struct result_diag bad_sev = { "fatal", "x", NULL, NULL, 0 };
        struct timespec t0 = { 100, 0 }, t1 = { 99, 0 };
        json_t *bad_prov = json_pack("[{s:s}]", "source", "x");
        json_t *not_arr = json_object();
        struct err err = ERR_INIT;

        assert_true(result_set_job(r, "0011", "gitlab", "p", &err) < 0);
        assert_non_null(strstr(err.msg, "execution_id"));
        assert_true(result_set_job(r, "00112233445566778899aabbccddeeff", "git lab", "p", &err) < 0);
        assert_true(result_set_job(r, "00112233445566778899aabbccddeeff", "gitlab", "", &err) < 0);
        assert_true(result_set_source(r, "https://h/x", "main", "0123456789ABCDEF0123456789abcdef01234567", &err) < 0);
        assert_non_null(strstr(err.msg, "commit"));
        assert_true(result_set_source(r, "https://h/x", "main", "0123", &err) < 0);
        assert_int_equal(result_set_source(r, "https://h/x", "",
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", NULL), 0);
        assert_true(result_set_mode(r, "destroy", &err) < 0);
        assert_true(result_add_step(r, &bad_exit, &err) < 0);
        assert_non_null(strstr(err.msg, "steps[0].exit_code"));
        assert_true(result_add_step(r, &huge, &err) < 0);
        assert_true(result_add_step(r, &ctrl, &err) < 0);
        assert_true(result_add_diag(r, &bad_sev, &err) < 0);
        assert_non_null(strstr(err.msg, "diagnostics[0].severity"));
        assert_true(result_set_providers(r, bad_prov, &err) < 0);
        assert_non_null(strstr(err.msg, "providers[0]"));
        assert_true(result_set_findings(r, not_arr, &err) < 0);
        assert_true(result_set_times(r, &t0, &t1, &err) < 0);
        assert_true(result_set_verdict(r, RESULT_PASSED, "", &err) < 0);
        json_decref(bad_prov);
        json_decref(not_arr);
        for (int i = 0; i < RESULT_MAX_STEPS; i++) {
                struct result_step s = { "init", 0, "", 0, 0, false };

                assert_int_equal(result_add_step(r, &s, NULL), 0);
        }
        {
                struct result_step s = { "init", 0, "", 0, 0, false };

                assert_true(result_add_step(r, &s, &err) < 0);
                assert_non_null(strstr(err.msg, "more than"));
        }
}

/* one mutation of the valid document, and the path the error must name */
struct mutation {
        const char *path;      /* "key" or "steps.0.key" */
        const char *value;     /* JSON text; NULL = delete */
        const char *want;      /* substring of the error */
};

static json_t *walk(json_t *doc, char *path, char **last)
{
        char *dot;

        while ((dot = strchr(path, '.')) != NULL) {
                *dot = '\0';
                doc = json_is_array(doc) ? json_array_get(doc, (size_t)strtoul(path, NULL, 10))
                                         : json_object_get(doc, path);
                path = dot + 1;
        }
        *last = path;
        return doc;
}

static void test_validator_refuses(void **state)
{
        static const struct mutation muts[] = {
                { "commit", "\"0123456789abcdef0123456789abcdef0123456\"", "commit" },
                { "commit", "\"0123456789abcdef0123456789abcdef0123456g\"", "commit" },
                { "commit", NULL, "commit: missing" },
                { "mode", "\"destroy\"", "mode" },
                { "verdict", "\"passed\"", "verdict" },
                { "extra", "1", "extra: unknown key" },
                { "result_version", "2", "result_version" },
                { "repository", "\"https://u:p@h/x\"", "repository" },
                { "repository", "\"/srv/repo\"", "repository" },
                { "repository", "\"https://h/x y\"", "repository" },
                { "started_at", "\"2025-11-25 07:00:00Z\"", "started_at" },
                { "started_at", "\"2025-13-25T07:00:00Z\"", "started_at" },
                { "started_at", "\"2025-11-25T07:00:00+01:00\"", "started_at" },
                { "finished_at", "\"2025-11-25T07:00:00.Z\"", "finished_at" },
                { "steps.0.exit_code", "-2", "steps[0].exit_code" },
                { "steps.0.exit_code", "1.0", "steps[0].exit_code" },
                { "steps.0.wall_ms", "-1", "steps[0].wall_ms" },
                { "steps.0.truncated", "0", "steps[0].truncated" },
                { "steps.0.colour", "\"red\"", "steps[0].colour: unknown key" },
                { "steps.1.name", "\"\"", "steps[1].name" },
                { "diagnostics.0.line", "0", "diagnostics[0].line" },
                { "diagnostics.0.detail", "\"a\\u0007b\"", "diagnostics[0].detail" },
                { "plan.add", "\"3\"", "plan.add" },
                { "plan.import", "1", "plan.import: unknown key" },
                { "providers.0.mirror", "\"ok\"", "providers[0].mirror" },
                { "providers.0.hashes", "[1]", "providers[0].hashes[0]" },
                { "findings.0.severity", "\"warn\"", "findings[0].severity" },
                { "findings.0.message", NULL, "findings[0].message: missing" },
                { "terraform_version", "\"\"", "terraform_version" },
                { "reason", "\"line1\\nline2\"", "reason" },
                { "execution_id", "\"00112233445566778899AABBCCDDEEFF\"", "execution_id" },
        };
        _cleanup_(result_freep) struct result *r = full_result();
        _cleanup_free_ char *json = NULL;
        size_t len;

        assert_int_equal(result_to_json(&json, &len, r, NULL), 0);
        for (size_t i = 0; i < ARRAY_SIZE(muts); i++) {
                json_t *doc = json_loads(json, 0, NULL);
                _cleanup_free_ char *path = xstrdup(muts[i].path), *text = NULL;
                struct result *back = NULL;
                struct err err = ERR_INIT;
                char *last;
                json_t *parent = walk(doc, path, &last);

                assert_non_null(parent);
                if (muts[i].value == NULL)
                        json_object_del(parent, last);
                else
                        json_object_set_new(parent, last, json_loads(muts[i].value, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL));
                text = json_dumps(doc, JSON_COMPACT);
                json_decref(doc);
                if (result_from_json(&back, text, strlen(text), &err) == 0)
                        fail_msg("mutation %zu (%s) was accepted", i, muts[i].path);
                assert_null(back);
                if (strstr(err.msg, muts[i].want) == NULL)
                        fail_msg("mutation %zu: error \"%s\" does not name \"%s\"", i, err.msg, muts[i].want);
        }
}

static void test_from_json_limits(void **state)
{
        _cleanup_(result_freep) struct result *r = full_result();
        _cleanup_free_ char *json = NULL, *dup = NULL;
        struct result *back = NULL;
        struct err err = ERR_INIT;
        size_t len;

        assert_int_equal(result_to_json(&json, &len, r, NULL), 0);
        /* a duplicate key could make two readers see two results */
        dup = xasprintf("{\"verdict\":\"PASSED\",%s", json + 1);
        assert_true(result_from_json(&back, dup, strlen(dup), &err) < 0);
        assert_true(result_from_json(&back, "[]", 2, &err) < 0);
        assert_true(result_from_json(&back, "{", 1, &err) < 0);
        assert_true(result_from_json(&back, json, RESULT_MAX_BYTES + 1, &err) < 0);
        assert_non_null(strstr(err.msg, "larger"));
        assert_null(back);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_roundtrip),
                cmocka_unit_test(test_incomplete_refused),
                cmocka_unit_test(test_strip_userinfo),
                cmocka_unit_test(test_builder_checks),
                cmocka_unit_test(test_validator_refuses),
                cmocka_unit_test(test_from_json_limits),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
