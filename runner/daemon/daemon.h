/* daemon.h - `tfgate run`: the main loop (docs/daemon.md).
 *
 * daemon_run() loads and validates the config, takes the state
 * directory's lock (one daemon per state directory), opens the audit log
 * (config_loaded, key_loaded), recovers what a killed predecessor left
 * (recovery.h), opens the status socket, creates each configured forge
 * from the table of adapters, and runs the scheduler until a signal says
 * stop.  Signals arrive through a signalfd (they are blocked in every
 * thread; nothing runs in a handler):
 *
 *   SIGTERM, SIGINT  take no more jobs; cancel the running ones through
 *                    their cancel pipes, report them canceled; exit 0
 *   SIGQUIT          take no more jobs; let the running ones finish; exit 0
 *                    (a SIGTERM meanwhile escalates to canceling)
 *   SIGHUP           reload the config: validated first; a bad one (or one
 *                    changing what needs a restart: state_dir, work_dir,
 *                    audit.path) is logged and the old one kept; running
 *                    jobs keep the config they started with */
#ifndef TFGATE_DAEMON_H
#define TFGATE_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include "recovery.h"
#include "runner/config/config.h"
#include "runner/forge/forge.h"
#include "scheduler.h"

/* one entry of the adapter table: how a `type:` of the config becomes a forge */
struct daemon_forge_type {
        const char *type;                       /* "gitlab", "github" */
        int (*create)(struct forge **out, const struct cfg_forge *cfg, const char *state_dir,
                      struct err *err);
        uint64_t (*poll_delay_ms)(struct forge *f);     /* NULL = none */
        int refused;                            /* see sched_forge.refused */
};

/* the adapters built into this binary (n may be 0) */
const struct daemon_forge_type *daemon_builtin_forges(size_t *n);

struct daemon_opts {
        const char *config_path;                /* required */
        const struct daemon_forge_type *forge_types;    /* NULL = daemon_builtin_forges() */
        size_t n_forge_types;
        sched_pipeline_fn pipeline;             /* NULL = pipeline_run */
        uint64_t poll_grace_ms;                 /* at exit, for long polls; 0 = 10 s */
        const struct recovery_env *recovery;    /* NULL = the real /proc */
        /* scheduler knobs (tests shorten them); 0 = defaults */
        uint64_t cancel_check_ms;
        uint64_t backoff_base_ms;
        uint64_t backoff_max_ms;
        uint32_t queue_max;
};

enum daemon_exit {
        DAEMON_EXIT_OK = 0,
        DAEMON_EXIT_CONFIG = 2,                 /* the config (or usage) is wrong */
        DAEMON_EXIT_INFRA = 3,                  /* state dir, lock, audit log, a forge */
};

/* Runs until SIGTERM/SIGINT/SIGQUIT; returns an enum daemon_exit (err says
 * why when not OK).  Blocks those signals and SIGHUP in the calling thread
 * first: call it before creating other threads, or block them there too. */
int daemon_run(const struct daemon_opts *opts, struct err *err);

#endif
