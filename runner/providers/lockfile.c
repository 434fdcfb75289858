/* lockfile.c - .terraform.lock.hcl on top of the HCL reader (see
 * lockfile.h).  The order of checks and the messages follow Terraform's
 * decodeLocksFromHCL / decodeProviderLockFromHCL. */
#include "lockfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "runner/hcl/hcl.h"
#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

static int at(struct err *err, const char *name, struct hcl_pos pos, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int at(struct err *err, const char *name, struct hcl_pos pos, const char *fmt, ...)
{
        char msg[ERR_MSG_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return err_set(err, 0, "%s:%u:%u: %s", name, pos.line, pos.col, msg);
}

static bool lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* What ParseProviderPart accepts, restricted to ASCII: letters, digits
 * and single dashes, not at either end.  *upper reports letters that
 * normalisation would lowercase. */
static bool valid_part(const char *p, size_t n, bool *upper)
{
        if (n == 0 || p[0] == '-' || p[n - 1] == '-')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = p[i];

                if (c >= 'A' && c <= 'Z')
                        *upper = true;
                else if (!lower_alnum(c) && !(c == '-' && p[i + 1] != '-'))
                        return false;
        }
        return true;
}

/* a hostname: dot-separated parts, optionally ":port" */
static bool valid_host(const char *p, size_t n, bool *upper)
{
        const char *colon = memchr(p, ':', n);
        size_t hn = colon ? (size_t)(colon - p) : n;

        if (colon != NULL) {
                size_t pn = n - hn - 1;

                if (pn == 0 || pn > 5)
                        return false;
                for (size_t i = hn + 1; i < n; i++)
                        if (p[i] < '0' || p[i] > '9')
                                return false;
        }
        for (size_t i = 0; i < hn;) {
                size_t j = i;

                while (j < hn && p[j] != '.')
                        j++;
                if (!valid_part(p + i, j - i, upper))
                        return false;
                i = j + 1;
                if (j + 1 == hn)        /* trailing dot */
                        return false;
        }
        return hn > 0;
}

static int check_address(const char *name, struct hcl_pos pos, const char *label, struct err *err)
{
        const char *parts[4];
        size_t lens[4], n = 0;
        bool upper = false;
        const char *p = label;

        for (;;) {
                const char *slash = strchr(p, '/');
                size_t len = slash ? (size_t)(slash - p) : strlen(p);

                if (n == 3)
                        return at(err, name, pos, "Invalid provider source address: \"%s\" must have the form hostname/namespace/type", label);
                parts[n] = p;
                lens[n++] = len;
                if (slash == NULL)
                        break;
                p = slash + 1;
        }
        for (size_t i = 0; i < n; i++) {
                bool ok = (n == 3 && i == 0) ? valid_host(parts[i], lens[i], &upper)
                                             : valid_part(parts[i], lens[i], &upper);
                if (!ok)
                        return at(err, name, pos, "Invalid provider source address: \"%s\" must have the form hostname/namespace/type", label);
        }
        if (n == 3 && strncmp(label, "terraform.io/builtin/", 21) == 0)
                return at(err, name, pos, "Invalid provider source address: cannot lock a version for built-in provider %s", label);
        if (n != 3 || upper)
                return at(err, name, pos,
                          "Non-normalized provider source address: \"%s\" must be written in the fully-qualified, lowercase form HOST/NAMESPACE/TYPE",
                          label);
        return 0;
}

static const char *attr_string(const struct hcl_attr *a)
{
        return a ? hcl_value_str(a->value) : NULL;
}

static int decode_version(struct lock_provider *lp, const char *name, const struct hcl_block *b,
                          struct err *err)
{
        const struct hcl_attr *a = hcl_body_attr(&b->body, "version");
        const char *raw = attr_string(a);
        char canon[2 * TFVER_EXTRA_MAX + 80];
        struct err e = ERR_INIT;

        if (a == NULL)
                return at(err, name, b->pos, "Missing required argument: a provider lock block must contain a \"version\" argument");
        if (raw == NULL || strlen(raw) != a->value->str_len)
                return at(err, name, a->value->pos, "Invalid provider version number: \"version\" must be a string");
        if (tfver_parse(&lp->v, raw, &e) < 0)
                return at(err, name, a->value->pos, "Invalid provider version number: %s", e.msg);
        tfver_format(canon, sizeof(canon), &lp->v);
        if (strcmp(canon, raw) != 0)
                return at(err, name, a->value->pos,
                          "Invalid provider version number: must be written in normalized form: \"%s\"", canon);
        lp->version = xstrdup(raw);
        lp->version_line = a->value->pos.line;
        return 0;
}

static int decode_constraints(struct lock_provider *lp, const char *name, const struct hcl_block *b,
                              struct err *err)
{
        const struct hcl_attr *a = hcl_body_attr(&b->body, "constraints");
        const char *raw = attr_string(a);
        _cleanup_free_ char *canon = NULL;
        struct err e = ERR_INIT;

        if (a == NULL)
                return 0;
        if (raw == NULL || strlen(raw) != a->value->str_len)
                return at(err, name, a->value->pos, "Invalid provider version constraints: \"constraints\" must be a string");
        if (tfcons_parse(&lp->cons, raw, &e) < 0)
                return at(err, name, a->value->pos, "Invalid provider version constraints: %s", e.msg);
        canon = tfcons_canonical(&lp->cons);
        if (strcmp(canon, raw) != 0)
                return at(err, name, a->value->pos,
                          "Invalid provider version constraints: must be written in normalized form: \"%s\"", canon);
        lp->constraints = xstrdup(raw);
        lp->constraints_line = a->value->pos.line;
        return 0;
}

static int decode_hashes(struct lock_provider *lp, const char *name, const struct hcl_block *b,
                         struct err *err)
{
        const struct hcl_attr *a = hcl_body_attr(&b->body, "hashes");
        const struct hcl_value *v;

        if (a == NULL)
                return 0;
        v = a->value;
        if (v->kind != HCL_LIST)
                return at(err, name, v->pos, "Invalid provider hash set: \"hashes\" must be a list of strings");
        if (v->n_items == 0)
                return at(err, name, v->pos,
                          "Invalid provider hash set: the \"hashes\" argument must either be omitted or contain at least one hash value");
        if (v->n_items > LOCK_MAX_HASHES)
                return at(err, name, v->pos, "Invalid provider hash set: too many hashes");
        lp->hashes = xcalloc(v->n_items, sizeof(*lp->hashes));
        for (size_t i = 0; i < v->n_items; i++) {
                const struct hcl_value *h = v->items[i];
                const char *s = hcl_value_str(h);
                const char *colon = s ? strchr(s, ':') : NULL;

                if (s == NULL || strlen(s) != h->str_len)
                        return at(err, name, h->pos, "Invalid provider hash string: each hash must be a string");
                if (colon == NULL || colon == s)
                        return at(err, name, h->pos,
                                  "Invalid provider hash string: cannot interpret \"%s\" as a provider hash: hash string must start with a scheme keyword followed by a colon",
                                  s);
                lp->hashes[lp->n_hashes].value = xstrdup(s);
                lp->hashes[lp->n_hashes].line = h->pos.line;
                lp->hashes[lp->n_hashes].col = h->pos.col;
                lp->n_hashes++;
        }
        return 0;
}

static void provider_clear(struct lock_provider *lp)
{
        free(lp->source);
        free(lp->version);
        free(lp->constraints);
        tfcons_free(&lp->cons);
        for (size_t i = 0; i < lp->n_hashes; i++)
                free(lp->hashes[i].value);
        free(lp->hashes);
}

static int decode_provider(struct lock_file *lf, const char *name, const struct hcl_block *b, struct err *err)
{
        struct lock_provider *lp;
        int r;

        if (b->n_labels == 0)
                return at(err, name, b->pos, "Missing name for provider: a provider block needs one label, its source address");
        if (b->n_labels > 1)
                return at(err, name, b->pos, "Extraneous label for provider: only one label, the source address, is expected");
        if ((r = check_address(name, b->pos, b->labels[0], err)) < 0)
                return r;
        for (size_t i = 0; i < b->body.n_attrs; i++) {
                const char *an = b->body.attrs[i].name;

                if (strcmp(an, "version") != 0 && strcmp(an, "constraints") != 0 && strcmp(an, "hashes") != 0)
                        return at(err, name, b->body.attrs[i].pos, "Unsupported argument: an argument named \"%s\" is not expected here", an);
        }
        if (b->body.n_blocks > 0)
                return at(err, name, b->body.blocks[0].pos, "Unsupported block type: blocks of type \"%s\" are not expected here",
                          b->body.blocks[0].type);
        if (lock_find(lf, b->labels[0]) != NULL)
                return at(err, name, b->pos, "Duplicate provider lock: this lock file already declared a lock for provider %s",
                          b->labels[0]);
        if (lf->n == LOCK_MAX_PROVIDERS)
                return at(err, name, b->pos, "too many provider blocks");
        lp = &lf->providers[lf->n];
        memset(lp, 0, sizeof(*lp));
        lp->source = xstrdup(b->labels[0]);
        lp->line = b->pos.line;
        lp->col = b->pos.col;
        lf->n++;        /* counted now, so a failure below frees it */
        if ((r = decode_version(lp, name, b, err)) < 0 || (r = decode_constraints(lp, name, b, err)) < 0 ||
            (r = decode_hashes(lp, name, b, err)) < 0)
                return r;
        return 0;
}

void lock_file_free(struct lock_file *f)
{
        if (f == NULL)
                return;
        for (size_t i = 0; i < f->n; i++)
                provider_clear(&f->providers[i]);
        free(f->providers);
        free(f->name);
        free(f);
}

const struct lock_provider *lock_find(const struct lock_file *f, const char *source)
{
        for (size_t i = 0; i < f->n; i++)
                if (strcmp(f->providers[i].source, source) == 0)
                        return &f->providers[i];
        return NULL;
}

static int decode_file(struct lock_file *lf, const struct hcl_file *hf, struct err *err)
{
        const char *name = lf->name;
        size_t n_prov = 0;

        if (hf->body.n_attrs > 0)
                return at(err, name, hf->body.attrs[0].pos, "Unsupported argument: an argument named \"%s\" is not expected here",
                          hf->body.attrs[0].name);
        for (size_t i = 0; i < hf->body.n_blocks; i++) {
                const char *t = hf->body.blocks[i].type;

                if (strcmp(t, "provider") == 0)
                        n_prov++;
                else if (strcmp(t, "module") != 0)      /* reserved, ignored */
                        return at(err, name, hf->body.blocks[i].pos,
                                  "Unsupported block type: blocks of type \"%s\" are not expected here", t);
        }
        lf->providers = xcalloc(n_prov ? (n_prov < LOCK_MAX_PROVIDERS ? n_prov : LOCK_MAX_PROVIDERS) : 1,
                                sizeof(*lf->providers));
        for (const struct hcl_block *b = hcl_body_next_block(&hf->body, "provider", NULL); b != NULL;
             b = hcl_body_next_block(&hf->body, "provider", b)) {
                int r = decode_provider(lf, name, b, err);

                if (r < 0)
                        return r;
        }
        return 0;
}

static int finish(struct lock_file **out, const char *name, struct hcl_file *hf, struct err *err)
{
        struct lock_file *lf = xcalloc(1, sizeof(*lf));
        int r;

        lf->name = xstrdup(name);
        r = decode_file(lf, hf, err);
        hcl_file_free(hf);
        if (r < 0) {
                lock_file_free(lf);
                return r;
        }
        *out = lf;
        return 0;
}

int lock_parse(struct lock_file **out, const char *name, const char *src, size_t len, struct err *err)
{
        struct hcl_file *hf = NULL;
        int r;

        *out = NULL;
        if ((r = hcl_parse(&hf, name, src, len, err)) < 0)
                return r;
        return finish(out, name, hf, err);
}

int lock_parse_path(struct lock_file **out, const char *path, struct err *err)
{
        struct hcl_file *hf = NULL;
        int r;

        *out = NULL;
        if ((r = hcl_parse_path(&hf, path, NULL, err)) < 0)
                return r;
        return finish(out, path, hf, err);
}
