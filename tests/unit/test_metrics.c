/* test_metrics.c - the registry renders valid Prometheus text that parses
 * back to what was recorded; hostile label values stay inside their quotes;
 * the number of series is capped. */
#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runner/metrics/metrics.h"

struct sample {
        char name[128];
        char labels[8][2][512]; /* name, unescaped value */
        int n_labels;
        double value;
};

struct parsed {
        struct sample *s;
        size_t n;
        char families[64][128];
        char types[64][16];
        size_t n_families;
};

static char *render(void)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        assert_non_null(f);
        metrics_render(f);
        assert_int_equal(fclose(f), 0);
        return text;
}

/* the family a sample belongs to: itself, or a histogram's base name */
static bool declared(const struct parsed *p, const char *name)
{
        static const char *const suffixes[] = { "_bucket", "_sum", "_count" };

        for (size_t i = 0; i < p->n_families; i++) {
                size_t fl = strlen(p->families[i]);

                if (strcmp(p->families[i], name) == 0 && strcmp(p->types[i], "histogram") != 0)
                        return true;
                if (strcmp(p->types[i], "histogram") != 0 || strncmp(p->families[i], name, fl) != 0)
                        continue;
                for (size_t j = 0; j < 3; j++)
                        if (strcmp(name + fl, suffixes[j]) == 0)
                                return true;
        }
        return false;
}

/* a strict reader of the text format: fails the test on anything it does
 * not understand */
static void parse(struct parsed *p, const char *text)
{
        const char *line = text;

        memset(p, 0, sizeof(*p));
        while (*line != '\0') {
                const char *end = strchr(line, '\n');
                struct sample smp;
                const char *c = line;
                char *vend;
                size_t k = 0;

                assert_non_null(end); /* every line ends with \n */
                if (strncmp(line, "# HELP ", 7) == 0) {
                        line = end + 1;
                        continue;
                }
                if (strncmp(line, "# TYPE ", 7) == 0) {
                        assert_true(p->n_families < 64);
                        assert_int_equal(sscanf(line + 7, "%127s %15s", p->families[p->n_families],
                                                p->types[p->n_families]), 2);
                        p->n_families++;
                        line = end + 1;
                        continue;
                }
                assert_true(*line != '#');
                memset(&smp, 0, sizeof(smp));
                while (c < end && (isalnum((unsigned char)*c) || *c == '_' || *c == ':'))
                        smp.name[k++] = *c++;
                assert_true(k > 0);
                assert_true(declared(p, smp.name));
                if (*c == '{') {
                        c++;
                        while (*c != '}') {
                                char *ln = smp.labels[smp.n_labels][0];
                                char *lv = smp.labels[smp.n_labels][1];
                                size_t a = 0, b = 0;

                                assert_true(smp.n_labels < 8);
                                while (isalnum((unsigned char)*c) || *c == '_')
                                        ln[a++] = *c++;
                                assert_true(a > 0);
                                assert_int_equal(*c++, '=');
                                assert_int_equal(*c++, '"');
                                while (*c != '"') {
                                        assert_true(c < end);
                                        if (*c == '\\') {
                                                c++;
                                                assert_true(*c == '\\' || *c == '"' || *c == 'n');
                                                lv[b++] = *c == 'n' ? '\n' : *c;
                                                c++;
                                        } else {
                                                lv[b++] = *c++;
                                        }
                                        assert_true(b < 511);
                                }
                                c++;
                                smp.n_labels++;
                                if (*c == ',')
                                        c++;
                                else
                                        assert_int_equal(*c, '}');
                        }
                        c++;
                }
                assert_int_equal(*c++, ' ');
                if (strncmp(c, "+Inf", 4) == 0) {
                        smp.value = INFINITY;
                        vend = (char *)c + 4;
                } else {
                        smp.value = strtod(c, &vend);
                }
                assert_ptr_equal(vend, end);
                p->s = realloc(p->s, (p->n + 1) * sizeof(*p->s));
                assert_non_null(p->s);
                p->s[p->n++] = smp;
                line = end + 1;
        }
}

