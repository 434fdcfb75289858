#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runner/pipeline/tfjson.h"
#include "runner/util/xalloc.h"

/* reference/terraform.md §4, validate -json of internal/command/testdata */
static const char validate_invalid[] =
        "{\n"
        "  \"format_version\": \"1.0\",\n"
        "  \"valid\": false,\n"
        "  \"error_count\": 1,\n"
        "  \"warning_count\": 0,\n"
        "  \"diagnostics\": [\n"
        "    {\n"
        "      \"severity\": \"error\",\n"
        "      \"summary\": \"Invalid reference\",\n"
        "      \"detail\": \"A reference to a resource type must be followed by at least one attribute access, specifying the resource name.\",\n"
        "      \"range\": {\n"
        "        \"filename\": \"main.tf\",\n"
        "        \"start\": { \"line\": 6, \"column\": 14, \"byte\": 110 },\n"
        "        \"end\": { \"line\": 6, \"column\": 18, \"byte\": 114 }\n"
        "      }\n"
        "    },\n"
        "    { \"severity\": \"warning\", \"summary\": \"Sourceless\" }\n"
        "  ]\n"
        "}\n";

static void validate_diagnostics(void **state)
{
        struct tf_diags d = { 0 };
        struct err e = ERR_INIT;
        bool valid = true;

        assert_int_equal(tfjson_parse_validate(&d, &valid, validate_invalid,
                                               strlen(validate_invalid), &e), 0);
        assert_false(valid);
        assert_int_equal(d.n, 2);
        assert_int_equal(d.v[0].severity, TF_SEV_ERROR);
        assert_string_equal(d.v[0].summary, "Invalid reference");
        assert_string_equal(d.v[0].file, "main.tf");
        assert_int_equal(d.v[0].line, 6);
        assert_int_equal(d.v[0].column, 14);
        assert_non_null(strstr(d.v[0].detail, "attribute access"));
        assert_int_equal(d.v[1].severity, TF_SEV_WARNING);
        assert_null(d.v[1].file);
        assert_int_equal(d.v[1].line, 0);
        tf_diags_free(&d);
}

static void validate_valid_and_garbage(void **state)
{
        static const char ok[] = "{\"format_version\":\"1.0\",\"valid\":true,\"error_count\":0,"
                                 "\"warning_count\":0,\"diagnostics\":[]}";
        struct tf_diags d = { 0 };
        struct err e = ERR_INIT;
        bool valid = false;

        assert_int_equal(tfjson_parse_validate(&d, &valid, ok, strlen(ok), &e), 0);
        assert_true(valid);
        assert_int_equal(d.n, 0);
        assert_true(tfjson_parse_validate(&d, &valid, "Success! The configuration is valid.", 36, &e) < 0);
        assert_non_null(strstr(e.msg, "not JSON"));
        assert_true(tfjson_parse_validate(&d, &valid, "[1]", 3, &e) < 0);
        assert_non_null(strstr(e.msg, "not a JSON object"));
        /* wrong types are ignored, not trusted */
        static const char odd[] = "{\"valid\":\"yes\",\"diagnostics\":[1,{\"severity\":7,"
                                  "\"summary\":[],\"range\":{\"filename\":3,\"start\":{\"line\":-4}}}]}";
        assert_int_equal(tfjson_parse_validate(&d, &valid, odd, strlen(odd), &e), 0);
        assert_false(valid);
        assert_int_equal(d.n, 1);
        assert_int_equal(d.v[0].severity, TF_SEV_UNKNOWN);
        assert_string_equal(d.v[0].summary, "(no summary)");
        assert_null(d.v[0].file);
        assert_int_equal(d.v[0].line, 0);
        tf_diags_free(&d);
}

static void plan_stream(void **state)
{
        static const char *const lines[] = {
                "{\"@level\":\"info\",\"@message\":\"Terraform 1.9.5\",\"@module\":\"terraform.ui\",\"terraform\":\"1.9.5\",\"type\":\"version\",\"ui\":\"1.2\"}",
                "{\"@level\":\"info\",\"@message\":\"test_instance.foo: Plan to create\",\"change\":{\"resource\":{\"addr\":\"test_instance.foo\"},\"action\":\"create\"},\"type\":\"planned_change\"}",
                "not json at all: PASSED",
                "{\"type\":\"change_summary\",\"changes\":{\"add\":\"9\"}", /* cut short: ignored */
                "{\"@level\":\"error\",\"@message\":\"Error: boom\",\"diagnostic\":{\"severity\":\"error\",\"summary\":\"boom\",\"range\":{\"filename\":\"x.tf\",\"start\":{\"line\":3,\"column\":1}}},\"type\":\"diagnostic\"}",
                "{\"@level\":\"info\",\"@message\":\"Plan: 1 to add, 2 to change, 3 to destroy.\",\"changes\":{\"action_invocation\":0,\"action_fail\":0,\"add\":1,\"import\":0,\"change\":2,\"remove\":3,\"operation\":\"plan\"},\"type\":\"change_summary\"}",
        };
        struct tf_diags d = { 0 };
        struct tf_plan_summary s = { 0 };

        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
                tfjson_plan_line(&d, &s, lines[i], strlen(lines[i]));
        assert_true(s.known);
        assert_int_equal(s.add, 1);
        assert_int_equal(s.change, 2);
        assert_int_equal(s.destroy, 3);
        assert_string_equal(s.version, "1.9.5");
        assert_int_equal(d.n, 1);
        assert_string_equal(d.v[0].file, "x.tf");
        assert_int_equal(d.v[0].line, 3);
        tf_diags_free(&d);
}

