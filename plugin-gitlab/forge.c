/* forge.c - the forge_ops of the GitLab adapter (gitlab.h says which
 * thread may call what).
 *
 * Locks: the forge's mutex guards the polling state (last_update, back-off,
 * request slots).  Each job has two: `mu` guards its trace and flags and is
 * held only for memory work, so log() never waits for the network; `net`
 * serialises the job's requests (trace patches, state updates, uploads) and
 * is held across them.  Lock order: net before mu; the forge's mutex is
 * never held with a job's. */
#include "gitlab_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/log.h"
#include "runner/util/xalloc.h"

#define POLL_TIMEOUT_MS 90000u       /* long polling holds ~50 s; leave margin */
#define JOB_TIMEOUT_MS 60000u
#define UPLOAD_TIMEOUT_MS 600000u
#define UNHEALTHY_LIMIT 3
#define UNHEALTHY_PAUSE_MS (60u * 60u * 1000u)
#define INTERVAL_FIRST_MS 3000u
#define INTERVAL_MAX_MS (15u * 60u * 1000u)
#define FINAL_TRIES 10
#define SUMMARY_MAX 200
#define ZIP_MAX (40u << 20)              /* result.json and its envelope are capped at 16 MiB each */

struct gl_forge {
        struct forge base;              /* first: struct forge * is a struct gl_forge * */
        struct gl_http http;
        char *url;
        char *token;
        char system_id[GITLAB_SYSTEM_ID_LEN + 1];
        struct gitlab_timing timing;

        pthread_mutex_t mu;
        char last_update[128];
        uint64_t next_poll_ms;          /* monotonic; no request before */
        uint64_t backoff_ms;            /* the last back-off, 0 after a success */
        unsigned unhealthy;             /* consecutive client errors */
        bool stopped;                   /* 403: the runner token is refused */
        CURL **slots;                   /* request_concurrency handles (kept: their
                                         * connections stay open between polls) */
        bool *busy;
        uint32_t nslots;
        /* per slot, the poll's body and the last_update it was made for:
         * it changes only when GitLab's queue does, so an idle runner
         * builds it once (it holds the token: wiped when replaced) */
        char **bodies;
        char (*body_lu)[128];
        bool *set_up;                   /* the slot's handle has the poll's options */
};

struct gl_job {
        pthread_mutex_t net;            /* one request of this job at a time */
        CURL *curl;                     /* under net */
        int64_t id;
        char *token;
        char **failure_reasons;
        char *expire_in;
        bool trace_sections;

        pthread_mutex_t mu;             /* everything below */
        struct gl_trace trace;
        uint64_t interval_ms;
        uint64_t last_patch_ms;
        uint64_t last_send_ms;
        bool canceled;                  /* GitLab canceled it (canceling, or gone) */
        bool gone;                      /* GitLab refuses this job's token: send nothing more */
        bool trace_dead;                /* GitLab wants no more trace (404, bad Range) */
};

static const struct gitlab_timing default_timing = {
        .touch_ms = 30000,
        .backoff_base_ms = 1000,
        .backoff_max_ms = 60000,
        .retry_after_max_ms = 300000,
        .final_wait_max_ms = 60000,
};

static struct gl_forge *GF(struct forge *f)
{
        return (struct gl_forge *)f;
}

/* ---- helpers shared with register.c ---- */

json_t *gl_runner_info(void)
{
        /* what tfgate implements; reference/gitlab.md 2a.  Not advertised:
         * two_phase_job_commit, vault_secrets, session/terminal, services,
         * image, cache (no job scripts run: tfgate runs its own pipeline) */
        static const char *const features[] = {
                "variables", "artifacts", "upload_multiple_artifacts", "upload_raw_artifacts",
                "refspecs", "masking", "raw_variables", "trace_reset", "trace_checksum",
                "trace_size", "cancelable", "cancel_gracefully", "return_exit_code",
        };
        json_t *feat = json_object();

        for (size_t i = 0; i < ARRAY_SIZE(features); i++)
                json_object_set_new(feat, features[i], json_true());
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "name", "tfgate", "version",
                         TFGATE_VERSION, "revision", "tfgate-" TFGATE_VERSION, "platform", "linux",
                         "architecture", gl_arch(), "executor", "tfgate", "features", feat);
}

int gl_token_check(const char *token, struct err *err)
{
        if (token == NULL || token[0] == '\0')
                return err_set(err, EINVAL, "the token is empty");
        if (strlen(token) > 1024)
                return err_set(err, EINVAL, "the token is longer than 1024 characters");
        /* it goes into an HTTP header: nothing that could end or fold one */
        for (const char *p = token; *p != '\0'; p++)
                if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
                        return err_set(err, EINVAL, "the token has a space, control or non-ASCII character");
        return 0;
}

static char *json_text(const json_t *j)
{
        char *s = json_dumps(j, JSON_COMPACT);

        if (s == NULL)
                xalloc_die(0);
        return s;
}

static void free_secret(char *s)
{
        if (s != NULL) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}

static void curl_cleanupp(CURL **c)
{
        if (*c != NULL)
                curl_easy_cleanup(*c);
}

static CURL *xcurl(void)
{
        CURL *c = curl_easy_init();

        if (c == NULL)
                xalloc_die(0);
        return c;
}

static bool retryable(long status)
{
        return status == 408 || status == 429 || status == 500 || status == 502 ||
               status == 503 || status == 504 || status >= 512;
}

static uint64_t next_backoff(uint64_t prev, const struct gitlab_timing *t)
{
        uint64_t d = prev == 0 ? t->backoff_base_ms : prev * 2;

        return d > t->backoff_max_ms ? t->backoff_max_ms : d;
}

