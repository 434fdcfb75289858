/* main.c - the command dispatcher of tfgate and of tfgate-jail.
 *
 * A table (commands.c, commands_jail.c) maps each command to its entry
 * point, a one-line summary and its usage text.  A command whose entry
 * point is NULL is not part of this build: it still answers --help, and
 * otherwise says so and exits 2.  Global options come before the command:
 * --log-format text|json, --log-level error|warn|info|debug.
 *
 * An executable whose table has one command runs it without naming it:
 * `tfgate-jail [global options] ARGS` is `tfgate jail ARGS`, from a binary
 * that links only what the jail needs, so it starts in a fraction of the
 * time (docs/sandbox.md, "tfgate-jail"). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "runner/util/cleanup.h"
#include "runner/util/log.h"

static bool single_command(void)
{
        return cli_n_commands == 1;
}

static const struct cli_command *find_command(const char *name)
{
        for (size_t i = 0; i < cli_n_commands; i++)
                if (strcmp(cli_commands[i].name, name) == 0)
                        return &cli_commands[i];
        return NULL;
}

void cli_print_usage(const char *cmd, FILE *f)
{
        const struct cli_command *c = find_command(cmd);

        if (c == NULL)
                return;
        if (single_command())
                fprintf(f, "%s [--log-level LEVEL] ARGS is the same as:\n", cli_program);
        fprintf(f, "usage: %s", c->usage);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
        const struct cli_command *c = find_command(cmd);
        va_list ap;

        fprintf(stderr, "tfgate: %s: ", cmd);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\n");
        /* one line of usage; --help has the rest */
        if (c != NULL)
                fprintf(stderr, "usage: %.*s (%s%s%s --help for more)\n",
                        (int)strcspn(c->usage, "\n"), c->usage, cli_program,
                        single_command() ? "" : " ", single_command() ? "" : cmd);
        return EXIT_USAGE;
}

static void print_help(FILE *f)
{
        if (single_command()) {
                cli_print_usage(cli_commands[0].name, f);
                return;
        }
        fprintf(f, "usage: %s [--log-format text|json] [--log-level LEVEL] COMMAND [ARGS]\n\n"
                   "commands:\n", cli_program);
        for (size_t i = 0; i < cli_n_commands; i++)
                fprintf(f, "  %-11s %s%s\n", cli_commands[i].name, cli_commands[i].summary,
                        cli_commands[i].fn ? "" : " (not available in this build)");
        fprintf(f, "\n`%s COMMAND --help` shows a command's usage.\n"
                   "exit codes: 0 passed, 1 check failed, 2 usage or configuration error,\n"
                   "            3 infrastructure error\n", cli_program);
}

static bool wants_help(int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--") == 0)
                        return false;
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
                        return true;
        }
        return false;
}

static int print_version(void)
{
        const struct cli_command *v = find_command("version");

        if (v != NULL && v->fn != NULL)
                return v->fn(1, (char *[]){ "version", NULL });
        printf("%s %s\n", cli_program, TFGATE_VERSION);
        return EXIT_PASSED;
}

int main(int argc, char **argv)
{
        enum log_level level = LOGL_INFO;
        enum log_format format = LOGF_TEXT;
        const struct cli_command *c;
        int i = 1;

        for (; i < argc && argv[i][0] == '-'; i++) {
                const char *a = argv[i];

                if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                        print_help(stdout);
                        return EXIT_PASSED;
                } else if (strcmp(a, "--version") == 0) {
                        return print_version();
                } else if (strcmp(a, "--log-format") == 0 && i + 1 < argc) {
                        if (log_format_parse(argv[++i], &format) < 0)
                                return cli_usage_error(cli_program, "--log-format: expected text or json, got \"%s\"", argv[i]);
                } else if (strcmp(a, "--log-level") == 0 && i + 1 < argc) {
                        if (log_level_parse(argv[++i], &level) < 0)
                                return cli_usage_error(cli_program, "--log-level: expected error, warn, info or debug, got \"%s\"", argv[i]);
                } else if (single_command()) {
                        /* the command's own options start here */
                        break;
                } else {
                        fprintf(stderr, "%s: unknown option %s\n", cli_program, a);
                        print_help(stderr);
                        return EXIT_USAGE;
                }
        }
        log_setup(level, format);
        if (single_command()) {
                /* argv[i - 1] becomes the command's argv[0], its name */
                c = &cli_commands[0];
                argv[--i] = (char *)c->name;
        } else if (i >= argc) {
                print_help(stderr);
                return EXIT_USAGE;
        } else if ((c = find_command(argv[i])) == NULL) {
                fprintf(stderr, "%s: unknown command \"%s\"\n", cli_program, argv[i]);
                print_help(stderr);
                return EXIT_USAGE;
        }
        if (wants_help(argc - i, argv + i)) {
                if (single_command())
                        cli_print_usage(c->name, stdout);
                else
                        fprintf(stdout, "usage: %s", c->usage);
                if (c->fn == NULL)
                        fprintf(stdout, "(not available in this build)\n");
                return EXIT_PASSED;
        }
        if (c->fn == NULL) {
                fprintf(stderr, "%s: %s: not available in this build\n", cli_program, c->name);
                return EXIT_USAGE;
        }
        return c->fn(argc - i, argv + i);
}
