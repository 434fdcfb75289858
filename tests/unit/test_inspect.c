/* test_inspect.c - the join of configuration, lock entries, allowlist and
 * mirror verdicts: every provider rule with its file:line, unused lock
 * entries, and the JSON shape.  Lock entries are given directly (the lock
 * file reader is tested in the providers module); the mirror is a test
 * double returning a verdict per source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runner/gate/inspect.h"
#include "runner/sign/result.h"
#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

static const char *const aws_hashes[] = { "h1:aaa=", "zh:bbb" };
static const char *const rnd_hashes[] = { "h1:ccc=" };

struct fx {
        struct config cfg;
        struct cfg_allow allow[2];
        struct gate_lock_entry e[3];
        struct gate_lock lock;
        struct tfconfig *tc;
        struct gate_inspection *ins;
};

static enum gate_mirror mirror_double(void *ctx, const char *source, const char *version,
                                      const char *const *hashes, size_t n, char **detail)
{
        const char *mode = ctx;

        if (mode != NULL && strstr(source, "random") && strcmp(mode, "missing") == 0) {
                *detail = xstrdup("no terraform-provider-random_3.6.0_linux_amd64.zip");
                return GATE_MIRROR_MISSING;
        }
        if (mode != NULL && strstr(source, "aws") && strcmp(mode, "mismatch") == 0)
                return GATE_MIRROR_MISMATCH;
        return GATE_MIRROR_VERIFIED;
}

static int setup(void **state)
{
        struct fx *f = xcalloc(1, sizeof(*f));
        const char *src = getenv("TFGATE_SRC");
        _cleanup_free_ char *dir = xasprintf("%s/tests/fixtures/tf/basic", src ? src : ".");
        struct err e = ERR_INIT;

        for (int r = 0; r < RULE__COUNT; r++)
                f->cfg.providers.policy[r] = policy_default_action((enum policy_rule)r);
        f->allow[0] = (struct cfg_allow){ "registry.terraform.io/hashicorp/aws", ">= 5.0, < 6.0" };
        f->allow[1] = (struct cfg_allow){ "registry.terraform.io/hashicorp/random", NULL };
        f->cfg.providers.allow = f->allow;
        f->cfg.providers.n_allow = 2;
        f->cfg.providers.mirror = "/srv/mirror";
        f->e[0] = (struct gate_lock_entry){ "registry.terraform.io/hashicorp/aws", "5.31.0", "~> 5.0",
                                            aws_hashes, 2, 4 };
        f->e[1] = (struct gate_lock_entry){ "registry.terraform.io/hashicorp/random", "3.6.0", "~> 3.1",
                                            rnd_hashes, 1, 13 };
        f->e[2] = (struct gate_lock_entry){ "registry.terraform.io/hashicorp/null", "3.2.1", NULL,
                                            rnd_hashes, 1, 20 };
        f->lock = (struct gate_lock){ ".terraform.lock.hcl", true, f->e, 2 };
        if (tfconfig_load(&f->tc, dir, NULL, 0, NULL, &e) < 0)
                fail_msg("%s", e.msg);
        f->ins = gate_inspection_new();
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fx *f = *state;

        gate_inspection_free(f->ins);
        tfconfig_free(f->tc);
        free(f);
        return 0;
}

static size_t count(const struct gate_inspection *ins, enum policy_rule rule, const char *file, uint32_t line)
{
        size_t n = 0;

        for (size_t i = 0; i < ins->findings.n; i++)
                if (ins->findings.v[i].rule == rule && strcmp(ins->findings.v[i].file, file) == 0 &&
                    ins->findings.v[i].line == line)
                        n++;
        return n;
}

static void run(struct fx *f, void *mode)
{
        struct err e = ERR_INIT;

        assert_int_equal(gate_evaluate(f->ins, ".", f->tc, &f->lock, &f->cfg, mirror_double, mode, &e), 0);
}

static void all_good(void **state)
{
        struct fx *f = *state;
        _cleanup_free_ char *js = NULL;
        json_t *j;

        run(f, NULL);
        assert_true(gate_inspection_passed(f->ins));
        assert_int_equal(f->ins->findings.n, 1);       /* backend "s3": warn */
        assert_int_equal(f->ins->findings.v[0].rule, RULE_BACKEND_REMOTE);
        assert_int_equal(f->ins->n_providers, 2);
        assert_true(f->ins->providers[0].allowed);
        assert_int_equal(f->ins->providers[0].mirror, GATE_MIRROR_VERIFIED);
        j = gate_inspection_json(f->ins);
        js = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
        assert_string_equal(js,
                "{\"findings\":[{\"file\":\"versions.tf\",\"line\":12,\"message\":\"backend \\\"s3\\\" is replaced by a local backend on the runner\","
                "\"rule\":\"backend-remote\",\"severity\":\"warning\"}],"
                "\"providers\":[{\"allowed\":true,\"constraints\":\"~> 5.0\",\"hashes\":[\"h1:aaa=\",\"zh:bbb\"],"
                "\"locked_version\":\"5.31.0\",\"mirror\":\"verified\",\"root\":\".\",\"source\":\"registry.terraform.io/hashicorp/aws\"},"
                "{\"allowed\":true,\"constraints\":\"~> 3.1\",\"hashes\":[\"h1:ccc=\"],\"locked_version\":\"3.6.0\","
                "\"mirror\":\"verified\",\"root\":\".\",\"source\":\"registry.terraform.io/hashicorp/random\"}],"
                "\"roots\":[\".\"]}");
}

