/* test_hcl_json.c - Terraform's JSON syntax read into the HCL tree:
 * schema-driven blocks, labels, arrays of bodies, templates, positions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runner/hcl/hcl.h"

static const char doc[] =
        "{\n"
        "  \"//\": \"generated\",\n"
        "  \"terraform\": [{\n"
        "    \"required_version\": \">= 1.6\",\n"
        "    \"required_providers\": {\n"
        "      \"aws\": { \"source\": \"hashicorp/aws\", \"version\": \"~> 5.0\" }\n"
        "    },\n"
        "    \"backend\": { \"s3\": { \"bucket\": \"b\" } }\n"
        "  }],\n"
        "  \"resource\": {\n"
        "    \"null_resource\": {\n"
        "      \"x\": {\n"
        "        \"triggers\": { \"a\": \"${var.a}\", \"b\": \"$${lit}\" },\n"
        "        \"provisioner\": [\n"
        "          { \"local-exec\": { \"command\": \"echo hi\" } },\n"
        "          { \"remote-exec\": { \"inline\": [\"ls\"] } }\n"
        "        ]\n"
        "      }\n"
        "    }\n"
        "  },\n"
        "  \"data\": { \"external\": { \"e\": [ { \"program\": [\"python3\", 1.5, true, null] } ] } },\n"
        "  \"module\": { \"m\": { \"source\": \"./mod\" } }\n"
        "}\n";

static void blocks_labels_positions(void **state)
{
        struct hcl_file *f = NULL;
        struct err e = ERR_INIT;
        const struct hcl_block *tf, *rp, *res, *prov, *data;
        const struct hcl_value *trig, *prog;

        assert_int_equal(hcl_parse_json(&f, "main.tf.json", doc, strlen(doc), &e), 0);
        assert_true(f->json);
        assert_null(hcl_body_attr(&f->body, "//"));
        tf = hcl_body_next_block(&f->body, "terraform", NULL);
        assert_non_null(tf);
        assert_int_equal(tf->pos.line, 3);
        assert_int_equal(tf->pos.col, 17);
        assert_string_equal(hcl_value_str(hcl_body_attr(&tf->body, "required_version")->value), ">= 1.6");
        rp = hcl_body_next_block(&tf->body, "required_providers", NULL);
        assert_non_null(rp);
        assert_int_equal(hcl_body_attr(&rp->body, "aws")->pos.line, 6);
        assert_int_equal(hcl_body_attr(&rp->body, "aws")->pos.col, 7);
        assert_string_equal(hcl_value_str(hcl_object_get(hcl_body_attr(&rp->body, "aws")->value, "version")),
                            "~> 5.0");
        assert_string_equal(hcl_body_next_block(&tf->body, "backend", NULL)->labels[0], "s3");
        res = hcl_body_next_block(&f->body, "resource", NULL);
        assert_int_equal(res->n_labels, 2);
        assert_string_equal(res->labels[0], "null_resource");
        assert_string_equal(res->labels[1], "x");
        assert_int_equal(res->pos.line, 12);
        trig = hcl_body_attr(&res->body, "triggers")->value;
        assert_int_equal(hcl_object_get(trig, "a")->kind, HCL_EXPR);
        assert_string_equal(hcl_value_str(hcl_object_get(trig, "b")), "${lit}");
        prov = hcl_body_next_block(&res->body, "provisioner", NULL);
        assert_string_equal(prov->labels[0], "local-exec");
        assert_int_equal(prov->pos.line, 15);
        assert_int_equal(prov->pos.col, 13);
        prov = hcl_body_next_block(&res->body, "provisioner", prov);
        assert_string_equal(prov->labels[0], "remote-exec");
        assert_null(hcl_body_next_block(&res->body, "provisioner", prov));
        data = hcl_body_next_block(&f->body, "data", NULL);
        assert_string_equal(data->labels[0], "external");
        prog = hcl_body_attr(&data->body, "program")->value;
        assert_int_equal(prog->kind, HCL_LIST);
        assert_int_equal(prog->n_items, 4);
        assert_true(prog->items[1]->number == 1.5);
        assert_int_equal(prog->items[2]->kind, HCL_BOOL);
        assert_int_equal(prog->items[3]->kind, HCL_NULL);
        assert_string_equal(hcl_value_str(hcl_body_attr(&hcl_body_next_block(&f->body, "module", NULL)->body,
                                                        "source")->value), "./mod");
        hcl_file_free(f);
}

static const struct {
        const char *src, *msg;
} bad[] = {
        { "{\"a\": }", "x.tf.json:1:7: unexpected token near '}'" },
        { "[1]", "x.tf.json:1:1: a Terraform JSON file must hold one JSON object" },
        { "{\"a\": 1, \"a\": 2}", "x.tf.json:1:12: duplicate object key near '\"a\"'" },
        { "{\n \"resource\": {\"t\": \"oops\"}}", "x.tf.json:2:15: \"resource\" block: expected a JSON object, found a string" },
        { "{\"module\": {\"m\": null}}", "x.tf.json:1:13: \"module\" block: expected a JSON object, found null" },
};

static void malformed(void **state)
{
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct hcl_file *f = NULL;
                struct err e = ERR_INIT;

                assert_true(hcl_parse_json(&f, "x.tf.json", bad[i].src, strlen(bad[i].src), &e) < 0);
                if (strcmp(e.msg, bad[i].msg) != 0)
                        fail_msg("case %zu: got \"%s\", want \"%s\"", i, e.msg, bad[i].msg);
                assert_null(f);
        }
}

static void deep_json_refused(void **state)
{
        enum { n = 1000 };
        static char s[2 * n + 32];
        struct hcl_file *f = NULL;
        struct err e = ERR_INIT;
        size_t k = 0;

        memcpy(s, "{\"locals\":{\"a\":", 15);
        k = 15;
        for (size_t i = 0; i < n; i++)
                s[k++] = '[';
        for (size_t i = 0; i < n; i++)
                s[k++] = ']';
        s[k++] = '}';
        s[k++] = '}';
        assert_true(hcl_parse_json(&f, "d.tf.json", s, k, &e) < 0);
        assert_non_null(strstr(e.msg, "nesting deeper than"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(blocks_labels_positions),
                cmocka_unit_test(malformed),
                cmocka_unit_test(deep_json_refused),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
