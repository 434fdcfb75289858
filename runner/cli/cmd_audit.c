/* cmd_audit.c - `tfgate audit verify [--repair] FILE`: check the audit log's
 * hash chain and its head file.
 *
 * Exit 0 and "ok: N lines, head H" when the log is intact; 1 and one line
 * naming the first broken link (or "partial line: ..." after a crash in the
 * middle of a write); 2 for usage errors and unreadable files.  --repair
 * cuts off a partial last line, and only that, and records that it did. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "runner/sign/audit.h"

static int report(const char *path, const struct audit_report *rep)
{
        if (rep->status == AUDIT_OK) {
                printf("ok: %llu lines, head %s\n", (unsigned long long)rep->lines, rep->head);
                return EXIT_PASSED;
        }
        printf("%s: %s\n", path, rep->msg);
        if (rep->status != AUDIT_PARTIAL)
                printf("valid prefix: %llu lines, head %s\n", (unsigned long long)rep->lines,
                       rep->head);
        return EXIT_CHECK_FAILED;
}

int cmd_audit(int argc, char **argv)
{
        static const struct option opts[] = {
                { "repair", no_argument, NULL, 'r' },
                { NULL, 0, NULL, 0 },
        };
        struct audit_report rep;
        struct err err = ERR_INIT;
        bool repair = false;
        int c, r;

        if (argc < 2 || strcmp(argv[1], "verify") != 0)
                return cli_usage_error("audit", "expected: audit verify [--repair] FILE");
        optind = 1;
        while ((c = getopt_long(argc - 1, argv + 1, "+", opts, NULL)) != -1) {
                if (c != 'r')
                        return cli_usage_error("audit", "unknown option");
                repair = true;
        }
        if (optind + 1 != argc - 1)
                return cli_usage_error("audit", "expected: audit verify [--repair] FILE");
        r = repair ? audit_repair(&rep, argv[optind + 1], &err)
                   : audit_verify(&rep, argv[optind + 1], &err);
        if (r < 0) {
                fprintf(stderr, "tfgate: audit: %s\n", err.msg);
                return EXIT_USAGE;
        }
        if (repair)
                printf("repaired: cut the partial last line and recorded a log_repaired event\n");
        return report(argv[optind + 1], &rep);
}
