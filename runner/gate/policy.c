/* policy.c - rule ids, actions, and the table of construct rules. */
#include "policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/cleanup.h"
#include "../util/xalloc.h"

/* the ids are the config's policy keys: one table, in runner/config */
const char *policy_rule_id(enum policy_rule r)
{
        return (unsigned)r < RULE__COUNT ? policy_rule_name(r) : NULL;
}

enum policy_action policy_default_action(enum policy_rule r)
{
        /* the runner replaces any backend with a local one, so a backend
         * block is worth knowing about but not worth refusing */
        return r == RULE_BACKEND_REMOTE ? POLICY_WARN : POLICY_ERROR;
}

const char *policy_action_name(enum policy_action a)
{
        return a == POLICY_WARN ? "warn" : "error";
}

void policy_add(struct policy_findings *fs, const struct cfg_providers *pol, enum policy_rule rule,
                const char *file, uint32_t line, const char *fmt, ...)
{
        struct policy_finding *f;
        va_list ap;
        char *msg;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                xalloc_die(0);
        va_end(ap);
        if (fs->n == fs->cap) {
                fs->cap = fs->cap ? 2 * fs->cap : 16;
                fs->v = xreallocarray(fs->v, fs->cap, sizeof(*fs->v));
        }
        f = &fs->v[fs->n++];
        f->rule = rule;
        f->severity = pol ? pol->policy[rule] : policy_default_action(rule);
        f->file = xstrdup(file ? file : "");
        f->line = line;
        f->message = msg;
        if (f->severity == POLICY_ERROR)
                fs->n_errors++;
        else
                fs->n_warnings++;
}

/* A construct rule: items of one kind, optionally one name (or any name
 * but one), optionally one module-source class. */
struct construct_rule {
        enum policy_rule rule;
        enum tfc_kind kind;
        const char *name;               /* NULL = any */
        const char *except;             /* NULL = none */
        int mod;                        /* -1 = any, else enum tfc_module_source */
        const char *fmt;                /* %s = the item's name, then its value */
};

static const struct construct_rule construct_rules[] = {
        { RULE_PROVISIONER_LOCAL_EXEC, TFC_PROVISIONER, "local-exec", NULL, -1,
          "provisioner \"%s\" runs a command on the runner host at apply time%.0s" },
        { RULE_PROVISIONER_REMOTE_EXEC, TFC_PROVISIONER, "remote-exec", NULL, -1,
          "provisioner \"%s\" runs commands over a connection at apply time%.0s" },
        /* "file" copies runner files to a remote host over the same kind
         * of connection, so it falls under the remote rule */
        { RULE_PROVISIONER_REMOTE_EXEC, TFC_PROVISIONER, "file", NULL, -1,
          "provisioner \"%s\" copies files over a connection at apply time%.0s" },
        { RULE_DATA_EXTERNAL, TFC_DATA_SOURCE, "external", NULL, -1,
          "data \"%s\" runs a program at plan time%.0s" },
        { RULE_DATA_HTTP, TFC_DATA_SOURCE, "http", NULL, -1,
          "data \"%s\" makes an HTTP request at plan time%.0s" },
        { RULE_MODULE_REMOTE_SOURCE, TFC_MODULE, NULL, NULL, TFC_MOD_REMOTE,
          "module \"%s\" has a remote source \"%s\" (only local modules inside the repository are allowed)" },
        { RULE_MODULE_REMOTE_SOURCE, TFC_MODULE, NULL, NULL, TFC_MOD_ESCAPES,
          "module \"%s\": local source \"%s\" resolves outside the repository" },
        { RULE_MODULE_REMOTE_SOURCE, TFC_MODULE, NULL, NULL, TFC_MOD_NOT_LITERAL,
          "module \"%s\": source %s is not a literal string" },
        { RULE_MODULE_REMOTE_SOURCE, TFC_MODULE, NULL, NULL, TFC_MOD_TOO_DEEP,
          "module \"%s\": local source \"%s\" nests modules deeper than the gate reads" },
        { RULE_OVERRIDE_FILE, TFC_OVERRIDE_FILE, NULL, NULL, -1,
          "override file %s would be merged over the configuration the runner prepares%.0s" },
        { RULE_BACKEND_REMOTE, TFC_BACKEND, NULL, "local", -1,
          "backend \"%s\" is replaced by a local backend on the runner%.0s" },
        { RULE_BACKEND_REMOTE, TFC_CLOUD, NULL, NULL, -1,
          "%s block (HCP Terraform) is replaced by a local backend on the runner%.0s" },
};

static bool rule_matches(const struct construct_rule *cr, const struct tfc_item *it)
{
        if (cr->kind != it->kind)
                return false;
        if (cr->name != NULL && (it->name == NULL || strcmp(cr->name, it->name) != 0))
                return false;
        if (cr->except != NULL && it->name != NULL && strcmp(cr->except, it->name) == 0)
                return false;
        return cr->mod < 0 || (int)it->mod == cr->mod;
}

void policy_check_constructs(struct policy_findings *fs, const struct tfconfig *tc,
                             const struct cfg_providers *pol)
{
        for (size_t i = 0; i < tc->n_items; i++) {
                const struct tfc_item *it = &tc->items[i];

                for (size_t k = 0; k < ARRAY_SIZE(construct_rules); k++) {
                        const struct construct_rule *cr = &construct_rules[k];

                        if (!rule_matches(cr, it))
                                continue;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
                        policy_add(fs, pol, cr->rule, it->loc.file, it->loc.line, cr->fmt,
                                   it->name ? it->name : "", it->value ? it->value : "");
#pragma GCC diagnostic pop
                }
        }
}

static int cmp_finding(const void *a, const void *b)
{
        const struct policy_finding *x = a, *y = b;
        int c = strcmp(x->file, y->file);

        if (c != 0)
                return c;
        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        if (x->rule != y->rule)
                return x->rule < y->rule ? -1 : 1;
        return strcmp(x->message, y->message);
}

void policy_findings_sort(struct policy_findings *fs)
{
        if (fs->n > 1)
                qsort(fs->v, fs->n, sizeof(*fs->v), cmp_finding);
}

void policy_findings_dedup(struct policy_findings *fs)
{
        size_t w = 0;

        for (size_t i = 0; i < fs->n; i++) {
                struct policy_finding *f = &fs->v[i];

                if (w > 0 && cmp_finding(&fs->v[w - 1], f) == 0 && fs->v[w - 1].severity == f->severity) {
                        if (f->severity == POLICY_ERROR)
                                fs->n_errors--;
                        else
                                fs->n_warnings--;
                        free(f->file);
                        free(f->message);
                        continue;
                }
                fs->v[w++] = *f;
        }
        fs->n = w;
}

void policy_findings_free(struct policy_findings *fs)
{
        for (size_t i = 0; i < fs->n; i++) {
                free(fs->v[i].file);
                free(fs->v[i].message);
        }
        free(fs->v);
        memset(fs, 0, sizeof(*fs));
}
