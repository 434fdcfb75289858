/* cmd_inspect.c - `tfgate inspect [--json] [-c FILE] DIR`: the provider
 * supply-chain gate on a repository directory, without running anything
 * of it.  Prints the human table (or one JSON object with --json) and
 * exits 0 when no finding is an error, 1 otherwise (also when the
 * repository's files cannot be read as Terraform configuration), 2 for
 * usage or configuration errors, 3 for I/O errors of the runner. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "runner/config/config.h"
#include "runner/gate/inspect.h"
#include "runner/util/cleanup.h"

static int load_config(struct config **cfg, const char *path)
{
        _cleanup_strv_free_ char **errors = NULL;
        struct err e = ERR_INIT;

        if (path == NULL) {
                if (config_load_default(cfg, &e) == 0)
                        return 0;
                fprintf(stderr, "tfgate: inspect: %s\n", e.msg);
                return -1;
        }
        if (config_load_file(cfg, path, &errors, &e) == 0)
                return 0;
        if (errors != NULL && errors[0] != NULL)
                for (char **m = errors; *m != NULL; m++)
                        fprintf(stderr, "tfgate: inspect: %s\n", *m);
        else
                fprintf(stderr, "tfgate: inspect: %s\n", e.msg);
        return -1;
}

/* --json on a repository that cannot be inspected: the same three arrays,
 * empty, and the reason, so a consumer always gets one object */
static json_t *error_json(const struct config *cfg, const char *msg)
{
        json_t *o = json_object(), *roots = json_array();
        _cleanup_free_ char *clean = gate_clean_line(msg, GATE_JSON_MAX_TEXT);

        for (size_t i = 0; i < cfg->terraform.n_roots; i++) {
                _cleanup_free_ char *r = gate_clean_line(cfg->terraform.roots[i], GATE_JSON_MAX_TEXT);

                json_array_append_new(roots, json_string(r));
        }
        json_object_set_new(o, "roots", roots);
        json_object_set_new(o, "providers", json_array());
        json_object_set_new(o, "findings", json_array());
        json_object_set_new(o, "error", json_string(clean));
        return o;
}

static int print_json(json_t *j)
{
        int r = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);

        json_decref(j);
        if (r < 0 || fputc('\n', stdout) == EOF)
                return -1;
        return 0;
}

int cmd_inspect(int argc, char **argv)
{
        static const struct option opts[] = {
                { "json", no_argument, NULL, 'j' },
                { "config", required_argument, NULL, 'c' },
                { NULL, 0, NULL, 0 },
        };
        _cleanup_(config_freep) struct config *cfg = NULL;
        _cleanup_(gate_inspection_freep) struct gate_inspection *ins = NULL;
        _cleanup_free_ char *cache_dir = NULL;
        const char *cfg_path = NULL;
        struct err e = ERR_INIT;
        bool json = false;
        int c, r;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+jc:", opts, NULL)) != -1) {
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 'c':
                        cfg_path = optarg;
                        break;
                default:
                        return cli_usage_error("inspect", "unknown option or missing argument");
                }
        }
        if (optind + 1 != argc)
                return cli_usage_error("inspect", "expected one DIR");
        if (load_config(&cfg, cfg_path) < 0)
                return EXIT_USAGE;
        cache_dir = gate_default_cache_dir(cfg);
        r = gate_inspect(&ins, argv[optind], cfg, cache_dir, &e);
        if (r == -EBADMSG) {
                fprintf(stderr, "tfgate: inspect: %s\n", e.msg);
                if (json && print_json(error_json(cfg, e.msg)) < 0)
                        return EXIT_INFRA;
                return EXIT_CHECK_FAILED;
        }
        if (r < 0) {
                fprintf(stderr, "tfgate: inspect: %s\n", e.msg);
                return EXIT_INFRA;
        }
        if (json) {
                if (print_json(gate_inspection_json(ins)) < 0)
                        return EXIT_INFRA;
        } else {
                gate_inspection_print(ins, stdout);
        }
        if (fflush(stdout) != 0)
                return EXIT_INFRA;
        return gate_inspection_passed(ins) ? EXIT_PASSED : EXIT_CHECK_FAILED;
}
