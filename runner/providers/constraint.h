/* constraint.h - provider versions and Terraform's version constraint
 * syntax, with the semantics of apparentlymart/go-versions as Terraform uses
 * it (getproviders.ParseVersionConstraints = ParseRubyStyleMulti, and
 * versions.MeetingConstraints).
 *
 * Syntax: a comma-separated list of selections, all of which must hold.
 * A selection is an optional operator (= != > >= < <= ~>), at most one space,
 * and 1 to 3 dot-separated numbers with an optional -prerelease and
 * +metadata.  No operator means "=".  Omitted numbers are zero, except that
 * "~>" counts them: "~> 1" and "~> 1.2" allow newer minor versions
 * (>= 1.0.0 < 2.0.0, >= 1.2.0 < 2.0.0), "~> 1.2.3" only newer patches
 * (>= 1.2.3 < 1.3.0).
 *
 * Pre-releases: a version with a pre-release (1.2.0-beta1) is allowed only
 * when some "=" selection names it exactly (metadata included) and every
 * other selection holds too; ">= 1.0.0" never admits 2.0.0-beta1.
 * Metadata counts only for "=" and "!="; other operators compare by semver
 * precedence.  The version 0.0.0 is allowed only by an empty constraint.
 *
 * Stricter than go-versions on purpose: a selection without any number
 * (">=" alone, which go-versions reads as ">= 0.0.0") is refused. */
#ifndef TFGATE_PROVIDERS_CONSTRAINT_H
#define TFGATE_PROVIDERS_CONSTRAINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runner/util/err.h"

#define TFVER_EXTRA_MAX 128     /* pre-release or metadata, bytes incl. NUL */
#define TFCONS_MAX_SELECTIONS 64
#define TFCONS_MAX_LEN 4096     /* constraint string, bytes */

struct tfver {
        uint64_t major, minor, patch;
        char pre[TFVER_EXTRA_MAX];      /* "" = a release */
        char meta[TFVER_EXTRA_MAX];     /* "" = none */
};

enum tfcons_op {
        TFCONS_EQ = 0,
        TFCONS_NE,
        TFCONS_GT,
        TFCONS_GE,
        TFCONS_LT,
        TFCONS_LE,
        TFCONS_TILDE_MINOR,     /* "~> X" or "~> X.Y": below the next major */
        TFCONS_TILDE_PATCH,     /* "~> X.Y.Z": below the next minor */
};

struct tfcons_sel {
        enum tfcons_op op;
        struct tfver v;         /* omitted numbers are 0 */
};

struct tfcons {
        struct tfcons_sel *sels;        /* owned */
        size_t n;                       /* 0 = no constraint: everything */
};

/* A version as written in a lock file or a mirror file name: 1 to 3
 * numbers (missing ones are 0), optional -pre and +meta, no operator, no
 * "v", no spaces.  Whether it is also normalised is tfver_format()'s job. */
int tfver_parse(struct tfver *out, const char *s, struct err *err);
/* canonical "MAJOR.MINOR.PATCH[-pre][+meta]"; returns snprintf's count */
int tfver_format(char *out, size_t n, const struct tfver *v);
/* semver precedence: <0, 0, >0; metadata is ignored */
int tfver_cmp(const struct tfver *a, const struct tfver *b);
/* identical, metadata included */
bool tfver_equal(const struct tfver *a, const struct tfver *b);

/* Parse a constraint string; "" and all-blank give an empty constraint.
 * Errors name the offending selection:
 *   invalid version constraint ">= v1.0": a "v" prefix should not be used */
int tfcons_parse(struct tfcons *out, const char *s, struct err *err);
void tfcons_free(struct tfcons *c);
static inline void tfcons_freep(struct tfcons *c)
{
        tfcons_free(c);
}

bool tfcons_allows(const struct tfcons *c, const struct tfver *v);

/* Terraform's normalised spelling (getproviders.VersionConstraintsString):
 * duplicates removed, sorted by boundary then operator, ", "-separated,
 * "~> X.Y" for minor-level pessimistic selections.  A lock file's
 * "constraints" must be written exactly like this.  Returns a malloc'd
 * string. */
char *tfcons_canonical(const struct tfcons *c);

#endif
