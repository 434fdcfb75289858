/* scheduler.h - the daemon's job scheduler (docs/daemon.md).
 *
 * Threads:
 *   - one poller per forge, polling at its interval, and only while a
 *     worker is idle (GitLab hands a job to exactly one runner: a job taken
 *     while every worker is busy is a job another runner could have run);
 *     poll errors back off exponentially with jitter, bounded;
 *   - a pool of workers, at most `concurrency` running jobs at once, and
 *     at most `per_project_limit` of one (forge, project); a job whose
 *     project is at its cap waits in a bounded queue (then polling stops);
 *   - per running job, a watcher asking the forge about once a second
 *     whether the job was canceled, and writing the job's cancel pipe.
 *
 * A job runs through sched_opts.pipeline (pipeline_run in the product, a
 * fast stand-in in tests): secrets registered first, start, the pipeline
 * with its output going to the forge, finish with the mapped outcome,
 * result stored, metrics, audit.  A job's failure is reported for that job
 * and affects no other.
 *
 * Configurations come in generations: sched_set_config() hands over a
 * config and the forges made from it; new jobs use the newest generation,
 * running jobs keep theirs, and an old generation (its forges and config)
 * is freed when its last job has ended and its pollers have returned. */
#ifndef TFGATE_SCHEDULER_H
#define TFGATE_SCHEDULER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runner/config/config.h"
#include "runner/forge/forge.h"
#include "runner/pipeline/pipeline.h"
#include "runner/sign/audit.h"
#include "runner/state/state.h"
#include "runner/util/err.h"

struct sched;

/* pipeline_run's signature */
typedef int (*sched_pipeline_fn)(struct pipeline_outcome *out, const struct config *cfg,
                                 struct pipeline_job *job, const struct pipeline_hooks *hooks,
                                 const char *out_dir, struct err *err);

/* a forge of a generation, with what the daemon knows of its adapter */
struct sched_forge {
        struct forge *forge;                    /* owned by the scheduler once handed over */
        /* ms until the adapter wants to be polled again (0 now, UINT64_MAX
         * never again: e.g. its token was refused); NULL = the interval */
        uint64_t (*poll_delay_ms)(struct forge *f);
        int refused;                            /* poll's "payload refused, poll again" code; 0 none */
        /* the scheduler's own record: the last poll answered (job, none or
         * refused payload) rather than failed; false until the first poll */
        bool answered;
};

struct sched_opts {
        sched_pipeline_fn pipeline;             /* required */
        struct audit_log *audit;                /* NULL = none; borrowed, thread-safe */
        struct state *state;                    /* NULL = results not stored; borrowed */
        const char *journal_dir;                /* STATE_DIR/running; NULL = no journal */
        uint32_t queue_max;                     /* waiting jobs; 0 = concurrency */
        uint64_t cancel_check_ms;               /* watcher period; 0 = 1000 */
        uint64_t backoff_base_ms;               /* first back-off after a poll error; 0 = 1000 */
        uint64_t backoff_max_ms;                /* back-off ceiling; 0 = 60000 */
};

int sched_new(struct sched **out, const struct sched_opts *opts, struct err *err);

/* Hand over a generation: cfg and forges (n == cfg->n_forges, in the order
 * of cfg->forges) become the scheduler's in every case, and the pollers of
 * the previous generation stop after their current poll. */
int sched_set_config(struct sched *s, struct config *cfg, struct sched_forge *forges, size_t n,
                     struct err *err);

enum sched_stop_mode {
        SCHED_STOP_DRAIN = 0,   /* take no more jobs; finish those held */
        SCHED_STOP_CANCEL,      /* take no more jobs; cancel those held, report them canceled */
};
/* Stop taking jobs (may be called again to escalate DRAIN to CANCEL). */
void sched_stop(struct sched *s, enum sched_stop_mode mode);
/* After sched_stop: wait until every held job has been reported and the
 * workers ended; pollers stuck in a long poll get grace_ms more to return.
 * Returns the number of pollers that did not return (their forges are then
 * not freed: the process is about to exit). */
int sched_wait(struct sched *s, uint64_t grace_ms);
/* Free retired generations that are done; the daemon calls it now and then. */
void sched_reap(struct sched *s);
/* true while a retired generation waits for sched_reap (the main loop
 * then wakes up now and then; otherwise it sleeps until an event) */
bool sched_has_retired(struct sched *s);
void sched_free(struct sched *s);

struct sched_stats {
        uint32_t running;
        uint32_t queued;
        uint32_t peak_running;
        uint64_t finished;
        uint32_t generations;                   /* live, the current one included */
        uint32_t concurrency;                   /* of the current generation */
};
void sched_get_stats(struct sched *s, struct sched_stats *out);

/* true when every forge of the current generation answered its last poll
 * (GET /healthz); false before the first polls */
bool sched_ready(struct sched *s);
/* poll every forge now instead of at its next interval (a webhook said
 * there is work); back-off after errors still holds */
void sched_poll_now(struct sched *s);
/* call fn for each forge of the current generation, under the scheduler's
 * lock (fn must be quick and must not call back into the scheduler) */
void sched_each_forge(struct sched *s, void (*fn)(struct forge *f, void *arg), void *arg);

/* the running and queued jobs: [{"id","exec_id","forge","project","step","elapsed"}]
 * (elapsed in whole seconds); new reference */
json_t *sched_jobs_json(struct sched *s);

/* the current generation's config (borrowed: valid until the next
 * sched_set_config or sched_free, on the thread that calls those) */
const struct config *sched_config(struct sched *s);

/* job variables allowed into the jail: "NAME=VALUE" for each variable whose
 * name, without a leading TF_VAR_, is in the allowlist (itself compared
 * without TF_VAR_); TF_VAR_NAME wins over NAME.  NULL-terminated. */
char **sched_tf_vars(const struct job *j, char *const *allow);

#endif
