/* zipread.h - module-internal: a bounded reader of a zip file's central
 * directory, for hashing provider packages (hash.c).  Not part of the
 * module's interface.
 *
 * Hostile input is assumed.  Every offset and length is bounds-checked
 * against the file and the central directory; refused with a clear error:
 * zip64 archives, multi-disk archives, encrypted entries, compression
 * methods other than stored (0) and deflate (8), more than ZIPR_MAX_ENTRIES
 * entries, a total uncompressed size above ZIPR_MAX_TOTAL, entries whose
 * data overlaps another entry or the central directory, duplicate names,
 * names that are empty, absolute, contain "..", a backslash, a NUL or a
 * newline, and directory entries with content.  Entry data is checked
 * against the declared size and CRC-32 when it is read (zipr_read_entry). */
#ifndef TFGATE_PROVIDERS_ZIPREAD_H
#define TFGATE_PROVIDERS_ZIPREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runner/util/err.h"

#define ZIPR_MAX_ENTRIES 65535u
#define ZIPR_MAX_TOTAL ((uint64_t)8 << 30)      /* uncompressed bytes, all entries */
#define ZIPR_MAX_NAME 4096u
#define ZIPR_MAX_CD ((uint64_t)64 << 20)        /* central directory bytes */

struct zipr_entry {
        char *name;             /* validated, NUL-terminated */
        uint64_t lho;           /* local header offset */
        uint64_t data_off;      /* first byte of the (compressed) data */
        uint64_t csize, usize;
        uint32_t crc;
        uint16_t method;
        bool is_dir;            /* name ends in '/' */
};

struct zipr {
        int fd;                 /* borrowed */
        uint64_t size;          /* of the file */
        struct zipr_entry *e;   /* in central-directory order */
        size_t n;
};

/* read and validate the central directory of the zip open on fd; label
 * names the file in messages */
int zipr_open(struct zipr *z, int fd, const char *label, struct err *err);
void zipr_close(struct zipr *z);

/* stream one entry's uncompressed content to sink in chunks, checking the
 * declared size and CRC-32; buf/buf_len is scratch space for reading */
typedef void (*zipr_sink)(void *ctx, const void *p, size_t n);
int zipr_read_entry(const struct zipr *z, const struct zipr_entry *e, zipr_sink sink, void *ctx,
                    unsigned char *buf, size_t buf_len, struct err *err);

#endif
