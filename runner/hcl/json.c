/* json.c - Terraform's JSON configuration syntax (.tf.json), read with
 * jansson into the same tree as the native syntax (see hcl.h).
 *
 * jansson validates and decodes the document but records no positions, so
 * a second, tiny scan of the (by then known to be valid) text lists the
 * position of every object key and array element in document order.
 * jansson keeps object members in insertion order, which for a document
 * without duplicate keys (refused) is document order, so a pre-order walk
 * of the decoded tree meets the same keys and elements in the same order
 * and can pair them with the scanned positions. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/cleanup.h"
#include "../util/xalloc.h"
#include "hcl_internal.h"

struct jpos {
        const json_t *parent;   /* the object or array */
        size_t index;           /* member or element index in iteration order */
        struct hcl_pos pos;
};

struct jreader {
        const char *name;
        struct jpos *map;       /* sorted by (parent, index) after the walk */
        size_t n_map;
        size_t n_scanned;
        struct hcl_pos *scanned;
        size_t next;            /* next unused entry of scanned */
        size_t nodes;
        struct err *err;
};

/* ---- the position scan ---------------------------------------------- */

/* Positions of object keys and array elements, in document order.  The
 * text is valid JSON (jansson accepted it), so the scan need not check
 * anything; it still never reads past len. */
static void scan_positions(struct jreader *r, const char *s, size_t len)
{
        /* container stack: 1 = object, 0 = array; depth is bounded by
         * jansson's own limit, but grow dynamically anyway */
        _cleanup_free_ unsigned char *stack = NULL;
        size_t depth = 0, cap = 0, line = 1, col0 = 0;
        bool want = false;      /* the next token starts a key / element */

        for (size_t i = 0; i < len;) {
                unsigned char c = (unsigned char)s[i];

                if (c == '\n') {
                        line++;
                        col0 = ++i;
                        continue;
                }
                if (c == ' ' || c == '\t' || c == '\r') {
                        i++;
                        continue;
                }
                if (want && c != ']' && c != '}') {
                        r->scanned = hcl_grow(r->scanned, r->n_scanned, sizeof(*r->scanned));
                        r->scanned[r->n_scanned].line = (uint32_t)line;
                        r->scanned[r->n_scanned].col = (uint32_t)(i - col0 + 1);
                        r->n_scanned++;
                }
                want = false;
                if (c == '{' || c == '[') {
                        if (depth == cap) {
                                cap = cap ? 2 * cap : 64;
                                stack = xrealloc(stack, cap);
                        }
                        stack[depth++] = c == '{';
                        want = true;
                        i++;
                } else if (c == '}' || c == ']') {
                        if (depth > 0)
                                depth--;
                        i++;
                } else if (c == ',') {
                        want = depth > 0;
                        i++;
                } else if (c == '"') {
                        for (i++; i < len && s[i] != '"'; i++)
                                if (s[i] == '\\')
                                        i++;
                        i++;
                } else {
                        i++;    /* ':' and the bytes of numbers and literals */
                }
        }
}

static void map_add(struct jreader *r, const json_t *parent, size_t index)
{
        struct jpos *m;

        r->map = hcl_grow(r->map, r->n_map, sizeof(*r->map));
        m = &r->map[r->n_map++];
        m->parent = parent;
        m->index = index;
        if (r->next < r->n_scanned) {
                m->pos = r->scanned[r->next++];
        } else {
                m->pos.line = 1;
                m->pos.col = 1;
        }
}

/* pre-order, in jansson's iteration order; depth is bounded by jansson */
static void map_walk(struct jreader *r, const json_t *v)
{
        if (json_is_object(v)) {
                const char *k;
                json_t *m;
                size_t i = 0;

                json_object_foreach((json_t *)v, k, m) {
                        map_add(r, v, i++);
                        map_walk(r, m);
                }
        } else if (json_is_array(v)) {
                for (size_t i = 0; i < json_array_size(v); i++) {
                        map_add(r, v, i);
                        map_walk(r, json_array_get(v, i));
                }
        }
}

