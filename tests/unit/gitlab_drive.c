/* gitlab_drive.c - drives the GitLab adapter for tests/integration/
 * test_gitlab_*.sh (tests only, not installed): poll until a job or a
 * bound, start, write log chunks while asking canceled() like the daemon
 * does, finish with the report given on the command line.
 *
 * usage: gitlab_drive --url URL --token-file F --state-dir D
 *          [--polls N] [--chunks N] [--chunk-size B] [--chunk-sleep-ms MS]
 *          [--outcome passed|failed|system_failure|timeout|canceled]
 *          [--exit-code N] [--summary S] [--result F] [--envelope F]
 *          [--touch-ms MS] [--backoff-ms MS] [--concurrency N]
 * Prints one line per event on stdout ("job 12", "refused: ...",
 * "canceled", "finished", "poll-error: ...", "delay N"); exit 0 when the
 * run went as far as it could without an adapter error, 4 when no job came,
 * 5 for a refused job, 6 for a canceled job, 3 for other errors. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin-gitlab/gitlab.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

struct opts {
        const char *url, *token_file, *state_dir, *outcome, *summary, *result, *envelope;
        long polls, chunks, chunk_size, chunk_sleep_ms, exit_code, touch_ms, backoff_ms,
                concurrency;
};

static enum job_outcome outcome_of(const char *s)
{
        static const char *const names[] = { "passed", "failed", "system_failure", "timeout",
                                             "canceled" };

        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                if (strcmp(s, names[i]) == 0)
                        return (enum job_outcome)i;
        fprintf(stderr, "gitlab_drive: unknown outcome %s\n", s);
        exit(2);
}

static int run_job(struct forge *f, struct job *j, const struct opts *o)
{
        _cleanup_free_ char *result = NULL;
        _cleanup_free_ char *envelope = NULL;
        _cleanup_free_ char *chunk = NULL;
        struct job_report rep = { 0 };
        struct err err = ERR_INIT;
        size_t rlen = 0, elen = 0;
        bool canceled = false;
        char *mark;

        printf("job %s project=%s repo=%s sha=%s vars=%zu\n", j->id, j->project, j->repo_url,
               j->sha, j->n_vars);
        fflush(stdout);
        if (f->ops->start(f, j, &err) < 0) {
                printf("start-error: %s\n", err.msg);
                canceled = f->ops->canceled(f, j);
                if (!canceled)
                        return 3;
        }
        mark = f->ops->section(f, j, "plan", true);
        if (mark != NULL)
                f->ops->log(f, j, mark, strlen(mark), &err);
        free(mark);
        chunk = xmalloc((size_t)o->chunk_size + 64);
        for (long i = 0; i < o->chunks && !canceled; i++) {
                int n = snprintf(chunk, 64, "chunk %ld ", i);

                memset(chunk + n, 'a' + (char)(i % 26), (size_t)o->chunk_size);
                chunk[n + o->chunk_size] = '\n';
                f->ops->log(f, j, chunk, (size_t)n + (size_t)o->chunk_size + 1, &err);
                for (long s = 0; s < o->chunk_sleep_ms; s += 100) {
                        usleep(100000);
                        if (f->ops->canceled(f, j)) {
                                canceled = true;
                                break;
                        }
                }
                if (!canceled)
                        canceled = f->ops->canceled(f, j);
        }
        mark = f->ops->section(f, j, "plan", false);
        if (mark != NULL)
                f->ops->log(f, j, mark, strlen(mark), &err);
        free(mark);
        if (canceled)
                printf("canceled\n");
        if (o->result != NULL && file_read_all(&result, &rlen, o->result, 16u << 20, &err) < 0) {
                fprintf(stderr, "gitlab_drive: %s\n", err.msg);
                return 3;
        }
        if (o->envelope != NULL &&
            file_read_all(&envelope, &elen, o->envelope, 16u << 20, &err) < 0) {
                fprintf(stderr, "gitlab_drive: %s\n", err.msg);
                return 3;
        }
        rep.outcome = canceled ? JOB_CANCELED : outcome_of(o->outcome);
        rep.exit_code = (int)o->exit_code;
        rep.summary = o->summary;
        rep.result_json = result;
        rep.result_len = rlen;
        rep.envelope = envelope;
        rep.envelope_len = elen;
        if (f->ops->finish(f, j, &rep, &err) < 0) {
                printf("finish-error: %s\n", err.msg);
                return canceled ? 6 : 3;
        }
        printf("finished\n");
        return canceled ? 6 : 0;
}

int main(int argc, char **argv)
{
        static const struct option lo[] = {
                { "url", required_argument, NULL, 'u' },
                { "token-file", required_argument, NULL, 't' },
                { "state-dir", required_argument, NULL, 'd' },
                { "polls", required_argument, NULL, 'p' },
                { "chunks", required_argument, NULL, 'n' },
                { "chunk-size", required_argument, NULL, 's' },
                { "chunk-sleep-ms", required_argument, NULL, 'w' },
                { "outcome", required_argument, NULL, 'o' },
                { "exit-code", required_argument, NULL, 'x' },
                { "summary", required_argument, NULL, 'm' },
                { "result", required_argument, NULL, 'r' },
                { "envelope", required_argument, NULL, 'e' },
                { "touch-ms", required_argument, NULL, 'T' },
                { "backoff-ms", required_argument, NULL, 'B' },
                { "concurrency", required_argument, NULL, 'c' },
                { NULL, 0, NULL, 0 },
        };
        struct opts o = { .outcome = "passed", .summary = "terraform plan passed", .polls = 1,
                          .chunks = 3, .chunk_size = 100, .touch_ms = 30000, .backoff_ms = 1000,
                          .concurrency = 1 };
        struct cfg_forge cfg = { 0 };
        struct forge *f = NULL;
        struct err err = ERR_INIT;
        int c, rc = 4;

        while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
                switch (c) {
                case 'u': o.url = optarg; break;
                case 't': o.token_file = optarg; break;
                case 'd': o.state_dir = optarg; break;
                case 'p': o.polls = strtol(optarg, NULL, 10); break;
                case 'n': o.chunks = strtol(optarg, NULL, 10); break;
                case 's': o.chunk_size = strtol(optarg, NULL, 10); break;
                case 'w': o.chunk_sleep_ms = strtol(optarg, NULL, 10); break;
                case 'o': o.outcome = optarg; break;
                case 'x': o.exit_code = strtol(optarg, NULL, 10); break;
                case 'm': o.summary = optarg; break;
                case 'r': o.result = optarg; break;
                case 'e': o.envelope = optarg; break;
                case 'T': o.touch_ms = strtol(optarg, NULL, 10); break;
                case 'B': o.backoff_ms = strtol(optarg, NULL, 10); break;
                case 'c': o.concurrency = strtol(optarg, NULL, 10); break;
                default: return 2;
                }
        }
        if (o.url == NULL || o.token_file == NULL || o.state_dir == NULL || o.chunk_size < 1) {
                fprintf(stderr, "gitlab_drive: --url, --token-file and --state-dir are required\n");
                return 2;
        }
        cfg.type = FORGE_GITLAB;
        cfg.name = "gitlab";
        cfg.url = (char *)o.url;
        cfg.token_file = (char *)o.token_file;
        cfg.request_concurrency = (uint32_t)o.concurrency;
        if (gitlab_forge_new(&f, &cfg, o.state_dir, &err) < 0) {
                fprintf(stderr, "gitlab_drive: %s\n", err.msg);
                return 3;
        }
        gitlab_forge_set_timing(f, &(struct gitlab_timing){
                .touch_ms = (uint64_t)o.touch_ms, .backoff_base_ms = (uint64_t)o.backoff_ms,
                .backoff_max_ms = 8 * (uint64_t)o.backoff_ms, .retry_after_max_ms = 10000,
                .final_wait_max_ms = 2000 });
        for (long i = 0; i < o.polls; i++) {
                struct job *j = NULL;
                uint64_t delay;
                int r = f->ops->poll(f, &j, &err);

                if (r == 0) {
                        rc = run_job(f, j, &o);
                        job_free(j);
                        break;
                }
                if (r == GITLAB_EREFUSED) {
                        printf("refused: %s\n", err.msg);
                        rc = 5;
                        continue;
                }
                if (r < 0)
                        printf("poll-error: %s\n", err.msg);
                else
                        printf("no-job\n");
                delay = gitlab_poll_delay_ms(f);
                if (delay == UINT64_MAX) {
                        printf("stopped\n");
                        break;
                }
                printf("delay %llu\n", (unsigned long long)delay);
                fflush(stdout);
                /* bounded: the test's own limits keep delays short */
                if (delay > 0 && i + 1 < o.polls)
                        usleep((useconds_t)(delay > 20000 ? 20000 : delay) * 1000);
        }
        fflush(stdout);
        f->ops->free(f);
        return rc;
}
