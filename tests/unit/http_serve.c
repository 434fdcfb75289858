/* http_serve.c - the HTTP endpoint over a state directory and a config,
 * without the daemon, for tests/integration/test_http_*.sh.  Not installed.
 *
 *   http_serve --config FILE --state DIR --port-file FILE
 *              [--listen HOST:PORT] [--ready-file FILE] [--hook-secret FILE]
 *              [--hook-log FILE] [--key PUB] [--rate N] [--burst N]
 *              [--jobs DIR]
 *
 * It plays the daemon's part around the endpoint: readiness is "the ready
 * file exists"; a verified webhook is appended to the hook log as one line
 * "event delivery bytes"; and every DIR/NAME.job (JSON: exec_id, forge,
 * project, ref, commit, verdict, failure_reason, and the paths
 * result_file, envelope_file, log_file) is taken as a finished job:
 * state_record() plus the job and step-duration metrics, after which the
 * file is renamed NAME.done (or NAME.failed with the error inside).  The
 * bound port is written to the port file once the server listens; SIGTERM
 * or SIGINT stops it. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runner/config/config.h"
#include "runner/http/http.h"
#include "runner/metrics/metrics.h"
#include "runner/state/state.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

static volatile sig_atomic_t stop;

static void closedirp(DIR **d)
{
        if (*d != NULL)
                closedir(*d);
}

static void on_signal(int sig)
{
        stop = 1;
}

struct serve_ctx {
        const char *ready_file;
        const char *hook_log;
};

static bool is_ready(void *p)
{
        const struct serve_ctx *ctx = p;

        return ctx->ready_file != NULL && access(ctx->ready_file, F_OK) == 0;
}

static int on_hook(void *p, const char *event, const char *delivery, const char *body, size_t len)
{
        const struct serve_ctx *ctx = p;
        _cleanup_fclose_ FILE *f = NULL;

        if (ctx->hook_log == NULL)
                return 0;
        f = fopen(ctx->hook_log, "a");
        if (f == NULL)
                return -errno;
        fprintf(f, "%s %s %zu\n", event, delivery[0] ? delivery : "-", len);
        return 0;
}

static char *read_opt(const json_t *job, const char *key, size_t *len, struct err *err)
{
        const char *path = json_string_value(json_object_get(job, key));
        char *data = NULL;

        *len = 0;
        if (path == NULL)
                return NULL;
        if (file_read_all(&data, len, path, STATE_MAX_RESULT, err) < 0)
                return NULL;
        return data;
}

/* the metrics the daemon records for a finished job */
static void job_metrics(const struct state_record *rec, const char *reason, const char *result,
                        size_t result_len)
{
        const char *jl[] = { rec->forge, rec->verdict, reason };
        json_t *res = result != NULL ? json_loadb(result, result_len, 0, NULL) : NULL;
        size_t i;
        json_t *step;

        metrics_add(M_JOBS_TOTAL, jl, 1);
        json_array_foreach(json_object_get(res, "steps"), i, step) {
                const char *sl[] = { json_string_value(json_object_get(step, "name")) };

                metrics_observe(M_STEP_DURATION_SECONDS, sl,
                                (double)json_integer_value(json_object_get(step, "wall_ms")) / 1000.0);
        }
        json_decref(res);
}

static int take_job(struct state *st, const char *path, struct err *err)
{
        json_error_t jerr;
        _cleanup_free_ char *result = NULL, *envelope = NULL, *log = NULL;
        json_t *job = json_load_file(path, 0, &jerr);
        struct state_record rec;
        int r = 0;

        if (job == NULL)
                return err_set(err, EINVAL, "%s: %s", path, jerr.text);
        memset(&rec, 0, sizeof(rec));
        rec.exec_id = json_string_value(json_object_get(job, "exec_id"));
        rec.forge = json_string_value(json_object_get(job, "forge"));
        rec.project = json_string_value(json_object_get(job, "project"));
        rec.ref = json_string_value(json_object_get(job, "ref"));
        rec.commit = json_string_value(json_object_get(job, "commit"));
        rec.verdict = json_string_value(json_object_get(job, "verdict"));
        rec.finished = time(NULL);
        result = read_opt(job, "result_file", &rec.result_len, err);
        envelope = read_opt(job, "envelope_file", &rec.envelope_len, err);
        log = read_opt(job, "log_file", &rec.log_tail_len, err);
        rec.result_json = result;
        rec.envelope = envelope;
        rec.log_tail = log;
        if (err->code != 0)
                r = err->code;
        if (r == 0)
                r = state_record(st, &rec, err);
        if (r == 0) {
                const char *reason = json_string_value(json_object_get(job, "failure_reason"));

                job_metrics(&rec, reason ? reason : "", result, rec.result_len);
        }
        json_decref(job);
        return r;
}

