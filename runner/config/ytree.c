/* ytree.c - libyaml events to a small line-numbered tree.
 *
 * The event API is used rather than libyaml's document loader because the
 * loader resolves aliases: a few hundred bytes of nested aliases ("billion
 * laughs") then describe a tree too large to walk.  Here an anchor, an alias
 * or a tag stops the parse with a clear message, nesting is capped at
 * YTREE_MAX_DEPTH and the node count at YTREE_MAX_NODES, and the tree is
 * freed on every error path. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <yaml.h>

#include "../util/cleanup.h"
#include "../util/xalloc.h"
#include "config_int.h"

struct builder {
        struct ynode *root;
        struct ynode *stack[YTREE_MAX_DEPTH];
        size_t depth;
        size_t nodes;
        unsigned documents;
};

void ytree_free(struct ynode *n)
{
        if (n == NULL)
                return;
        for (size_t i = 0; i < n->n; i++)
                ytree_free(n->kids[i]);
        free(n->kids);
        free(n->str);
        free(n);
}

static bool scalar_is_null(const yaml_event_t *ev)
{
        static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
        const char *v = (const char *)ev->data.scalar.value;

        if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return false;
        for (size_t i = 0; i < ARRAY_SIZE(nulls); i++)
                if (strcmp(v, nulls[i]) == 0)
                        return true;
        return false;
}

/* hang n under the innermost open collection (or make it the root) */
static void attach(struct builder *b, struct ynode *n)
{
        struct ynode *parent;

        if (b->depth == 0) {
                b->root = n;
                return;
        }
        parent = b->stack[b->depth - 1];
        if (parent->n == parent->cap) {
                parent->cap = parent->cap ? parent->cap * 2 : 4;
                parent->kids = xreallocarray(parent->kids, parent->cap, sizeof(*parent->kids));
        }
        parent->kids[parent->n++] = n;
}

static int new_node(struct builder *b, struct ynode **out, enum ynode_kind kind,
                    const yaml_event_t *ev, struct err *err)
{
        struct ynode *n = NULL;

        if (++b->nodes > YTREE_MAX_NODES)
                return err_set(err, E2BIG, "more than %d values; refusing to load", YTREE_MAX_NODES);
        n = xcalloc(1, sizeof(*n));
        n->kind = kind;
        n->line = ev->start_mark.line + 1;
        attach(b, n);
        *out = n;
        return 0;
}

/* anchors and tags are refused: aliases make loading unbounded, and tags
 * would let the file choose types the schema does not expect */
static int check_props(const yaml_char_t *anchor, const yaml_char_t *tag, struct err *err)
{
        if (anchor != NULL)
                return err_set(err, 0, "YAML anchors (&%s) are not supported: "
                               "write each value out in full", (const char *)anchor);
        if (tag != NULL)
                return err_set(err, 0, "YAML tags (%s) are not supported", (const char *)tag);
        return 0;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev, struct err *err)
{
        const char *v = (const char *)ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        struct ynode *n = NULL;
        int r;

        r = check_props(ev->data.scalar.anchor, ev->data.scalar.tag, err);
        if (r < 0)
                return r;
        if (memchr(v, '\0', len) != NULL)
                return err_set(err, 0, "a value contains a NUL character");
        r = new_node(b, &n, YN_SCALAR, ev, err);
        if (r < 0)
                return r;
        n->str = xmemdup(v, len + 1);
        n->null = scalar_is_null(ev);
        return 0;
}

static int on_start(struct builder *b, const yaml_event_t *ev, enum ynode_kind kind,
                    struct err *err)
{
        struct ynode *n = NULL;
        int r;

        if (kind == YN_MAP)
                r = check_props(ev->data.mapping_start.anchor, ev->data.mapping_start.tag, err);
        else
                r = check_props(ev->data.sequence_start.anchor, ev->data.sequence_start.tag, err);
        if (r < 0)
                return r;
        if (b->depth == YTREE_MAX_DEPTH)
                return err_set(err, 0, "nested more than %d levels deep", YTREE_MAX_DEPTH);
        r = new_node(b, &n, kind, ev, err);
        if (r < 0)
                return r;
        b->stack[b->depth++] = n;
        return 0;
}

/* one event; returns 1 at the end of the stream */
static int on_event(struct builder *b, const yaml_event_t *ev, struct err *err)
{
        switch (ev->type) {
        case YAML_STREAM_END_EVENT:
                return 1;
        case YAML_DOCUMENT_START_EVENT:
                if (b->documents++ > 0)
                        return err_set(err, 0, "a second YAML document (---): "
                                       "a configuration is one document");
                return 0;
        case YAML_ALIAS_EVENT:
                return err_set(err, 0, "YAML aliases (*%s) are not supported: "
                               "write each value out in full", (const char *)ev->data.alias.anchor);
        case YAML_SCALAR_EVENT:
                return on_scalar(b, ev, err);
        case YAML_SEQUENCE_START_EVENT:
                return on_start(b, ev, YN_SEQ, err);
        case YAML_MAPPING_START_EVENT:
                return on_start(b, ev, YN_MAP, err);
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
                if (b->depth > 0)
                        b->depth--;
                return 0;
        default:
                return 0;
        }
}

static size_t line_of_offset(const char *text, size_t len, size_t off)
{
        size_t line = 1;

        for (size_t i = 0; i < off && i < len; i++)
                if (text[i] == '\n')
                        line++;
        return line;
}

static int syntax_error(const yaml_parser_t *p, const char *text, size_t len, size_t *line,
                        struct err *err)
{
        const char *problem = p->problem ? p->problem : "malformed YAML";

        if (p->error == YAML_READER_ERROR) {
                /* the reader reports a byte offset, not a mark */
                *line = line_of_offset(text, len, p->problem_offset);
                return err_set(err, 0, "not valid UTF-8 text: %s", problem);
        }
        *line = p->problem_mark.line + 1;
        if (p->context != NULL)
                return err_set(err, 0, "YAML syntax error: %s (%s, line %zu)", problem,
                               p->context, p->context_mark.line + 1);
        return err_set(err, 0, "YAML syntax error: %s", problem);
}

int ytree_parse(struct ynode **out, const char *text, size_t len, size_t *line, struct err *err)
{
        struct builder b = { 0 };
        yaml_parser_t p;
        int r = 0;

        *out = NULL;
        *line = 0;
        if (!yaml_parser_initialize(&p))
                xalloc_die(sizeof(p));
        yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
        while (r == 0) {
                yaml_event_t ev;

                if (!yaml_parser_parse(&p, &ev)) {
                        r = syntax_error(&p, text, len, line, err);
                        break;
                }
                r = on_event(&b, &ev, err);
                if (r < 0)
                        *line = ev.start_mark.line + 1;
                yaml_event_delete(&ev);
        }
        yaml_parser_delete(&p);
        if (r < 0) {
                ytree_free(b.root);
                return r;
        }
        *out = b.root;
        return 0;
}
