/* inspect.c - the join of configuration, lock file, allowlist and mirror
 * (inspect.h), and the two renderings of its result. */
#include "inspect.h"

#include <stdint.h>
#include <stdio.h>
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

/* v as visible text: "\xNN" for a byte, "\uNNNN" for a C1 code point */
static size_t put_escape(char *o, char kind, unsigned v)
{
        static const char hex[] = "0123456789abcdef";
        size_t n = 0;

        o[n++] = '\\';
        o[n++] = kind;
        if (kind == 'u') {
                o[n++] = '0';
                o[n++] = '0';
        }
        o[n++] = hex[(v >> 4) & 0xf];
        o[n++] = hex[v & 0xf];
        return n;
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 if invalid (overlong,
 * surrogate, beyond U+10FFFF, truncated): the rules jansson enforces. */
static size_t utf8_seq(const unsigned char *s)
{
        unsigned c = s[0];

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                return (s[1] & 0xc0) == 0x80 ? 2 : 0;
        if (c >= 0xe0 && c <= 0xef) {
                if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
                        return 0;
                if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))
                        return 0;
                return 3;
        }
        if (c >= 0xf0 && c <= 0xf4) {
                if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
                        return 0;
                if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
                        return 0;
                return 4;
        }
        return 0;
}

char *gate_clean_line(const char *s, size_t max_cp)
{
        const unsigned char *p = (const unsigned char *)(s ? s : "");
        size_t len = strlen((const char *)p), cp = 0, o = 0, cut = SIZE_MAX;
        char *out = xmalloc(4 * len + 4);

        if (max_cp < 4)
                max_cp = 4;
        while (*p != '\0') {
                size_t n = utf8_seq(p), w, add;
                char tmp[8];

                /* C0, DEL and C1 controls (U+0080..U+009F; 0x9b is CSI on
                 * some terminals) and bytes that are not UTF-8 are escaped;
                 * escapes are ASCII, one code point per byte */
                if (n == 0) {
                        n = 1;
                        w = add = put_escape(tmp, 'x', p[0]);
                } else if (n == 1 && (p[0] < 0x20 || p[0] == 0x7f)) {
                        w = add = put_escape(tmp, 'x', p[0]);
                } else if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0) {
                        w = add = put_escape(tmp, 'u', p[1]);
                } else {
                        memcpy(tmp, p, n);
                        w = n;
                        add = 1;
                }
                if (cut == SIZE_MAX && cp + add > max_cp - 3)
                        cut = o;
                cp += add;
                memcpy(out + o, tmp, w);
                o += w;
                p += n;
        }
        if (cp > max_cp)
                o = cut + (size_t)snprintf(out + cut, 4, "...");
        out[o] = '\0';
        return out;
}

static json_t *clean_json(const char *s, size_t max_cp)
{
        _cleanup_free_ char *c = gate_clean_line(s, max_cp);

        return json_string(c);
}

/* all constraints of a provider as one Terraform constraint string (the
 * conjunction, as Terraform itself merges them), or null */
static json_t *constraints_json(char *const *v, size_t n)
{
        _cleanup_free_ char *joined = NULL;

        if (n == 0)
                return json_null();
        for (size_t i = 0; i < n; i++) {
                char *next = xasprintf("%s%s%s", joined ? joined : "", joined ? ", " : "", v[i]);

                free(joined);
                joined = next;
        }
        return clean_json(joined, GATE_JSON_MAX_CONSTRAINTS);
}

static json_t *provider_json(const struct gate_provider *p, size_t *cut_hashes)
{
        json_t *o = json_object(), *hashes = json_array();

        json_object_set_new(o, "root", clean_json(p->root, GATE_JSON_MAX_TEXT));
        json_object_set_new(o, "source", clean_json(p->source, GATE_JSON_MAX_SOURCE));
        json_object_set_new(o, "constraints", constraints_json(p->constraints, p->n_constraints));
        json_object_set_new(o, "locked_version",
                            p->locked_version ? clean_json(p->locked_version, GATE_JSON_MAX_VERSION)
                                              : json_null());
        for (size_t k = 0; k < p->n_hashes; k++) {
                if (k == GATE_JSON_MAX_HASHES) {
                        *cut_hashes += p->n_hashes - k;
                        break;
                }
                json_array_append_new(hashes, clean_json(p->hashes[k], GATE_JSON_MAX_HASH));
        }
        json_object_set_new(o, "hashes", hashes);
        json_object_set_new(o, "allowed", json_boolean(p->allowed));
        json_object_set_new(o, "mirror", json_string(gate_mirror_name(p->mirror)));
        if (p->unused)
                json_object_set_new(o, "unused", json_true());
        return o;
}

static json_t *finding_json(enum policy_action severity, const char *rule, const char *file,
                            uint32_t line, const char *message)
{
        json_t *o = json_object();

        json_object_set_new(o, "rule", json_string(rule));
        json_object_set_new(o, "severity", json_string(gate_severity_name(severity)));
        json_object_set_new(o, "file", file && file[0] ? clean_json(file, GATE_JSON_MAX_TEXT) : json_null());
        json_object_set_new(o, "line", line > 0 && line <= INT32_MAX ? json_integer(line) : json_null());
        json_object_set_new(o, "message", clean_json(message, GATE_JSON_MAX_TEXT));
        return o;
}

