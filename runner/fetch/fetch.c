#include "fetch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <git2/sys/config.h>
#include <git2/sys/repository.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/units.h"
#include "runner/util/xalloc.h"

#define REFSPEC_MAX_LEN 1024
#define TFGATE_REF_PREFIX "refs/tfgate/"
#define WANT_REF TFGATE_REF_PREFIX "want"
/* The object size limit (GIT_OPT_SET_PACK_MAX_OBJECT_SIZE, a backported
 * fix in this libgit2) also stops fetched objects above it from being
 * read back: with a 20-byte limit the fetched commit cannot be looked up.
 * So it never goes below what a large tree or commit needs; above that it
 * is the checkout limit, since no single object may be larger than the
 * whole checkout is allowed to be. */
#define MIN_OBJECT_LIMIT (16ull << 20)

/* The last resort when neither the job's refspecs nor the id brought the
 * commit: every place a forge keeps commits a job can name. */
static const char *const all_refs_specs[] = {
        "+refs/heads/*:" TFGATE_REF_PREFIX "heads/*",
        "+refs/tags/*:" TFGATE_REF_PREFIX "tags/*",
        "+refs/merge-requests/*:" TFGATE_REF_PREFIX "merge-requests/*",
        "+refs/pull/*:" TFGATE_REF_PREFIX "pull/*",
};

/* Settings that make the repository behave the same on every host and
 * keep checkout inside the workspace, whatever the runner user's config. */
static const struct {
        const char *key;
        bool value;
} repo_config[] = {
        { "core.symlinks", true },      /* links stay links, never files */
        { "core.protectNTFS", true },   /* refuse .git look-alikes ... */
        { "core.protectHFS", true },    /* ... on every filesystem */
        { "core.autocrlf", false },
        { "core.filemode", true },
};

struct fetch_ctx {
        const struct fetch_opts *opts;
        const char *remote_url;         /* canonical, given to libgit2 */
        const char *safe_url;           /* the same for messages */
        const char *host;               /* for messages; the path when local */
        bool network;                   /* https/http, not a local repository */
        uint64_t max_pack;
        uint64_t bytes_before;          /* received in earlier attempts */
        uint64_t objects_before;
        unsigned attempt;
        unsigned cred_calls;            /* this attempt */
        bool pack_cap_hit;
        bool auth_refused;
        bool no_credentials;
        bool auth_unsupported;
        struct fetch_progress prog;
};

