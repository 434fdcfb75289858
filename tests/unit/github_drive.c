/* github_drive.c - drives plugin-github's forge for the integration tests
 * (not installed).  Builds a struct cfg_forge from flags, polls, and runs
 * each claimed job through start -> log -> finish with a report made from
 * a result file; prints one JSON line per event on stdout.
 *
 *   github_drive --api URL --clone URL --repo O/R [--repo ...]
 *                (--app-id N --key PEM | --token-file F) [--shard I/N]
 *                [--state DIR] [--scans K] [--interval-ms MS]
 *                [--result FILE] [--envelope FILE] [--outcome NAME]
 *                [--claim-only] [--details-url URL] [--max-wait-ms MS]
 *                [--log FILE] [--wait-cancel S]
 *                [--ca-file PEM] [--client-cert PEM --client-key PEM]
 *   github_drive jwt --key PEM --app-id N        print a JWT
 *   github_drive summary RESULT [ENVELOPE]       print output.summary
 *   github_drive webhook SECRET SIGNATURE FILE   verify a delivery (exit 0/1) */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plugin-github/github.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/log.h"
#include "runner/util/units.h"
#include "runner/util/xalloc.h"

static void die(const char *what, const struct err *e)
{
        fprintf(stderr, "github_drive: %s: %s\n", what, e ? e->msg : "");
        exit(3);
}

static char *slurp(const char *path, size_t *len)
{
        struct err e = ERR_INIT;
        char *data = NULL;

        if (file_read_all(&data, len, path, 64u << 20, &e) < 0)
                die("read", &e);
        return data;
}

static int cmd_jwt(int argc, char **argv)
{
        EVP_PKEY *k = NULL;
        struct err e = ERR_INIT;
        char *jwt = NULL;
        uint64_t id = 0;

        if (argc != 5 || strcmp(argv[1], "--key") != 0 || strcmp(argv[3], "--app-id") != 0)
                return 2;
        if (parse_uint(argv[4], INT64_MAX, &id, &e) < 0 || github_key_load(&k, argv[2], &e) < 0 ||
            github_jwt_make(&jwt, k, (int64_t)id, time(NULL), &e) < 0)
                die("jwt", &e);
        printf("%s\n", jwt);
        free(jwt);
        EVP_PKEY_free(k);
        return 0;
}

static int cmd_summary(int argc, char **argv)
{
        size_t rl = 0, el = 0;
        _cleanup_free_ char *res = slurp(argv[1], &rl);
        _cleanup_free_ char *env = argc > 2 ? slurp(argv[2], &el) : NULL;
        struct job_report rep = { .outcome = JOB_FAILED, .summary = "failed",
                                  .result_json = res, .result_len = rl,
                                  .envelope = env, .envelope_len = el };
        struct err e = ERR_INIT;
        char *s = NULL;

        if (github_summary(&s, &rep, "0123456789abcdef0123456789abcdef01234567", &e) < 0)
                die("summary", &e);
        fputs(s, stdout);
        free(s);
        return 0;
}

static int cmd_webhook(int argc, char **argv)
{
        size_t n = 0;
        _cleanup_free_ char *body = argc == 4 ? slurp(argv[3], &n) : NULL;
        struct err e = ERR_INIT;

        if (argc != 4)
                return 2;
        if (github_webhook_verify(argv[1], body, n, argv[2], &e) < 0) {
                printf("refused: %s\n", e.msg);
                return 1;
        }
        printf("ok\n");
        return 0;
}

static const struct {
        const char *name;
        enum job_outcome o;
} outcomes[] = {
        { "passed", JOB_PASSED }, { "failed", JOB_FAILED }, { "system_failure", JOB_SYSTEM_FAILURE },
        { "timeout", JOB_TIMEOUT }, { "canceled", JOB_CANCELED },
};

static void print_job(const struct job *j)
{
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:b}", "event", "job",
                              "id", j->id, "project", j->project, "repo_url", j->repo_url,
                              "sha", j->sha, "ref", j->ref, "refspec", j->refspecs[0],
                              "user", j->clone_username,
                              "password_len", (json_int_t)strlen(j->clone_password),
                              "password_has_ws", strpbrk(j->clone_password, " \r\n\t") != NULL);
        char *s = json_dumps(o, JSON_COMPACT);

        printf("%s\n", s);
        fflush(stdout);
        free(s);
        json_decref(o);
}

