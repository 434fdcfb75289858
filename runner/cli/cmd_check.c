/* cmd_check.c - `tfgate check`: one job, locally, the same pipeline the
 * daemon runs for a forge job (runner/pipeline/pipeline.h), minus the forge.
 *
 *   tfgate check [-c FILE] [--mode validate|plan|apply] [--out DIR]
 *                [--secrets-file F] [--secret-env NAME]... [--keep]
 *                PATH|URL [--rev SHA]
 *
 * PATH is a local git repository (its HEAD, or --rev); URL an https:// or
 * file:// repository (its HEAD, or --rev).  The filtered log streams to
 * stdout with a header per step; progress goes to stderr on a terminal; a
 * summary table follows; result.json (and result.dsse.json when
 * signing.key_file is set) are written to --out (default ./tfgate-result).
 * Exit: 0 passed, 1 the check failed, 2 usage or configuration, 3 tfgate or
 * the infrastructure failed. */
#include <errno.h>
#include <git2.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "runner/config/config.h"
#include "runner/fetch/url.h"
#include "runner/pipeline/pipeline.h"
#include "runner/redact/redact.h"
#include "runner/sign/audit.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/log.h"
#include "runner/util/xalloc.h"

struct check_args {
        const char *config;
        const char *mode;
        const char *out;
        const char *target;
        const char *rev;
        const char *secrets_file;
        const char *secret_env[32];
        size_t n_secret_env;
        bool keep;
};

static int parse_args(struct check_args *a, int argc, char **argv)
{
        static const char *const valued[] = { "-c", "--config", "--mode", "--out", "--rev",
                                              "--secrets-file", "--secret-env" };

        memset(a, 0, sizeof(*a));
        a->out = "tfgate-result";
        for (int i = 1; i < argc; i++) {
                const char *o = argv[i];
                bool takes = false;

                for (size_t k = 0; k < ARRAY_SIZE(valued); k++)
                        takes |= strcmp(o, valued[k]) == 0;
                if (takes && i + 1 >= argc)
                        return cli_usage_error("check", "%s needs a value", o);
                if (strcmp(o, "-c") == 0 || strcmp(o, "--config") == 0)
                        a->config = argv[++i];
                else if (strcmp(o, "--mode") == 0)
                        a->mode = argv[++i];
                else if (strcmp(o, "--out") == 0)
                        a->out = argv[++i];
                else if (strcmp(o, "--rev") == 0)
                        a->rev = argv[++i];
                else if (strcmp(o, "--secrets-file") == 0)
                        a->secrets_file = argv[++i];
                else if (strcmp(o, "--secret-env") == 0) {
                        if (a->n_secret_env == ARRAY_SIZE(a->secret_env))
                                return cli_usage_error("check", "too many --secret-env");
                        a->secret_env[a->n_secret_env++] = argv[++i];
                } else if (strcmp(o, "--keep") == 0)
                        a->keep = true;
                else if (o[0] == '-' && o[1] != '\0')
                        return cli_usage_error("check", "unknown option %s", o);
                else if (a->target == NULL)
                        a->target = o;
                else
                        return cli_usage_error("check", "one repository at a time (got \"%s\" and \"%s\")",
                                               a->target, o);
        }
        if (a->target == NULL)
                return cli_usage_error("check", "which repository? give a PATH or URL");
        return 0;
}

static bool is_hex_sha(const char *s)
{
        size_t n = strlen(s);

        return (n == 40 || n == 64) && strspn(s, "0123456789abcdef") == n;
}

/* a local repository: its absolute path and the commit rev names */
static int resolve_local(char **url, char *sha, const char *path, const char *rev, struct err *err)
{
        git_repository *repo = NULL;
        git_object *obj = NULL;
        int r;

        _cleanup_free_ char *abs = realpath(path, NULL);

        if (abs == NULL)
                return err_set(err, errno, "%s", path);
        *url = xasprintf("file://%s", abs);
        if (git_repository_open_ext(&repo, abs, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0) {
                r = err_set(err, 0, "%s: not a git repository: %s", path,
                            git_error_last() ? git_error_last()->message : "?");
                return r;
        }
        r = git_revparse_single(&obj, repo, rev ? rev : "HEAD");
        if (r == 0 && git_object_type(obj) == GIT_OBJECT_TAG) {
                git_object *peeled = NULL;

                r = git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT);
                git_object_free(obj);
                obj = peeled;
        }
        if (r < 0) {
                r = err_set(err, 0, "%s: revision \"%s\" not found", path, rev ? rev : "HEAD");
        } else {
                git_oid_tostr(sha, GIT_OID_HEXSZ + 1, git_object_id(obj));
                r = 0;
        }
        git_object_free(obj);
        git_repository_free(repo);
        return r;
}