static uint64_t retry_wait(const struct gl_resp *rs, uint64_t backoff, const struct gitlab_timing *t)
{
        if (rs->retry_after_ms >= 0)
                return (uint64_t)rs->retry_after_ms > t->retry_after_max_ms ? t->retry_after_max_ms
                                                                           : (uint64_t)rs->retry_after_ms;
        return gl_jitter(backoff);
}

/* ---- polling ---- */

static int take_slot(struct gl_forge *f, uint32_t *slot, char *last_update, struct err *err)
{
        uint64_t now = gl_now_ms();
        int r = 1;

        pthread_mutex_lock(&f->mu);
        if (f->stopped) {
                r = err_set(err, EACCES, "GitLab refused the runner token (403): polling stopped; "
                            "register again");
        } else if (now >= f->next_poll_ms) {
                for (uint32_t i = 0; i < f->nslots; i++) {
                        if (!f->busy[i]) {
                                f->busy[i] = true;
                                *slot = i;
                                memcpy(last_update, f->last_update, sizeof(f->last_update));
                                r = 0;
                                break;
                        }
                }
        }
        pthread_mutex_unlock(&f->mu);
        return r;
}

/* record how a poll went; returns what poll() returns for anything but 201 */
static int poll_outcome(struct gl_forge *f, const struct gl_resp *rs, int transport, struct err *err)
{
        uint64_t now = gl_now_ms();
        char msg[200];
        int r = 1;

        gl_resp_message(msg, sizeof(msg), rs);
        pthread_mutex_lock(&f->mu);
        if (transport < 0 || retryable(rs->status)) {
                f->backoff_ms = next_backoff(f->backoff_ms, &f->timing);
                f->next_poll_ms = now + (transport < 0 ? gl_jitter(f->backoff_ms)
                                                       : retry_wait(rs, f->backoff_ms, &f->timing));
                if (transport >= 0)
                        r = err_set(err, rs->status == 429 ? EAGAIN : EIO,
                                    "POST jobs/request: HTTP %ld%s%s; next poll in %llu ms",
                                    rs->status, msg[0] ? ": " : "", msg,
                                    (unsigned long long)(f->next_poll_ms - now));
                else
                        r = err_wrap(err, "next poll in %llu ms",
                                     (unsigned long long)(f->next_poll_ms - now));
        } else if (rs->status == 201 || rs->status == 204) {
                f->backoff_ms = 0;
                f->unhealthy = 0;
                if (rs->last_update[0] != '\0')
                        memcpy(f->last_update, rs->last_update, sizeof(f->last_update));
                r = rs->status == 201 ? 0 : 1;
        } else if (rs->status == 409) {
                r = 1; /* another runner got it: poll again */
        } else if (rs->status == 403) {
                f->stopped = true;
                r = err_set(err, EACCES, "POST jobs/request: GitLab refused the runner token "
                            "(403)%s%s; polling stopped", msg[0] ? ": " : "", msg);
        } else {
                f->backoff_ms = next_backoff(f->backoff_ms, &f->timing);
                f->next_poll_ms = now + gl_jitter(f->backoff_ms);
                if (++f->unhealthy >= UNHEALTHY_LIMIT)
                        f->next_poll_ms = now + UNHEALTHY_PAUSE_MS;
                r = err_set(err, EPROTO, "POST jobs/request: HTTP %ld%s%s%s", rs->status,
                            msg[0] ? ": " : "", msg,
                            f->unhealthy >= UNHEALTHY_LIMIT ? "; paused for 60 minutes" : "");
        }
        pthread_mutex_unlock(&f->mu);
        return r;
}

static int job_request(struct gl_forge *f, struct gl_job *gj, const struct gl_req *rq,
                       struct gl_resp *rs, int attempts, struct err *err);
static void note_reply(struct gl_job *gj, const struct gl_resp *rs);

/* the payload was refused: say so in the job's log and fail it, so the job
 * does not wait for a runner that will never report */
static void refuse_job(struct gl_forge *f, const struct gl_job_meta *m)
{
        _cleanup_free_ char *path = xasprintf("jobs/%lld", (long long)m->id);
        _cleanup_free_ char *tpath = xasprintf("jobs/%lld/trace", (long long)m->id);
        /* generic: names the schema field only, never a value */
        _cleanup_free_ char *line = xasprintf(
                "\033[31;1mERROR: Job failed (system failure): tfgate refused the job payload "
                "(field %s)\033[0m\n", m->field[0] ? m->field : "(document)");
        _cleanup_(curl_cleanupp) CURL *c = xcurl();
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_free_ char *text = NULL;
        struct gl_resp rs;
        char range[64], sum[16];
        struct err e = ERR_INIT;
        uLong crc = crc32(0L, Z_NULL, 0);

        if (m->id <= 0 || m->token == NULL)
                return;
        crc = crc32(crc, (const Bytef *)line, (uInt)strlen(line));
        snprintf(sum, sizeof(sum), "crc32:%08lx", crc);
        snprintf(range, sizeof(range), "0-%zu", strlen(line) - 1);
        gl_resp_init(&rs);
        (void)gl_http_do(&f->http, c, &(struct gl_req){
                .method = "PATCH", .path = tpath, .token_header = "JOB-TOKEN", .token = m->token,
                .content_type = "text/plain", .body = line, .body_len = strlen(line),
                .content_range = range, .timeout_ms = JOB_TIMEOUT_MS }, &rs, &e);
        body = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:I}}", "token", m->token, "state", "failed",
                         "failure_reason", gl_failure_reason(JOB_SYSTEM_FAILURE,
                                                             (const char *const *)m->failure_reasons),
                         "checksum", sum, "output", "checksum", sum, "bytesize",
                         (json_int_t)strlen(line));
        text = json_text(body);
        if (gl_http_do(&f->http, c, &(struct gl_req){
                    .method = "PUT", .path = path, .token_header = "JOB-TOKEN", .token = m->token,
                    .content_type = "application/json", .body = text, .body_len = strlen(text),
                    .timeout_ms = JOB_TIMEOUT_MS }, &rs, &e) < 0 || rs.status != 200)
                log_warn("gitlab: job %lld: could not mark the refused job failed (%s)",
                         (long long)m->id, e.msg[0] ? e.msg : "unexpected HTTP status");
        explicit_bzero(text, strlen(text));
        gl_resp_free(&rs);
}

