/* bomb_common.h - shared bits of the jail's limit helpers: a monotonic
 * deadline and strict argument parsing.  Every helper is bounded by its
 * own deadline and size cap, so a broken jail cannot turn a test into a
 * host outage. */
#ifndef TFGATE_TESTS_JAIL_BOMB_COMMON_H
#define TFGATE_TESTS_JAIL_BOMB_COMMON_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bomb_now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* a positive integer no larger than max, or exit 2 */
static inline long bomb_arg(const char *prog, const char *s, long max)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || v <= 0 || v > max) {
                fprintf(stderr, "%s: bad argument '%s' (1..%ld)\n", prog, s, max);
                exit(2);
        }
        return v;
}

#endif
