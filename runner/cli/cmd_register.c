/* cmd_register.c - `tfgate register gitlab` and `tfgate unregister gitlab`:
 * make this host a runner manager of a GitLab runner (verify a glrt- runner
 * authentication token, or the legacy registration-token flow), or remove
 * it again.  State goes to <state_dir>/gitlab-<name>.json (0600).
 *
 *   tfgate register gitlab --url URL --token-file F [--state-dir D] [-c FILE]
 *   tfgate register gitlab --url URL --registration-token-file R --token-file F
 *                          [--description D] [--tag-list T] [--state-dir D]
 *   tfgate unregister gitlab [-c FILE | --url URL --token-file F]
 *                            [--state-dir D] [--all] */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "plugin-gitlab/gitlab.h"
#include "runner/config/config.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

struct reg_args {
        const char *config, *url, *token_file, *reg_token_file, *state_dir, *description,
                *tag_list;
        bool all;
};

static int parse(const char *cmd, int argc, char **argv, struct reg_args *a)
{
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "url", required_argument, NULL, 'u' },
                { "token-file", required_argument, NULL, 't' },
                { "registration-token-file", required_argument, NULL, 'r' },
                { "state-dir", required_argument, NULL, 's' },
                { "description", required_argument, NULL, 'd' },
                { "tag-list", required_argument, NULL, 'g' },
                { "all", no_argument, NULL, 'a' },
                { NULL, 0, NULL, 0 },
        };
        int c;

        if (argc < 2 || strcmp(argv[1], "gitlab") != 0)
                return cli_usage_error(cmd, "only \"gitlab\" can be %sed", cmd);
        optind = 2;
        while ((c = getopt_long(argc, argv, "+c:", opts, NULL)) != -1) {
                switch (c) {
                case 'c': a->config = optarg; break;
                case 'u': a->url = optarg; break;
                case 't': a->token_file = optarg; break;
                case 'r': a->reg_token_file = optarg; break;
                case 's': a->state_dir = optarg; break;
                case 'd': a->description = optarg; break;
                case 'g': a->tag_list = optarg; break;
                case 'a': a->all = true; break;
                default: return cli_usage_error(cmd, "unknown option");
                }
        }
        if (optind != argc)
                return cli_usage_error(cmd, "unexpected argument \"%s\"", argv[optind]);
        return 0;
}

/* a token from a private file (0600), trailing newline removed */
static int read_token(char **out, const char *path, struct err *err)
{
        size_t len;
        int r = file_read_secret(out, &len, path, 4096, err);

        if (r < 0)
                return r;
        while (len > 0 && ((*out)[len - 1] == '\n' || (*out)[len - 1] == '\r' || (*out)[len - 1] == ' '))
                (*out)[--len] = '\0';
        return 0;
}

/* Fill conn from the options, or from the config's first gitlab forge. */
static int resolve(const char *cmd, struct reg_args *a, struct config **cfgp,
                   struct gitlab_conn *conn, const char **token_file)
{
        struct err err = ERR_INIT;
        const struct cfg_forge *fg = NULL;

        if (a->config != NULL || a->url == NULL) {
                int r = a->config ? config_load_file(cfgp, a->config, NULL, &err)
                                  : config_load_default(cfgp, &err);

                if (r < 0) {
                        fprintf(stderr, "tfgate: %s: %s\n", cmd, err.msg);
                        return EXIT_USAGE;
                }
                for (size_t i = 0; i < (*cfgp)->n_forges && fg == NULL; i++)
                        if ((*cfgp)->forges[i].type == FORGE_GITLAB)
                                fg = &(*cfgp)->forges[i];
                if (fg == NULL && a->url == NULL)
                        return cli_usage_error(cmd, "give --url and --token-file, or -c FILE with a "
                                               "gitlab forge");
        }
        conn->url = a->url ? a->url : fg->url;
        conn->tls = (fg != NULL && a->url == NULL) ? &fg->tls : NULL;
        conn->name = (fg != NULL && a->url == NULL && fg->name) ? fg->name : "gitlab";
        conn->state_dir = a->state_dir ? a->state_dir : (*cfgp)->state_dir;
        *token_file = a->token_file ? a->token_file : (fg && a->url == NULL ? fg->token_file : NULL);
        if (*token_file == NULL)
                return cli_usage_error(cmd, "--token-file is required");
        return 0;
}