static int cmp_jpos(const void *a, const void *b)
{
        const struct jpos *x = a, *y = b;

        if (x->parent != y->parent)
                return (uintptr_t)x->parent < (uintptr_t)y->parent ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index;
}

static struct hcl_pos pos_of(const struct jreader *r, const json_t *parent, size_t index)
{
        struct jpos key = { parent, index, { 1, 1 } };
        const struct jpos *hit;

        if (r->n_map == 0)
                return key.pos;
        hit = bsearch(&key, r->map, r->n_map, sizeof(*r->map), cmp_jpos);

        return hit ? hit->pos : key.pos;
}

/* ---- the schema ----------------------------------------------------- */

struct jschema {
        const char *type;
        int labels;
        const struct jschema *nested;   /* NULL-type-terminated, or NULL */
};

static const struct jschema connection_only[] = {
        { "connection", 0, NULL }, { NULL, 0, NULL },
};
static const struct jschema in_resource[] = {
        { "provisioner", 1, connection_only }, { "connection", 0, NULL },
        { "lifecycle", 0, NULL }, { NULL, 0, NULL },
};
static const struct jschema in_terraform[] = {
        { "required_providers", 0, NULL }, { "backend", 1, NULL }, { "cloud", 0, NULL },
        { NULL, 0, NULL },
};
static const struct jschema top_level[] = {
        { "terraform", 0, in_terraform }, { "provider", 1, NULL },
        { "resource", 2, in_resource }, { "data", 2, in_resource },
        { "ephemeral", 2, in_resource }, { "module", 1, NULL },
        { "variable", 1, NULL }, { "output", 1, NULL }, { "locals", 0, NULL },
        { "moved", 0, NULL }, { "import", 0, NULL }, { "removed", 0, in_resource },
        { "check", 1, NULL }, { NULL, 0, NULL },
};

static const struct jschema *schema_find(const struct jschema *s, const char *type)
{
        for (; s != NULL && s->type != NULL; s++)
                if (strcmp(s->type, type) == 0)
                        return s;
        return NULL;
}

/* ---- conversion ----------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static int jfail(struct jreader *r, struct hcl_pos pos, const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return err_set(r->err, 0, "%s:%u:%u: %s", r->name, pos.line, pos.col, msg);
}

static int jcount(struct jreader *r, struct hcl_pos pos)
{
        if (++r->nodes > HCL_MAX_NODES)
                return jfail(r, pos, "too many values (limit %zu)", HCL_MAX_NODES);
        return 0;
}

/* A JSON string is a template: decode the $${ / %%{ escapes, and say
 * whether a real ${ or %{ sequence occurs. */
static char *template_literal(const char *s, size_t len, size_t *out_len, bool *templated)
{
        char *o = xmalloc(len + 1);
        size_t n = 0;

        *templated = false;
        for (size_t i = 0; i < len; i++) {
                if ((s[i] == '$' || s[i] == '%') && i + 2 < len && s[i + 1] == s[i] && s[i + 2] == '{') {
                        o[n++] = s[i];
                        o[n++] = '{';
                        i += 2;
                } else if ((s[i] == '$' || s[i] == '%') && i + 1 < len && s[i + 1] == '{') {
                        *templated = true;
                        o[n++] = s[i];
                } else {
                        o[n++] = s[i];
                }
        }
        o[n] = '\0';
        *out_len = n;
        return o;
}

static int convert_value(struct jreader *r, const json_t *j, struct hcl_pos pos,
                         struct hcl_value **out, int depth);

