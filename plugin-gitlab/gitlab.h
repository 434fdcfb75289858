/* gitlab.h - the GitLab forge adapter: tfgate as a GitLab runner speaking
 * the Runner API v4 (/work/shared/reference/gitlab.md, docs/gitlab.md).
 *
 * gitlab_forge_new() returns a struct forge whose ops implement forge.h:
 *   poll      POST /jobs/request (long polling, last_update, backoff)
 *   start     PUT /jobs/:id state=running
 *   log       append to the job's trace buffer (never touches the network)
 *   section   a GitLab collapsible-section marker (trusted, runner-written)
 *   canceled  ships pending trace when the server's interval passed, sends
 *             the keep-alive PUT after 30 s of silence, and says whether
 *             GitLab canceled the job
 *   finish    flush the trace, upload artifacts, final PUT (202/412 handled)
 *
 * Threads: poll() may be called from up to request_concurrency threads at
 * once (a further call returns 1 at once).  For one job, log() and
 * canceled() may run on different threads at the same time; start(),
 * finish() and job_free() must not overlap canceled() of the same job.
 * Different jobs are independent.  free() only after every job is freed.
 *
 * Registration (tfgate register/unregister gitlab) uses the functions at
 * the end; they keep `<state_dir>/gitlab-<name>.json` (0600): runner id,
 * token expiry and this host's system_id, which poll() sends too. */
#ifndef TFGATE_GITLAB_H
#define TFGATE_GITLAB_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "runner/config/config.h"
#include "runner/forge/forge.h"
#include "runner/util/err.h"

#define GITLAB_REPLY_MAX (8u << 20)       /* any reply body */
#define GITLAB_STRING_MAX (64u << 10)     /* a string in a job payload */
#define GITLAB_VALUE_MAX (1u << 20)       /* a variable's value */
#define GITLAB_TRACE_MAX (64u << 20)      /* a job's whole trace, kept for resends */
#define GITLAB_PATCH_MAX (1u << 20)       /* one trace PATCH */
#define GITLAB_SYSTEM_ID_LEN 14           /* "s_" + 12 hex */

/* poll() returns this (negated errno style) when a job arrived but its
 * payload was refused: the job was failed on GitLab (runner_system_failure)
 * and nothing must run; poll again at once. */
#define GITLAB_EREFUSED (-EBADMSG)

int gitlab_forge_new(struct forge **out, const struct cfg_forge *cfg, const char *state_dir,
                     struct err *err);

/* milliseconds until poll() will contact GitLab again (0 = now): the
 * daemon sleeps this long (or its own interval, whichever is longer) after
 * a poll that returned 1 or an error.  UINT64_MAX = polling stopped (the
 * runner token was refused). */
uint64_t gitlab_poll_delay_ms(struct forge *f);

/* Timing knobs, defaults in brackets; tests shorten them. */
struct gitlab_timing {
        uint64_t touch_ms;            /* keep-alive PUT after this much silence [30 s] */
        uint64_t backoff_base_ms;     /* first back-off after a failed request [1 s] */
        uint64_t backoff_max_ms;      /* back-off ceiling [60 s] */
        uint64_t retry_after_max_ms;  /* ceiling on a server's Retry-After [300 s] */
        uint64_t final_wait_max_ms;   /* ceiling on one wait before re-sending the final state [60 s] */
};
void gitlab_forge_set_timing(struct forge *f, const struct gitlab_timing *t);

/* ---- registration ---- */

/* how to reach one GitLab for register/unregister */
struct gitlab_conn {
        const char *url;              /* https://gitlab.example.com (http only on loopback) */
        const char *token;            /* runner token, or the registration token (legacy) */
        const struct cfg_tls *tls;    /* may be NULL */
        const char *state_dir;        /* where gitlab-<name>.json lives */
        const char *name;             /* the forge's name, "gitlab" by default */
};

struct gitlab_registration {
        int64_t runner_id;
        char *token_expires_at;       /* NULL: never expires */
        char system_id[GITLAB_SYSTEM_ID_LEN + 1];
        char *token;                  /* legacy flow only: the new runner token */
};

void gitlab_registration_free(struct gitlab_registration *r);

/* POST /runners/verify with a runner authentication token (glrt-); on
 * success writes the state file. */
int gitlab_register_verify(struct gitlab_registration *out, const struct gitlab_conn *c,
                           struct err *err);
/* POST /runners with a legacy registration token; out->token is the new
 * runner token the caller must store.  Writes the state file. */
int gitlab_register_legacy(struct gitlab_registration *out, const struct gitlab_conn *c,
                           const char *description, const char *tag_list, struct err *err);
/* DELETE /runners/managers (this host's manager) or, with all, DELETE
 * /runners (the whole runner); removes the state file on success. */
int gitlab_unregister(const struct gitlab_conn *c, bool all, struct err *err);

/* this host's system_id: from the state file, else derived from
 * /etc/machine-id (s_...), else random (r_...) and saved */
int gitlab_system_id(char out[GITLAB_SYSTEM_ID_LEN + 1], const char *state_dir, const char *name,
                     struct err *err);

#endif
