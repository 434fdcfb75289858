/* metrics.c - a fixed registry of counters, gauges and histograms.
 *
 * Every metric is described by one row of `defs`: its exposed name, help
 * text, type and label names.  Series live in a per-metric array that never
 * grows beyond METRICS_MAX_SERIES; the last slot is kept for the overflow
 * series whose label values are all "other", so an attacker who controls a
 * label value (a project name, a ref) can cost at most a bounded amount of
 * memory and scrape size. */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "metrics.h"
#include "runner/util/cleanup.h"
#include "runner/util/utf8.h"
#include "runner/util/xalloc.h"

#define MAX_LABELS 3

enum mtype { MT_COUNTER, MT_GAUGE, MT_HISTOGRAM };

struct metric_def {
        const char *name;
        const char *help;
        enum mtype type;
        unsigned n_labels;
        const char *labels[MAX_LABELS];
};

static const struct metric_def defs[M__COUNT] = {
        [M_JOBS_TOTAL] = { "tfgate_jobs_total", "Finished jobs by forge, verdict and failure reason.",
                           MT_COUNTER, 3, { "forge", "verdict", "failure_reason" } },
        [M_STEP_DURATION_SECONDS] = { "tfgate_step_duration_seconds",
                                      "Wall-clock duration of job steps in seconds.",
                                      MT_HISTOGRAM, 1, { "step" } },
        [M_JOBS_RUNNING] = { "tfgate_jobs_running", "Jobs running now, by forge.",
                             MT_GAUGE, 1, { "forge" } },
        [M_QUEUE_DEPTH] = { "tfgate_job_queue_depth", "Jobs claimed and waiting for a slot.",
                            MT_GAUGE, 0, { NULL } },
        [M_POLL_ERRORS_TOTAL] = { "tfgate_poll_errors_total", "Failed polls of a forge.",
                                  MT_COUNTER, 1, { "forge" } },
        [M_JAIL_SETUP_FAILURES_TOTAL] = { "tfgate_jail_setup_failures_total",
                                          "Jails that could not be set up.", MT_COUNTER, 0, { NULL } },
        [M_REDACTIONS_TOTAL] = { "tfgate_redactions_total",
                                 "Secrets replaced in job output.", MT_COUNTER, 0, { NULL } },
        [M_LOG_BYTES_SHIPPED_TOTAL] = { "tfgate_log_bytes_shipped_total",
                                        "Bytes of filtered job log sent to the forge.",
                                        MT_COUNTER, 1, { "forge" } },
        [M_HTTP_REQUESTS_TOTAL] = { "tfgate_http_requests_total",
                                    "HTTP requests answered, by status code.",
                                    MT_COUNTER, 1, { "code" } },
};

/* step durations run from sub-second (show) to an hour (apply) */
static const double buckets[] = { 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600 };
#define N_BUCKETS ARRAY_SIZE(buckets)

struct series {
        char *labels[MAX_LABELS];
        double value;                   /* counter, gauge; histogram sum */
        uint64_t count;                 /* histogram */
        uint64_t bucket[N_BUCKETS];     /* histogram, not cumulative */
};

struct family {
        struct series *series;
        size_t n;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct family families[M__COUNT];

/* a stored copy of a label value, cut at a character boundary */
static char *label_dup(const char *v)
{
        size_t n = 0, len = strlen(v);

        while (n < len) {
                size_t k = utf8_seq_len((const unsigned char *)v + n, len - n);

                if (k == 0)
                        k = 1;
                if (n + k > METRICS_MAX_LABEL_LEN)
                        break;
                n += k;
        }
        return xstrndup(v, n);
}

void metrics_escape_label(FILE *f, const char *v)
{
        const unsigned char *p = (const unsigned char *)v;
        size_t len = strlen(v);

        for (size_t i = 0; i < len;) {
                size_t k = utf8_seq_len(p + i, len - i);

                if (k == 0) {
                        fputc('?', f);
                        i++;
                        continue;
                }
                if (k > 1) {
                        fwrite(p + i, 1, k, f);
                } else if (p[i] == '\\') {
                        fputs("\\\\", f);
                } else if (p[i] == '"') {
                        fputs("\\\"", f);
                } else if (p[i] == '\n') {
                        fputs("\\n", f);
                } else if (p[i] < 0x20 || p[i] == 0x7f) {
                        fputc('?', f);
                } else {
                        fputc(p[i], f);
                }
                i += k;
        }
}

static bool labels_equal(const struct series *s, unsigned n, char *const *want)
{
        for (unsigned i = 0; i < n; i++)
                if (strcmp(s->labels[i], want[i]) != 0)
                        return false;
        return true;
}

/* the series of m for these (already cut) label values; with create, a new
 * one, or the overflow series once the family is full.  Lock held. */
static struct series *lookup(enum metric m, char *const *want, bool create)
{
        const struct metric_def *d = &defs[m];
        struct family *fam = &families[m];
        char *other[MAX_LABELS] = { "other", "other", "other" };
        struct series *s;

