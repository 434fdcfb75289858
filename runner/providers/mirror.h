/* mirror.h - find a provider package in a filesystem mirror and verify it
 * against the lock file's hashes (reference/terraform.md section 2).
 *
 * Layouts under the mirror root, packed preferred:
 *   packed    HOST/NAMESPACE/TYPE/terraform-provider-TYPE_VERSION_OS_ARCH.zip
 *   unpacked  HOST/NAMESPACE/TYPE/VERSION/OS_ARCH/
 * Every path is opened beneath the mirror root (openat2 RESOLVE_BENEATH):
 * a symlink that leads outside the root is never followed and the package
 * counts as missing.  The root itself may be a symlink.
 *
 * Verification: compute h1: (and zh: for a zip) and require that at least
 * one of the lock's hashes of those schemes equals one of them (Terraform's
 * PackageMatchesAnyHash).  Other schemes are ignored.  An unpacked
 * directory can only match h1:.
 *
 * Cache: with a cache_dir, computed hashes (never verdicts) are kept in
 * cache_dir/provider-hashes, keyed by the package's real path and, for a
 * zip, its (dev, inode, size, mtime ns, ctime ns); for a directory the key
 * covers the same stat fields of every entry below it.  Any change to the
 * package changes the key and forces a rehash; ctime is in the key so a
 * restored mtime does not hide a rewrite.  Each cache line carries its own
 * checksum and a line that fails it is ignored; a cached hash that matches
 * nothing is recomputed before a mismatch is reported, so a damaged cache
 * can cost time but never change a verdict.  The file is written
 * atomically (mode 0600) and is ignored unless it is a regular file owned
 * by this user and not writable by group or others. */
#ifndef TFGATE_PROVIDERS_MIRROR_H
#define TFGATE_PROVIDERS_MIRROR_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "hash.h"
#include "runner/util/err.h"

#define MIRROR_CACHE_FILE "provider-hashes"
#define MIRROR_CACHE_MAX_ENTRIES 4096u
#define MIRROR_PLATFORM_MAX 64

enum mirror_status {
        MIRROR_VERIFIED = 0,
        MIRROR_MISSING,         /* no usable package for this version and platform */
        MIRROR_MISMATCH,        /* a package, but no lock hash matches it (or it cannot be hashed) */
        MIRROR_NOT_CONFIGURED,  /* no mirror in the configuration */
};

struct mirror_request {
        const char *source;             /* normalised HOST/NAMESPACE/TYPE */
        const char *version;            /* the locked version, e.g. "2.1.0" */
        const char *platform;           /* "linux_amd64"; NULL = this host's */
        const char *const *hashes;      /* the lock file's hash strings */
        size_t n_hashes;
};

struct mirror_result {
        enum mirror_status status;
        char reason[768];               /* one line, for findings */
        char path[PATH_MAX];            /* package path relative to the root, "" if none */
        bool packed;
        char h1[PHASH_H1_SIZE];         /* computed, "" if not */
        char zh[PHASH_ZH_SIZE];         /* computed for a zip, else "" */
        int matched;                    /* index into hashes, -1 if none */
        bool from_cache;                /* the hashes came from the cache, not a rehash */
};

/* Fill *out.  mirror_root NULL gives MIRROR_NOT_CONFIGURED; cache_dir NULL
 * disables the cache.  Returns 0 whenever a status was reached (including
 * missing and mismatch); negative only for a request that is malformed or
 * a mirror root that cannot be opened. */
int mirror_verify(struct mirror_result *out, const char *mirror_root, const char *cache_dir,
                  const struct mirror_request *req, struct err *err);

/* "verified", "missing", "mismatch", "not-configured" */
const char *mirror_status_name(enum mirror_status s);

/* this host's platform in Terraform's spelling, e.g. "linux_amd64",
 * "linux_arm64"; from uname(2) */
int mirror_host_platform(char out[MIRROR_PLATFORM_MAX], struct err *err);

#endif
