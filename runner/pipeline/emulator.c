#include "emulator.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/log.h"
#include "runner/util/xalloc.h"

struct emulator {
        struct jail_spec *spec;
        const struct cfg_emulator *cfg;
        const struct jail_netns *ns;   /* the job's, borrowed */
        pthread_t thread;
        bool thread_started;
        int cancel[2];
        atomic_bool finished;
        struct jail_result result;
        int run_rc;
        struct err run_err;
        pthread_mutex_t lock;          /* guards tail */
        char tail[EMULATOR_LOG_TAIL];
        size_t tail_len;
        uint64_t ready_ms;
};

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* keep the last EMULATOR_LOG_TAIL bytes */
static int keep_output(void *opaque, enum jail_stream stream, const char *data, size_t len)
{
        struct emulator *em = opaque;

        pthread_mutex_lock(&em->lock);
        if (len >= sizeof(em->tail)) {
                memcpy(em->tail, data + len - sizeof(em->tail), sizeof(em->tail));
                em->tail_len = sizeof(em->tail);
        } else {
                if (em->tail_len + len > sizeof(em->tail)) {
                        size_t drop = em->tail_len + len - sizeof(em->tail);

                        memmove(em->tail, em->tail + drop, em->tail_len - drop);
                        em->tail_len -= drop;
                }
                memcpy(em->tail + em->tail_len, data, len);
                em->tail_len += len;
        }
        pthread_mutex_unlock(&em->lock);
        return 0;
}

static void *run_thread(void *arg)
{
        struct emulator *em = arg;
        struct jail_io io = JAIL_IO_INIT;

        io.output = keep_output;
        io.opaque = em;
        io.cancel_fd = em->cancel[0];
        em->run_rc = jail_run(&em->result, em->spec, &io, &em->run_err);
        atomic_store(&em->finished, true);
        return NULL;
}

static int build_spec(struct emulator *em, const struct jail_netns *ns,
                      const struct jail_limits *limits, struct err *err)
{
        const struct cfg_emulator *cfg = em->cfg;
        int r;

        em->spec = jail_spec_new();
        if ((r = jail_spec_set_netns(em->spec, ns, err)) < 0 ||
            (r = jail_spec_set_limits(em->spec, limits, err)) < 0 ||
            (r = jail_spec_set_argv(em->spec, (const char *const *)cfg->command, err)) < 0 ||
            (r = jail_spec_add_env(em->spec, "PATH=/usr/local/bin:/usr/bin:/bin", err)) < 0 ||
            (r = jail_spec_add_env(em->spec, "HOME=/tmp", err)) < 0)
                return r;
        for (size_t i = 0; i < cfg->n_env; i++)
                if ((r = jail_spec_add_env(em->spec, cfg->env[i], err)) < 0)
                        return r;
        for (size_t i = 0; i < cfg->n_paths; i++)
                if ((r = jail_spec_add_bind(em->spec, cfg->paths[i], cfg->paths[i],
                                            JAIL_BIND_RO | JAIL_BIND_EXEC, err)) < 0)
                        return r;
        return jail_spec_freeze(em->spec, err);
}

int emulator_start(struct emulator **out, const struct cfg_emulator *cfg,
                   const struct jail_netns *ns, const struct jail_limits *limits,
                   struct err *err)
{
        struct emulator *em = xcalloc(1, sizeof(*em));
        int r;

        *out = NULL;
        em->cfg = cfg;
        em->ns = ns;
        em->cancel[0] = em->cancel[1] = -1;
        pthread_mutex_init(&em->lock, NULL);
        atomic_init(&em->finished, false);
        r = build_spec(em, ns, limits, err);
        if (r < 0) {
                err_wrap(err, "emulator");
                emulator_stop(em);
                return r;
        }
        if (pipe2(em->cancel, O_CLOEXEC) < 0) {
                r = err_set(err, errno, "emulator: pipe");
                emulator_stop(em);
                return r;
        }
        r = pthread_create(&em->thread, NULL, run_thread, em);
        if (r != 0) {
                r = err_set(err, r, "emulator: thread");
                emulator_stop(em);
                return r;
        }
        em->thread_started = true;
        *out = em;
        return 0;
}

/* connect to the emulator's port from inside its namespace; 0 connected,
 * -ECONNREFUSED (or another) not yet */
