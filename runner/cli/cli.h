/* cli.h - what every cmd_<name>.c shares: exit codes, the command entry
 * points, and small option helpers.
 *
 * Exit codes (DESIGN.md): 0 passed, 1 the Terraform check failed, 2 usage
 * or configuration error, 3 infrastructure error (forge, emulator, jail). */
#ifndef TFGATE_CLI_H
#define TFGATE_CLI_H

#include <stddef.h>
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

/* One entry of an executable's command table (commands.c for tfgate,
 * commands_jail.c for tfgate-jail).  A NULL fn: not part of this build. */
struct cli_command {
        const char *name;
        cli_cmd_fn fn;
        const char *summary;
        const char *usage;
};

extern const struct cli_command cli_commands[];
extern const size_t cli_n_commands;
/* the executable's name; with one command in its table it runs that
 * command directly (tfgate-jail ARGS is tfgate jail ARGS) */
extern const char cli_program[];

/* shared by both tables, so the two executables say the same */
#define CLI_JAIL_SUMMARY "run a command in the jail"
#define CLI_JAIL_USAGE \
        "tfgate jail [options] -- CMD ARGS...\n"\
        "  --ro HOST[:INSIDE] --rw HOST[:INSIDE] --exec INSIDE --tmpfs INSIDE[:SIZE]\n"\
        "  --workdir DIR --env K=V --net none|loopback --netns PATH --allow-connect PORT\n"\
        "  --memory SIZE --pids N --cpu SECONDS --cpus N --timeout DURATION\n"\
        "  --output-limit SIZE --uid N --gid N --no-default-mounts -c FILE --json\n"\
        "  --redact, --secrets-file F   filter the output as a job's is\n"

/* print "tfgate: CMD: message" and the usage hint; returns EXIT_USAGE */
int cli_usage_error(const char *cmd, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* print the command's usage text to f */
void cli_print_usage(const char *cmd, FILE *f);

#endif