struct walk_ctx {
        git_odb *odb;
        uint64_t max_bytes, max_files;
        uint64_t bytes, files, gitlinks;
        int code;                       /* set when the walk stops early */
        char msg[ERR_MSG_MAX];
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result;
static pthread_mutex_t opts_lock = PTHREAD_MUTEX_INITIALIZER;

static void init_libgit2(void)
{
        init_result = git_libgit2_init();
}

/* err_set() without the strerror() suffix: the message says it all, the
 * code still tells the caller which kind of failure it was. */
__attribute__((format(printf, 3, 4)))
static int fail(struct err *err, int errnum, const char *fmt, ...)
{
        char msg[ERR_MSG_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        err_set(err, 0, "%s", msg);
        if (err != NULL)
                err->code = -errnum;
        return -errnum;
}

static const char *git_msg(void)
{
        const git_error *e = git_error_last();

        return e != NULL && e->message != NULL ? e->message : "unknown libgit2 error";
}

const char *fetch_method_name(enum fetch_method m)
{
        static const char *const names[] = {
                [FETCH_BY_REFSPEC] = "refspec",
                [FETCH_BY_SHA] = "sha",
                [FETCH_ALL_REFS] = "all-refs",
        };

        return (size_t)m < ARRAY_SIZE(names) ? names[m] : "?";
}

static int parse_sha(char out[FETCH_SHA_HEX_MAX + 1], const char *sha, struct err *err)
{
        size_t n = sha != NULL ? strnlen(sha, FETCH_SHA_HEX_MAX + 1) : 0;

        for (size_t i = 0; i < n; i++)
                if (!strchr("0123456789abcdefABCDEF", sha[i]))
                        return fail(err, EINVAL, "commit id is not hexadecimal");
        if (n == 64)
                return fail(err, ENOTSUP, "SHA-256 commit ids are not supported (libgit2 %d.%d)",
                            LIBGIT2_VER_MAJOR, LIBGIT2_VER_MINOR);
        if (n != 40)
                return fail(err, EINVAL, "commit id must be 40 hex digits");
        for (size_t i = 0; i < n; i++)
                out[i] = (sha[i] >= 'A' && sha[i] <= 'F') ? (char)(sha[i] - 'A' + 'a') : sha[i];
        out[n] = '\0';
        return 0;
}

/* A ref name we are willing to ask a server for: under refs/, no "..",
 * no characters git forbids in ref names, at most one '*' standing for a
 * whole path component, and valid to libgit2 as a reference name. */
static int check_ref_pattern(const char *name, struct err *err)
{
        const char *star = strchr(name, '*');
        _cleanup_free_ char *probe = NULL;
        int valid = 0;

        if (strncmp(name, "refs/", 5) != 0)
                return fail(err, EINVAL, "refspec source must start with refs/");
        if (strstr(name, "..") != NULL || strstr(name, "@{") != NULL ||
            strstr(name, "//") != NULL)
                return fail(err, EINVAL, "refspec contains \"..\", \"@{\" or \"//\"");
        for (const char *p = name; *p != '\0'; p++) {
                unsigned char c = (unsigned char)*p;

                if (c <= 0x20 || c >= 0x7f || strchr("~^:?[\\", c) != NULL)
                        return fail(err, EINVAL, "refspec contains a character git forbids");
        }
        if (star != NULL) {
                if (strchr(star + 1, '*') != NULL)
                        return fail(err, EINVAL, "refspec has more than one wildcard");
                if (star[-1] != '/' || (star[1] != '\0' && star[1] != '/'))
                        return fail(err, EINVAL, "refspec wildcard must be a whole path component");
        }
        probe = xstrdup(name);
        if (star != NULL)
                probe[star - name] = 'x';
        if (git_reference_name_is_valid(&valid, probe) < 0 || !valid)
                return fail(err, EINVAL, "refspec source is not a valid reference name");
        return 0;
}

int fetch_refspec_rewrite(char **out, const char *spec, struct err *err)
{
        _cleanup_free_ char *src = NULL;
        const char *s = spec, *colon;
        int r;

        *out = NULL;
        pthread_once(&init_once, init_libgit2);
        if (spec == NULL || spec[0] == '\0')
                return fail(err, EINVAL, "empty refspec");
        if (strnlen(spec, REFSPEC_MAX_LEN + 1) > REFSPEC_MAX_LEN)
                return fail(err, EINVAL, "refspec longer than %d bytes", REFSPEC_MAX_LEN);
        if (spec[0] == '-')
                return fail(err, EINVAL, "refspec starts with '-'");
        if (*s == '+')
                s++;
        colon = strchr(s, ':');
        src = colon != NULL ? xstrndup(s, (size_t)(colon - s)) : xstrdup(s);
        r = check_ref_pattern(src, err);
        if (r < 0)
                return r;
        if (colon != NULL) {
                /* the destination is replaced, but it must still make sense */
                const char *dst = colon + 1;

                if (strncmp(dst, "refs/", 5) != 0 || strchr(dst, ':') != NULL)
                        return fail(err, EINVAL, "refspec destination must be under refs/");
                if ((strchr(src, '*') == NULL) != (strchr(dst, '*') == NULL))
                        return fail(err, EINVAL, "refspec wildcard on one side only");
        }
        *out = xasprintf("+%s:" TFGATE_REF_PREFIX "%s", src, src + 5);
        return 0;
}

/* The workspace is created by the caller for this execution only: a real
 * directory (not a link someone swapped in) with nothing in it. */
static int check_workspace(const char *path, struct err *err)
{
        _cleanup_close_ int fd = -1;
        struct stat st;
        DIR *d;
        struct dirent *de;
        bool empty = true;

        if (path == NULL || path[0] == '\0')
                return fail(err, EINVAL, "no workspace directory given");
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return err_set(err, errno, "workspace %s", path);
        if (fstat(fd, &st) < 0)
                return err_set(err, errno, "workspace %s", path);
        if (st.st_uid != geteuid())
                return fail(err, EPERM, "workspace %s is not owned by the runner user", path);
        d = fdopendir(fd);
        if (d == NULL)
                return err_set(err, errno, "workspace %s", path);
        fd = -1;        /* owned by d now */
        while ((de = readdir(d)) != NULL)
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                        empty = false;
                        break;
                }
        closedir(d);
        if (!empty)
                return fail(err, ENOTEMPTY, "workspace %s is not empty", path);
        return 0;
}

/* libgit2's options are process-wide.  Empty config search paths keep the
 * runner user's ~/.gitconfig and /etc/gitconfig out: url.insteadOf could
 * send the fetch to another host, http.* could weaken it. */
static int apply_global_options(const struct fetch_opts *o, uint64_t max_object, struct err *err)
{
        static const int levels[] = {
                GIT_CONFIG_LEVEL_SYSTEM, GIT_CONFIG_LEVEL_XDG,
                GIT_CONFIG_LEVEL_GLOBAL, GIT_CONFIG_LEVEL_PROGRAMDATA,
        };
        int r = 0;

        pthread_once(&init_once, init_libgit2);
        if (init_result < 0)
                return fail(err, EIO, "libgit2 initialisation failed: %s", git_msg());
        pthread_mutex_lock(&opts_lock);
        for (size_t i = 0; i < ARRAY_SIZE(levels) && r == 0; i++)
                r = git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, levels[i], "");
        if (r == 0)
                r = git_libgit2_opts(GIT_OPT_SET_PACK_MAX_OBJECT_SIZE, (size_t)max_object);
        if (r == 0 && o->ca_file != NULL)
                r = git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, o->ca_file, NULL);
        pthread_mutex_unlock(&opts_lock);
        if (r < 0)
                return fail(err, EIO, "libgit2 settings%s%s: %s", o->ca_file ? " (CA file " : "",
                            o->ca_file ? o->ca_file : "", git_msg());
        return 0;
}

