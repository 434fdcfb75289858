/* override.c - the aws provider configurations of a root module, for the
 * override file (override.h). */
#include "override.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runner/gate/tfconfig.h"
#include "runner/hcl/hcl.h"
#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

struct alias_scan {
        const char *repo_real;          /* realpath of the repository */
        size_t repo_len;
        char **aliases;                 /* NULL-terminated */
        size_t n;
        struct err *err;
};

__attribute__((format(printf, 5, 6)))
static int bad_at(struct err *err, const char *file, uint32_t line, uint32_t col,
                  const char *fmt, ...)
{
        char msg[ERR_MSG_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        err_set(err, 0, "%s:%u:%u: %s", file, line, col, msg);
        if (err != NULL)
                err->code = -EBADMSG;
        return -EBADMSG;
}

/* s shown in a message: printable ASCII as is, anything else as \xNN, at
 * most 32 bytes of it; hostile text stays inert in logs */
static void quote_untrusted(char *out, size_t outsz, const char *s, size_t len)
{
        size_t o = 0;

        for (size_t i = 0; i < len && i < 32 && o + 5 < outsz; i++) {
                unsigned char c = (unsigned char)s[i];

                if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
                        out[o++] = (char)c;
                else
                        o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", c);
        }
        if (len > 32 && o + 4 < outsz) {
                memcpy(out + o, "...", 3);
                o += 3;
        }
        out[o] = '\0';
}

static bool has_suffix(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);

        return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* the files Terraform reads as configuration (hidden and editor files are
 * ignored by Terraform too) */
static int config_file_filter(const struct dirent *d)
{
        if (d->d_name[0] == '.' || d->d_name[0] == '#')
                return 0;
        return has_suffix(d->d_name, ".tf") || has_suffix(d->d_name, ".tf.json");
}

/* realpath of path, which must lie inside the repository; NULL with
 * *outside set when it does not */
static char *resolve_inside(const struct alias_scan *s, const char *path, bool *outside)
{
        char *real = realpath(path, NULL);

        *outside = false;
        if (real == NULL)
                return NULL;
        if (strncmp(real, s->repo_real, s->repo_len) != 0 ||
            (real[s->repo_len] != '\0' && real[s->repo_len] != '/')) {
                free(real);
                *outside = true;
                return NULL;
        }
        return real;
}

static int add_alias(struct alias_scan *s, const char *file, const struct hcl_attr *attr)
{
        const struct hcl_value *v = attr->value;
        char shown[160];

        /* Terraform evaluates alias without variables: only a literal
         * string can name a configuration */
        if (v->kind != HCL_STRING)
                return bad_at(s->err, file, v->pos.line, v->pos.col,
                              "provider \"aws\" alias is not a literal string");
        if (strlen(v->str) != v->str_len || !tfenv_alias_valid(v->str)) {
                quote_untrusted(shown, sizeof(shown), v->str, v->str_len);
                return bad_at(s->err, file, v->pos.line, v->pos.col,
                              "provider \"aws\" alias \"%s\" is not a Terraform identifier "
                              "(tfgate accepts ASCII letters, digits, '_' and '-', starting with "
                              "a letter or '_', at most %d bytes)", shown, TFENV_ALIAS_MAX);
        }
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->aliases[i], v->str) == 0)
                        return 0;       /* Terraform reports the duplicate itself */
        if (s->n >= OVERRIDE_MAX_ALIASES)
                return bad_at(s->err, file, v->pos.line, v->pos.col,
                              "more than %d aws provider aliases", OVERRIDE_MAX_ALIASES);
        s->aliases = xreallocarray(s->aliases, s->n + 2, sizeof(*s->aliases));
        s->aliases[s->n++] = xstrdup(v->str);
        s->aliases[s->n] = NULL;
        return 0;
}

