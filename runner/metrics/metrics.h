/* metrics.h - the runner's counters, gauges and histograms, rendered in
 * Prometheus text format by the HTTP endpoint (GET /metrics).  Thread-safe;
 * every call is cheap (a mutex and a small table).  Names and labels are
 * fixed by the enum below, so nothing a job says becomes a metric name;
 * label values are escaped when rendered and bounded in number (beyond
 * METRICS_MAX_SERIES series of one metric, new label sets are counted under
 * the value "other").
 *
 * Names follow gitlab-runner's where one exists (reference/gitlab.md). */
#ifndef TFGATE_METRICS_H
#define TFGATE_METRICS_H

#include <stdint.h>
#include <stdio.h>

#define METRICS_MAX_SERIES 256
/* label values longer than this are cut (at a UTF-8 boundary) before they
 * are stored, so a hostile project name cannot blow up the registry */
#define METRICS_MAX_LABEL_LEN 128

enum metric {
        /* counter {forge, verdict, failure_reason} */
        M_JOBS_TOTAL = 0,
        /* histogram {step} seconds */
        M_STEP_DURATION_SECONDS,
        /* gauge {forge} */
        M_JOBS_RUNNING,
        /* gauge */
        M_QUEUE_DEPTH,
        /* counter {forge} */
        M_POLL_ERRORS_TOTAL,
        /* counter */
        M_JAIL_SETUP_FAILURES_TOTAL,
        /* counter */
        M_REDACTIONS_TOTAL,
        /* counter {forge} */
        M_LOG_BYTES_SHIPPED_TOTAL,
        /* counter {code} */
        M_HTTP_REQUESTS_TOTAL,
        M__COUNT
};

/* add v to the series of m with these label values (as many as m has, in
 * the order documented above; NULL for none).  On a counter a negative or
 * non-finite v is ignored (counters never go down); on a histogram this is
 * metrics_observe(). */
void metrics_add(enum metric m, const char *const *labels, double v);
/* gauges only (ignored on counters and histograms) */
void metrics_set(enum metric m, const char *const *labels, double v);
/* histograms only (ignored otherwise); non-finite values are ignored */
void metrics_observe(enum metric m, const char *const *labels, double v);
/* the whole registry in Prometheus text exposition format 0.0.4 */
void metrics_render(FILE *f);
/* forget everything (tests) */
void metrics_reset(void);

/* additions for the HTTP endpoint and tests */
/* the exposed name of m ("tfgate_jobs_total"), NULL for an invalid m */
const char *metrics_name(enum metric m);
/* current value of a counter or gauge series (sum for a histogram), 0 when
 * the series does not exist */
double metrics_get(enum metric m, const char *const *labels);
/* write v as a Prometheus label value (without the quotes): backslash,
 * double quote and newline escaped, other control bytes and invalid UTF-8
 * replaced by '?', cut at METRICS_MAX_LABEL_LEN bytes of input */
void metrics_escape_label(FILE *f, const char *v);

#endif
