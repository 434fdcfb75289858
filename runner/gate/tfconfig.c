/* tfconfig.c - extraction of Terraform configuration facts (tfconfig.h).
 *
 * One module directory at a time: every *.tf / *.tf.json file is parsed
 * first, so the module's required_providers (which give local names their
 * sources) are known before resource types and provider blocks are mapped
 * to providers, as Terraform does.  Local module calls are queued and read
 * afterwards, depth-first, with the bounds of tfconfig.h. */
#include "tfconfig.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../hcl/hcl.h"
#include "../util/cleanup.h"
#include "../util/xalloc.h"

struct local_name {
        char *name;
        char *source;
};

struct loader {
        char *repo;                     /* realpath of the repository */
        size_t repo_len;
        const char *host;
        struct tfconfig *c;
        size_t cap_items, cap_providers, cap_dirs;
        struct err *err;
};

/* ---- small helpers -------------------------------------------------- */

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
        if (n < *cap)
                return p;
        *cap = *cap ? 2 * *cap : 8;
        return xreallocarray(p, *cap, size);
}

static bool has_suffix(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);

        return n >= m && strcmp(s + n - m, suffix) == 0;
}

bool tfconfig_is_override_file(const char *name)
{
        static const char *const names[] = {
                "override.tf", "override.tf.json",
        };
        static const char *const suffixes[] = {
                "_override.tf", "_override.tf.json",
        };

        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                if (strcmp(name, names[i]) == 0)
                        return true;
        for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++)
                if (has_suffix(name, suffixes[i]))
                        return true;
        return false;
}

const char *tfconfig_default_host(const char *binary)
{
        const char *base;

        if (binary == NULL)
                return TFCONFIG_HOST_TERRAFORM;
        base = strrchr(binary, '/');
        base = base ? base + 1 : binary;
        return strcmp(base, "tofu") == 0 ? TFCONFIG_HOST_OPENTOFU : TFCONFIG_HOST_TERRAFORM;
}

static bool part_ok(const char *s, size_t n, bool host)
{
        if (n == 0 || n > 255)
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];

                if (!(isalnum(c) || c == '-' || c == '_' || (host && (c == '.' || c == ':'))))
                        return false;
        }
        return true;
}

int tfconfig_normalise_source(char **out, const char *source, const char *default_host,
                              struct err *err)
{
        const char *parts[3];
        size_t lens[3], n = 0;
        const char *p = source;
        char *r;

        *out = NULL;
        for (;;) {
                const char *slash = strchr(p, '/');
                size_t len = slash ? (size_t)(slash - p) : strlen(p);

                if (n == 3)
                        return err_set(err, 0, "invalid provider source \"%s\": more than three parts", source);
                parts[n] = p;
                lens[n++] = len;
                if (slash == NULL)
                        break;
                p = slash + 1;
        }
        for (size_t i = 0; i < n; i++)
                if (!part_ok(parts[i], lens[i], n == 3 && i == 0))
                        return err_set(err, 0, "invalid provider source \"%s\"", source);
        if (n == 1)
                r = xasprintf("%s/hashicorp/%.*s", default_host, (int)lens[0], parts[0]);
        else if (n == 2)
                r = xasprintf("%s/%.*s/%.*s", default_host, (int)lens[0], parts[0], (int)lens[1], parts[1]);
        else
                r = xasprintf("%.*s/%.*s/%.*s", (int)lens[0], parts[0], (int)lens[1], parts[1],
                              (int)lens[2], parts[2]);
        for (char *q = r; *q; q++)
                *q = (char)tolower((unsigned char)*q);
        *out = r;
        return 0;
}

__attribute__((format(printf, 5, 6)))
static int bad_at(struct loader *l, const char *file, uint32_t line, uint32_t col, const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        err_set(l->err, 0, "%s:%u:%u: %s", file, line, col, msg);
        if (l->err)
                l->err->code = -EBADMSG;
        return -EBADMSG;
}

