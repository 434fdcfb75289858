/* inspect.c - the join of configuration, lock file, allowlist and mirror
 * (inspect.h), and the two renderings of its result. */
#include "inspect.h"

#include <stdlib.h>
#include <string.h>

#include "../providers/constraint.h"
#include "../util/cleanup.h"
#include "../util/xalloc.h"

const char *gate_mirror_name(enum gate_mirror m)
{
        static const char *const names[] = {
                [GATE_MIRROR_NOT_CONFIGURED] = "not-configured",
                [GATE_MIRROR_VERIFIED] = "verified",
                [GATE_MIRROR_MISSING] = "missing",
                [GATE_MIRROR_MISMATCH] = "mismatch",
        };

        return (unsigned)m < ARRAY_SIZE(names) ? names[m] : "?";
}

struct gate_inspection *gate_inspection_new(void)
{
        struct gate_inspection *ins = xcalloc(1, sizeof(*ins));

        ins->roots = xcalloc(1, sizeof(char *));
        return ins;
}

void gate_inspection_free(struct gate_inspection *ins)
{
        if (ins == NULL)
                return;
        strv_free(ins->roots);
        for (size_t i = 0; i < ins->n_providers; i++) {
                struct gate_provider *p = &ins->providers[i];

                free(p->root);
                free(p->source);
                strv_free(p->constraints);
                free(p->locked_version);
                strv_free(p->hashes);
                free(p->file);
        }
        free(ins->providers);
        policy_findings_free(&ins->findings);
        free(ins);
}

bool gate_inspection_passed(const struct gate_inspection *ins)
{
        return ins->findings.n_errors == 0;
}

static char **strv_copy(const char *const *v, size_t n)
{
        char **r = xcalloc(n + 1, sizeof(char *));

        for (size_t i = 0; i < n; i++)
                r[i] = xstrdup(v[i]);
        return r;
}

static struct gate_provider *add_row(struct gate_inspection *ins, const char *root, const char *source)
{
        struct gate_provider *p;

        ins->providers = xreallocarray(ins->providers, ins->n_providers + 1, sizeof(*ins->providers));
        p = &ins->providers[ins->n_providers++];
        memset(p, 0, sizeof(*p));
        p->root = xstrdup(root);
        p->source = xstrdup(source);
        return p;
}

static const struct cfg_allow *allow_find(const struct cfg_providers *pol, const char *source)
{
        for (size_t i = 0; i < pol->n_allow; i++)
                if (pol->allow[i].source != NULL && strcmp(pol->allow[i].source, source) == 0)
                        return &pol->allow[i];
        return NULL;
}

static const struct gate_lock_entry *lock_entry_find(const struct gate_lock *lock, const char *source)
{
        for (size_t i = 0; lock->present && i < lock->n_entries; i++)
                if (strcmp(lock->entries[i].source, source) == 0)
                        return &lock->entries[i];
        return NULL;
}

/* Does version v satisfy constraint text c?  1 yes, 0 no, <0 c or v does
 * not parse (message in err). */
static int satisfies(const char *c, const struct tfver *v, struct err *err)
{
        _cleanup_(tfcons_freep) struct tfcons cons = { 0 };
        int r = tfcons_parse(&cons, c, err);

        if (r < 0)
                return r;
        return tfcons_allows(&cons, v) ? 1 : 0;
}

