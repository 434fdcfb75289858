#include "workspace.h"

#include <dirent.h>
#include <errno.h>
#include <fts.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/randid.h"
#include "runner/util/xalloc.h"

/* the sub-directories and whether the jail writes them */
static const struct {
        size_t offset;
        const char *name;
        bool jail_writes;
} subdirs[] = {
        { offsetof(struct workspace, repo), "repo", true },
        { offsetof(struct workspace, data), "data", true },
        { offsetof(struct workspace, etc), "etc", false },
        { offsetof(struct workspace, out), "out", true },
};

static char **field(struct workspace *ws, size_t offset)
{
        return (char **)((char *)ws + offset);
}

void workspace_release(struct workspace *ws)
{
        free(ws->root);
        for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++)
                free(*field(ws, subdirs[i].offset));
        free(ws->log);
        memset(ws, 0, sizeof(*ws));
}

int workspace_destroy(struct workspace *ws, struct err *err)
{
        int r = 0;

        if (ws->root != NULL)
                r = rm_rf(ws->root, err);
        workspace_release(ws);
        return r;
}

int workspace_create(struct workspace *ws, const char *work_dir, const char *exec_id,
                     uid_t owner, gid_t group, struct err *err)
{
        struct workspace w = { 0 };
        int r;

        if (!randid_valid(exec_id))
                return err_set(err, EINVAL, "workspace: \"%s\" is not an execution id", exec_id);
        r = mkdir_p(work_dir, 0755, err);
        if (r < 0)
                return err_wrap(err, "workspace");
        w.root = xasprintf("%s/%s%s", work_dir, WORKSPACE_PREFIX, exec_id);
        if (mkdir(w.root, 0700) < 0) {
                r = err_set(err, errno, "workspace: mkdir %s", w.root);
                free(w.root);
                return r;
        }
        for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
                char *p = xasprintf("%s/%s", w.root, subdirs[i].name);

                *field(&w, subdirs[i].offset) = p;
                if (mkdir(p, subdirs[i].jail_writes ? 0700 : 0755) < 0) {
                        r = err_set(err, errno, "workspace: mkdir %s", p);
                        goto fail;
                }
                if (subdirs[i].jail_writes && owner != (uid_t)-1 &&
                    lchown(p, owner, group) < 0) {
                        r = err_set(err, errno, "workspace: chown %s to %u", p, (unsigned)owner);
                        goto fail;
                }
        }
        /* the jail's user must traverse the root to reach its binds */
        if (owner != (uid_t)-1 && owner != getuid() && chmod(w.root, 0711) < 0) {
                r = err_set(err, errno, "workspace: chmod %s", w.root);
                goto fail;
        }
        w.log = xasprintf("%s/log", w.root);
        *ws = w;
        return 0;
fail:
        workspace_destroy(&w, NULL);
        return r;
}

int workspace_list_leftovers(char ***ids, const char *work_dir, struct err *err)
{
        _cleanup_strv_free_ char **v = xcalloc(1, sizeof(char *));
        size_t n = 0;
        DIR *d = opendir(work_dir);
        struct dirent *de;

        if (d == NULL) {
                if (errno == ENOENT) {
                        *ids = TAKE_PTR(v);
                        return 0;
                }
                return err_set(err, errno, "workspace: open %s", work_dir);
        }
        while ((de = readdir(d)) != NULL) {
                const char *id = de->d_name + strlen(WORKSPACE_PREFIX);

                if (strncmp(de->d_name, WORKSPACE_PREFIX, strlen(WORKSPACE_PREFIX)) != 0 ||
                    !randid_valid(id))
                        continue;
                v = xreallocarray(v, n + 2, sizeof(char *));
                v[n++] = xstrdup(id);
                v[n] = NULL;
        }
        closedir(d);
        *ids = TAKE_PTR(v);
        return 0;
}

int workspace_chown_tree(const char *path, uid_t owner, gid_t group, struct err *err)
{
        char *const roots[] = { (char *)path, NULL };
        FTS *fts;
        FTSENT *e;
        int r = 0;

        if (owner == (uid_t)-1 || owner == geteuid())
                return 0;
        fts = fts_open(roots, FTS_PHYSICAL | FTS_XDEV | FTS_NOCHDIR, NULL);
        if (fts == NULL)
                return err_set(err, errno, "workspace: walk %s", path);
        while ((e = fts_read(fts)) != NULL) {
                if (e->fts_info == FTS_DP)
                        continue;
                if (e->fts_info == FTS_ERR || e->fts_info == FTS_DNR || e->fts_info == FTS_NS) {
                        r = err_set(err, e->fts_errno, "workspace: walk %s", e->fts_path);
                        break;
                }
                if (lchown(e->fts_accpath, owner, group) < 0) {
                        r = err_set(err, errno, "workspace: chown %s", e->fts_path);
                        break;
                }
        }
        fts_close(fts);
        return r;
}
