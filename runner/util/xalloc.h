/* xalloc.h - allocation that aborts on OOM, and overflow-checked size
 * arithmetic.  A failed allocation is not a recoverable error for a runner:
 * it prints one line and aborts.  Sizes computed from untrusted input go
 * through size_add()/size_mul() first. */
#ifndef TFGATE_XALLOC_H
#define TFGATE_XALLOC_H

#include <stdbool.h>
#include <stddef.h>

void *xmalloc(size_t n) __attribute__((malloc, returns_nonnull));
void *xcalloc(size_t nmemb, size_t size) __attribute__((malloc, returns_nonnull));
void *xrealloc(void *p, size_t n) __attribute__((returns_nonnull));
/* realloc to nmemb * size, aborting if the product overflows */
void *xreallocarray(void *p, size_t nmemb, size_t size) __attribute__((returns_nonnull));
char *xstrdup(const char *s) __attribute__((malloc, returns_nonnull));
char *xstrndup(const char *s, size_t n) __attribute__((malloc, returns_nonnull));
void *xmemdup(const void *p, size_t n) __attribute__((malloc, returns_nonnull));
char *xasprintf(const char *fmt, ...)
        __attribute__((format(printf, 1, 2), malloc, returns_nonnull));

/* true and *out = a + b (a * b) when it fits; false on overflow */
static inline bool size_add(size_t *out, size_t a, size_t b)
{
        return !__builtin_add_overflow(a, b, out);
}

static inline bool size_mul(size_t *out, size_t a, size_t b)
{
        return !__builtin_mul_overflow(a, b, out);
}

__attribute__((noreturn)) void xalloc_die(size_t n);

#endif
