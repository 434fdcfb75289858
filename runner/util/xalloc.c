#include "xalloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void xalloc_die(size_t n)
{
        fprintf(stderr, "tfgate: out of memory allocating %zu bytes\n", n);
        abort();
}

void *xmalloc(size_t n)
{
        void *p = malloc(n ? n : 1);

        if (p == NULL)
                xalloc_die(n);
        return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
        void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

        if (p == NULL)
                xalloc_die(nmemb * size);
        return p;
}

void *xrealloc(void *p, size_t n)
{
        void *q = realloc(p, n ? n : 1);

        if (q == NULL)
                xalloc_die(n);
        return q;
}

void *xreallocarray(void *p, size_t nmemb, size_t size)
{
        size_t n;

        if (!size_mul(&n, nmemb, size))
                xalloc_die(SIZE_MAX);
        return xrealloc(p, n);
}

char *xstrdup(const char *s)
{
        return xmemdup(s, strlen(s) + 1);
}

char *xstrndup(const char *s, size_t n)
{
        size_t len = strnlen(s, n);
        char *p = xmalloc(len + 1);

        memcpy(p, s, len);
        p[len] = '\0';
        return p;
}

void *xmemdup(const void *p, size_t n)
{
        void *q = xmalloc(n);

        memcpy(q, p, n);
        return q;
}

char *xasprintf(const char *fmt, ...)
{
        va_list ap;
        int n;
        char *p;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0)
                xalloc_die(0);
        p = xmalloc((size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(p, (size_t)n + 1, fmt, ap);
        va_end(ap);
        return p;
}
