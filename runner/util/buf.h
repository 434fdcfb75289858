/* buf.h - a growable byte buffer with a hard maximum fixed at creation.
 *
 * Anything untrusted (forge replies, logs, plan JSON, HCL files) is read into
 * a buf.  Growing past the maximum is an error (-EFBIG), never a silent
 * truncation: the buffer keeps what it held before the failed append.  The
 * data is always NUL-terminated one byte past len (the NUL is not counted
 * and does not count against max).  Modelled on curl's dynbuf. */
#ifndef TFGATE_BUF_H
#define TFGATE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "err.h"

struct buf {
        char *data;     /* NULL until the first append */
        size_t len;
        size_t cap;     /* allocated, including room for the NUL */
        size_t max;     /* hard limit on len */
};

#define BUF_INIT(max_) { NULL, 0, 0, (max_) }

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
/* forget the content, keep the allocation and the limit */
void buf_reset(struct buf *b);

int buf_append(struct buf *b, const void *p, size_t n, struct err *err);
int buf_puts(struct buf *b, const char *s, struct err *err);
int buf_putc(struct buf *b, char c, struct err *err);
int buf_printf(struct buf *b, struct err *err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
int buf_vprintf(struct buf *b, struct err *err, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));

/* drop the first n bytes (n <= len) */
void buf_consume(struct buf *b, size_t n);

/* hand the data out (NUL-terminated, never NULL) and leave b empty */
char *buf_steal(struct buf *b, size_t *len);

/* always a valid C string, "" when empty */
const char *buf_str(const struct buf *b);

static inline void buf_freep(struct buf *b)
{
        buf_free(b);
}

#endif