static struct gl_job *gl_job_new(struct gl_job_meta *m)
{
        struct gl_job *gj = xcalloc(1, sizeof(*gj));

        pthread_mutex_init(&gj->net, NULL);
        pthread_mutex_init(&gj->mu, NULL);
        gj->curl = xcurl();
        gj->id = m->id;
        gj->token = TAKE_PTR(m->token);
        gj->failure_reasons = TAKE_PTR(m->failure_reasons);
        gj->expire_in = TAKE_PTR(m->expire_in);
        gj->trace_sections = m->trace_sections;
        gl_trace_init(&gj->trace, GITLAB_TRACE_MAX);
        gj->interval_ms = INTERVAL_FIRST_MS;
        gj->last_patch_ms = gj->last_send_ms = gl_now_ms();
        return gj;
}

static int gl_poll(struct forge *base, struct job **out, struct err *err)
{
        struct gl_forge *f = GF(base);
        _cleanup_(json_decrefp) json_t *body = NULL;
        const char *text;
        char last_update[sizeof(f->last_update)];
        struct gl_job_meta meta;
        struct gl_resp rs;
        uint32_t slot = 0;
        int r, t;

        *out = NULL;
        r = take_slot(f, &slot, last_update, err);
        if (r != 0)
                return r;
        /* the slot is ours until busy is cleared: its body needs no lock */
        if (f->bodies[slot] == NULL || strcmp(f->body_lu[slot], last_update) != 0) {
                body = json_pack("{s:s, s:s, s:o}", "token", f->token, "system_id", f->system_id,
                                 "info", gl_runner_info());
                /* Workhorse long-polls only requests that carry last_update */
                json_object_set_new(body, "last_update", json_string(last_update));
                free_secret(f->bodies[slot]);
                f->bodies[slot] = json_text(body);
                snprintf(f->body_lu[slot], sizeof(f->body_lu[slot]), "%s", last_update);
        }
        text = f->bodies[slot];
        gl_resp_init(&rs);
        t = gl_http_do(&f->http, f->slots[slot], &(struct gl_req){
                .method = "POST", .path = "jobs/request", .token_header = "RUNNER-TOKEN",
                .token = f->token, .content_type = "application/json", .body = text,
                .body_len = strlen(text), .timeout_ms = POLL_TIMEOUT_MS, .want_json = true,
                .same_setup = f->set_up[slot] }, &rs, err);
        f->set_up[slot] = true;
        pthread_mutex_lock(&f->mu);
        f->busy[slot] = false;
        pthread_mutex_unlock(&f->mu);
        r = poll_outcome(f, &rs, t, err);
        if (r != 0 || t < 0) {
                gl_resp_free(&rs);
                return t < 0 ? t : r;
        }
        r = gl_job_parse(out, &meta, rs.body.data, rs.body.len, f->url, err);
        gl_resp_free(&rs);
        if (r < 0) {
                log_warn("gitlab: job %lld refused: %s", (long long)meta.id,
                         err ? err->msg : "invalid payload");
                refuse_job(f, &meta);
                gl_job_meta_free(&meta);
                return GITLAB_EREFUSED;
        }
        (*out)->forge = base;
        (*out)->priv = gl_job_new(&meta);
        gl_job_meta_free(&meta);
        return 0;
}

uint64_t gitlab_poll_delay_ms(struct forge *base)
{
        struct gl_forge *f = GF(base);
        uint64_t now = gl_now_ms(), d;

        pthread_mutex_lock(&f->mu);
        d = f->stopped ? UINT64_MAX : (f->next_poll_ms > now ? f->next_poll_ms - now : 0);
        pthread_mutex_unlock(&f->mu);
        return d;
}

void gitlab_forge_set_timing(struct forge *base, const struct gitlab_timing *t)
{
        struct gl_forge *f = GF(base);

        pthread_mutex_lock(&f->mu);
        f->timing = *t;
        pthread_mutex_unlock(&f->mu);
}

/* ---- one job's requests ---- */

/* a request of this job, retried on 408/429/5xx and transport failures up
 * to `attempts` times with Retry-After or back-off; caller holds gj->net */
static int job_request(struct gl_forge *f, struct gl_job *gj, const struct gl_req *rq,
                       struct gl_resp *rs, int attempts, struct err *err)
{
        uint64_t backoff = 0;
        int r = 0;

        for (int i = 0; i < attempts; i++) {
                r = gl_http_do(&f->http, gj->curl, rq, rs, err);
                if (r == 0 && !retryable(rs->status))
                        return 0;
                if (i + 1 == attempts)
                        break;
                backoff = next_backoff(backoff, &f->timing);
                gl_sleep_ms(r < 0 ? gl_jitter(backoff) : retry_wait(rs, backoff, &f->timing));
        }
        if (r == 0)
                r = err_set(err, EIO, "%s %s: HTTP %ld after %d attempts", rq->method, rq->path,
                            rs->status, attempts);
        return r;
}

