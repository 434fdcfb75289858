/* config_names.c - the names of modes, steps and policy rules (they are
 * config keys and appear in results), and the embedded default config. */
#include <errno.h>
#include <string.h>

#include "../util/cleanup.h"
#include "config.h"

static const char *const rule_names[RULE__COUNT] = {
        [RULE_PROVISIONER_LOCAL_EXEC] = "provisioner-local-exec",
        [RULE_PROVISIONER_REMOTE_EXEC] = "provisioner-remote-exec",
        [RULE_DATA_EXTERNAL] = "data-external",
        [RULE_DATA_HTTP] = "data-http",
        [RULE_MODULE_REMOTE_SOURCE] = "module-remote-source",
        [RULE_OVERRIDE_FILE] = "override-file",
        [RULE_BACKEND_REMOTE] = "backend-remote",
        [RULE_PROVIDER_NOT_ALLOWED] = "provider-not-allowed",
        [RULE_PROVIDER_UNPINNED] = "provider-unpinned",
        [RULE_LOCK_MISSING] = "lock-missing",
        [RULE_HASH_MISMATCH] = "hash-mismatch",
        [RULE_MIRROR_MISSING] = "mirror-missing",
};

static const char *const step_names[TF_STEP__COUNT] = {
        [TF_STEP_INIT] = "init", [TF_STEP_VALIDATE] = "validate", [TF_STEP_PLAN] = "plan",
        [TF_STEP_SHOW] = "show", [TF_STEP_APPLY] = "apply", [TF_STEP_DESTROY] = "destroy",
};

static const char *const mode_names[] = {
        [TF_MODE_VALIDATE] = "validate", [TF_MODE_PLAN] = "plan", [TF_MODE_APPLY] = "apply",
};

const char *policy_rule_name(enum policy_rule r)
{
        if ((unsigned)r >= RULE__COUNT)
                return "unknown";
        return rule_names[r];
}

int policy_rule_parse(const char *name, enum policy_rule *out)
{
        for (size_t i = 0; i < RULE__COUNT; i++) {
                if (strcmp(name, rule_names[i]) == 0) {
                        *out = (enum policy_rule)i;
                        return 0;
                }
        }
        return -EINVAL;
}

const char *tf_step_name(enum tf_step s)
{
        if ((unsigned)s >= TF_STEP__COUNT)
                return "unknown";
        return step_names[s];
}

const char *tf_mode_name(enum tf_mode m)
{
        if ((unsigned)m >= ARRAY_SIZE(mode_names))
                return "unknown";
        return mode_names[m];
}

int tf_mode_parse(const char *s, enum tf_mode *out)
{
        for (size_t i = 0; i < ARRAY_SIZE(mode_names); i++) {
                if (strcmp(s, mode_names[i]) == 0) {
                        *out = (enum tf_mode)i;
                        return 0;
                }
        }
        return -EINVAL;
}

/* What `tfgate check` runs with when no -c is given.  It spells out the
 * built-in defaults (test_config checks that it loads to exactly what an
 * empty file does), so reading it tells a user what they get. */
static const char default_yaml[] =
        "# tfgate's embedded default configuration (tfgate check with no -c).\n"
        "# state_dir and work_dir are left to their computed defaults.\n"
        "concurrency: 2\n"
        "forges: []\n"
        "terraform:\n"
        "  binary: terraform          # looked up in PATH\n"
        "  mode: plan\n"
        "  roots: [\".\"]\n"
        "  timeouts: {init: 10m, validate: 5m, plan: 20m, show: 5m, apply: 30m, destroy: 30m}\n"
        "  variables: []\n"
        "providers:\n"
        "  allow: []                  # nothing is allowed until you list it\n"
        "  policy:\n"
        "    provisioner-local-exec: error\n"
        "    provisioner-remote-exec: error\n"
        "    data-external: error\n"
        "    data-http: error\n"
        "    module-remote-source: error\n"
        "    override-file: error\n"
        "    backend-remote: warn        # the runner replaces backends with a local one\n"
        "    provider-not-allowed: error\n"
        "    provider-unpinned: error\n"
        "    lock-missing: error\n"
        "    hash-mismatch: error\n"
        "    mirror-missing: error\n"
        "emulator:\n"
        "  # LocalStack (pip install 'localstack<=4.14.0'; later versions need an\n"
        "  # auth token), started in its own jail inside the job's network namespace.\n"
        "  command: [localstack, start, --host, --no-banner]\n"
        "  env:\n"
        "    GATEWAY_LISTEN: \"127.0.0.1:4566\"\n"
        "    PERSISTENCE: \"0\"\n"
        "    SKIP_SSL_CERT_DOWNLOAD: \"1\"\n"
        "    DISABLE_EVENTS: \"1\"\n"
        "    SKIP_INFRA_DOWNLOADS: \"1\"\n"
        "  health: /_localstack/health\n"
        "  port: 4566\n"
        "  ready_timeout: 60s\n"
        "sandbox:\n"
        "  memory: 2GiB\n"
        "  pids: 512\n"
        "  cpu: 10m\n"
        "  wall_timeout: 30m\n"
        "  workspace_size: 1GiB\n"
        "  output_limit: 16MiB\n"
        "signing: {}\n"
        "audit: {}\n"
        "http:\n"
        "  badges: false\n"
        "log:\n"
        "  level: info\n"
        "  format: text\n";

int config_load_default(struct config **out, struct err *err)
{
        return config_load_string(out, default_yaml, sizeof(default_yaml) - 1, "<default>", NULL, err);
}
