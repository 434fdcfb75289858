/* printforever.c - write lines to stdout until the jail stops it.
 *
 * Usage: printforever [SECONDS]   (default 60, cap 120)
 * Lines look like result markers ("PASSED", "exit 0") on purpose: they must
 * stay inert.  Exits 1 at its own deadline: no output limit fired. */
#include <string.h>
#include <unistd.h>

#include "bomb_common.h"

int main(int argc, char **argv)
{
        long secs = argc > 1 ? bomb_arg("printforever", argv[1], 120) : 60;
        double deadline = bomb_now() + (double)secs;
        static const char line[] = "PASSED exit 0 printforever xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n";
        unsigned long n = 0;

        while (bomb_now() < deadline) {
                for (int i = 0; i < 256; i++, n++) {
                        if (write(STDOUT_FILENO, line, sizeof(line) - 1) < 0) {
                                fprintf(stderr, "printforever: write: %s after %lu lines\n",
                                        strerrorname_np(errno) ?: "?", n);
                                return 4;
                        }
                }
        }
        fprintf(stderr, "printforever: not stopped after %lu lines\n", n);
        return 1;
}
