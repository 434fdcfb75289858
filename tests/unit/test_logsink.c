/* test_logsink.c - the fan-out: forge, file and JSON lines get the same
 * filtered bytes; trusted markers; caps per step and per job. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "runner/redact/logsink.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"

struct forge {
        char b[8192];
        size_t n;
        int fail;
};

static int forge_cb(void *arg, const void *p, size_t l)
{
        struct forge *f = arg;

        if (f->fail)
                return -EIO;
        assert_true(f->n + l < sizeof(f->b));
        memcpy(f->b + f->n, p, l);
        f->n += l;
        f->b[f->n] = '\0';
        return 0;
}

static char *slurp(FILE *f)
{
        char *data = NULL;
        size_t len;

        fflush(f);
        assert_int_equal(lseek(fileno(f), 0, SEEK_SET), 0);
        assert_int_equal(fd_read_all(&data, &len, fileno(f), 1 << 20, NULL), 0);
        return data;
}

static struct redact_registry *registry(void)
{
        struct redact_registry *r = redact_registry_new();

        assert_int_equal(redact_registry_add_secret(r, "TOKEN", "s3cr3t-t0ken-value", 18, NULL), 0);
        assert_int_equal(redact_registry_add_patterns(r, NULL), 0);
        assert_int_equal(redact_registry_freeze(r, NULL), 0);
        return r;
}

static void fan_out_same_bytes(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = registry();
        _cleanup_fclose_ FILE *file = tmpfile();
        _cleanup_fclose_ FILE *json = tmpfile();
        struct forge f = { .n = 0 };
        struct logsink_opts o = { .forge = forge_cb, .forge_arg = &f, .file_fd = fileno(file),
                                  .json_fd = fileno(json) };
        struct logsink *ls = logsink_new(r, &o);
        static const char hdr[] = "\x1b[0Ksection_start:1700000000:plan\r\x1b[0Kterraform plan";
        _cleanup_free_ char *ftext = NULL, *jtext = NULL;
        struct err e = ERR_INIT;

        assert_int_equal(logsink_step_begin(ls, "plan", &e), 0);
        assert_int_equal(logsink_write_marker(ls, hdr, sizeof(hdr) - 1, &e), 0);
        assert_int_equal(logsink_write(ls, "stdout", "token=s3cr3t-t0k", 16, &e), 0);
        assert_int_equal(logsink_write(ls, "stdout", "en-value ok\n::set-output name=a::b\n", 35, &e), 0);
        assert_int_equal(logsink_write(ls, "stderr", "Error: \"bad\"\t\x1b[31mred\n", 23, &e), 0);
        assert_int_equal(logsink_write(ls, "stdout", "no newline", 10, &e), 0);
        assert_int_equal(logsink_step_end(ls, &e), 0);
        static const char end[] = "\x1b[0Ksection_end:1700000001:plan\r\x1b[0K";

        assert_int_equal(logsink_write_marker(ls, end, sizeof(end) - 1, &e), 0);
        logsink_free(ls);

        assert_string_equal(f.b,
                "\x1b[0Ksection_start:1700000000:plan\r\x1b[0Kterraform plan\n"
                "token=[MASKED] ok\n(inert)::set-output name=a::b\n"
                "Error: \"bad\"\tred\nno newline"
                "\n\x1b[0Ksection_end:1700000001:plan\r\x1b[0K\n");
        ftext = slurp(file);
        assert_string_equal(ftext, f.b);
        jtext = slurp(json);
        assert_string_equal(jtext,
                "{\"step\":\"plan\",\"stream\":\"tfgate\",\"line\":\"\\u001b[0Ksection_start:1700000000:plan\\r\\u001b[0Kterraform plan\"}\n"
                "{\"step\":\"plan\",\"stream\":\"stdout\",\"line\":\"token=[MASKED] ok\"}\n"
                "{\"step\":\"plan\",\"stream\":\"stdout\",\"line\":\"(inert)::set-output name=a::b\"}\n"
                "{\"step\":\"plan\",\"stream\":\"stderr\",\"line\":\"Error: \\\"bad\\\"\\tred\"}\n"
                "{\"step\":\"plan\",\"stream\":\"stdout\",\"line\":\"no newline\"}\n"
                "{\"step\":\"plan\",\"stream\":\"tfgate\",\"line\":\"\\u001b[0Ksection_end:1700000001:plan\\r\\u001b[0K\"}\n");
}

static void marker_still_masked(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = registry();
        struct forge f = { .n = 0 };
        struct logsink_opts o = { .forge = forge_cb, .forge_arg = &f, .file_fd = -1, .json_fd = -1 };
        struct logsink *ls = logsink_new(r, &o);

        assert_int_equal(logsink_write_marker(ls, "step uses s3cr3t-t0ken-value and glpat-0123456789abcdefghij\n", 60, NULL), 0);
        logsink_free(ls);
        assert_string_equal(f.b, "step uses [MASKED] and glpat-[MASKED]\n");
}

static void step_and_job_caps(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = registry();
        struct forge f = { .n = 0 };
        struct logsink_opts o = { .forge = forge_cb, .forge_arg = &f, .file_fd = -1, .json_fd = -1,
                                  .step_max = 10, .job_max = 25 };
        struct logsink *ls = logsink_new(r, &o);
        char x[100];

        memset(x, 'x', sizeof(x));
        assert_int_equal(logsink_step_begin(ls, "init", NULL), 0);
        assert_int_equal(logsink_write(ls, "stdout", x, 30, NULL), 0);
        assert_int_equal(logsink_step_begin(ls, "plan", NULL), 0);
        assert_int_equal(logsink_write(ls, "stdout", x, 8, NULL), 0);
        assert_int_equal(logsink_write(ls, "stderr", x, 8, NULL), 0);
        assert_int_equal(logsink_step_begin(ls, "apply", NULL), 0);
        assert_int_equal(logsink_write(ls, "stdout", x, 7, NULL), 0);
        assert_int_equal(logsink_step_end(ls, NULL), 0);
        assert_int_equal(logsink_dropped(ls), 20 + 6 + 2);
        logsink_free(ls);
        assert_string_equal(f.b,
                "xxxxxxxxxx\n[tfgate: step output cap of 10 bytes reached; further output is dropped]\n"
                "\n[tfgate: 20 bytes of output dropped by the step output cap]\n"
                "xxxxxxxxxx\n[tfgate: step output cap of 10 bytes reached; further output is dropped]\n"
                "\n[tfgate: 6 bytes of output dropped by the step output cap]\n"
                "xxxxx\n[tfgate: job output cap of 25 bytes reached; further output is dropped]\n"
                "\n[tfgate: 2 bytes of output dropped by the job output cap]\n");
}

static void forge_error_is_returned(void **state)
{
        _cleanup_(redact_registry_freep) struct redact_registry *r = registry();
        struct forge f = { .fail = 1 };
        struct logsink_opts o = { .forge = forge_cb, .forge_arg = &f, .file_fd = -1, .json_fd = -1 };
        struct logsink *ls = logsink_new(r, &o);
        struct err e = ERR_INIT;

        assert_int_equal(logsink_write(ls, "stdout", "line\n", 5, &e), -EIO);
        assert_int_equal(logsink_write_marker(ls, "m\n", 2, &e), -EIO);
        logsink_free(ls);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(fan_out_same_bytes),
                cmocka_unit_test(marker_still_masked),
                cmocka_unit_test(step_and_job_caps),
                cmocka_unit_test(forge_error_is_returned),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
