/* gitlab_int.h - what the files of plugin-gitlab share with each other and
 * with their unit tests.  Not an interface for the rest of tfgate: that is
 * gitlab.h. */
#ifndef TFGATE_GITLAB_INT_H
#define TFGATE_GITLAB_INT_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "gitlab.h"
#include "runner/util/buf.h"

/* ---- http.c: a small libcurl wrapper with bounded replies ---- */

struct gl_http {                 /* read-only once built; shared by threads */
        char *url;               /* the configured URL, no trailing slash */
        char *base;              /* url + "/api/v4/" */
        char *ca_file;
        char *cert_file;
        char *key_file;
        char *user_agent;
};

struct gl_req {
        const char *method;      /* "POST", "PUT", "PATCH", "DELETE" */
        const char *path;        /* below /api/v4/, may carry a query */
        const char *token_header;  /* "RUNNER-TOKEN", "JOB-TOKEN" */
        const char *token;
        const char *content_type;  /* NULL: no body */
        const void *body;
        size_t body_len;
        const char *content_range; /* "start-end" for trace patches */
        curl_mime *mime;         /* multipart body instead of body */
        uint64_t timeout_ms;
        bool want_json;          /* a 2xx reply must be application/json */
        /* the handle's last request had the same method, path, timeout and
         * kind of body: its options are kept (the poll slots; saves the
         * reset and the option copies of every idle poll) */
        bool same_setup;
};

struct gl_resp {
        long status;             /* 0 before a reply */
        struct buf body;         /* at most GITLAB_REPLY_MAX */
        char job_status[32];     /* Job-Status */
        char last_update[128];   /* X-GitLab-Last-Update */
        char range[64];          /* Range */
        char content_type[128];
        char request_id[80];     /* the server's X-Request-Id, for logs */
        int64_t trace_interval_s;  /* X-GitLab-Trace-Update-Interval, -1 = none */
        int64_t retry_after_ms;  /* Retry-After / RateLimit-ResetTime, -1 = none */
};

int gl_http_init(struct gl_http *h, const char *url, const struct cfg_tls *tls, struct err *err);
void gl_http_free(struct gl_http *h);
void gl_resp_init(struct gl_resp *r);
void gl_resp_free(struct gl_resp *r);
/* One request on handle c (reset first).  0 when a reply arrived, whatever
 * its status; negative on a transport failure (refused, timeout, TLS, a
 * reply over the cap), with err saying which.  The token is never logged. */
int gl_http_do(const struct gl_http *h, CURL *c, const struct gl_req *rq, struct gl_resp *rs,
               struct err *err);
/* the reply's JSON object (NULL and an error if it is not one) */
json_t *gl_resp_json(const struct gl_resp *rs, struct err *err);
/* the reply's {"message": ...} as one short printable line, for errors */
void gl_resp_message(char *out, size_t n, const struct gl_resp *rs);
/* "amd64", "arm64", ... from uname */
const char *gl_arch(void);
uint64_t gl_now_ms(void);
/* sleep ms milliseconds (bounded by the caller) */
void gl_sleep_ms(uint64_t ms);
/* d/2 .. d, uniformly: "equal jitter" */
uint64_t gl_jitter(uint64_t d);

/* ---- trace.c: the job log as GitLab sees it ---- */

struct gl_trace {
        struct buf data;         /* every byte of the trace, for resends */
        size_t sent;             /* bytes GitLab has (its offset) */
        uint32_t crc;            /* IEEE CRC32 of data */
        bool capped;             /* the cap was hit and the note written */
};

void gl_trace_init(struct gl_trace *t, size_t max);
void gl_trace_free(struct gl_trace *t);
/* append; beyond the cap the rest is dropped after one visible note */
void gl_trace_append(struct gl_trace *t, const void *p, size_t n);
size_t gl_trace_pending(const struct gl_trace *t);
/* the next patch: bytes [*off, *off + *len), *len <= max */
void gl_trace_chunk(const struct gl_trace *t, size_t max, size_t *off, size_t *len);
/* GitLab accepted a patch ending (exclusively) at end */
void gl_trace_acked(struct gl_trace *t, size_t end);
/* 416: the Range header ("0-N") says GitLab has N bytes; resend from there */
int gl_trace_resync(struct gl_trace *t, const char *range, struct err *err);
/* the N of a 416 reply's Range "0-N" (GitLab's trace size) */
int gl_range_end(uint64_t *end, const char *range, struct err *err);
/* 412: GitLab wants the whole trace again */
void gl_trace_reset(struct gl_trace *t);
/* "crc32:%08x" */
void gl_trace_checksum(const struct gl_trace *t, char out[16]);
/* `section_start:<unix>:<name>[collapsed=true]\r\e[0K` or section_end */
char *gl_section_marker(const char *name, bool begin, time_t now);

/* ---- job.c: the job payload, validated against a schema table ---- */

struct gl_job_meta {
        int64_t id;              /* 0 when not even that could be read */
        char *token;             /* the job token, NULL when unreadable */
        char **failure_reasons;  /* features.failure_reasons, NULL-terminated, may be NULL */
        bool trace_sections;
        char *expire_in;         /* the archive artifact's expire_in, checked; may be NULL */
        char field[128];         /* the schema path that was refused ("" = none) */
};

void gl_job_meta_free(struct gl_job_meta *m);
/* Parse and validate a 201 reply.  forge_url is the configured GitLab URL:
 * the repository must live on its host (https; http only when the forge
 * URL is http on loopback).  On failure *out is NULL, err says what and
 * where, and meta holds what could be read (id, token) so the job can be
 * failed on GitLab; meta->field names the refused field. */
int gl_job_parse(struct job **out, struct gl_job_meta *meta, const char *data, size_t len,
                 const char *forge_url, struct err *err);

/* the "info" object of runner requests (name, version, features...) */
json_t *gl_runner_info(void);
/* a token read from a file, trimmed: refused when empty or not header-safe */
int gl_token_check(const char *token, struct err *err);

/* failure_reason for an outcome, mapped onto what this GitLab accepts */
const char *gl_failure_reason(enum job_outcome o, const char *const *accepted);

/* ---- forge.c: crash recovery ---- */

/* the job id and token of a handle made by job_handle for the GitLab at
 * url; -EBADMSG when it is malformed or names another URL */
int gl_handle_parse(int64_t *id, char **token, const char *handle, const char *url,
                    struct err *err);

/* ---- state.c: system_id and the registration state file ---- */

/* s_ + first 12 hex of HMAC-SHA256(key = machine id, msg = "gitlab-runner") */
int gl_system_id_from_machine_id(char out[GITLAB_SYSTEM_ID_LEN + 1], const char *machine_id,
                                 size_t len, struct err *err);
char *gl_state_path(const char *state_dir, const char *name);
/* the state file as an object; 1 (and *out NULL) when it does not exist */
int gl_state_load(json_t **out, const char *state_dir, const char *name, struct err *err);
int gl_state_save(const json_t *doc, const char *state_dir, const char *name, struct err *err);

/* ---- zip.c: a stored (uncompressed) zip archive ---- */

struct gl_zip_entry {
        const char *name;
        const void *data;
        size_t len;
};
int gl_zip_stored(struct buf *out, const struct gl_zip_entry *e, size_t n, time_t mtime,
                  struct err *err);
/* {"create":N,"update":N,"delete":N} from result.json's plan; 1 = no plan */
int gl_terraform_report(char **out, const char *result_json, size_t len, struct err *err);

#endif
