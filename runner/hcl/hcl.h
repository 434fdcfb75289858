/* hcl.h - a reader for the HCL native syntax that Terraform files use, and
 * for Terraform's JSON syntax (.tf.json, via jansson).
 *
 * The reader finds blocks and attributes reliably; it does not evaluate.
 * Literal values are decoded (strings without templates, numbers, bools,
 * null, and lists / objects whose elements are themselves decoded); any
 * other expression (references, function calls, operators, for
 * expressions, conditionals, templates with ${} or %{}) is kept as its
 * source text with kind HCL_EXPR.  Every block, attribute, value and object
 * member carries the 1-based line and column (in bytes) where it starts.
 *
 * Untrusted input: files larger than HCL_MAX_FILE_SIZE, nesting deeper than
 * HCL_MAX_DEPTH and more than HCL_MAX_NODES values are refused with an
 * error, never a crash; errors read "NAME:LINE:COL: message", e.g.
 *     main.tf:12:5: unterminated string
 * Nothing partial is returned: on failure *out stays NULL.
 *
 * Ownership: hcl_parse*() returns one struct hcl_file that owns everything
 * reachable from it; free it with hcl_file_free().  All pointers handed out
 * by the accessors below are borrowed from the file. */
#ifndef TFGATE_HCL_H
#define TFGATE_HCL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/err.h"

#define HCL_MAX_FILE_SIZE ((size_t)4 << 20)   /* bytes per file */
#define HCL_MAX_DEPTH 64                      /* nested blocks, brackets, templates */
#define HCL_MAX_NODES ((size_t)1 << 18)       /* values + attributes + blocks per file */

enum hcl_kind {
        HCL_NULL = 0,
        HCL_BOOL,
        HCL_NUMBER,
        HCL_STRING,     /* a literal string or heredoc without ${} / %{} */
        HCL_LIST,       /* [ ... ] or a JSON array */
        HCL_OBJECT,     /* { k = v, k: v } or a JSON object */
        HCL_EXPR,       /* anything else: kept as source text only */
};

struct hcl_pos {
        uint32_t line;  /* 1-based */
        uint32_t col;   /* 1-based, in bytes */
};

struct hcl_value;

/* an object member; key is the decoded key (identifier or string literal)
 * or, for a computed key like (var.k), its source text */
struct hcl_member {
        char *key;
        struct hcl_pos pos;             /* of the key */
        struct hcl_value *value;
};

struct hcl_value {
        enum hcl_kind kind;
        struct hcl_pos pos;
        /* The expression as written.  Native syntax: a slice of the
         * source, trimmed.  JSON: a string's (template's) content, a
         * scalar's JSON text, "" for arrays and objects.  NOT
         * NUL-terminated: use text_len. */
        const char *text;
        size_t text_len;
        /* HCL_STRING: the decoded string, NUL-terminated; str_len excludes
         * the NUL (the string may itself contain NUL bytes from \u0000) */
        char *str;
        size_t str_len;
        double number;                  /* HCL_NUMBER */
        bool boolean;                   /* HCL_BOOL */
        struct hcl_value **items;       /* HCL_LIST */
        size_t n_items;
        struct hcl_member *members;     /* HCL_OBJECT, in source order */
        size_t n_members;
        char *owned_text_;              /* private: storage behind text for JSON */
};

struct hcl_attr {
        char *name;
        struct hcl_pos pos;             /* of the name */
        struct hcl_value *value;
};

struct hcl_block;

/* attributes and nested blocks, each in source order; attribute names are
 * unique within a body (a redefinition is a parse error, as in Terraform) */
struct hcl_body {
        struct hcl_attr *attrs;
        size_t n_attrs;
        struct hcl_block *blocks;
        size_t n_blocks;
};

struct hcl_block {
        char *type;                     /* "resource", "provisioner", ... */
        char **labels;                  /* decoded labels, NULL-terminated */
        size_t n_labels;
        struct hcl_pos pos;             /* of the type keyword */
        struct hcl_body body;
};

struct hcl_file {
        char *name;                     /* as given, used in messages */
        bool json;                      /* parsed from the JSON syntax */
        char *src;                      /* a private copy of the source */
        size_t src_len;
        struct hcl_body body;
};

/* Native syntax.  name is used in positions and messages only. */
int hcl_parse(struct hcl_file **out, const char *name, const char *src, size_t len,
              struct err *err);

/* Terraform's JSON syntax (https://developer.hashicorp.com/terraform/language/syntax/json).
 * JSON has no schema of its own, so block structure is recovered from a
 * table of the block types Terraform defines: top level terraform, provider,
 * resource, data, module, variable, output, locals, moved, import, removed,
 * check; inside terraform: required_providers, backend, cloud; inside
 * resource / data: provisioner, connection, lifecycle.  Any other property is
 * an attribute.  Bodies may be objects or arrays of objects; "//" comment
 * properties are skipped.  Duplicate property names are an error. */
int hcl_parse_json(struct hcl_file **out, const char *name, const char *src, size_t len,
                   struct err *err);

/* Read path (at most HCL_MAX_FILE_SIZE bytes, not following a final
 * symlink) and parse it as JSON when its name ends in ".json", else as
 * native syntax.  name (NULL = path) is used in messages. */
int hcl_parse_path(struct hcl_file **out, const char *path, const char *name,
                   struct err *err);

void hcl_file_free(struct hcl_file *f);
static inline void hcl_file_freep(struct hcl_file **f)
{
        hcl_file_free(*f);
}

/* the attribute called name, or NULL */
const struct hcl_attr *hcl_body_attr(const struct hcl_body *b, const char *name);
/* iterate the blocks of one type: pass prev = NULL for the first, then the
 * previous result; NULL at the end.  type NULL matches every block. */
const struct hcl_block *hcl_body_next_block(const struct hcl_body *b, const char *type,
                                            const struct hcl_block *prev);

/* the decoded string of an HCL_STRING value, else NULL (also for NULL v) */
const char *hcl_value_str(const struct hcl_value *v);
/* the member value of an HCL_OBJECT, else NULL */
const struct hcl_value *hcl_object_get(const struct hcl_value *v, const char *key);
const char *hcl_kind_name(enum hcl_kind k);

#endif
