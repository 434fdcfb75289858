/* inspect.h - the provider supply-chain gate: configuration facts
 * (tfconfig.h) joined with each root's .terraform.lock.hcl, the allowlist
 * and the mirror, plus the construct policy rules (policy.h).
 *
 * The result is a plain data structure the pipeline keeps (it goes into
 * result.json through gate_inspection_json) and the CLI prints.
 *
 * Provider rules, per root and per required provider:
 *   provider-not-allowed  no allowlist entry for its source, or the locked
 *                         version is outside the entry's `versions`
 *   lock-missing          no lock file, no lock entry for the source, or the
 *                         locked version does not satisfy the configuration's
 *                         constraints (or a constraint does not parse)
 *   provider-unpinned     the lock entry has no hash
 *   mirror-missing        mirror configured but no package for the version
 *   hash-mismatch         the mirror's package matches none of the hashes
 * A lock entry that no configuration requires is reported as a provider row
 * with unused = true ("unused": true in JSON, a note in the table), not as a
 * finding: Terraform ignores such entries and installs nothing for them. */
#ifndef TFGATE_GATE_INSPECT_H
#define TFGATE_GATE_INSPECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../config/config.h"
#include "policy.h"
#include "tfconfig.h"

enum gate_mirror {
        GATE_MIRROR_NOT_CONFIGURED = 0,
        GATE_MIRROR_VERIFIED,
        GATE_MIRROR_MISSING,
        GATE_MIRROR_MISMATCH,
};

/* one provider block of a lock file, as the lock reader gives it */
struct gate_lock_entry {
        const char *source;             /* HOST/NAMESPACE/TYPE */
        const char *version;
        const char *constraints;        /* NULL = none recorded */
        const char *const *hashes;
        size_t n_hashes;
        uint32_t line;
};

struct gate_lock {
        const char *file;               /* relative to the repository */
        bool present;                   /* false: the root has no lock file */
        const struct gate_lock_entry *entries;
        size_t n_entries;
};

/* The mirror check for one locked provider: returns the verdict and, for
 * missing / mismatch, a malloc'd detail for the finding's message. */
typedef enum gate_mirror (*gate_mirror_fn)(void *ctx, const char *source, const char *version,
                                           const char *const *hashes, size_t n_hashes,
                                           char **detail);

struct gate_provider {
        char *root;
        char *source;
        char **constraints;             /* from the configuration, NULL-terminated */
        size_t n_constraints;
        char *locked_version;           /* NULL = not in the lock file */
        char **hashes;                  /* from the lock file, NULL-terminated */
        size_t n_hashes;
        bool allowed;                   /* allowlisted and the locked version admitted */
        bool unused;                    /* in the lock file only */
        enum gate_mirror mirror;
        char *file;                     /* where it is required (or the lock file) */
        uint32_t line;
};

struct gate_inspection {
        char **roots;                   /* NULL-terminated */
        size_t n_roots;
        struct gate_provider *providers;
        size_t n_providers;
        struct policy_findings findings;
};

/* Join one root's configuration with its lock file; append provider rows
 * and findings to ins.  mirror may be NULL when pol->mirror is NULL. */
int gate_evaluate(struct gate_inspection *ins, const char *root, const struct tfconfig *tc,
                  const struct gate_lock *lock, const struct config *cfg,
                  gate_mirror_fn mirror, void *mirror_ctx, struct err *err);

struct gate_inspection *gate_inspection_new(void);
void gate_inspection_free(struct gate_inspection *ins);
static inline void gate_inspection_freep(struct gate_inspection **ins)
{
        gate_inspection_free(*ins);
}

/* no finding of severity error */
bool gate_inspection_passed(const struct gate_inspection *ins);
const char *gate_mirror_name(enum gate_mirror m);
/* a finding's severity as result.json spells it: "error" or "warning"
 * (the config key's "warn" becomes "warning") */
const char *gate_severity_name(enum policy_action a);

/* Inspect the repository at repo (a directory): for each root of
 * cfg->terraform.roots, read its configuration (tfconfig_load, default
 * host from cfg->terraform.binary) and its ROOT/.terraform.lock.hcl
 * (providers/lockfile.h; opened beneath repo, a symlink may not leave it),
 * verify each locked provider against cfg->providers.mirror
 * (providers/mirror.h, this host's platform) and evaluate the rules with
 * cfg->providers.allow and cfg->providers.policy.  A root without a lock
 * file gets a lock-missing finding per required provider.  Findings
 * repeated across roots (a shared module) are listed once.
 *
 * cache_dir holds the mirror's hash cache (NULL = no cache, every package
 * is hashed); see gate_default_cache_dir.
 *
 * Returns 0 and *out when the inspection ran, whatever its findings (see
 * gate_inspection_passed).  -EBADMSG: the repository's files cannot be
 * inspected (HCL syntax error, invalid lock file or provider source, a root
 * or file outside the repository, a missing root, too many files); err
 * holds "FILE:LINE:COL: message" and the check has failed (exit 1).  Any
 * other negative code is an I/O or mirror failure of the runner (exit 3).
 * *out is NULL on failure. */
int gate_inspect(struct gate_inspection **out, const char *repo, const struct config *cfg,
                 const char *cache_dir, struct err *err);

/* cfg->state_dir + "/cache" (created 0700) when it is a writable directory,
 * else NULL; malloc'd */
char *gate_default_cache_dir(const struct config *cfg);

/* Limits of result.json (docs/result.schema.json, runner/sign/result.c)
 * that gate_inspection_json keeps. */
#define GATE_JSON_MAX_PROVIDERS 1000
#define GATE_JSON_MAX_FINDINGS 5000
#define GATE_JSON_MAX_HASHES 256
#define GATE_JSON_MAX_HASH 256          /* code points */
#define GATE_JSON_MAX_SOURCE 256
#define GATE_JSON_MAX_CONSTRAINTS 1024
#define GATE_JSON_MAX_VERSION 128
#define GATE_JSON_MAX_TEXT 4096         /* file names, messages, roots */
/* the rule of the one finding that says rows were left out */
#define GATE_RULE_TRUNCATED "result-truncated"

/* {"roots":[...],
 *  "providers":[{"root","source","constraints","locked_version","hashes",
 *                "allowed","mirror"[,"unused":true]}],
 *  "findings":[{"rule","severity","file","line","message"}]}
 * Each array satisfies result.json's schema as it is, so the pipeline
 * passes json_object_get(j, "providers") / "findings" to
 * result_set_providers / result_set_findings:
 *   constraints  the configuration's constraints joined with ", " (their
 *                conjunction, as Terraform merges them), null when none
 *   severity     "error" or "warning"
 *   file, line   null when the finding is not about one place (line 0)
 *   strings      valid UTF-8, control characters and invalid bytes shown as
 *                \xNN / \uNNNN, cut with "..." at the schema's lengths
 *   caps         beyond GATE_JSON_MAX_* rows, the rows are left out and the
 *                last finding (rule "result-truncated", severity error if a
 *                left-out finding was an error) says how many; the verdict
 *                (gate_inspection_passed) always counts everything. */
json_t *gate_inspection_json(const struct gate_inspection *ins);
/* the human table; file names and messages are cleaned as in the JSON */
void gate_inspection_print(const struct gate_inspection *ins, FILE *f);
/* s as one line of valid UTF-8 without control characters, at most max_cp
 * code points (a cut ends in "..."); malloc'd */
char *gate_clean_line(const char *s, size_t max_cp);

#endif