/* what any reply of a running job tells: interval, cancellation */
static void note_reply(struct gl_job *gj, const struct gl_resp *rs)
{
        pthread_mutex_lock(&gj->mu);
        if (rs->trace_interval_s > 0) {
                uint64_t ms = (uint64_t)rs->trace_interval_s * 1000u;

                gj->interval_ms = ms > INTERVAL_MAX_MS ? INTERVAL_MAX_MS : ms;
        }
        if (strcmp(rs->job_status, "canceling") == 0) {
                gj->canceled = true;
        } else if (strcmp(rs->job_status, "canceled") == 0 ||
                   strcmp(rs->job_status, "failed") == 0 || strcmp(rs->job_status, "success") == 0 ||
                   rs->status == 403 || rs->status == 404) {
                /* the job is over on GitLab's side; its token stops working */
                gj->canceled = true;
                gj->gone = true;
        }
        pthread_mutex_unlock(&gj->mu);
}

/* ship pending trace; all = until nothing is pending (retrying), else one
 * pass that gives up on the first failure (the next tick retries) */
static int flush_trace(struct gl_forge *f, struct gl_job *gj, bool all, struct err *err)
{
        _cleanup_free_ char *path = xasprintf("jobs/%lld/trace", (long long)gj->id);
        /* 64 MiB in 1 MiB patches, plus resyncs: bounded */
        for (int round = 0; round < 256; round++) {
                _cleanup_free_ char *chunk = NULL;
                char range[64];
                struct gl_resp rs;
                size_t off, len;
                int r;

                pthread_mutex_lock(&gj->mu);
                if (gj->gone || gj->trace_dead) {
                        pthread_mutex_unlock(&gj->mu);
                        return 0;
                }
                gl_trace_chunk(&gj->trace, GITLAB_PATCH_MAX, &off, &len);
                if (len > 0)
                        chunk = xmemdup(gj->trace.data.data + off, len);
                pthread_mutex_unlock(&gj->mu);
                if (len == 0)
                        return 0;
                snprintf(range, sizeof(range), "%zu-%zu", off, off + len - 1);
                gl_resp_init(&rs);
                r = job_request(f, gj, &(struct gl_req){
                        .method = "PATCH", .path = path, .token_header = "JOB-TOKEN",
                        .token = gj->token, .content_type = "text/plain", .body = chunk,
                        .body_len = len, .content_range = range, .timeout_ms = JOB_TIMEOUT_MS },
                        &rs, all ? 5 : 1, err);
                if (r < 0) {
                        gl_resp_free(&rs);
                        return r;
                }
                note_reply(gj, &rs);
                pthread_mutex_lock(&gj->mu);
                gj->last_patch_ms = gj->last_send_ms = gl_now_ms();
                if (rs.status == 202) {
                        if (gj->trace.sent == off)
                                gl_trace_acked(&gj->trace, off + len);
                } else if (rs.status == 416) {
                        struct err e2 = ERR_INIT;

                        if (gl_trace_resync(&gj->trace, rs.range, &e2) < 0) {
                                log_warn("gitlab: job %lld: %s; trace updates stopped",
                                         (long long)gj->id, e2.msg);
                                gj->trace_dead = true;
                        }
                } else if (rs.status == 412) {
                        gl_trace_reset(&gj->trace);
                } else if (rs.status != 403 && rs.status != 404) {
                        /* 400 and other client errors: GitLab will not take it */
                        log_warn("gitlab: job %lld: PATCH trace: HTTP %ld; trace updates stopped",
                                 (long long)gj->id, rs.status);
                        gj->trace_dead = true;
                }
                pthread_mutex_unlock(&gj->mu);
                gl_resp_free(&rs);
        }
        return err_set(err, EIO, "job %lld: trace still pending after 256 patches", (long long)gj->id);
}

/* PUT /jobs/:id; *rs holds the reply.  state "running" doubles as the
 * keep-alive. */
static int put_state(struct gl_forge *f, struct gl_job *gj, const char *state,
                     const char *failure_reason, int exit_code, struct gl_resp *rs, int attempts,
                     struct err *err)
{
        _cleanup_free_ char *path = xasprintf("jobs/%lld", (long long)gj->id);
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_free_ char *text = NULL;
        char sum[16];
        json_int_t size;
        int r;

        pthread_mutex_lock(&gj->mu);
        gl_trace_checksum(&gj->trace, sum);
        size = (json_int_t)gj->trace.data.len;
        pthread_mutex_unlock(&gj->mu);
        body = json_pack("{s:s, s:s, s:s, s:{s:s, s:I}}", "token", gj->token, "state", state,
                         "checksum", sum, "output", "checksum", sum, "bytesize", size);
        if (failure_reason != NULL)
                json_object_set_new(body, "failure_reason", json_string(failure_reason));
        /* GitLab stores a smallint and wants it omitted when 0 */
        if (exit_code > 0 && exit_code <= 32767)
                json_object_set_new(body, "exit_code", json_integer(exit_code));
        text = json_text(body);
        r = job_request(f, gj, &(struct gl_req){
                .method = "PUT", .path = path, .token_header = "JOB-TOKEN", .token = gj->token,
                .content_type = "application/json", .body = text, .body_len = strlen(text),
                .timeout_ms = JOB_TIMEOUT_MS }, rs, attempts, err);
        explicit_bzero(text, strlen(text));
        if (r < 0)
                return r;
        note_reply(gj, rs);
        pthread_mutex_lock(&gj->mu);
        gj->last_send_ms = gl_now_ms();
        pthread_mutex_unlock(&gj->mu);
        return 0;
}

