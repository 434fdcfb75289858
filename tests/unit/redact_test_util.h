/* redact_test_util.h - what the output filter's unit tests share: a sink
 * that collects what the filter writes, and a seeded xorshift generator.
 * Include after <cmocka.h>. */
#ifndef TFGATE_REDACT_TEST_UTIL_H
#define TFGATE_REDACT_TEST_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* the collected bytes, NUL-terminated */
struct coll {
        char *b;
        size_t n, cap;
        int fail_after;         /* > 0: the Nth call fails with -EIO */
        int calls;
};

static inline int collect(void *arg, const void *p, size_t l)
{
        struct coll *c = arg;

        if (c->fail_after > 0 && ++c->calls >= c->fail_after)
                return -EIO;
        if (c->n + l + 1 > c->cap) {
                c->cap = (c->n + l + 1) * 2;
                c->b = realloc(c->b, c->cap);
                assert_non_null(c->b);
        }
        memcpy(c->b + c->n, p, l);
        c->n += l;
        c->b[c->n] = '\0';
        return 0;
}

/* set before each test that draws, so every run sees the same inputs */
static uint64_t rng_state __attribute__((unused));

static inline uint32_t rnd(void)
{
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return (uint32_t)(rng_state >> 11);
}

#endif
