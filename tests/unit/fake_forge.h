/* fake_forge.h - an in-process forge adapter for the daemon's tests (not
 * part of the product): the test queues jobs, raises cancel flags and
 * injects poll errors; the adapter records every call the runner makes
 * (start, log bytes, sections, finish with its report) and checks the
 * adapter contract (start/finish/job_free never overlap canceled() of the
 * same job; finish exactly once per started job).
 *
 * A fake is owned by the test (fake_forge_state_new); the struct forge the
 * daemon gets is a thin wrapper around it, freed by ops->free, so the test
 * can still read the records after the daemon is gone. */
#ifndef TFGATE_FAKE_FORGE_H
#define TFGATE_FAKE_FORGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runner/config/config.h"
#include "runner/forge/forge.h"

struct fake_state;

struct fake_job_record {
        char id[64];
        char project[128];
        bool started;
        int finished;                   /* finish() calls */
        enum job_outcome outcome;
        int exit_code;
        char summary[256];
        char *log;                      /* everything log() got, NUL-terminated */
        size_t log_len;
        int sections;                   /* section() calls */
        bool cancel;                    /* the test asked for cancellation */
        uint64_t cancel_set_ms;         /* when (CLOCK_MONOTONIC) */
        uint64_t finished_ms;
        int canceled_calls;
        bool freed;
        bool had_result;
};

/* name: the config forge name whose constructor returns this fake */
struct fake_state *fake_state_new(const char *name);
void fake_state_free(struct fake_state *s);
/* forget every registered fake (between tests) */
void fake_state_unregister_all(void);

/* queue a job; vars may be NULL.  A clone password is set ("clone-secret-<id>") */
void fake_queue(struct fake_state *s, const char *id, const char *project,
                const struct job_variable *vars, size_t n_vars);
void fake_cancel(struct fake_state *s, const char *id);
/* the next n polls fail */
void fake_poll_errors(struct fake_state *s, int n);
/* poll() blocks this long before answering "none" (a long poll) */
void fake_poll_delay(struct fake_state *s, uint64_t ms);

/* fn(arg) runs at the start of every poll (to check when polls happen) */
void fake_on_poll(struct fake_state *s, void (*fn)(void *arg), void *arg);

/* copies of what happened; NULL when no such job */
bool fake_record(struct fake_state *s, const char *id, struct fake_job_record *out);
size_t fake_finished_count(struct fake_state *s);
size_t fake_started_count(struct fake_state *s);
uint64_t fake_polls(struct fake_state *s);
uint64_t fake_polls_failed(struct fake_state *s);
/* contract violations seen (overlaps, double finish, finish without start) */
int fake_violations(struct fake_state *s);
/* wait (bounded) until n jobs finished; false on timeout */
bool fake_wait_finished(struct fake_state *s, size_t n, uint64_t timeout_ms);
/* copy of a job's log (caller frees) */
char *fake_log(struct fake_state *s, const char *id);
/* number of live wrappers (struct forge) made of this state */
int fake_live_forges(struct fake_state *s);

/* the constructor the daemon's forge table gets in tests: the fake
 * registered under cfg->name (-ENOENT when none is) */
int fake_forge_new(struct forge **out, const struct cfg_forge *cfg, const char *state_dir,
                   struct err *err);
/* a wrapper for a given fake (scheduler tests, no config lookup) */
struct forge *fake_forge_wrap(struct fake_state *s);

uint64_t fake_now_ms(void);

#endif