static void report(struct fetch_ctx *c)
{
        if (c->opts->progress != NULL)
                c->opts->progress(&c->prog, c->opts->progress_data);
}

static int transfer_cb(const git_indexer_progress *st, void *payload)
{
        struct fetch_ctx *c = payload;

        if (c->bytes_before + st->received_bytes > c->max_pack) {
                c->pack_cap_hit = true;
                git_error_set_str(GIT_ERROR_CALLBACK, "pack size limit reached");
                return -1;
        }
        c->prog.phase = st->received_objects < st->total_objects ? FETCH_PHASE_RECEIVE
                                                                 : FETCH_PHASE_INDEX;
        c->prog.attempt = c->attempt;
        c->prog.total_objects = st->total_objects;
        c->prog.received_objects = st->received_objects;
        c->prog.indexed_objects = st->indexed_objects;
        c->prog.received_bytes = st->received_bytes;
        report(c);
        return 0;
}

/* Called by libgit2 on every 401.  One answer per connection: a second
 * call means the token was refused, and answering again would loop. */
static int cred_cb(git_credential **out, const char *url, const char *user_from_url,
                   unsigned int allowed, void *payload)
{
        struct fetch_ctx *c = payload;
        const struct fetch_opts *o = c->opts;

        if (!(allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)) {
                c->auth_unsupported = true;
                git_error_set_str(GIT_ERROR_NET, "server wants an unsupported authentication method");
                return GIT_EAUTH;
        }
        if (o->username == NULL || o->password == NULL) {
                c->no_credentials = true;
                git_error_set_str(GIT_ERROR_NET, "authentication required");
                return GIT_EAUTH;
        }
        if (++c->cred_calls > 1) {
                c->auth_refused = true;
                git_error_set_str(GIT_ERROR_NET, "credentials refused");
                return GIT_EAUTH;
        }
        return git_credential_userpass_plaintext_new(out, o->username, o->password);
}

/* Failures after which another attempt cannot help. */
static bool fetch_error_is_final(const struct fetch_ctx *c)
{
        static const int final_classes[] = {
                GIT_ERROR_NET, GIT_ERROR_SSL, GIT_ERROR_HTTP, GIT_ERROR_SSH, GIT_ERROR_OS,
                GIT_ERROR_INDEXER,
        };
        const git_error *e = git_error_last();

        if (c->pack_cap_hit || c->auth_refused || c->no_credentials || c->auth_unsupported)
                return true;
        for (size_t i = 0; e != NULL && i < ARRAY_SIZE(final_classes); i++)
                if (e->klass == final_classes[i])
                        return true;
        return false;
}

static int fetch_error(const struct fetch_ctx *c, struct err *err)
{
        char cap[32];

        if (c->pack_cap_hit) {
                format_size(cap, sizeof(cap), c->max_pack);
                return fail(err, EFBIG, "fetching %s: received data exceeds the limit of %s "
                            "(max_pack_bytes)", c->safe_url, cap);
        }
        if (c->auth_refused)
                return fail(err, EACCES, "fetching %s: %s refused the credentials", c->safe_url, c->host);
        if (c->no_credentials)
                return fail(err, EACCES, "fetching %s: %s requires authentication and no "
                            "credentials were configured", c->safe_url, c->host);
        if (c->auth_unsupported)
                return fail(err, EACCES, "fetching %s: %s wants an authentication method other "
                            "than basic (token)", c->safe_url, c->host);
        {
                const git_error *e = git_error_last();
                int code = EIO;

                /* a refused connection is an OS error to libgit2 */
                if (e != NULL && (e->klass == GIT_ERROR_NET || e->klass == GIT_ERROR_SSL ||
                                  e->klass == GIT_ERROR_HTTP ||
                                  (e->klass == GIT_ERROR_OS && c->network)))
                        code = EHOSTUNREACH;
                return fail(err, code, "fetching %s: %s", c->safe_url, git_msg());
        }
}

static int fetch_once(struct fetch_ctx *c, git_remote *remote, const char *const *specs,
                      size_t n, bool *final, struct err *err)
{
        git_fetch_options fo;
        git_strarray sa = { (char **)specs, n };
        int r;

        git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
        fo.callbacks.transfer_progress = transfer_cb;
        fo.callbacks.credentials = cred_cb;
        fo.callbacks.payload = c;
        /* no certificate_check: libgit2 refuses a certificate that fails
         * verification, which is what we want */
        fo.prune = GIT_FETCH_NO_PRUNE;
        fo.update_fetchhead = 0;
        fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
        fo.proxy_opts.type = GIT_PROXY_NONE;
        /* a redirect could take the fetch (and the token) to another host */
        fo.follow_redirects = GIT_REMOTE_REDIRECT_NONE;

        c->attempt++;
        c->cred_calls = 0;
        r = git_remote_fetch(remote, &sa, &fo, NULL);
        {
                const git_indexer_progress *st = git_remote_stats(remote);

                c->bytes_before += st->received_bytes;
                c->objects_before += st->received_objects;
        }
        if (r < 0) {
                *final = fetch_error_is_final(c);
                return fetch_error(c, err);
        }
        return 0;
}

