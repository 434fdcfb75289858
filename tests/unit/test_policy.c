/* test_policy.c - every construct rule is triggered by a fixture and
 * reported with its file:line; actions come from the configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runner/gate/policy.h"
#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

static struct tfconfig *load(const char *name)
{
        const char *src = getenv("TFGATE_SRC");
        _cleanup_free_ char *dir = xasprintf("%s/tests/fixtures/tf/%s", src ? src : ".", name);
        struct tfconfig *c = NULL;
        struct err e = ERR_INIT;

        if (tfconfig_load(&c, dir, NULL, 0, NULL, &e) < 0)
                fail_msg("%s: %s", name, e.msg);
        return c;
}

static void defaults(struct cfg_providers *p)
{
        memset(p, 0, sizeof(*p));
        for (int r = 0; r < RULE__COUNT; r++)
                p->policy[r] = policy_default_action((enum policy_rule)r);
}

static size_t count(const struct policy_findings *fs, const char *rule, const char *file, uint32_t line,
                    enum policy_action sev)
{
        size_t n = 0;

        for (size_t i = 0; i < fs->n; i++)
                if (strcmp(policy_rule_id(fs->v[i].rule), rule) == 0 && strcmp(fs->v[i].file, file) == 0 &&
                    fs->v[i].line == line && fs->v[i].severity == sev)
                        n++;
        return n;
}

static void rule_ids_are_exact(void **state)
{
        static const char *const want[RULE__COUNT] = {
                "provisioner-local-exec", "provisioner-remote-exec", "data-external", "data-http",
                "module-remote-source", "override-file", "backend-remote", "provider-not-allowed",
                "provider-unpinned", "lock-missing", "hash-mismatch", "mirror-missing",
        };

        for (int r = 0; r < RULE__COUNT; r++)
                assert_string_equal(policy_rule_id((enum policy_rule)r), want[r]);
        assert_null(policy_rule_id(RULE__COUNT));
        assert_int_equal(policy_default_action(RULE_BACKEND_REMOTE), POLICY_WARN);
        assert_int_equal(policy_default_action(RULE_DATA_HTTP), POLICY_ERROR);
}

static void dangerous_fixture(void **state)
{
        struct tfconfig *c = load("dangerous");
        struct policy_findings fs = { 0 };
        struct cfg_providers pol;

        defaults(&pol);
        policy_check_constructs(&fs, c, &pol);
        policy_findings_sort(&fs);
        assert_int_equal(count(&fs, "provisioner-local-exec", "main.tf", 13, POLICY_ERROR), 1);
        assert_int_equal(count(&fs, "provisioner-remote-exec", "main.tf", 22, POLICY_ERROR), 1);
        assert_int_equal(count(&fs, "provisioner-remote-exec", "main.tf", 30, POLICY_ERROR), 1);
        assert_int_equal(count(&fs, "data-external", "main.tf", 36, POLICY_ERROR), 1);
        assert_int_equal(count(&fs, "data-http", "main.tf", 40, POLICY_ERROR), 1);
        assert_int_equal(count(&fs, "override-file", "backend_override.tf", 1, POLICY_ERROR), 1);
        assert_int_equal(count(&fs, "backend-remote", "backend_override.tf", 2, POLICY_WARN), 1);
        assert_int_equal(count(&fs, "backend-remote", "main.tf", 2, POLICY_WARN), 1);
        assert_int_equal(fs.n, 8);
        assert_int_equal(fs.n_errors, 6);
        assert_int_equal(fs.n_warnings, 2);
        /* sorted by file, then line */
        assert_string_equal(fs.v[0].file, "backend_override.tf");
        assert_non_null(strstr(fs.v[fs.n - 1].message, "data \"http\""));
        policy_findings_free(&fs);
        tfconfig_free(c);
}

static void modules_and_configured_actions(void **state)
{
        struct tfconfig *c = load("modules");
        struct policy_findings fs = { 0 };
        struct cfg_providers pol;

        defaults(&pol);
        pol.policy[RULE_MODULE_REMOTE_SOURCE] = POLICY_WARN;
        policy_check_constructs(&fs, c, &pol);
        assert_int_equal(count(&fs, "module-remote-source", "main.tf", 17, POLICY_WARN), 1);  /* registry */
        assert_int_equal(count(&fs, "module-remote-source", "main.tf", 22, POLICY_WARN), 1);  /* git:: */
        assert_int_equal(count(&fs, "module-remote-source", "main.tf", 26, POLICY_WARN), 1);  /* ../../etc */
        assert_int_equal(count(&fs, "module-remote-source", "main.tf", 34, POLICY_WARN), 1);  /* symlink */
        assert_int_equal(count(&fs, "provisioner-local-exec", "modules/deeper/main.tf", 2, POLICY_ERROR), 1);
        assert_int_equal(fs.n, 5);
        policy_findings_free(&fs);
        tfconfig_free(c);
}

static void json_and_clean(void **state)
{
        struct tfconfig *c = load("json"), *b = load("basic");
        struct policy_findings fs = { 0 };
        struct cfg_providers pol;

        defaults(&pol);
        policy_check_constructs(&fs, c, &pol);
        assert_int_equal(count(&fs, "provisioner-local-exec", "main.tf.json", 12, POLICY_ERROR), 1);
        assert_int_equal(count(&fs, "override-file", "override.tf.json", 1, POLICY_ERROR), 1);
        assert_int_equal(fs.n, 2);
        policy_findings_free(&fs);
        policy_check_constructs(&fs, b, &pol);
        assert_int_equal(fs.n, 1);      /* the s3 backend, a warning */
        assert_int_equal(fs.n_errors, 0);
        policy_findings_free(&fs);
        tfconfig_free(c);
        tfconfig_free(b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(rule_ids_are_exact),
                cmocka_unit_test(dangerous_fixture),
                cmocka_unit_test(modules_and_configured_actions),
                cmocka_unit_test(json_and_clean),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