const char *gate_severity_name(enum policy_action a)
{
        return a == POLICY_WARN ? "warning" : "error";
}

json_t *gate_inspection_json(const struct gate_inspection *ins)
{
        json_t *root = json_object(), *roots = json_array(), *providers = json_array(),
               *findings = json_array();
        size_t n_prov = ins->n_providers, n_find = ins->findings.n, cut_hashes = 0;
        bool cut_error = false;

        for (size_t i = 0; i < ins->n_roots; i++)
                json_array_append_new(roots, clean_json(ins->roots[i], GATE_JSON_MAX_TEXT));
        if (n_prov > GATE_JSON_MAX_PROVIDERS)
                n_prov = GATE_JSON_MAX_PROVIDERS;
        for (size_t i = 0; i < n_prov; i++)
                json_array_append_new(providers, provider_json(&ins->providers[i], &cut_hashes));
        /* one slot is kept for the note that says what was left out */
        if (n_find > GATE_JSON_MAX_FINDINGS ||
            ((n_prov < ins->n_providers || cut_hashes > 0) && n_find == GATE_JSON_MAX_FINDINGS))
                n_find = GATE_JSON_MAX_FINDINGS - 1;
        for (size_t i = 0; i < ins->findings.n; i++) {
                const struct policy_finding *f = &ins->findings.v[i];

                if (i >= n_find) {
                        cut_error |= f->severity == POLICY_ERROR;
                        continue;
                }
                json_array_append_new(findings, finding_json(f->severity, policy_rule_id(f->rule), f->file,
                                                             f->line, f->message));
        }
        if (n_find < ins->findings.n || n_prov < ins->n_providers || cut_hashes > 0) {
                _cleanup_free_ char *msg = xasprintf(
                        "result limits: %zu more finding(s), %zu more provider row(s) and %zu more "
                        "hash(es) are not listed (the verdict counts them all)",
                        ins->findings.n - n_find, ins->n_providers - n_prov, cut_hashes);

                json_array_append_new(findings, finding_json(cut_error ? POLICY_ERROR : POLICY_WARN,
                                                             GATE_RULE_TRUNCATED, NULL, 0, msg));
        }
        json_object_set_new(root, "roots", roots);
        json_object_set_new(root, "providers", providers);
        json_object_set_new(root, "findings", findings);
        return root;
}

void gate_inspection_print(const struct gate_inspection *ins, FILE *f)
{
        bool roots = ins->n_roots > 1;

        if (roots)
                fprintf(f, "%-16s ", "ROOT");
        fprintf(f, "%-44s %-22s %-10s %-7s %-8s %s\n", "PROVIDER", "CONSTRAINTS", "LOCKED", "HASHES",
                "ALLOWED", "MIRROR");
        for (size_t i = 0; i < ins->n_providers; i++) {
                const struct gate_provider *p = &ins->providers[i];
                json_t *cj = constraints_json(p->constraints, p->n_constraints);
                _cleanup_free_ char *src = gate_clean_line(p->source, GATE_JSON_MAX_SOURCE);
                _cleanup_free_ char *ver = gate_clean_line(p->locked_version ? p->locked_version : "-",
                                                           GATE_JSON_MAX_VERSION);

                if (roots) {
                        _cleanup_free_ char *root = gate_clean_line(p->root, GATE_JSON_MAX_TEXT);

                        fprintf(f, "%-16s ", root);
                }
                fprintf(f, "%-44s %-22s %-10s %-7zu %-8s %s%s\n", src,
                        json_is_string(cj) ? json_string_value(cj) : "-", ver, p->n_hashes,
                        p->unused ? "-" : p->allowed ? "yes" : "no", gate_mirror_name(p->mirror),
                        p->unused ? "  (note: in the lock file but not required)" : "");
                json_decref(cj);
        }
        if (ins->findings.n == 0) {
                fprintf(f, "\nno findings\n");
                return;
        }
        fprintf(f, "\n");
        for (size_t i = 0; i < ins->findings.n; i++) {
                const struct policy_finding *x = &ins->findings.v[i];
                _cleanup_free_ char *file = gate_clean_line(x->file, GATE_JSON_MAX_TEXT);
                _cleanup_free_ char *msg = gate_clean_line(x->message, GATE_JSON_MAX_TEXT);

                if (x->line > 0)
                        fprintf(f, "%s:%u: ", file, x->line);
                else
                        fprintf(f, "%s: ", file);
                fprintf(f, "%s [%s] %s\n", gate_severity_name(x->severity), policy_rule_id(x->rule), msg);
        }
        fprintf(f, "\n%zu error(s), %zu warning(s)\n", ins->findings.n_errors, ins->findings.n_warnings);
}
