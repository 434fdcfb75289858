/* policy.h - the gate's policy rules and their findings.
 *
 * A finding names a rule (enum policy_rule in config.h; its id is the
 * config key under providers.policy and the "rule" field in JSON), a
 * severity (the rule's configured action: error or warn), the file
 * (relative to the repository) and line, and one line of message.
 *
 * The construct rules (provisioners, data sources, module sources, override
 * files, backends) are a table evaluated over the items of a tfconfig; the
 * provider rules (provider-not-allowed, provider-unpinned, lock-missing,
 * hash-mismatch, mirror-missing) are raised by the inspection, which joins
 * configuration, lock file and mirror (inspect.h). */
#ifndef TFGATE_GATE_POLICY_H
#define TFGATE_GATE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../config/config.h"
#include "tfconfig.h"

struct policy_finding {
        enum policy_rule rule;
        enum policy_action severity;
        char *file;                     /* relative to the repository */
        uint32_t line;                  /* 0 = the file as a whole */
        char *message;
};

struct policy_findings {
        struct policy_finding *v;
        size_t n, cap;
        size_t n_errors, n_warnings;
};

/* the rule's id ("provisioner-local-exec", ...), or NULL out of range */
const char *policy_rule_id(enum policy_rule r);
/* the default action of a rule: warn for backend-remote, else error */
enum policy_action policy_default_action(enum policy_rule r);
const char *policy_action_name(enum policy_action a);

/* add a finding with the action configured for rule in pol (NULL: defaults) */
void policy_add(struct policy_findings *fs, const struct cfg_providers *pol, enum policy_rule rule,
                const char *file, uint32_t line, const char *fmt, ...)
        __attribute__((format(printf, 6, 7)));

/* every construct rule over the items of tc */
void policy_check_constructs(struct policy_findings *fs, const struct tfconfig *tc,
                             const struct cfg_providers *pol);

/* sort by file, line, rule (stable output for people and tests) */
void policy_findings_sort(struct policy_findings *fs);
/* drop repeats of a finding (same rule, severity, file, line and message),
 * as when two roots call the same local module; fs must be sorted */
void policy_findings_dedup(struct policy_findings *fs);
void policy_findings_free(struct policy_findings *fs);

#endif
