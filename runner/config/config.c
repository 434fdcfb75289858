/* config.c - loading the configuration: built-in defaults, the schema as
 * tables of keys, one walk over the YAML tree that collects every error as
 * "FILE:LINE: key.path: message", the checks that span several keys, and
 * config_free().
 *
 * Ownership: the walk fills a freshly allocated struct config; every string
 * in it is owned by it, and a setter frees the value it replaces (defaults
 * included).  When any error was collected the whole struct is freed and
 * nothing is returned, so a caller never sees a half-loaded config. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/cleanup.h"
#include "../util/fileio.h"
#include "../util/units.h"
#include "../util/xalloc.h"
#include "config.h"
#include "config_int.h"

#define MAX_ERRORS 64
#define SHOW_MAX 64            /* characters of a value quoted in a message */

/* ---- the loader's state and its error list ---------------------------- */

struct ld {
        const char *name;          /* file name as given, for messages */
        const char *base_dir;      /* relative paths resolve here; NULL keeps them */
        char **errors;             /* NULL-terminated */
        size_t *lines;             /* of each error, to sort them at the end */
        size_t n_errors;
        bool capped;
        char *path;                /* current key path, "forges[1].url" */
        size_t path_len, path_cap;
};

/* Quote s for a message: escapes, and at most SHOW_MAX characters, never
 * cutting a UTF-8 sequence.  Keys and values come from the file and may
 * hold anything libyaml accepts. */
static void show(char *out, size_t n, const char *s)
{
        size_t o = 0, i = 0;

        for (; i < SHOW_MAX && s[i] != '\0' && o + 8 < n; i++) {
                unsigned char ch = (unsigned char)s[i];

                if (ch == '"' || ch == '\\') {
                        out[o++] = '\\';
                        out[o++] = (char)ch;
                } else if (ch < 0x20 || ch == 0x7f) {
                        o += (size_t)snprintf(out + o, n - o, "\\x%02x", ch);
                } else {
                        out[o++] = (char)ch;
                }
        }
        if (s[i] != '\0') {
                while (o > 0 && ((unsigned char)out[o - 1] & 0xc0) == 0x80)
                        o--;
                if (o > 0 && ((unsigned char)out[o - 1] & 0xc0) == 0xc0)
                        o--;
                if (o + 4 <= n) {
                        memcpy(out + o, "...", 3);
                        o += 3;
                }
        }
        out[o] = '\0';
}

#define SHOW_BUF (SHOW_MAX * 4 + 16)

static void ld_add(struct ld *ld, size_t line, char *msg)
{
        ld->errors = xreallocarray(ld->errors, ld->n_errors + 2, sizeof(*ld->errors));
        ld->lines = xreallocarray(ld->lines, ld->n_errors + 1, sizeof(*ld->lines));
        ld->lines[ld->n_errors] = line;
        ld->errors[ld->n_errors++] = msg;
        ld->errors[ld->n_errors] = NULL;
}

__attribute__((format(printf, 3, 4)))
static void ld_error(struct ld *ld, size_t line, const char *fmt, ...)
{
        char msg[ERR_MSG_MAX];
        char where[64] = "";
        va_list ap;

        if (ld->capped)
                return;
        if (ld->n_errors == MAX_ERRORS) {
                ld_add(ld, SIZE_MAX, xasprintf("%s: more than %d errors; stopping here", ld->name,
                                               MAX_ERRORS));
                ld->capped = true;
                return;
        }
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (line > 0)
                snprintf(where, sizeof(where), ":%zu", line);
        if (ld->path_len > 0)
                ld_add(ld, line, xasprintf("%s%s: %s: %s", ld->name, where, ld->path, msg));
        else
                ld_add(ld, line, xasprintf("%s%s: %s", ld->name, where, msg));
}

static void path_append(struct ld *ld, const char *s)
{
        size_t n = strlen(s);

        if (ld->path_len + n + 1 > ld->path_cap) {
                ld->path_cap = (ld->path_len + n + 1) * 2;
                ld->path = xrealloc(ld->path, ld->path_cap);
        }
        memcpy(ld->path + ld->path_len, s, n + 1);
        ld->path_len += n;
}

/* push ".key" (or "key" at the top); returns what path_pop() restores */
static size_t path_push_key(struct ld *ld, const char *key)
{
        size_t saved = ld->path_len;
        char shown[SHOW_BUF];

        show(shown, sizeof(shown), key);
        if (saved > 0)
                path_append(ld, ".");
        path_append(ld, shown);
        return saved;
}

static size_t path_push_index(struct ld *ld, size_t i)
{
        size_t saved = ld->path_len;
        char idx[32];

        snprintf(idx, sizeof(idx), "[%zu]", i);
        path_append(ld, idx);
        return saved;
}

static void path_pop(struct ld *ld, size_t saved)
{
        ld->path_len = saved;
        if (ld->path != NULL)
                ld->path[saved] = '\0';
}

/* ---- reading values ---------------------------------------------------- */

static const char *kind_name(const struct ynode *v)
{
        if (v->kind == YN_MAP)
                return "a mapping";
        if (v->kind == YN_SEQ)
                return "a list";
        return v->null ? "nothing" : "a single value";
}

static const char *want_scalar(struct ld *ld, const struct ynode *v, const char *what)
{
        if (v->kind == YN_SCALAR && !v->null)
                return v->str;
        ld_error(ld, v->line, "expected %s, got %s", what, kind_name(v));
        return NULL;
}

static bool want_kind(struct ld *ld, const struct ynode *v, enum ynode_kind kind)
{
        if (v->kind == kind)
                return true;
        ld_error(ld, v->line, "expected %s, got %s", kind == YN_MAP ? "a mapping" : "a list",
                 kind_name(v));
        return false;
}

static const struct ynode *map_get(const struct ynode *m, const char *key)
{
        if (m == NULL || m->kind != YN_MAP)
                return NULL;
        for (size_t i = 0; i + 1 < m->n; i += 2)
                if (m->kids[i]->kind == YN_SCALAR && strcmp(m->kids[i]->str, key) == 0)
                        return m->kids[i + 1];
        return NULL;
}

struct sref {
        const char *s;
        size_t idx;
};

