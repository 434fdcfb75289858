/* lockfile.h - reader for .terraform.lock.hcl, with Terraform's rules
 * (internal/depsfile/locks_file.go; reference/terraform.md section 1).
 *
 * Accepted: top-level `provider "HOST/NAMESPACE/TYPE" { version = "..."
 * constraints = "..." hashes = [ "...", ... ] }` blocks.  `module` blocks
 * are reserved by Terraform and ignored (Terraform warns).  Refused, with
 * "FILE:LINE:COL: message":
 *   - any other block type or any top-level attribute;
 *   - a provider label that is not a valid address (wrong number of parts,
 *     bad characters, built-in terraform.io/builtin/..., the legacy "-"
 *     namespace), or is valid but not written in normalised form
 *     (lowercase, all three parts: "Non-normalized provider source address");
 *   - a duplicate provider block ("Duplicate provider lock");
 *   - a missing, non-string, invalid or non-normalised `version`;
 *   - `constraints` that do not parse or are not in Terraform's normalised
 *     spelling (constraint.h tfcons_canonical);
 *   - `hashes` that is not a non-empty list of "scheme:value" strings;
 *   - any other attribute or nested block inside a provider block.
 * Nothing partial is returned: on error *out stays NULL.
 *
 * Normalised addresses are checked for ASCII only: a non-ASCII (IDNA)
 * label is refused rather than normalised. */
#ifndef TFGATE_PROVIDERS_LOCKFILE_H
#define TFGATE_PROVIDERS_LOCKFILE_H

#include <stddef.h>
#include <stdint.h>

#include "constraint.h"
#include "runner/util/err.h"

#define LOCK_MAX_PROVIDERS 1024u
#define LOCK_MAX_HASHES 4096u   /* per provider */

struct lock_hash {
        char *value;            /* "h1:...", "zh:...", or another scheme */
        uint32_t line, col;
};

struct lock_provider {
        char *source;           /* normalised HOST/NAMESPACE/TYPE */
        uint32_t line, col;     /* of the block */
        char *version;          /* normalised, e.g. "2.1.0" */
        struct tfver v;
        uint32_t version_line;
        char *constraints;      /* NULL when absent */
        struct tfcons cons;     /* empty when absent */
        uint32_t constraints_line;
        struct lock_hash *hashes;       /* in file order; may be empty */
        size_t n_hashes;
};

struct lock_file {
        char *name;
        struct lock_provider *providers;        /* in file order */
        size_t n;
};

int lock_parse(struct lock_file **out, const char *name, const char *src, size_t len, struct err *err);
/* read (bounded by the HCL reader's file limit) and parse */
int lock_parse_path(struct lock_file **out, const char *path, struct err *err);
void lock_file_free(struct lock_file *f);
static inline void lock_file_freep(struct lock_file **f)
{
        lock_file_free(*f);
}

/* the provider entry for a normalised source address, or NULL */
const struct lock_provider *lock_find(const struct lock_file *f, const char *source);

#endif
