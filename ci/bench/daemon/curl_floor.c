/* curl_floor.c - the resident-memory floor of any program that polls over
 * HTTP with Debian's libcurl: link libcurl alone, make one request to URL
 * (the fake GitLab's job request endpoint), print VmRSS in kB.
 * ci/bench/daemon/run.sh prints it beside the idle daemon's RSS. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static size_t sink(char *p, size_t s, size_t n, void *u)
{
        (void)p;
        (void)u;
        return s * n;
}

int main(int argc, char **argv)
{
        char line[256];
        CURL *c;
        FILE *f;

        if (argc != 2)
                return 2;
        curl_global_init(CURL_GLOBAL_DEFAULT);
        c = curl_easy_init();
        if (c == NULL)
                return 1;
        curl_easy_setopt(c, CURLOPT_URL, argv[1]);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
        curl_easy_perform(c);
        f = fopen("/proc/self/status", "r");
        if (f == NULL)
                return 1;
        while (fgets(line, sizeof(line), f) != NULL)
                if (strncmp(line, "VmRSS:", 6) == 0)
                        printf("%s", line + 6);
        fclose(f);
        curl_easy_cleanup(c);
        curl_global_cleanup();
        return 0;
}
