/* steps.h - one terraform step, run as its own jailed process.
 *
 * The mount plan is fixed here (docs/pipeline.md): the workspace is never
 * executable; TF_DATA_DIR is writable but not executable during init and
 * read-only and executable afterwards (terraform extracts provider packages
 * there); the verified mirror is read-only throughout; the CLI config is a
 * read-only file.  So a step can only run terraform, the system binds, and
 * provider packages that passed both tfgate's and terraform's hash checks.
 *
 * Output goes through the job's logsink (redaction, caps) on its way to the
 * forge and files; validate/show stdout is also kept raw (bounded) to read
 * diagnostics and the plan summary, which are masked again before they go
 * into the result.  The exit status comes from the jail's supervisor. */
#ifndef TFGATE_STEPS_H
#define TFGATE_STEPS_H

#include <stdbool.h>
#include <stdint.h>

#include "runner/config/config.h"
#include "runner/pipeline/tfjson.h"
#include "runner/redact/logsink.h"
#include "runner/util/buf.h"
#include "runner/util/err.h"
#include "sandbox/sandbox.h"

struct step_env {
        const struct config *cfg;
        const char *repo;               /* host: the checkout   -> /workspace */
        const char *data_dir;           /* host: TF_DATA_DIR    -> /tfdata */
        const char *out_dir;            /* host: plan and state -> /tfgate-out */
        const char *terraform;          /* host path of the binary */
        const char *root;               /* root module dir, relative to the repo ("." ok) */
        const struct jail_netns *ns;    /* the job's namespace, NULL: the step's own */
        uint16_t emulator_port;         /* 0: no emulator */
        char **env;                     /* tfenv_step_env() */
        const char *cli_config;         /* content of /tfgate/cli.tfrc */
        struct logsink *log;
        int cancel_fd;                  /* -1 or readable = cancel */
        uint64_t deadline_ms;           /* CLOCK_MONOTONIC ms of the job's wall limit, 0 none */
};

struct step_outcome {
        enum tf_step step;
        struct jail_result jail;
        bool started;                   /* the jail was built and ran */
        char reason[160];               /* "exited 0", "timed out after 600s", ... */
        struct tf_diags diags;          /* unmasked: mask before reporting */
        struct tf_plan_summary plan;
        bool json_unreadable;           /* validate/show output was not what was expected */
};

/* Run step; returns 0 when the jail ran (whatever the fate: see
 * out->jail), negative when it could not be built. */
int step_run(struct step_outcome *out, const struct step_env *env, enum tf_step step,
             struct err *err);
void step_outcome_free(struct step_outcome *o);
/* did the step succeed: exited with 0 */
bool step_passed(const struct step_outcome *o);

#endif
