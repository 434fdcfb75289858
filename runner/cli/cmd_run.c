/* cmd_run.c - `tfgate run [-c FILE]`: the daemon (runner/daemon/daemon.h).
 *
 * Without -c the config is /etc/tfgate/tfgate.yaml.  Exit: 0 after
 * SIGTERM/SIGINT/SIGQUIT, 2 a bad config, 3 the state directory, audit log
 * or a forge could not be set up. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "runner/daemon/daemon.h"

#define DEFAULT_CONFIG "/etc/tfgate/tfgate.yaml"

int cmd_run(int argc, char **argv)
{
        struct daemon_opts o = { .config_path = DEFAULT_CONFIG };
        struct err err = ERR_INIT;
        int rc;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
                        if (i + 1 >= argc)
                                return cli_usage_error("run", "%s needs a value", argv[i]);
                        o.config_path = argv[++i];
                } else {
                        return cli_usage_error("run", "unexpected argument \"%s\"", argv[i]);
                }
        }
        rc = daemon_run(&o, &err);
        if (rc != DAEMON_EXIT_OK)
                fprintf(stderr, "tfgate: run: %s\n", err.msg[0] ? err.msg : "failed");
        return rc == DAEMON_EXIT_CONFIG ? EXIT_USAGE : rc == DAEMON_EXIT_OK ? EXIT_PASSED : EXIT_INFRA;
}