static struct tfc_item *add_item(struct loader *l, enum tfc_kind kind, const char *name,
                                 const char *value, const char *file, struct hcl_pos pos)
{
        struct tfconfig *c = l->c;
        struct tfc_item *it;

        c->items = grow(c->items, &l->cap_items, c->n_items, sizeof(*c->items));
        it = &c->items[c->n_items++];
        memset(it, 0, sizeof(*it));
        it->kind = kind;
        it->name = name ? xstrdup(name) : NULL;
        it->value = value ? xstrdup(value) : NULL;
        it->loc.file = xstrdup(file);
        it->loc.line = pos.line;
        it->loc.col = pos.col;
        return it;
}

static struct tfc_provider *provider_use(struct loader *l, const char *source, const char *file,
                                         struct hcl_pos pos, bool declared)
{
        struct tfconfig *c = l->c;
        struct tfc_provider *p;

        for (size_t i = 0; i < c->n_providers; i++) {
                p = &c->providers[i];
                if (strcmp(p->source, source) == 0) {
                        if (declared && !p->declared) {
                                /* a declaration is the better place to point at */
                                p->declared = true;
                                free(p->loc.file);
                                p->loc.file = xstrdup(file);
                                p->loc.line = pos.line;
                                p->loc.col = pos.col;
                        }
                        return p;
                }
        }
        c->providers = grow(c->providers, &l->cap_providers, c->n_providers, sizeof(*c->providers));
        p = &c->providers[c->n_providers++];
        memset(p, 0, sizeof(*p));
        p->source = xstrdup(source);
        p->constraints = xcalloc(1, sizeof(char *));
        p->declared = declared;
        p->loc.file = xstrdup(file);
        p->loc.line = pos.line;
        p->loc.col = pos.col;
        return p;
}

static void provider_constraint(struct tfc_provider *p, const char *constraint)
{
        for (size_t i = 0; i < p->n_constraints; i++)
                if (strcmp(p->constraints[i], constraint) == 0)
                        return;
        p->constraints = xreallocarray(p->constraints, p->n_constraints + 2, sizeof(char *));
        p->constraints[p->n_constraints++] = xstrdup(constraint);
        p->constraints[p->n_constraints] = NULL;
}

/* ---- one module directory ------------------------------------------- */

struct module_ctx {
        char *dir;                      /* relative to the repository */
        struct hcl_file **files;
        char **names;                   /* relative file names */
        size_t n_files;
        struct local_name *locals;
        size_t n_locals;
};

static void module_ctx_free(struct module_ctx *m)
{
        for (size_t i = 0; i < m->n_files; i++) {
                hcl_file_free(m->files[i]);
                free(m->names[i]);
        }
        free(m->files);
        free(m->names);
        for (size_t i = 0; i < m->n_locals; i++) {
                free(m->locals[i].name);
                free(m->locals[i].source);
        }
        free(m->locals);
        free(m->dir);
}

static const char *local_source(const struct module_ctx *m, const char *name)
{
        for (size_t i = 0; i < m->n_locals; i++)
                if (strcmp(m->locals[i].name, name) == 0)
                        return m->locals[i].source;
        return NULL;
}

static char *rel_join(const char *dir, const char *name)
{
        if (strcmp(dir, ".") == 0)
                return xstrdup(name);
        return xasprintf("%s/%s", dir, name);
}

/* realpath of repo/rel; its path relative to the repository in *rel_out,
 * or -EBADMSG-worthy 1 when it lies outside */
static int resolve_inside(struct loader *l, const char *rel, char **rel_out, char **abs_out)
{
        _cleanup_free_ char *joined = xasprintf("%s/%s", l->repo, rel);
        char *real = realpath(joined, NULL);

        *rel_out = NULL;
        if (real == NULL)
                return -errno;
        if (strncmp(real, l->repo, l->repo_len) != 0 ||
            (real[l->repo_len] != '\0' && real[l->repo_len] != '/')) {
                free(real);
                return 1;
        }
        *rel_out = xstrdup(real[l->repo_len] ? real + l->repo_len + 1 : ".");
        if (abs_out)
                *abs_out = real;
        else
                free(real);
        return 0;
}

static int tf_file_filter(const struct dirent *d)
{
        if (d->d_name[0] == '.' || d->d_name[0] == '#')
                return 0;
        return has_suffix(d->d_name, ".tf") || has_suffix(d->d_name, ".tf.json");
}

