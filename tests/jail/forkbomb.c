/* forkbomb.c - fork until the jail's pids limit refuses, and keep pushing.
 *
 * Usage: forkbomb [MAX_FORKS [SECONDS]]   (defaults 100000, 20; caps 100000, 60)
 * Every child just waits to be killed (each has its own alarm, so none can
 * outlive the bound).  The parent keeps retrying after the first failure,
 * as a real bomb does, until the deadline; then it kills its children and
 * exits 0.  Prints the count at which fork first failed. */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bomb_common.h"

int main(int argc, char **argv)
{
        long max = argc > 1 ? bomb_arg("forkbomb", argv[1], 100000) : 100000;
        long secs = argc > 2 ? bomb_arg("forkbomb", argv[2], 60) : 20;
        double deadline = bomb_now() + (double)secs;
        pid_t *kids = calloc((size_t)max, sizeof(*kids));
        long n = 0, failures = 0;
        int first_err = 0;

        if (kids == NULL)
                return 3;
        setvbuf(stdout, NULL, _IOLBF, 0);
        while (n < max && bomb_now() < deadline) {
                pid_t pid = fork();

                if (pid == 0) {
                        alarm((unsigned)secs + 5);
                        for (;;)
                                pause();
                }
                if (pid > 0) {
                        kids[n++] = pid;
                        continue;
                }
                if (failures++ == 0) {
                        first_err = errno;
                        printf("forkbomb: fork failed after %ld children: %s\n", n, strerrorname_np(errno) ?: "?");
                }
                usleep(1000);
        }
        for (long i = 0; i < n; i++)
                kill(kids[i], SIGKILL);
        while (wait(NULL) > 0)
                ;
        printf("forkbomb: done children=%ld failures=%ld first_error=%s\n", n, failures,
               first_err ? strerrorname_np(first_err) ?: "?" : "none");
        free(kids);
        return 0;
}