static void check_required(struct gate_inspection *ins, const char *root, const struct tfc_provider *tp,
                           const struct gate_lock *lock, const struct config *cfg,
                           gate_mirror_fn mirror, void *mctx)
{
        const struct cfg_providers *pol = &cfg->providers;
        struct policy_findings *fs = &ins->findings;
        const struct gate_lock_entry *le = lock_entry_find(lock, tp->source);
        const struct cfg_allow *al = allow_find(pol, tp->source);
        struct gate_provider *row = add_row(ins, root, tp->source);
        const char *file = tp->loc.file;
        uint32_t line = tp->loc.line;
        struct tfver v;
        struct err e = ERR_INIT;
        bool version_ok = true;

        row->constraints = strv_copy((const char *const *)tp->constraints, tp->n_constraints);
        row->n_constraints = tp->n_constraints;
        row->file = xstrdup(file);
        row->line = line;
        row->hashes = xcalloc(1, sizeof(char *));
        if (al == NULL)
                policy_add(fs, pol, RULE_PROVIDER_NOT_ALLOWED, file, line,
                           "provider %s is not in the allowlist", tp->source);
        if (!lock->present) {
                policy_add(fs, pol, RULE_LOCK_MISSING, file, line,
                           "provider %s: %s is missing (run terraform init and commit it)",
                           tp->source, lock->file);
                return;
        }
        if (le == NULL) {
                policy_add(fs, pol, RULE_LOCK_MISSING, file, line,
                           "provider %s is not in %s", tp->source, lock->file);
                return;
        }
        row->locked_version = xstrdup(le->version);
        strv_free(row->hashes);
        row->hashes = strv_copy(le->hashes, le->n_hashes);
        row->n_hashes = le->n_hashes;
        if (tfver_parse(&v, le->version, &e) < 0) {
                policy_add(fs, pol, RULE_LOCK_MISSING, lock->file, le->line,
                           "provider %s: locked version \"%s\" is not a version: %s",
                           tp->source, le->version, e.msg);
                return;
        }
        for (size_t i = 0; i < tp->n_constraints; i++) {
                int r = satisfies(tp->constraints[i], &v, &e);

                if (r < 0)
                        policy_add(fs, pol, RULE_LOCK_MISSING, file, line,
                                   "provider %s: %s", tp->source, e.msg);
                else if (r == 0)
                        policy_add(fs, pol, RULE_LOCK_MISSING, file, line,
                                   "provider %s: locked version %s does not satisfy the constraint \"%s\"",
                                   tp->source, le->version, tp->constraints[i]);
                if (r <= 0)
                        version_ok = false;
        }
        if (al != NULL && al->versions != NULL) {
                int r = satisfies(al->versions, &v, &e);

                if (r <= 0) {
                        policy_add(fs, pol, RULE_PROVIDER_NOT_ALLOWED, lock->file, le->line,
                                   "provider %s: locked version %s is outside the allowlist's \"%s\"%s%s",
                                   tp->source, le->version, al->versions, r < 0 ? ": " : "",
                                   r < 0 ? e.msg : "");
                        al = NULL;
                }
        }
        row->allowed = al != NULL && version_ok;
        if (le->n_hashes == 0)
                policy_add(fs, pol, RULE_PROVIDER_UNPINNED, lock->file, le->line,
                           "provider %s %s: the lock entry has no hashes", tp->source, le->version);
        if (pol->mirror == NULL || mirror == NULL) {
                row->mirror = GATE_MIRROR_NOT_CONFIGURED;
                return;
        }
        {
                _cleanup_free_ char *detail = NULL;

                row->mirror = mirror(mctx, tp->source, le->version, le->hashes, le->n_hashes, &detail);
                if (row->mirror == GATE_MIRROR_MISSING)
                        policy_add(fs, pol, RULE_MIRROR_MISSING, lock->file, le->line,
                                   "provider %s %s is not in the mirror%s%s", tp->source, le->version,
                                   detail ? ": " : "", detail ? detail : "");
                else if (row->mirror == GATE_MIRROR_MISMATCH)
                        policy_add(fs, pol, RULE_HASH_MISMATCH, lock->file, le->line,
                                   "provider %s %s: the mirror's package matches none of the locked hashes%s%s",
                                   tp->source, le->version, detail ? ": " : "", detail ? detail : "");
        }
}

static bool required(const struct tfconfig *tc, const char *source)
{
        for (size_t i = 0; i < tc->n_providers; i++)
                if (strcmp(tc->providers[i].source, source) == 0)
                        return true;
        return false;
}

int gate_evaluate(struct gate_inspection *ins, const char *root, const struct tfconfig *tc,
                  const struct gate_lock *lock, const struct config *cfg,
                  gate_mirror_fn mirror, void *mirror_ctx, struct err *err)
{
        ins->roots = xreallocarray(ins->roots, ins->n_roots + 2, sizeof(char *));
        ins->roots[ins->n_roots++] = xstrdup(root);
        ins->roots[ins->n_roots] = NULL;
        policy_check_constructs(&ins->findings, tc, &cfg->providers);
        for (size_t i = 0; i < tc->n_providers; i++)
                check_required(ins, root, &tc->providers[i], lock, cfg, mirror, mirror_ctx);
        for (size_t i = 0; lock->present && i < lock->n_entries; i++) {
                const struct gate_lock_entry *le = &lock->entries[i];
                struct gate_provider *row;

                if (required(tc, le->source))
                        continue;
                row = add_row(ins, root, le->source);
                row->unused = true;
                row->constraints = xcalloc(1, sizeof(char *));
                row->locked_version = xstrdup(le->version);
                row->hashes = strv_copy(le->hashes, le->n_hashes);
                row->n_hashes = le->n_hashes;
                row->file = xstrdup(lock->file);
                row->line = le->line;
        }
        policy_findings_sort(&ins->findings);
        return 0;
}

