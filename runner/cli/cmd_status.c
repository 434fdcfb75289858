/* cmd_status.c - `tfgate status [-c FILE] [--json]`: the running jobs of
 * the local daemon, asked over STATE_DIR/tfgate.sock
 * (runner/daemon/status.h).  Without -c: /etc/tfgate/tfgate.yaml when it
 * exists, else the default config's state_dir.  Exit 0 with the table (or
 * "no jobs running"), 2 on a bad config, 3 when no daemon answers. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "runner/config/config.h"
#include "runner/daemon/status.h"
#include "runner/util/cleanup.h"

#define DEFAULT_CONFIG "/etc/tfgate/tfgate.yaml"

int cmd_status(int argc, char **argv)
{
        const char *path = NULL;
        bool as_json = false;
        _cleanup_(config_freep) struct config *cfg = NULL;
        _cleanup_free_ char *sock = NULL;
        struct err err = ERR_INIT;
        json_t *doc = NULL;
        int r;

        for (int i = 1; i < argc; i++) {
                if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
                        path = argv[++i];
                else if (strcmp(argv[i], "--json") == 0)
                        as_json = true;
                else
                        return cli_usage_error("status", "unexpected argument \"%s\"", argv[i]);
        }
        if (path == NULL && access(DEFAULT_CONFIG, F_OK) == 0)
                path = DEFAULT_CONFIG;
        r = path ? config_load_file(&cfg, path, NULL, &err) : config_load_default(&cfg, &err);
        if (r < 0) {
                fprintf(stderr, "tfgate: status: %s\n", err.msg);
                return EXIT_USAGE;
        }
        sock = status_socket_path(cfg->state_dir);
        if (status_query(&doc, sock, 5000, &err) < 0) {
                fprintf(stderr, "tfgate: status: no daemon answers (%s)\n", err.msg);
                return EXIT_INFRA;
        }
        if (as_json) {
                json_dumpf(doc, stdout, JSON_COMPACT);
                fputc('\n', stdout);
        } else {
                status_print(stdout, doc);
        }
        json_decref(doc);
        return EXIT_PASSED;
}
