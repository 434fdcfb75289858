/* job.c - pipeline_run(): the steps of one job in order, clean-up on every
 * path (pipeline.h, docs/pipeline.md). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pipeline.h"
#include "runner/fetch/fetch.h"
#include "runner/gate/inspect.h"
#include "runner/pipeline/emulator.h"
#include "runner/pipeline/override.h"
#include "runner/pipeline/steps.h"
#include "runner/pipeline/tfenv.h"
#include "runner/pipeline/workspace.h"
#include "runner/sign/dsse.h"
#include "runner/sign/keys.h"
#include "runner/util/buf.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/log.h"
#include "runner/util/units.h"
#include "runner/util/xalloc.h"
#include "sandbox/sandbox.h"

#define PIPELINE_LINE_MAX (64u << 10)

/* everything one run owns, released by job_clean() on every path */
struct job_run {
        const struct config *cfg;
        struct pipeline_job *job;
        const struct pipeline_hooks *hooks;
        struct pipeline_outcome *out;
        struct workspace ws;
        struct redact_registry *own_registry;
        const struct redact_registry *registry;
        struct logsink *log;
        struct jail_netns *ns;
        struct emulator *emulator;
        struct gate_inspection *inspection;
        char *terraform;
        uid_t jail_uid;
        gid_t jail_gid;
        uint64_t deadline_ms;
        struct timespec started;
        bool emulator_logged;
};

static const char *const status_names[] = {
        [PIPELINE_PASSED] = "passed",
        [PIPELINE_FAILED] = "failed",
        [PIPELINE_ERROR] = "error",
        [PIPELINE_TIMEOUT] = "timeout",
        [PIPELINE_CANCELED] = "canceled",
};

const char *pipeline_status_name(enum pipeline_status s)
{
        return (unsigned)s < ARRAY_SIZE(status_names) ? status_names[s] : "?";
}

void pipeline_outcome_free(struct pipeline_outcome *o)
{
        result_free(o->result);
        free(o->result_json);
        free(o->envelope);
        memset(o, 0, sizeof(*o));
}

static uint64_t mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void phase(struct job_run *j, const char *name, bool begin, const char *detail)
{
        if (j->hooks->phase != NULL)
                j->hooks->phase(j->hooks->phase_arg, name, begin, detail);
}

/* record the outcome's status and one-line reason (first one wins) */
__attribute__((format(printf, 3, 4))) static void settle(struct job_run *j,
                                                        enum pipeline_status st,
                                                        const char *fmt, ...)
{
        va_list ap;

        if (j->out->reason[0] != '\0')
                return;
        j->out->status = st;
        va_start(ap, fmt);
        vsnprintf(j->out->reason, sizeof(j->out->reason), fmt, ap);
        va_end(ap);
}

/* a trusted line for the job log (step headers, notes) */
static void note(struct job_run *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct job_run *j, const char *fmt, ...)
{
        char line[1024];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        if (n > 0 && j->log != NULL)
                logsink_write_marker(j->log, line, strnlen(line, sizeof(line)), NULL);
}