        for (size_t i = 0; i < fam->n; i++)
                if (labels_equal(&fam->series[i], d->n_labels, want))
                        return &fam->series[i];
        if (!create)
                return NULL;
        if (d->n_labels > 0 && fam->n >= METRICS_MAX_SERIES - 1) {
                for (size_t i = 0; i < fam->n; i++)
                        if (labels_equal(&fam->series[i], d->n_labels, other))
                                return &fam->series[i];
                want = other;
        }
        if (fam->series == NULL)
                fam->series = xcalloc(METRICS_MAX_SERIES, sizeof(*fam->series));
        s = &fam->series[fam->n++];
        memset(s, 0, sizeof(*s));
        for (unsigned i = 0; i < d->n_labels; i++)
                s->labels[i] = xstrdup(want[i]);
        return s;
}

/* cut copies of the caller's label values; NULL array or entries mean "" */
static void labels_prepare(char **out, enum metric m, const char *const *labels)
{
        for (unsigned i = 0; i < defs[m].n_labels; i++)
                out[i] = label_dup(labels != NULL && labels[i] != NULL ? labels[i] : "");
}

static void labels_release(char **l, enum metric m)
{
        for (unsigned i = 0; i < defs[m].n_labels; i++)
                free(l[i]);
}

enum op { OP_ADD, OP_SET, OP_OBSERVE };

static void update(enum metric m, const char *const *labels, double v, enum op op)
{
        char *cut[MAX_LABELS] = { NULL, NULL, NULL };
        struct series *s;

        if ((unsigned)m >= M__COUNT || !isfinite(v))
                return;
        if (defs[m].type == MT_HISTOGRAM && op == OP_ADD)
                op = OP_OBSERVE;
        if ((op == OP_SET && defs[m].type != MT_GAUGE) ||
            (op == OP_OBSERVE && defs[m].type != MT_HISTOGRAM) ||
            (op == OP_ADD && defs[m].type == MT_COUNTER && v < 0))
                return;
        labels_prepare(cut, m, labels);
        pthread_mutex_lock(&lock);
        s = lookup(m, cut, true);
        switch (op) {
        case OP_ADD:
                s->value += v;
                break;
        case OP_SET:
                s->value = v;
                break;
        case OP_OBSERVE:
                s->value += v;
                s->count++;
                for (size_t i = 0; i < N_BUCKETS; i++) {
                        if (v <= buckets[i]) {
                                s->bucket[i]++;
                                break;
                        }
                }
                break;
        }
        pthread_mutex_unlock(&lock);
        labels_release(cut, m);
}

void metrics_add(enum metric m, const char *const *labels, double v)
{
        update(m, labels, v, OP_ADD);
}

void metrics_set(enum metric m, const char *const *labels, double v)
{
        update(m, labels, v, OP_SET);
}

void metrics_observe(enum metric m, const char *const *labels, double v)
{
        update(m, labels, v, OP_OBSERVE);
}

double metrics_get(enum metric m, const char *const *labels)
{
        char *cut[MAX_LABELS] = { NULL, NULL, NULL };
        struct series *s;
        double v = 0;

        if ((unsigned)m >= M__COUNT)
                return 0;
        labels_prepare(cut, m, labels);
        pthread_mutex_lock(&lock);
        s = lookup(m, cut, false);
        if (s != NULL)
                v = s->value;
        pthread_mutex_unlock(&lock);
        labels_release(cut, m);
        return v;
}

const char *metrics_name(enum metric m)
{
        return (unsigned)m < M__COUNT ? defs[m].name : NULL;
}

/* Prometheus wants Go-style floats; integers are printed without a
 * fraction so counters read naturally */
static void put_value(FILE *f, double v)
{
        if (isnan(v))
                fputs("NaN", f);
        else if (isinf(v))
                fputs(v > 0 ? "+Inf" : "-Inf", f);
        else if (v == floor(v) && fabs(v) < 9007199254740992.0)
                fprintf(f, "%.0f", v);
        else
                fprintf(f, "%.17g", v);
}

/* {a="x",b="y"[,le="..."]}, or nothing when there are no labels at all */
static void put_labels(FILE *f, const struct metric_def *d, const struct series *s, const char *le)
{
        bool first = true;

        if (d->n_labels == 0 && le == NULL)
                return;
        fputc('{', f);
        for (unsigned i = 0; i < d->n_labels; i++) {
                fprintf(f, "%s%s=\"", first ? "" : ",", d->labels[i]);
                metrics_escape_label(f, s->labels[i]);
                fputc('"', f);
                first = false;
        }
        if (le != NULL)
                fprintf(f, "%sle=\"%s\"", first ? "" : ",", le);
        fputc('}', f);
}

static void render_histogram(FILE *f, const struct metric_def *d, const struct series *s)
{
        uint64_t cum = 0;
        char le[32];

        for (size_t i = 0; i < N_BUCKETS; i++) {
                cum += s->bucket[i];
                snprintf(le, sizeof(le), "%g", buckets[i]);
                fprintf(f, "%s_bucket", d->name);
                put_labels(f, d, s, le);
                fprintf(f, " %llu\n", (unsigned long long)cum);
        }
        fprintf(f, "%s_bucket", d->name);
        put_labels(f, d, s, "+Inf");
        fprintf(f, " %llu\n", (unsigned long long)s->count);
        fprintf(f, "%s_sum", d->name);
        put_labels(f, d, s, NULL);
        fputc(' ', f);
        put_value(f, s->value);
        fprintf(f, "\n%s_count", d->name);
        put_labels(f, d, s, NULL);
        fprintf(f, " %llu\n", (unsigned long long)s->count);
}

static const char *const type_names[] = {
        [MT_COUNTER] = "counter", [MT_GAUGE] = "gauge", [MT_HISTOGRAM] = "histogram",
};

void metrics_render(FILE *f)
{
        pthread_mutex_lock(&lock);
        for (unsigned m = 0; m < M__COUNT; m++) {
                const struct metric_def *d = &defs[m];
                const struct family *fam = &families[m];

                fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", d->name, d->help, d->name,
                        type_names[d->type]);
                /* an unlabelled counter or gauge exists from the start: 0 is
                 * a real reading, absence would look like a broken scrape */
                if (fam->n == 0 && d->n_labels == 0 && d->type != MT_HISTOGRAM) {
                        fprintf(f, "%s 0\n", d->name);
                        continue;
                }
                for (size_t i = 0; i < fam->n; i++) {
                        const struct series *s = &fam->series[i];

                        if (d->type == MT_HISTOGRAM) {
                                render_histogram(f, d, s);
                                continue;
                        }
                        fputs(d->name, f);
                        put_labels(f, d, s, NULL);
                        fputc(' ', f);
                        put_value(f, s->value);
                        fputc('\n', f);
                }
        }
        pthread_mutex_unlock(&lock);
}

void metrics_reset(void)
{
        pthread_mutex_lock(&lock);
        for (unsigned m = 0; m < M__COUNT; m++) {
                struct family *fam = &families[m];

                for (size_t i = 0; i < fam->n; i++)
                        for (unsigned j = 0; j < defs[m].n_labels; j++)
                                free(fam->series[i].labels[j]);
                free(fam->series);
                fam->series = NULL;
                fam->n = 0;
        }
        pthread_mutex_unlock(&lock);
}
