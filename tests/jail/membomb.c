/* membomb.c - touch anonymous memory until the jail stops it.
 *
 * Usage: membomb [MAX_MIB [SECONDS]]   (defaults 8192, 30; caps 8192, 60)
 * Maps 16 MiB chunks and writes to every page, so the memory is really
 * charged (cgroup OOM kill).  If a mapping is refused (RLIMIT_AS) it says
 * how far it got and exits 2, as Go's runtime does on out-of-memory.  At
 * the size cap or deadline it exits 1: the limit never fired. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bomb_common.h"

#define CHUNK (16L << 20)

int main(int argc, char **argv)
{
        long max_mib = argc > 1 ? bomb_arg("membomb", argv[1], 8192) : 8192;
        long secs = argc > 2 ? bomb_arg("membomb", argv[2], 60) : 30;
        double deadline = bomb_now() + (double)secs;
        long page = sysconf(_SC_PAGESIZE);
        long mib = 0;

        setvbuf(stdout, NULL, _IOLBF, 0);
        while (mib < max_mib && bomb_now() < deadline) {
                char *p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

                if (p == MAP_FAILED) {
                        printf("membomb: mmap refused after %ld MiB: %s\n", mib, strerrorname_np(errno) ?: "?");
                        return 2;
                }
                for (long off = 0; off < CHUNK; off += page)
                        p[off] = 1;
                mib += CHUNK >> 20;
                if (mib % 256 == 0)
                        printf("membomb: %ld MiB touched\n", mib);
        }
        printf("membomb: not stopped: %ld MiB touched\n", mib);
        return 1;
}
