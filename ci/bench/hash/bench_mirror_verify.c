/* bench_mirror_verify.c - time mirror_verify() on a package whose hashes
 * are already in the cache: the per-job cost once a provider is known.
 * usage: bench_mirror_verify MIRROR CACHE_DIR SOURCE VERSION PLATFORM HASH...
 * Prints the first (hashing) run and the median of 21 cached runs in ms;
 * exits 1 unless the package verifies and the cached runs were cache hits. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "runner/providers/mirror.h"

static double now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
        struct mirror_request req;
        struct mirror_result r;
        struct err e = ERR_INIT;
        double t[21], t0;

        if (argc < 7) {
                fprintf(stderr, "usage: %s MIRROR CACHE_DIR SOURCE VERSION PLATFORM HASH...\n", argv[0]);
                return 2;
        }
        req = (struct mirror_request){ argv[3], argv[4], argv[5], (const char *const *)argv + 6, (size_t)(argc - 6) };
        t0 = now_ms();
        if (mirror_verify(&r, argv[1], argv[2], &req, &e) < 0 || r.status != MIRROR_VERIFIED) {
                fprintf(stderr, "first verification: %s%s\n", e.msg, r.reason);
                return 1;
        }
        printf("first_ms %.1f from_cache %d\n", now_ms() - t0, r.from_cache);
        for (int i = 0; i < 21; i++) {
                t0 = now_ms();
                if (mirror_verify(&r, argv[1], argv[2], &req, &e) < 0 || r.status != MIRROR_VERIFIED || !r.from_cache) {
                        fprintf(stderr, "cached verification %d: not a verified cache hit: %s%s\n", i, e.msg, r.reason);
                        return 1;
                }
                t[i] = now_ms() - t0;
        }
        qsort(t, 21, sizeof(t[0]), cmp_double);
        printf("cached_median_ms %.3f\n", t[10]);
        return 0;
}
