/* test_audit.c - the hash-chained audit log: continuing a log, and every
 * kind of damage (edit, delete, reorder, truncate, garbage, a partial last
 * line, a lost head file or log) found at the right line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner/sign/audit.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

struct fixture {
        char dir[64];
        char *log, *head;
};

static int setup(void **state)
{
        struct fixture *f = xcalloc(1, sizeof(*f));

        snprintf(f->dir, sizeof(f->dir), "/tmp/tfgate-test-audit.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->log = xasprintf("%s/audit.log", f->dir);
        f->head = xasprintf("%s/audit.log.head", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        rm_rf(f->dir, NULL);
        free(f->log);
        free(f->head);
        free(f);
        return 0;
}

/* a log of n synced events */
static void write_log(const char *path, int n)
{
        struct audit_log *log = NULL;
        struct err err = ERR_INIT;

        if (audit_open(&log, path, &err) < 0)
                fail_msg("audit_open: %s", err.msg);
        for (int i = 0; i < n; i++) {
                json_t *fields = json_pack("{s:i, s:s}", "i", i, "note", "line\nwith \"quotes\"");

                assert_int_equal(audit_append(log, (enum audit_event)(i % AUDIT_LOG_REPAIRED), fields, NULL), 0);
                json_decref(fields);
        }
        assert_int_equal(audit_sync(log, NULL), 0);
        audit_close(log);
}

/* the file's lines (with newlines), NULL-terminated */
static char **read_lines(const char *path, size_t *n)
{
        _cleanup_free_ char *data = NULL;
        char **v = xcalloc(64, sizeof(*v));
        size_t len, k = 0;
        char *p, *nl;

        assert_int_equal(file_read_all(&data, &len, path, 1 << 20, NULL), 0);
        for (p = data; (nl = strchr(p, '\n')) != NULL && k < 63; p = nl + 1)
                v[k++] = xstrndup(p, (size_t)(nl - p + 1));
        *n = k;
        return v;
}

static void write_lines(const char *path, char **v, size_t n)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC);

        assert_true(fd >= 0);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(write_all(fd, v[i], strlen(v[i])), 0);
}

static void verify_expect(const char *path, enum audit_status status, uint64_t bad_line,
                          const char *msg_part)
{
        struct audit_report rep;

        assert_int_equal(audit_verify(&rep, path, NULL), 0);
        if (rep.status != status || rep.bad_line != bad_line ||
            (msg_part != NULL && strstr(rep.msg, msg_part) == NULL))
                fail_msg("status %d line %llu \"%s\"; expected status %d line %llu \"%s\"",
                         rep.status, (unsigned long long)rep.bad_line, rep.msg, status,
                         (unsigned long long)bad_line, msg_part ? msg_part : "");
}

static void test_chain_and_continue(void **state)
{
        struct fixture *f = *state;
        struct audit_report rep;
        struct audit_log *log = NULL;
        size_t n;
        char **lines;

        write_log(f->log, 5);
        assert_int_equal(audit_verify(&rep, f->log, NULL), 0);
        assert_int_equal(rep.status, AUDIT_OK);
        assert_int_equal(rep.lines, 5);
        /* a second open continues from the head */
        write_log(f->log, 3);
        assert_int_equal(audit_verify(&rep, f->log, NULL), 0);
        assert_int_equal(rep.status, AUDIT_OK);
        assert_int_equal(rep.lines, 8);
        lines = read_lines(f->log, &n);
        assert_int_equal(n, 8);
        assert_non_null(strstr(lines[0], "\"seq\":1,"));
        assert_non_null(strstr(lines[0], "\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\""));
        assert_non_null(strstr(lines[5], "\"seq\":6,"));
        assert_non_null(strstr(lines[0], "\"event\":\"config_loaded\""));
        strv_free(lines);
        /* the log's mode */
        {
                struct stat st;

                assert_int_equal(stat(f->log, &st), 0);
                assert_int_equal(st.st_mode & 077, 0);
        }
        /* appends not yet synced: the head lags, and that is fine */
        assert_int_equal(audit_open(&log, f->log, NULL), 0);
        assert_int_equal(audit_seq(log), 8);
        assert_int_equal(audit_append(log, AUDIT_JOB_CLAIMED, NULL, NULL), 0);
        verify_expect(f->log, AUDIT_OK, 0, NULL);
        /* a second writer is refused while the first holds the log */
        {
                struct audit_log *second = NULL;
                struct err err = ERR_INIT;

                assert_true(audit_open(&second, f->log, &err) < 0);
                assert_non_null(strstr(err.msg, "in use"));
        }
        audit_close(log);
}