static int gl_start(struct forge *base, struct job *j, struct err *err)
{
        struct gl_forge *f = GF(base);
        struct gl_job *gj = j->priv;
        struct gl_resp rs;
        bool canceled;
        int r;

        gl_resp_init(&rs);
        pthread_mutex_lock(&gj->net);
        r = put_state(f, gj, "running", NULL, 0, &rs, 5, err);
        pthread_mutex_unlock(&gj->net);
        if (r == 0 && rs.status != 200)
                r = err_set(err, rs.status == 403 || rs.status == 404 ? ECANCELED : EPROTO,
                            "job %lld: PUT running: HTTP %ld", (long long)gj->id, rs.status);
        gl_resp_free(&rs);
        pthread_mutex_lock(&gj->mu);
        canceled = gj->canceled;
        gj->last_patch_ms = gl_now_ms();
        pthread_mutex_unlock(&gj->mu);
        if (r == 0 && canceled)
                r = err_set(err, ECANCELED, "job %lld: canceled on GitLab before it started",
                            (long long)gj->id);
        return r;
}

static int gl_log(struct forge *base, struct job *j, const char *buf, size_t n, struct err *err)
{
        struct gl_job *gj = j->priv;

        pthread_mutex_lock(&gj->mu);
        gl_trace_append(&gj->trace, buf, n);
        pthread_mutex_unlock(&gj->mu);
        return 0;
}

static char *gl_section(struct forge *base, struct job *j, const char *name, bool begin)
{
        struct gl_job *gj = j->priv;

        if (!gj->trace_sections)
                return NULL;
        return gl_section_marker(name, begin, time(NULL));
}

static bool gl_canceled(struct forge *base, struct job *j)
{
        struct gl_forge *f = GF(base);
        struct gl_job *gj = j->priv;
        bool patch, touch, canceled;
        uint64_t now = gl_now_ms();
        struct err e = ERR_INIT;

        pthread_mutex_lock(&gj->net);
        pthread_mutex_lock(&gj->mu);
        patch = !gj->gone && gl_trace_pending(&gj->trace) > 0 &&
                now - gj->last_patch_ms >= gj->interval_ms;
        pthread_mutex_unlock(&gj->mu);
        if (patch && flush_trace(f, gj, false, &e) < 0)
                log_debug("gitlab: job %lld: trace update failed: %s", (long long)gj->id, e.msg);
        pthread_mutex_lock(&gj->mu);
        touch = !gj->gone && gl_now_ms() - gj->last_send_ms >= f->timing.touch_ms;
        pthread_mutex_unlock(&gj->mu);
        if (touch) {
                struct gl_resp rs;

                gl_resp_init(&rs);
                if (put_state(f, gj, "running", NULL, 0, &rs, 1, &e) < 0)
                        log_debug("gitlab: job %lld: keep-alive failed: %s", (long long)gj->id, e.msg);
                gl_resp_free(&rs);
        }
        pthread_mutex_unlock(&gj->net);
        pthread_mutex_lock(&gj->mu);
        canceled = gj->canceled;
        pthread_mutex_unlock(&gj->mu);
        return canceled;
}

/* ---- finish ---- */

static void trace_line(struct gl_job *gj, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void trace_line(struct gl_job *gj, const char *fmt, ...)
{
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0)
                xalloc_die(0);
        pthread_mutex_lock(&gj->mu);
        gl_trace_append(&gj->trace, s, (size_t)n);
        pthread_mutex_unlock(&gj->mu);
}

static int upload(struct gl_forge *f, struct gl_job *gj, const char *type, const char *format,
                  const char *filename, const void *data, size_t len, struct err *err)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ char *expire = NULL;
        curl_mime *mime = curl_mime_init(gj->curl);
        curl_mimepart *part;
        struct gl_resp rs;
        int r;

        if (mime == NULL)
                xalloc_die(0);
        if (gj->expire_in != NULL) {
                char *e = curl_easy_escape(gj->curl, gj->expire_in, 0);

                if (e == NULL)
                        xalloc_die(0);
                expire = xasprintf("&expire_in=%s", e);
                curl_free(e);
        }
        path = xasprintf("jobs/%lld/artifacts?artifact_format=%s&artifact_type=%s%s",
                         (long long)gj->id, format, type, expire ? expire : "");
        part = curl_mime_addpart(mime);
        curl_mime_name(part, "file");
        curl_mime_filename(part, filename);
        curl_mime_type(part, "application/octet-stream");
        curl_mime_data(part, data, len);
        gl_resp_init(&rs);
        r = job_request(f, gj, &(struct gl_req){
                .method = "POST", .path = path, .token_header = "JOB-TOKEN", .token = gj->token,
                .content_type = "multipart/form-data", .mime = mime,
                .timeout_ms = UPLOAD_TIMEOUT_MS }, &rs, 3, err);
        curl_mime_free(mime);
        if (r == 0) {
                note_reply(gj, &rs);
                if (rs.status != 201) {
                        char msg[200];

                        gl_resp_message(msg, sizeof(msg), &rs);
                        r = err_set(err, EPROTO, "upload %s: HTTP %ld%s%s", filename, rs.status,
                                    msg[0] ? ": " : "", msg);
                }
        }
        gl_resp_free(&rs);
        return r;
}