static const char *label(const struct sample *s, const char *name)
{
        for (int i = 0; i < s->n_labels; i++)
                if (strcmp(s->labels[i][0], name) == 0)
                        return s->labels[i][1];
        return NULL;
}

static const struct sample *find(const struct parsed *p, const char *name, const char *lname,
                                 const char *lvalue)
{
        for (size_t i = 0; i < p->n; i++) {
                const char *v;

                if (strcmp(p->s[i].name, name) != 0)
                        continue;
                if (lname == NULL)
                        return &p->s[i];
                v = label(&p->s[i], lname);
                if (v != NULL && strcmp(v, lvalue) == 0)
                        return &p->s[i];
        }
        return NULL;
}

static int reset(void **state)
{
        metrics_reset();
        return 0;
}

static void empty_registry_renders_every_family(void **state)
{
        char *text = render();
        struct parsed p;

        parse(&p, text);
        assert_int_equal(p.n_families, M__COUNT);
        for (unsigned m = 0; m < M__COUNT; m++)
                assert_non_null(strstr(text, metrics_name(m)));
        /* unlabelled counters and gauges read 0 from the start */
        assert_non_null(find(&p, "tfgate_job_queue_depth", NULL, NULL));
        assert_true(find(&p, "tfgate_redactions_total", NULL, NULL)->value == 0);
        free(p.s);
        free(text);
}

static void render_parses_back(void **state)
{
        const char *job[] = { "gitlab", "FAILED", "plan" };
        const char *job2[] = { "github", "PASSED", "" };
        const char *plan[] = { "plan" };
        const char *gl[] = { "gitlab" };
        struct parsed p;
        const struct sample *s;
        char *text;

        metrics_add(M_JOBS_TOTAL, job, 1);
        metrics_add(M_JOBS_TOTAL, job, 1);
        metrics_add(M_JOBS_TOTAL, job2, 1);
        metrics_add(M_JOBS_TOTAL, job2, -5); /* counters never go down */
        metrics_set(M_JOBS_TOTAL, job2, 100); /* not a gauge: ignored */
        metrics_add(M_JOBS_RUNNING, gl, 1);
        metrics_add(M_JOBS_RUNNING, gl, 1);
        metrics_add(M_JOBS_RUNNING, gl, -1);
        metrics_set(M_QUEUE_DEPTH, NULL, 7);
        metrics_observe(M_STEP_DURATION_SECONDS, plan, 0.05);
        metrics_observe(M_STEP_DURATION_SECONDS, plan, 3);
        metrics_observe(M_STEP_DURATION_SECONDS, plan, 5000);
        metrics_observe(M_STEP_DURATION_SECONDS, plan, NAN);
        metrics_add(M_LOG_BYTES_SHIPPED_TOTAL, gl, 1.5);

        text = render();
        parse(&p, text);
        s = find(&p, "tfgate_jobs_total", "verdict", "FAILED");
        assert_non_null(s);
        assert_true(s->value == 2);
        assert_string_equal(label(s, "forge"), "gitlab");
        assert_string_equal(label(s, "failure_reason"), "plan");
        assert_true(find(&p, "tfgate_jobs_total", "verdict", "PASSED")->value == 1);
        assert_true(find(&p, "tfgate_jobs_running", "forge", "gitlab")->value == 1);
        assert_true(find(&p, "tfgate_job_queue_depth", NULL, NULL)->value == 7);
        assert_true(find(&p, "tfgate_log_bytes_shipped_total", "forge", "gitlab")->value == 1.5);
        /* cumulative buckets */
        assert_true(find(&p, "tfgate_step_duration_seconds_bucket", "le", "0.1")->value == 1);
        assert_true(find(&p, "tfgate_step_duration_seconds_bucket", "le", "5")->value == 2);
        assert_true(find(&p, "tfgate_step_duration_seconds_bucket", "le", "3600")->value == 2);
        assert_true(find(&p, "tfgate_step_duration_seconds_bucket", "le", "+Inf")->value == 3);
        assert_true(find(&p, "tfgate_step_duration_seconds_count", "step", "plan")->value == 3);
        assert_true(fabs(find(&p, "tfgate_step_duration_seconds_sum", "step", "plan")->value -
                         5003.05) < 1e-9);
        assert_true(metrics_get(M_JOBS_TOTAL, job) == 2);
        free(p.s);
        free(text);
}