static void print_event(const char *event, const char *detail)
{
        json_t *o = json_pack("{s:s, s:s}", "event", event, "detail", detail ? detail : "");
        char *s = json_dumps(o, JSON_COMPACT);

        printf("%s\n", s);
        fflush(stdout);
        free(s);
        json_decref(o);
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "api", required_argument, NULL, 'a' },
                { "clone", required_argument, NULL, 'c' },
                { "repo", required_argument, NULL, 'r' },
                { "app-id", required_argument, NULL, 'i' },
                { "key", required_argument, NULL, 'k' },
                { "token-file", required_argument, NULL, 't' },
                { "shard", required_argument, NULL, 's' },
                { "state", required_argument, NULL, 'S' },
                { "scans", required_argument, NULL, 'n' },
                { "interval-ms", required_argument, NULL, 'I' },
                { "result", required_argument, NULL, 'R' },
                { "envelope", required_argument, NULL, 'E' },
                { "outcome", required_argument, NULL, 'o' },
                { "claim-only", no_argument, NULL, 'C' },
                { "details-url", required_argument, NULL, 'd' },
                { "max-wait-ms", required_argument, NULL, 'W' },
                { "log", required_argument, NULL, 'L' },
                { "wait-cancel", required_argument, NULL, 'w' },
                { "ca-file", required_argument, NULL, 'A' },
                { "client-cert", required_argument, NULL, 'P' },
                { "client-key", required_argument, NULL, 'K' },
                { "handle", no_argument, NULL, 'H' },
                { "abandon", required_argument, NULL, 'B' },
                { NULL, 0, NULL, 0 },
        };
        struct cfg_forge cfg = { .type = FORGE_GITHUB, .name = "github", .poll_interval_ms = 100 };
        struct github_timing timing = { .max_wait_ms = 5000, .backoff_ms = 50, .retries = 2,
                                        .mutate_gap_ms = 0, .request_timeout_ms = 10000,
                                        .cancel_check_ms = 200 };
        unsigned wait_cancel = 0;
        const char *state = NULL, *result = NULL, *envelope = NULL, *details = NULL, *logfile = NULL;
        const char *abandon = NULL;
        bool want_handle = false;
        enum job_outcome outcome = JOB_PASSED;
        bool claim_only = false;
        unsigned scans = 3;
        struct forge *f = NULL;
        struct err e = ERR_INIT;
        struct github_stats st;
        int c;

        if (argc > 1 && strcmp(argv[1], "jwt") == 0)
                return cmd_jwt(argc - 1, argv + 1);
        if (argc > 2 && strcmp(argv[1], "summary") == 0)
                return cmd_summary(argc - 1, argv + 1);
        if (argc > 1 && strcmp(argv[1], "webhook") == 0)
                return cmd_webhook(argc - 1, argv + 1);
        log_setup(LOGL_INFO, LOGF_TEXT);
        cfg.repositories = xcalloc((size_t)argc + 1, sizeof(char *));
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                uint64_t v = 0;

                switch (c) {
                case 'a': cfg.api_url = optarg; break;
                case 'c': cfg.clone_url = optarg; break;
                case 'r': cfg.repositories[cfg.n_repositories++] = optarg; break;
                case 'i':
                        if (parse_uint(optarg, INT64_MAX, &v, &e) < 0)
                                die("--app-id", &e);
                        cfg.app_id = (int64_t)v;
                        break;
                case 'k': cfg.private_key_file = optarg; break;
                case 't': cfg.token_file = optarg; break;
                case 's':
                        if (sscanf(optarg, "%" SCNu32 "/%" SCNu32, &cfg.shard_index, &cfg.shard_count) != 2)
                                die("--shard I/N", NULL);
                        break;
                case 'S': state = optarg; break;
                case 'n': scans = (unsigned)strtoul(optarg, NULL, 10); break;
                case 'I': cfg.poll_interval_ms = strtoull(optarg, NULL, 10); break;
                case 'R': result = optarg; break;
                case 'E': envelope = optarg; break;
                case 'o':
                        for (size_t i = 0; i < ARRAY_SIZE(outcomes); i++)
                                if (strcmp(optarg, outcomes[i].name) == 0)
                                        outcome = outcomes[i].o;
                        break;
                case 'C': claim_only = true; break;
                case 'd': details = optarg; break;
                case 'W': timing.max_wait_ms = strtoull(optarg, NULL, 10); break;
                case 'L': logfile = optarg; break;
                case 'w': wait_cancel = (unsigned)strtoul(optarg, NULL, 10); break;
                case 'A': cfg.tls.ca_file = optarg; break;
                case 'P': cfg.tls.client_cert_file = optarg; break;
                case 'K': cfg.tls.client_key_file = optarg; break;
                case 'H': want_handle = true; break;
                case 'B': abandon = optarg; break;
                default: return 2;
                }
        }
        if (github_forge_new(&f, &cfg, state, &e) < 0)
                die("github_forge_new", &e);
        github_forge_set_timing(f, &timing);
        if (abandon != NULL) {
                /* what a restarted daemon does with a journal entry's handle */
                int r = f->ops->abandon != NULL ? f->ops->abandon(f, abandon, &e) : -ENOSYS;

                print_event(r == 0 ? "abandoned" : r == 1 ? "gone" : "abandon_error",
                            r < 0 ? e.msg : NULL);
                f->ops->free(f);
                free(cfg.repositories);
                return 0;
        }

        /* bounded: `scans` polls that found nothing (or failed) end the run */
        for (unsigned idle = 0, rounds = 0; idle < scans && rounds < 1000; rounds++) {
                struct job *j = NULL;
                int r = f->ops->poll(f, &j, &e);

                if (r == 1 || r < 0) {
                        if (r < 0)
                                print_event("poll_error", e.msg);
                        idle++;
                        github_forge_stats(f, &st);
                        {
                                struct timespec ts = { 0, 0 };
                                uint64_t ms = st.next_poll_ms < 300 ? st.next_poll_ms : 300;

                                ts.tv_sec = (time_t)(ms / 1000);
                                ts.tv_nsec = (long)(ms % 1000) * 1000000;
                                nanosleep(&ts, NULL);
                        }
                        continue;
                }
                print_job(j);
                if (want_handle) {
                        char *h = f->ops->job_handle != NULL ? f->ops->job_handle(f, j) : NULL;

                        print_event("handle", h != NULL ? h : "none");
                        free(h);
                }
                if (!claim_only) {
                        size_t rl = 0, el = 0, ll = 0;
                        _cleanup_free_ char *res = result ? slurp(result, &rl) : NULL;
                        _cleanup_free_ char *env = envelope ? slurp(envelope, &el) : NULL;
                        _cleanup_free_ char *logtext = logfile ? slurp(logfile, &ll) : NULL;
                        struct job_report rep = { .outcome = outcome, .summary = "tfgate finished",
                                                  .result_json = res, .result_len = rl,
                                                  .envelope = env, .envelope_len = el,
                                                  .details_url = details };

                        if (details != NULL && github_job_set_details_url(j, details, &e) < 0)
                                print_event("details_error", e.msg);
                        if (f->ops->start(f, j, &e) < 0)
                                print_event("start_error", e.msg);
                        else
                                print_event("started", j->id);
                        if (logtext != NULL && f->ops->log(f, j, logtext, ll, &e) < 0)
                                print_event("log_error", e.msg);
                        /* bounded: wait_cancel seconds in 100 ms steps */
                        for (unsigned t = 0; t <= wait_cancel * 10; t++) {
                                struct timespec ts = { 0, 100 * 1000000L };

                                if (f->ops->canceled(f, j)) {
                                        rep.outcome = JOB_CANCELED;
                                        break;
                                }
                                if (t < wait_cancel * 10)
                                        nanosleep(&ts, NULL);
                        }
                        print_event(rep.outcome == JOB_CANCELED ? "canceled" : "running", j->id);
                        if (f->ops->finish(f, j, &rep, &e) < 0)
                                print_event("finish_error", e.msg);
                        else
                                print_event("finished", j->id);
                }
                job_free(j);
        }
        github_forge_stats(f, &st);
        {
                json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "event", "stats",
                                      "requests", (json_int_t)st.requests,
                                      "not_modified", (json_int_t)st.not_modified,
                                      "rate_limited", (json_int_t)st.rate_limited,
                                      "token_mints", (json_int_t)st.token_mints,
                                      "retries_401", (json_int_t)st.retries_401,
                                      "refused_prs", (json_int_t)st.refused_prs,
                                      "next_poll_ms", (json_int_t)st.next_poll_ms);
                char *s = json_dumps(o, JSON_COMPACT);

                printf("%s\n", s);
                free(s);
                json_decref(o);
        }
        f->ops->free(f);
        free(cfg.repositories);
        return 0;
}
