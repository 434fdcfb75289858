/* main.c - tfgate's command dispatcher.
 *
 * A table maps each command to its entry point, a one-line summary and its
 * usage text.  A command whose entry point is NULL is not part of this
 * build: it still answers --help, and otherwise says so and exits 2.
 * Global options come before the command: --log-format text|json,
 * --log-level error|warn|info|debug. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "runner/util/cleanup.h"
#include "runner/util/log.h"

struct command {
        const char *name;
        cli_cmd_fn fn;
        const char *summary;
        const char *usage;
};

static const struct command commands[] = {
        { "run", cmd_run, "daemon: poll the forges and run jobs until SIGTERM",
          "tfgate run [-c FILE]\n" },
        { "check", cmd_check, "run one job locally and print its verdict",
          "tfgate check [-c FILE] [--mode validate|plan|apply] [--out DIR] PATH|URL [--rev SHA]\n"
          "             [--secrets-file F] [--secret-env NAME]... [--keep]\n"
          "  --out DIR          result.json and result.dsse.json (default ./tfgate-result)\n"
          "  --secrets-file F   values to mask in every output (NAME=VALUE lines, mode 0600)\n"
          "  --keep             leave the workspace in place (debugging)\n" },
        { "inspect", cmd_inspect, "providers, lock entries and policy findings of a repository",
          "tfgate inspect [--json] [-c FILE] DIR\n" },
        { "providers", cmd_providers, "provider package hashes",
          "tfgate providers hash PATH    h1: of a directory or zip, and zh: of a zip\n" },
        { "jail", cmd_jail, "run a command in the jail",
          "tfgate jail [options] -- CMD ARGS...\n"
          "  --ro HOST[:INSIDE] --rw HOST[:INSIDE] --exec INSIDE --tmpfs INSIDE[:SIZE]\n"
          "  --workdir DIR --env K=V --net none|loopback --netns PATH --allow-connect PORT\n"
          "  --memory SIZE --pids N --cpu SECONDS --cpus N --timeout DURATION\n"
          "  --output-limit SIZE --uid N --gid N --no-default-mounts -c FILE --json\n"
          "  --redact, --secrets-file F   filter the output as a job's is\n" },
        { "redact", cmd_redact, "the output filter, stdin to stdout",
          "tfgate redact [--secrets-file F] [--secret-env NAME]... [--no-patterns]\n"
          "              [--line-max SIZE] [--max SIZE]\n" },
        { "keygen", cmd_keygen, "create an Ed25519 signing key",
          "tfgate keygen --out FILE     writes FILE (0600) and FILE.pub\n" },
        { "sign", cmd_sign, "sign a result file",
          "tfgate sign --key KEY RESULT.json\n" },
        { "verify", cmd_verify, "verify a signed result",
          "tfgate verify --key PUB [--expect-commit SHA] FILE\n" },
        { "audit", cmd_audit, "verify the audit log's hash chain",
          "tfgate audit verify FILE\n" },
        { "register", cmd_register, "register this host as a GitLab runner",
          "tfgate register gitlab --url URL --token-file FILE\n" },
        { "unregister", cmd_unregister, "remove this runner from GitLab",
          "tfgate unregister gitlab [-c FILE]\n" },
        { "status", cmd_status, "running jobs of the local daemon",
          "tfgate status [-c FILE]\n" },
        { "config", cmd_config, "validate a configuration file",
          "tfgate config check FILE     prints \"ok\" and the effective config, or the errors\n" },
        { "version", cmd_version, "version of tfgate and its libraries",
          "tfgate version\n" },
};

static const struct command *find_command(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
                if (strcmp(commands[i].name, name) == 0)
                        return &commands[i];
        return NULL;
}

void cli_print_usage(const char *cmd, FILE *f)
{
        const struct command *c = find_command(cmd);

        if (c == NULL)
                return;
        fprintf(f, "usage: %s", c->usage);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
        const struct command *c = find_command(cmd);
        va_list ap;

        fprintf(stderr, "tfgate: %s: ", cmd);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\n");
        /* one line of usage; --help has the rest */
        if (c != NULL)
                fprintf(stderr, "usage: %.*s (tfgate %s --help for more)\n",
                        (int)strcspn(c->usage, "\n"), c->usage, cmd);
        return EXIT_USAGE;
}

static void print_help(FILE *f)
{
        fprintf(f, "usage: tfgate [--log-format text|json] [--log-level LEVEL] COMMAND [ARGS]\n\n"
                   "commands:\n");
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
                fprintf(f, "  %-11s %s%s\n", commands[i].name, commands[i].summary,
                        commands[i].fn ? "" : " (not available in this build)");
        fprintf(f, "\n`tfgate COMMAND --help` shows a command's usage.\n"
                   "exit codes: 0 passed, 1 check failed, 2 usage or configuration error,\n"
                   "            3 infrastructure error\n");
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

int main(int argc, char **argv)
{
        enum log_level level = LOGL_INFO;
        enum log_format format = LOGF_TEXT;
        const struct command *c;
        int i = 1;

        for (; i < argc && argv[i][0] == '-'; i++) {
                const char *a = argv[i];

                if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                        print_help(stdout);
                        return EXIT_PASSED;
                } else if (strcmp(a, "--version") == 0) {
                        return cmd_version(1, (char *[]){ "version", NULL });
                } else if (strcmp(a, "--log-format") == 0 && i + 1 < argc) {
                        if (log_format_parse(argv[++i], &format) < 0)
                                return cli_usage_error("tfgate", "--log-format: expected text or json, got \"%s\"", argv[i]);
                } else if (strcmp(a, "--log-level") == 0 && i + 1 < argc) {
                        if (log_level_parse(argv[++i], &level) < 0)
                                return cli_usage_error("tfgate", "--log-level: expected error, warn, info or debug, got \"%s\"", argv[i]);
                } else {
                        fprintf(stderr, "tfgate: unknown option %s\n", a);
                        print_help(stderr);
                        return EXIT_USAGE;
                }
        }
        log_setup(level, format);
        if (i >= argc) {
                print_help(stderr);
                return EXIT_USAGE;
        }
        c = find_command(argv[i]);
        if (c == NULL) {
                fprintf(stderr, "tfgate: unknown command \"%s\"\n", argv[i]);
                print_help(stderr);
                return EXIT_USAGE;
        }
        if (wants_help(argc - i, argv + i)) {
                fprintf(stdout, "usage: %s", c->usage);
                if (c->fn == NULL)
                        fprintf(stdout, "(not available in this build)\n");
                return EXIT_PASSED;
        }
        if (c->fn == NULL) {
                fprintf(stderr, "tfgate: %s: not available in this build\n", c->name);
                return EXIT_USAGE;
        }
        return c->fn(argc - i, argv + i);
}