static void scan_jobs(struct state *st, const char *dir)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        d = opendir(dir);
        if (d == NULL)
                return;
        while ((de = readdir(d)) != NULL) {
                size_t n = strlen(de->d_name);
                _cleanup_free_ char *path = NULL, *done = NULL;
                struct err e = ERR_INIT;

                if (n < 5 || strcmp(de->d_name + n - 4, ".job") != 0)
                        continue;
                path = xasprintf("%s/%s", dir, de->d_name);
                if (take_job(st, path, &e) == 0) {
                        done = xasprintf("%s/%.*s.done", dir, (int)(n - 4), de->d_name);
                } else {
                        done = xasprintf("%s/%.*s.failed", dir, (int)(n - 4), de->d_name);
                        file_write_atomic(path, e.msg, strlen(e.msg), 0600, &e);
                }
                rename(path, done);
        }
}

static void usage(void)
{
        fprintf(stderr, "usage: http_serve --config FILE --state DIR --port-file FILE [--listen ADDR]\n"
                        "       [--ready-file F] [--hook-secret F] [--hook-log F] [--key PUB]\n"
                        "       [--rate N] [--burst N] [--jobs DIR]\n");
        exit(2);
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' }, { "state", required_argument, NULL, 's' },
                { "port-file", required_argument, NULL, 'p' }, { "listen", required_argument, NULL, 'l' },
                { "ready-file", required_argument, NULL, 'r' }, { "hook-secret", required_argument, NULL, 'h' },
                { "hook-log", required_argument, NULL, 'g' }, { "key", required_argument, NULL, 'k' },
                { "rate", required_argument, NULL, 'R' }, { "burst", required_argument, NULL, 'B' },
                { "jobs", required_argument, NULL, 'j' }, { NULL, 0, NULL, 0 },
        };
        const char *config = NULL, *state_dir = NULL, *port_file = NULL, *jobs = NULL;
        struct serve_ctx ctx = { NULL, NULL };
        struct http_hooks hooks = { .ctx = &ctx, .ready = is_ready, .webhook = on_hook };
        _cleanup_(config_freep) struct config *cfg = NULL;
        struct state *st = NULL;
        struct http_server *srv = NULL;
        struct err e = ERR_INIT;
        struct sigaction sa = { .sa_handler = on_signal };
        char port[16];
        int c;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 'c': config = optarg; break;
                case 's': state_dir = optarg; break;
                case 'p': port_file = optarg; break;
                case 'l': hooks.listen = optarg; break;
                case 'r': ctx.ready_file = optarg; break;
                case 'h': hooks.webhook_secret_file = optarg; break;
                case 'g': ctx.hook_log = optarg; break;
                case 'k': hooks.public_key_path = optarg; break;
                case 'R': hooks.rate_per_sec = (unsigned)strtoul(optarg, NULL, 10); break;
                case 'B': hooks.rate_burst = (unsigned)strtoul(optarg, NULL, 10); break;
                case 'j': jobs = optarg; break;
                default: usage();
                }
        }
        if (config == NULL || state_dir == NULL || port_file == NULL || optind != argc)
                usage();
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        if (config_load_file(&cfg, config, NULL, &e) < 0 || state_open(&st, state_dir, &e) < 0 ||
            http_server_start(&srv, cfg, st, &hooks, &e) < 0) {
                fprintf(stderr, "http_serve: %s\n", e.msg);
                state_close(st);
                return 1;
        }
        if (srv == NULL) {
                fprintf(stderr, "http_serve: no listen address (http.listen or --listen)\n");
                state_close(st);
                return 1;
        }
        snprintf(port, sizeof(port), "%u\n", (unsigned)http_server_port(srv));
        if (file_write_atomic(port_file, port, strlen(port), 0644, &e) < 0) {
                fprintf(stderr, "http_serve: %s\n", e.msg);
                stop = 1;
        }
        while (!stop) {
                struct timespec ts = { 0, 50 * 1000 * 1000 };

                if (jobs != NULL)
                        scan_jobs(st, jobs);
                nanosleep(&ts, NULL);
        }
        http_server_stop(srv);
        state_close(st);
        metrics_reset();
        return 0;
}
