#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runner/pipeline/tfenv.h"
#include "runner/util/cleanup.h"

static void cli_config_is_mirror_only(void **state)
{
        struct buf b = BUF_INIT(4096);
        struct err e = ERR_INIT;

        assert_int_equal(tfenv_cli_config(&b, &e), 0);
        assert_non_null(strstr(buf_str(&b), "filesystem_mirror {\n    path    = \"/providers\""));
        assert_non_null(strstr(buf_str(&b), "disable_checkpoint = true"));
        assert_null(strstr(buf_str(&b), "direct"));
        assert_null(strstr(buf_str(&b), "network_mirror"));
        assert_null(strstr(buf_str(&b), "dev_overrides"));
        buf_free(&b);
}

static void override_nothing_needed(void **state)
{
        struct buf b = BUF_INIT(4096);
        struct err e = ERR_INIT;
        struct tfenv_override o = { .aws = false, .emulator_port = 4566 };

        assert_int_equal(tfenv_override_file(&b, &o, &e), 0);
        assert_int_equal(b.len, 0);
        o.aws = true;
        o.emulator_port = 0; /* emulator: none */
        assert_int_equal(tfenv_override_file(&b, &o, &e), 0);
        assert_int_equal(b.len, 0);
        buf_free(&b);
}

static void override_aws_and_backend(void **state)
{
        static const char *const aliases[] = { "west", NULL };
        struct buf b = BUF_INIT(65536);
        struct err e = ERR_INIT;
        struct tfenv_override o = {
                .aws = true, .aws_aliases = aliases, .backend = true,
                .emulator_port = 4566, .region = "eu-west-1",
        };
        const char *s;

        assert_int_equal(tfenv_override_file(&b, &o, &e), 0);
        s = buf_str(&b);
        assert_non_null(strstr(s, "backend \"local\" {\n    path = \"/tfgate-out/terraform.tfstate\""));
        assert_non_null(strstr(s, "region                      = \"eu-west-1\""));
        assert_non_null(strstr(s, "s3             = \"http://127.0.0.1:4566\""));
        assert_non_null(strstr(s, "alias                       = \"west\""));
        /* two provider blocks: default and the alias */
        assert_non_null(strstr(strstr(s, "provider \"aws\"") + 1, "provider \"aws\""));
        buf_free(&b);
}

static void override_refuses_injection(void **state)
{
        static const char *const bad[] = { "x\"\n}\nprovider \"evil\" {", NULL };
        struct buf b = BUF_INIT(65536);
        struct err e = ERR_INIT;
        struct tfenv_override o = { .aws = true, .aws_aliases = bad, .emulator_port = 4566 };

        assert_true(tfenv_override_file(&b, &o, &e) < 0);
        assert_non_null(strstr(e.msg, "not an identifier"));
        buf_reset(&b);
        o.aws_aliases = NULL;
        o.region = "us-east-1\" }";
        assert_true(tfenv_override_file(&b, &o, &e) < 0);
        buf_free(&b);
}

static size_t count(char **env)
{
        size_t n = 0;

        while (env[n] != NULL)
                n++;
        return n;
}

static bool has(char **env, const char *kv)
{
        for (size_t i = 0; env[i] != NULL; i++)
                if (strcmp(env[i], kv) == 0)
                        return true;
        return false;
}

static void step_env_is_exactly_the_list(void **state)
{
        static const char *const vars[] = { "bucket=demo", NULL };
        _cleanup_strv_free_ char **env = tfenv_step_env(4566, NULL, vars);
        _cleanup_strv_free_ char **bare = tfenv_step_env(0, NULL, NULL);

        assert_true(has(env, "TF_IN_AUTOMATION=1"));
        assert_true(has(env, "TF_INPUT=0"));
        assert_true(has(env, "CHECKPOINT_DISABLE=1"));
        assert_true(has(env, "TF_CLI_CONFIG_FILE=/tfgate/cli.tfrc"));
        assert_true(has(env, "TF_DATA_DIR=/tfdata"));
        assert_true(has(env, "AWS_ACCESS_KEY_ID=test"));
        assert_true(has(env, "AWS_ENDPOINT_URL=http://127.0.0.1:4566"));
        assert_true(has(env, "TF_VAR_bucket=demo"));
        assert_int_equal(count(env), 15);
        assert_int_equal(count(bare), 8);
        assert_false(has(bare, "AWS_ACCESS_KEY_ID=test"));
        for (size_t i = 0; env[i] != NULL; i++) {
                assert_null(strstr(env[i], "TF_CLI_ARGS"));
                assert_null(strstr(env[i], "TF_PLUGIN_CACHE"));
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(cli_config_is_mirror_only),
                cmocka_unit_test(override_nothing_needed),
                cmocka_unit_test(override_aws_and_backend),
                cmocka_unit_test(override_refuses_injection),
                cmocka_unit_test(step_env_is_exactly_the_list),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
