/* fetch_bench.c - one fetch_commit() of URL at SHA into the (empty) DIR,
 * as tfgate's pipeline does it; prints the wall time in milliseconds and
 * what was fetched.  Driven by ci/bench/fetch. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "runner/fetch/fetch.h"

int main(int argc, char **argv)
{
        struct fetch_opts o = { 0 };
        struct fetch_result res;
        struct err err = ERR_INIT;
        struct timespec a, b;

        if (argc != 4) {
                fprintf(stderr, "usage: fetch_bench URL SHA DIR\n");
                return 2;
        }
        o.url = argv[1];
        o.sha = argv[2];
        o.workspace = argv[3];
        o.url_flags = URL_ALLOW_LOCAL | URL_ALLOW_HTTP_LOOPBACK;
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (fetch_commit(&o, &res, &err) < 0) {
                fprintf(stderr, "fetch_bench: %s\n", err.msg);
                return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        printf("%.1f ms method=%s depth=%s bytes=%llu objects=%llu files=%llu\n",
               (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6,
               fetch_method_name(res.method), res.shallow ? "1" : "full",
               (unsigned long long)res.received_bytes,
               (unsigned long long)res.objects, (unsigned long long)res.files);
        return 0;
}