/* a remote repository's HEAD, asked of the server (git ls-remote) */
static int resolve_remote_head(char *sha, const char *url, struct err *err)
{
        git_remote *remote = NULL;
        const git_remote_head **heads;
        size_t n;
        int r;

        if (git_remote_create_detached(&remote, url) < 0 ||
            git_remote_connect(remote, GIT_DIRECTION_FETCH, NULL, NULL, NULL) < 0 ||
            git_remote_ls(&heads, &n, remote) < 0) {
                r = err_set(err, 0, "%s: %s", url, git_error_last() ? git_error_last()->message : "?");
                git_remote_free(remote);
                return r;
        }
        r = err_set(err, 0, "%s: the server names no HEAD; give --rev SHA", url);
        for (size_t i = 0; i < n; i++) {
                if (strcmp(heads[i]->name, "HEAD") == 0) {
                        git_oid_tostr(sha, GIT_OID_HEXSZ + 1, &heads[i]->oid);
                        r = 0;
                        break;
                }
        }
        git_remote_free(remote);
        return r;
}

static int load_secrets(struct redact_registry *reg, const struct check_args *a, struct err *err)
{
        int r;

        if (a->secrets_file != NULL && (r = redact_registry_add_file(reg, a->secrets_file, err)) < 0)
                return r;
        for (size_t i = 0; i < a->n_secret_env; i++) {
                const char *v = getenv(a->secret_env[i]);

                if (v == NULL)
                        return err_set(err, 0, "--secret-env %s: not set", a->secret_env[i]);
                if ((r = redact_registry_add_secret(reg, a->secret_env[i], v, strlen(v), err)) < 0)
                        return r;
        }
        if ((r = redact_registry_add_patterns(reg, err)) < 0)
                return r;
        return redact_registry_freeze(reg, err);
}

static int to_stdout(void *arg, const void *buf, size_t len)
{
        (void)arg;
        return write_all(STDOUT_FILENO, buf, len);
}

static void on_phase(void *arg, const char *name, bool begin, const char *detail)
{
        bool tty = *(bool *)arg;

        if (!tty)
                return;
        if (begin)
                fprintf(stderr, "\r\033[K[tfgate] %s%s%s", name, detail ? ": " : "", detail ? detail : "");
        else
                fprintf(stderr, "\r\033[K");
        fflush(stderr);
}

static char *step_header(void *arg, const char *name, bool begin)
{
        (void)arg;
        return begin ? xasprintf("\n==> %s", name) : NULL;
}

static void print_summary(const struct pipeline_outcome *o, const char *out_dir, FILE *f)
{
        json_t *doc = o->result_json ? json_loadb(o->result_json, o->result_len, 0, NULL) : NULL;
        json_t *v, *plan;
        size_t i;

        fprintf(f, "\n%-24s %-6s %-40s %s\n", "STEP", "EXIT", "RESULT", "TIME");
        json_array_foreach(json_object_get(doc, "steps"), i, v)
                fprintf(f, "%-24s %-6lld %-40s %.1fs\n", json_string_value(json_object_get(v, "name")),
                        json_integer_value(json_object_get(v, "exit_code")),
                        json_string_value(json_object_get(v, "reason")),
                        (double)json_integer_value(json_object_get(v, "wall_ms")) / 1000.0);
        plan = json_object_get(doc, "plan");
        if (json_is_object(plan))
                fprintf(f, "\nplan: %lld to add, %lld to change, %lld to destroy\n",
                        json_integer_value(json_object_get(plan, "add")),
                        json_integer_value(json_object_get(plan, "change")),
                        json_integer_value(json_object_get(plan, "destroy")));
        if (json_array_size(json_object_get(doc, "providers")) > 0) {
                fprintf(f, "\n%-44s %-10s %-8s %s\n", "PROVIDER", "VERSION", "ALLOWED", "MIRROR");
                json_array_foreach(json_object_get(doc, "providers"), i, v)
                        fprintf(f, "%-44s %-10s %-8s %s\n", json_string_value(json_object_get(v, "source")),
                                json_is_string(json_object_get(v, "locked_version"))
                                        ? json_string_value(json_object_get(v, "locked_version")) : "-",
                                json_is_true(json_object_get(v, "allowed")) ? "yes" : "no",
                                json_string_value(json_object_get(v, "mirror")));
        }
        if (json_array_size(json_object_get(doc, "findings")) > 0) {
                fprintf(f, "\nfindings:\n");
                json_array_foreach(json_object_get(doc, "findings"), i, v)
                        fprintf(f, "  %-7s %-26s %s:%lld %s\n", json_string_value(json_object_get(v, "severity")),
                                json_string_value(json_object_get(v, "rule")),
                                json_is_string(json_object_get(v, "file")) ? json_string_value(json_object_get(v, "file")) : "-",
                                json_integer_value(json_object_get(v, "line")),
                                json_string_value(json_object_get(v, "message")));
        }
        if (o->skipped[0] != '\0')
                fprintf(f, "\nterraform was NOT run: %s\n", o->skipped);
        fprintf(f, "\nverdict: %s (%s)\n", o->status == PIPELINE_PASSED ? "PASSED" : "FAILED", o->reason);
        if (o->result_json != NULL)
                fprintf(f, "result:  %s/result.json%s\n", out_dir,
                        o->envelope ? " (signed: result.dsse.json)" : " (unsigned: no signing.key_file)");
        json_decref(doc);
}