char *pipeline_find_terraform(const struct config *cfg)
{
        const char *bin = cfg->terraform.binary;
        const char *path = getenv("PATH");

        if (bin == NULL || bin[0] == '\0')
                return NULL;
        if (strchr(bin, '/') != NULL)
                return access(bin, X_OK) == 0 ? realpath(bin, NULL) : NULL;
        if (path == NULL)
                path = "/usr/local/bin:/usr/bin:/bin";
        while (*path != '\0') {
                size_t n = strcspn(path, ":");
                _cleanup_free_ char *cand = xasprintf("%.*s/%s", (int)n, path, bin);
                struct stat st;

                if (n > 0 && stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
                        return realpath(cand, NULL);
                path += n + (path[n] == ':');
        }
        return NULL;
}

/* an audit event about this job; fields (stolen) get the execution id */
static void audit(struct job_run *j, enum audit_event ev, json_t *fields)
{
        struct err e = ERR_INIT;

        if (j->hooks->audit != NULL) {
                json_object_set_new(fields, "exec_id", json_string(j->job->exec_id));
                if (audit_append(j->hooks->audit, ev, fields, &e) < 0)
                        log_error("audit: %s", e.msg);
        }
        json_decref(fields);
}

/* ---- set-up ---- */

static int open_log(struct job_run *j, struct err *err)
{
        const struct config *cfg = j->cfg;
        struct logsink_opts o = {
                .forge = j->hooks->log,
                .forge_arg = j->hooks->log_arg,
                .file_fd = j->hooks->log_file_fd,
                .json_fd = -1,
                .line_max = PIPELINE_LINE_MAX,
                .step_max = cfg->sandbox.output_limit,
                .job_max = cfg->sandbox.output_limit,
        };
        int r;

        j->registry = j->job->secrets;
        if (j->registry == NULL) {
                j->own_registry = redact_registry_new();
                if ((r = redact_registry_add_patterns(j->own_registry, err)) < 0 ||
                    (r = redact_registry_freeze(j->own_registry, err)) < 0)
                        return r;
                j->registry = j->own_registry;
        }
        j->log = logsink_new(j->registry, &o);
        return 0;
}

static int jail_ids(struct job_run *j, struct err *err)
{
        _cleanup_(jail_spec_freep) struct jail_spec *probe = jail_spec_new();

        jail_spec_outside_ids(probe, &j->jail_uid, &j->jail_gid);
        return 0;
}

/* ---- fetch ---- */

static void on_fetch_progress(const struct fetch_progress *p, void *arg)
{
        struct job_run *j = arg;
        char detail[128];

        if (j->hooks->phase == NULL || p->phase != FETCH_PHASE_RECEIVE)
                return;
        snprintf(detail, sizeof(detail), "%llu/%llu objects, %llu bytes",
                 (unsigned long long)p->received_objects, (unsigned long long)p->total_objects,
                 (unsigned long long)p->received_bytes);
        j->hooks->phase(j->hooks->phase_arg, "fetch", true, detail);
}

static int do_fetch(struct job_run *j, struct err *err)
{
        const struct pipeline_job *job = j->job;
        struct fetch_opts o = {
                .url = job->url,
                .url_flags = job->url_flags,
                .forge_url = job->forge_url,
                .sha = job->sha,
                .refspecs = job->refspecs,
                .n_refspecs = job->n_refspecs,
                .workspace = j->ws.repo,
                .username = job->username,
                .password = job->password,
                .limits = { .max_checkout_bytes = j->cfg->sandbox.workspace_size },
                .progress = on_fetch_progress,
                .progress_data = j,
        };
        struct fetch_result res;
        int r;

        phase(j, "fetch", true, NULL);
        r = fetch_commit(&o, &res, err);
        if (r < 0) {
                settle(j, PIPELINE_ERROR, "fetch failed");
                return r;
        }
        note(j, "fetched %s: %llu files, %llu bytes (%s%s)", res.head,
             (unsigned long long)res.files, (unsigned long long)res.checkout_bytes,
             fetch_method_name(res.method), res.shallow ? ", depth 1" : "");
        phase(j, "fetch", false, res.head);
        audit(j, AUDIT_FETCHED, json_pack("{s:s, s:s, s:I}", "commit", res.head, "method",
                                          fetch_method_name(res.method), "bytes",
                                          (json_int_t)res.checkout_bytes));
        return workspace_chown_tree(j->ws.repo, j->jail_uid, j->jail_gid, err);
}

/* ---- inspect ---- */

static int do_inspect(struct job_run *j, struct err *err)
{
        _cleanup_free_ char *cache = gate_default_cache_dir(j->cfg);
        json_t *doc;
        size_t errors = 0;
        int r;

        phase(j, "inspect", true, NULL);
        r = gate_inspect(&j->inspection, j->ws.repo, j->cfg, cache, err);
        if (r == -EBADMSG) {
                note(j, "inspection failed: %s", err->msg);
                settle(j, PIPELINE_FAILED, "the repository could not be inspected");
                return r;
        }
        if (r < 0) {
                settle(j, PIPELINE_ERROR, "inspection failed");
                return r;
        }
        doc = gate_inspection_json(j->inspection);
        r = result_set_providers(j->out->result, json_object_get(doc, "providers"), err);
        if (r == 0)
                r = result_set_findings(j->out->result, json_object_get(doc, "findings"), err);
        json_decref(doc);
        if (r < 0) {
                settle(j, PIPELINE_ERROR, "inspection result rejected");
                return r;
        }
        for (size_t i = 0; i < j->inspection->findings.n; i++) {
                const struct policy_finding *f = &j->inspection->findings.v[i];

                note(j, "%s: %s:%u: %s [%s]", gate_severity_name(f->severity),
                     f->file ? f->file : "-", f->line, f->message, policy_rule_id(f->rule));
                errors += f->severity == POLICY_ERROR;
        }
        phase(j, "inspect", false, NULL);
        audit(j, AUDIT_INSPECTED, json_pack("{s:b, s:I, s:I}", "passed",
                                            gate_inspection_passed(j->inspection), "providers",
                                            (json_int_t)j->inspection->n_providers, "errors",
                                            (json_int_t)errors));
        if (!gate_inspection_passed(j->inspection)) {
                settle(j, PIPELINE_FAILED, "provider gate: %zu error finding%s", errors,
                       errors == 1 ? "" : "s");
                return 1;
        }
        return 0;
}

/* ---- prepare and run ---- */

static bool requires_aws(const struct gate_inspection *ins)
{
        for (size_t i = 0; i < ins->n_providers; i++) {
                const char *s = ins->providers[i].source;
                size_t n = strlen(s);

                if (!ins->providers[i].unused && n >= 14 && strcmp(s + n - 14, "/hashicorp/aws") == 0)
                        return true;
        }
        return false;
}

static bool has_backend(const struct gate_inspection *ins)
{
        for (size_t i = 0; i < ins->findings.n; i++)
                if (ins->findings.v[i].rule == RULE_BACKEND_REMOTE)
                        return true;
        return false;
}

static int write_override(struct job_run *j, const char *root, struct err *err)
{
        struct tfenv_override o = {
                .aws = requires_aws(j->inspection),
                .backend = has_backend(j->inspection),
                .emulator_port = j->cfg->emulator.enabled ? j->cfg->emulator.port : 0,
        };
        _cleanup_(buf_freep) struct buf b = BUF_INIT(1u << 20);
        _cleanup_free_ char *path = NULL;
        int r = override_root_file(&b, j->ws.repo, root, &o, err);

        if (r < 0 || b.len == 0)
                return r;
        path = strcmp(root, ".") == 0 ? xasprintf("%s/%s", j->ws.repo, TFENV_OVERRIDE_NAME)
                                      : xasprintf("%s/%s/%s", j->ws.repo, root, TFENV_OVERRIDE_NAME);
        /* the repository may not plant its own file (or a link) under our name */
        if (unlink(path) < 0 && errno != ENOENT)
                return err_set(err, errno, "override file %s", path);
        return file_write_new(path, b.data, b.len, 0644, err);
}

/* The override file of every root, before the emulator starts: a root it
 * cannot be written for (an aws alias that is not an identifier) is the
 * repository's fault, a failed check; 1 then, as a gate refusal. */
static int write_overrides(struct job_run *j, struct err *err)
{
        for (size_t i = 0; i < j->cfg->terraform.n_roots; i++) {
                int r = write_override(j, j->cfg->terraform.roots[i], err);

                if (r == -EBADMSG) {
                        note(j, "override file refused: %s", err->msg);
                        settle(j, PIPELINE_FAILED, "the aws provider configuration cannot be "
                                                   "pointed at the emulator");
                        err_clear(err);
                        return 1;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int start_emulator(struct job_run *j, struct err *err)
{
        const struct config *cfg = j->cfg;
        struct jail_limits lim = {
                .memory = cfg->sandbox.memory,
                .pids = cfg->sandbox.pids,
                .wall_ms = j->deadline_ms - mono_ms(),
                /* the operator's emulator (node, python) reserves address
                 * space freely: cgroup memory only, no RLIMIT_AS fallback */
                .address_space = UINT64_MAX,
        };
        int r;

        if (!cfg->emulator.enabled)
                return 0;
        phase(j, "emulator", true, cfg->emulator.command[0]);
        r = jail_netns_new(&j->ns, err);
        if (r == 0)
                r = emulator_start(&j->emulator, &cfg->emulator, j->ns, &lim, err);
        if (r == 0)
                r = emulator_wait_ready(j->emulator, err);
        if (r < 0) {
                note(j, "emulator: %s", err->msg);
                settle(j, PIPELINE_ERROR, "the emulator did not become ready");
                return r;
        }
        note(j, "emulator ready on port %u after %llu ms", cfg->emulator.port,
             (unsigned long long)emulator_ready_ms(j->emulator));
        phase(j, "emulator", false, NULL);
        return 0;
}

/* diagnostics come from hostile output: mask and normalise before use */
static char *clean(struct job_run *j, const char *s)
{
        char *out = NULL;
        size_t len;
        struct redact_opts o = { .line_max = 0 };

        if (s == NULL)
                return NULL;
        if (redact_oneshot(&out, &len, j->registry, &o, s, strlen(s), NULL) < 0)
                return xstrdup("[unreadable]");
        return out;
}

static void record_diags(struct job_run *j, const struct tf_diags *d)
{
        for (size_t i = 0; i < d->n; i++) {
                _cleanup_free_ char *summary = clean(j, d->v[i].summary);
                _cleanup_free_ char *detail = clean(j, d->v[i].detail);
                _cleanup_free_ char *file = clean(j, d->v[i].file);
                struct result_diag rd = {
                        .severity = tf_severity_name(d->v[i].severity),
                        .summary = summary,
                        .detail = detail,
                        .file = file,
                        .line = d->v[i].line ? (int64_t)d->v[i].line : -1,
                };
                struct err e = ERR_INIT;

                if (result_add_diag(j->out->result, &rd, &e) < 0)
                        log_warn("diagnostic left out of the result: %s", e.msg);
                if (d->v[i].severity == TF_SEV_ERROR)
                        note(j, "error: %s:%u: %s", file ? file : "-", d->v[i].line, summary);
        }
}

static const enum tf_step plan_steps[] = { TF_STEP_INIT, TF_STEP_VALIDATE, TF_STEP_PLAN, TF_STEP_SHOW };
static const enum tf_step apply_steps[] = { TF_STEP_INIT, TF_STEP_VALIDATE, TF_STEP_PLAN,
                                            TF_STEP_SHOW, TF_STEP_APPLY, TF_STEP_DESTROY };
static const enum tf_step validate_steps[] = { TF_STEP_INIT, TF_STEP_VALIDATE };

static size_t steps_of(enum tf_mode mode, const enum tf_step **out)
{
        if (mode == TF_MODE_VALIDATE) {
                *out = validate_steps;
                return ARRAY_SIZE(validate_steps);
        }
        if (mode == TF_MODE_APPLY) {
                *out = apply_steps;
                return ARRAY_SIZE(apply_steps);
        }
        *out = plan_steps;
        return ARRAY_SIZE(plan_steps);
}

static void section(struct job_run *j, const char *name, bool begin)
{
        char *m = j->hooks->section ? j->hooks->section(j->hooks->section_arg, name, begin) : NULL;

        if (m != NULL) {
                logsink_write_marker(j->log, m, strlen(m), NULL);
                free(m);
        }
}

/* run the steps of one root; returns 0 passed, 1 failed, negative error */
static int run_root(struct job_run *j, const char *root, size_t index, size_t n_roots,
                    struct err *err)
{
        const struct config *cfg = j->cfg;
        _cleanup_free_ char *data = xasprintf("%s/r%zu", j->ws.data, index);
        _cleanup_free_ char *outd = xasprintf("%s/r%zu", j->ws.out, index);
        _cleanup_(buf_freep) struct buf cli = BUF_INIT(4096);
        _cleanup_strv_free_ char **env = NULL;
        const enum tf_step *steps;
        size_t n = steps_of(j->job->mode, &steps);
        struct plan_total { bool known; uint64_t add, change, destroy; } plan = { 0 };
        struct step_env se;
        int r;

        if (mkdir(data, 0700) < 0 || mkdir(outd, 0700) < 0)
                return err_set(err, errno, "workspace: mkdir %s", data);
        if ((r = workspace_chown_tree(data, j->jail_uid, j->jail_gid, err)) < 0 ||
            (r = workspace_chown_tree(outd, j->jail_uid, j->jail_gid, err)) < 0 ||
            (r = tfenv_cli_config(&cli, err)) < 0)
                return r;
        env = tfenv_step_env(cfg->emulator.enabled ? cfg->emulator.port : 0, NULL, j->job->tf_vars);
        se = (struct step_env){
                .cfg = cfg, .repo = j->ws.repo, .data_dir = data, .out_dir = outd,
                .terraform = j->terraform, .root = root, .ns = j->ns,
                .emulator_port = cfg->emulator.enabled ? cfg->emulator.port : 0,
                .env = env, .cli_config = buf_str(&cli), .log = j->log,
                .cancel_fd = j->job->cancel_fd, .deadline_ms = j->deadline_ms,
        };
        for (size_t i = 0; i < n; i++) {
                struct step_outcome so;
                _cleanup_free_ char *name = n_roots > 1 ? xasprintf("%s:%s", tf_step_name(steps[i]), root)
                                                        : xstrdup(tf_step_name(steps[i]));
                struct result_step rs;
                bool ok;

                phase(j, name, true, NULL);
                section(j, name, true);
                note(j, "$ terraform %s", tf_step_name(steps[i]));
                r = step_run(&so, &se, steps[i], err);
                if (r < 0) {
                        section(j, name, false);
                        note(j, "%s: could not start: %s", name, err->msg);
                        settle(j, PIPELINE_ERROR, "%s: the jail could not be built", name);
                        return r;
                }
                j->out->executed = true;
                ok = step_passed(&so);
                rs = (struct result_step){
                        .name = name,
                        .exit_code = so.jail.exited ? so.jail.exit_code : -1,
                        .reason = so.reason,
                        .wall_ms = so.jail.wall_ms,
                        .output_bytes = so.jail.output_bytes,
                        .truncated = so.jail.output_truncated,
                };
                if (result_add_step(j->out->result, &rs, err) < 0)
                        log_warn("step left out of the result: %s", err->msg);
                record_diags(j, &so.diags);
                if (steps[i] == TF_STEP_SHOW)
                        note(j, "(show -json: %llu bytes read for the plan summary, not shown: "
                                "it carries sensitive values in clear text)",
                             (unsigned long long)so.jail.output_bytes);
                if (so.plan.version[0] != '\0' &&
                    result_set_versions(j->out->result, TFGATE_VERSION, so.plan.version, NULL) < 0)
                        log_warn("terraform version \"%s\" left out of the result", so.plan.version);
                if (steps[i] == TF_STEP_SHOW && so.plan.known) {
                        plan.known = true;
                        plan.add += so.plan.add;
                        plan.change += so.plan.change;
                        plan.destroy += so.plan.destroy;
                }
                section(j, name, false);
                note(j, "%s: %s in %llu ms", name, so.reason, (unsigned long long)so.jail.wall_ms);
                phase(j, name, false, so.reason);
                audit(j, AUDIT_STEP_FINISHED, json_pack("{s:s, s:i, s:s, s:I}", "step", name,
                                                        "exit_code", rs.exit_code, "reason", so.reason, "wall_ms",
                                                        (json_int_t)so.jail.wall_ms));
                step_outcome_free(&so);
                if (!ok) {
                        j->out->failed_exit_code = so.jail.exited ? so.jail.exit_code : 128 + so.jail.signal;
                        if (so.jail.reason == JAIL_CANCELED)
                                settle(j, PIPELINE_CANCELED, "canceled during %s", name);
                        else if (so.jail.reason == JAIL_TIMEOUT && j->deadline_ms <= mono_ms())
                                settle(j, PIPELINE_TIMEOUT, "the job's time limit ran out during %s", name);
                        else
                                settle(j, PIPELINE_FAILED, "%s %s", name, so.reason);
                        return 1;
                }
        }
        if (plan.known &&
            result_set_plan(j->out->result, plan.add, plan.change, plan.destroy, err) < 0)
                log_warn("plan summary left out: %s", err->msg);
        return 0;
}

static int do_run(struct job_run *j, struct err *err)
{
        const struct config *cfg = j->cfg;
        int r;

        j->terraform = pipeline_find_terraform(cfg);
        if (j->terraform == NULL) {
                snprintf(j->out->skipped, sizeof(j->out->skipped),
                         "no terraform binary: \"%s\" was not found", cfg->terraform.binary);
                note(j, "terraform not run: %s", j->out->skipped);
                return 0;
        }
        r = write_overrides(j, err);
        if (r == 0)
                r = start_emulator(j, err);
        if (r != 0)
                return r;
        for (size_t i = 0; i < cfg->terraform.n_roots; i++) {
                r = run_root(j, cfg->terraform.roots[i], i, cfg->terraform.n_roots, err);
                if (r != 0)
                        return r;
        }
        return 0;
}

/* ---- report ---- */

/* sha256 of the effective allowlist and policy: what the verdict was judged by */
static void policy_digest(char out[65], const struct config *cfg)
{
        json_t *o = json_object(), *allow = json_array(), *pol = json_object();
        char *s;

        for (size_t i = 0; i < cfg->providers.n_allow; i++)
                json_array_append_new(allow, json_pack("{s:s, s:s?}", "source", cfg->providers.allow[i].source,
                                                       "versions", cfg->providers.allow[i].versions));
        for (int i = 0; i < RULE__COUNT; i++)
                json_object_set_new(pol, policy_rule_name((enum policy_rule)i),
                                    json_string(cfg->providers.policy[i] == POLICY_ERROR ? "error" : "warn"));
        json_object_set_new(o, "allow", allow);
        json_object_set_new(o, "policy", pol);
        json_object_set_new(o, "mirror", cfg->providers.mirror ? json_string(cfg->providers.mirror) : json_null());
        s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        dsse_sha256_hex(out, s, strlen(s));
        free(s);
        json_decref(o);
}

static int write_outputs(struct job_run *j, const char *out_dir, struct err *err)
{
        _cleanup_free_ char *rpath = NULL;
        _cleanup_free_ char *dpath = NULL;
        int r;

        if (out_dir == NULL)
                return 0;
        if ((r = mkdir_p(out_dir, 0755, err)) < 0)
                return r;
        rpath = xasprintf("%s/result.json", out_dir);
        r = file_write_atomic(rpath, j->out->result_json, j->out->result_len, 0644, err);
        if (r == 0 && j->out->envelope != NULL) {
                dpath = xasprintf("%s/result.dsse.json", out_dir);
                r = file_write_atomic(dpath, j->out->envelope, j->out->envelope_len, 0644, err);
        }
        return r;
}

static int do_report(struct job_run *j, const char *out_dir, struct err *err)
{
        const struct config *cfg = j->cfg;
        struct pipeline_outcome *o = j->out;
        struct timespec finished;
        int r;

        phase(j, "report", true, NULL);
        if (o->reason[0] == '\0')
                settle(j, PIPELINE_PASSED, "%s", o->skipped[0] ? "provider gate passed; terraform not run"
                                                               : "all steps passed");
        clock_gettime(CLOCK_REALTIME, &finished);
        if ((r = result_set_verdict(o->result, o->status == PIPELINE_PASSED ? RESULT_PASSED : RESULT_FAILED,
                                    o->reason, err)) < 0 ||
            (r = result_set_times(o->result, &j->started, &finished, err)) < 0 ||
            (r = result_to_json(&o->result_json, &o->result_len, o->result, err)) < 0)
                return err_wrap(err, "result");
        if (cfg->signing.key_file != NULL) {
                _cleanup_(dsse_key_freep) struct dsse_key *key = NULL;
                char digest[65];

                policy_digest(digest, cfg);
                r = dsse_key_load_private(&key, cfg->signing.key_file, err);
                if (r == 0)
                        r = dsse_sign_result(&o->envelope, &o->envelope_len, o->result_json,
                                             o->result_len, key, NULL, digest, err);
                if (r < 0)
                        return err_wrap(err, "signing");
        }
        r = write_outputs(j, out_dir, err);
        if (r == 0) {
                char digest[65];

                dsse_sha256_hex(digest, o->result_json, o->result_len);
                audit(j, AUDIT_REPORTED, json_pack("{s:s, s:s, s:s, s:b}", "verdict",
                                                   o->status == PIPELINE_PASSED ? "PASSED" : "FAILED",
                                                   "status", pipeline_status_name(o->status),
                                                   "result_sha256", digest, "signed",
                                                   o->envelope != NULL));
        }
        phase(j, "report", false, NULL);
        return r;
}

/* ---- clean ---- */

static void job_clean(struct job_run *j)
{
        struct err e = ERR_INIT;

        if (j->emulator != NULL && !j->emulator_logged) {
                size_t n;
                const char *tail = emulator_log_tail(j->emulator, &n);

                if (n > 0 && j->log != NULL && logsink_step_begin(j->log, "emulator", NULL) == 0) {
                        note(j, "\n==> emulator output (last %zu bytes)", n);
                        logsink_write(j->log, "stdout", tail, n, NULL);
                        logsink_step_end(j->log, NULL);
                }
                j->emulator_logged = true;
        }
        emulator_stop(j->emulator);
        j->emulator = NULL;
        jail_netns_free(j->ns);
        j->ns = NULL;
        audit(j, AUDIT_CLEANED, json_pack("{s:b}", "kept", j->job->keep_workspace));
        if (j->job->keep_workspace) {
                log_info("workspace kept at %s", j->ws.root);
                workspace_release(&j->ws);
        } else if (workspace_destroy(&j->ws, &e) < 0) {
                log_error("clean: %s", e.msg);
        }
        if (j->log != NULL)
                j->out->dropped_log_bytes = logsink_dropped(j->log);
        logsink_free(j->log);
        j->log = NULL;
        redact_registry_free(j->own_registry);
        gate_inspection_free(j->inspection);
        free(j->terraform);
        log_set_exec_id(NULL);
}

int pipeline_run(struct pipeline_outcome *out, const struct config *cfg,
                 struct pipeline_job *job, const struct pipeline_hooks *hooks,
                 const char *out_dir, struct err *err)
{
        struct job_run j = { .cfg = cfg, .job = job, .hooks = hooks, .out = out };
        uint64_t timeout = job->timeout_ms ? job->timeout_ms : cfg->sandbox.wall_timeout_ms;
        struct err step_err = ERR_INIT;
        int r;

        memset(out, 0, sizeof(*out));
        clock_gettime(CLOCK_REALTIME, &j.started);
        j.deadline_ms = mono_ms() + (timeout ? timeout : 24ULL * 3600 * 1000);
        if (job->exec_id[0] == '\0' && (r = randid_new(job->exec_id, err)) < 0)
                return r;
        log_set_exec_id(job->exec_id);
        out->result = result_new();
        if ((r = result_set_job(out->result, job->exec_id, job->forge, job->project, err)) < 0 ||
            (r = result_set_source(out->result, job->url, job->ref ? job->ref : "", job->sha, err)) < 0 ||
            (r = result_set_versions(out->result, TFGATE_VERSION, NULL, err)) < 0 ||
            (r = result_set_mode(out->result, tf_mode_name(job->mode), err)) < 0 ||
            (r = open_log(&j, err)) < 0 || (r = jail_ids(&j, err)) < 0) {
                job_clean(&j);
                return r;
        }
        r = workspace_create(&j.ws, cfg->work_dir, job->exec_id, (uid_t)-1, (gid_t)-1, &step_err);
        if (r < 0)
                settle(&j, PIPELINE_ERROR, "workspace could not be created");
        /* the jail's user must traverse the job directory to reach its binds */
        if (r == 0 && chmod(j.ws.root, 0711) < 0)
                r = err_set(&step_err, errno, "chmod %s", j.ws.root);
        if (r == 0)
                r = do_fetch(&j, &step_err);
        if (r == 0)
                r = do_inspect(&j, &step_err);
        if (r == 0)
                r = do_run(&j, &step_err);
        if (r < 0 && step_err.msg[0] != '\0') {
                snprintf(out->detail, sizeof(out->detail), "%s", step_err.msg);
                log_error("%s", step_err.msg);
                settle(&j, PIPELINE_ERROR, "tfgate failed");
        }
        r = do_report(&j, out_dir, err);
        job_clean(&j);
        return r;
}
