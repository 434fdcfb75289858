/* hash.h - provider package hashes as Terraform records them in
 * .terraform.lock.hcl (reference/terraform.md section 1).
 *
 *   h1:  golang.org/x/mod/sumdb/dirhash Hash1: for every file, in bytewise
 *        order of name, the line "<lowercase hex sha256 of content>  <name>\n";
 *        the result is "h1:" + base64 (standard alphabet, padded) of the
 *        sha256 of those lines.  For a zip the files are ALL its entries
 *        (HashZip: directory entries "d/" count, with empty content); for a
 *        directory they are the non-directory files below it (HashDir with
 *        an empty prefix: names relative, '/'-separated).
 *   zh:  "zh:" + lowercase hex sha256 of the zip file's bytes.
 *
 * Directory walk rules (Go's filepath.Walk + os.Open): directories are
 * descended but are not entries; a symlink is an entry whose content is
 * its target's, so a symlink to a regular file is hashed as that file,
 * while a symlink to a directory, a dangling symlink, or any special file
 * (fifo, socket, device) is an error.  Unlike Go, every path is opened
 * beneath a containment root (openat2 RESOLVE_BENEATH, or realpath and a
 * prefix check where openat2 is missing): a symlink that leads outside it
 * is an error, never followed.
 *
 * Zips are read by a bounded reader that refuses hostile or unusual input
 * (zip64, encryption, overlapping entries, duplicate or unsafe names; see
 * zipread.h).  Limits: PHASH_MAX_FILES files and PHASH_MAX_DEPTH levels in
 * a directory, ZIPR_MAX_ENTRIES entries and ZIPR_MAX_TOTAL uncompressed
 * bytes in a zip. */
#ifndef TFGATE_PROVIDERS_HASH_H
#define TFGATE_PROVIDERS_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runner/util/err.h"

#define PHASH_H1_SIZE 48        /* "h1:" + 44 base64 + NUL */
#define PHASH_ZH_SIZE 68        /* "zh:" + 64 hex + NUL */
#define PHASH_MAX_FILES 100000u
#define PHASH_MAX_DEPTH 64u

/* h1: and/or zh: of the zip open on fd (either out may be NULL).  With
 * both, the two are computed in parallel threads.  label names the file in
 * messages. */
int phash_zip(char *h1, char *zh, int fd, const char *label, struct err *err);

/* h1: of the directory rel_dir below the open directory root_fd, which is
 * also the containment root for symlinks; rel_dir "." is root_fd itself.
 * label names the directory in messages. */
int phash_dir(char *h1, int root_fd, const char *rel_dir, const char *label, struct err *err);

/* h1: of a list of in-memory files (name, content), as Hash1 defines it;
 * for tests and for callers that already hold the content */
struct phash_file {
        const char *name;
        const void *data;
        size_t len;
};
int phash_files(char *h1, const struct phash_file *files, size_t n, struct err *err);

/* "zh:" + hex sha256 of the open file from its start */
int phash_zh_fd(char *zh, int fd, const char *label, struct err *err);

/* open path (relative) beneath the directory root_fd: symlinks are followed
 * only while they stay inside it (openat2 RESOLVE_BENEATH; without openat2,
 * realpath and a prefix check).  O_CLOEXEC is added.  Returns the fd, or
 * -errno: -EXDEV (or -ELOOP) when the path leads outside. */
int phash_open_beneath(int root_fd, const char *path, int flags);

/* true when a lock-file hash string is "<scheme>:..." */
bool phash_has_scheme(const char *hash, const char *scheme);

#endif