static void audit_claimed(struct audit_log *log, const struct pipeline_job *job)
{
        json_t *f = json_pack("{s:s, s:s, s:s, s:s}", "exec_id", job->exec_id, "forge", "local",
                              "repository", job->url, "commit", job->sha);
        struct err e = ERR_INIT;

        if (audit_append(log, AUDIT_JOB_CLAIMED, f, &e) < 0)
                fprintf(stderr, "tfgate: check: audit log: %s\n", e.msg);
        json_decref(f);
}

static int exit_code_of(enum pipeline_status s)
{
        switch (s) {
        case PIPELINE_PASSED:
                return EXIT_PASSED;
        case PIPELINE_FAILED:
        case PIPELINE_TIMEOUT:
                return EXIT_CHECK_FAILED;
        case PIPELINE_ERROR:
        case PIPELINE_CANCELED:
                break;
        }
        return EXIT_INFRA;
}

int cmd_check(int argc, char **argv)
{
        struct check_args a;
        _cleanup_(config_freep) struct config *cfg = NULL;
        _cleanup_(redact_registry_freep) struct redact_registry *reg = redact_registry_new();
        _cleanup_free_ char *url = NULL;
        char sha[GIT_OID_HEXSZ + 1] = { 0 };
        struct pipeline_job job = { .forge = "local", .cancel_fd = -1 };
        struct pipeline_outcome out;
        struct err err = ERR_INIT;
        bool tty = isatty(STDERR_FILENO);
        struct pipeline_hooks hooks = {
                .log = to_stdout, .log_file_fd = -1,
                .phase = on_phase, .phase_arg = &tty,
                .section = step_header,
        };
        struct stat st;
        int r = parse_args(&a, argc, argv);

        if (r != 0)
                return r;
        r = a.config ? config_load_file(&cfg, a.config, NULL, &err) : config_load_default(&cfg, &err);
        if (r < 0) {
                fprintf(stderr, "tfgate: check: %s\n", err.msg);
                return EXIT_USAGE;
        }
        job.mode = cfg->terraform.mode;
        if (a.mode != NULL && tf_mode_parse(a.mode, &job.mode) < 0)
                return cli_usage_error("check", "--mode: expected validate, plan or apply, got \"%s\"", a.mode);
        if (a.rev != NULL && !is_hex_sha(a.rev) && stat(a.target, &st) != 0)
                return cli_usage_error("check", "--rev for a URL must be a full commit SHA");
        if (load_secrets(reg, &a, &err) < 0) {
                fprintf(stderr, "tfgate: check: secrets: %s\n", err.msg);
                return EXIT_USAGE;
        }
        git_libgit2_init();
        if (stat(a.target, &st) == 0 && S_ISDIR(st.st_mode)) {
                r = resolve_local(&url, sha, a.target, a.rev, &err);
                job.url_flags = URL_ALLOW_LOCAL;
        } else {
                url = xstrdup(a.target);
                job.url_flags = strncmp(url, "file://", 7) == 0 ? URL_ALLOW_LOCAL : 0;
                if (a.rev != NULL)
                        snprintf(sha, sizeof(sha), "%s", a.rev);
                else
                        r = resolve_remote_head(sha, url, &err);
        }
        if (r < 0) {
                git_libgit2_shutdown();
                fprintf(stderr, "tfgate: check: %s\n", err.msg);
                return EXIT_USAGE;
        }
        job.url = url;
        job.project = a.target;
        job.sha = sha;
        job.ref = a.rev ? a.rev : "HEAD";
        job.secrets = reg;
        job.keep_workspace = a.keep;
        if (randid_new(job.exec_id, &err) < 0) {
                git_libgit2_shutdown();
                fprintf(stderr, "tfgate: check: %s\n", err.msg);
                return EXIT_INFRA;
        }
        if (cfg->audit_path != NULL) {
                if (audit_open(&hooks.audit, cfg->audit_path, &err) < 0) {
                        git_libgit2_shutdown();
                        fprintf(stderr, "tfgate: check: audit log: %s\n", err.msg);
                        return EXIT_INFRA;
                }
                audit_claimed(hooks.audit, &job);
        }
        printf("tfgate check %s at %s (mode %s, execution %s)\n", url, sha, tf_mode_name(job.mode),
               job.exec_id);
        fflush(stdout);
        r = pipeline_run(&out, cfg, &job, &hooks, a.out, &err);
        git_libgit2_shutdown();
        if (hooks.audit != NULL) {
                struct err e = ERR_INIT;

                if (audit_sync(hooks.audit, &e) < 0)
                        fprintf(stderr, "tfgate: check: audit log: %s\n", e.msg);
                audit_close(hooks.audit);
        }
        if (r < 0) {
                fprintf(stderr, "tfgate: check: %s\n", err.msg);
                pipeline_outcome_free(&out);
                return EXIT_INFRA;
        }
        if (out.detail[0] != '\0')
                fprintf(stderr, "tfgate: check: %s\n", out.detail);
        print_summary(&out, a.out, stdout);
        r = exit_code_of(out.status);
        pipeline_outcome_free(&out);
        return r;
}
