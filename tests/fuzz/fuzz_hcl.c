/* fuzz_hcl.c - the HCL reader on arbitrary bytes: native syntax and, with
 * the same input, the JSON syntax.  Either parse succeeds and the tree is
 * walked (every accessor on every node), or it fails with a message that
 * names the file and a position. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner/hcl/hcl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk_value(const struct hcl_value *v, int depth)
{
        if (v == NULL || depth > HCL_MAX_DEPTH + 2)
                abort();
        if (v->text_len > 0 && v->text == NULL)
                abort();
        (void)hcl_value_str(v);
        (void)hcl_kind_name(v->kind);
        for (size_t i = 0; i < v->n_items; i++)
                walk_value(v->items[i], depth + 1);
        for (size_t i = 0; i < v->n_members; i++) {
                if (v->members[i].key == NULL)
                        abort();
                (void)hcl_object_get(v, v->members[i].key);
                walk_value(v->members[i].value, depth + 1);
        }
}

static void walk_body(const struct hcl_body *b, int depth)
{
        const struct hcl_block *blk = NULL;

        if (depth > HCL_MAX_DEPTH + 2)
                abort();
        for (size_t i = 0; i < b->n_attrs; i++) {
                if (hcl_body_attr(b, b->attrs[i].name) == NULL || b->attrs[i].pos.line == 0)
                        abort();
                walk_value(b->attrs[i].value, 0);
        }
        while ((blk = hcl_body_next_block(b, NULL, blk)) != NULL) {
                if (blk->labels == NULL || blk->labels[blk->n_labels] != NULL || blk->pos.line == 0)
                        abort();
                walk_body(&blk->body, depth + 1);
        }
}

static void one(int (*parse)(struct hcl_file **, const char *, const char *, size_t, struct err *),
                const uint8_t *data, size_t size)
{
        struct hcl_file *f = NULL;
        struct err err = ERR_INIT;

        if (parse(&f, "fuzz.tf", (const char *)data, size, &err) < 0) {
                /* every error names the file */
                if (f != NULL || strncmp(err.msg, "fuzz.tf", 7) != 0)
                        abort();
                return;
        }
        walk_body(&f->body, 0);
        hcl_file_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        one(hcl_parse, data, size);
        one(hcl_parse_json, data, size);
        return 0;
}