static int read_files(struct loader *l, struct module_ctx *m)
{
        _cleanup_free_ char *abs = xasprintf("%s/%s", l->repo, m->dir);
        struct dirent **ents = NULL;
        int n, r = 0;

        n = scandir(abs, &ents, tf_file_filter, alphasort);
        if (n < 0)
                return err_set(l->err, errno, "%s", m->dir);
        m->files = xcalloc((size_t)n + 1, sizeof(*m->files));
        m->names = xcalloc((size_t)n + 1, sizeof(*m->names));
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *rel = rel_join(m->dir, ents[i]->d_name);
                _cleanup_free_ char *real_rel = NULL, *real_abs = NULL;
                struct hcl_file *f = NULL;
                struct stat st;
                int q;

                if (r < 0)
                        goto next;
                q = resolve_inside(l, rel, &real_rel, &real_abs);
                if (q == 1) {
                        r = bad_at(l, rel, 1, 1, "symlink resolves outside the repository");
                        goto next;
                }
                if (q < 0 || stat(real_abs, &st) < 0) {
                        r = err_set(l->err, q < 0 ? -q : errno, "%s", rel);
                        goto next;
                }
                if (!S_ISREG(st.st_mode))
                        goto next;      /* Terraform reads files only */
                if (++l->c->n_files > TFCONFIG_MAX_FILES) {
                        r = bad_at(l, rel, 1, 1, "more than %d configuration files", TFCONFIG_MAX_FILES);
                        goto next;
                }
                q = hcl_parse_path(&f, real_abs, rel, l->err);
                if (q < 0) {
                        /* syntax errors are the repository's fault, read errors ours */
                        r = q == -EINVAL || q == -EFBIG ? -EBADMSG : q;
                        if (l->err)
                                l->err->code = r;
                        goto next;
                }
                m->files[m->n_files] = f;
                m->names[m->n_files++] = TAKE_PTR(rel);
        next:
                free(ents[i]);
        }
        free(ents);
        return r;
}

/* required_providers of one file: local names and declared providers */
static int read_required_providers(struct loader *l, struct module_ctx *m, const char *file,
                                   const struct hcl_block *rp)
{
        for (size_t i = 0; i < rp->body.n_attrs; i++) {
                const struct hcl_attr *a = &rp->body.attrs[i];
                const struct hcl_value *v = a->value;
                _cleanup_free_ char *norm = NULL;
                const char *src = a->name, *version = NULL;
                struct tfc_provider *p;
                struct err e = ERR_INIT;

                if (v->kind == HCL_STRING) {
                        version = v->str;               /* short form: aws = "~> 5.0" */
                } else if (v->kind == HCL_OBJECT) {
                        const struct hcl_value *s = hcl_object_get(v, "source");
                        const struct hcl_value *ver = hcl_object_get(v, "version");

                        if (s != NULL && s->kind != HCL_STRING)
                                return bad_at(l, file, s->pos.line, s->pos.col,
                                              "required_providers.%s.source must be a literal string", a->name);
                        if (ver != NULL && ver->kind != HCL_STRING)
                                return bad_at(l, file, ver->pos.line, ver->pos.col,
                                              "required_providers.%s.version must be a literal string", a->name);
                        if (s != NULL)
                                src = s->str;
                        if (ver != NULL)
                                version = ver->str;
                } else {
                        return bad_at(l, file, v->pos.line, v->pos.col,
                                      "required_providers.%s: expected a version string or an object", a->name);
                }
                if (tfconfig_normalise_source(&norm, src, l->host, &e) < 0)
                        return bad_at(l, file, a->pos.line, a->pos.col, "%s", e.msg);
                if (local_source(m, a->name) == NULL) {
                        m->locals = xreallocarray(m->locals, m->n_locals + 1, sizeof(*m->locals));
                        m->locals[m->n_locals].name = xstrdup(a->name);
                        m->locals[m->n_locals++].source = xstrdup(norm);
                }
                p = provider_use(l, norm, file, a->pos, true);
                if (version != NULL && version[0] != '\0')
                        provider_constraint(p, version);
        }
        return 0;
}

