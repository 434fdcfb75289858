/* diskfill.c - write into DIR until the filesystem (or RLIMIT_FSIZE) says no.
 *
 * Usage: diskfill DIR [MAX_MIB [SECONDS]]   (defaults 4096, 30; caps 16384, 60)
 * Exits 0 and prints `diskfill: ENOSPC after N bytes` when a write is
 * refused; exits 1 if the cap or deadline comes first (nothing stopped it).
 * SIGXFSZ is ignored so RLIMIT_FSIZE shows up as EFBIG. */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "bomb_common.h"

#define BLOCK (1L << 20)

int main(int argc, char **argv)
{
        static char block[BLOCK];
        char path[PATH_MAX];
        long max_mib, secs;
        long long total = 0;
        double deadline;
        int fd;

        if (argc < 2) {
                fprintf(stderr, "usage: diskfill DIR [MAX_MIB [SECONDS]]\n");
                return 2;
        }
        max_mib = argc > 2 ? bomb_arg("diskfill", argv[2], 16384) : 4096;
        secs = argc > 3 ? bomb_arg("diskfill", argv[3], 60) : 30;
        deadline = bomb_now() + (double)secs;
        signal(SIGXFSZ, SIG_IGN);
        memset(block, 'x', sizeof(block));
        snprintf(path, sizeof(path), "%s/diskfill.%ld", argv[1], (long)getpid());
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
                printf("diskfill: cannot create %s: %s\n", path, strerrorname_np(errno) ?: "?");
                return 3;
        }
        while (total < (long long)max_mib * BLOCK && bomb_now() < deadline) {
                ssize_t n = write(fd, block, sizeof(block));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        printf("diskfill: %s after %lld bytes\n", strerrorname_np(errno) ?: "?", total);
                        return 0;
                }
                total += n;
        }
        printf("diskfill: not stopped: %lld bytes written\n", total);
        return 1;
}