static bool have_commit(git_repository *repo, const git_oid *id)
{
        git_commit *commit = NULL;
        bool ok = git_commit_lookup(&commit, repo, id) == 0;

        git_commit_free(commit);
        git_error_clear();
        return ok;
}

/* Names that must never become a path in the workspace.  libgit2's
 * checkout refuses them too (with core.protect* on); checking here fails
 * before anything is written and says which entry it was. */
static bool bad_entry_name(const char *name)
{
        return name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
               strcasecmp(name, ".git") == 0 || strchr(name, '/') != NULL ||
               strchr(name, '\\') != NULL;
}

static int walk_cb(const char *root, const git_tree_entry *entry, void *payload)
{
        struct walk_ctx *w = payload;
        const char *name = git_tree_entry_name(entry);
        git_filemode_t mode = git_tree_entry_filemode(entry);
        char lim[32];

        if (bad_entry_name(name)) {
                w->code = EPERM;
                snprintf(w->msg, sizeof(w->msg), "tree entry \"%s%s\" is not a safe path", root, name);
                return -1;
        }
        if (mode == GIT_FILEMODE_TREE)
                return 0;
        if (mode == GIT_FILEMODE_COMMIT) {
                w->gitlinks++;
        } else {
                size_t len = 0;
                git_object_t type;

                if (git_odb_read_header(&len, &type, w->odb, git_tree_entry_id(entry)) < 0) {
                        w->code = EIO;
                        snprintf(w->msg, sizeof(w->msg), "blob for \"%s%s\" missing or unreadable: %s",
                                 root, name, git_msg());
                        return -1;
                }
                if (type != GIT_OBJECT_BLOB) {
                        w->code = EIO;
                        snprintf(w->msg, sizeof(w->msg), "\"%s%s\" is a %s, not a blob", root, name,
                                 git_object_type2string(type));
                        return -1;
                }
                w->bytes += len;
                if (w->bytes > w->max_bytes) {
                        format_size(lim, sizeof(lim), w->max_bytes);
                        w->code = EFBIG;
                        snprintf(w->msg, sizeof(w->msg), "checkout would exceed the size limit of "
                                 "%s (max_checkout_bytes) at \"%s%s\"", lim, root, name);
                        return -1;
                }
        }
        if (++w->files > w->max_files) {
                w->code = EFBIG;
                snprintf(w->msg, sizeof(w->msg), "checkout would exceed the limit of %llu files "
                         "(max_files) at \"%s%s\"", (unsigned long long)w->max_files, root, name);
                return -1;
        }
        return 0;
}

static int check_tree(git_repository *repo, git_tree *tree, const struct fetch_limits *lim,
                      struct fetch_result *res, struct err *err)
{
        struct walk_ctx w = { .max_bytes = lim->max_checkout_bytes, .max_files = lim->max_files };
        int r;

        if (git_repository_odb(&w.odb, repo) < 0)
                return fail(err, EIO, "opening the object database: %s", git_msg());
        r = git_tree_walk(tree, GIT_TREEWALK_PRE, walk_cb, &w);
        git_odb_free(w.odb);
        if (w.code != 0)
                return fail(err, w.code, "%s", w.msg);
        if (r < 0)
                return fail(err, EIO, "reading the commit's tree: %s", git_msg());
        res->checkout_bytes = w.bytes;
        res->files = w.files - w.gitlinks;
        res->gitlinks = w.gitlinks;
        return 0;
}

static void checkout_cb(const char *path, size_t done, size_t total, void *payload)
{
        struct fetch_ctx *c = payload;

        c->prog.phase = FETCH_PHASE_CHECKOUT;
        c->prog.checkout_done = done;
        c->prog.checkout_total = total;
        report(c);
}

static int checkout(struct fetch_ctx *c, git_repository *repo, git_commit *commit,
                    struct err *err)
{
        git_checkout_options co;

        git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
        /* FORCE into an empty directory; no submodule update; no filters, so
         * every file is its blob byte for byte and no filter driver (LFS or
         * any other) can be involved */
        co.checkout_strategy = GIT_CHECKOUT_FORCE;
        co.disable_filters = 1;
        co.progress_cb = checkout_cb;
        co.progress_payload = c;
        if (git_checkout_tree(repo, (const git_object *)commit, &co) < 0)
                return fail(err, EPERM, "checking out %s: %s", c->opts->sha, git_msg());
        if (git_repository_set_head_detached(repo, git_commit_id(commit)) < 0)
                return fail(err, EIO, "setting HEAD: %s", git_msg());
        return 0;
}