static void upload_artifacts(struct gl_forge *f, struct gl_job *gj, const struct job_report *rep)
{
        _cleanup_free_ char *report = NULL;
        struct buf zip = BUF_INIT(ZIP_MAX);
        struct gl_zip_entry ents[2];
        struct err e = ERR_INIT;
        size_t n = 0;

        if (rep->result_json == NULL)
                return;
        ents[n++] = (struct gl_zip_entry){ "result.json", rep->result_json, rep->result_len };
        if (rep->envelope != NULL)
                ents[n++] = (struct gl_zip_entry){ "result.dsse.json", rep->envelope, rep->envelope_len };
        trace_line(gj, "Uploading artifacts: %s\n",
                   n == 2 ? "result.json, result.dsse.json" : "result.json");
        if (gl_zip_stored(&zip, ents, n, time(NULL), &e) < 0 ||
            upload(f, gj, "archive", "zip", "tfgate-result.zip", zip.data, zip.len, &e) < 0) {
                log_warn("gitlab: job %lld: %s", (long long)gj->id, e.msg);
                trace_line(gj, "\033[0;33mWARNING: uploading the result archive failed\033[0m\n");
        }
        buf_free(&zip);
        err_clear(&e);
        if (gl_terraform_report(&report, rep->result_json, rep->result_len, &e) != 0) {
                if (e.code < 0)
                        log_warn("gitlab: job %lld: terraform report: %s", (long long)gj->id, e.msg);
                return;
        }
        trace_line(gj, "Uploading artifacts as \"terraform\": tfplan.json\n");
        if (upload(f, gj, "terraform", "raw", "tfplan.json", report, strlen(report), &e) < 0) {
                log_warn("gitlab: job %lld: %s", (long long)gj->id, e.msg);
                trace_line(gj, "\033[0;33mWARNING: uploading the terraform report failed\033[0m\n");
        }
}

/* printable ASCII, short: the summary is generic already (TB1-I) */
static void clean_summary(char *out, size_t n, const char *s)
{
        size_t o = 0;

        for (const char *p = s ? s : ""; *p != '\0' && o + 1 < n && o < SUMMARY_MAX; p++)
                out[o++] = (*p >= 0x20 && *p < 0x7f) ? *p : ' ';
        out[o] = '\0';
}

static int gl_finish(struct forge *base, struct job *j, const struct job_report *rep,
                     struct err *err)
{
        struct gl_forge *f = GF(base);
        struct gl_job *gj = j->priv;
        const char *state = rep->outcome == JOB_PASSED ? "success" : "failed";
        const char *reason = gl_failure_reason(rep->outcome,
                                               (const char *const *)gj->failure_reasons);
        char summary[SUMMARY_MAX + 1];
        uint64_t backoff = 0;
        struct err e = ERR_INIT;
        bool gone;
        int r = 0;

        clean_summary(summary, sizeof(summary), rep->summary);
        pthread_mutex_lock(&gj->net);
        pthread_mutex_lock(&gj->mu);
        gone = gj->gone;
        pthread_mutex_unlock(&gj->mu);
        if (!gone)
                upload_artifacts(f, gj, rep);
        if (rep->outcome == JOB_PASSED)
                trace_line(gj, "\033[32;1mJob succeeded\033[0m\n");
        else
                trace_line(gj, "\033[31;1mERROR: Job failed: %s\033[0m\n",
                           summary[0] ? summary : job_outcome_name(rep->outcome));
        for (int i = 0; i < FINAL_TRIES; i++) {
                struct gl_resp rs;
                uint64_t wait = 0;

                pthread_mutex_lock(&gj->mu);
                gone = gj->gone;
                pthread_mutex_unlock(&gj->mu);
                if (gone) {
                        /* canceled or removed on GitLab: nothing more is accepted */
                        if (rep->outcome != JOB_CANCELED)
                                r = err_set(err, ECANCELED, "job %lld: GitLab no longer accepts "
                                            "updates (canceled or removed)", (long long)gj->id);
                        break;
                }
                if (flush_trace(f, gj, true, &e) < 0)
                        log_warn("gitlab: job %lld: trace: %s", (long long)gj->id, e.msg);
                gl_resp_init(&rs);
                r = put_state(f, gj, state, reason, rep->exit_code, &rs, 3, err);
                if (r == 0 && rs.status == 200) {
                        gl_resp_free(&rs);
                        break;
                }
                if (r == 0 && rs.status == 202) {
                        /* accepted; GitLab still persists trace chunks */
                        wait = rs.trace_interval_s > 0 ? (uint64_t)rs.trace_interval_s * 1000u : 1000u;
                } else if (r == 0 && rs.status == 412) {
                        pthread_mutex_lock(&gj->mu);
                        gl_trace_reset(&gj->trace);
                        pthread_mutex_unlock(&gj->mu);
                } else if (r == 0 && (rs.status == 403 || rs.status == 404)) {
                        /* note_reply marked it gone; the loop ends above */
                } else if (r == 0) {
                        r = err_set(err, EPROTO, "job %lld: final PUT: HTTP %ld", (long long)gj->id,
                                    rs.status);
                        gl_resp_free(&rs);
                        break;
                } else {
                        backoff = next_backoff(backoff, &f->timing);
                        wait = gl_jitter(backoff);
                }
                gl_resp_free(&rs);
                if (i + 1 == FINAL_TRIES)
                        r = err_set(err, EIO, "job %lld: final state not accepted after %d tries",
                                    (long long)gj->id, FINAL_TRIES);
                else
                        gl_sleep_ms(wait > f->timing.final_wait_max_ms ? f->timing.final_wait_max_ms
                                                                        : wait);
        }
        pthread_mutex_unlock(&gj->net);
        return r;
}