static int sref_cmp(const void *a, const void *b)
{
        const struct sref *x = a, *y = b;
        int c = strcmp(x->s, y->s);

        if (c != 0)
                return c;
        return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* first_of[i] = index of the first string equal to strs[i] (i when it is
 * the first); NULL entries are ignored.  O(n log n): lists may be long. */
static void mark_dups(const char *const *strs, size_t n, size_t *first_of)
{
        _cleanup_free_ struct sref *refs = xcalloc(n, sizeof(*refs));
        size_t m = 0;

        for (size_t i = 0; i < n; i++) {
                first_of[i] = i;
                if (strs[i] != NULL)
                        refs[m++] = (struct sref){ strs[i], i };
        }
        qsort(refs, m, sizeof(*refs), sref_cmp);
        for (size_t i = 1; i < m; i++)
                if (strcmp(refs[i].s, refs[i - 1].s) == 0)
                        first_of[refs[i].idx] = first_of[refs[i - 1].idx];
}

/* report duplicate keys of a mapping; skip[e] is set for each later one */
static void map_dups(struct ld *ld, const struct ynode *m, bool *skip)
{
        size_t n = m->n / 2;
        _cleanup_free_ const char **keys = xcalloc(n, sizeof(*keys));
        _cleanup_free_ size_t *first = xcalloc(n, sizeof(*first));

        for (size_t e = 0; e < n; e++)
                if (m->kids[2 * e]->kind == YN_SCALAR)
                        keys[e] = m->kids[2 * e]->str;
        mark_dups(keys, n, first);
        for (size_t e = 0; e < n; e++) {
                size_t saved;

                if (first[e] == e)
                        continue;
                skip[e] = true;
                saved = path_push_key(ld, keys[e]);
                ld_error(ld, m->kids[2 * e]->line, "duplicate key (first at line %zu)",
                         m->kids[2 * first[e]]->line);
                path_pop(ld, saved);
        }
}

static size_t edit_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        size_t row[65];

        if (la > 64 || lb > 64)
                return SIZE_MAX;
        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t diag = row[0];

                row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t up = row[j];
                        size_t best = diag + (a[i - 1] != b[j - 1]);

                        if (up + 1 < best)
                                best = up + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        diag = up;
                        row[j] = best;
                }
        }
        return row[lb];
}

/* the closest of names to s when it is a likely typo, else NULL */
static const char *suggest(const char *s, const char *const *names, size_t n)
{
        const char *best = NULL;
        size_t best_d = 3;

        for (size_t i = 0; i < n; i++) {
                size_t d = edit_distance(s, names[i]);

                if (d < best_d) {
                        best_d = d;
                        best = names[i];
                }
        }
        return best;
}

static void set_str(char **field, const char *s)
{
        free(*field);
        *field = xstrdup(s);
}

