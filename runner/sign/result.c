/* result.c - the result model, held as a jansson object from the start so
 * that there is one representation: the builders fill it, the validator
 * checks it, and the serialiser dumps it.
 *
 * The validator is a table that mirrors docs/result.schema.json field by
 * field; tests/integration/test_sign_cli.sh checks both against the same
 * documents with an independent JSON Schema implementation. */
#include "result.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

struct result {
        json_t *doc;
};

/* ---- the validator -------------------------------------------------- */

enum {
        T_STR = 1 << 0,
        T_INT = 1 << 1,
        T_BOOL = 1 << 2,
        T_OBJ = 1 << 3,
        T_ARR = 1 << 4,
        T_NULL = 1 << 5,
};

/* what a string must look like beyond its length */
enum str_class {
        SC_LINE = 0,    /* no control characters */
        SC_TEXT,        /* no control characters but tab, newline, carriage return */
        SC_HEX32,       /* execution id */
        SC_COMMIT,      /* 40 or 64 lowercase hex */
        SC_NAME,        /* [A-Za-z0-9._-] */
        SC_URL,         /* scheme://authority[/...] without userinfo */
        SC_TIME,        /* RFC 3339 UTC */
        SC_ENUM,
};

#define JSON_SAFE_INT 9007199254740991LL /* 2^53 - 1 */

struct obj_rule;

struct field_rule {
        const char *name;
        unsigned types;
        bool required;
        enum str_class sclass;
        size_t min_len, max_len;             /* string code points, or array items */
        long long min, max;                  /* integers */
        const char *const *enums;            /* SC_ENUM, NULL-terminated */
        const struct obj_rule *object;       /* T_OBJ, or the items of a T_ARR */
        const struct field_rule *item;       /* T_ARR of non-objects */
};

struct obj_rule {
        const struct field_rule *fields;
        size_t n;
        bool additional;                     /* unknown keys allowed */
};

static const char *const modes[] = { "validate", "plan", "apply", NULL };
static const char *const verdicts[] = { "PASSED", "FAILED", NULL };
static const char *const diag_severities[] = { "error", "warning", "unknown", NULL };
static const char *const finding_severities[] = { "error", "warning", NULL };
static const char *const mirror_states[] = { "verified", "missing", "mismatch", "not-configured", NULL };

#define STR(n, req, cls, lo, hi) { .name = n, .types = T_STR, .required = req, .sclass = cls, .min_len = lo, .max_len = hi }
#define STR_OR_NULL(n, req, cls, lo, hi) { .name = n, .types = T_STR | T_NULL, .required = req, .sclass = cls, .min_len = lo, .max_len = hi }
#define ENUM(n, values) { .name = n, .types = T_STR, .required = true, .sclass = SC_ENUM, .max_len = 64, .enums = values }
#define INT(n, lo, hi) { .name = n, .types = T_INT, .required = true, .min = lo, .max = hi }

static const struct field_rule step_fields[] = {
        STR("name", true, SC_LINE, 1, 256),
        INT("exit_code", -1, 255),
        STR("reason", true, SC_LINE, 0, 1024),
        INT("wall_ms", 0, JSON_SAFE_INT),
        INT("output_bytes", 0, JSON_SAFE_INT),
        { .name = "truncated", .types = T_BOOL, .required = true },
};

static const struct field_rule diag_fields[] = {
        ENUM("severity", diag_severities),
        STR("summary", true, SC_LINE, 0, 4096),
        STR_OR_NULL("detail", true, SC_TEXT, 0, 65536),
        STR_OR_NULL("file", true, SC_LINE, 1, 4096),
        { .name = "line", .types = T_INT | T_NULL, .required = true, .min = 1, .max = 2147483647 },
};

static const struct field_rule plan_fields[] = {
        INT("add", 0, JSON_SAFE_INT),
        INT("change", 0, JSON_SAFE_INT),
        INT("destroy", 0, JSON_SAFE_INT),
};

static const struct field_rule hash_item = STR("hash", true, SC_LINE, 1, 256);

