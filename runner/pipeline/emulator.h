/* emulator.h - the job's AWS emulator: started in its own jail inside the
 * job's network namespace, probed until ready, stopped and reaped at the end
 * of the job on every path.
 *
 * The emulator runs in a thread of its own (jail_run blocks until the
 * process ends); emulator_stop() cancels the jail through its cancel fd and
 * joins the thread, so nothing of it survives the call.  Its output is kept
 * (the last EMULATOR_LOG_TAIL bytes) for the job log: the caller copies it
 * through the redactor with emulator_log_tail().
 *
 * Readiness: a TCP connect to 127.0.0.1:port inside the namespace, or, when
 * `health` is an HTTP path, a GET that answers 200.  The probe's socket is
 * made inside the job's namespace (jail_netns_socket), so the runner never
 * joins it and nothing else on the host is reachable that way. */
#ifndef TFGATE_EMULATOR_H
#define TFGATE_EMULATOR_H

#include <stddef.h>
#include <stdint.h>

#include "runner/config/config.h"
#include "runner/util/err.h"
#include "sandbox/sandbox.h"

#define EMULATOR_LOG_TAIL (64u << 10)

struct emulator;

/* start the emulator of cfg in ns; limits as for the job's steps */
int emulator_start(struct emulator **out, const struct cfg_emulator *cfg,
                   const struct jail_netns *ns, const struct jail_limits *limits,
                   struct err *err);
/* wait until ready, or fail when the deadline passes or the emulator exits */
int emulator_wait_ready(struct emulator *em, struct err *err);
/* stop, reap and free; safe with NULL */
void emulator_stop(struct emulator *em);
/* what it printed, the last EMULATOR_LOG_TAIL bytes (borrowed until stop) */
const char *emulator_log_tail(struct emulator *em, size_t *len);
/* how long readiness took, in ms */
uint64_t emulator_ready_ms(const struct emulator *em);

/* One HTTP/1.1 GET of path on a connected socket: 0 and *status on an
 * answer, negative on I/O trouble.  Bounded (8 KiB of headers, 2 s). */
int emulator_http_get(int fd, uint16_t port, const char *path, int *status, struct err *err);

#endif