static int probe_connect(int *fdp, const struct jail_netns *ns, uint16_t port, struct err *err)
{
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                                  .sin_addr = { htonl(INADDR_LOOPBACK) } };
        _cleanup_close_ int fd = -1;
        int r = jail_netns_socket(&fd, ns, AF_INET, SOCK_STREAM, err);

        if (r < 0)
                return r;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -errno;
        *fdp = TAKE_FD(fd);
        return 0;
}

static bool wait_fd(int fd, short events, int ms)
{
        struct pollfd p = { .fd = fd, .events = events };

        return poll(&p, 1, ms) == 1;
}

int emulator_http_get(int fd, uint16_t port, const char *path, int *status, struct err *err)
{
        char req[512], resp[8192];
        size_t got = 0;
        int n = snprintf(req, sizeof(req),
                         "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUser-Agent: tfgate\r\n"
                         "Accept: */*\r\nConnection: close\r\n\r\n", path, (unsigned)port);
        int r;

        if (n < 0 || (size_t)n >= sizeof(req))
                return err_set(err, EINVAL, "health path too long");
        r = write_all(fd, req, (size_t)n);
        if (r < 0)
                return err_set(err, -r, "health check: send");
        while (got < sizeof(resp) - 1 && memmem(resp, got, "\r\n", 2) == NULL) {
                ssize_t k;

                if (!wait_fd(fd, POLLIN, 2000))
                        return err_set(err, ETIMEDOUT, "health check: no answer");
                k = read(fd, resp + got, sizeof(resp) - 1 - got);
                if (k <= 0)
                        return err_set(err, k < 0 ? errno : ECONNRESET, "health check: read");
                got += (size_t)k;
        }
        resp[got] = '\0';
        if (sscanf(resp, "HTTP/1.%*1[01] %3d", status) != 1)
                return err_set(err, EPROTO, "health check: not an HTTP answer");
        return 0;
}

int emulator_wait_ready(struct emulator *em, struct err *err)
{
        const struct cfg_emulator *cfg = em->cfg;
        uint64_t start = now_ms(), deadline = start + cfg->ready_timeout_ms;
        bool tcp = strcmp(cfg->health, "tcp") == 0;
        struct err last = ERR_INIT;
        unsigned delay = 20;

        for (;;) {
                _cleanup_close_ int fd = -1;
                int r, status = 0;

                if (atomic_load(&em->finished)) {
                        if (em->run_rc < 0)
                                return err_set(err, 0, "emulator: could not start: %s", em->run_err.msg);
                        return err_set(err, 0, "emulator: exited before it was ready (%s %d)",
                                       jail_reason_name(em->result.reason),
                                       em->result.exited ? em->result.exit_code : em->result.signal);
                }
                r = probe_connect(&fd, em->ns, cfg->port, &last);
                if (r == 0 && tcp)
                        break;
                if (r == 0 && emulator_http_get(fd, cfg->port, cfg->health, &status, &last) == 0) {
                        if (status == 200)
                                break;
                        err_set(&last, 0, "GET %s answered %d", cfg->health, status);
                } else if (r < 0 && r != -ECONNREFUSED && last.code == 0) {
                        err_set(&last, -r, "connect 127.0.0.1:%u", cfg->port);
                }
                if (now_ms() >= deadline)
                        return err_set(err, ETIMEDOUT, "emulator: not ready after %llu ms%s%s",
                                       (unsigned long long)cfg->ready_timeout_ms,
                                       last.msg[0] ? ": " : "", last.msg);
                usleep(delay * 1000);
                if (delay < 250)
                        delay *= 2;
        }
        em->ready_ms = now_ms() - start;
        return 0;
}

uint64_t emulator_ready_ms(const struct emulator *em)
{
        return em->ready_ms;
}

const char *emulator_log_tail(struct emulator *em, size_t *len)
{
        *len = em->tail_len;
        return em->tail;
}

void emulator_stop(struct emulator *em)
{
        if (em == NULL)
                return;
        if (em->thread_started) {
                if (write(em->cancel[1], "x", 1) < 0)
                        log_warn("emulator: cancel: %s", strerror(errno));
                pthread_join(em->thread, NULL);
        }
        if (em->cancel[0] >= 0)
                close(em->cancel[0]);
        if (em->cancel[1] >= 0)
                close(em->cancel[1]);
        jail_spec_free(em->spec);
        pthread_mutex_destroy(&em->lock);
        free(em);
}