static const struct field_rule provider_fields[] = {
        STR("source", true, SC_LINE, 1, 256),
        STR_OR_NULL("constraints", true, SC_LINE, 0, 1024),
        STR_OR_NULL("locked_version", true, SC_LINE, 0, 128),
        { .name = "hashes", .types = T_ARR, .required = true, .max_len = 256, .item = &hash_item },
        { .name = "allowed", .types = T_BOOL, .required = true },
        ENUM("mirror", mirror_states),
};

static const struct field_rule finding_fields[] = {
        STR("rule", true, SC_LINE, 1, 128),
        ENUM("severity", finding_severities),
        STR_OR_NULL("file", true, SC_LINE, 1, 4096),
        { .name = "line", .types = T_INT | T_NULL, .required = true, .min = 1, .max = 2147483647 },
        STR("message", true, SC_LINE, 1, 4096),
};

static const struct obj_rule step_rule = { step_fields, ARRAY_SIZE(step_fields), false };
static const struct obj_rule diag_rule = { diag_fields, ARRAY_SIZE(diag_fields), false };
static const struct obj_rule plan_rule = { plan_fields, ARRAY_SIZE(plan_fields), false };
/* owned by the inspection module: consumers ignore keys they do not know */
static const struct obj_rule provider_rule = { provider_fields, ARRAY_SIZE(provider_fields), true };
static const struct obj_rule finding_rule = { finding_fields, ARRAY_SIZE(finding_fields), true };

static const struct field_rule top_fields[] = {
        INT("result_version", RESULT_VERSION, RESULT_VERSION),
        STR("execution_id", true, SC_HEX32, 32, 32),
        STR("forge", true, SC_NAME, 1, 64),
        STR("project", true, SC_LINE, 1, 256),
        STR("repository", true, SC_URL, 1, 2048),
        STR("ref", true, SC_LINE, 0, 1024),
        STR("commit", true, SC_COMMIT, 40, 64),
        STR("tfgate_version", true, SC_LINE, 1, 64),
        STR_OR_NULL("terraform_version", true, SC_LINE, 1, 64),
        ENUM("mode", modes),
        { .name = "steps", .types = T_ARR, .required = true, .max_len = RESULT_MAX_STEPS, .object = &step_rule },
        { .name = "diagnostics", .types = T_ARR, .required = true, .max_len = RESULT_MAX_DIAGS, .object = &diag_rule },
        { .name = "plan", .types = T_OBJ | T_NULL, .required = true, .object = &plan_rule },
        { .name = "providers", .types = T_ARR, .required = true, .max_len = RESULT_MAX_PROVIDERS, .object = &provider_rule },
        { .name = "findings", .types = T_ARR, .required = true, .max_len = RESULT_MAX_FINDINGS, .object = &finding_rule },
        ENUM("verdict", verdicts),
        STR("reason", true, SC_LINE, 1, 1024),
        STR("started_at", true, SC_TIME, 20, 30),
        STR("finished_at", true, SC_TIME, 20, 30),
};

static const struct obj_rule top_rule = { top_fields, ARRAY_SIZE(top_fields), false };

/* JSON Schema counts lengths in code points; jansson guarantees valid UTF-8 */
static size_t utf8_count(const char *s, size_t n)
{
        size_t count = 0;

        for (size_t i = 0; i < n; i++)
                if (((unsigned char)s[i] & 0xc0) != 0x80)
                        count++;
        return count;
}

static bool all_in(const char *s, size_t n, const char *set)
{
        for (size_t i = 0; i < n; i++)
                if (s[i] == '\0' || strchr(set, s[i]) == NULL)
                        return false;
        return true;
}

static bool no_controls(const char *s, size_t n, bool text)
{
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];

                if (text && (c == '\t' || c == '\n' || c == '\r'))
                        continue;
                if (c < 0x20 || c == 0x7f)
                        return false;
        }
        return true;
}

static bool digits_in(const char *s, int lo, int hi)
{
        int v;

        if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
                return false;
        v = (s[0] - '0') * 10 + (s[1] - '0');
        return v >= lo && v <= hi;
}

