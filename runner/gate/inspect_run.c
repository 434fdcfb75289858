/* inspect_run.c - gate_inspect(): one repository, every configured root,
 * read from disk (configuration, lock file, mirror) and joined by
 * gate_evaluate (inspect.c). */
#include "inspect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../hcl/hcl.h"
#include "../providers/hash.h"
#include "../providers/lockfile.h"
#include "../providers/mirror.h"
#include "../util/cleanup.h"
#include "../util/fileio.h"
#include "../util/log.h"
#include "../util/xalloc.h"

#define LOCK_FILE_NAME ".terraform.lock.hcl"

/* the first mirror failure that is the runner's, not the repository's */
struct mirror_ctx {
        const char *root;
        const char *cache_dir;
        int error;
        struct err err;
};

static enum gate_mirror verify_cb(void *ctx, const char *source, const char *version,
                                  const char *const *hashes, size_t n_hashes, char **detail)
{
        struct mirror_ctx *mc = ctx;
        const struct mirror_request req = { source, version, NULL, hashes, n_hashes };
        struct mirror_result res;
        int r;

        if (mc->error < 0)
                return GATE_MIRROR_MISSING;     /* gate_inspect fails anyway */
        r = mirror_verify(&res, mc->root, mc->cache_dir, &req, &mc->err);
        if (r < 0) {
                mc->error = r;
                return GATE_MIRROR_MISSING;
        }
        switch (res.status) {
        case MIRROR_VERIFIED:
                return GATE_MIRROR_VERIFIED;
        case MIRROR_MISSING:
                *detail = xstrdup(res.reason);
                return GATE_MIRROR_MISSING;
        case MIRROR_MISMATCH:
                *detail = xstrdup(res.reason);
                return GATE_MIRROR_MISMATCH;
        case MIRROR_NOT_CONFIGURED:
                break;
        }
        return GATE_MIRROR_NOT_CONFIGURED;
}

/* the lock file's text, or *out NULL when the root has none; the path is
 * opened beneath the repository so a symlinked lock file cannot leave it,
 * and must be a regular file (a fifo would block the runner) */