static void test_edit_detected(void **state)
{
        struct fixture *f = *state;
        size_t n;
        char **lines;

        write_log(f->log, 5);
        lines = read_lines(f->log, &n);
        memcpy(strstr(lines[2], "\"i\":2"), "\"i\":7", 5);
        write_lines(f->log, lines, n);
        strv_free(lines);
        verify_expect(f->log, AUDIT_BROKEN, 4, "line 3 was changed");
}

static void test_edit_last_line_detected(void **state)
{
        struct fixture *f = *state;
        size_t n;
        char **lines;

        write_log(f->log, 5);
        lines = read_lines(f->log, &n);
        memcpy(strstr(lines[4], "\"i\":4"), "\"i\":9", 5);
        write_lines(f->log, lines, n);
        strv_free(lines);
        verify_expect(f->log, AUDIT_HEAD_MISMATCH, 5, "line 5 was changed");
}

static void test_delete_detected(void **state)
{
        struct fixture *f = *state;
        size_t n;
        char **lines;

        write_log(f->log, 5);
        lines = read_lines(f->log, &n);
        free(lines[2]);
        memmove(&lines[2], &lines[3], (n - 3 + 1) * sizeof(*lines));
        write_lines(f->log, lines, n - 1);
        strv_free(lines);
        verify_expect(f->log, AUDIT_BROKEN, 3, "seq is 4, expected 3");
}

static void test_delete_first_detected(void **state)
{
        struct fixture *f = *state;
        size_t n;
        char **lines;

        write_log(f->log, 3);
        lines = read_lines(f->log, &n);
        write_lines(f->log, lines + 1, n - 1);
        strv_free(lines);
        verify_expect(f->log, AUDIT_BROKEN, 1, "line 1");
}

static void test_reorder_detected(void **state)
{
        struct fixture *f = *state;
        size_t n;
        char **lines, *t;

        write_log(f->log, 5);
        lines = read_lines(f->log, &n);
        t = lines[1];
        lines[1] = lines[2];
        lines[2] = t;
        write_lines(f->log, lines, n);
        strv_free(lines);
        verify_expect(f->log, AUDIT_BROKEN, 2, "seq is 3, expected 2");
}

static void test_truncate_detected(void **state)
{
        struct fixture *f = *state;
        size_t n;
        char **lines;

        write_log(f->log, 5);
        lines = read_lines(f->log, &n);
        write_lines(f->log, lines, 3);
        strv_free(lines);
        verify_expect(f->log, AUDIT_TRUNCATED, 4, "records 5 lines");
        /* emptied completely */
        write_lines(f->log, NULL, 0);
        verify_expect(f->log, AUDIT_TRUNCATED, 1, "records 5 lines");
}

static void test_garbage_detected(void **state)
{
        struct fixture *f = *state;
        _cleanup_close_ int fd = -1;

        write_log(f->log, 5);
        fd = open(f->log, O_WRONLY | O_APPEND);
        assert_int_equal(write_all(fd, "garbage\n", 8), 0);
        verify_expect(f->log, AUDIT_BROKEN, 6, "line 6: not valid JSON");
}

static void test_forged_record_detected(void **state)
{
        struct fixture *f = *state;
        _cleanup_close_ int fd = -1;
        static const char forged[] =
                "{\"seq\":6,\"time\":\"2025-01-01T00:00:00.000Z\",\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"event\":\"reported\",\"data\":{}}\n";

        write_log(f->log, 5);
        fd = open(f->log, O_WRONLY | O_APPEND);
        assert_int_equal(write_all(fd, forged, strlen(forged)), 0);
        verify_expect(f->log, AUDIT_BROKEN, 6, "broken link between lines 5 and 6");
}

