/* config.h - tfgate's configuration: one YAML file, validated completely at
 * load time into an immutable struct config.
 *
 * Every error names the file, the line and the key path:
 *     config.yaml:14: sandbox.memory: expected a size like 512MiB, got "lots"
 * Unknown keys are errors.  Nothing partial is ever returned: on failure *out
 * is left NULL.  Secret-bearing files (token_file, private_key_file,
 * client_key_file, signing.key_file) must not be readable by group or others;
 * that is checked at load time.  After loading, nothing mutates the struct:
 * pass `const struct config *` everywhere. */
#ifndef TFGATE_CONFIG_H
#define TFGATE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../util/err.h"
#include "../util/log.h"

enum forge_type { FORGE_GITLAB = 0, FORGE_GITHUB };

enum tf_mode { TF_MODE_VALIDATE = 0, TF_MODE_PLAN, TF_MODE_APPLY };

/* terraform steps, in the order they run */
enum tf_step {
        TF_STEP_INIT = 0,
        TF_STEP_VALIDATE,
        TF_STEP_PLAN,
        TF_STEP_SHOW,
        TF_STEP_APPLY,
        TF_STEP_DESTROY,
        TF_STEP__COUNT
};

/* policy rule ids (docs/inspect.md); the names are the config keys under
 * providers.policy and the "rule" field of findings */
enum policy_rule {
        RULE_PROVISIONER_LOCAL_EXEC = 0,
        RULE_PROVISIONER_REMOTE_EXEC,
        RULE_DATA_EXTERNAL,
        RULE_DATA_HTTP,
        RULE_MODULE_REMOTE_SOURCE,
        RULE_OVERRIDE_FILE,
        RULE_BACKEND_REMOTE,
        RULE_PROVIDER_NOT_ALLOWED,
        RULE_PROVIDER_UNPINNED,
        RULE_LOCK_MISSING,
        RULE_HASH_MISMATCH,
        RULE_MIRROR_MISSING,
        RULE__COUNT
};

enum policy_action { POLICY_ERROR = 0, POLICY_WARN };

struct cfg_tls {
        char *ca_file;           /* NULL: system bundle */
        char *client_cert_file;  /* mTLS, both or neither */
        char *client_key_file;
};

struct cfg_forge {
        enum forge_type type;
        char *name;              /* defaults to the type */
        /* gitlab */
        char *url;               /* https://gitlab.example.com */
        /* github */
        char *api_url;           /* default https://api.github.com */
        char *clone_url;         /* default https://github.com */
        int64_t app_id;          /* 0 = token mode (commit statuses) */
        char *private_key_file;
        char **repositories;     /* "owner/name", NULL-terminated */
        size_t n_repositories;
        uint32_t shard_index, shard_count;  /* count 0 or 1 = no sharding */
        /* both */
        char *token_file;
        struct cfg_tls tls;
        uint64_t poll_interval_ms;     /* default 3s */
        uint32_t per_project_limit;    /* default 1 */
        uint32_t request_concurrency;  /* gitlab: default 1 */
};

struct cfg_allow {
        char *source;            /* normalised HOST/NAMESPACE/TYPE */
        char *versions;          /* Terraform constraint syntax, NULL = any */
};

struct cfg_terraform {
        char *binary;                          /* default "terraform" (looked up in PATH) */
        enum tf_mode mode;                     /* default plan */
        char **roots;                          /* NULL-terminated, relative to repo root; default "." */
        size_t n_roots;
        uint64_t timeout_ms[TF_STEP__COUNT];   /* per step */
        char **variables;                      /* allowlist of job variable names passed as TF_VAR_*; NULL-terminated */
        size_t n_variables;
};

struct cfg_providers {
        char *mirror;                          /* NULL = not configured */
        struct cfg_allow *allow;
        size_t n_allow;
        enum policy_action policy[RULE__COUNT];
};

struct cfg_emulator {
        bool enabled;                          /* false for `emulator: none` */
        char **command;                        /* argv, NULL-terminated */
        size_t n_command;
        char **env;                            /* "K=V", NULL-terminated */
        size_t n_env;
        char **paths;                          /* host paths bound read-only (and executable)
                                                * at the same place in the emulator's jail,
                                                * e.g. its installation; NULL-terminated */
        size_t n_paths;
        char *health;                          /* HTTP path like "/_localstack/health", or "tcp" */
        uint16_t port;                         /* default 4566 */
        uint64_t ready_timeout_ms;             /* default 60s */
};

struct cfg_sandbox {
        uint64_t memory;                       /* bytes, default 2GiB */
        uint64_t pids;                         /* default 512 */
        uint64_t cpu_seconds;                  /* RLIMIT_CPU and cgroup quota basis, default 600 */
        uint64_t wall_timeout_ms;              /* whole job, default 30m */
        uint64_t workspace_size;               /* bytes, default 1GiB */
        uint64_t output_limit;                 /* bytes per job, default 16MiB */
};

struct cfg_signing {
        char *key_file;                        /* NULL = results unsigned */
        char *key_id;                          /* NULL = derived from the public key */
};

struct cfg_http {
        char *listen;                          /* NULL = off; "127.0.0.1:8080" */
        bool badges;
        char *public_url;
        char *webhook_secret_file;             /* GitHub webhook secret; NULL = /hooks/github off */
};

struct config {
        char *source;                          /* file name, or "<default>" */
        uint32_t concurrency;                  /* default 2 */
        char *state_dir;                       /* default /var/lib/tfgate (root) or $XDG_STATE_HOME/tfgate */
        char *work_dir;                        /* workspaces; default $TMPDIR or /tmp */
        struct cfg_forge *forges;
        size_t n_forges;
        struct cfg_terraform terraform;
        struct cfg_providers providers;
        struct cfg_emulator emulator;
        struct cfg_sandbox sandbox;
        struct cfg_signing signing;
        char *audit_path;                      /* NULL = no audit log */
        struct cfg_http http;
        enum log_level log_level;
        enum log_format log_format;
};

/* Load and validate.  On failure returns negative, *out stays NULL, and err
 * holds the first error; if errors != NULL it also receives every error
 * message found (NULL-terminated, free with strv_free). */
int config_load_file(struct config **out, const char *path, char ***errors, struct err *err);
int config_load_string(struct config **out, const char *text, size_t len, const char *name,
                       char ***errors, struct err *err);
/* the embedded default (what `tfgate check` uses with no -c) */
int config_load_default(struct config **out, struct err *err);
void config_free(struct config *c);
static inline void config_freep(struct config **c)
{
        config_free(*c);
}

/* the effective config as YAML, secrets shown as <redacted> */
int config_dump(const struct config *c, FILE *f);

const char *policy_rule_name(enum policy_rule r);
int policy_rule_parse(const char *name, enum policy_rule *out);
const char *tf_step_name(enum tf_step s);
const char *tf_mode_name(enum tf_mode m);
int tf_mode_parse(const char *s, enum tf_mode *out);

#endif
