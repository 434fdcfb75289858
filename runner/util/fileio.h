/* fileio.h - reading and writing whole files safely.
 *
 * file_read_all() reads at most max bytes and fails (-EFBIG) on a larger
 * file rather than truncating.  file_read_secret() additionally refuses a
 * file that is not a regular file or that is readable or writable by group
 * or others, naming the file and its mode: secrets (tokens, keys) live only
 * in such files.  Paths are opened with O_NOFOLLOW|O_CLOEXEC only where said. */
#ifndef TFGATE_FILEIO_H
#define TFGATE_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

int file_read_all(char **out, size_t *len, const char *path, size_t max, struct err *err);
int file_read_secret(char **out, size_t *len, const char *path, size_t max, struct err *err);
/* 0 when path is a regular file private to its owner, else an error naming the mode */
int file_check_private(const char *path, struct err *err);
/* read everything from an open fd, bounded like file_read_all */
int fd_read_all(char **out, size_t *len, int fd, size_t max, struct err *err);

/* write via a temporary file in the same directory and rename(2) */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct err *err);
/* write a new file; fails with -EEXIST if it exists */
int file_write_new(const char *path, const void *data, size_t len, mode_t mode, struct err *err);

int write_all(int fd, const void *data, size_t len);
int mkdir_p(const char *path, mode_t mode, struct err *err);
/* remove a tree without following symlinks and without crossing mounts */
int rm_rf(const char *path, struct err *err);

bool path_is_absolute_clean(const char *path);

#endif
