/* tfenv.h - what tfgate hands terraform: the CLI configuration file, the
 * override file that points the aws provider at the emulator, and the
 * environment of each step.  Pure functions of their inputs (text out), so
 * they are tested byte for byte.
 *
 * The CLI config names ONLY the filesystem mirror: no `direct {}` block, so
 * terraform never contacts a registry.  The runner must check the file exists
 * before exec, because terraform silently falls back to the network when
 * TF_CLI_CONFIG_FILE names a missing file (reference/terraform.md §2). */
#ifndef TFGATE_TFENV_H
#define TFGATE_TFENV_H

#include <stdbool.h>
#include <stddef.h>

#include "runner/util/buf.h"
#include "runner/util/err.h"

/* where things are inside the jail (fixed: nothing the job says moves them) */
#define TFENV_WORKSPACE "/workspace"
#define TFENV_DATA_DIR "/tfdata"
#define TFENV_MIRROR "/providers"
#define TFENV_ETC "/tfgate"                 /* read-only: cli.tfrc */
#define TFENV_OUT "/tfgate-out"             /* read-write: plan, state */
#define TFENV_CLI_CONFIG TFENV_ETC "/cli.tfrc"
#define TFENV_PLAN_FILE TFENV_OUT "/tfplan"
#define TFENV_STATE_FILE TFENV_OUT "/terraform.tfstate"
#define TFENV_HOME "/tmp"
#define TFENV_BIN_DIR "/opt/tfgate/bin"
#define TFENV_OVERRIDE_NAME "tfgate_override.tf"

#define TFENV_ALIAS_MAX 64             /* bytes of a provider alias */

struct tfenv_override {
        bool aws;                       /* the configuration requires hashicorp/aws */
        const char *const *aws_aliases; /* provider "aws" aliases, NULL-terminated, may be NULL */
        bool backend;                   /* the configuration declares a backend or cloud block */
        unsigned emulator_port;         /* 0 = no emulator */
        const char *region;             /* NULL = us-east-1 */
};

/* the CLI configuration (HCL) */
int tfenv_cli_config(struct buf *out, struct err *err);

/* the override file; empty output when nothing needs overriding.  One aws
 * block for the default configuration, one per alias (each must pass
 * tfenv_alias_valid, else -EINVAL). */
int tfenv_override_file(struct buf *out, const struct tfenv_override *o, struct err *err);

/* true when a is a provider alias tfgate writes: an ASCII Terraform
 * identifier of at most TFENV_ALIAS_MAX bytes */
bool tfenv_alias_valid(const char *a);

/* NULL-terminated "K=V" list for a step; vars are "NAME=VALUE" job
 * variables already filtered by the config's allowlist (exported as
 * TF_VAR_NAME).  Free with strv_free. */
char **tfenv_step_env(unsigned emulator_port, const char *region, const char *const *vars);

#endif