static int verify_head(git_repository *repo, const git_oid *want, char out[FETCH_SHA_HEX_MAX + 1],
                       struct err *err)
{
        git_reference *head = NULL;
        git_oid got;
        int r;

        if (git_repository_head_detached(repo) != 1)
                return fail(err, EIO, "HEAD is not detached after checkout");
        if (git_repository_head(&head, repo) < 0)
                return fail(err, EIO, "reading HEAD: %s", git_msg());
        r = git_reference_name_to_id(&got, repo, "HEAD");
        git_reference_free(head);
        if (r < 0)
                return fail(err, EIO, "reading HEAD: %s", git_msg());
        git_oid_tostr(out, FETCH_SHA_HEX_MAX + 1, &got);
        if (!git_oid_equal(&got, want))
                return fail(err, EIO, "HEAD is %s, expected the job's commit", out);
        return 0;
}

static int set_repo_config(git_repository *repo, struct err *err)
{
        git_config *cfg = NULL;
        int r = 0;

        if (git_repository_config(&cfg, repo) < 0)
                return fail(err, EIO, "repository config: %s", git_msg());
        for (size_t i = 0; i < ARRAY_SIZE(repo_config) && r == 0; i++)
                r = git_config_set_bool(cfg, repo_config[i].key, repo_config[i].value);
        git_config_free(cfg);
        if (r < 0)
                return fail(err, EIO, "repository config: %s", git_msg());
        return 0;
}

static void limits_fill(struct fetch_limits *l, const struct fetch_limits *in)
{
        l->max_pack_bytes = in->max_pack_bytes ? in->max_pack_bytes : FETCH_DEFAULT_MAX_PACK_BYTES;
        l->max_checkout_bytes = in->max_checkout_bytes ? in->max_checkout_bytes
                                                       : FETCH_DEFAULT_MAX_CHECKOUT_BYTES;
        l->max_files = in->max_files ? in->max_files : FETCH_DEFAULT_MAX_FILES;
}

struct attempt {
        enum fetch_method method;
        const char *const *specs;
        size_t n;
};

static int fetch_objects(struct fetch_ctx *c, git_repository *repo, const git_oid *want,
                         char **job_specs, size_t n_job, struct fetch_result *res,
                         struct err *err)
{
        _cleanup_free_ char *by_sha = xasprintf("+%s:" WANT_REF, c->opts->sha);
        const char *const sha_spec[] = { by_sha };
        const struct attempt attempts[] = {
                { FETCH_BY_REFSPEC, (const char *const *)job_specs, n_job },
                { FETCH_BY_SHA, sha_spec, 1 },
                { FETCH_ALL_REFS, all_refs_specs, ARRAY_SIZE(all_refs_specs) },
        };
        git_remote_create_options ro;
        git_remote *remote = NULL;
        struct err last = ERR_INIT;
        bool final = false;

        git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
        ro.repository = repo;
        /* anonymous (nothing written to the config) and no url.insteadOf:
         * the URL that was validated is the URL that is fetched */
        ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
        if (git_remote_create_with_opts(&remote, c->remote_url, &ro) < 0)
                return fail(err, EINVAL, "remote %s: %s", c->safe_url, git_msg());
        for (size_t i = 0; i < ARRAY_SIZE(attempts) && !final; i++) {
                if (attempts[i].n == 0)
                        continue;
                if (fetch_once(c, remote, attempts[i].specs, attempts[i].n, &final, &last) == 0)
                        err_clear(&last);
                if (!final && have_commit(repo, want)) {
                        res->method = attempts[i].method;
                        git_remote_free(remote);
                        return 0;
                }
        }
        git_remote_free(remote);
        if (final)
                return fail(err, -last.code, "%s", last.msg);
        return fail(err, ENOENT, "commit %s not found in %s", c->opts->sha, c->safe_url);
}

/* A fresh repository in the (checked, empty) workspace, configured the
 * same way for every way of bringing the objects. */