/* YYYY-MM-DDTHH:MM:SS[.fraction]Z, the ranges the schema's pattern encodes */
static bool is_rfc3339_utc(const char *s, size_t n)
{
        size_t i = 19;

        if (n < 20 || !all_in(s, 4, "0123456789") || s[4] != '-' || !digits_in(s + 5, 1, 12) ||
            s[7] != '-' || !digits_in(s + 8, 1, 31) || s[10] != 'T' || !digits_in(s + 11, 0, 23) ||
            s[13] != ':' || !digits_in(s + 14, 0, 59) || s[16] != ':' || !digits_in(s + 17, 0, 60))
                return false;
        if (s[i] == '.') {
                size_t start = ++i;

                while (i < n && s[i] >= '0' && s[i] <= '9')
                        i++;
                if (i == start || i - start > 9)
                        return false;
        }
        return i + 1 == n && s[i] == 'Z';
}

/* scheme://authority... where the authority has no '@' (no credentials) */
static bool is_clean_url(const char *s, size_t n)
{
        const char *sep = memmem(s, n, "://", 3);
        size_t scheme_len, i;

        if (sep == NULL || sep == s || !no_controls(s, n, false) || memchr(s, ' ', n) != NULL)
                return false;
        scheme_len = (size_t)(sep - s);
        if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')) ||
            !all_in(s, scheme_len, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-"))
                return false;
        for (i = scheme_len + 3; i < n && strchr("/?#", s[i]) == NULL; i++)
                if (s[i] == '@')
                        return false;
        return true;
}

static bool string_class_ok(const struct field_rule *f, const char *s, size_t n)
{
        switch (f->sclass) {
        case SC_LINE:
                return no_controls(s, n, false);
        case SC_TEXT:
                return no_controls(s, n, true);
        case SC_HEX32:
                return n == 32 && all_in(s, n, "0123456789abcdef");
        case SC_COMMIT:
                return (n == 40 || n == 64) && all_in(s, n, "0123456789abcdef");
        case SC_NAME:
                return all_in(s, n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
        case SC_URL:
                return is_clean_url(s, n);
        case SC_TIME:
                return is_rfc3339_utc(s, n);
        case SC_ENUM:
                for (const char *const *e = f->enums; *e != NULL; e++)
                        if (strlen(*e) == n && memcmp(*e, s, n) == 0)
                                return true;
                return false;
        }
        return false;
}

static const char *type_names(unsigned types)
{
        static const struct { unsigned t; const char *name; } names[] = {
                { T_STR, "a string" }, { T_STR | T_NULL, "a string or null" },
                { T_INT, "an integer" }, { T_INT | T_NULL, "an integer or null" },
                { T_BOOL, "true or false" }, { T_OBJ, "an object" },
                { T_OBJ | T_NULL, "an object or null" }, { T_ARR, "an array" },
        };

        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                if (names[i].t == types)
                        return names[i].name;
        return "another type";
}

static unsigned json_type_bit(const json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_STRING: return T_STR;
        case JSON_INTEGER: return T_INT;
        case JSON_TRUE:
        case JSON_FALSE: return T_BOOL;
        case JSON_OBJECT: return T_OBJ;
        case JSON_ARRAY: return T_ARR;
        case JSON_NULL: return T_NULL;
        case JSON_REAL: return 0;
        }
        return 0;
}

static int validate_object(const json_t *obj, const struct obj_rule *rule, const char *path,
                           struct err *err);

static int validate_value(const json_t *v, const struct field_rule *f, const char *path,
                          struct err *err)
{
        unsigned t = json_type_bit(v);

        if ((t & f->types) == 0)
                return err_set(err, EINVAL, "%s: expected %s", path, type_names(f->types));
        if (t == T_STR) {
                const char *s = json_string_value(v);
                size_t n = json_string_length(v), cp = utf8_count(s, n);

                if (cp < f->min_len || cp > f->max_len)
                        return err_set(err, EINVAL, "%s: length %zu is outside %zu..%zu", path,
                                       cp, f->min_len, f->max_len);
                if (!string_class_ok(f, s, n))
                        return err_set(err, EINVAL, "%s: invalid value", path);
        } else if (t == T_INT) {
                json_int_t i = json_integer_value(v);

                if (i < f->min || i > f->max)
                        return err_set(err, EINVAL, "%s: %lld is outside %lld..%lld", path,
                                       (long long)i, f->min, f->max);
        } else if (t == T_OBJ) {
                return validate_object(v, f->object, path, err);
        } else if (t == T_ARR) {
                size_t i;
                json_t *item;

                if (json_array_size(v) > f->max_len)
                        return err_set(err, EINVAL, "%s: more than %zu items", path, f->max_len);
                json_array_foreach(v, i, item) {
                        _cleanup_free_ char *sub = xasprintf("%s[%zu]", path, i);
                        int r;

                        if (f->object != NULL) {
                                if (!json_is_object(item))
                                        return err_set(err, EINVAL, "%s: expected an object", sub);
                                r = validate_object(item, f->object, sub, err);
                        } else {
                                r = validate_value(item, f->item, sub, err);
                        }
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int validate_object(const json_t *obj, const struct obj_rule *rule, const char *path,
                           struct err *err)
{
        const char *key;
        json_t *v;

        for (size_t i = 0; i < rule->n; i++) {
                const struct field_rule *f = &rule->fields[i];
                _cleanup_free_ char *sub = xasprintf("%s%s%s", path, *path ? "." : "", f->name);
                json_t *fv = json_object_get(obj, f->name);
                int r;

                if (fv == NULL) {
                        if (f->required)
                                return err_set(err, EINVAL, "%s: missing", sub);
                        continue;
                }
                r = validate_value(fv, f, sub, err);
                if (r < 0)
                        return r;
        }
        if (rule->additional)
                return 0;
        json_object_foreach((json_t *)obj, key, v) {
                bool known = false;

                for (size_t i = 0; i < rule->n && !known; i++)
                        known = strcmp(rule->fields[i].name, key) == 0;
                if (!known)
                        return err_set(err, EINVAL, "%s%s%.64s: unknown key", path,
                                       *path ? "." : "", key);
        }
        return 0;
}

int result_validate(const json_t *doc, struct err *err)
{
        if (!json_is_object(doc))
                return err_set(err, EINVAL, "result: expected a JSON object");
        return validate_object(doc, &top_rule, "", err);
}

/* ---- builders -------------------------------------------------------- */

struct result *result_new(void)
{
        struct result *r = xcalloc(1, sizeof(*r));

        r->doc = json_object();
        if (r->doc == NULL)
                xalloc_die(0);
        json_object_set_new(r->doc, "result_version", json_integer(RESULT_VERSION));
        json_object_set_new(r->doc, "steps", json_array());
        json_object_set_new(r->doc, "diagnostics", json_array());
        json_object_set_new(r->doc, "plan", json_null());
        json_object_set_new(r->doc, "providers", json_array());
        json_object_set_new(r->doc, "findings", json_array());
        json_object_set_new(r->doc, "terraform_version", json_null());
        return r;
}

void result_free(struct result *r)
{
        if (r == NULL)
                return;
        json_decref(r->doc);
        free(r);
}

static const struct field_rule *find_rule(const struct obj_rule *rule, const char *name)
{
        for (size_t i = 0; i < rule->n; i++)
                if (strcmp(rule->fields[i].name, name) == 0)
                        return &rule->fields[i];
        return NULL;
}

/* check v against the top-level rule for name, then store it (steals v) */
static int set_checked(struct result *r, const char *name, json_t *v, struct err *err)
{
        int rc;

        if (v == NULL)
                return err_set(err, EINVAL, "%s: missing or not valid UTF-8", name);
        rc = validate_value(v, find_rule(&top_rule, name), name, err);
        if (rc < 0) {
                json_decref(v);
                return rc;
        }
        json_object_set_new(r->doc, name, v);
        return 0;
}

static json_t *str_or_null(const char *s)
{
        return s == NULL ? json_null() : json_string(s);
}

static json_t *str_required(const char *s)
{
        return s == NULL ? NULL : json_string(s);
}

int result_set_job(struct result *r, const char *execution_id, const char *forge,
                   const char *project, struct err *err)
{
        int rc = set_checked(r, "execution_id", str_required(execution_id), err);

        if (rc == 0)
                rc = set_checked(r, "forge", str_required(forge), err);
        if (rc == 0)
                rc = set_checked(r, "project", str_required(project), err);
        return rc;
}

int result_strip_userinfo(char **out, const char *url, struct err *err)
{
        const char *sep = url == NULL ? NULL : strstr(url, "://");
        const char *auth, *end, *at = NULL;

        if (sep == NULL)
                return err_set(err, EINVAL, "repository: not a URL");
        auth = sep + 3;
        end = auth + strcspn(auth, "/?#");
        for (const char *p = auth; p < end; p++)
                if (*p == '@')
                        at = p;   /* the last '@' ends the userinfo */
        if (at == NULL) {
                *out = xstrdup(url);
                return 0;
        }
        *out = xasprintf("%.*s%s", (int)(auth - url), url, at + 1);
        return 0;
}

int result_set_source(struct result *r, const char *repo_url, const char *ref,
                      const char *commit, struct err *err)
{
        _cleanup_free_ char *clean = NULL;
        int rc = result_strip_userinfo(&clean, repo_url, err);

        if (rc == 0)
                rc = set_checked(r, "repository", json_string(clean), err);
        if (rc == 0)
                rc = set_checked(r, "ref", str_required(ref), err);
        if (rc == 0)
                rc = set_checked(r, "commit", str_required(commit), err);
        return rc;
}

int result_set_versions(struct result *r, const char *tfgate_version,
                        const char *terraform_version, struct err *err)
{
        int rc = set_checked(r, "tfgate_version", str_required(tfgate_version), err);

        if (rc == 0)
                rc = set_checked(r, "terraform_version", str_or_null(terraform_version), err);
        return rc;
}

int result_set_mode(struct result *r, const char *mode, struct err *err)
{
        return set_checked(r, "mode", str_required(mode), err);
}

/* validate one new array item against the item rule, then append it */
static int append_checked(struct result *r, const char *name, json_t *item, struct err *err)
{
        const struct field_rule *f = find_rule(&top_rule, name);
        json_t *arr = json_object_get(r->doc, name);
        _cleanup_free_ char *path = xasprintf("%s[%zu]", name, json_array_size(arr));
        int rc;

        if (json_array_size(arr) >= f->max_len)
                rc = err_set(err, E2BIG, "%s: more than %zu items", name, f->max_len);
        else if (item == NULL)
                rc = err_set(err, EINVAL, "%s: a string is missing or not UTF-8", path);
        else
                rc = validate_object(item, f->object, path, err);
        if (rc < 0) {
                json_decref(item);
                return rc;
        }
        json_array_append_new(arr, item);
        return 0;
}

int result_add_step(struct result *r, const struct result_step *step, struct err *err)
{
        json_t *o = NULL;

        if (step->name != NULL && step->reason != NULL)
                o = json_pack("{s:s, s:i, s:s, s:I, s:I, s:b}", "name", step->name,
                              "exit_code", step->exit_code, "reason", step->reason,
                              "wall_ms", (json_int_t)step->wall_ms,
                              "output_bytes", (json_int_t)step->output_bytes,
                              "truncated", step->truncated);
        /* a uint64 past INT64_MAX wraps negative and the range check refuses it */
        return append_checked(r, "steps", o, err);
}

int result_add_diag(struct result *r, const struct result_diag *diag, struct err *err)
{
        json_t *o = NULL;

        if (diag->severity != NULL && diag->summary != NULL)
                o = json_pack("{s:s, s:s, s:o, s:o, s:o}", "severity", diag->severity,
                              "summary", diag->summary, "detail", str_or_null(diag->detail),
                              "file", str_or_null(diag->file),
                              "line", diag->line > 0 ? json_integer(diag->line) : json_null());
        return append_checked(r, "diagnostics", o, err);
}

int result_set_plan(struct result *r, uint64_t add, uint64_t change, uint64_t destroy,
                    struct err *err)
{
        return set_checked(r, "plan", json_pack("{s:I, s:I, s:I}", "add", (json_int_t)add,
                                                "change", (json_int_t)change,
                                                "destroy", (json_int_t)destroy), err);
}

int result_set_providers(struct result *r, json_t *providers, struct err *err)
{
        return set_checked(r, "providers", json_incref(providers), err);
}

int result_set_findings(struct result *r, json_t *findings, struct err *err)
{
        return set_checked(r, "findings", json_incref(findings), err);
}

const char *result_verdict_name(enum result_verdict v)
{
        return v == RESULT_PASSED ? "PASSED" : "FAILED";
}

int result_set_verdict(struct result *r, enum result_verdict verdict, const char *reason,
                       struct err *err)
{
        int rc = set_checked(r, "verdict", json_string(result_verdict_name(verdict)), err);

        if (rc == 0)
                rc = set_checked(r, "reason", str_required(reason), err);
        return rc;
}

void result_format_time(char out[32], const struct timespec *ts)
{
        struct tm tm;
        char base[26] = "";
        unsigned ms = (unsigned)((ts->tv_nsec / 1000000) % 1000);

        /* a year past 9999 does not fit; the validator refuses the "" left */
        if (gmtime_r(&ts->tv_sec, &tm) == NULL ||
            strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
                base[0] = '\0';
        snprintf(out, 32, "%.24s.%03uZ", base, ms);
}

int result_set_times(struct result *r, const struct timespec *started,
                     const struct timespec *finished, struct err *err)
{
        char a[32], b[32];
        int rc;

        if (finished->tv_sec < started->tv_sec ||
            (finished->tv_sec == started->tv_sec && finished->tv_nsec < started->tv_nsec))
                return err_set(err, EINVAL, "finished_at: before started_at");
        result_format_time(a, started);
        result_format_time(b, finished);
        rc = set_checked(r, "started_at", json_string(a), err);
        if (rc == 0)
                rc = set_checked(r, "finished_at", json_string(b), err);
        return rc;
}

/* ---- serialisation --------------------------------------------------- */

int result_to_json(char **out, size_t *len, const struct result *r, struct err *err)
{
        char *s;
        int rc = result_validate(r->doc, err);

        if (rc < 0)
                return err_wrap(err, "result incomplete or invalid");
        s = json_dumps(r->doc, JSON_COMPACT | JSON_SORT_KEYS);
        if (s == NULL)
                xalloc_die(0);
        *len = strlen(s);
        *out = s;
        return 0;
}

int result_from_json(struct result **out, const char *data, size_t len, struct err *err)
{
        json_error_t jerr;
        json_t *doc;
        int rc;

        *out = NULL;
        if (len > RESULT_MAX_BYTES)
                return err_set(err, EFBIG, "result: larger than %u bytes", RESULT_MAX_BYTES);
        /* duplicate keys would let two readers see two different results */
        doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
        if (doc == NULL)
                return err_set(err, EINVAL, "result: invalid JSON at line %d column %d: %s",
                               jerr.line, jerr.column, jerr.text);
        rc = result_validate(doc, err);
        if (rc < 0) {
                json_decref(doc);
                return rc;
        }
        *out = xcalloc(1, sizeof(**out));
        (*out)->doc = doc;
        return 0;
}

/* ---- accessors --------------------------------------------------------- */

static const char *get_str(const struct result *r, const char *key)
{
        return json_string_value(json_object_get(r->doc, key));
}

const char *result_commit(const struct result *r) { return get_str(r, "commit"); }
const char *result_ref(const struct result *r) { return get_str(r, "ref"); }
const char *result_repository(const struct result *r) { return get_str(r, "repository"); }
const char *result_mode(const struct result *r) { return get_str(r, "mode"); }
const char *result_tfgate_version(const struct result *r) { return get_str(r, "tfgate_version"); }
const char *result_terraform_version(const struct result *r) { return get_str(r, "terraform_version"); }
const char *result_finished_at(const struct result *r) { return get_str(r, "finished_at"); }

enum result_verdict result_verdict(const struct result *r)
{
        const char *v = get_str(r, "verdict");

        return v != NULL && strcmp(v, "PASSED") == 0 ? RESULT_PASSED : RESULT_FAILED;
}
