#include "tfjson.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

static const char *const severity_names[] = {
        [TF_SEV_ERROR] = "error",
        [TF_SEV_WARNING] = "warning",
        [TF_SEV_UNKNOWN] = "unknown",
};

const char *tf_severity_name(enum tf_severity s)
{
        return (unsigned)s < ARRAY_SIZE(severity_names) ? severity_names[s] : "unknown";
}

void tf_diags_free(struct tf_diags *d)
{
        for (size_t i = 0; i < d->n; i++) {
                free(d->v[i].summary);
                free(d->v[i].detail);
                free(d->v[i].file);
        }
        free(d->v);
        d->v = NULL;
        d->n = 0;
        d->dropped = 0;
}

/* a bounded copy of a JSON string member, or NULL if absent / not a string */
static char *member_string(json_t *obj, const char *key)
{
        json_t *v = json_object_get(obj, key);
        const char *s;
        size_t n;

        if (!json_is_string(v))
                return NULL;
        s = json_string_value(v);
        n = json_string_length(v);
        if (n <= TFJSON_MAX_FIELD)
                return xstrndup(s, n);
        return xasprintf("%.*s...", TFJSON_MAX_FIELD, s);
}

static unsigned member_uint(json_t *obj, const char *key)
{
        json_t *v = json_object_get(obj, key);
        json_int_t i;

        if (!json_is_integer(v))
                return 0;
        i = json_integer_value(v);
        return i > 0 && i < 100000000 ? (unsigned)i : 0;
}

static enum tf_severity parse_severity(json_t *obj)
{
        json_t *v = json_object_get(obj, "severity");
        const char *s = json_is_string(v) ? json_string_value(v) : "";

        if (strcmp(s, "error") == 0)
                return TF_SEV_ERROR;
        if (strcmp(s, "warning") == 0)
                return TF_SEV_WARNING;
        return TF_SEV_UNKNOWN;
}

static void add_diag(struct tf_diags *diags, json_t *d)
{
        struct tf_diag *out;
        json_t *range;

        if (!json_is_object(d))
                return;
        if (diags->n >= TFJSON_MAX_DIAGS) {
                diags->dropped++;
                return;
        }
        diags->v = xreallocarray(diags->v, diags->n + 1, sizeof(*diags->v));
        out = &diags->v[diags->n++];
        memset(out, 0, sizeof(*out));
        out->severity = parse_severity(d);
        out->summary = member_string(d, "summary");
        if (out->summary == NULL)
                out->summary = xstrdup("(no summary)");
        out->detail = member_string(d, "detail");
        range = json_object_get(d, "range");
        if (json_is_object(range)) {
                json_t *start = json_object_get(range, "start");

                out->file = member_string(range, "filename");
                if (json_is_object(start)) {
                        out->line = member_uint(start, "line");
                        out->column = member_uint(start, "column");
                }
        }
}

static int load_object(json_t **out, const char *data, size_t len, const char *what,
                       struct err *err)
{
        json_error_t jerr;
        json_t *root;

        if (len > TFJSON_MAX_DOCUMENT)
                return err_set(err, EFBIG, "%s output is larger than %u bytes", what,
                               TFJSON_MAX_DOCUMENT);
        root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
        if (root == NULL)
                return err_set(err, EINVAL, "%s output is not JSON: line %d: %s", what, jerr.line,
                               jerr.text);
        if (!json_is_object(root)) {
                json_decref(root);
                return err_set(err, EINVAL, "%s output is not a JSON object", what);
        }
        *out = root;
        return 0;
}

int tfjson_parse_validate(struct tf_diags *diags, bool *valid, const char *data, size_t len,
                          struct err *err)
{
        json_t *root = NULL, *list, *d;
        size_t i;
        int r = load_object(&root, data, len, "validate -json", err);

        if (r < 0)
                return r;
        *valid = json_is_true(json_object_get(root, "valid"));
        list = json_object_get(root, "diagnostics");
        json_array_foreach(list, i, d)
                add_diag(diags, d);
        json_decref(root);
        return 0;
}

static void read_change_summary(struct tf_plan_summary *summary, json_t *changes)
{
        if (!json_is_object(changes))
                return;
        summary->known = true;
        summary->add = member_uint(changes, "add");
        summary->change = member_uint(changes, "change");
        summary->destroy = member_uint(changes, "remove");
        summary->import = member_uint(changes, "import");
}

/* "terraform": "1.9.5" (or "tofu": ...): a version-like string only */
static void read_version(struct tf_plan_summary *summary, json_t *msg)
{
        json_t *v = json_object_get(msg, "terraform");
        const char *s;

        if (!json_is_string(v))
                v = json_object_get(msg, "tofu");
        if (!json_is_string(v))
                return;
        s = json_string_value(v);
        if (json_string_length(v) < sizeof(summary->version) &&
            strspn(s, "0123456789.-+abcdefghijklmnopqrstuvwxyz") == json_string_length(v))
                snprintf(summary->version, sizeof(summary->version), "%s", s);
}

void tfjson_plan_line(struct tf_diags *diags, struct tf_plan_summary *summary, const char *line,
                      size_t len)
{
        json_t *msg, *type;
        const char *t;

        if (len == 0 || line[0] != '{' || len > TFJSON_MAX_DOCUMENT)
                return;
        msg = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(msg)) {
                json_decref(msg);
                return;
        }
        type = json_object_get(msg, "type");
        t = json_is_string(type) ? json_string_value(type) : "";
        if (strcmp(t, "diagnostic") == 0)
                add_diag(diags, json_object_get(msg, "diagnostic"));
        else if (strcmp(t, "change_summary") == 0)
                read_change_summary(summary, json_object_get(msg, "changes"));
        else if (strcmp(t, "version") == 0)
                read_version(summary, msg);
        json_decref(msg);
}

/* terraform's own accounting of one resource change's action list */
static void count_actions(struct tf_plan_summary *s, json_t *actions)
{
        bool create = false, del = false, update = false;
        json_t *a;
        size_t i;

        json_array_foreach(actions, i, a) {
                const char *name = json_is_string(a) ? json_string_value(a) : "";

                if (strcmp(name, "create") == 0)
                        create = true;
                else if (strcmp(name, "delete") == 0)
                        del = true;
                else if (strcmp(name, "update") == 0)
                        update = true;
        }
        s->add += create;
        s->destroy += del;
        s->change += update;
}

int tfjson_parse_show(struct tf_plan_summary *summary, const char *data, size_t len,
                      struct err *err)
{
        json_t *root = NULL, *changes, *rc;
        size_t i;
        int r = load_object(&root, data, len, "show -json", err);

        if (r < 0)
                return r;
        memset(summary, 0, sizeof(*summary));
        changes = json_object_get(root, "resource_changes");
        if (changes != NULL && !json_is_array(changes)) {
                json_decref(root);
                return err_set(err, EINVAL, "show -json: resource_changes is not a list");
        }
        json_array_foreach(changes, i, rc) {
                json_t *change = json_object_get(rc, "change");
                json_t *importing = json_object_get(change, "importing");

                if (!json_is_object(change))
                        continue;
                count_actions(summary, json_object_get(change, "actions"));
                if (json_is_object(importing))
                        summary->import++;
        }
        summary->known = true;
        json_decref(root);
        return 0;
}