static int convert_scalar(struct jreader *r, const json_t *j, struct hcl_value *v)
{
        char num[64];

        switch (json_typeof(j)) {
        case JSON_STRING: {
                bool templated;
                size_t n;
                char *lit = template_literal(json_string_value(j), json_string_length(j), &n, &templated);

                if (templated) {
                        free(lit);
                        v->kind = HCL_EXPR;
                        v->owned_text_ = xmemdup(json_string_value(j), json_string_length(j) + 1);
                        v->text = v->owned_text_;
                        v->text_len = json_string_length(j);
                } else {
                        v->kind = HCL_STRING;
                        v->str = lit;
                        v->str_len = n;
                        v->text = v->str;
                        v->text_len = n;
                }
                return 0;
        }
        case JSON_INTEGER:
                v->kind = HCL_NUMBER;
                v->number = (double)json_integer_value(j);
                snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
                break;
        case JSON_REAL:
                v->kind = HCL_NUMBER;
                v->number = json_real_value(j);
                snprintf(num, sizeof(num), "%.17g", json_real_value(j));
                break;
        case JSON_TRUE:
        case JSON_FALSE:
                v->kind = HCL_BOOL;
                v->boolean = json_is_true(j);
                snprintf(num, sizeof(num), "%s", v->boolean ? "true" : "false");
                break;
        default:
                v->kind = HCL_NULL;
                snprintf(num, sizeof(num), "null");
                break;
        }
        v->owned_text_ = xstrdup(num);
        v->text = v->owned_text_;
        v->text_len = strlen(num);
        return 0;
}

static int convert_value(struct jreader *r, const json_t *j, struct hcl_pos pos,
                         struct hcl_value **out, int depth)
{
        struct hcl_value *v;
        int rc;

        if (depth > HCL_MAX_DEPTH)
                return jfail(r, pos, "nesting deeper than %d levels", HCL_MAX_DEPTH);
        if ((rc = jcount(r, pos)) < 0)
                return rc;
        v = xcalloc(1, sizeof(*v));
        v->pos = pos;
        v->text = "";
        *out = v;       /* the caller owns it from here, even on failure */
        if (json_is_array(j)) {
                v->kind = HCL_LIST;
                for (size_t i = 0; i < json_array_size(j); i++) {
                        v->items = hcl_grow(v->items, v->n_items, sizeof(*v->items));
                        v->items[v->n_items] = NULL;
                        rc = convert_value(r, json_array_get(j, i), pos_of(r, j, i),
                                           &v->items[v->n_items], depth + 1);
                        v->n_items++;
                        if (rc < 0)
                                return rc;
                }
                return 0;
        }
        if (json_is_object(j)) {
                const char *k;
                json_t *m;
                size_t i = 0;

                v->kind = HCL_OBJECT;
                json_object_foreach((json_t *)j, k, m) {
                        struct hcl_member *mem;

                        v->members = hcl_grow(v->members, v->n_members, sizeof(*v->members));
                        mem = &v->members[v->n_members++];
                        mem->key = xstrdup(k);
                        mem->pos = pos_of(r, j, i++);
                        mem->value = NULL;
                        if ((rc = convert_value(r, m, mem->pos, &mem->value, depth + 1)) < 0)
                                return rc;
                }
                return 0;
        }
        return convert_scalar(r, j, v);
}

static int convert_body(struct jreader *r, const json_t *obj, struct hcl_pos pos,
                        const struct jschema *schema, struct hcl_body *body, int depth);

/* Blocks of one type: labels are nested object keys, and at any level an
 * array stands for several blocks (Terraform's JSON conventions). */
