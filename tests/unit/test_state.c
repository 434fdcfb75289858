/* test_state.c - the state directory: round trip, restart, refused ids and
 * fields, bounded reads, concurrent writers in threads and processes. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "runner/state/state.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

#define ID1 "0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210"
#define SHA "0123456789012345678901234567890123456789"

static char *tmpdir(void)
{
        char *d = xstrdup("/tmp/test_state.XXXXXX");

        assert_non_null(mkdtemp(d));
        return d;
}

static void cleanup_dir(char *d)
{
        struct err e = ERR_INIT;

        rm_rf(d, &e);
        free(d);
}

/* state_result_path() returns a malloc'd path or NULL */
static bool path_exists(const struct state *s, const char *id, const char *file)
{
        char *p = state_result_path(s, id, file);
        bool found = p != NULL;

        free(p);
        return found;
}

static struct state_record rec_of(const char *id, const char *ref, const char *verdict, time_t t)
{
        struct state_record r = {
                .exec_id = id, .forge = "gitlab", .project = "group/sub/proj", .ref = ref,
                .commit = SHA, .verdict = verdict, .result_json = "{\"verdict\":\"x\"}",
                .result_len = 15, .envelope = "{\"payload\":\"\"}", .envelope_len = 14,
                .log_tail = "line 1\nline 2\n", .log_tail_len = 14, .finished = t,
        };
        return r;
}

static void round_trip_and_restart(void **unused)
{
        char *dir = tmpdir();
        struct state *s = NULL;
        struct state_record r = rec_of(ID1, "refs/heads/main", "PASSED", 1000);
        struct state_badge b;
        struct err e = ERR_INIT;
        char *text = NULL;
        size_t len;

        assert_int_equal(state_open(&s, dir, &e), 0);
        assert_int_equal(state_badge(s, "gitlab", "group/sub/proj", "refs/heads/main", &b), -ENOENT);
        assert_false(state_has_project(s, "gitlab", "group/sub/proj"));
        assert_int_equal(state_record(s, &r, &e), 0);
        assert_int_equal(state_badge(s, "gitlab", "group/sub/proj", "refs/heads/main", &b), 0);
        assert_string_equal(b.verdict, "PASSED");
        assert_string_equal(b.exec_id, ID1);
        assert_int_equal(b.finished, 1000);
        assert_true(state_has_project(s, "gitlab", "group/sub/proj"));
        assert_false(state_has_project(s, "github", "group/sub/proj"));
        assert_int_equal(state_read(&text, &len, s, ID1, "log.txt", 1024, &e), 0);
        assert_string_equal(text, "line 1\nline 2\n");
        free(text);
        /* a later failing job of the same ref replaces the badge */
        r = rec_of(ID2, "refs/heads/main", "FAILED", 2000);
        assert_int_equal(state_record(s, &r, &e), 0);
        state_close(s);

        /* restart: a new handle sees everything */
        s = NULL;
        assert_int_equal(state_open(&s, dir, &e), 0);
        assert_int_equal(state_badge(s, "gitlab", "group/sub/proj", "refs/heads/main", &b), 0);
        assert_string_equal(b.verdict, "FAILED");
        assert_string_equal(b.exec_id, ID2);
        assert_int_equal(state_read(&text, &len, s, ID1, "result.json", 1024, &e), 0);
        assert_string_equal(text, "{\"verdict\":\"x\"}");
        free(text);
        assert_int_equal(state_read(&text, &len, s, ID2, "meta.json", 4096, &e), 0);
        assert_non_null(strstr(text, "\"verdict\":\"FAILED\""));
        assert_non_null(strstr(text, "\"project\":\"group/sub/proj\""));
        free(text);
        /* bounded: a read larger than max is refused, not cut */
        assert_int_equal(state_read(&text, &len, s, ID1, "log.txt", 5, &e), -EFBIG);
        assert_null(text);
        state_close(s);
        cleanup_dir(dir);
}

static void duplicate_and_bad_fields_refused(void **unused)
{
        char *dir = tmpdir();
        struct state *s = NULL;
        struct state_record r = rec_of(ID1, "main", "PASSED", 1);
        struct err e = ERR_INIT;
        static const char *const bad_ids[] = {
                "../../../../../../../etc/passwd", "0123456789ABCDEF0123456789ABCDEF",
                "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdef0",
                "0123456789abcdef/123456789abcdef", "..", "", "0123456789abcdef0123456789abcde\n",
        };

        assert_int_equal(state_open(&s, dir, &e), 0);
        assert_int_equal(state_record(s, &r, &e), 0);
        assert_int_equal(state_record(s, &r, &e), -EEXIST);
        for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
                struct state_record x = rec_of(bad_ids[i], "main", "PASSED", 1);

                assert_int_equal(state_record(s, &x, &e), -EINVAL);
                assert_null(state_result_path(s, bad_ids[i], "result.json"));
        }
        r = rec_of(ID2, "main", "PASSED", 1);
        r.forge = "../x";
        assert_int_equal(state_record(s, &r, &e), -EINVAL);
        r = rec_of(ID2, "ma\nin", "PASSED", 1);
        assert_int_equal(state_record(s, &r, &e), -EINVAL);
        r = rec_of(ID2, "main", "GREEN", 1);
        assert_int_equal(state_record(s, &r, &e), -EINVAL);
        r = rec_of(ID2, "main", "PASSED", 1);
        r.commit = "not-a-sha";
        assert_int_equal(state_record(s, &r, &e), -EINVAL);
        r = rec_of(ID2, "main", "PASSED", 1);
        r.log_tail_len = STATE_MAX_LOG_TAIL + 1;
        assert_int_equal(state_record(s, &r, &e), -EFBIG);
        /* only the listed file names are served */
        assert_true(path_exists(s, ID1, "result.json"));
        assert_null(state_result_path(s, ID1, "../badges.json"));
        assert_null(state_result_path(s, ID1, "."));
        assert_null(state_result_path(s, ID2, "result.json"));
        state_close(s);
        cleanup_dir(dir);
}