/* ---- rendering ------------------------------------------------------ */

static json_t *strv_json(char *const *v, size_t n)
{
        json_t *a = json_array();

        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, json_string(v[i]));
        return a;
}

json_t *gate_inspection_json(const struct gate_inspection *ins)
{
        json_t *root = json_object(), *providers = json_array(), *findings = json_array();

        json_object_set_new(root, "roots", strv_json(ins->roots, ins->n_roots));
        for (size_t i = 0; i < ins->n_providers; i++) {
                const struct gate_provider *p = &ins->providers[i];
                json_t *o = json_object();

                json_object_set_new(o, "root", json_string(p->root));
                json_object_set_new(o, "source", json_string(p->source));
                json_object_set_new(o, "constraints", strv_json(p->constraints, p->n_constraints));
                json_object_set_new(o, "locked_version",
                                    p->locked_version ? json_string(p->locked_version) : json_null());
                json_object_set_new(o, "hashes", strv_json(p->hashes, p->n_hashes));
                json_object_set_new(o, "allowed", json_boolean(p->allowed));
                json_object_set_new(o, "mirror", json_string(gate_mirror_name(p->mirror)));
                if (p->unused)
                        json_object_set_new(o, "unused", json_true());
                json_array_append_new(providers, o);
        }
        for (size_t i = 0; i < ins->findings.n; i++) {
                const struct policy_finding *f = &ins->findings.v[i];
                json_t *o = json_object();

                json_object_set_new(o, "rule", json_string(policy_rule_id(f->rule)));
                json_object_set_new(o, "severity", json_string(policy_action_name(f->severity)));
                json_object_set_new(o, "file", json_string(f->file));
                json_object_set_new(o, "line", json_integer(f->line));
                json_object_set_new(o, "message", json_string(f->message));
                json_array_append_new(findings, o);
        }
        json_object_set_new(root, "providers", providers);
        json_object_set_new(root, "findings", findings);
        return root;
}

void gate_inspection_print(const struct gate_inspection *ins, FILE *f)
{
        fprintf(f, "%-44s %-22s %-10s %-7s %-8s %s\n", "PROVIDER", "CONSTRAINTS", "LOCKED", "HASHES",
                "ALLOWED", "MIRROR");
        for (size_t i = 0; i < ins->n_providers; i++) {
                const struct gate_provider *p = &ins->providers[i];
                char cons[256] = "";
                size_t used = 0;

                for (size_t k = 0; k < p->n_constraints && used < sizeof(cons); k++) {
                        int n = snprintf(cons + used, sizeof(cons) - used, "%s%s", k ? "; " : "",
                                         p->constraints[k]);
                        if (n < 0)
                                break;
                        used += (size_t)n;
                }
                fprintf(f, "%-44s %-22s %-10s %-7zu %-8s %s%s\n", p->source, cons[0] ? cons : "-",
                        p->locked_version ? p->locked_version : "-", p->n_hashes,
                        p->unused ? "-" : p->allowed ? "yes" : "no", gate_mirror_name(p->mirror),
                        p->unused ? "  (note: in the lock file but not required)" : "");
        }
        if (ins->findings.n == 0) {
                fprintf(f, "\nno findings\n");
                return;
        }
        fprintf(f, "\n");
        for (size_t i = 0; i < ins->findings.n; i++) {
                const struct policy_finding *x = &ins->findings.v[i];

                fprintf(f, "%s:%u: %s [%s] %s\n", x->file, x->line, policy_action_name(x->severity),
                        policy_rule_id(x->rule), x->message);
        }
        fprintf(f, "\n%zu error(s), %zu warning(s)\n", ins->findings.n_errors, ins->findings.n_warnings);
}