static bool has_control(const char *s)
{
        for (; *s != '\0'; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

/* ---- the schema -------------------------------------------------------- */

enum kind {
        K_MAP,      /* a section: walk sub[] with base = the field */
        K_STR,      /* a non-empty string, check() if set */
        K_PATH,     /* a path; relative ones resolve against the config's directory */
        K_CMD,      /* a program: a bare name is looked up in PATH, else a K_PATH */
        K_FILE,     /* a path to a readable regular file (CA bundle, certificate) */
        K_SECRET,   /* a path to a file private to its owner (token, key) */
        K_BOOL,
        K_U16,
        K_U32,
        K_U64,
        K_I64,
        K_SIZE,     /* bytes, from "512MiB" */
        K_MS,       /* milliseconds, from "30s" */
        K_SECONDS,  /* whole seconds, from a duration */
        K_STRV,     /* a list of strings, check() on each, no duplicates */
        K_FN,       /* fn(ld, value, field) */
        K_SKIP,     /* read before the walk (a forge's type) */
};

#define FG_GITLAB (1u << FORGE_GITLAB)
#define FG_GITHUB (1u << FORGE_GITHUB)

struct key {
        const char *name;
        enum kind kind;
        size_t off;                              /* of the field in the section's struct */
        size_t n_off;                            /* K_STRV: of its size_t count */
        uint64_t min, max;                       /* numbers, sizes, durations, list length */
        const char *(*check)(const char *);
        void (*fn)(struct ld *, const struct ynode *, void *);
        const struct key *sub;
        size_t n_sub;
        unsigned forges;                         /* forge keys: the types that take it */
        bool trim_slash;                         /* URLs: drop trailing '/' */
};

static void walk_map(struct ld *ld, const struct ynode *m, const struct key *keys, size_t n_keys,
                     void *base, unsigned forge_mask);

static const char *type_names[] = { "gitlab", "github" };

static void error_got(struct ld *ld, const struct ynode *v, const char *why)
{
        char shown[SHOW_BUF];

        show(shown, sizeof(shown), v->str);
        ld_error(ld, v->line, "%s, got \"%s\"", why, shown);
}

/* a units.h parser's message names the raw value; use it only when the
 * value is short and plain, else say the same thing with the value shown */
static void unit_error(struct ld *ld, const struct ynode *v, const struct err *e, const char *what)
{
        char shown[SHOW_BUF];

        show(shown, sizeof(shown), v->str);
        if (strcmp(shown, v->str) == 0)
                ld_error(ld, v->line, "%s", e->msg);
        else
                ld_error(ld, v->line, "expected %s, got \"%s\"", what, shown);
}

static bool read_number(struct ld *ld, const struct ynode *v, const struct key *k,
                        uint64_t hard_max, uint64_t *out)
{
        const char *s = want_scalar(ld, v, "a whole number");
        struct err e = ERR_INIT;
        uint64_t max = k->max ? k->max : hard_max;

        if (s == NULL)
                return false;
        if (parse_uint(s, UINT64_MAX, out, &e) < 0) {
                unit_error(ld, v, &e, "a whole number");
                return false;
        }
        if (*out < k->min || *out > max) {
                ld_error(ld, v->line, "must be between %llu and %llu, got %llu",
                         (unsigned long long)k->min, (unsigned long long)max,
                         (unsigned long long)*out);
                return false;
        }
        return true;
}

static bool read_size(struct ld *ld, const struct ynode *v, const struct key *k, uint64_t *out)
{
        const char *s = want_scalar(ld, v, "a size like 512MiB");
        struct err e = ERR_INIT;
        char lim[32];

        if (s == NULL)
                return false;
        if (parse_size(s, out, &e) < 0) {
                unit_error(ld, v, &e, "a size like 512MiB");
                return false;
        }
        if (*out < k->min) {
                format_size(lim, sizeof(lim), k->min);
                ld_error(ld, v->line, "must be at least %s, got %s", lim, s);
                return false;
        }
        return true;
}

static bool read_duration(struct ld *ld, const struct ynode *v, uint64_t min_ms, uint64_t *out)
{
        const char *s = want_scalar(ld, v, "a duration like 30s or 5m");
        struct err e = ERR_INIT;
        char lim[32];

        if (s == NULL)
                return false;
        if (parse_duration_ms(s, out, &e) < 0) {
                unit_error(ld, v, &e, "a duration like 30s or 5m");
                return false;
        }
        if (*out < min_ms) {
                format_duration(lim, sizeof(lim), min_ms);
                ld_error(ld, v->line, "must be at least %s, got %s", lim, s);
                return false;
        }
        return true;
}

/* a string value that passes the key's check; NULL after reporting */
static const char *read_string(struct ld *ld, const struct ynode *v, const struct key *k)
{
        const char *s = want_scalar(ld, v, "a string");
        const char *why;

        if (s == NULL)
                return NULL;
        if (s[0] == '\0') {
                ld_error(ld, v->line, "must not be empty (leave the key out for the default)");
                return NULL;
        }
        why = k->check ? k->check(s) : (has_control(s) ? "must not contain control characters" : NULL);
        if (why != NULL) {
                error_got(ld, v, why);
                return NULL;
        }
        return s;
}

static char *resolve_path(struct ld *ld, const char *s)
{
        if (s[0] == '/' || ld->base_dir == NULL)
                return xstrdup(s);
        return xasprintf("%s/%s", ld->base_dir, s);
}

static char *read_path(struct ld *ld, const struct ynode *v)
{
        const char *s = want_scalar(ld, v, "a path");

        if (s == NULL)
                return NULL;
        if (s[0] == '\0' || has_control(s)) {
                error_got(ld, v, "expected a path");
                return NULL;
        }
        if (s[0] == '~') {
                error_got(ld, v, "~ is not expanded: write the full path");
                return NULL;
        }
        return resolve_path(ld, s);
}

/* the file must exist as a regular file before it is opened, so that a
 * FIFO named by mistake cannot hang the load */
static bool check_regular(struct ld *ld, const struct ynode *v, const char *path)
{
        char shown[SHOW_BUF];
        struct stat st;

        show(shown, sizeof(shown), path);
        if (stat(path, &st) < 0) {
                ld_error(ld, v->line, "%s: %s", shown, strerror(errno));
                return false;
        }
        if (!S_ISREG(st.st_mode)) {
                ld_error(ld, v->line, "%s: not a regular file", shown);
                return false;
        }
        return true;
}

static void check_secret(struct ld *ld, const struct ynode *v, const char *path)
{
        struct err e = ERR_INIT;
        char shown[SHOW_BUF];
        struct stat st;

        if (!check_regular(ld, v, path))
                return;
        if (file_check_private(path, &e) == 0)
                return;
        show(shown, sizeof(shown), path);
        /* say it without the strerror(EPERM) tail fileio adds */
        if (e.code == -EPERM && stat(path, &st) == 0)
                ld_error(ld, v->line, "%s: mode %04o lets group or others access a secret; chmod 600 it",
                         shown, (unsigned)(st.st_mode & 07777));
        else
                ld_error(ld, v->line, "%s", e.msg);
}

static void check_readable(struct ld *ld, const struct ynode *v, const char *path)
{
        char shown[SHOW_BUF];

        if (!check_regular(ld, v, path))
                return;
        show(shown, sizeof(shown), path);
        if (access(path, R_OK) < 0)
                ld_error(ld, v->line, "%s: %s", shown, strerror(errno));
}

static void apply_strv(struct ld *ld, const struct ynode *v, const struct key *k, void *base)
{
        char ***field = (char ***)((char *)base + k->off);
        size_t *count = (size_t *)((char *)base + k->n_off);
        _cleanup_strv_free_ char **list = NULL;
        _cleanup_free_ size_t *first = NULL;
        size_t before = ld->n_errors;

        if (!want_kind(ld, v, YN_SEQ))
                return;
        if (v->n < k->min) {
                ld_error(ld, v->line, "must not be empty");
                return;
        }
        list = xcalloc(v->n + 1, sizeof(*list));
        for (size_t i = 0; i < v->n; i++) {
                size_t saved = path_push_index(ld, i);
                const char *s = read_string(ld, v->kids[i], k);

                list[i] = xstrdup(s ? s : "");
                path_pop(ld, saved);
        }
        first = xcalloc(v->n, sizeof(*first));
        mark_dups((const char *const *)list, v->n, first);
        for (size_t i = 0; i < v->n; i++) {
                if (first[i] != i && list[i][0] != '\0') {
                        size_t saved = path_push_index(ld, i);

                        error_got(ld, v->kids[i], "listed twice");
                        path_pop(ld, saved);
                }
        }
        if (ld->n_errors != before)
                return;
        strv_free(*field);
        *field = TAKE_PTR(list);
        *count = v->n;
}

static void apply_key(struct ld *ld, const struct key *k, const struct ynode *v, void *base)
{
        void *field = (char *)base + k->off;
        const char *s;
        char *p;
        uint64_t u;

        switch (k->kind) {
        case K_MAP:
                if (want_kind(ld, v, YN_MAP))
                        walk_map(ld, v, k->sub, k->n_sub, field, 0);
                return;
        case K_STR:
                s = read_string(ld, v, k);
                if (s == NULL)
                        return;
                set_str(field, s);
                if (k->trim_slash) {
                        char *str = *(char **)field;
                        size_t n = strlen(str);

                        while (n > 1 && str[n - 1] == '/' && str[n - 2] != '/')
                                str[--n] = '\0';
                }
                return;
        case K_CMD:
                s = want_scalar(ld, v, "a program name or path");
                if (s == NULL)
                        return;
                if (strchr(s, '/') == NULL) {
                        if (s[0] == '\0' || has_control(s))
                                error_got(ld, v, "expected a program name or path");
                        else
                                set_str(field, s);
                        return;
                }
                /* a path */
                /* fall through */
        case K_PATH:
        case K_FILE:
        case K_SECRET:
                p = read_path(ld, v);
                if (p == NULL)
                        return;
                if (k->kind == K_SECRET)
                        check_secret(ld, v, p);
                else if (k->kind == K_FILE)
                        check_readable(ld, v, p);
                free(*(char **)field);
                *(char **)field = p;
                return;
        case K_BOOL:
                s = want_scalar(ld, v, "true or false");
                if (s == NULL)
                        return;
                if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
                        *(bool *)field = true;
                else if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
                        *(bool *)field = false;
                else
                        error_got(ld, v, "expected true or false");
                return;
        case K_U16:
                if (read_number(ld, v, k, UINT16_MAX, &u))
                        *(uint16_t *)field = (uint16_t)u;
                return;
        case K_U32:
                if (read_number(ld, v, k, UINT32_MAX, &u))
                        *(uint32_t *)field = (uint32_t)u;
                return;
        case K_U64:
                if (read_number(ld, v, k, UINT64_MAX, &u))
                        *(uint64_t *)field = u;
                return;
        case K_I64:
                if (read_number(ld, v, k, INT64_MAX, &u))
                        *(int64_t *)field = (int64_t)u;
                return;
        case K_SIZE:
                if (read_size(ld, v, k, &u))
                        *(uint64_t *)field = u;
                return;
        case K_MS:
                if (read_duration(ld, v, k->min, &u))
                        *(uint64_t *)field = u;
                return;
        case K_SECONDS:
                if (!read_duration(ld, v, k->min * 1000, &u))
                        return;
                if (u % 1000 != 0)
                        error_got(ld, v, "expected whole seconds");
                else
                        *(uint64_t *)field = u / 1000;
                return;
        case K_STRV:
                apply_strv(ld, v, k, base);
                return;
        case K_FN:
                k->fn(ld, v, field);
                return;
        case K_SKIP:
                return;
        }
}

static void unknown_key(struct ld *ld, const struct ynode *key, const struct key *keys, size_t n)
{
        const char *names[64];
        const char *hint;
        size_t m = 0;

        for (size_t i = 0; i < n && m < ARRAY_SIZE(names); i++)
                names[m++] = keys[i].name;
        hint = suggest(key->str, names, m);
        if (hint != NULL)
                ld_error(ld, key->line, "unknown key (did you mean \"%s\"?)", hint);
        else
                ld_error(ld, key->line, "unknown key");
}

static void walk_map(struct ld *ld, const struct ynode *m, const struct key *keys, size_t n_keys,
                     void *base, unsigned forge_mask)
{
        _cleanup_free_ bool *skip = xcalloc(m->n / 2 + 1, sizeof(*skip));

        map_dups(ld, m, skip);
        for (size_t e = 0; e < m->n / 2; e++) {
                const struct ynode *key = m->kids[2 * e], *val = m->kids[2 * e + 1];
                const struct key *k = NULL;
                size_t saved;

                if (key->kind != YN_SCALAR) {
                        ld_error(ld, key->line, "a key must be a plain word, got %s", kind_name(key));
                        continue;
                }
                if (skip[e])
                        continue;
                for (size_t i = 0; i < n_keys && k == NULL; i++)
                        if (strcmp(keys[i].name, key->str) == 0)
                                k = &keys[i];
                saved = path_push_key(ld, key->str);
                if (k == NULL)
                        unknown_key(ld, key, keys, n_keys);
                else if (k->forges != 0 && forge_mask != 0 && (k->forges & forge_mask) == 0)
                        ld_error(ld, key->line, "only valid for a %s forge",
                                 type_names[k->forges == FG_GITLAB ? FORGE_GITLAB : FORGE_GITHUB]);
                else if (!(val->kind == YN_SCALAR && val->null))
                        apply_key(ld, k, val, base);   /* no value = the default */
                path_pop(ld, saved);
        }
}

/* report "key.path.sub: MESSAGE" at line for a key that is absent */
__attribute__((format(printf, 4, 5)))
static void missing(struct ld *ld, size_t line, const char *sub, const char *fmt, ...)
{
        size_t saved = path_push_key(ld, sub);
        char msg[ERR_MSG_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        ld_error(ld, line, "%s", msg);
        path_pop(ld, saved);
}

/* true when m has key with a non-null value */
static bool has(const struct ynode *m, const char *key)
{
        const struct ynode *v = map_get(m, key);

        return v != NULL && !(v->kind == YN_SCALAR && v->null);
}

/* ---- sections with their own logic ------------------------------------- */

static const struct key shard_keys[] = {
        { .name = "index", .kind = K_U32, .off = offsetof(struct cfg_forge, shard_index), .max = 65535 },
        { .name = "count", .kind = K_U32, .off = offsetof(struct cfg_forge, shard_count), .min = 1, .max = 65536 },
};

static void parse_shard(struct ld *ld, const struct ynode *v, void *field)
{
        struct cfg_forge *f = field;
        size_t before = ld->n_errors;

        if (!want_kind(ld, v, YN_MAP))
                return;
        walk_map(ld, v, shard_keys, ARRAY_SIZE(shard_keys), f, 0);
        if (!has(v, "index"))
                missing(ld, v->line, "index", "required in a shard (0 to count-1)");
        if (!has(v, "count"))
                missing(ld, v->line, "count", "required in a shard (how many hosts share the repositories)");
        if (ld->n_errors == before && f->shard_index >= f->shard_count) {
                size_t saved = path_push_key(ld, "index");

                ld_error(ld, map_get(v, "index")->line, "must be less than count (%u), got %u",
                         f->shard_count, f->shard_index);
                path_pop(ld, saved);
        }
}

static const struct key forge_keys[] = {
        { .name = "type", .kind = K_SKIP },
        { .name = "name", .kind = K_STR, .off = offsetof(struct cfg_forge, name), .check = cfgv_forge_name },
        { .name = "url", .kind = K_STR, .off = offsetof(struct cfg_forge, url),
          .check = cfgv_forge_url, .trim_slash = true, .forges = FG_GITLAB },
        { .name = "token_file", .kind = K_SECRET, .off = offsetof(struct cfg_forge, token_file) },
        { .name = "api_url", .kind = K_STR, .off = offsetof(struct cfg_forge, api_url),
          .check = cfgv_forge_url, .trim_slash = true, .forges = FG_GITHUB },
        { .name = "clone_url", .kind = K_STR, .off = offsetof(struct cfg_forge, clone_url),
          .check = cfgv_forge_url, .trim_slash = true, .forges = FG_GITHUB },
        { .name = "app_id", .kind = K_I64, .off = offsetof(struct cfg_forge, app_id), .min = 1,
          .forges = FG_GITHUB },
        { .name = "private_key_file", .kind = K_SECRET, .off = offsetof(struct cfg_forge, private_key_file),
          .forges = FG_GITHUB },
        { .name = "repositories", .kind = K_STRV, .off = offsetof(struct cfg_forge, repositories),
          .n_off = offsetof(struct cfg_forge, n_repositories), .min = 1, .check = cfgv_repository,
          .forges = FG_GITHUB },
        { .name = "shard", .kind = K_FN, .fn = parse_shard, .forges = FG_GITHUB },
        { .name = "ca_file", .kind = K_FILE, .off = offsetof(struct cfg_forge, tls.ca_file) },
        { .name = "client_cert_file", .kind = K_FILE, .off = offsetof(struct cfg_forge, tls.client_cert_file) },
        { .name = "client_key_file", .kind = K_SECRET, .off = offsetof(struct cfg_forge, tls.client_key_file) },
        { .name = "poll_interval", .kind = K_MS, .off = offsetof(struct cfg_forge, poll_interval_ms), .min = 100 },
        { .name = "per_project_limit", .kind = K_U32, .off = offsetof(struct cfg_forge, per_project_limit),
          .min = 1, .max = 1024 },
        { .name = "request_concurrency", .kind = K_U32, .off = offsetof(struct cfg_forge, request_concurrency),
          .min = 1, .max = 64 },
};

/* the type decides the defaults and which keys are allowed; read it first */
static unsigned forge_type(struct ld *ld, const struct ynode *m, struct cfg_forge *f)
{
        const struct ynode *t = map_get(m, "type");
        size_t saved;

        if (t == NULL || (t->kind == YN_SCALAR && t->null)) {
                missing(ld, m->line, "type", "required: gitlab or github");
                return 0;
        }
        saved = path_push_key(ld, "type");
        for (size_t i = 0; i < ARRAY_SIZE(type_names); i++) {
                if (t->kind == YN_SCALAR && strcmp(t->str, type_names[i]) == 0) {
                        f->type = (enum forge_type)i;
                        path_pop(ld, saved);
                        return 1u << i;
                }
        }
        if (t->kind == YN_SCALAR)
                error_got(ld, t, "expected gitlab or github");
        else
                ld_error(ld, t->line, "expected gitlab or github, got %s", kind_name(t));
        path_pop(ld, saved);
        return 0;
}

static void forge_checks(struct ld *ld, const struct ynode *m, struct cfg_forge *f)
{
        bool app = has(m, "app_id") || has(m, "private_key_file");

        if (f->type == FORGE_GITLAB) {
                if (!has(m, "url"))
                        missing(ld, m->line, "url", "required for a gitlab forge");
                if (!has(m, "token_file"))
                        missing(ld, m->line, "token_file", "required for a gitlab forge");
        } else {
                if (has(m, "app_id") && !has(m, "private_key_file"))
                        missing(ld, m->line, "private_key_file", "required with app_id");
                if (has(m, "private_key_file") && !has(m, "app_id"))
                        missing(ld, m->line, "app_id", "required with private_key_file");
                if (app && has(m, "token_file"))
                        missing(ld, map_get(m, "token_file")->line, "token_file",
                                "a github forge uses app_id with private_key_file, or token_file, "
                                "not both");
                if (!app && !has(m, "token_file"))
                        ld_error(ld, m->line, "needs app_id and private_key_file (a GitHub App), "
                                 "or token_file");
                if (!has(m, "repositories"))
                        missing(ld, m->line, "repositories", "required for a github forge "
                                "(a list of owner/name)");
        }
        if (has(m, "client_cert_file") != has(m, "client_key_file"))
                missing(ld, m->line, has(m, "client_cert_file") ? "client_key_file" : "client_cert_file",
                        "client_cert_file and client_key_file go together (mTLS)");
}

/* returns the type's mask, 0 when the type is missing or wrong */
static unsigned parse_forge(struct ld *ld, const struct ynode *m, struct cfg_forge *f)
{
        unsigned mask;

        f->poll_interval_ms = 3000;
        f->per_project_limit = 1;
        f->request_concurrency = 1;
        if (!want_kind(ld, m, YN_MAP))
                return 0;
        mask = forge_type(ld, m, f);
        f->name = xstrdup(type_names[f->type]);
        if (mask == FG_GITHUB) {
                f->api_url = xstrdup("https://api.github.com");
                f->clone_url = xstrdup("https://github.com");
        }
        walk_map(ld, m, forge_keys, ARRAY_SIZE(forge_keys), f, mask);
        if (mask != 0)
                forge_checks(ld, m, f);
        return mask;
}

static void parse_forges(struct ld *ld, const struct ynode *v, void *field)
{
        struct config *c = field;
        _cleanup_free_ const char **names = NULL;
        _cleanup_free_ size_t *first = NULL;

        if (!want_kind(ld, v, YN_SEQ))
                return;
        c->forges = xcalloc(v->n, sizeof(*c->forges));
        c->n_forges = v->n;
        names = xcalloc(v->n, sizeof(*names));
        for (size_t i = 0; i < v->n; i++) {
                size_t saved = path_push_index(ld, i);

                /* a forge whose type is wrong has no meaningful name */
                if (parse_forge(ld, v->kids[i], &c->forges[i]) != 0)
                        names[i] = c->forges[i].name;
                path_pop(ld, saved);
        }
        first = xcalloc(v->n, sizeof(*first));
        mark_dups(names, v->n, first);
        for (size_t i = 0; i < v->n; i++) {
                const struct ynode *n;
                size_t saved;

                if (first[i] == i)
                        continue;
                saved = path_push_index(ld, i);
                n = map_get(v->kids[i], "name");
                missing(ld, n ? n->line : v->kids[i]->line, "name",
                        "\"%s\" is already the name of forges[%zu]; give each forge its own name",
                        names[i], first[i]);
                path_pop(ld, saved);
        }
}

static void parse_mode(struct ld *ld, const struct ynode *v, void *field)
{
        const char *s = want_scalar(ld, v, "validate, plan or apply");

        if (s != NULL && tf_mode_parse(s, field) < 0)
                error_got(ld, v, "expected validate, plan or apply");
}

static void parse_timeouts(struct ld *ld, const struct ynode *v, void *field)
{
        uint64_t *ms = field;
        _cleanup_free_ bool *skip = NULL;
        const char *names[TF_STEP__COUNT];

        if (!want_kind(ld, v, YN_MAP))
                return;
        skip = xcalloc(v->n / 2 + 1, sizeof(*skip));
        map_dups(ld, v, skip);
        for (size_t s = 0; s < TF_STEP__COUNT; s++)
                names[s] = tf_step_name((enum tf_step)s);
        for (size_t e = 0; e < v->n / 2; e++) {
                const struct ynode *key = v->kids[2 * e], *val = v->kids[2 * e + 1];
                size_t saved, step = TF_STEP__COUNT;
                uint64_t t;

                if (skip[e] || key->kind != YN_SCALAR) {
                        if (key->kind != YN_SCALAR)
                                ld_error(ld, key->line, "a key must be a plain word, got %s",
                                         kind_name(key));
                        continue;
                }
                for (size_t s = 0; s < TF_STEP__COUNT; s++)
                        if (strcmp(key->str, names[s]) == 0)
                                step = s;
                saved = path_push_key(ld, key->str);
                if (step == TF_STEP__COUNT) {
                        const char *hint = suggest(key->str, names, TF_STEP__COUNT);

                        ld_error(ld, key->line, "unknown step (expected init, validate, plan, show, "
                                 "apply or destroy)%s%s%s", hint ? "; did you mean \"" : "",
                                 hint ? hint : "", hint ? "\"?" : "");
                } else if (!(val->kind == YN_SCALAR && val->null) && read_duration(ld, val, 1000, &t)) {
                        ms[step] = t;
                }
                path_pop(ld, saved);
        }
}

static void parse_allow_item(struct ld *ld, const struct ynode *m, struct cfg_allow *a)
{
        static const struct key allow_keys[] = {
                { .name = "source", .kind = K_SKIP },
                { .name = "versions", .kind = K_STR, .off = offsetof(struct cfg_allow, versions),
                  .check = cfgv_versions },
        };
        const struct ynode *src;
        const char *why;
        size_t saved;

        if (!want_kind(ld, m, YN_MAP))
                return;
        /* source is normalised here rather than by the generic walk */
        walk_map(ld, m, allow_keys, ARRAY_SIZE(allow_keys), a, 0);
        src = map_get(m, "source");
        if (src == NULL || (src->kind == YN_SCALAR && src->null)) {
                missing(ld, m->line, "source", "required, like hashicorp/aws");
                return;
        }
        saved = path_push_key(ld, "source");
        if (want_scalar(ld, src, "a provider address like hashicorp/aws") != NULL) {
                a->source = cfgv_provider_source(src->str, &why);
                if (a->source == NULL)
                        error_got(ld, src, why);
        }
        path_pop(ld, saved);
}

static void parse_allow(struct ld *ld, const struct ynode *v, void *field)
{
        struct cfg_providers *p = field;
        _cleanup_free_ const char **srcs = NULL;
        _cleanup_free_ size_t *first = NULL;

        if (!want_kind(ld, v, YN_SEQ))
                return;
        p->allow = xcalloc(v->n, sizeof(*p->allow));
        p->n_allow = v->n;
        srcs = xcalloc(v->n, sizeof(*srcs));
        for (size_t i = 0; i < v->n; i++) {
                size_t saved = path_push_index(ld, i);

                parse_allow_item(ld, v->kids[i], &p->allow[i]);
                srcs[i] = p->allow[i].source;
                path_pop(ld, saved);
        }
        first = xcalloc(v->n, sizeof(*first));
        mark_dups(srcs, v->n, first);
        for (size_t i = 0; i < v->n; i++) {
                if (first[i] != i) {
                        size_t saved = path_push_index(ld, i);

                        missing(ld, map_get(v->kids[i], "source")->line, "source",
                                "%s is already allowed by providers.allow[%zu]; "
                                "put all its versions in one entry", srcs[i], first[i]);
                        path_pop(ld, saved);
                }
        }
}

static void parse_policy(struct ld *ld, const struct ynode *v, void *field)
{
        enum policy_action *actions = field;
        _cleanup_free_ bool *skip = NULL;
        const char *names[RULE__COUNT];

        if (!want_kind(ld, v, YN_MAP))
                return;
        skip = xcalloc(v->n / 2 + 1, sizeof(*skip));
        map_dups(ld, v, skip);
        for (size_t r = 0; r < RULE__COUNT; r++)
                names[r] = policy_rule_name((enum policy_rule)r);
        for (size_t e = 0; e < v->n / 2; e++) {
                const struct ynode *key = v->kids[2 * e], *val = v->kids[2 * e + 1];
                enum policy_rule rule;
                const char *s;
                size_t saved;

                if (key->kind != YN_SCALAR) {
                        ld_error(ld, key->line, "a key must be a plain word, got %s", kind_name(key));
                        continue;
                }
                if (skip[e])
                        continue;
                saved = path_push_key(ld, key->str);
                if (policy_rule_parse(key->str, &rule) < 0) {
                        const char *hint = suggest(key->str, names, RULE__COUNT);

                        if (hint != NULL)
                                ld_error(ld, key->line, "unknown policy rule (did you mean \"%s\"?)", hint);
                        else
                                ld_error(ld, key->line, "unknown policy rule (see docs/config.md)");
                } else if ((s = want_scalar(ld, val, "error or warn")) != NULL) {
                        if (strcmp(s, "error") == 0)
                                actions[rule] = POLICY_ERROR;
                        else if (strcmp(s, "warn") == 0)
                                actions[rule] = POLICY_WARN;
                        else
                                error_got(ld, val, "expected error or warn");
                }
                path_pop(ld, saved);
        }
}

static void parse_env(struct ld *ld, const struct ynode *v, void *field)
{
        struct cfg_emulator *em = field;
        _cleanup_free_ bool *skip = NULL;
        _cleanup_strv_free_ char **env = NULL;
        size_t n = 0, before = ld->n_errors;

        if (!want_kind(ld, v, YN_MAP))
                return;
        skip = xcalloc(v->n / 2 + 1, sizeof(*skip));
        env = xcalloc(v->n / 2 + 1, sizeof(*env));
        map_dups(ld, v, skip);
        for (size_t e = 0; e < v->n / 2; e++) {
                const struct ynode *key = v->kids[2 * e], *val = v->kids[2 * e + 1];
                size_t saved;

                if (key->kind != YN_SCALAR) {
                        ld_error(ld, key->line, "a key must be a plain word, got %s", kind_name(key));
                        continue;
                }
                if (skip[e])
                        continue;
                saved = path_push_key(ld, key->str);
                if (cfgv_identifier(key->str) != NULL)
                        error_got(ld, key, "expected an environment variable name (letters, digits, '_')");
                else if (val->kind != YN_SCALAR)
                        ld_error(ld, val->line, "expected a string, got %s", kind_name(val));
                else if (val->null)
                        ld_error(ld, val->line, "expected a string, got nothing (write \"\" for empty)");
                else if (has_control(val->str))
                        error_got(ld, val, "must not contain control characters");
                else
                        env[n++] = xasprintf("%s=%s", key->str, val->str);
                path_pop(ld, saved);
        }
        if (ld->n_errors != before)
                return;
        strv_free(em->env);
        em->env = TAKE_PTR(env);
        em->n_env = n;
}

static const struct key emulator_keys[] = {
        { .name = "command", .kind = K_STRV, .off = offsetof(struct cfg_emulator, command),
          .n_off = offsetof(struct cfg_emulator, n_command), .min = 1 },
        { .name = "env", .kind = K_FN, .fn = parse_env },
        { .name = "paths", .kind = K_STRV, .off = offsetof(struct cfg_emulator, paths),
          .n_off = offsetof(struct cfg_emulator, n_paths) },
        { .name = "health", .kind = K_STR, .off = offsetof(struct cfg_emulator, health), .check = cfgv_health },
        { .name = "port", .kind = K_U16, .off = offsetof(struct cfg_emulator, port), .min = 1, .max = 65535 },
        { .name = "ready_timeout", .kind = K_MS, .off = offsetof(struct cfg_emulator, ready_timeout_ms),
          .min = 1000 },
};

static void parse_emulator(struct ld *ld, const struct ynode *v, void *field)
{
        struct cfg_emulator *em = field;

        if (v->kind == YN_SCALAR) {
                if (strcmp(v->str, "none") != 0) {
                        error_got(ld, v, "expected a mapping or the word none");
                        return;
                }
                em->enabled = false;
                strv_free(TAKE_PTR(em->command));
                strv_free(TAKE_PTR(em->env));
                strv_free(TAKE_PTR(em->paths));
                free(TAKE_PTR(em->health));
                em->n_command = em->n_env = em->n_paths = 0;
                return;
        }
        if (!want_kind(ld, v, YN_MAP))
                return;
        walk_map(ld, v, emulator_keys, ARRAY_SIZE(emulator_keys), em, 0);
        /* bind sources, relative to the file like every other path */
        for (size_t i = 0; i < em->n_paths; i++) {
                char *p = resolve_path(ld, em->paths[i]);

                free(em->paths[i]);
                em->paths[i] = p;
        }
        /* a program path relative to the file, like terraform.binary */
        if (em->command != NULL && strchr(em->command[0], '/') != NULL && em->command[0][0] != '/') {
                char *p = resolve_path(ld, em->command[0]);

                free(em->command[0]);
                em->command[0] = p;
        }
}

static void parse_log_level(struct ld *ld, const struct ynode *v, void *field)
{
        const char *s = want_scalar(ld, v, "error, warn, info or debug");

        if (s != NULL && log_level_parse(s, field) < 0)
                error_got(ld, v, "expected error, warn, info or debug");
}

static void parse_log_format(struct ld *ld, const struct ynode *v, void *field)
{
        const char *s = want_scalar(ld, v, "text or json");

        if (s != NULL && log_format_parse(s, field) < 0)
                error_got(ld, v, "expected text or json");
}

#define SUB(t) .sub = t, .n_sub = ARRAY_SIZE(t)

static const struct key terraform_keys[] = {
        { .name = "binary", .kind = K_CMD, .off = offsetof(struct cfg_terraform, binary) },
        { .name = "mode", .kind = K_FN, .off = offsetof(struct cfg_terraform, mode), .fn = parse_mode },
        { .name = "roots", .kind = K_STRV, .off = offsetof(struct cfg_terraform, roots),
          .n_off = offsetof(struct cfg_terraform, n_roots), .min = 1, .check = cfgv_rel_path },
        { .name = "timeouts", .kind = K_FN, .off = offsetof(struct cfg_terraform, timeout_ms),
          .fn = parse_timeouts },
        { .name = "variables", .kind = K_STRV, .off = offsetof(struct cfg_terraform, variables),
          .n_off = offsetof(struct cfg_terraform, n_variables), .check = cfgv_identifier },
};

static const struct key providers_keys[] = {
        { .name = "mirror", .kind = K_PATH, .off = offsetof(struct cfg_providers, mirror) },
        { .name = "allow", .kind = K_FN, .fn = parse_allow },
        { .name = "policy", .kind = K_FN, .off = offsetof(struct cfg_providers, policy), .fn = parse_policy },
};

static const struct key sandbox_keys[] = {
        { .name = "memory", .kind = K_SIZE, .off = offsetof(struct cfg_sandbox, memory), .min = 16u << 20 },
        { .name = "pids", .kind = K_U64, .off = offsetof(struct cfg_sandbox, pids), .min = 4, .max = 4194304 },
        { .name = "cpu", .kind = K_SECONDS, .off = offsetof(struct cfg_sandbox, cpu_seconds), .min = 1 },
        { .name = "wall_timeout", .kind = K_MS, .off = offsetof(struct cfg_sandbox, wall_timeout_ms), .min = 1000 },
        { .name = "workspace_size", .kind = K_SIZE, .off = offsetof(struct cfg_sandbox, workspace_size),
          .min = 1u << 20 },
        { .name = "output_limit", .kind = K_SIZE, .off = offsetof(struct cfg_sandbox, output_limit), .min = 1024 },
};

static const struct key signing_keys[] = {
        { .name = "key_file", .kind = K_SECRET, .off = offsetof(struct cfg_signing, key_file) },
        { .name = "key_id", .kind = K_STR, .off = offsetof(struct cfg_signing, key_id) },
};

static const struct key audit_keys[] = {
        { .name = "path", .kind = K_PATH, .off = offsetof(struct config, audit_path) },
};

static const struct key http_keys[] = {
        { .name = "listen", .kind = K_STR, .off = offsetof(struct cfg_http, listen), .check = cfgv_listen },
        { .name = "badges", .kind = K_BOOL, .off = offsetof(struct cfg_http, badges) },
        { .name = "public_url", .kind = K_STR, .off = offsetof(struct cfg_http, public_url),
          .check = cfgv_public_url, .trim_slash = true },
        { .name = "webhook_secret_file", .kind = K_SECRET, .off = offsetof(struct cfg_http, webhook_secret_file) },
};

static const struct key log_keys[] = {
        { .name = "level", .kind = K_FN, .off = offsetof(struct config, log_level), .fn = parse_log_level },
        { .name = "format", .kind = K_FN, .off = offsetof(struct config, log_format), .fn = parse_log_format },
};

static const struct key top_keys[] = {
        { .name = "concurrency", .kind = K_U32, .off = offsetof(struct config, concurrency), .min = 1, .max = 1024 },
        { .name = "state_dir", .kind = K_PATH, .off = offsetof(struct config, state_dir) },
        { .name = "work_dir", .kind = K_PATH, .off = offsetof(struct config, work_dir) },
        { .name = "forges", .kind = K_FN, .fn = parse_forges },
        { .name = "terraform", .kind = K_MAP, .off = offsetof(struct config, terraform), SUB(terraform_keys) },
        { .name = "providers", .kind = K_MAP, .off = offsetof(struct config, providers), SUB(providers_keys) },
        { .name = "emulator", .kind = K_FN, .off = offsetof(struct config, emulator), .fn = parse_emulator },
        { .name = "sandbox", .kind = K_MAP, .off = offsetof(struct config, sandbox), SUB(sandbox_keys) },
        { .name = "signing", .kind = K_MAP, .off = offsetof(struct config, signing), SUB(signing_keys) },
        { .name = "audit", .kind = K_MAP, SUB(audit_keys) },
        { .name = "http", .kind = K_MAP, .off = offsetof(struct config, http), SUB(http_keys) },
        { .name = "log", .kind = K_MAP, SUB(log_keys) },
};

/* ---- defaults, whole-file checks, entry points ------------------------- */

static char **strv_from(size_t *n, const char *const *src, size_t count)
{
        char **v = xcalloc(count + 1, sizeof(*v));

        for (size_t i = 0; i < count; i++)
                v[i] = xstrdup(src[i]);
        *n = count;
        return v;
}

static const char *const default_emulator_command[] = { "localstack", "start", "--host", "--no-banner" };
static const char *const default_emulator_env[] = {
        "GATEWAY_LISTEN=127.0.0.1:4566", "PERSISTENCE=0", "SKIP_SSL_CERT_DOWNLOAD=1",
        "DISABLE_EVENTS=1", "SKIP_INFRA_DOWNLOADS=1",
};
static const uint64_t default_timeouts_ms[TF_STEP__COUNT] = {
        [TF_STEP_INIT] = 10 * 60000, [TF_STEP_VALIDATE] = 5 * 60000, [TF_STEP_PLAN] = 20 * 60000,
        [TF_STEP_SHOW] = 5 * 60000, [TF_STEP_APPLY] = 30 * 60000, [TF_STEP_DESTROY] = 30 * 60000,
};

static char *default_state_dir(void)
{
        const char *xdg = getenv("XDG_STATE_HOME");
        const char *home = getenv("HOME");

        if (geteuid() == 0)
                return xstrdup("/var/lib/tfgate");
        if (xdg != NULL && xdg[0] == '/')
                return xasprintf("%s/tfgate", xdg);
        if (home != NULL && home[0] == '/' && strcmp(home, "/") != 0)
                return xasprintf("%s/.local/state/tfgate", home);
        return xstrdup("/var/lib/tfgate");
}

static char *default_work_dir(void)
{
        const char *tmp = getenv("TMPDIR");

        return xstrdup(tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
}

static struct config *config_new(const char *source)
{
        struct config *c = xcalloc(1, sizeof(*c));
        static const char *const root[] = { "." };

        c->source = xstrdup(source);
        c->concurrency = 2;
        c->state_dir = default_state_dir();
        c->work_dir = default_work_dir();
        c->terraform.binary = xstrdup("terraform");
        c->terraform.mode = TF_MODE_PLAN;
        c->terraform.roots = strv_from(&c->terraform.n_roots, root, 1);
        c->terraform.variables = xcalloc(1, sizeof(char *));
        memcpy(c->terraform.timeout_ms, default_timeouts_ms, sizeof(default_timeouts_ms));
        /* the runner replaces any backend with a local one, so a backend
         * block is worth a warning, not a refusal (docs/inspect.md) */
        for (size_t r = 0; r < RULE__COUNT; r++)
                c->providers.policy[r] = r == RULE_BACKEND_REMOTE ? POLICY_WARN : POLICY_ERROR;
        c->emulator.enabled = true;
        c->emulator.command = strv_from(&c->emulator.n_command, default_emulator_command,
                                        ARRAY_SIZE(default_emulator_command));
        c->emulator.env = strv_from(&c->emulator.n_env, default_emulator_env,
                                    ARRAY_SIZE(default_emulator_env));
        c->emulator.health = xstrdup("/_localstack/health");
        c->emulator.port = 4566;
        c->emulator.ready_timeout_ms = 60000;
        c->sandbox.memory = 2ULL << 30;
        c->sandbox.pids = 512;
        c->sandbox.cpu_seconds = 600;
        c->sandbox.wall_timeout_ms = 30 * 60000;
        c->sandbox.workspace_size = 1ULL << 30;
        c->sandbox.output_limit = 16ULL << 20;
        c->log_level = LOGL_INFO;
        c->log_format = LOGF_TEXT;
        return c;
}

static size_t line_of(const struct ynode *m, const char *key)
{
        const struct ynode *v = map_get(m, key);

        return v ? v->line : (m ? m->line : 0);
}

/* rules that join keys of different sections */
static void cross_checks(struct ld *ld, const struct ynode *root, const struct config *c)
{
        const struct ynode *http = map_get(root, "http");
        const struct ynode *tf = map_get(root, "terraform");

        if (c->http.badges && c->http.listen == NULL) {
                size_t saved = path_push_key(ld, "http");

                missing(ld, line_of(http, "badges"), "badges", "needs http.listen");
                path_pop(ld, saved);
        }
        if (c->terraform.mode == TF_MODE_APPLY && !c->emulator.enabled) {
                size_t saved = path_push_key(ld, "terraform");

                missing(ld, line_of(tf, "mode"), "mode",
                        "apply needs an emulator: with `emulator: none` terraform would apply "
                        "to real infrastructure");
                path_pop(ld, saved);
        }
}

static void load_text(struct ld *ld, const char *text, size_t len, struct config **out)
{
        struct err e = ERR_INIT;
        struct ynode *root = NULL;
        size_t line = 0;
        struct config *c;

        if (len > CONFIG_MAX_BYTES) {
                ld_error(ld, 0, "larger than 1 MiB (%zu bytes); a configuration is at most 1 MiB", len);
                return;
        }
        if (ytree_parse(&root, text, len, &line, &e) < 0) {
                ld_error(ld, line, "%s", e.msg);
                return;
        }
        c = config_new(ld->name);
        if (root != NULL && root->kind == YN_SCALAR && root->null) {
                /* "~" or an empty document: every default */
        } else if (root != NULL && root->kind != YN_MAP) {
                ld_error(ld, root->line, "expected a mapping of keys at the top level, got %s",
                         kind_name(root));
        } else if (root != NULL) {
                walk_map(ld, root, top_keys, ARRAY_SIZE(top_keys), c, 0);
                if (ld->n_errors == 0)
                        cross_checks(ld, root, c);
        }
        ytree_free(root);
        *out = c;
}

/* errors in line order (the walk reports cross-key problems after the
 * keys); insertion sort keeps the order of errors on one line */
static void sort_errors(struct ld *ld)
{
        for (size_t i = 1; i < ld->n_errors; i++) {
                size_t line = ld->lines[i], j = i;
                char *msg = ld->errors[i];

                for (; j > 0 && ld->lines[j - 1] > line; j--) {
                        ld->lines[j] = ld->lines[j - 1];
                        ld->errors[j] = ld->errors[j - 1];
                }
                ld->lines[j] = line;
                ld->errors[j] = msg;
        }
}

/* hand out the config or, when anything was wrong, only the errors */
static int finish(struct ld *ld, struct config *c, struct config **out, char ***errors, struct err *err)
{
        int r = 0;

        free(ld->path);
        sort_errors(ld);
        free(ld->lines);
        if (ld->n_errors > 0) {
                r = err_set(err, 0, "%s", ld->errors[0]);
                config_free(c);
                c = NULL;
        }
        if (errors != NULL)
                *errors = TAKE_PTR(ld->errors);
        strv_free(ld->errors);
        *out = c;
        return r;
}

int config_load_string(struct config **out, const char *text, size_t len, const char *name,
                       char ***errors, struct err *err)
{
        struct ld ld = { .name = name ? name : "<string>" };
        struct config *c = NULL;

        *out = NULL;
        if (errors != NULL)
                *errors = NULL;
        load_text(&ld, text, len, &c);
        return finish(&ld, c, out, errors, err);
}

/* the directory of path, absolute, for resolving relative paths in it */
static char *base_dir_of(const char *path)
{
        _cleanup_free_ char *dir = NULL;
        _cleanup_free_ char *cwd = NULL;
        const char *slash = strrchr(path, '/');

        if (slash == path)
                return xstrdup("/");
        dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
        if (dir[0] == '/')
                return TAKE_PTR(dir);
        cwd = getcwd(NULL, 0);
        if (cwd == NULL)
                return TAKE_PTR(dir);
        if (strcmp(dir, ".") == 0)
                return TAKE_PTR(cwd);
        return xasprintf("%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, dir);
}

/* the file decides what the jail may do (TB2-T): refuse one that someone
 * other than its owner could have changed */
static bool check_config_file(struct ld *ld, int fd)
{
        struct stat st;

        if (fstat(fd, &st) < 0) {
                ld_error(ld, 0, "%s", strerror(errno));
                return false;
        }
        if (!S_ISREG(st.st_mode)) {
                ld_error(ld, 0, "not a regular file");
                return false;
        }
        if (st.st_mode & (S_IWGRP | S_IWOTH)) {
                ld_error(ld, 0, "mode %04o lets group or others change the configuration; "
                         "chmod go-w it", (unsigned)(st.st_mode & 07777));
                return false;
        }
        if (st.st_uid != geteuid() && st.st_uid != 0) {
                ld_error(ld, 0, "owned by uid %u, which is neither this user (%u) nor root",
                         (unsigned)st.st_uid, (unsigned)geteuid());
                return false;
        }
        return true;
}

int config_load_file(struct config **out, const char *path, char ***errors, struct err *err)
{
        struct ld ld = { .name = path };
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ char *base = NULL;
        struct config *c = NULL;
        struct err e = ERR_INIT;
        size_t len = 0;

        *out = NULL;
        if (errors != NULL)
                *errors = NULL;
        /* O_NONBLOCK: a FIFO must not hang the load; it is refused below */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                ld_error(&ld, 0, "%s", strerror(errno));
        } else if (check_config_file(&ld, fd)) {
                if (fd_read_all(&text, &len, fd, CONFIG_MAX_BYTES, &e) < 0) {
                        if (e.code == -EFBIG)
                                ld_error(&ld, 0, "larger than 1 MiB; a configuration is at most 1 MiB");
                        else
                                ld_error(&ld, 0, "%s", e.msg);
                } else {
                        base = base_dir_of(path);
                        ld.base_dir = base;
                        load_text(&ld, text, len, &c);
                }
        }
        return finish(&ld, c, out, errors, err);
}

static void forge_free(struct cfg_forge *f)
{
        free(f->name);
        free(f->url);
        free(f->api_url);
        free(f->clone_url);
        free(f->private_key_file);
        strv_free(f->repositories);
        free(f->token_file);
        free(f->tls.ca_file);
        free(f->tls.client_cert_file);
        free(f->tls.client_key_file);
}

void config_free(struct config *c)
{
        if (c == NULL)
                return;
        free(c->source);
        free(c->state_dir);
        free(c->work_dir);
        for (size_t i = 0; i < c->n_forges; i++)
                forge_free(&c->forges[i]);
        free(c->forges);
        free(c->terraform.binary);
        strv_free(c->terraform.roots);
        strv_free(c->terraform.variables);
        free(c->providers.mirror);
        for (size_t i = 0; i < c->providers.n_allow; i++) {
                free(c->providers.allow[i].source);
                free(c->providers.allow[i].versions);
        }
        free(c->providers.allow);
        strv_free(c->emulator.command);
        strv_free(c->emulator.env);
        strv_free(c->emulator.paths);
        free(c->emulator.health);
        free(c->signing.key_file);
        free(c->signing.key_id);
        free(c->audit_path);
        free(c->http.listen);
        free(c->http.public_url);
        free(c->http.webhook_secret_file);
        free(c);
}