static int init_workspace(git_repository **out, const struct fetch_opts *o, struct err *err)
{
        git_repository_init_options io;
        int r;

        git_repository_init_options_init(&io, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
        io.flags = GIT_REPOSITORY_INIT_NO_REINIT;
        if (git_repository_init_ext(out, o->workspace, &io) < 0)
                return fail(err, EIO, "creating a repository in %s: %s", o->workspace, git_msg());
        r = set_repo_config(*out, err);
        if (r < 0) {
                git_repository_free(*out);
                *out = NULL;
        }
        return r;
}

/* The objects are in the workspace's repository: whichever way they came,
 * the same checks, the same checkout, the same HEAD verification. */
static int check_out(struct fetch_ctx *c, git_repository *repo, const git_oid *want,
                     const struct fetch_limits *lim, struct fetch_result *res, struct err *err)
{
        git_commit *commit = NULL;
        git_tree *tree = NULL;
        int r = 0;

        if (git_commit_lookup(&commit, repo, want) < 0)
                r = fail(err, ENOENT, "commit %s not found in %s", c->opts->sha, c->safe_url);
        if (r == 0 && git_commit_tree(&tree, commit) < 0)
                r = fail(err, EIO, "tree of commit %s: %s", c->opts->sha, git_msg());
        if (r == 0)
                r = check_tree(repo, tree, lim, res, err);
        if (r == 0)
                r = checkout(c, repo, commit, err);
        if (r == 0)
                r = verify_head(repo, want, res->head, err);
        git_tree_free(tree);
        git_commit_free(commit);
        return r;
}

static int fetch_into(struct fetch_ctx *c, const struct fetch_limits *lim, char **job_specs,
                      size_t n_job, struct fetch_result *res, struct err *err)
{
        git_repository *repo = NULL;
        git_oid want;
        int r;

        if (git_oid_fromstr(&want, c->opts->sha) < 0)
                return fail(err, EINVAL, "commit id: %s", git_msg());
        r = init_workspace(&repo, c->opts, err);
        if (r == 0)
                r = fetch_objects(c, repo, &want, job_specs, n_job, res, err);
        if (r == 0)
                r = check_out(c, repo, &want, lim, res, err);
        git_repository_free(repo);
        return r;
}

/* ---- a depth-1 copy from a local repository ----
 *
 * libgit2 1.5 cannot fetch shallow, and over the local transport it packs
 * the commit's whole history.  For a repository on this machine the commit
 * is read straight from its object database instead: a pack of the commit,
 * its tree and their blobs is built with libgit2's packbuilder and indexed
 * into the workspace, and .git/shallow records that history is cut.  The
 * source is opened without its configuration and never written to. */

struct pack_sink {
        struct fetch_ctx *c;
        git_odb_writepack *wp;
        git_indexer_progress *stats;
        uint64_t bytes;
};

/* one chunk of the pack the packbuilder writes, into the workspace's
 * indexer; max_pack_bytes holds here as it does for a download */
static int pack_chunk_cb(void *buf, size_t size, void *payload)
{
        struct pack_sink *s = payload;

        s->bytes += size;
        if (s->c->bytes_before + s->bytes > s->c->max_pack) {
                s->c->pack_cap_hit = true;
                git_error_set_str(GIT_ERROR_CALLBACK, "pack size limit reached");
                return -1;
        }
        return s->wp->append(s->wp, buf, size, s->stats);
}

/* The configuration the source repository is read with: exactly this
 * table, never the source's own config (nor the user's).  libgit2's
 * packbuilder reads its big-file threshold from pack.deltaCacheSize (a
 * slip still in libgit2's main branch; pack.bigFileThreshold is what a
 * fix would read, so both are set): at 1 byte no object is a delta
 * candidate.  A copy between two
 * directories of one machine gains nothing from deltas, and the delta
 * search dominated the copy's time (megabyte blobs compared pairwise). */
static const struct {
        const char *name;       /* normalised: libgit2 lower-cases keys */
        const char *value;
} source_config[] = {
        { "pack.deltacachesize", "1" },
        { "pack.bigfilethreshold", "1" },
};

struct table_iter {
        git_config_iterator parent;
        size_t next;
        git_config_entry entry;
};

static void table_entry_free(git_config_entry *e)
{
        free(e);
}

static int table_get(git_config_backend *b, const char *key, git_config_entry **out)
{
        for (size_t i = 0; i < ARRAY_SIZE(source_config); i++) {
                if (strcasecmp(key, source_config[i].name) == 0) {
                        git_config_entry *e = xcalloc(1, sizeof(*e));

                        e->name = source_config[i].name;
                        e->value = source_config[i].value;
                        e->level = GIT_CONFIG_LEVEL_LOCAL;
                        e->free = table_entry_free;
                        *out = e;
                        return 0;
                }
        }
        return GIT_ENOTFOUND;
}

static int table_iter_next(git_config_entry **out, git_config_iterator *it)
{
        struct table_iter *ti = (struct table_iter *)it;

        if (ti->next >= ARRAY_SIZE(source_config))
                return GIT_ITEROVER;
        ti->entry = (git_config_entry){
                .name = source_config[ti->next].name,
                .value = source_config[ti->next].value,
                .level = GIT_CONFIG_LEVEL_LOCAL,
        };
        ti->next++;
        *out = &ti->entry;
        return 0;
}

static void table_iter_free(git_config_iterator *it)
{
        free(it);
}

static int table_iterator(git_config_iterator **out, git_config_backend *b)
{
        struct table_iter *ti = xcalloc(1, sizeof(*ti));

        ti->parent.backend = b;
        ti->parent.next = table_iter_next;
        ti->parent.free = table_iter_free;
        *out = &ti->parent;
        return 0;
}

static int table_open(git_config_backend *b, git_config_level_t level, const git_repository *repo)
{
        return 0;
}

static int table_read_only(void)
{
        git_error_set_str(GIT_ERROR_CONFIG, "the source repository's configuration is read-only");
        return -1;
}

static int table_set(git_config_backend *b, const char *key, const char *value)
{
        return table_read_only();
}

static int table_set_multivar(git_config_backend *b, const char *name, const char *regexp,
                              const char *value)
{
        return table_read_only();
}

static int table_del(git_config_backend *b, const char *key)
{
        return table_read_only();
}

static int table_del_multivar(git_config_backend *b, const char *key, const char *regexp)
{
        return table_read_only();
}

static int table_lock(git_config_backend *b)
{
        return table_read_only();
}

static int table_unlock(git_config_backend *b, int success)
{
        return table_read_only();
}

static void table_free(git_config_backend *b)
{
        free(b);
}

static int table_snapshot(git_config_backend **out, git_config_backend *b);

static git_config_backend *table_backend_new(void)
{
        git_config_backend *b = xcalloc(1, sizeof(*b));

        git_config_init_backend(b, GIT_CONFIG_BACKEND_VERSION);
        b->readonly = 1;
        b->open = table_open;
        b->get = table_get;
        b->set = table_set;
        b->set_multivar = table_set_multivar;
        b->del = table_del;
        b->del_multivar = table_del_multivar;
        b->iterator = table_iterator;
        b->snapshot = table_snapshot;
        b->lock = table_lock;
        b->unlock = table_unlock;
        b->free = table_free;
        return b;
}

/* the packbuilder reads a snapshot of the repository's config */
static int table_snapshot(git_config_backend **out, git_config_backend *b)
{
        *out = table_backend_new();
        return 0;
}

/* The source repository, read-only: the path itself or its .git, never a
 * parent directory.  Its config is replaced by source_config, so nothing
 * in it changes how the copy is made; libgit2 runs no hooks and writes
 * nothing to it. */
static int open_source(git_repository **out, struct fetch_ctx *c, const char *path,
                       struct err *err)
{
        git_config *cfg = NULL;
        git_config_backend *table = table_backend_new();
        int r;

        if (git_repository_open_ext(out, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0) {
                struct stat st;

                table_free(table);
                /* libgit2 refuses a repository another user owns; with no
                 * global config (safe.directory) this libgit2 says only
                 * "config value 'safe.directory' was not found" */
                if (stat(path, &st) == 0 && st.st_uid != geteuid())
                        return fail(err, EPERM, "fetching %s: the repository is owned by uid %u, "
                                    "not by the runner user (libgit2 refuses it)", c->safe_url,
                                    (unsigned)st.st_uid);
                return fail(err, EIO, "fetching %s: %s", c->safe_url, git_msg());
        }
        r = git_config_new(&cfg);
        if (r == 0) {
                r = git_config_add_backend(cfg, table, GIT_CONFIG_LEVEL_LOCAL, *out, 0);
                if (r < 0)
                        table_free(table);
                table = NULL;
        }
        if (r == 0)
                r = git_repository_set_config(*out, cfg);
        git_config_free(cfg);
        if (table != NULL)
                table_free(table);
        if (r < 0) {
                git_repository_free(*out);
                *out = NULL;
                return fail(err, EIO, "fetching %s: %s", c->safe_url, git_msg());
        }
        return 0;
}

/* The wanted object in the source, which must be a commit.  A missing id
 * gives the same error as the fetch; an unreadable object says why. */
static int source_commit(git_commit **out, struct fetch_ctx *c, git_repository *src,
                         const git_oid *want, struct err *err)
{
        git_object *obj = NULL;
        git_object_t type;
        int r = git_object_lookup(&obj, src, want, GIT_OBJECT_ANY);

        *out = NULL;
        if (r == GIT_ENOTFOUND)
                return fail(err, ENOENT, "commit %s not found in %s", c->opts->sha, c->safe_url);
        if (r < 0)
                return fail(err, EIO, "fetching %s: %s", c->safe_url, git_msg());
        type = git_object_type(obj);
        if (type != GIT_OBJECT_COMMIT) {
                git_object_free(obj);
                return fail(err, ENOENT, "commit %s not found in %s (the id names a %s)",
                            c->opts->sha, c->safe_url, git_object_type2string(type));
        }
        *out = (git_commit *)obj;
        return 0;
}

/* the commit, its tree and everything under it (gitlinks excluded: the
 * packbuilder skips them), indexed into dst's object database */
static int copy_commit(struct fetch_ctx *c, git_repository *src, git_commit *commit,
                       git_repository *dst, git_indexer_progress *stats, struct err *err)
{
        git_packbuilder *pb = NULL;
        git_odb *odb = NULL;
        git_odb_writepack *wp = NULL;
        struct pack_sink sink = { .c = c, .stats = stats };
        int r;

        r = git_packbuilder_new(&pb, src);
        if (r == 0)
                r = git_packbuilder_insert(pb, git_commit_id(commit), NULL);
        if (r == 0)
                r = git_packbuilder_insert_tree(pb, git_commit_tree_id(commit));
        if (r == 0)
                r = git_repository_odb(&odb, dst);
        if (r == 0)
                r = git_odb_write_pack(&wp, odb, transfer_cb, c);
        if (r == 0) {
                sink.wp = wp;
                r = git_packbuilder_foreach(pb, pack_chunk_cb, &sink);
        }
        if (r == 0)
                r = wp->commit(wp, stats);
        /* this libgit2's indexer counts objects, not bytes */
        stats->received_bytes = sink.bytes;
        if (wp != NULL)
                wp->free(wp);
        git_odb_free(odb);
        git_packbuilder_free(pb);
        if (r < 0)
                return fetch_error(c, err);
        return 0;
}

/* .git/shallow names the commit whose parents are absent, so git (and a
 * libgit2 that knows shallow repositories) does not look for them */
static int write_shallow(git_repository *dst, const git_oid *id, struct err *err)
{
        char hex[GIT_OID_HEXSZ + 2];
        _cleanup_free_ char *path = xasprintf("%sshallow", git_repository_path(dst));

        git_oid_tostr(hex, sizeof(hex), id);
        hex[GIT_OID_HEXSZ] = '\n';
        return file_write_new(path, hex, GIT_OID_HEXSZ + 1, 0644, err);
}

static int copy_local(struct fetch_ctx *c, const char *path, const struct fetch_limits *lim,
                      struct fetch_result *res, struct err *err)
{
        git_repository *src = NULL, *dst = NULL;
        git_commit *commit = NULL;
        git_tree *tree = NULL;
        git_indexer_progress stats = { 0 };
        git_oid want;
        int r;

        if (git_oid_fromstr(&want, c->opts->sha) < 0)
                return fail(err, EINVAL, "commit id: %s", git_msg());
        c->attempt = 1;
        r = open_source(&src, c, path, err);
        if (r == 0)
                r = init_workspace(&dst, c->opts, err);
        if (r == 0)
                r = source_commit(&commit, c, src, &want, err);
        if (r == 0 && git_commit_tree(&tree, commit) < 0)
                r = fail(err, EIO, "fetching %s: tree of commit %s: %s", c->safe_url,
                         c->opts->sha, git_msg());
        /* the limits and entry names, before anything is copied */
        if (r == 0)
                r = check_tree(src, tree, lim, res, err);
        if (r == 0)
                r = copy_commit(c, src, commit, dst, &stats, err);
        c->bytes_before += stats.received_bytes;
        c->objects_before += stats.received_objects;
        if (r == 0)
                r = write_shallow(dst, &want, err);
        if (r == 0) {
                res->method = FETCH_BY_SHA;
                res->shallow = true;
                r = check_out(c, dst, &want, lim, res, err);
        }
        git_tree_free(tree);
        git_commit_free(commit);
        git_repository_free(dst);
        git_repository_free(src);
        return r;
}

int fetch_commit(const struct fetch_opts *opts, struct fetch_result *res, struct err *err)
{
        _cleanup_(url_freep) struct url url = URL_INIT;
        _cleanup_free_ char *safe_url = NULL;
        char sha[FETCH_SHA_HEX_MAX + 1];
        char *specs[FETCH_MAX_REFSPECS] = { NULL };
        struct fetch_limits lim;
        struct fetch_opts o = *opts;
        struct fetch_ctx c = { 0 };
        int r;

        memset(res, 0, sizeof(*res));
        r = parse_sha(sha, opts->sha, err);
        if (r < 0)
                return r;
        o.sha = sha;
        r = url_parse(&url, opts->url, opts->url_flags, err);
        if (r < 0)
                return r;
        if (opts->forge_url != NULL) {
                r = url_require_host(&url, opts->forge_url, err);
                if (r < 0)
                        return r;
        }
        if (opts->n_refspecs > FETCH_MAX_REFSPECS)
                return fail(err, EINVAL, "more than %d refspecs", FETCH_MAX_REFSPECS);
        limits_fill(&lim, &opts->limits);
        r = check_workspace(opts->workspace, err);
        if (r < 0)
                return r;
        r = apply_global_options(opts, lim.max_checkout_bytes > MIN_OBJECT_LIMIT
                                       ? lim.max_checkout_bytes : MIN_OBJECT_LIMIT, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < opts->n_refspecs && r == 0; i++) {
                r = fetch_refspec_rewrite(&specs[i], opts->refspecs[i], err);
                if (r < 0)
                        err_wrap(err, "job refspec %zu", i + 1);
        }

        if (r == 0) {
                safe_url = url_redact(url.url);
                c.opts = &o;
                c.safe_url = safe_url;
                c.remote_url = url.url;
                c.host = url.host != NULL ? url.host : url.path;
                c.network = url.host != NULL;
                c.max_pack = lim.max_pack_bytes;
                /* a repository on this machine: a depth-1 copy, unless the job
                 * names refspecs, which only a fetch honours */
                if (!c.network && opts->n_refspecs == 0)
                        r = copy_local(&c, url.path, &lim, res, err);
                else
                        r = fetch_into(&c, &lim, specs, opts->n_refspecs, res, err);
                res->attempts = c.attempt;
                res->received_bytes = c.bytes_before;
                res->objects = c.objects_before;
        }
        for (size_t i = 0; i < ARRAY_SIZE(specs); i++)
                free(specs[i]);
        return r;
}
