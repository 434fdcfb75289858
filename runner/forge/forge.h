/* forge.h - what a forge adapter (plugin-gitlab, plugin-github) offers the
 * runner, and the job it hands over.  Adapters own every wire detail and
 * know nothing of the jail; the runner (runner/daemon) joins them with the
 * pipeline.
 *
 * A struct job is validated once, when the adapter parses it from the
 * forge's reply, and is read-only afterwards: the runner takes what it needs
 * from it and never writes to it.  Clone credentials and secret variables
 * never appear in logs; the repository URL holds no credentials. */
#ifndef TFGATE_FORGE_H
#define TFGATE_FORGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runner/util/err.h"

struct forge;
struct result;

struct job_variable {
        char *key;
        char *value;
        bool secret;            /* masked in every log (registered with the redactor) */
        bool file;              /* GitLab file variable */
};

struct job {
        struct forge *forge;    /* the adapter that produced it */
        char *id;               /* the forge's id, as text (GitLab job id, GitHub owner/repo@sha) */
        char *project;          /* "group/project", "owner/repo" */
        char *repo_url;         /* https://host/path.git, never with credentials */
        char *sha;              /* 40 (or 64) lowercase hex */
        char *ref;              /* branch or tag name, may be "" */
        char **refspecs;        /* NULL-terminated, validated by the adapter */
        size_t n_refspecs;
        char *clone_username;   /* for libgit2's credential callback; never logged */
        char *clone_password;
        struct job_variable *vars;
        size_t n_vars;
        uint64_t timeout_ms;    /* the forge's limit, 0 = the runner's default */
        void *priv;             /* the adapter's own state (job token, check run id...) */
};

/* how a job ended, from the runner's side */
enum job_outcome {
        JOB_PASSED = 0,
        JOB_FAILED,             /* the Terraform check failed */
        JOB_SYSTEM_FAILURE,     /* tfgate or its infrastructure failed */
        JOB_TIMEOUT,            /* the job's time limit */
        JOB_CANCELED,
};

struct job_report {
        enum job_outcome outcome;
        int exit_code;                  /* 0 passed; else the failing step's or 1 */
        const char *summary;            /* one generic line, safe to show (no paths, no config) */
        const struct result *result;    /* NULL when no result could be made */
        const char *result_json;        /* exact bytes of result.json, or NULL */
        size_t result_len;
        const char *envelope;           /* result.dsse.json, NULL when unsigned */
        size_t envelope_len;
        const char *log_tail;           /* the end of the filtered log */
        size_t log_tail_len;
        const char *details_url;        /* a page about this run, or NULL */
};

struct forge_ops {
        const char *name;               /* "gitlab", "github" */
        /* 0 and *out = a job; 1 = nothing to do now; negative = error (the
         * runner backs off) */
        int (*poll)(struct forge *f, struct job **out, struct err *err);
        /* mark the job running (GitLab: PUT running; GitHub: in_progress) */
        int (*start)(struct forge *f, struct job *j, struct err *err);
        /* append filtered log bytes; the adapter batches and ships them */
        int (*log)(struct forge *f, struct job *j, const char *buf, size_t n, struct err *err);
        /* a trusted marker for a step's start or end (GitLab sections); NULL = none */
        char *(*section)(struct forge *f, struct job *j, const char *name, bool begin);
        /* report the end: state, summary, artifacts; flushes the log first */
        int (*finish)(struct forge *f, struct job *j, const struct job_report *r, struct err *err);
        /* true when the forge canceled the job; called about once a second
         * while the job runs (it doubles as the keep-alive) */
        bool (*canceled)(struct forge *f, struct job *j);
        /* free what the adapter keeps for one job (priv) */
        void (*job_free)(struct forge *f, struct job *j);
        /* Crash recovery (docs/daemon.md).  job_handle: what the adapter
         * needs to report this job after the runner died (GitLab: URL, job
         * id, job token), as one line of text the runner keeps in a 0600
         * journal entry while the job runs; it holds secrets, so the caller
         * wipes it.  NULL = nothing to keep.  abandon: at the next start,
         * fail such a job as a system failure (the runner restarted) from
         * its handle, and nothing else (no log, no artifacts).  0 =
         * reported; 1 = the forge no longer accepts it (finished, canceled,
         * erased, token expired); negative = refused handle or the forge
         * could not be reached (bounded: a few tries, short timeouts).
         * Both NULL when the forge needs no such report. */
        char *(*job_handle)(struct forge *f, const struct job *j);
        int (*abandon)(struct forge *f, const char *handle, struct err *err);
        void (*free)(struct forge *f);
};

struct forge {
        const struct forge_ops *ops;
        char *name;                     /* from config, for logs and metrics */
};

/* free a job through its adapter, then the common fields; safe with NULL */
void job_free(struct job *j);
/* "gitlab", ...; and the outcome names used in logs and metrics */
const char *job_outcome_name(enum job_outcome o);
/* a 40- or 64-digit lowercase hex commit id */
bool job_sha_valid(const char *s);

#endif