static int read_terraform_block(struct loader *l, struct module_ctx *m, const char *file,
                                const struct hcl_block *tf)
{
        const struct hcl_block *b = NULL;
        const struct hcl_attr *rv = hcl_body_attr(&tf->body, "required_version");
        int r;

        if (rv != NULL) {
                _cleanup_free_ char *text = rv->value->kind == HCL_STRING ? xstrdup(rv->value->str)
                        : xstrndup(rv->value->text, rv->value->text_len);

                add_item(l, TFC_REQUIRED_VERSION, NULL, text, file, rv->pos);
        }
        while ((b = hcl_body_next_block(&tf->body, "required_providers", b)) != NULL)
                if ((r = read_required_providers(l, m, file, b)) < 0)
                        return r;
        while ((b = hcl_body_next_block(&tf->body, "backend", b)) != NULL)
                add_item(l, TFC_BACKEND, b->n_labels ? b->labels[0] : "", NULL, file, b->pos);
        while ((b = hcl_body_next_block(&tf->body, "cloud", b)) != NULL)
                add_item(l, TFC_CLOUD, "cloud", NULL, file, b->pos);
        return 0;
}

/* the provider a resource, data source or provider block belongs to:
 * the module's local name, else the legacy hashicorp/NAME */
static int use_local_name(struct loader *l, struct module_ctx *m, const char *file,
                          struct hcl_pos pos, const char *local, struct tfc_provider **out)
{
        _cleanup_free_ char *norm = NULL;
        const char *src = local_source(m, local);
        struct err e = ERR_INIT;

        *out = NULL;
        /* terraform_data, terraform_remote_state: the built-in provider */
        if (src == NULL && strcmp(local, "terraform") == 0)
                return 0;
        if (src == NULL) {
                if (tfconfig_normalise_source(&norm, local, l->host, &e) < 0)
                        return bad_at(l, file, pos.line, pos.col, "%s", e.msg);
                src = norm;
        }
        *out = provider_use(l, src, file, pos, false);
        return 0;
}

/* the local name of a resource: its provider meta-argument ("aws.west"),
 * else the type's prefix before the first '_' */
static char *resource_local_name(const struct hcl_block *b)
{
        const struct hcl_attr *pa = hcl_body_attr(&b->body, "provider");
        const char *type = b->n_labels ? b->labels[0] : "";

        if (pa != NULL) {
                const char *t = pa->value->kind == HCL_STRING ? pa->value->str : pa->value->text;
                size_t n = pa->value->kind == HCL_STRING ? pa->value->str_len : pa->value->text_len;
                const char *dot = memchr(t, '.', n);

                return xstrndup(t, dot ? (size_t)(dot - t) : n);
        }
        return xstrndup(type, strcspn(type, "_"));
}

static int read_resource(struct loader *l, struct module_ctx *m, const char *file,
                         const struct hcl_block *b, bool data)
{
        _cleanup_free_ char *local = resource_local_name(b);
        const struct hcl_block *pv = NULL;
        struct tfc_provider *p;
        int r;

        if (local[0] != '\0' && (r = use_local_name(l, m, file, b->pos, local, &p)) < 0)
                return r;
        if (data)
                add_item(l, TFC_DATA_SOURCE, b->n_labels ? b->labels[0] : "", NULL, file, b->pos);
        while ((pv = hcl_body_next_block(&b->body, "provisioner", pv)) != NULL)
                add_item(l, TFC_PROVISIONER, pv->n_labels ? pv->labels[0] : "", NULL, file, pv->pos);
        return 0;
}

static int read_provider_block(struct loader *l, struct module_ctx *m, const char *file,
                               const struct hcl_block *b)
{
        const char *local = b->n_labels ? b->labels[0] : "";
        const struct hcl_attr *ver = hcl_body_attr(&b->body, "version");
        struct tfc_provider *p = NULL;
        int r;

        if ((r = use_local_name(l, m, file, b->pos, local, &p)) < 0)
                return r;
        add_item(l, TFC_PROVIDER_BLOCK, local, p ? p->source : NULL, file, b->pos);
        /* the deprecated version argument still constrains the provider */
        if (p != NULL && ver != NULL && ver->value->kind == HCL_STRING && ver->value->str[0])
                provider_constraint(p, ver->value->str);
        return 0;
}

