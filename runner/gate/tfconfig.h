/* tfconfig.h - the facts the gate needs from a repository's Terraform
 * configuration: required providers (merged per source), and every
 * construct a policy rule looks at (provisioners, data sources, backends,
 * provider blocks, module calls, override files), each with file:line.
 *
 * Reading starts at each root directory and follows local module sources
 * ("./x", "../x") with a depth and count bound, never outside the
 * repository: every directory and file is resolved with realpath(3) and
 * must lie under the repository's real path, so symlinks cannot escape.
 * File names in results are relative to the repository. */
#ifndef TFGATE_GATE_TFCONFIG_H
#define TFGATE_GATE_TFCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/err.h"

#define TFCONFIG_MAX_MODULE_DEPTH 16    /* nested local module calls */
#define TFCONFIG_MAX_DIRS 256           /* module directories read per repository */
#define TFCONFIG_MAX_FILES 4096         /* .tf / .tf.json files read per repository */

#define TFCONFIG_HOST_TERRAFORM "registry.terraform.io"
#define TFCONFIG_HOST_OPENTOFU "registry.opentofu.org"

struct tfc_loc {
        char *file;                     /* relative to the repository */
        uint32_t line, col;
};

enum tfc_kind {
        TFC_PROVISIONER = 0,    /* name: local-exec, remote-exec, file, ... */
        TFC_DATA_SOURCE,        /* name: the data source type (external, http, ...) */
        TFC_BACKEND,            /* name: the backend type */
        TFC_CLOUD,              /* terraform { cloud {} } */
        TFC_PROVIDER_BLOCK,     /* name: the provider's local name; value: its source */
        TFC_MODULE,             /* name: the call's name; value: its source text */
        TFC_OVERRIDE_FILE,      /* name: the file name */
        TFC_REQUIRED_VERSION,   /* value: the constraint */
};

enum tfc_module_source {
        TFC_MOD_LOCAL = 0,      /* inside the repository, followed */
        TFC_MOD_REMOTE,         /* registry or go-getter address */
        TFC_MOD_ESCAPES,        /* local path resolving outside the repository */
        TFC_MOD_NOT_LITERAL,    /* source is not a literal string */
        TFC_MOD_TOO_DEEP,       /* not followed: depth or count bound reached */
};

struct tfc_item {
        enum tfc_kind kind;
        char *name;
        char *value;                    /* NULL when not applicable */
        enum tfc_module_source mod;     /* TFC_MODULE only */
        struct tfc_loc loc;
};

/* one provider, merged over every module that requires or uses it */
struct tfc_provider {
        char *source;                   /* normalised HOST/NAMESPACE/TYPE */
        char **constraints;             /* distinct constraint strings, in the
                                         * order met; NULL-terminated */
        size_t n_constraints;
        bool declared;                  /* in some required_providers */
        struct tfc_loc loc;             /* first declaration, else first use */
};

struct tfconfig {
        char **roots;                   /* as given, NULL-terminated */
        size_t n_roots;
        char **dirs;                    /* every directory read, relative */
        size_t n_dirs;
        size_t n_files;
        struct tfc_item *items;
        size_t n_items;
        struct tfc_provider *providers; /* sorted by source */
        size_t n_providers;
};

/* Read the configuration of roots (relative to repo; NULL or empty = ".").
 * default_host is TFCONFIG_HOST_TERRAFORM or _OPENTOFU (see
 * tfconfig_default_host).  Fails with -EBADMSG when a file is not valid
 * (HCL syntax, an invalid provider source, a file or root escaping the
 * repository): the message is "FILE:LINE:COL: what"; other negative codes
 * are I/O errors. */
int tfconfig_load(struct tfconfig **out, const char *repo, char *const *roots, size_t n_roots,
                  const char *default_host, struct err *err);
void tfconfig_free(struct tfconfig *c);
static inline void tfconfig_freep(struct tfconfig **c)
{
        tfconfig_free(*c);
}

/* registry.opentofu.org when the binary's basename is "tofu", else
 * registry.terraform.io */
const char *tfconfig_default_host(const char *binary);

/* "aws", "hashicorp/aws", "HOST/ns/aws" -> "HOST/namespace/type", lower
 * case; one part means namespace "hashicorp".  -EINVAL on anything else. */
int tfconfig_normalise_source(char **out, const char *source, const char *default_host,
                              struct err *err);

/* true for override.tf, override.tf.json, *_override.tf, *_override.tf.json */
bool tfconfig_is_override_file(const char *name);

#endif