static void test_partial_line_and_repair(void **state)
{
        struct fixture *f = *state;
        struct audit_log *log = NULL;
        struct audit_report rep;
        struct err err = ERR_INIT;
        _cleanup_close_ int fd = -1;

        write_log(f->log, 4);
        /* a crash in the middle of a write leaves half a line */
        fd = open(f->log, O_WRONLY | O_APPEND);
        assert_int_equal(write_all(fd, "{\"seq\":5,\"time\":\"20", 19), 0);
        verify_expect(f->log, AUDIT_PARTIAL, 5, "valid up to line 4");
        assert_int_equal(audit_verify(&rep, f->log, NULL), 0);
        assert_int_equal(rep.lines, 4);
        assert_int_equal(rep.partial_bytes, 19);
        /* never appended to until repaired */
        assert_true(audit_open(&log, f->log, &err) < 0);
        assert_non_null(strstr(err.msg, "partial line"));
        assert_int_equal(audit_repair(&rep, f->log, NULL), 0);
        assert_int_equal(rep.status, AUDIT_OK);
        assert_int_equal(rep.lines, 5);
        verify_expect(f->log, AUDIT_OK, 0, NULL);
        write_log(f->log, 1);
        verify_expect(f->log, AUDIT_OK, 0, NULL);
        /* repair refuses anything but a partial line */
        assert_true(audit_repair(&rep, f->log, &err) < 0);
}

static void test_lost_files_refused(void **state)
{
        struct fixture *f = *state;
        struct audit_log *log = NULL;
        struct err err = ERR_INIT;

        write_log(f->log, 2);
        /* the head without its log: never silently restarted */
        assert_int_equal(unlink(f->log), 0);
        assert_true(audit_open(&log, f->log, &err) < 0);
        assert_non_null(strstr(err.msg, "refusing to start a new log"));
        assert_int_equal(access(f->log, F_OK), -1);
        /* a log without its head */
        assert_int_equal(unlink(f->head), 0);
        write_log(f->log, 2);
        assert_int_equal(unlink(f->head), 0);
        verify_expect(f->log, AUDIT_NO_HEAD, 0, "head file is missing");
        assert_true(audit_open(&log, f->log, &err) < 0);
        /* a malformed head file is an error, not a fresh start */
        assert_int_equal(file_write_new(f->head, "nonsense\n", 9, 0600, NULL), 0);
        assert_true(audit_open(&log, f->log, &err) < 0);
}

struct thread_arg {
        struct audit_log *log;
        int n;
};

static void *appender(void *p)
{
        struct thread_arg *a = p;

        for (int i = 0; i < a->n; i++)
                if (audit_append(a->log, AUDIT_STEP_FINISHED, NULL, NULL) < 0)
                        return (void *)1;
        return NULL;
}

static void test_concurrent_appends(void **state)
{
        struct fixture *f = *state;
        struct thread_arg a = { NULL, 50 };
        pthread_t t[4];
        struct audit_report rep;

        assert_int_equal(audit_open(&a.log, f->log, NULL), 0);
        for (int i = 0; i < 4; i++)
                assert_int_equal(pthread_create(&t[i], NULL, appender, &a), 0);
        for (int i = 0; i < 4; i++) {
                void *ret;

                assert_int_equal(pthread_join(t[i], &ret), 0);
                assert_null(ret);
        }
        audit_close(a.log);
        assert_int_equal(audit_verify(&rep, f->log, NULL), 0);
        assert_int_equal(rep.status, AUDIT_OK);
        assert_int_equal(rep.lines, 200);
}

static void test_append_checks(void **state)
{
        struct fixture *f = *state;
        struct audit_log *log = NULL;
        json_t *arr = json_array();
        struct err err = ERR_INIT;

        assert_int_equal(audit_open(&log, f->log, NULL), 0);
        assert_true(audit_append(log, AUDIT__COUNT, NULL, &err) < 0);
        assert_true(audit_append(log, AUDIT_FETCHED, arr, &err) < 0);
        assert_int_equal(audit_seq(log), 0);
        audit_close(log);
        json_decref(arr);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        const struct CMUnitTest tests[] = {
                T(test_chain_and_continue),
                T(test_edit_detected),
                T(test_edit_last_line_detected),
                T(test_delete_detected),
                T(test_delete_first_detected),
                T(test_reorder_detected),
                T(test_truncate_detected),
                T(test_garbage_detected),
                T(test_forged_record_detected),
                T(test_partial_line_and_repair),
                T(test_lost_files_refused),
                T(test_concurrent_appends),
                T(test_append_checks),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