static int scan_file(struct alias_scan *s, const char *path, const char *rel)
{
        _cleanup_(hcl_file_freep) struct hcl_file *f = NULL;
        const struct hcl_block *b = NULL;
        int r = hcl_parse_path(&f, path, rel, s->err);

        if (r < 0) {
                /* syntax and size are the repository's fault, reading ours */
                r = r == -EINVAL || r == -EFBIG ? -EBADMSG : r;
                if (s->err != NULL)
                        s->err->code = r;
                return r;
        }
        while ((b = hcl_body_next_block(&f->body, "provider", b)) != NULL) {
                const struct hcl_attr *alias;

                if (b->n_labels < 1 || strcmp(b->labels[0], "aws") != 0)
                        continue;
                alias = hcl_body_attr(&b->body, "alias");
                if (alias != NULL && (r = add_alias(s, rel, alias)) < 0)
                        return r;
        }
        return 0;
}

static char *rel_join(const char *root, const char *name)
{
        return strcmp(root, ".") == 0 ? xstrdup(name) : xasprintf("%s/%s", root, name);
}

static int scan_dir(struct alias_scan *s, const char *root)
{
        _cleanup_free_ char *dir_path = xasprintf("%s/%s", s->repo_real, root);
        _cleanup_free_ char *dir = NULL;
        struct dirent **ents = NULL;
        bool outside;
        int n, r = 0;

        dir = resolve_inside(s, dir_path, &outside);
        if (outside)
                return bad_at(s->err, root, 0, 0, "root directory resolves outside the repository");
        if (dir == NULL)
                return err_set(s->err, errno, "root %s", root);
        n = scandir(dir, &ents, config_file_filter, alphasort);
        if (n < 0)
                return err_set(s->err, errno, "%s", root);
        if (n > OVERRIDE_MAX_FILES)
                r = bad_at(s->err, root, 0, 0, "more than %d configuration files", OVERRIDE_MAX_FILES);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *rel = rel_join(root, ents[i]->d_name);
                _cleanup_free_ char *path = xasprintf("%s/%s", dir, ents[i]->d_name);
                _cleanup_free_ char *real = NULL;
                struct stat st;

                if (r < 0 || tfconfig_is_override_file(ents[i]->d_name))
                        goto next;
                real = resolve_inside(s, path, &outside);
                if (outside)
                        r = bad_at(s->err, rel, 1, 1, "symlink resolves outside the repository");
                else if (real == NULL || stat(real, &st) < 0)
                        r = err_set(s->err, errno, "%s", rel);
                else if (S_ISREG(st.st_mode))   /* Terraform reads files only */
                        r = scan_file(s, real, rel);
        next:
                free(ents[i]);
        }
        free(ents);
        return r;
}

int override_aws_aliases(char ***out, const char *repo, const char *root, struct err *err)
{
        _cleanup_free_ char *repo_real = realpath(repo, NULL);
        struct alias_scan s = { .err = err };
        int r;

        *out = NULL;
        if (repo_real == NULL)
                return err_set(err, errno, "%s", repo);
        s.repo_real = repo_real;
        s.repo_len = strlen(repo_real);
        s.aliases = xcalloc(1, sizeof(*s.aliases));
        r = scan_dir(&s, root != NULL && root[0] != '\0' ? root : ".");
        if (r < 0) {
                strv_free(s.aliases);
                return r;
        }
        *out = s.aliases;
        return 0;
}

int override_root_file(struct buf *out, const char *repo, const char *root,
                       const struct tfenv_override *o, struct err *err)
{
        _cleanup_strv_free_ char **aliases = NULL;
        struct tfenv_override with = *o;
        int r;

        with.aws_aliases = NULL;
        if (o->aws && o->emulator_port != 0) {
                r = override_aws_aliases(&aliases, repo, root, err);
                if (r < 0)
                        return r;
                with.aws_aliases = (const char *const *)aliases;
        }
        return tfenv_override_file(out, &with, err);
}
