/* tfjson.h - reading terraform's machine-readable output.
 *
 * Everything here parses output of a process that ran hostile code, so every
 * input is bounded and every field is checked for type and size before use;
 * unknown keys are ignored (terraform adds keys between versions).  The
 * verdict never comes from here: it comes from exit statuses.  This module
 * only extracts diagnostics and the plan summary for the report.
 *
 *   validate -json   one object: {valid, diagnostics[]}
 *   plan -json       JSON lines: diagnostic and change_summary messages
 *   show -json PLAN  one object: resource_changes[].change.actions */
#ifndef TFGATE_TFJSON_H
#define TFGATE_TFJSON_H

#include <stdbool.h>
#include <stddef.h>

#include "runner/util/err.h"

#define TFJSON_MAX_DIAGS 200            /* more are counted, not kept */
#define TFJSON_MAX_FIELD 2048           /* longer strings are cut with "..." */
#define TFJSON_MAX_DOCUMENT (64u << 20) /* validate/show output */

enum tf_severity { TF_SEV_ERROR = 0, TF_SEV_WARNING, TF_SEV_UNKNOWN };

struct tf_diag {
        enum tf_severity severity;
        char *summary;
        char *detail;    /* may be NULL */
        char *file;      /* NULL for sourceless diagnostics */
        unsigned line;   /* 0 when unknown */
        unsigned column;
};

struct tf_diags {
        struct tf_diag *v;
        size_t n;
        size_t dropped;  /* beyond TFJSON_MAX_DIAGS */
};

struct tf_plan_summary {
        bool known;      /* false until a summary was read */
        unsigned add, change, destroy, import;
        char version[32]; /* from the stream's "version" message, "" if none */
};

void tf_diags_free(struct tf_diags *d);
const char *tf_severity_name(enum tf_severity s);

/* `validate -json` output: appends its diagnostics to *diags; *valid is the
 * document's own claim (reported, never trusted for the verdict) */
int tfjson_parse_validate(struct tf_diags *diags, bool *valid, const char *data, size_t len,
                          struct err *err);

/* one line of the `plan -json` / `apply -json` stream: diagnostics are
 * appended, a change_summary fills *summary, the version message names the
 * terraform (or tofu) version; other types and lines that are
 * not JSON objects are ignored (returns 0), since the stream is informative */
void tfjson_plan_line(struct tf_diags *diags, struct tf_plan_summary *summary, const char *line,
                      size_t len);

/* `show -json PLANFILE` output: counts resource_changes actions the way
 * terraform's own summary does (a replace is one add and one destroy) */
int tfjson_parse_show(struct tf_plan_summary *summary, const char *data, size_t len,
                      struct err *err);

#endif
