/* job.c - the job payload of POST /jobs/request (201), validated against
 * the schema tables below before anything is taken from it.
 *
 * Three layers, each refusing with the path of the field:
 *   1. the reply is bounded (GITLAB_REPLY_MAX) and parsed with duplicate
 *      keys refused;
 *   2. a walk over the whole tree bounds depth, container sizes and every
 *      string, known or not (GitLab adds fields; they are allowed, not big);
 *   3. the tables give the type, bounds and presence of every field tfgate
 *      reads or GitLab documents (reference/gitlab.md 2e), then the
 *      semantic checks: repository on the GitLab host, https, credentials
 *      only gitlab-ci-token:<job token>, 40/64-hex SHAs, refspecs that
 *      runner/fetch accepts, variable names, header-safe job token. */
#include "gitlab_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runner/fetch/fetch.h"
#include "runner/fetch/url.h"
#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

#define MAX_DEPTH 16
#define MAX_ITEMS 10000
#define MAX_VARS 4096
#define MAX_REFSPECS 64
#define MAX_TIMEOUT_S (30u * 86400u)

enum ftype { T_STR = 1, T_INT, T_NUM, T_BOOL, T_OBJ, T_ARR };

#define REQ 1u        /* must be present and not null */

struct schema;

struct field {
        const char *key;
        enum ftype type;
        unsigned flags;
        uint64_t max;             /* string bytes, array items, integer value */
        enum ftype item;          /* arrays: the item type */
        const struct schema *sub; /* objects, and arrays of objects */
};

struct schema {
        const struct field *f;
        size_t n;
};

