/* cmd_providers.c - `tfgate providers hash [--scheme h1|zh] PATH`: the
 * lock-file hashes of a provider package.  For a directory it prints its
 * h1:; for a zip its h1: and zh:, one per line.  Symlinks in a directory
 * are followed only while they stay inside it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "runner/providers/hash.h"
#include "runner/util/cleanup.h"

static int hash_path(const char *path, bool want_h1, bool want_zh)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        char h1[PHASH_H1_SIZE], zh[PHASH_ZH_SIZE];
        struct err e = ERR_INIT;
        struct stat st;

        if (fd < 0 || fstat(fd, &st) < 0) {
                fprintf(stderr, "tfgate: providers hash: %s: %s\n", path, strerror(errno));
                return EXIT_USAGE;
        }
        if (S_ISDIR(st.st_mode)) {
                if (!want_h1) {
                        fprintf(stderr, "tfgate: providers hash: %s: a directory has only an h1: hash\n", path);
                        return EXIT_USAGE;
                }
                if (phash_dir(h1, fd, ".", path, &e) < 0)
                        goto fail;
                printf("%s\n", h1);
                return EXIT_PASSED;
        }
        if (!S_ISREG(st.st_mode)) {
                fprintf(stderr, "tfgate: providers hash: %s: not a directory or a regular file\n", path);
                return EXIT_USAGE;
        }
        if (phash_zip(want_h1 ? h1 : NULL, want_zh ? zh : NULL, fd, path, &e) < 0)
                goto fail;
        if (want_h1)
                printf("%s\n", h1);
        if (want_zh)
                printf("%s\n", zh);
        return fflush(stdout) == 0 ? EXIT_PASSED : EXIT_INFRA;
fail:
        fprintf(stderr, "tfgate: providers hash: %s\n", e.msg);
        return EXIT_USAGE;
}

int cmd_providers(int argc, char **argv)
{
        bool want_h1 = true, want_zh = true;
        int i = 2;

        if (argc < 2 || strcmp(argv[1], "hash") != 0)
                return cli_usage_error("providers", "expected the subcommand \"hash\"");
        if (i + 1 < argc && strcmp(argv[i], "--scheme") == 0) {
                want_h1 = strcmp(argv[i + 1], "h1") == 0;
                want_zh = strcmp(argv[i + 1], "zh") == 0;
                if (!want_h1 && !want_zh)
                        return cli_usage_error("providers", "--scheme: expected h1 or zh, got \"%s\"", argv[i + 1]);
                i += 2;
        }
        if (i + 1 != argc)
                return cli_usage_error("providers", "hash: expected one PATH");
        return hash_path(argv[i], want_h1, want_zh);
}