static void gl_job_free(struct forge *base, struct job *j)
{
        struct gl_job *gj = j->priv;

        if (gj == NULL)
                return;
        curl_easy_cleanup(gj->curl);
        pthread_mutex_destroy(&gj->net);
        pthread_mutex_destroy(&gj->mu);
        free_secret(gj->token);
        strv_free(gj->failure_reasons);
        free(gj->expire_in);
        gl_trace_free(&gj->trace);
        free(gj);
        j->priv = NULL;
}

/* ---- crash recovery: job_handle and abandon ---- */

#define ABANDON_TIMEOUT_MS 10000u
#define ABANDON_TRIES 3
#define HANDLE_VERSION 1

static char *gl_job_handle(struct forge *base, const struct job *j)
{
        struct gl_forge *f = GF(base);
        struct gl_job *gj = j->priv;
        _cleanup_(json_decrefp) json_t *o = NULL;

        /* the URL ties the token to this GitLab: a handle is never sent to
         * another one, even if the forge's name now points elsewhere */
        o = json_pack("{s:i, s:s, s:I, s:s}", "v", HANDLE_VERSION, "url", f->url, "id",
                      (json_int_t)gj->id, "token", gj->token);
        return o ? json_text(o) : NULL;
}

int gl_handle_parse(int64_t *id, char **token, const char *handle, const char *url, struct err *err)
{
        _cleanup_(json_decrefp) json_t *o = NULL;
        json_t *v, *jid, *ju, *jt;

        *id = 0;
        *token = NULL;
        o = json_loads(handle, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(o))
                return err_set(err, EBADMSG, "job handle is not a JSON object");
        v = json_object_get(o, "v");
        ju = json_object_get(o, "url");
        jid = json_object_get(o, "id");
        jt = json_object_get(o, "token");
        if (!json_is_integer(v) || json_integer_value(v) != HANDLE_VERSION)
                return err_set(err, EBADMSG, "job handle: unknown version");
        if (!json_is_string(ju) || strcmp(json_string_value(ju), url) != 0)
                return err_set(err, EBADMSG, "job handle: made for another GitLab URL; its token "
                               "is not sent to this one");
        if (!json_is_integer(jid) || json_integer_value(jid) <= 0)
                return err_set(err, EBADMSG, "job handle: bad job id");
        if (!json_is_string(jt) || json_string_length(jt) != strlen(json_string_value(jt)) ||
            gl_token_check(json_string_value(jt), NULL) < 0)
                return err_set(err, EBADMSG, "job handle: bad job token");
        *id = (int64_t)json_integer_value(jid);
        *token = xstrdup(json_string_value(jt));
        return 0;
}

/* a request of an abandoned job, retried briefly on 408/429/5xx and
 * transport failures: recovery runs at start and must not hang there */
static int abandon_request(struct gl_forge *f, CURL *c, const struct gl_req *rq, struct gl_resp *rs,
                           struct err *err)
{
        uint64_t backoff = 0;
        int r = 0;

        for (int i = 0; i < ABANDON_TRIES; i++) {
                r = gl_http_do(&f->http, c, rq, rs, err);
                if (r == 0 && !retryable(rs->status))
                        return 0;
                if (i + 1 < ABANDON_TRIES) {
                        backoff = next_backoff(backoff, &f->timing);
                        gl_sleep_ms(gl_jitter(backoff));
                }
        }
        if (r == 0)
                r = err_set(err, EIO, "%s %s: HTTP %ld after %d attempts", rq->method, rq->path,
                            rs->status, ABANDON_TRIES);
        return r;
}

/* append the note at the end of GitLab's copy of the trace: its size is
 * learnt from a 416 answer's Range.  1 = GitLab refuses the job (403/404);
 * negative = no answer (then the PUT is not tried either) */
static int abandon_trace(struct gl_forge *f, CURL *c, int64_t id, const char *token,
                         struct err *err)
{
        static const char note[] = "\n\033[31;1mERROR: Job failed (system failure): the tfgate "
                                   "runner restarted while this job ran\033[0m\n";
        _cleanup_free_ char *path = xasprintf("jobs/%lld/trace", (long long)id);
        uint64_t off = 0;
        int r = 0;

        for (int round = 0; round < 3; round++) {
                char range[64];
                struct gl_resp rs;
                struct err e = ERR_INIT;
                uint64_t end;

                snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)off,
                         (unsigned long long)(off + sizeof(note) - 2));
                gl_resp_init(&rs);
                r = abandon_request(f, c, &(struct gl_req){
                        .method = "PATCH", .path = path, .token_header = "JOB-TOKEN", .token = token,
                        .content_type = "text/plain", .body = note, .body_len = sizeof(note) - 1,
                        .content_range = range, .timeout_ms = ABANDON_TIMEOUT_MS }, &rs, &e);
                /* 416: GitLab's copy ends elsewhere; resend there */
                if (r == 0 && rs.status == 416 && gl_range_end(&end, rs.range, &e) == 0 &&
                    end != off && end < GITLAB_TRACE_MAX * 4ull) {
                        off = end;
                        gl_resp_free(&rs);
                        continue;
                }
                if (r < 0) {
                        /* GitLab did not answer 3 tries: neither would the PUT */
                        err_set(err, -r, "%s", e.msg);
                } else {
                        if (rs.status != 202 && rs.status != 403 && rs.status != 404)
                                log_debug("gitlab: job %lld: trace note not added: HTTP %ld",
                                          (long long)id, rs.status);
                        r = rs.status == 403 || rs.status == 404 ? 1 : 0;
                }
                gl_resp_free(&rs);
                break;
        }
        return r;
}

