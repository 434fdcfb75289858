#include "tfenv.h"

#include <errno.h>
#include <string.h>

#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

/* the services tfgate points at the emulator; others keep the provider's
 * default endpoints, which are unreachable from the jail's network
 * namespace, so a plan touching them fails instead of leaving the job */
static const char *const aws_services[] = {
        "s3", "sts", "iam", "dynamodb", "sqs", "sns", "lambda", "kms",
        "secretsmanager", "ssm", "cloudwatch", "logs", "ec2", "route53",
        "kinesis", "events", "stepfunctions", "apigateway", "cloudformation",
};

int tfenv_cli_config(struct buf *out, struct err *err)
{
        return buf_printf(out, err,
                          "# written by tfgate: providers come only from the verified mirror\n"
                          "disable_checkpoint = true\n"
                          "provider_installation {\n"
                          "  filesystem_mirror {\n"
                          "    path    = \"%s\"\n"
                          "    include = [\"registry.terraform.io/*/*\", \"registry.opentofu.org/*/*\"]\n"
                          "  }\n"
                          "}\n",
                          TFENV_MIRROR);
}

static int aws_provider_block(struct buf *out, const char *alias, unsigned port,
                              const char *region, struct err *err)
{
        int r = buf_puts(out, "provider \"aws\" {\n", err);

        if (r == 0 && alias != NULL)
                r = buf_printf(out, err, "  alias                       = \"%s\"\n", alias);
        if (r == 0)
                r = buf_printf(out, err,
                               "  access_key                  = \"test\"\n"
                               "  secret_key                  = \"test\"\n"
                               "  region                      = \"%s\"\n"
                               "  s3_use_path_style           = true\n"
                               "  skip_credentials_validation = true\n"
                               "  skip_metadata_api_check     = true\n"
                               "  skip_requesting_account_id  = true\n"
                               "  endpoints {\n",
                               region);
        for (size_t i = 0; r == 0 && i < ARRAY_SIZE(aws_services); i++)
                r = buf_printf(out, err, "    %-14s = \"http://127.0.0.1:%u\"\n", aws_services[i], port);
        if (r == 0)
                r = buf_puts(out, "  }\n}\n", err);
        return r;
}

/* An alias is an identifier (hclsyntax.ValidIdentifier: a letter or '_',
 * then letters, digits, '_' and '-'); anything else would inject HCL.
 * Terraform also allows non-ASCII letters; tfgate does not. */
bool tfenv_alias_valid(const char *a)
{
        size_t n = strnlen(a, TFENV_ALIAS_MAX + 1);

        if (n == 0 || n > TFENV_ALIAS_MAX ||
            !((a[0] >= 'a' && a[0] <= 'z') || (a[0] >= 'A' && a[0] <= 'Z') || a[0] == '_'))
                return false;
        return strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

int tfenv_override_file(struct buf *out, const struct tfenv_override *o, struct err *err)
{
        const char *region = o->region != NULL ? o->region : "us-east-1";
        int r = 0;

        if (strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(region))
                return err_set(err, EINVAL, "region \"%s\" is not a region name", region);
        if (o->backend)
                r = buf_printf(out, err,
                               "# written by tfgate: state stays in the job's scratch space\n"
                               "terraform {\n"
                               "  backend \"local\" {\n"
                               "    path = \"%s\"\n"
                               "  }\n"
                               "}\n",
                               TFENV_STATE_FILE);
        if (r < 0 || !o->aws || o->emulator_port == 0)
                return r;
        r = buf_puts(out, "# written by tfgate: the aws provider talks to the job's emulator\n", err);
        if (r == 0)
                r = aws_provider_block(out, NULL, o->emulator_port, region, err);
        for (size_t i = 0; r == 0 && o->aws_aliases != NULL && o->aws_aliases[i] != NULL; i++) {
                /* override.c refuses these with their position; this is the
                 * writer's own guard, and never echoes the text */
                if (!tfenv_alias_valid(o->aws_aliases[i]))
                        return err_set(err, EINVAL, "provider alias %zu is not an identifier", i + 1);
                r = aws_provider_block(out, o->aws_aliases[i], o->emulator_port, region, err);
        }
        return r;
}

char **tfenv_step_env(unsigned emulator_port, const char *region, const char *const *vars)
{
        static const char *const fixed[] = {
                "PATH=" TFENV_BIN_DIR ":/usr/local/bin:/usr/bin:/bin",
                "HOME=" TFENV_HOME,
                "TF_IN_AUTOMATION=1",
                "TF_INPUT=0",
                "CHECKPOINT_DISABLE=1",
                "TF_CLI_CONFIG_FILE=" TFENV_CLI_CONFIG,
                "TF_DATA_DIR=" TFENV_DATA_DIR,
                "LANG=C.UTF-8",
        };
        size_t n = 0, cap = ARRAY_SIZE(fixed) + 8;
        char **env;

        for (size_t i = 0; vars != NULL && vars[i] != NULL; i++)
                cap++;
        env = xcalloc(cap + 1, sizeof(*env));
        for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
                env[n++] = xstrdup(fixed[i]);
        if (emulator_port != 0) {
                const char *reg = region != NULL ? region : "us-east-1";

                /* the emulator's dummy credentials: never the runner's own */
                env[n++] = xstrdup("AWS_ACCESS_KEY_ID=test");
                env[n++] = xstrdup("AWS_SECRET_ACCESS_KEY=test");
                env[n++] = xasprintf("AWS_REGION=%s", reg);
                env[n++] = xasprintf("AWS_DEFAULT_REGION=%s", reg);
                env[n++] = xasprintf("AWS_ENDPOINT_URL=http://127.0.0.1:%u", emulator_port);
                env[n++] = xstrdup("AWS_EC2_METADATA_DISABLED=true");
        }
        for (size_t i = 0; vars != NULL && vars[i] != NULL; i++)
                env[n++] = xasprintf("TF_VAR_%s", vars[i]);
        env[n] = NULL;
        return env;
}