static void hostile_label_values_stay_quoted(void **state)
{
        const char *evil[] = { "gl\"} tfgate_fake 1\n# TYPE x counter\\", "a\rb\x01\x7f", "\xff\xfe\xc0\xafok\xc3\xa9" };
        struct parsed p;
        const struct sample *s;
        char *text;

        metrics_add(M_JOBS_TOTAL, evil, 1);
        text = render();
        parse(&p, text); /* a broken line or a fake family fails here */
        assert_null(find(&p, "tfgate_fake", NULL, NULL));
        s = find(&p, "tfgate_jobs_total", NULL, NULL);
        assert_non_null(s);
        assert_string_equal(label(s, "forge"), "gl\"} tfgate_fake 1\n# TYPE x counter\\");
        assert_string_equal(label(s, "verdict"), "a?b??");
        /* invalid UTF-8 replaced, valid kept */
        assert_string_equal(label(s, "failure_reason"), "????ok\xc3\xa9");
        free(p.s);
        free(text);
}

static void long_label_values_are_cut(void **state)
{
        char big[1000];
        const char *l[] = { big };
        struct parsed p;
        char *text;

        memset(big, 'x', sizeof(big) - 3);
        memcpy(big + METRICS_MAX_LABEL_LEN - 1, "\xc3\xa9", 2); /* straddles the cut */
        big[sizeof(big) - 1] = '\0';
        metrics_add(M_POLL_ERRORS_TOTAL, l, 1);
        text = render();
        parse(&p, text);
        assert_int_equal(strlen(label(find(&p, "tfgate_poll_errors_total", NULL, NULL), "forge")),
                         METRICS_MAX_LABEL_LEN - 1);
        free(p.s);
        free(text);
}

static void series_are_capped(void **state)
{
        struct parsed p;
        char name[32];
        const char *l[] = { name };
        char *text;
        size_t n = 0;

        for (int i = 0; i < 5000; i++) {
                snprintf(name, sizeof(name), "proj-%d", i);
                metrics_add(M_POLL_ERRORS_TOTAL, l, 1);
        }
        text = render();
        parse(&p, text);
        for (size_t i = 0; i < p.n; i++)
                if (strcmp(p.s[i].name, "tfgate_poll_errors_total") == 0)
                        n++;
        assert_int_equal(n, METRICS_MAX_SERIES);
        /* nothing is lost: the overflow is counted under "other" */
        assert_true(find(&p, "tfgate_poll_errors_total", "forge", "other")->value ==
                    5000 - (METRICS_MAX_SERIES - 1));
        /* an existing series still counts as itself */
        snprintf(name, sizeof(name), "proj-%d", 3);
        metrics_add(M_POLL_ERRORS_TOTAL, l, 1);
        assert_true(metrics_get(M_POLL_ERRORS_TOTAL, l) == 2);
        free(p.s);
        free(text);
}

static void invalid_metric_ignored(void **state)
{
        metrics_add((enum metric)M__COUNT, NULL, 1);
        metrics_add((enum metric)-1, NULL, 1);
        assert_null(metrics_name(M__COUNT));
        assert_true(metrics_get(M__COUNT, NULL) == 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(empty_registry_renders_every_family, reset),
                cmocka_unit_test_setup(render_parses_back, reset),
                cmocka_unit_test_setup(hostile_label_values_stay_quoted, reset),
                cmocka_unit_test_setup(long_label_values_are_cut, reset),
                cmocka_unit_test_setup(series_are_capped, reset),
                cmocka_unit_test_setup(invalid_metric_ignored, reset),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