static int gl_abandon(struct forge *base, const char *handle, struct err *err)
{
        struct gl_forge *f = GF(base);
        _cleanup_(curl_cleanupp) CURL *c = NULL;
        _cleanup_(json_decrefp) json_t *body = NULL;
        _cleanup_free_ char *path = NULL, *text = NULL;
        char *token = NULL;
        char msg[200];
        struct gl_resp rs;
        int64_t id;
        int r;

        if ((r = gl_handle_parse(&id, &token, handle, f->url, err)) < 0)
                return r;
        c = xcurl();
        path = xasprintf("jobs/%lld", (long long)id);
        r = abandon_trace(f, c, id, token, err);
        if (r != 0) {
                free_secret(token);
                return r;
        }
        /* no output checksum: the runner no longer has the trace GitLab holds */
        body = json_pack("{s:s, s:s, s:s}", "token", token, "state", "failed", "failure_reason",
                         gl_failure_reason(JOB_SYSTEM_FAILURE, NULL));
        text = json_text(body);
        gl_resp_init(&rs);
        r = abandon_request(f, c, &(struct gl_req){
                .method = "PUT", .path = path, .token_header = "JOB-TOKEN", .token = token,
                .content_type = "application/json", .body = text, .body_len = strlen(text),
                .timeout_ms = ABANDON_TIMEOUT_MS }, &rs, err);
        explicit_bzero(text, strlen(text));
        free_secret(token);
        if (r == 0) {
                gl_resp_message(msg, sizeof(msg), &rs);
                if (rs.status == 200 || rs.status == 202)
                        r = 0;
                else if (rs.status == 403 || rs.status == 404 || rs.status == 409 || rs.status == 410)
                        r = 1; /* finished, canceled, erased, token expired, not running */
                else
                        r = err_set(err, EPROTO, "PUT jobs/%lld: HTTP %ld%s%s", (long long)id,
                                    rs.status, msg[0] ? ": " : "", msg);
                if (r == 1)
                        log_info("gitlab: job %lld: HTTP %ld%s%s", (long long)id, rs.status,
                                 msg[0] ? ": " : "", msg);
        }
        gl_resp_free(&rs);
        return r;
}

static void gl_free(struct forge *base)
{
        struct gl_forge *f = GF(base);

        if (f == NULL)
                return;
        for (uint32_t i = 0; i < f->nslots; i++) {
                if (f->slots[i] != NULL)
                        curl_easy_cleanup(f->slots[i]);
                if (f->bodies != NULL)
                        free_secret(f->bodies[i]);
        }
        free(f->slots);
        free(f->bodies);
        free(f->body_lu);
        free(f->set_up);
        free(f->busy);
        pthread_mutex_destroy(&f->mu);
        gl_http_free(&f->http);
        free_secret(f->token);
        free(f->url);
        free(f->base.name);
        free(f);
}

static const struct forge_ops gitlab_ops = {
        .name = "gitlab",
        .poll = gl_poll,
        .start = gl_start,
        .log = gl_log,
        .section = gl_section,
        .finish = gl_finish,
        .canceled = gl_canceled,
        .job_free = gl_job_free,
        .job_handle = gl_job_handle,
        .abandon = gl_abandon,
        .free = gl_free,
};

static void gl_freep(struct gl_forge **f)
{
        if (*f != NULL)
                gl_free(&(*f)->base);
}

int gitlab_forge_new(struct forge **out, const struct cfg_forge *cfg, const char *state_dir,
                     struct err *err)
{
        _cleanup_(gl_freep) struct gl_forge *f = NULL;
        _cleanup_free_ char *tok = NULL;
        size_t len;
        int r;

        *out = NULL;
        if (cfg->type != FORGE_GITLAB || cfg->url == NULL || cfg->token_file == NULL)
                return err_set(err, EINVAL, "gitlab forge: url and token_file are required");
        f = xcalloc(1, sizeof(*f));
        pthread_mutex_init(&f->mu, NULL);
        f->base.ops = &gitlab_ops;
        f->base.name = xstrdup(cfg->name ? cfg->name : "gitlab");
        f->timing = default_timing;
        r = gl_http_init(&f->http, cfg->url, &cfg->tls, err);
        if (r < 0)
                return r;
        f->url = xstrdup(f->http.url);
        r = file_read_secret(&tok, &len, cfg->token_file, 4096, err);
        if (r < 0)
                return r;
        while (len > 0 && (tok[len - 1] == '\n' || tok[len - 1] == '\r' || tok[len - 1] == ' '))
                tok[--len] = '\0';
        r = gl_token_check(tok, err);
        if (r < 0) {
                explicit_bzero(tok, len);
                return err_wrap(err, "%s", cfg->token_file);
        }
        f->token = TAKE_PTR(tok);
        r = gitlab_system_id(f->system_id, state_dir, f->base.name, err);
        if (r < 0)
                return r;
        f->nslots = cfg->request_concurrency ? cfg->request_concurrency : 1;
        f->slots = xcalloc(f->nslots, sizeof(CURL *));
        f->busy = xcalloc(f->nslots, sizeof(bool));
        f->bodies = xcalloc(f->nslots, sizeof(char *));
        f->body_lu = xcalloc(f->nslots, sizeof(*f->body_lu));
        f->set_up = xcalloc(f->nslots, sizeof(bool));
        for (uint32_t i = 0; i < f->nslots; i++)
                f->slots[i] = xcurl();
        *out = &TAKE_PTR(f)->base;
        return 0;
}
