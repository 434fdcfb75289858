/* standalone_driver.c - replays a fuzz corpus as an ordinary test: every
 * file under the directories (or files) named on the command line is fed to
 * LLVMFuzzerTestOneInput once.  A crash or sanitizer report fails the test.
 * (libgit2 fuzzers/standalone_driver.c) */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path, unsigned *count)
{
        _cleanup_free_ char *data = NULL;
        struct err err = ERR_INIT;
        size_t len;

        if (file_read_all(&data, &len, path, 64u << 20, &err) < 0) {
                fprintf(stderr, "replay: %s\n", err.msg);
                return -1;
        }
        LLVMFuzzerTestOneInput((const uint8_t *)data, len);
        (*count)++;
        return 0;
}

static int run_path(const char *path, unsigned *count)
{
        struct stat st;
        struct dirent **names;
        int n, r = 0;

        if (stat(path, &st) < 0) {
                perror(path);
                return -1;
        }
        if (!S_ISDIR(st.st_mode))
                return run_file(path, count);
        n = scandir(path, &names, NULL, alphasort);
        if (n < 0) {
                perror(path);
                return -1;
        }
        for (int i = 0; i < n; i++) {
                if (names[i]->d_name[0] != '.' && r == 0) {
                        _cleanup_free_ char *sub = NULL;

                        if (asprintf(&sub, "%s/%s", path, names[i]->d_name) < 0)
                                abort();
                        r = run_path(sub, count);
                }
                free(names[i]);
        }
        free(names);
        return r;
}

int main(int argc, char **argv)
{
        unsigned count = 0;

        if (argc < 2) {
                fprintf(stderr, "usage: %s CORPUS-DIR|FILE...\n", argv[0]);
                return 2;
        }
        for (int i = 1; i < argc; i++)
                if (run_path(argv[i], &count) < 0)
                        return 1;
        if (count == 0) {
                fprintf(stderr, "replay: no corpus files found\n");
                return 1;
        }
        printf("replayed %u inputs\n", count);
        return 0;
}
