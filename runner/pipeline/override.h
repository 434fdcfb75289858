/* override.h - the override file of one root module (tfgate_override.tf):
 * the aws provider pointed at the job's emulator, one block per aws
 * provider configuration the root module declares (the default one and
 * each alias, as tflocal does), and a local backend (tfenv.h writes the
 * text).
 *
 * Terraform merges an override file's provider block into the block with
 * the same name and alias in the same module, and refuses an aliased
 * override block that has no such base ("Missing base provider
 * configuration for override").  So the aliases come from the root
 * module's own files only: its *.tf and *.tf.json, not override files
 * (they cannot declare a base) and not subdirectories (other modules).
 *
 * Aliases are repository text.  Each must be a literal string that is a
 * Terraform identifier (tfenv_alias_valid); anything else refuses the root
 * with FILE:LINE:COL, and nothing but a validated identifier is ever
 * written into the override file. */
#ifndef TFGATE_PIPELINE_OVERRIDE_H
#define TFGATE_PIPELINE_OVERRIDE_H

#include "runner/pipeline/tfenv.h"
#include "runner/util/buf.h"
#include "runner/util/err.h"

#define OVERRIDE_MAX_ALIASES 256        /* distinct aws aliases per root */
#define OVERRIDE_MAX_FILES 4096         /* configuration files per root */

/* The distinct aliases of the `provider "aws"` blocks of the module in
 * repo/root (root "." is repo itself), in file-name then source order,
 * NULL-terminated in *out (free with strv_free).  The directory and every
 * file must resolve inside repo.  -EBADMSG ("FILE:LINE:COL: what", FILE
 * relative to repo) when an alias is not a literal identifier, a file is
 * not valid HCL or a path leaves the repository; other negative codes are
 * I/O errors. */
int override_aws_aliases(char ***out, const char *repo, const char *root, struct err *err);

/* The override file for repo/root: o, with the aws aliases of that root
 * (o->aws_aliases is ignored).  Aliases are looked for only when the file
 * gets aws blocks (o->aws and an emulator port).  Errors as above. */
int override_root_file(struct buf *out, const char *repo, const char *root,
                       const struct tfenv_override *o, struct err *err);

#endif