struct pending_module {
        char *dir;
        int depth;
};

struct module_queue {
        struct pending_module *v;
        size_t n, cap;
};

static bool is_local_source(const char *s)
{
        static const char *const prefixes[] = { "./", "../", ".\\", "..\\" };

        for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
                if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0)
                        return true;
        return false;
}

static int read_module_call(struct loader *l, struct module_ctx *m, const char *file,
                            const struct hcl_block *b, int depth, struct module_queue *q)
{
        const struct hcl_attr *sa = hcl_body_attr(&b->body, "source");
        const char *name = b->n_labels ? b->labels[0] : "";
        _cleanup_free_ char *path = NULL, *rel = NULL;
        struct tfc_item *it;
        int r;

        if (sa == NULL)
                return bad_at(l, file, b->pos.line, b->pos.col, "module \"%s\" has no source", name);
        if (sa->value->kind != HCL_STRING) {
                _cleanup_free_ char *text = xstrndup(sa->value->text, sa->value->text_len);

                it = add_item(l, TFC_MODULE, name, text, file, sa->pos);
                it->mod = TFC_MOD_NOT_LITERAL;
                return 0;
        }
        it = add_item(l, TFC_MODULE, name, sa->value->str, file, sa->pos);
        if (!is_local_source(sa->value->str)) {
                it->mod = TFC_MOD_REMOTE;
                return 0;
        }
        path = xasprintf("%s/%s", m->dir, sa->value->str);
        for (char *c = path; *c; c++)
                if (*c == '\\')
                        *c = '/';
        r = resolve_inside(l, path, &rel, NULL);
        if (r == 1) {
                it->mod = TFC_MOD_ESCAPES;
                return 0;
        }
        if (r < 0)
                return bad_at(l, file, sa->pos.line, sa->pos.col, "module \"%s\": local source \"%s\": %s",
                              name, sa->value->str, strerror(-r));
        if (depth + 1 > TFCONFIG_MAX_MODULE_DEPTH) {
                it->mod = TFC_MOD_TOO_DEEP;
                return 0;
        }
        it->mod = TFC_MOD_LOCAL;
        q->v = grow(q->v, &q->cap, q->n, sizeof(*q->v));
        q->v[q->n].dir = TAKE_PTR(rel);
        q->v[q->n++].depth = depth + 1;
        return 0;
}

static bool dir_seen(const struct tfconfig *c, const char *rel)
{
        for (size_t i = 0; i < c->n_dirs; i++)
                if (strcmp(c->dirs[i], rel) == 0)
                        return true;
        return false;
}

static int read_module(struct loader *l, const char *rel, int depth, struct module_queue *q)
{
        struct module_ctx m = { .dir = xstrdup(rel) };
        int r;

        l->c->dirs = grow(l->c->dirs, &l->cap_dirs, l->c->n_dirs + 1, sizeof(char *));
        l->c->dirs[l->c->n_dirs++] = xstrdup(rel);
        l->c->dirs[l->c->n_dirs] = NULL;
        if ((r = read_files(l, &m)) < 0)
                goto out;
        /* pass 1: local names, so pass 2 can map resource types */
        for (size_t i = 0; i < m.n_files; i++) {
                const struct hcl_block *b = NULL;

                while ((b = hcl_body_next_block(&m.files[i]->body, "terraform", b)) != NULL)
                        if ((r = read_terraform_block(l, &m, m.names[i], b)) < 0)
                                goto out;
        }
        for (size_t i = 0; i < m.n_files; i++) {
                const struct hcl_body *body = &m.files[i]->body;
                const char *file = m.names[i];
                const char *base = strrchr(file, '/');

                if (tfconfig_is_override_file(base ? base + 1 : file))
                        add_item(l, TFC_OVERRIDE_FILE, base ? base + 1 : file, NULL, file,
                                 (struct hcl_pos){ 1, 1 });
                for (size_t k = 0; k < body->n_blocks; k++) {
                        const struct hcl_block *b = &body->blocks[k];

                        if (strcmp(b->type, "resource") == 0 || strcmp(b->type, "ephemeral") == 0)
                                r = read_resource(l, &m, file, b, false);
                        else if (strcmp(b->type, "data") == 0)
                                r = read_resource(l, &m, file, b, true);
                        else if (strcmp(b->type, "removed") == 0)
                                r = read_resource(l, &m, file, b, false);
                        else if (strcmp(b->type, "provider") == 0)
                                r = read_provider_block(l, &m, file, b);
                        else if (strcmp(b->type, "module") == 0)
                                r = read_module_call(l, &m, file, b, depth, q);
                        else
                                r = 0;
                        if (r < 0)
                                goto out;
                }
        }
out:
        module_ctx_free(&m);
        return r;
}

