/* test_lockfile.c - the .terraform.lock.hcl reader: Terraform's real
 * example, field values and line numbers, and each error rule with its
 * position. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runner/providers/lockfile.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

/* Terraform's e2e fixture terraform-providers-mirror-with-lock-file
 * (reference/terraform.md), truncated to four hashes */
static const char real_lock[] =
        "# This file is maintained automatically by \"terraform init\".\n"
        "# Manual edits may be lost in future updates.\n"
        "\n"
        "provider \"registry.terraform.io/hashicorp/null\" {\n"
        "  version     = \"2.1.0\"\n"
        "  constraints = \"2.1.0\"\n"
        "  hashes = [\n"
        "    \"h1:J/XPKw4nOAsE0iHHqkR0oIBfchtt3pokNj4gFlHqVvk=\",\n"
        "    \"h1:uugNjv4FEabvXfifTzRCqSerdraltZR0UwXzH8QYPUQ=\",\n"
        "    \"zh:022eb9cefb72d25cb39aebf17787ae5a1a239544abae7ac11fdc2b5a464c06f8\",\n"
        "    \"zh:089aec7ba6b9843741fec84e0bc046d97d2e41a9fedbe5d77124e66227395c63\",\n"
        "  ]\n"
        "}\n"
        "\n"
        "provider \"registry.opentofu.org/hashicorp/aws\" {\n"
        "  version     = \"5.31.0\"\n"
        "  constraints = \">= 5.0.0, ~> 5.31\"\n"
        "}\n"
        "\n"
        "module \"reserved\" {\n"
        "}\n";

static void real_example(void **state)
{
        _cleanup_(lock_file_freep) struct lock_file *f = NULL;
        const struct lock_provider *p;
        struct err e = ERR_INIT;
        struct tfver v;

        if (lock_parse(&f, ".terraform.lock.hcl", real_lock, strlen(real_lock), &e) < 0)
                fail_msg("%s", e.msg);
        assert_int_equal(f->n, 2);
        p = lock_find(f, "registry.terraform.io/hashicorp/null");
        assert_non_null(p);
        assert_int_equal(p->line, 4);
        assert_string_equal(p->version, "2.1.0");
        assert_int_equal(p->version_line, 5);
        assert_string_equal(p->constraints, "2.1.0");
        assert_int_equal(p->n_hashes, 4);
        assert_string_equal(p->hashes[0].value, "h1:J/XPKw4nOAsE0iHHqkR0oIBfchtt3pokNj4gFlHqVvk=");
        assert_int_equal(p->hashes[0].line, 8);
        assert_int_equal(p->hashes[0].col, 5);
        assert_string_equal(p->hashes[3].value, "zh:089aec7ba6b9843741fec84e0bc046d97d2e41a9fedbe5d77124e66227395c63");
        assert_int_equal(p->hashes[3].line, 11);
        assert_true(tfcons_allows(&p->cons, &p->v));
        p = lock_find(f, "registry.opentofu.org/hashicorp/aws");
        assert_non_null(p);
        assert_int_equal(p->n_hashes, 0);
        assert_int_equal(p->constraints_line, 17);
        assert_int_equal(tfver_parse(&v, "5.99.0", &e), 0);
        assert_true(tfcons_allows(&p->cons, &v));
        assert_int_equal(tfver_parse(&v, "6.0.0", &e), 0);
        assert_false(tfcons_allows(&p->cons, &v));
        assert_null(lock_find(f, "registry.terraform.io/hashicorp/aws"));
}

struct bad {
        const char *src;
        const char *want;       /* "LINE:COL: text" fragment */
};

