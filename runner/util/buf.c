#include "buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void buf_init(struct buf *b, size_t max)
{
        b->data = NULL;
        b->len = 0;
        b->cap = 0;
        b->max = max;
}

void buf_free(struct buf *b)
{
        free(b->data);
        b->data = NULL;
        b->len = 0;
        b->cap = 0;
}

void buf_reset(struct buf *b)
{
        b->len = 0;
        if (b->data != NULL)
                b->data[0] = '\0';
}

/* make room for n more bytes plus the NUL */
static int buf_reserve(struct buf *b, size_t n, struct err *err)
{
        size_t need, cap;

        if (!size_add(&need, b->len, n) || need > b->max)
                return err_set(err, EFBIG, "buffer limit of %zu bytes reached",
                               b->max);
        need++; /* the NUL */
        if (need <= b->cap)
                return 0;
        cap = b->cap ? b->cap : 64;
        while (cap < need) {
                if (!size_mul(&cap, cap, 2)) {
                        cap = need;
                        break;
                }
        }
        /* never more than max + 1, but max + 1 itself may wrap */
        if (b->max < SIZE_MAX && cap > b->max + 1)
                cap = b->max + 1;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
        return 0;
}

int buf_append(struct buf *b, const void *p, size_t n, struct err *err)
{
        int r = buf_reserve(b, n, err);

        if (r < 0)
                return r;
        if (n > 0)
                memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

int buf_puts(struct buf *b, const char *s, struct err *err)
{
        return buf_append(b, s, strlen(s), err);
}

int buf_putc(struct buf *b, char c, struct err *err)
{
        return buf_append(b, &c, 1, err);
}

int buf_vprintf(struct buf *b, struct err *err, const char *fmt, va_list ap)
{
        va_list ap2;
        int n, r;

        va_copy(ap2, ap);
        n = vsnprintf(NULL, 0, fmt, ap2);
        va_end(ap2);
        if (n < 0)
                return err_set(err, EINVAL, "bad format");
        r = buf_reserve(b, (size_t)n, err);
        if (r < 0)
                return r;
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        b->len += (size_t)n;
        return 0;
}

int buf_printf(struct buf *b, struct err *err, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = buf_vprintf(b, err, fmt, ap);
        va_end(ap);
        return r;
}

void buf_consume(struct buf *b, size_t n)
{
        if (n >= b->len) {
                buf_reset(b);
                return;
        }
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
        b->data[b->len] = '\0';
}

char *buf_steal(struct buf *b, size_t *len)
{
        char *p = b->data;

        if (p == NULL)
                p = xstrdup("");
        if (len != NULL)
                *len = b->len;
        b->data = NULL;
        b->len = 0;
        b->cap = 0;
        return p;
}

const char *buf_str(const struct buf *b)
{
        return b->data != NULL ? b->data : "";
}