static void print_registration(const struct gitlab_registration *r, const struct gitlab_conn *c)
{
        char id[32];

        snprintf(id, sizeof(id), "%lld", (long long)r->runner_id);
        printf("registered with %s\n", c->url);
        printf("  runner id:     %s\n", r->runner_id > 0 ? id : "(not reported by this GitLab)");
        printf("  system id:     %s\n", r->system_id);
        printf("  token expires: %s\n", r->token_expires_at ? r->token_expires_at : "never");
        printf("  state:         %s/gitlab-%s.json\n", c->state_dir, c->name);
}

static void token_freep(char **t)
{
        if (*t != NULL) {
                explicit_bzero(*t, strlen(*t));
                free(*t);
        }
}

int cmd_register(int argc, char **argv)
{
        _cleanup_(config_freep) struct config *cfg = NULL;
        _cleanup_(token_freep) char *token = NULL;
        struct gitlab_registration reg = { 0 };
        struct gitlab_conn conn = { 0 };
        struct reg_args a = { 0 };
        struct err err = ERR_INIT;
        const char *token_file = NULL;
        int r;

        r = parse("register", argc, argv, &a);
        if (r != 0)
                return r;
        if (a.all)
                return cli_usage_error("register", "--all is for unregister");
        if ((a.description || a.tag_list) && a.reg_token_file == NULL)
                return cli_usage_error("register", "--description and --tag-list need "
                                       "--registration-token-file (with a glrt- token, set them "
                                       "in GitLab)");
        r = resolve("register", &a, &cfg, &conn, &token_file);
        if (r != 0)
                return r;
        if (a.reg_token_file != NULL) {
                struct stat st;

                /* the new runner token goes to --token-file: never overwrite */
                if (lstat(token_file, &st) == 0) {
                        fprintf(stderr, "tfgate: register: %s exists; the new runner token is "
                                "written there, so give a new path\n", token_file);
                        return EXIT_USAGE;
                }
                if (read_token(&token, a.reg_token_file, &err) < 0) {
                        fprintf(stderr, "tfgate: register: %s\n", err.msg);
                        return EXIT_USAGE;
                }
                conn.token = token;
                r = gitlab_register_legacy(&reg, &conn, a.description, a.tag_list, &err);
                if (r == 0)
                        r = file_write_new(token_file, reg.token, strlen(reg.token), 0600, &err);
        } else {
                if (read_token(&token, token_file, &err) < 0) {
                        fprintf(stderr, "tfgate: register: %s\n", err.msg);
                        return EXIT_USAGE;
                }
                conn.token = token;
                r = gitlab_register_verify(&reg, &conn, &err);
        }
        if (r < 0) {
                fprintf(stderr, "tfgate: register: %s\n", err.msg);
                gitlab_registration_free(&reg);
                return r == -EINVAL ? EXIT_USAGE : EXIT_INFRA;
        }
        print_registration(&reg, &conn);
        if (a.reg_token_file != NULL)
                printf("  runner token:  written to %s (0600)\n", token_file);
        gitlab_registration_free(&reg);
        return EXIT_PASSED;
}

int cmd_unregister(int argc, char **argv)
{
        _cleanup_(config_freep) struct config *cfg = NULL;
        _cleanup_(token_freep) char *token = NULL;
        struct gitlab_conn conn = { 0 };
        struct reg_args a = { 0 };
        struct err err = ERR_INIT;
        const char *token_file = NULL;
        int r;

        r = parse("unregister", argc, argv, &a);
        if (r != 0)
                return r;
        if (a.reg_token_file || a.description || a.tag_list)
                return cli_usage_error("unregister", "registration options are for register");
        r = resolve("unregister", &a, &cfg, &conn, &token_file);
        if (r != 0)
                return r;
        if (read_token(&token, token_file, &err) < 0) {
                fprintf(stderr, "tfgate: unregister: %s\n", err.msg);
                return EXIT_USAGE;
        }
        conn.token = token;
        r = gitlab_unregister(&conn, a.all, &err);
        if (r < 0) {
                fprintf(stderr, "tfgate: unregister: %s\n", err.msg);
                return r == -EINVAL ? EXIT_USAGE : EXIT_INFRA;
        }
        printf("unregistered %s from %s\n", a.all ? "the runner" : "this runner manager", conn.url);
        return EXIT_PASSED;
}
