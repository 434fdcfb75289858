/* cli.h - what every cmd_<name>.c shares: exit codes, the command entry
 * points, and small option helpers.
 *
 * Exit codes (DESIGN.md): 0 passed, 1 the Terraform check failed, 2 usage
 * or configuration error, 3 infrastructure error (forge, emulator, jail). */
#ifndef TFGATE_CLI_H
#define TFGATE_CLI_H

#include <stdio.h>

enum {
        EXIT_PASSED = 0,
        EXIT_CHECK_FAILED = 1,
        EXIT_USAGE = 2,
        EXIT_INFRA = 3,
};

/* Each command gets argv with argv[0] = its own name ("jail", "config", ...)
 * and returns the process exit code.  `--help` is handled by main.c. */
typedef int (*cli_cmd_fn)(int argc, char **argv);

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_providers(int argc, char **argv);
int cmd_jail(int argc, char **argv);
int cmd_redact(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_register(int argc, char **argv);
int cmd_unregister(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_version(int argc, char **argv);

/* print "tfgate: CMD: message" and the usage hint; returns EXIT_USAGE */
int cli_usage_error(const char *cmd, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* print the command's usage text to f */
void cli_print_usage(const char *cmd, FILE *f);

#endif