static void not_allowed_and_outside_versions(void **state)
{
        struct fx *f = *state;

        f->cfg.providers.n_allow = 1;                   /* random not listed */
        f->allow[0].versions = "< 5.0";                 /* aws 5.31.0 refused */
        run(f, NULL);
        assert_false(gate_inspection_passed(f->ins));
        assert_int_equal(count(f->ins, RULE_PROVIDER_NOT_ALLOWED, "versions.tf", 9), 1);
        assert_int_equal(count(f->ins, RULE_PROVIDER_NOT_ALLOWED, ".terraform.lock.hcl", 4), 1);
        assert_false(f->ins->providers[0].allowed);
        assert_false(f->ins->providers[1].allowed);
}

static void lock_rules(void **state)
{
        struct fx *f = *state;
        static const struct gate_lock_entry old = {
                "registry.terraform.io/hashicorp/aws", "4.67.0", NULL, aws_hashes, 0, 4 };

        f->lock.entries = &old;
        f->lock.n_entries = 1;
        run(f, NULL);
        /* random absent; aws 4.67.0 violates "~> 5.0" and the allowlist; no hashes */
        assert_int_equal(count(f->ins, RULE_LOCK_MISSING, "versions.tf", 9), 1);
        assert_int_equal(count(f->ins, RULE_LOCK_MISSING, "versions.tf", 5), 1);
        assert_int_equal(count(f->ins, RULE_PROVIDER_NOT_ALLOWED, ".terraform.lock.hcl", 4), 1);
        assert_int_equal(count(f->ins, RULE_PROVIDER_UNPINNED, ".terraform.lock.hcl", 4), 1);
        assert_null(f->ins->providers[1].locked_version);
}

static void no_lock_file(void **state)
{
        struct fx *f = *state;

        f->lock.present = false;
        run(f, NULL);
        assert_int_equal(count(f->ins, RULE_LOCK_MISSING, "versions.tf", 5), 1);
        assert_int_equal(count(f->ins, RULE_LOCK_MISSING, "versions.tf", 9), 1);
        assert_int_equal(f->ins->findings.n_errors, 2);
}

static void mirror_rules_and_unused(void **state)
{
        struct fx *f = *state;

        f->lock.n_entries = 3;                  /* + null, required by nothing */
        run(f, "missing");
        assert_int_equal(count(f->ins, RULE_MIRROR_MISSING, ".terraform.lock.hcl", 13), 1);
        assert_non_null(strstr(f->ins->findings.v[0].message, "random_3.6.0"));
        assert_int_equal(f->ins->n_providers, 3);
        assert_true(f->ins->providers[2].unused);
        assert_string_equal(f->ins->providers[2].source, "registry.terraform.io/hashicorp/null");
        gate_inspection_free(f->ins);
        f->ins = gate_inspection_new();
        run(f, "mismatch");
        assert_int_equal(count(f->ins, RULE_HASH_MISMATCH, ".terraform.lock.hcl", 4), 1);
        assert_int_equal(f->ins->providers[0].mirror, GATE_MIRROR_MISMATCH);
        /* no mirror configured: no verdict, no finding */
        gate_inspection_free(f->ins);
        f->ins = gate_inspection_new();
        f->cfg.providers.mirror = NULL;
        run(f, "mismatch");
        assert_int_equal(f->ins->providers[0].mirror, GATE_MIRROR_NOT_CONFIGURED);
        assert_true(gate_inspection_passed(f->ins));
}