static void symlinked_file_not_followed(void **unused)
{
        char *dir = tmpdir();
        struct state *s = NULL;
        struct state_record r = rec_of(ID1, "main", "PASSED", 1);
        struct err e = ERR_INIT;
        _cleanup_free_ char *p = NULL;
        char *text = NULL;
        size_t len;

        r.log_tail = NULL;
        assert_int_equal(state_open(&s, dir, &e), 0);
        assert_int_equal(state_record(s, &r, &e), 0);
        p = xasprintf("%s/results/%s/log.txt", dir, ID1);
        assert_int_equal(symlink("/etc/passwd", p), 0);
        assert_null(state_result_path(s, ID1, "log.txt"));
        assert_int_equal(state_read(&text, &len, s, ID1, "log.txt", 1 << 20, &e), -ENOENT);
        state_close(s);
        cleanup_dir(dir);
}

static void malformed_badges_file_named(void **unused)
{
        char *dir = tmpdir();
        _cleanup_free_ char *p = xasprintf("%s/badges.json", dir);
        struct state *s = NULL;
        struct err e = ERR_INIT;

        assert_int_equal(file_write_atomic(p, "[1,2]", 5, 0600, &e), 0);
        assert_true(state_open(&s, dir, &e) < 0);
        assert_null(s);
        assert_non_null(strstr(e.msg, "badges.json"));
        cleanup_dir(dir);
}

#define WRITERS 4
#define PER_WRITER 10

static void id_of(char *out, int writer, int i)
{
        snprintf(out, 33, "%016x%016x", (unsigned)writer + 1, (unsigned)i + 1);
}

static void write_many(const char *dir, int writer)
{
        struct state *s = NULL;
        struct err e = ERR_INIT;

        if (state_open(&s, dir, &e) < 0)
                _exit(10);
        for (int i = 0; i < PER_WRITER; i++) {
                char id[33], ref[32];
                struct state_record r;

                id_of(id, writer, i);
                snprintf(ref, sizeof(ref), "w%d-%d", writer, i);
                r = rec_of(id, ref, i % 2 ? "FAILED" : "PASSED", i);
                if (state_record(s, &r, &e) < 0) {
                        fprintf(stderr, "writer %d: %s\n", writer, e.msg);
                        _exit(11);
                }
        }
        state_close(s);
}

struct thread_arg {
        const char *dir;
        int writer;
};

static void *thread_main(void *p)
{
        struct thread_arg *a = p;

        write_many(a->dir, a->writer);
        return NULL;
}

static void concurrent_writers_lose_nothing(void **unused)
{
        char *dir = tmpdir();
        struct state *s = NULL;
        struct err e = ERR_INIT;
        pid_t pids[WRITERS];
        pthread_t th[WRITERS];
        struct thread_arg args[WRITERS];

        /* the reader opens first and must see the others' writes */
        assert_int_equal(state_open(&s, dir, &e), 0);
        for (int w = 0; w < WRITERS; w++) {
                pids[w] = fork();
                assert_true(pids[w] >= 0);
                if (pids[w] == 0) {
                        write_many(dir, w);
                        _exit(0);
                }
        }
        for (int w = 0; w < WRITERS; w++) {
                args[w] = (struct thread_arg){ dir, WRITERS + w };
                assert_int_equal(pthread_create(&th[w], NULL, thread_main, &args[w]), 0);
        }
        for (int w = 0; w < WRITERS; w++) {
                int status;

                assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
                assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                assert_int_equal(pthread_join(th[w], NULL), 0);
        }
        for (int w = 0; w < 2 * WRITERS; w++) {
                for (int i = 0; i < PER_WRITER; i++) {
                        char id[33], ref[32];
                        struct state_badge b;

                        id_of(id, w, i);
                        snprintf(ref, sizeof(ref), "w%d-%d", w, i);
                        assert_int_equal(state_badge(s, "gitlab", "group/sub/proj", ref, &b), 0);
                        assert_string_equal(b.exec_id, id);
                        assert_string_equal(b.verdict, i % 2 ? "FAILED" : "PASSED");
                        assert_true(path_exists(s, id, "meta.json"));
                }
        }
        state_close(s);
        cleanup_dir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(round_trip_and_restart),
                cmocka_unit_test(duplicate_and_bad_fields_refused),
                cmocka_unit_test(symlinked_file_not_followed),
                cmocka_unit_test(malformed_badges_file_named),
                cmocka_unit_test(concurrent_writers_lose_nothing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
