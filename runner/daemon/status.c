/* status.c - see status.h. */
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "runner/util/buf.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

char *status_socket_path(const char *state_dir)
{
        return xasprintf("%s/%s", state_dir, STATUS_SOCKET_NAME);
}

static int fill_addr(struct sockaddr_un *a, const char *path, struct err *err)
{
        memset(a, 0, sizeof(*a));
        a->sun_family = AF_UNIX;
        if (strlen(path) >= sizeof(a->sun_path))
                return err_set(err, ENAMETOOLONG, "status socket %s: path longer than %zu bytes", path,
                               sizeof(a->sun_path) - 1);
        memcpy(a->sun_path, path, strlen(path) + 1);
        return 0;
}

static int connect_to(int *fd, const char *path, struct err *err)
{
        struct sockaddr_un a;
        int r = fill_addr(&a, path, err);
        _cleanup_close_ int s = -1;

        if (r < 0)
                return r;
        s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                return err_set(err, errno, "status: socket");
        if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
                return err_set(err, errno, "status: connect %s", path);
        *fd = TAKE_FD(s);
        return 0;
}

int status_listen(int *fd, const char *path, struct err *err)
{
        struct sockaddr_un a;
        _cleanup_close_ int s = -1;
        struct stat st;
        mode_t old;
        int r = fill_addr(&a, path, err), probe = -1;

        if (r < 0)
                return r;
        if (lstat(path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode))
                        return err_set(err, EEXIST, "status: %s exists and is not a socket", path);
                if (connect_to(&probe, path, NULL) == 0) {
                        close(probe);
                        return err_set(err, EADDRINUSE,
                                       "status: %s answers: another daemon uses this state directory", path);
                }
                if (unlink(path) < 0)
                        return err_set(err, errno, "status: remove stale %s", path);
        }
        s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s < 0)
                return err_set(err, errno, "status: socket");
        /* no window in which the socket is open to others */
        old = umask(0177);
        r = bind(s, (struct sockaddr *)&a, sizeof(a));
        umask(old);
        if (r < 0)
                return err_set(err, errno, "status: bind %s", path);
        if (chmod(path, 0600) < 0 || listen(s, 8) < 0)
                return err_set(err, errno, "status: %s", path);
        *fd = TAKE_FD(s);
        return 0;
}

void status_serve_one(int listen_fd, const json_t *doc)
{
        struct timeval tv = { 1, 0 };
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

        if (c < 0)
                return;
        /* a client that does not read must not stall the daemon */
        (void)setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        text = json_dumps(doc, JSON_COMPACT);
        if (text != NULL) {
                size_t len = strlen(text);

                text[len] = '\n';
                (void)send(c, text, len + 1, MSG_NOSIGNAL);
        }
}

int status_query(json_t **out, const char *path, uint64_t timeout_ms, struct err *err)
{
        _cleanup_close_ int fd = -1;
        struct buf b;
        json_error_t je;
        struct timespec start, now;
        int r = connect_to(&fd, path, err);

        if (r < 0)
                return r;
        buf_init(&b, STATUS_REPLY_MAX);
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                char chunk[4096];
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t n;
                long left;

                clock_gettime(CLOCK_MONOTONIC, &now);
                left = (long)timeout_ms - ((now.tv_sec - start.tv_sec) * 1000 +
                                           (now.tv_nsec - start.tv_nsec) / 1000000);
                if (left <= 0 || poll(&p, 1, (int)left) == 0) {
                        buf_free(&b);
                        return err_set(err, ETIMEDOUT, "status: %s did not answer", path);
                }
                n = read(fd, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = err_set(err, errno, "status: read %s", path);
                        buf_free(&b);
                        return r;
                }
                if (n == 0)
                        break;
                if (buf_append(&b, chunk, (size_t)n, NULL) < 0) {
                        buf_free(&b);
                        return err_set(err, EFBIG, "status: reply larger than %u bytes", STATUS_REPLY_MAX);
                }
        }
        *out = json_loadb(b.data ? b.data : "", b.len, 0, &je);
        buf_free(&b);
        if (!json_is_object(*out)) {
                json_decref(*out);
                *out = NULL;
                return err_set(err, 0, "status: %s: not a status document", path);
        }
        return 0;
}

void status_print(FILE *f, const json_t *doc)
{
        json_t *jobs = json_object_get(doc, "jobs"), *v;
        size_t i;

        if (json_array_size(jobs) == 0) {
                fprintf(f, "no jobs running\n");
                return;
        }
        fprintf(f, "%-12s %-12s %-32s %-10s %s\n", "ID", "FORGE", "PROJECT", "STEP", "ELAPSED");
        json_array_foreach(jobs, i, v) {
                json_int_t s = json_integer_value(json_object_get(v, "elapsed"));
                const char *id = json_string_value(json_object_get(v, "id"));
                const char *forge = json_string_value(json_object_get(v, "forge"));
                const char *project = json_string_value(json_object_get(v, "project"));
                const char *step = json_string_value(json_object_get(v, "step"));

                fprintf(f, "%-12s %-12s %-32s %-10s %lldm%02llds\n", id ? id : "?", forge ? forge : "?",
                        project ? project : "?", step ? step : "?", (long long)(s / 60),
                        (long long)(s % 60));
        }
}