static const struct bad bads[] = {
        { "provider \"hashicorp/aws\" {\n  version = \"1.0.0\"\n}\n", "1:1: Non-normalized provider source address" },
        { "provider \"aws\" {\n  version = \"1.0.0\"\n}\n", "1:1: Non-normalized" },
        { "provider \"Registry.terraform.io/example/example\" {\n  version = \"1.0.0\"\n}\n", "Non-normalized" },
        { "provider \"registry.terraform.io/eXample/example\" {\n  version = \"1.0.0\"\n}\n", "Non-normalized" },
        { "provider \"\" {\n}\n", "Invalid provider source address" },
        { "provider \"too/many/parts/here\" {\n}\n", "Invalid provider source address" },
        { "provider \"registry.terraform.io/a--b/c\" {\n}\n", "Invalid provider source address" },
        { "provider \"registry.terraform.io/-a/c\" {\n}\n", "Invalid provider source address" },
        { "provider \"registry.terraform.io/a/c.d\" {\n}\n", "Invalid provider source address" },
        { "provider \"registry.terraform.io/a/b c\" {\n}\n", "Invalid provider source address" },
        { "provider \"registry.terraform.io/a/\xc3\xa4\" {\n}\n", "Invalid provider source address" },
        { "provider \"terraform.io/builtin/terraform\" {\n  version = \"1.0.0\"\n}\n", "built-in" },
        { "provider \"registry.terraform.io/a/b\" {\n  version = \"1.0.0\"\n}\n\nprovider \"registry.terraform.io/a/b\" {\n  version = \"1.0.0\"\n}\n",
          "5:1: Duplicate provider lock" },
        { "provider \"registry.terraform.io/a/b\" {\n  constraints = \">= 1.0.0\"\n}\n", "1:1: Missing required argument" },
        { "provider \"registry.terraform.io/a/b\" {\n  version = \"1.0\"\n}\n", "2:13: Invalid provider version number: must be written in normalized form: \"1.0.0\"" },
        { "provider \"registry.terraform.io/a/b\" {\n  version = \"v1.0.0\"\n}\n", "Invalid provider version number" },
        { "provider \"registry.terraform.io/a/b\" {\n  version = \"01.0.0\"\n}\n", "normalized form: \"1.0.0\"" },
        { "provider \"registry.terraform.io/a/b\" {\n  version = 1\n}\n", "must be a string" },
        { "provider \"registry.terraform.io/a/b\" {\n  version = var.v\n}\n", "must be a string" },
        { "provider \"registry.terraform.io/a/b\" {\n  version = \"1.0.0\"\n  constraints = \">=1.0\"\n}\n",
          "3:17: Invalid provider version constraints: must be written in normalized form: \">= 1.0.0\"" },
        { "provider \"registry.terraform.io/a/b\" {\n  version = \"1.0.0\"\n  constraints = \"< 2.0.0, >= 1.0.0\"\n}\n",
          "normalized form: \">= 1.0.0, < 2.0.0\"" },
        { "provider \"registry.terraform.io/a/b\" {\n  version = \"1.0.0\"\n  constraints = \"=> 1.0\"\n}\n",
          "Invalid provider version constraints" },
        { "provider \"registry.terraform.io/a/b\" {\n  version = \"1.0.0\"\n  hashes = []\n}\n", "3:12: Invalid provider hash set" },
        { "provider \"registry.terraform.io/a/b\" {\n  version = \"1.0.0\"\n  hashes = \"h1:x\"\n}\n", "Invalid provider hash set" },
        { "provider \"registry.terraform.io/a/b\" {\n  version = \"1.0.0\"\n  hashes = [\n    \"nocolon\",\n  ]\n}\n",
          "4:5: Invalid provider hash string" },
        { "provider \"registry.terraform.io/a/b\" {\n  version = \"1.0.0\"\n  hashes = [\":x\"]\n}\n", "Invalid provider hash string" },
        { "provider \"registry.terraform.io/a/b\" {\n  version = \"1.0.0\"\n  hashes = [1]\n}\n", "Invalid provider hash string" },
        { "provider \"registry.terraform.io/a/b\" {\n  version = \"1.0.0\"\n  hash = [\"h1:x\"]\n}\n", "3:3: Unsupported argument" },
        { "provider \"registry.terraform.io/a/b\" {\n  version = \"1.0.0\"\n  inner {\n  }\n}\n", "Unsupported block type" },
        { "terraform {\n}\n", "1:1: Unsupported block type" },
        { "version = \"1.0.0\"\n", "1:1: Unsupported argument" },
        { "provider {\n}\n", "Missing name for provider" },
        { "provider \"registry.terraform.io/a/b\" \"x\" {\n}\n", "Extraneous label" },
        { "provider \"registry.terraform.io/a/b\" {\n  version = \"1.0.0\"\n", "" },   /* HCL syntax error */
};

static void error_rules(void **state)
{
        int failures = 0;

        for (size_t i = 0; i < ARRAY_SIZE(bads); i++) {
                struct lock_file *f = NULL;
                struct err e = ERR_INIT;

                if (lock_parse(&f, "L.hcl", bads[i].src, strlen(bads[i].src), &e) == 0) {
                        print_error("case %zu accepted\n", i);
                        lock_file_free(f);
                        failures++;
                        continue;
                }
                assert_null(f);
                if (strncmp(e.msg, "L.hcl:", 6) != 0 || strstr(e.msg, bads[i].want) == NULL) {
                        print_error("case %zu: \"%s\" lacks \"%s\"\n", i, e.msg, bads[i].want);
                        failures++;
                }
        }
        assert_int_equal(failures, 0);
}

static void accepted_variants(void **state)
{
        static const char *const goods[] = {
                "",
                "# only comments\n",
                "provider \"registry.terraform.io/a/b\" {\n  version = \"1.0.0-beta.1+build.5\"\n}\n",
                "provider \"localhost:8443/a-b/c-d\" {\n  version = \"0.0.1\"\n  hashes = [\"other:scheme\", \"h1:x\"]\n}\n",
                "provider \"example.com/a/b\" {\n  version = \"1.0.0\"\n  constraints = \"~> 1.0\"\n}\nmodule \"m\" {\n}\n",
        };

        for (size_t i = 0; i < ARRAY_SIZE(goods); i++) {
                _cleanup_(lock_file_freep) struct lock_file *f = NULL;
                struct err e = ERR_INIT;

                if (lock_parse(&f, "L.hcl", goods[i], strlen(goods[i]), &e) < 0)
                        fail_msg("case %zu: %s", i, e.msg);
        }
}

static void from_a_file(void **state)
{
        char dir[] = "/tmp/tfgate-test-lock-XXXXXX";
        _cleanup_free_ char *p = NULL;
        _cleanup_(lock_file_freep) struct lock_file *f = NULL;
        struct err e = ERR_INIT;

        assert_non_null(mkdtemp(dir));
        p = xasprintf("%s/.terraform.lock.hcl", dir);
        assert_int_equal(file_write_new(p, real_lock, strlen(real_lock), 0644, &e), 0);
        assert_int_equal(lock_parse_path(&f, p, &e), 0);
        assert_int_equal(f->n, 2);
        assert_string_equal(f->name, p);
        assert_int_equal(rm_rf(dir, &e), 0);
        lock_file_free(TAKE_PTR(f));
        assert_true(lock_parse_path(&f, "/nonexistent/.terraform.lock.hcl", &e) < 0);
        assert_null(f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(real_example),
                cmocka_unit_test(error_rules),
                cmocka_unit_test(accepted_variants),
                cmocka_unit_test(from_a_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
