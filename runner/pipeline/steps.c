#include "steps.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "runner/pipeline/tfenv.h"
#include "runner/util/cleanup.h"
#include "runner/util/log.h"
#include "runner/util/units.h"
#include "runner/util/xalloc.h"

#define STEP_JSON_LINE_MAX (1u << 20)

/* argv after the binary, per step */
static const char *const *step_args(enum tf_step step)
{
        static const char *const init[] = { "init", "-input=false", "-lockfile=readonly", "-no-color", NULL };
        static const char *const validate[] = { "validate", "-json", "-no-color", NULL };
        static const char *const plan[] = { "plan", "-input=false", "-json", "-out=" TFENV_PLAN_FILE, NULL };
        static const char *const show[] = { "show", "-json", TFENV_PLAN_FILE, NULL };
        static const char *const apply[] = { "apply", "-input=false", "-auto-approve", "-no-color", TFENV_PLAN_FILE, NULL };
        static const char *const destroy[] = { "destroy", "-input=false", "-auto-approve", "-no-color", NULL };
        static const char *const *const table[TF_STEP__COUNT] = {
                [TF_STEP_INIT] = init, [TF_STEP_VALIDATE] = validate, [TF_STEP_PLAN] = plan,
                [TF_STEP_SHOW] = show, [TF_STEP_APPLY] = apply, [TF_STEP_DESTROY] = destroy,
        };

        return table[step];
}

struct capture {
        enum tf_step step;
        struct logsink *log;
        struct buf doc;         /* validate/show: the whole stdout */
        struct buf line;        /* plan/apply: the current stdout line */
        struct step_outcome *out;
        struct err err;
};

static void plan_bytes(struct capture *c, const char *data, size_t len)
{
        while (len > 0) {
                const char *nl = memchr(data, '\n', len);
                size_t n = nl ? (size_t)(nl - data) : len;

                if (buf_append(&c->line, data, n, NULL) < 0)
                        c->line.len = c->line.max + 1; /* too long: the line is ignored */
                if (nl == NULL)
                        return;
                if (c->line.len <= c->line.max)
                        tfjson_plan_line(&c->out->diags, &c->out->plan, buf_str(&c->line), c->line.len);
                buf_reset(&c->line);
                data += n + 1;
                len -= n + 1;
        }
}

static int on_output(void *opaque, enum jail_stream stream, const char *data, size_t len)
{
        struct capture *c = opaque;
        int r;

        /* show -json prints sensitive values in clear text: it is read, never logged */
        if (!(c->step == TF_STEP_SHOW && stream == JAIL_STDOUT)) {
                r = logsink_write(c->log, stream == JAIL_STDOUT ? "stdout" : "stderr", data, len, &c->err);
                if (r < 0)
                        return r;
        }
        if (stream != JAIL_STDOUT)
                return 0;
        if (c->step == TF_STEP_VALIDATE || c->step == TF_STEP_SHOW) {
                if (buf_append(&c->doc, data, len, NULL) < 0)
                        c->out->json_unreadable = true;
        } else if (c->step == TF_STEP_PLAN || c->step == TF_STEP_APPLY) {
                plan_bytes(c, data, len);
        }
        return 0;
}

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int add_mounts(struct jail_spec *s, const struct step_env *env, enum tf_step step,
                      struct err *err)
{
        const struct config *cfg = env->cfg;
        unsigned data_flags = step == TF_STEP_INIT ? JAIL_BIND_RW : JAIL_BIND_RO | JAIL_BIND_EXEC;
        int r;

        if ((r = jail_spec_add_bind(s, env->repo, TFENV_WORKSPACE, JAIL_BIND_RW, err)) < 0 ||
            (r = jail_spec_add_bind(s, env->data_dir, TFENV_DATA_DIR, data_flags, err)) < 0 ||
            (r = jail_spec_add_bind(s, env->out_dir, TFENV_OUT, JAIL_BIND_RW, err)) < 0 ||
            (r = jail_spec_add_bind(s, env->terraform, TFENV_BIN_DIR "/terraform",
                                    JAIL_BIND_RO | JAIL_BIND_EXEC, err)) < 0 ||
            (r = jail_spec_add_file(s, TFENV_CLI_CONFIG, env->cli_config,
                                    strlen(env->cli_config), err)) < 0)
                return r;
        if (cfg->providers.mirror != NULL &&
            (r = jail_spec_add_bind(s, cfg->providers.mirror, TFENV_MIRROR,
                                    JAIL_BIND_RO | JAIL_BIND_EXEC, err)) < 0)
                return r;
        return 0;
}

static int build_spec(struct jail_spec **out, const struct step_env *env, enum tf_step step,
                      struct err *err)
{
        const struct config *cfg = env->cfg;
        _cleanup_(jail_spec_freep) struct jail_spec *s = jail_spec_new();
        _cleanup_free_ char *workdir = NULL;
        const char *const *args = step_args(step);
        const char *argv[16];
        struct jail_limits lim = {
                .memory = cfg->sandbox.memory,
                .pids = cfg->sandbox.pids,
                .cpu_seconds = cfg->sandbox.cpu_seconds,
                .wall_ms = cfg->terraform.timeout_ms[step],
                .output_bytes = cfg->sandbox.output_limit,
        };
        size_t n = 0;
        int r;