static int read_lock_text(char **out, size_t *len, int repo_fd, const char *rel, struct err *err)
{
        _cleanup_close_ int fd = phash_open_beneath(repo_fd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
        struct stat st;
        int r;

        *out = NULL;
        if (fd == -ENOENT)
                return 0;
        if (fd == -EXDEV || fd == -ELOOP) {
                err_set(err, 0, "%s:1:1: lock file resolves outside the repository", rel);
                return err->code = -EBADMSG;
        }
        if (fd < 0)
                return err_set(err, -fd, "%s", rel);
        if (fstat(fd, &st) < 0)
                return err_set(err, errno, "%s", rel);
        if (!S_ISREG(st.st_mode)) {
                err_set(err, 0, "%s:1:1: lock file is not a regular file", rel);
                return err->code = -EBADMSG;
        }
        r = fd_read_all(out, len, fd, HCL_MAX_FILE_SIZE, err);
        if (r == -EFBIG) {
                err_set(err, 0, "%s:1:1: lock file is larger than %zu bytes", rel, HCL_MAX_FILE_SIZE);
                return err->code = -EBADMSG;
        }
        return r < 0 ? err_wrap(err, "%s", rel) : 0;
}

/* the lock reader's entries seen through the gate's struct (borrowed) */
struct lock_view {
        struct gate_lock lock;
        struct gate_lock_entry *entries;
        const char ***hashes;
        size_t n;
};

static void lock_view_free(struct lock_view *v)
{
        for (size_t i = 0; i < v->n; i++)
                free(v->hashes[i]);
        free(v->hashes);
        free(v->entries);
}

static void lock_view_init(struct lock_view *v, const char *file, const struct lock_file *lf)
{
        memset(v, 0, sizeof(*v));
        v->lock.file = file;
        v->lock.present = lf != NULL;
        if (lf == NULL)
                return;
        v->n = lf->n;
        v->entries = xcalloc(lf->n + 1, sizeof(*v->entries));
        v->hashes = xcalloc(lf->n + 1, sizeof(*v->hashes));
        for (size_t i = 0; i < lf->n; i++) {
                const struct lock_provider *p = &lf->providers[i];

                v->hashes[i] = xcalloc(p->n_hashes + 1, sizeof(char *));
                for (size_t k = 0; k < p->n_hashes; k++)
                        v->hashes[i][k] = p->hashes[k].value;
                v->entries[i] = (struct gate_lock_entry){
                        .source = p->source,
                        .version = p->version,
                        .constraints = p->constraints,
                        .hashes = v->hashes[i],
                        .n_hashes = p->n_hashes,
                        .line = p->line,
                };
        }
        v->lock.entries = v->entries;
        v->lock.n_entries = lf->n;
}

static char *rel_join(const char *dir, const char *name)
{
        return strcmp(dir, ".") == 0 ? xstrdup(name) : xasprintf("%s/%s", dir, name);
}

static int inspect_root(struct gate_inspection *ins, int repo_fd, const char *repo, const char *root,
                        const struct config *cfg, struct mirror_ctx *mc, struct err *err)
{
        _cleanup_(tfconfig_freep) struct tfconfig *tc = NULL;
        _cleanup_(lock_file_freep) struct lock_file *lf = NULL;
        _cleanup_free_ char *lock_rel = NULL, *text = NULL;
        char *const roots[] = { (char *)root, NULL };
        struct lock_view view;
        size_t len = 0;
        int r;

        r = tfconfig_load(&tc, repo, roots, 1, tfconfig_default_host(cfg->terraform.binary), err);
        if (r < 0)
                return r;
        /* dirs[0] is the root's real path inside the repository */
        lock_rel = rel_join(tc->dirs[0], LOCK_FILE_NAME);
        if ((r = read_lock_text(&text, &len, repo_fd, lock_rel, err)) < 0)
                return r;
        if (text != NULL && (r = lock_parse(&lf, lock_rel, text, len, err)) < 0) {
                /* a lock file Terraform would refuse is the repository's fault */
                if (err)
                        err->code = -EBADMSG;
                return -EBADMSG;
        }
        lock_view_init(&view, lock_rel, lf);
        r = gate_evaluate(ins, root, tc, &view.lock, cfg, cfg->providers.mirror ? verify_cb : NULL, mc,
                          err);
        lock_view_free(&view);
        if (r < 0)
                return r;
        if (mc->error < 0) {
                if (err)
                        *err = mc->err;
                return mc->error;
        }
        return 0;
}

int gate_inspect(struct gate_inspection **out, const char *repo, const struct config *cfg,
                 const char *cache_dir, struct err *err)
{
        _cleanup_(gate_inspection_freep) struct gate_inspection *ins = gate_inspection_new();
        _cleanup_close_ int repo_fd = -1;
        struct mirror_ctx mc = { .root = cfg->providers.mirror, .cache_dir = cache_dir, .err = ERR_INIT };
        static char *const dot[] = { ".", NULL };
        char *const *roots = cfg->terraform.n_roots > 0 ? cfg->terraform.roots : dot;
        size_t n_roots = cfg->terraform.n_roots > 0 ? cfg->terraform.n_roots : 1;

        *out = NULL;
        repo_fd = open(repo, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (repo_fd < 0)
                return err_set(err, errno, "%s", repo);
        for (size_t i = 0; i < n_roots; i++) {
                int r = inspect_root(ins, repo_fd, repo, roots[i], cfg, &mc, err);

                if (r < 0)
                        return r;
        }
        policy_findings_sort(&ins->findings);
        policy_findings_dedup(&ins->findings);
        *out = TAKE_PTR(ins);
        return 0;
}

char *gate_default_cache_dir(const struct config *cfg)
{
        _cleanup_free_ char *dir = NULL;
        struct err e = ERR_INIT;

        if (cfg->state_dir == NULL)
                return NULL;
        dir = xasprintf("%s/cache", cfg->state_dir);
        if (mkdir_p(dir, 0700, &e) < 0 || access(dir, W_OK | X_OK) < 0) {
                log_debug("provider hash cache off: %s", e.code ? e.msg : strerror(errno));
                return NULL;
        }
        return TAKE_PTR(dir);
}
