/* pipeline.h - one job, from fetch to report (DESIGN.md "The pipeline").
 *
 *   fetch    libgit2 fetch of the one commit into a fresh workspace
 *   inspect  the provider gate; an error finding stops the job here
 *   prepare  CLI config (mirror only), override file, jail specs
 *   emulate  the job's network namespace, the emulator jailed in it, ready
 *   run      init, validate, plan, show (+ apply, destroy): each jailed
 *   report   result.json (and result.dsse.json when a key is configured)
 *   clean    emulator stopped, namespace dropped, workspace deleted
 *
 * The caller (tfgate check, the daemon) supplies the job and where the
 * filtered log goes; the pipeline never talks to a forge.  Clean-up runs on
 * every path.  The verdict comes from exit statuses the jail's supervisor
 * reaped and from inspection findings, never from anything a step printed. */
#ifndef TFGATE_PIPELINE_H
#define TFGATE_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runner/config/config.h"
#include "runner/redact/logsink.h"
#include "runner/redact/redact.h"
#include "runner/sign/audit.h"
#include "runner/sign/result.h"
#include "runner/util/err.h"
#include "runner/util/randid.h"

struct pipeline_job {
        char exec_id[RANDID_HEX_LEN + 1]; /* filled by pipeline_run when empty */
        const char *forge;              /* "local", "gitlab", "github" */
        const char *project;            /* shown in the result */
        const char *url;                /* repository URL or local path */
        unsigned url_flags;             /* fetch/url.h: URL_ALLOW_LOCAL, ... */
        const char *forge_url;          /* non-NULL: repo host must match */
        const char *sha;                /* 40 hex */
        const char *ref;                /* may be "" */
        const char *const *refspecs;
        size_t n_refspecs;
        const char *username;           /* clone credentials, never logged */
        const char *password;
        const char *const *tf_vars;     /* "NAME=VALUE", already allowlisted */
        const struct redact_registry *secrets; /* frozen; NULL = patterns only */
        enum tf_mode mode;
        uint64_t timeout_ms;            /* 0 = cfg->sandbox.wall_timeout */
        int cancel_fd;                  /* -1, or readable = cancel */
        bool keep_workspace;            /* debugging: leave it in place */
};

/* where the job's output goes */
struct pipeline_hooks {
        logsink_text_fn log;            /* filtered log bytes (forge or terminal) */
        void *log_arg;
        int log_file_fd;                /* -1 none */
        /* progress for people: phase names ("fetch", "inspect", "init", ...) */
        void (*phase)(void *arg, const char *phase, bool begin, const char *detail);
        void *phase_arg;
        /* a trusted marker line for a step header (e.g. GitLab sections); NULL = plain */
        char *(*section)(void *arg, const char *name, bool begin);
        void *section_arg;
        /* the runner's audit log (NULL = none): the pipeline appends fetched,
         * inspected, step_finished, reported and cleaned; the caller the rest */
        struct audit_log *audit;
};

enum pipeline_status {
        PIPELINE_PASSED = 0,
        PIPELINE_FAILED,        /* the check failed: findings or a step failed */
        PIPELINE_ERROR,         /* tfgate or the infrastructure failed */
        PIPELINE_TIMEOUT,       /* the job's wall-clock limit */
        PIPELINE_CANCELED,
};

struct pipeline_outcome {
        enum pipeline_status status;
        char reason[256];               /* one line, no secrets, no paths */
        char detail[ERR_MSG_MAX];       /* local detail (may name paths) */
        struct result *result;          /* NULL only when nothing could be recorded */
        char *result_json;              /* the exact bytes written and signed */
        size_t result_len;
        char *envelope;                 /* result.dsse.json, NULL when unsigned */
        size_t envelope_len;
        bool executed;                  /* terraform ran */
        char skipped[160];              /* why execution was skipped, "" when it ran */
        int failed_exit_code;           /* the failing step's exit code, 0 none */
        uint64_t dropped_log_bytes;
};

void pipeline_outcome_free(struct pipeline_outcome *o);

/* Run job with cfg.  Returns 0 when an outcome was produced (see
 * out->status, PASSED or not), negative only when not even a result could
 * be made (err says why).  out_dir (NULL = none) receives result.json and
 * result.dsse.json. */
int pipeline_run(struct pipeline_outcome *out, const struct config *cfg,
                 struct pipeline_job *job, const struct pipeline_hooks *hooks,
                 const char *out_dir, struct err *err);

const char *pipeline_status_name(enum pipeline_status s);

/* the terraform binary: cfg->terraform.binary if it has a '/', else found
 * in PATH; NULL when there is none (execution is then skipped) */
char *pipeline_find_terraform(const struct config *cfg);

#endif
