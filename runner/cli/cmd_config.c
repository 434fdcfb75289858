/* cmd_config.c - `tfgate config check FILE`: validate a configuration.
 *
 * Valid: "ok" and the effective configuration (defaults filled in, secret
 * values <redacted>) on stdout, exit 0.  Invalid: every error, one per line
 * as FILE:LINE: key.path: message, on stderr, exit 2.  With --log-format
 * json the errors are JSON lines from the log module instead. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "runner/config/config.h"
#include "runner/util/cleanup.h"
#include "runner/util/log.h"

static int config_check(const char *path)
{
        _cleanup_(config_freep) struct config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        struct err err = ERR_INIT;

        if (config_load_file(&c, path, &errors, &err) < 0) {
                for (char **e = errors; e != NULL && *e != NULL; e++) {
                        if (log_get_format() == LOGF_JSON)
                                log_error("%s", *e);
                        else
                                fprintf(stderr, "%s\n", *e);
                }
                if (errors == NULL || errors[0] == NULL)
                        fprintf(stderr, "%s\n", err.msg);
                return EXIT_USAGE;
        }
        printf("ok\n");
        if (config_dump(c, stdout) < 0) {
                fprintf(stderr, "tfgate: config: writing the configuration failed\n");
                return EXIT_INFRA;
        }
        return EXIT_PASSED;
}

int cmd_config(int argc, char **argv)
{
        if (argc < 2)
                return cli_usage_error("config", "missing subcommand");
        if (strcmp(argv[1], "check") != 0)
                return cli_usage_error("config", "unknown subcommand \"%s\"", argv[1]);
        if (argc != 3)
                return cli_usage_error("config", "check takes exactly one FILE");
        return config_check(argv[2]);
}
