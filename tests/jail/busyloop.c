/* busyloop.c - burn CPU until the jail stops it.
 *
 * Usage: busyloop [SECONDS]   (default 60, cap 120)
 * Exits 1 at its own deadline: reaching it means no limit fired. */
#include "bomb_common.h"

int main(int argc, char **argv)
{
        long secs = argc > 1 ? bomb_arg("busyloop", argv[1], 120) : 60;
        double deadline = bomb_now() + (double)secs;
        volatile unsigned long spin = 0;

        while (bomb_now() < deadline)
                for (int i = 0; i < 1000000; i++)
                        spin++;
        printf("busyloop: not stopped after %ld s\n", secs);
        return 1;
}