static int convert_blocks(struct jreader *r, const struct jschema *s, const json_t *j,
                          struct hcl_pos pos, char **labels, int n, struct hcl_body *body,
                          int depth)
{
        int rc;

        if (depth > HCL_MAX_DEPTH)
                return jfail(r, pos, "nesting deeper than %d levels", HCL_MAX_DEPTH);
        if (json_is_array(j)) {
                for (size_t i = 0; i < json_array_size(j); i++) {
                        rc = convert_blocks(r, s, json_array_get(j, i), pos_of(r, j, i), labels, n,
                                            body, depth + 1);
                        if (rc < 0)
                                return rc;
                }
                return 0;
        }
        if (!json_is_object(j))
                return jfail(r, pos, "\"%s\" block: expected a JSON object, found %s", s->type,
                             json_is_string(j) ? "a string" : json_is_null(j) ? "null" : "a scalar");
        if (n == s->labels) {
                struct hcl_block *blk;

                if ((rc = jcount(r, pos)) < 0)
                        return rc;
                body->blocks = hcl_grow(body->blocks, body->n_blocks, sizeof(*body->blocks));
                blk = &body->blocks[body->n_blocks++];
                memset(blk, 0, sizeof(*blk));
                blk->type = xstrdup(s->type);
                blk->labels = xcalloc((size_t)n + 1, sizeof(char *));
                for (int i = 0; i < n; i++)
                        blk->labels[i] = xstrdup(labels[i]);
                blk->n_labels = (size_t)n;
                blk->pos = pos;
                return convert_body(r, j, pos, s->nested, &blk->body, depth + 1);
        }
        {
                const char *k;
                json_t *m;
                size_t i = 0;

                json_object_foreach((json_t *)j, k, m) {
                        struct hcl_pos kpos = pos_of(r, j, i++);

                        labels[n] = (char *)k;
                        rc = convert_blocks(r, s, m, kpos, labels, n + 1, body, depth + 1);
                        if (rc < 0)
                                return rc;
                }
        }
        return 0;
}

static int convert_body(struct jreader *r, const json_t *obj, struct hcl_pos pos,
                        const struct jschema *schema, struct hcl_body *body, int depth)
{
        const char *k;
        json_t *m;
        size_t i = 0;
        int rc;

        if (depth > HCL_MAX_DEPTH)
                return jfail(r, pos, "nesting deeper than %d levels", HCL_MAX_DEPTH);
        json_object_foreach((json_t *)obj, k, m) {
                struct hcl_pos kpos = pos_of(r, obj, i++);
                const struct jschema *s;

                if (strcmp(k, "//") == 0)
                        continue;       /* a JSON-syntax comment */
                s = schema_find(schema, k);
                if (s != NULL) {
                        char *labels[2];

                        rc = convert_blocks(r, s, m, kpos, labels, 0, body, depth + 1);
                } else {
                        struct hcl_attr *a;

                        if ((rc = jcount(r, kpos)) < 0)
                                return rc;
                        body->attrs = hcl_grow(body->attrs, body->n_attrs, sizeof(*body->attrs));
                        a = &body->attrs[body->n_attrs++];
                        a->name = xstrdup(k);
                        a->pos = kpos;
                        a->value = NULL;
                        rc = convert_value(r, m, kpos, &a->value, depth + 1);
                }
                if (rc < 0)
                        return rc;
        }
        return 0;
}

int hcl_parse_json(struct hcl_file **out, const char *name, const char *src, size_t len,
                   struct err *err)
{
        _cleanup_(hcl_file_freep) struct hcl_file *f = NULL;
        struct jreader r = { .name = name, .err = err };
        json_error_t je;
        json_t *root;
        int rc;

        *out = NULL;
        if (len > HCL_MAX_FILE_SIZE)
                return err_set(err, EFBIG, "%s: larger than %zu bytes", name, HCL_MAX_FILE_SIZE);
        root = json_loadb(src, len, JSON_REJECT_DUPLICATES, &je);
        if (root == NULL)
                return err_set(err, 0, "%s:%d:%d: %s", name, je.line, je.column, je.text);
        if (!json_is_object(root)) {
                json_decref(root);
                return err_set(err, 0, "%s:1:1: a Terraform JSON file must hold one JSON object", name);
        }
        f = hcl_file_new(name, src, len, true);
        scan_positions(&r, src, len);
        map_walk(&r, root);
        if (r.n_map > 1)
                qsort(r.map, r.n_map, sizeof(*r.map), cmp_jpos);
        rc = convert_body(&r, root, (struct hcl_pos){ 1, 1 }, top_level, &f->body, 0);
        json_decref(root);
        free(r.map);
        free(r.scanned);
        if (rc < 0)
                return rc;
        *out = TAKE_PTR(f);
        return 0;
}
