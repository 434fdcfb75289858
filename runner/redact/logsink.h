/* logsink.h - where a job's output goes once filtered: the forge log (a
 * text callback), a local file, and JSON lines for the runner's structured
 * log.  Every sink gets the same bytes, the output of one redact stream per
 * (step, stream name); per-step and per-job byte caps are shared budgets.
 *
 * Untrusted output goes through logsink_write(); tfgate's own lines (step
 * headers, GitLab section markers) through logsink_write_marker(), which
 * skips the normaliser (it may carry ESC on purpose) but still masks
 * secrets.  A marker always starts on a new line of the text sinks. */
#ifndef TFGATE_LOGSINK_H
#define TFGATE_LOGSINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runner/redact/redact.h"
#include "runner/util/err.h"

struct logsink;

typedef int (*logsink_text_fn)(void *arg, const void *buf, size_t len);

struct logsink_opts {
        logsink_text_fn forge;  /* NULL: no forge log */
        void *forge_arg;
        int file_fd;            /* -1: no local file */
        int json_fd;            /* -1: no JSON lines; one object per output line:
                                 * {"step":"plan","stream":"stdout","line":"..."} */
        size_t line_max;        /* per-line cap, 0 none */
        uint64_t step_max;      /* per-step cap, 0 none */
        uint64_t job_max;       /* per-job cap, 0 none */
        bool keep_colour;       /* keep SGR colours in every sink (redact_opts) */
};

/* JSON lines longer than this are split into several objects, each but the
 * last with "partial":true, when no line_max is set */
#define LOGSINK_JSON_LINE_MAX (64 * 1024)

struct logsink *logsink_new(const struct redact_registry *reg, const struct logsink_opts *opts);
/* finishes an open step; does not close the fds */
void logsink_free(struct logsink *ls);

/* start a step: later writes belong to it (the step name goes into the JSON
 * lines; write a header with logsink_write_marker if wanted) */
int logsink_step_begin(struct logsink *ls, const char *step, struct err *err);
/* untrusted bytes of one stream ("stdout", "stderr") of the current step */
int logsink_write(struct logsink *ls, const char *stream, const void *buf, size_t len,
                  struct err *err);
/* flush the step's streams (held-back bytes, cap notes) */
int logsink_step_end(struct logsink *ls, struct err *err);
/* a trusted line of tfgate's own; a newline is added if missing */
int logsink_write_marker(struct logsink *ls, const char *text, size_t len, struct err *err);

/* bytes dropped by the caps over the whole job */
uint64_t logsink_dropped(const struct logsink *ls);

static inline void logsink_freep(struct logsink **ls)
{
        logsink_free(*ls);
}

#endif