static void clean_line(void **state)
{
        static const struct {
                const char *in;
                size_t max;
                const char *out;
        } cases[] = {
                { "plain", 100, "plain" },
                { "a\nb\tc\x1b[31m", 100, "a\\x0ab\\x09c\\x1b[31m" },
                { "del\x7f", 100, "del\\x7f" },
                { "csi\xc2\x9b", 100, "csi\\u009b" },           /* C1 control */
                { "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 100, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
                { "bad\xff\xc3", 100, "bad\\xff\\xc3" },          /* invalid, truncated */
                { "\xc0\xaf", 100, "\\xc0\\xaf" },                /* overlong */
                { "\xed\xa0\x80", 100, "\\xed\\xa0\\x80" },       /* surrogate */
                { "\xf4\x90\x80\x80", 100, "\\xf4\\x90\\x80\\x80" },  /* > U+10FFFF */
                { "abcdefghij", 10, "abcdefghij" },
                { "abcdefghijk", 10, "abcdefg..." },
                { "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 5, "\xc3\xa9\xc3\xa9..." },
                { "abcdef\n", 8, "abcde..." },                    /* an escape is not split */
        };

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_free_ char *o = gate_clean_line(cases[i].in, cases[i].max);

                assert_string_equal(o, cases[i].out);
        }
}

/* hostile strings and more rows than result.json holds: the arrays are
 * still accepted by the result module's validator as they are */
static void json_within_result_limits(void **state)
{
        struct fx *f = *state;
        _cleanup_(result_freep) struct result *res = result_new();
        _cleanup_free_ char *longmsg = xmalloc(10000);
        struct err e = ERR_INIT;
        struct gate_provider *p;
        json_t *j, *findings;

        run(f, NULL);
        memset(longmsg, 'x', 9999);
        longmsg[9999] = '\0';
        for (int i = 0; i < GATE_JSON_MAX_FINDINGS + 10; i++)
                policy_add(&f->ins->findings, &f->cfg.providers, RULE_DATA_HTTP, i % 2 ? "a\nb.tf" : "\xff.tf",
                           (uint32_t)i, "%s", i == 0 ? longmsg : "m\x1b[2J");
        p = &f->ins->providers[0];
        strv_free(p->hashes);
        p->hashes = xcalloc(GATE_JSON_MAX_HASHES + 2, sizeof(char *));
        for (size_t k = 0; k < GATE_JSON_MAX_HASHES + 1; k++)
                p->hashes[k] = xasprintf("h1:%zu", k);
        p->n_hashes = GATE_JSON_MAX_HASHES + 1;
        j = gate_inspection_json(f->ins);
        findings = json_object_get(j, "findings");
        assert_int_equal(json_array_size(findings), GATE_JSON_MAX_FINDINGS);
        assert_string_equal(json_string_value(json_object_get(json_array_get(findings, GATE_JSON_MAX_FINDINGS - 1),
                                                              "rule")), GATE_RULE_TRUNCATED);
        assert_string_equal(json_string_value(json_object_get(json_array_get(findings, GATE_JSON_MAX_FINDINGS - 1),
                                                              "severity")), "error");
        if (result_set_providers(res, json_object_get(j, "providers"), &e) < 0 ||
            result_set_findings(res, findings, &e) < 0)
                fail_msg("result refused the inspection's arrays: %s", e.msg);
        json_decref(j);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(all_good, setup, teardown),
                cmocka_unit_test_setup_teardown(not_allowed_and_outside_versions, setup, teardown),
                cmocka_unit_test_setup_teardown(lock_rules, setup, teardown),
                cmocka_unit_test_setup_teardown(no_lock_file, setup, teardown),
                cmocka_unit_test_setup_teardown(mirror_rules_and_unused, setup, teardown),
                cmocka_unit_test(clean_line),
                cmocka_unit_test_setup_teardown(json_within_result_limits, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