static int cmp_provider(const void *a, const void *b)
{
        return strcmp(((const struct tfc_provider *)a)->source, ((const struct tfc_provider *)b)->source);
}

static int load_root(struct loader *l, const char *root)
{
        struct module_queue q = { 0 };
        _cleanup_free_ char *rel = NULL;
        int r;

        r = resolve_inside(l, root, &rel, NULL);
        if (r == 1)
                return bad_at(l, root, 0, 0, "root directory resolves outside the repository");
        /* a configured root the repository lacks is the repository's
         * problem (a finding), not an I/O failure of the runner */
        if (r == -ENOENT || r == -ENOTDIR)
                return bad_at(l, root, 0, 0, "root directory does not exist in the repository");
        if (r < 0)
                return err_set(l->err, -r, "root %s", root);
        q.v = grow(q.v, &q.cap, 0, sizeof(*q.v));
        q.v[q.n].dir = TAKE_PTR(rel);
        q.v[q.n++].depth = 0;
        /* depth-first over a stack of pending module directories */
        while (q.n > 0 && r >= 0) {
                struct pending_module pm = q.v[--q.n];

                if (!dir_seen(l->c, pm.dir)) {
                        if (l->c->n_dirs >= TFCONFIG_MAX_DIRS)
                                r = bad_at(l, pm.dir, 0, 0, "more than %d module directories", TFCONFIG_MAX_DIRS);
                        else
                                r = read_module(l, pm.dir, pm.depth, &q);
                }
                free(pm.dir);
        }
        for (size_t i = 0; i < q.n; i++)
                free(q.v[i].dir);
        free(q.v);
        return r;
}

int tfconfig_load(struct tfconfig **out, const char *repo, char *const *roots, size_t n_roots,
                  const char *default_host, struct err *err)
{
        _cleanup_(tfconfig_freep) struct tfconfig *c = xcalloc(1, sizeof(*c));
        struct loader l = { .c = c, .host = default_host ? default_host : TFCONFIG_HOST_TERRAFORM, .err = err };
        static char *const dot[] = { ".", NULL };
        int r = 0;

        *out = NULL;
        if (roots == NULL || n_roots == 0) {
                roots = dot;
                n_roots = 1;
        }
        l.repo = realpath(repo, NULL);
        if (l.repo == NULL)
                return err_set(err, errno, "%s", repo);
        l.repo_len = strlen(l.repo);
        if (l.repo_len == 1)
                l.repo_len = 0;         /* "/" as the repository: every path is inside */
        c->roots = xcalloc(n_roots + 1, sizeof(char *));
        c->dirs = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < n_roots && r >= 0; i++) {
                c->roots[c->n_roots++] = xstrdup(roots[i]);
                r = load_root(&l, roots[i]);
        }
        free(l.repo);
        if (r < 0)
                return r;
        qsort(c->providers, c->n_providers, sizeof(*c->providers), cmp_provider);
        *out = TAKE_PTR(c);
        return 0;
}

void tfconfig_free(struct tfconfig *c)
{
        if (c == NULL)
                return;
        strv_free(c->roots);
        strv_free(c->dirs);
        for (size_t i = 0; i < c->n_items; i++) {
                free(c->items[i].name);
                free(c->items[i].value);
                free(c->items[i].loc.file);
        }
        free(c->items);
        for (size_t i = 0; i < c->n_providers; i++) {
                free(c->providers[i].source);
                strv_free(c->providers[i].constraints);
                free(c->providers[i].loc.file);
        }
        free(c->providers);
        free(c);
}
