/* config_int.h - private to runner/config (not part of its interface; other
 * modules include config.h only).
 *
 * The loader works in two passes: ytree_parse() turns the YAML text into a
 * small tree of scalars, mappings and sequences that remembers each node's
 * line, refusing anchors, aliases, tags and more than one document; the
 * schema walk in config.c then visits that tree once, table-driven, and
 * collects every error.  The validators here are pure functions shared by
 * the walk and the tests of this module. */
#ifndef TFGATE_CONFIG_INT_H
#define TFGATE_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/err.h"

/* bounds that keep a hostile or broken file from costing much */
#define CONFIG_MAX_BYTES (1u << 20)
#define YTREE_MAX_DEPTH 32
#define YTREE_MAX_NODES 200000

enum ynode_kind { YN_SCALAR = 0, YN_MAP, YN_SEQ };

struct ynode {
        enum ynode_kind kind;
        bool null;               /* plain scalar "", "~", "null", "Null", "NULL" */
        size_t line;             /* 1-based line where the node starts */
        char *str;               /* scalar text; never holds a NUL byte */
        struct ynode **kids;     /* map: key, value, key, value...; seq: items */
        size_t n;                /* number of kids (a map has 2 per entry) */
        size_t cap;
};

/* Parse one YAML document.  *out is NULL for a stream with no document (an
 * empty file, or only comments).  On failure returns negative, sets *line to
 * the 1-based line of the problem and err to a message without the line. */
int ytree_parse(struct ynode **out, const char *text, size_t len, size_t *line, struct err *err);
void ytree_free(struct ynode *n);

/* Validators: NULL when s is acceptable, else a static message saying what
 * was expected (the caller appends the offending value). */
const char *cfgv_forge_url(const char *s);   /* https, or http to loopback */
const char *cfgv_public_url(const char *s);  /* http(s), any host */
const char *cfgv_listen(const char *s);      /* HOST:PORT, [V6]:PORT */
const char *cfgv_repository(const char *s);  /* owner/name */
const char *cfgv_identifier(const char *s);  /* [A-Za-z_][A-Za-z0-9_]* */
const char *cfgv_rel_path(const char *s);    /* relative, no "..", not empty */
const char *cfgv_versions(const char *s);    /* Terraform version constraints */
const char *cfgv_forge_name(const char *s);  /* [a-z0-9_-], at most 64 */
const char *cfgv_health(const char *s);      /* "/path" or "tcp" */

/* Provider source address to HOST/NAMESPACE/TYPE, lowercased, with
 * registry.terraform.io added to NAMESPACE/TYPE.  NULL and *why set when
 * the address is malformed. */
char *cfgv_provider_source(const char *s, const char **why);

/* true when an environment variable of this name is likely to hold a secret
 * (*SECRET*, *TOKEN*, *PASSWORD*, *PASSWD*, *KEY*, *CREDENTIAL*, *AUTH*) */
bool cfgv_env_is_secret(const char *name);

#endif