        if (env->deadline_ms != 0) {
                uint64_t now = now_ms();
                uint64_t left = env->deadline_ms > now ? env->deadline_ms - now : 1;

                if (lim.wall_ms == 0 || left < lim.wall_ms)
                        lim.wall_ms = left;
        }
        argv[n++] = TFENV_BIN_DIR "/terraform";
        for (size_t i = 0; args[i] != NULL && n < ARRAY_SIZE(argv) - 1; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        workdir = strcmp(env->root, ".") == 0 ? xstrdup(TFENV_WORKSPACE)
                                               : xasprintf(TFENV_WORKSPACE "/%s", env->root);
        if ((r = add_mounts(s, env, step, err)) < 0 ||
            (r = jail_spec_set_env(s, (const char *const *)env->env, err)) < 0 ||
            (r = jail_spec_set_limits(s, &lim, err)) < 0 ||
            (r = jail_spec_set_workdir(s, workdir, err)) < 0 ||
            (r = jail_spec_set_argv(s, argv, err)) < 0)
                return r;
        if (env->ns != NULL && (r = jail_spec_set_netns(s, env->ns, err)) < 0)
                return r;
        if (env->emulator_port != 0 && (r = jail_spec_allow_connect(s, env->emulator_port, err)) < 0)
                return r;
        r = jail_spec_freeze(s, err);
        if (r < 0)
                return r;
        *out = TAKE_PTR(s);
        return 0;
}

static void describe(struct step_outcome *o, const struct config *cfg)
{
        const struct jail_result *j = &o->jail;
        char limit[32];

        switch (j->reason) {
        case JAIL_EXITED:
                snprintf(o->reason, sizeof(o->reason), "exited %d", j->exit_code);
                break;
        case JAIL_SIGNALED:
                snprintf(o->reason, sizeof(o->reason), "killed by signal %d", j->signal);
                break;
        case JAIL_TIMEOUT:
                snprintf(o->reason, sizeof(o->reason), "timed out after %llu ms",
                         (unsigned long long)j->wall_ms);
                break;
        case JAIL_MEMORY:
                format_size(limit, sizeof(limit), cfg->sandbox.memory);
                snprintf(o->reason, sizeof(o->reason), "out of memory (limit %s)", limit);
                break;
        case JAIL_PIDS:
                snprintf(o->reason, sizeof(o->reason), "process limit reached (%llu)",
                         (unsigned long long)cfg->sandbox.pids);
                break;
        case JAIL_OUTPUT_LIMIT:
                snprintf(o->reason, sizeof(o->reason), "output limit reached (%llu bytes)",
                         (unsigned long long)cfg->sandbox.output_limit);
                break;
        case JAIL_SETUP_FAILED:
                snprintf(o->reason, sizeof(o->reason), "jail set-up failed");
                break;
        case JAIL_CANCELED:
                snprintf(o->reason, sizeof(o->reason), "canceled");
                break;
        }
}

int step_run(struct step_outcome *out, const struct step_env *env, enum tf_step step,
             struct err *err)
{
        _cleanup_(jail_spec_freep) struct jail_spec *spec = NULL;
        struct capture c = { .step = step, .log = env->log, .out = out, .err = ERR_INIT };
        struct jail_io io = JAIL_IO_INIT;
        int r;

        memset(out, 0, sizeof(*out));
        out->step = step;
        r = build_spec(&spec, env, step, err);
        if (r < 0)
                return err_wrap(err, "%s", tf_step_name(step));
        buf_init(&c.doc, TFJSON_MAX_DOCUMENT);
        buf_init(&c.line, STEP_JSON_LINE_MAX);
        io.output = on_output;
        io.opaque = &c;
        io.cancel_fd = env->cancel_fd;
        r = logsink_step_begin(env->log, tf_step_name(step), err);
        if (r == 0)
                r = jail_run(&out->jail, spec, &io, err);
        if (r == 0) {
                out->started = true;
                if (c.line.len > 0 && c.line.len <= c.line.max)
                        tfjson_plan_line(&out->diags, &out->plan, buf_str(&c.line), c.line.len);
                if (step == TF_STEP_VALIDATE) {
                        bool valid;

                        if (tfjson_parse_validate(&out->diags, &valid, buf_str(&c.doc), c.doc.len, NULL) < 0)
                                out->json_unreadable = true;
                } else if (step == TF_STEP_SHOW) {
                        if (tfjson_parse_show(&out->plan, buf_str(&c.doc), c.doc.len, NULL) < 0)
                                out->json_unreadable = true;
                }
                describe(out, env->cfg);
        } else {
                err_wrap(err, "%s", tf_step_name(step));
        }
        logsink_step_end(env->log, NULL);
        buf_free(&c.doc);
        buf_free(&c.line);
        return r;
}

bool step_passed(const struct step_outcome *o)
{
        return o->started && o->jail.reason == JAIL_EXITED && o->jail.exit_code == 0;
}

void step_outcome_free(struct step_outcome *o)
{
        tf_diags_free(&o->diags);
}