#define SCHEMA(name, ...)                                                    \
        static const struct field name##_fields[] = { __VA_ARGS__ };         \
        static const struct schema name = { name##_fields, ARRAY_SIZE(name##_fields) }

#define S GITLAB_STRING_MAX
#define I64 ((uint64_t)INT64_MAX)

SCHEMA(job_info_schema,
       { "id", T_INT, 0, I64, 0, NULL },
       { "name", T_STR, 0, 1024, 0, NULL },
       { "stage", T_STR, 0, 1024, 0, NULL },
       { "pipeline_id", T_INT, 0, I64, 0, NULL },
       { "project_id", T_INT, 0, I64, 0, NULL },
       { "project_name", T_STR, 0, 1024, 0, NULL },
       { "project_full_path", T_STR, 0, 1024, 0, NULL },
       { "namespace_id", T_INT, 0, I64, 0, NULL },
       { "root_namespace_id", T_INT, 0, I64, 0, NULL },
       { "organization_id", T_INT, 0, I64, 0, NULL },
       { "user_id", T_INT, 0, I64, 0, NULL },
       { "time_in_queue_seconds", T_NUM, 0, 0, 0, NULL },
       { "project_jobs_running_on_instance_runners_count", T_STR, 0, 64, 0, NULL },
       { "queue_size", T_INT, 0, I64, 0, NULL },
       { "queue_depth", T_INT, 0, I64, 0, NULL });

SCHEMA(git_info_schema,
       { "repo_url", T_STR, REQ, URL_MAX_LEN + 1024, 0, NULL },
       { "ref", T_STR, REQ, 1024, 0, NULL },
       { "sha", T_STR, REQ, 64, 0, NULL },
       { "before_sha", T_STR, 0, 64, 0, NULL },
       { "ref_type", T_STR, 0, 16, 0, NULL },
       { "refspecs", T_ARR, 0, MAX_REFSPECS, T_STR, NULL },
       { "depth", T_INT, 0, INT32_MAX, 0, NULL },
       { "repo_object_format", T_STR, 0, 16, 0, NULL },
       { "protected", T_BOOL, 0, 0, 0, NULL });

SCHEMA(runner_info_schema,
       { "timeout", T_INT, 0, MAX_TIMEOUT_S, 0, NULL },
       { "runner_session_url", T_STR, 0, URL_MAX_LEN, 0, NULL });

SCHEMA(variable_schema,
       { "key", T_STR, REQ, 255, 0, NULL },
       { "value", T_STR, REQ, GITLAB_VALUE_MAX, 0, NULL },
       { "public", T_BOOL, 0, 0, 0, NULL },
       { "masked", T_BOOL, 0, 0, 0, NULL },
       { "file", T_BOOL, 0, 0, 0, NULL },
       { "raw", T_BOOL, 0, 0, 0, NULL });

SCHEMA(step_schema,
       { "name", T_STR, REQ, 1024, 0, NULL },
       { "script", T_ARR, 0, MAX_ITEMS, T_STR, NULL },
       { "timeout", T_INT, 0, MAX_TIMEOUT_S, 0, NULL },
       { "when", T_STR, 0, 32, 0, NULL },
       { "allow_failure", T_BOOL, 0, 0, 0, NULL });

SCHEMA(artifact_schema,
       { "name", T_STR, 0, 1024, 0, NULL },
       { "untracked", T_BOOL, 0, 0, 0, NULL },
       { "paths", T_ARR, 0, MAX_ITEMS, T_STR, NULL },
       { "exclude", T_ARR, 0, MAX_ITEMS, T_STR, NULL },
       { "when", T_STR, 0, 32, 0, NULL },
       { "expire_in", T_STR, 0, 64, 0, NULL },
       { "artifact_type", T_STR, 0, 64, 0, NULL },
       { "artifact_format", T_STR, 0, 32, 0, NULL });

SCHEMA(image_schema,
       { "name", T_STR, 0, 4096, 0, NULL },
       { "alias", T_STR, 0, 1024, 0, NULL },
       { "command", T_ARR, 0, 1024, T_STR, NULL },
       { "entrypoint", T_ARR, 0, 1024, T_STR, NULL });

SCHEMA(features_schema,
       { "trace_sections", T_BOOL, 0, 0, 0, NULL },
       { "token_mask_prefixes", T_ARR, 0, 64, T_STR, NULL },
       { "failure_reasons", T_ARR, 0, 128, T_STR, NULL });

SCHEMA(job_schema,
       { "id", T_INT, REQ, I64, 0, NULL },
       { "token", T_STR, REQ, 1024, 0, NULL },
       { "allow_git_fetch", T_BOOL, 0, 0, 0, NULL },
       { "job_info", T_OBJ, 0, 0, 0, &job_info_schema },
       { "git_info", T_OBJ, REQ, 0, 0, &git_info_schema },
       { "runner_info", T_OBJ, 0, 0, 0, &runner_info_schema },
       { "variables", T_ARR, 0, MAX_VARS, T_OBJ, &variable_schema },
       { "steps", T_ARR, 0, 1024, T_OBJ, &step_schema },
       { "image", T_OBJ, 0, 0, 0, &image_schema },
       { "services", T_ARR, 0, 1024, T_OBJ, &image_schema },
       { "artifacts", T_ARR, 0, 1024, T_OBJ, &artifact_schema },
       { "cache", T_ARR, 0, 1024, T_OBJ, NULL },
       { "credentials", T_ARR, 0, 1024, T_OBJ, NULL },
       { "dependencies", T_ARR, 0, 1024, T_OBJ, NULL },
       { "features", T_OBJ, 0, 0, 0, &features_schema });

#undef S

static const char *type_name(enum ftype t)
{
        static const char *const names[] = {
                [T_STR] = "a string", [T_INT] = "an integer", [T_NUM] = "a number",
                [T_BOOL] = "a boolean", [T_OBJ] = "an object", [T_ARR] = "an array",
        };

        return names[t];
}

/* refuse: err gets "job payload: PATH: why", meta->field gets PATH */
__attribute__((format(printf, 4, 5)))
static int refuse(struct gl_job_meta *m, struct err *err, const char *path, const char *fmt, ...)
{
        char why[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        snprintf(m->field, sizeof(m->field), "%s", path);
        return err_set(err, EBADMSG, "job payload: %s: %s", path[0] ? path : "(top)", why);
}

static bool type_ok(const json_t *v, enum ftype t)
{
        switch (t) {
        case T_STR: return json_is_string(v);
        case T_INT: return json_is_integer(v);
        case T_NUM: return json_is_number(v);
        case T_BOOL: return json_is_boolean(v);
        case T_OBJ: return json_is_object(v);
        case T_ARR: return json_is_array(v);
        }
        return false;
}

/* layer 2: the whole tree, known keys or not */
static int walk(const json_t *v, int depth, struct gl_job_meta *m, struct err *err, const char *path)
{
        char sub[128];

        if (depth > MAX_DEPTH)
                return refuse(m, err, path, "nested deeper than %d levels", MAX_DEPTH);
        if (json_is_string(v)) {
                if (json_string_length(v) > GITLAB_VALUE_MAX)
                        return refuse(m, err, path, "string longer than %u bytes", GITLAB_VALUE_MAX);
        } else if (json_is_array(v)) {
                size_t i;
                json_t *it;

                if (json_array_size(v) > MAX_ITEMS)
                        return refuse(m, err, path, "more than %d items", MAX_ITEMS);
                json_array_foreach(v, i, it) {
                        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
                        if (walk(it, depth + 1, m, err, sub) < 0)
                                return -EBADMSG;
                }
        } else if (json_is_object(v)) {
                const char *k;
                json_t *it;

                if (json_object_size(v) > MAX_ITEMS)
                        return refuse(m, err, path, "more than %d keys", MAX_ITEMS);
                json_object_foreach((json_t *)v, k, it) {
                        if (strlen(k) > 256)
                                return refuse(m, err, path, "a key longer than 256 bytes");
                        snprintf(sub, sizeof(sub), "%s%s%.64s", path, path[0] ? "." : "", k);
                        if (walk(it, depth + 1, m, err, sub) < 0)
                                return -EBADMSG;
                }
        }
        return 0;
}

static int check_schema(const json_t *obj, const struct schema *s, struct gl_job_meta *m,
                        struct err *err, const char *path);

static int check_value(const json_t *v, const struct field *f, enum ftype t, uint64_t max,
                       struct gl_job_meta *m, struct err *err, const char *path)
{
        if (!type_ok(v, t))
                return refuse(m, err, path, "expected %s", type_name(t));
        if (t == T_STR && json_string_length(v) > max)
                return refuse(m, err, path, "longer than %llu bytes", (unsigned long long)max);
        if (t == T_INT && (json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max))
                return refuse(m, err, path, "out of range 0..%llu", (unsigned long long)max);
        if (t == T_OBJ && f->sub != NULL)
                return check_schema(v, f->sub, m, err, path);
        return 0;
}

static int check_schema(const json_t *obj, const struct schema *s, struct gl_job_meta *m,
                        struct err *err, const char *path)
{
        char sub[128], item[160];

        for (size_t i = 0; i < s->n; i++) {
                const struct field *f = &s->f[i];
                json_t *v = json_object_get(obj, f->key);
                int r;

                snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", f->key);
                if (v == NULL || json_is_null(v)) {
                        if (f->flags & REQ)
                                return refuse(m, err, sub, "missing");
                        continue;
                }
                if (f->type != T_ARR) {
                        r = check_value(v, f, f->type, f->max, m, err, sub);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (!json_is_array(v))
                        return refuse(m, err, sub, "expected an array");
                if (json_array_size(v) > f->max)
                        return refuse(m, err, sub, "more than %llu items",
                                      (unsigned long long)f->max);
                for (size_t k = 0; k < json_array_size(v); k++) {
                        snprintf(item, sizeof(item), "%s[%zu]", sub, k);
                        r = check_value(json_array_get(v, k), f, f->item,
                                        f->item == T_STR ? 4096 : 0, m, err, item);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static const char *str(const json_t *obj, const char *key)
{
        return json_string_value(json_object_get(obj, key));
}

static bool charset_ok(const char *s, const char *extra)
{
        for (const char *p = s; *p != '\0'; p++) {
                char c = *p;

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      strchr(extra, c) != NULL))
                        return false;
        }
        return true;
}

static bool printable(const char *s)
{
        for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

/* Take "gitlab-ci-token:<token>@" out of the clone URL.  Anything else in
 * the userinfo (another user, another password, more '@', encodings) is
 * refused: credentials come only from the job token. */
static int split_repo_url(char **clean, const char *url, const char *token, struct gl_job_meta *m,
                          struct err *err)
{
        const char *p = "git_info.repo_url";
        const char *auth = strstr(url, "://");
        const char *end, *at, *colon;
        size_t ulen;

        if (auth == NULL)
                return refuse(m, err, p, "not a URL");
        auth += 3;
        end = auth + strcspn(auth, "/?#");
        at = NULL;
        for (const char *q = auth; q < end; q++) {
                if (*q != '@')
                        continue;
                if (at != NULL)
                        return refuse(m, err, p, "more than one '@' in the authority");
                at = q;
        }
        if (at == NULL) {
                *clean = xstrdup(url);
                return 0;
        }
        colon = memchr(auth, ':', (size_t)(at - auth));
        ulen = (size_t)((colon ? colon : at) - auth);
        if (ulen != strlen("gitlab-ci-token") || memcmp(auth, "gitlab-ci-token", ulen) != 0)
                return refuse(m, err, p, "credentials other than gitlab-ci-token");
        if (colon != NULL && ((size_t)(at - colon - 1) != strlen(token) ||
                              memcmp(colon + 1, token, strlen(token)) != 0))
                return refuse(m, err, p, "the password is not the job token");
        *clean = xasprintf("%.*s%s", (int)(auth - url), url, at + 1);
        return 0;
}

static int parse_git(struct job *j, const json_t *gi, const char *token, const char *forge_url,
                     struct gl_job_meta *m, struct err *err)
{
        _cleanup_(url_freep) struct url u = URL_INIT;
        _cleanup_(url_freep) struct url fu = URL_INIT;
        _cleanup_free_ char *clean = NULL;
        const char *sha = str(gi, "sha"), *before = str(gi, "before_sha");
        const char *fmt = str(gi, "repo_object_format"), *ref = str(gi, "ref");
        json_t *specs = json_object_get(gi, "refspecs");
        unsigned flags = 0;
        struct err e2 = ERR_INIT;
        int r;

        r = url_parse(&fu, forge_url, URL_ALLOW_EMPTY_PATH | URL_ALLOW_HTTP_LOOPBACK, err);
        if (r < 0)
                return err_wrap(err, "GitLab URL");
        /* http only when GitLab itself is configured as http on loopback (tests) */
        if (fu.scheme == URL_HTTP)
                flags |= URL_ALLOW_HTTP_LOOPBACK;
        r = split_repo_url(&clean, str(gi, "repo_url"), token, m, err);
        if (r < 0)
                return r;
        if (url_parse(&u, clean, flags, &e2) < 0)
                return refuse(m, err, "git_info.repo_url", "%s", e2.msg);
        if (url_require_host(&u, forge_url, &e2) < 0)
                return refuse(m, err, "git_info.repo_url", "%s", e2.msg);
        if (u.scheme != fu.scheme)
                return refuse(m, err, "git_info.repo_url", "scheme differs from the GitLab URL's");
        j->repo_url = xstrdup(u.url);

        if (!job_sha_valid(sha))
                return refuse(m, err, "git_info.sha", "not a 40- or 64-digit lowercase hex id");
        if (fmt != NULL && !((strcmp(fmt, "sha1") == 0 && strlen(sha) == 40) ||
                             (strcmp(fmt, "sha256") == 0 && strlen(sha) == 64)))
                return refuse(m, err, "git_info.repo_object_format",
                              "not sha1 or sha256, or does not match the sha");
        if (before != NULL && !job_sha_valid(before))
                return refuse(m, err, "git_info.before_sha", "not a 40- or 64-digit lowercase hex id");
        j->sha = xstrdup(sha);
        if (!printable(ref) || ref[0] == '-')
                return refuse(m, err, "git_info.ref", "control characters or a leading '-'");
        j->ref = xstrdup(ref);

        j->refspecs = xcalloc(json_array_size(specs) + 1, sizeof(char *));
        for (size_t i = 0; i < json_array_size(specs); i++) {
                const char *s = json_string_value(json_array_get(specs, i));
                _cleanup_free_ char *rewritten = NULL;
                char path[64];

                snprintf(path, sizeof(path), "git_info.refspecs[%zu]", i);
                if (fetch_refspec_rewrite(&rewritten, s, &e2) < 0)
                        return refuse(m, err, path, "%s", e2.msg);
                j->refspecs[j->n_refspecs++] = xstrdup(s);
        }
        return 0;
}

static void add_var(struct job *j, const char *key, const char *value, bool secret, bool file)
{
        struct job_variable *v;

        j->vars = xreallocarray(j->vars, j->n_vars + 1, sizeof(*j->vars));
        v = &j->vars[j->n_vars++];
        v->key = xstrdup(key);
        v->value = xstrdup(value);
        v->secret = secret;
        v->file = file;
}

static bool var_name_ok(const char *k)
{
        return k[0] != '\0' && !(k[0] >= '0' && k[0] <= '9') && charset_ok(k, "_");
}

static int parse_vars(struct job *j, const json_t *vars, const char *token, struct gl_job_meta *m,
                      struct err *err)
{
        bool have_token_var = false;
        size_t i;
        json_t *v;

        json_array_foreach(vars, i, v) {
                const char *k = str(v, "key"), *val = str(v, "value");
                json_t *pub = json_object_get(v, "public");
                char path[64];
                bool secret;

                snprintf(path, sizeof(path), "variables[%zu].key", i);
                if (!var_name_ok(k))
                        return refuse(m, err, path, "not a variable name ([A-Za-z_][A-Za-z0-9_]*)");
                /* secret unless GitLab says public and not masked; the job
                 * token is secret wherever it appears */
                secret = !json_is_true(pub) || json_is_true(json_object_get(v, "masked")) ||
                         strcmp(val, token) == 0 || strcmp(k, "CI_JOB_TOKEN") == 0;
                have_token_var |= strcmp(k, "CI_JOB_TOKEN") == 0;
                add_var(j, k, val, secret, json_is_true(json_object_get(v, "file")));
        }
        if (!have_token_var)
                add_var(j, "CI_JOB_TOKEN", token, true, false);
        return 0;
}

static int parse_features(struct gl_job_meta *m, const json_t *feat, struct err *err)
{
        json_t *fr = json_object_get(feat, "failure_reasons");
        size_t n = json_array_size(fr);

        m->trace_sections = json_is_true(json_object_get(feat, "trace_sections"));
        if (fr == NULL)
                return 0;
        m->failure_reasons = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
                const char *s = json_string_value(json_array_get(fr, i));
                char path[64];

                snprintf(path, sizeof(path), "features.failure_reasons[%zu]", i);
                if (s[0] == '\0' || strlen(s) > 64 || !charset_ok(s, "_"))
                        return refuse(m, err, path, "not a failure reason name");
                m->failure_reasons[i] = xstrdup(s);
        }
        return 0;
}

/* keep the archive artifact's expire_in ("1 week", "30 days") for the upload */
static int parse_expire_in(struct gl_job_meta *m, const json_t *arts, struct err *err)
{
        size_t i;
        json_t *a;

        json_array_foreach(arts, i, a) {
                const char *t = str(a, "artifact_type"), *e = str(a, "expire_in");
                char path[64];

                if (e == NULL || (t != NULL && strcmp(t, "archive") != 0))
                        continue;
                snprintf(path, sizeof(path), "artifacts[%zu].expire_in", i);
                if (e[0] == '\0' || !charset_ok(e, " "))
                        return refuse(m, err, path, "not a duration like \"1 week\"");
                free(m->expire_in);
                m->expire_in = xstrdup(e);
        }
        return 0;
}

/* "group/sub/project" from job_info, else from the repository path */
static int parse_project(struct job *j, const json_t *ji, struct gl_job_meta *m, struct err *err)
{
        const char *p = str(ji, "project_full_path");
        _cleanup_free_ char *derived = NULL;

        if (p == NULL) {
                const char *path = strstr(j->repo_url, "://");
                size_t n;

                path = path ? strchr(path + 3, '/') : NULL;
                if (path == NULL)
                        return refuse(m, err, "job_info.project_full_path", "missing");
                path++;
                n = strlen(path);
                if (n > 4 && strcmp(path + n - 4, ".git") == 0)
                        n -= 4;
                p = derived = xstrndup(path, n);
        }
        if (p[0] == '\0' || strlen(p) > 255 || !charset_ok(p, "_.-/+") || p[0] == '/' ||
            strstr(p, "..") != NULL)
                return refuse(m, err, "job_info.project_full_path", "not a project path");
        j->project = xstrdup(p);
        return 0;
}

void gl_job_meta_free(struct gl_job_meta *m)
{
        if (m->token != NULL) {
                explicit_bzero(m->token, strlen(m->token));
                free(m->token);
        }
        strv_free(m->failure_reasons);
        free(m->expire_in);
        memset(m, 0, sizeof(*m));
}

static void job_freep(struct job **j)
{
        job_free(*j);
}

int gl_job_parse(struct job **out, struct gl_job_meta *m, const char *data, size_t len,
                 const char *forge_url, struct err *err)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        _cleanup_(job_freep) struct job *j = NULL;
        json_t *id, *tok, *ri;
        json_error_t je;
        int r;

        *out = NULL;
        memset(m, 0, sizeof(*m));
        if (len > GITLAB_REPLY_MAX)
                return refuse(m, err, "", "larger than %u bytes", GITLAB_REPLY_MAX);
        doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
        if (doc == NULL)
                return refuse(m, err, "", "not JSON (line %d: %s)", je.line, je.text);
        if (!json_is_object(doc))
                return refuse(m, err, "", "not a JSON object");

        /* read id and token first, each checked alone, so that a job with a
         * bad payload can still be failed on GitLab */
        id = json_object_get(doc, "id");
        tok = json_object_get(doc, "token");
        if (json_is_integer(id) && json_integer_value(id) > 0)
                m->id = json_integer_value(id);
        if (json_is_string(tok) && json_string_length(tok) >= 1 && json_string_length(tok) <= 1024 &&
            charset_ok(json_string_value(tok), "-_.=:+"))
                m->token = xstrdup(json_string_value(tok));

        r = walk(doc, 0, m, err, "");
        if (r < 0)
                return r;
        r = check_schema(doc, &job_schema, m, err, "");
        if (r < 0)
                return r;
        if (m->id == 0)
                return refuse(m, err, "id", "not a positive integer");
        if (m->token == NULL)
                return refuse(m, err, "token", "empty or characters outside [A-Za-z0-9-_.=:+]");

        j = xcalloc(1, sizeof(*j));
        j->id = xasprintf("%lld", (long long)m->id);
        r = parse_git(j, json_object_get(doc, "git_info"), m->token, forge_url, m, err);
        if (r < 0)
                return r;
        r = parse_project(j, json_object_get(doc, "job_info"), m, err);
        if (r < 0)
                return r;
        r = parse_vars(j, json_object_get(doc, "variables"), m->token, m, err);
        if (r < 0)
                return r;
        r = parse_features(m, json_object_get(doc, "features"), err);
        if (r < 0)
                return r;
        r = parse_expire_in(m, json_object_get(doc, "artifacts"), err);
        if (r < 0)
                return r;
        ri = json_object_get(doc, "runner_info");
        j->timeout_ms = (uint64_t)json_integer_value(json_object_get(ri, "timeout")) * 1000u;
        j->clone_username = xstrdup("gitlab-ci-token");
        j->clone_password = xstrdup(m->token);
        *out = TAKE_PTR(j);
        return 0;
}

/* runner-side reasons onto GitLab's, as gitlab-runner's failure reason
 * mapper does: a reason GitLab does not list falls back along this table */
static const struct {
        const char *reason;
        const char *fallback;
} reason_fallback[] = {
        { "runner_configuration_error", "script_failure" },
        { "runner_external_dependency_failure", "runner_system_failure" },
        { "job_canceled", "unknown_failure" },
};

/* always accepted by GitLab, listed or not */
static const char *const always_ok[] = {
        "script_failure", "runner_system_failure", "job_execution_timeout", "unknown_failure",
};

static bool listed(const char *r, const char *const *list)
{
        for (; list != NULL && *list != NULL; list++)
                if (strcmp(*list, r) == 0)
                        return true;
        return false;
}

const char *gl_failure_reason(enum job_outcome o, const char *const *accepted)
{
        static const char *const by_outcome[] = {
                [JOB_PASSED] = NULL,
                [JOB_FAILED] = "script_failure",
                [JOB_SYSTEM_FAILURE] = "runner_system_failure",
                [JOB_TIMEOUT] = "job_execution_timeout",
                [JOB_CANCELED] = "job_canceled",
        };
        const char *r = (unsigned)o < ARRAY_SIZE(by_outcome) ? by_outcome[o] : "unknown_failure";

        if (r == NULL)
                return NULL;
        for (int hops = 0; hops < 3; hops++) {
                bool fell = false;

                if (listed(r, accepted))
                        return r;
                for (size_t i = 0; i < ARRAY_SIZE(always_ok); i++)
                        if (strcmp(r, always_ok[i]) == 0)
                                return r;
                for (size_t i = 0; i < ARRAY_SIZE(reason_fallback); i++) {
                        if (strcmp(r, reason_fallback[i].reason) == 0) {
                                r = reason_fallback[i].fallback;
                                fell = true;
                                break;
                        }
                }
                if (!fell)
                        break;
        }
        return "unknown_failure";
}