static void version_is_checked(void **state)
{
        static const char hostile[] = "{\"type\":\"version\",\"terraform\":\"1.0\\n\\u001b[31mPASSED\"}";
        static const char tofu[] = "{\"type\":\"version\",\"tofu\":\"1.8.0\",\"@module\":\"tofu.ui\"}";
        struct tf_diags d = { 0 };
        struct tf_plan_summary s = { 0 };

        tfjson_plan_line(&d, &s, hostile, strlen(hostile));
        assert_string_equal(s.version, "");
        tfjson_plan_line(&d, &s, tofu, strlen(tofu));
        assert_string_equal(s.version, "1.8.0");
}

static void show_counts_like_terraform(void **state)
{
        static const char show[] =
                "{\"format_version\":\"1.2\",\"resource_changes\":["
                "{\"address\":\"a.b\",\"change\":{\"actions\":[\"create\"]}},"
                "{\"address\":\"a.c\",\"change\":{\"actions\":[\"delete\",\"create\"]}},"
                "{\"address\":\"a.d\",\"change\":{\"actions\":[\"update\"]}},"
                "{\"address\":\"a.e\",\"change\":{\"actions\":[\"no-op\"]}},"
                "{\"address\":\"a.f\",\"change\":{\"actions\":[\"read\"]}},"
                "{\"address\":\"a.g\",\"change\":{\"actions\":[\"delete\"]}},"
                "{\"address\":\"a.h\",\"change\":{\"actions\":[\"no-op\"],\"importing\":{\"id\":\"x\"}}},"
                "{\"address\":\"bad\",\"change\":\"nope\"}]}";
        struct tf_plan_summary s;
        struct err e = ERR_INIT;

        assert_int_equal(tfjson_parse_show(&s, show, strlen(show), &e), 0);
        assert_true(s.known);
        assert_int_equal(s.add, 2);
        assert_int_equal(s.change, 1);
        assert_int_equal(s.destroy, 2);
        assert_int_equal(s.import, 1);
        assert_true(tfjson_parse_show(&s, "{\"resource_changes\":{}}", 23, &e) < 0);
        assert_non_null(strstr(e.msg, "not a list"));
}

static void caps_hold(void **state)
{
        struct tf_diags d = { 0 };
        struct err e = ERR_INIT;
        char *big_summary = xmalloc(10000);
        char *doc;
        bool valid;

        memset(big_summary, 'x', 9999);
        big_summary[9999] = '\0';
        for (int i = 0; i < TFJSON_MAX_DIAGS + 50; i++) {
                char line[256];

                snprintf(line, sizeof(line), "{\"type\":\"diagnostic\",\"diagnostic\":{\"severity\":\"error\",\"summary\":\"d%d\"}}", i);
                tfjson_plan_line(&d, &(struct tf_plan_summary){ 0 }, line, strlen(line));
        }
        assert_int_equal(d.n, TFJSON_MAX_DIAGS);
        assert_int_equal(d.dropped, 50);
        tf_diags_free(&d);
        doc = xasprintf("{\"diagnostics\":[{\"severity\":\"error\",\"summary\":\"%s\"}]}", big_summary);
        assert_int_equal(tfjson_parse_validate(&d, &valid, doc, strlen(doc), &e), 0);
        assert_int_equal(strlen(d.v[0].summary), TFJSON_MAX_FIELD + 3);
        tf_diags_free(&d);
        free(doc);
        free(big_summary);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(validate_diagnostics),
                cmocka_unit_test(validate_valid_and_garbage),
                cmocka_unit_test(plan_stream),
                cmocka_unit_test(version_is_checked),
                cmocka_unit_test(show_counts_like_terraform),
                cmocka_unit_test(caps_hold),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
