/* hcl_dump.c - test helper for tests/integration/test_hcl_crosscheck.sh:
 * prints, as one JSON object keyed by file name, the facts tfgate's HCL
 * reader (runner/hcl) extracts from each .tf file given, in the same shape
 * as tests/integration/lib/hcl2json_dump.js prints them from HashiCorp's
 * parser:
 *   {"FILE": {"required_providers": [{"name","source","version"}, ...],
 *             "blocks": ["resource TYPE NAME", "data TYPE NAME",
 *                        "module NAME", "provisioner TYPE NAME KIND", ...]}}
 * Lists are sorted; source / version are null when absent or not a
 * literal string.  A file the reader refuses prints {"error": "..."}.
 * Not installed; not a tfgate command. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/hcl/hcl.h"
#include "runner/util/cleanup.h"

static json_t *str_or_null(const struct hcl_value *v)
{
        const char *s = hcl_value_str(v);

        return s ? json_string(s) : json_null();
}

static void required_providers(json_t *out, const struct hcl_body *body)
{
        const struct hcl_block *tf = NULL;

        while ((tf = hcl_body_next_block(body, "terraform", tf)) != NULL) {
                const struct hcl_block *rp = NULL;

                while ((rp = hcl_body_next_block(&tf->body, "required_providers", rp)) != NULL) {
                        for (size_t i = 0; i < rp->body.n_attrs; i++) {
                                const struct hcl_attr *a = &rp->body.attrs[i];
                                json_t *o = json_object();

                                json_object_set_new(o, "name", json_string(a->name));
                                if (a->value->kind == HCL_OBJECT) {
                                        json_object_set_new(o, "source",
                                                            str_or_null(hcl_object_get(a->value, "source")));
                                        json_object_set_new(o, "version",
                                                            str_or_null(hcl_object_get(a->value, "version")));
                                } else {
                                        /* short form: the value is the version */
                                        json_object_set_new(o, "source", json_null());
                                        json_object_set_new(o, "version", str_or_null(a->value));
                                }
                                json_array_append_new(out, o);
                        }
                }
        }
}

static void add_fact(json_t *blocks, const char *kind, const struct hcl_block *b, const char *extra)
{
        char line[4096];
        int n = snprintf(line, sizeof(line), "%s", kind);

        for (size_t i = 0; i < b->n_labels && n >= 0 && (size_t)n < sizeof(line); i++)
                n += snprintf(line + n, sizeof(line) - (size_t)n, " %s", b->labels[i]);
        if (extra != NULL && n >= 0 && (size_t)n < sizeof(line))
                snprintf(line + n, sizeof(line) - (size_t)n, " %s", extra);
        json_array_append_new(blocks, json_string(line));
}

static void blocks(json_t *out, const struct hcl_body *body)
{
        for (size_t i = 0; i < body->n_blocks; i++) {
                const struct hcl_block *b = &body->blocks[i];
                const struct hcl_block *p = NULL;

                if (strcmp(b->type, "resource") != 0 && strcmp(b->type, "data") != 0 &&
                    strcmp(b->type, "module") != 0)
                        continue;
                add_fact(out, b->type, b, NULL);
                if (strcmp(b->type, "resource") != 0)
                        continue;
                while ((p = hcl_body_next_block(&b->body, "provisioner", p)) != NULL)
                        add_fact(out, "provisioner", b, p->n_labels ? p->labels[0] : "");
        }
}

static int cmp_json_str(const void *a, const void *b)
{
        return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

static int cmp_json_name(const void *a, const void *b)
{
        return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "name")),
                      json_string_value(json_object_get(*(json_t *const *)b, "name")));
}

/* a new array holding the elements of a sorted by cmp */
static json_t *sorted(json_t *a, int (*cmp)(const void *, const void *))
{
        size_t n = json_array_size(a);
        json_t **v = calloc(n + 1, sizeof(*v));
        json_t *r = json_array();

        if (v == NULL)
                abort();
        for (size_t i = 0; i < n; i++)
                v[i] = json_array_get(a, i);
        qsort(v, n, sizeof(*v), cmp);
        for (size_t i = 0; i < n; i++)
                json_array_append(r, v[i]);
        free(v);
        json_decref(a);
        return r;
}

int main(int argc, char **argv)
{
        json_t *all = json_object();

        for (int i = 1; i < argc; i++) {
                struct hcl_file *f = NULL;
                struct err e = ERR_INIT;
                json_t *o = json_object(), *rp = json_array(), *bl = json_array();

                if (hcl_parse_path(&f, argv[i], NULL, &e) < 0) {
                        json_object_set_new(o, "error", json_string(e.msg));
                        json_object_set_new(all, argv[i], o);
                        json_decref(rp);
                        json_decref(bl);
                        continue;
                }
                required_providers(rp, &f->body);
                blocks(bl, &f->body);
                json_object_set_new(o, "required_providers", sorted(rp, cmp_json_name));
                json_object_set_new(o, "blocks", sorted(bl, cmp_json_str));
                json_object_set_new(all, argv[i], o);
                hcl_file_free(f);
        }
        if (json_dumpf(all, stdout, JSON_INDENT(1) | JSON_SORT_KEYS) < 0)
                return 1;
        json_decref(all);
        return fputc('\n', stdout) == EOF ? 1 : 0;
}
