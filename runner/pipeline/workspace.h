/* workspace.h - the per-job directory tree, named by the execution id.
 *
 *   WORK_DIR/tfgate-<exec id>/          0700, owned by the runner
 *       repo/    the checkout           -> /workspace   (rw, noexec)
 *       data/    TF_DATA_DIR            -> /tfdata      (rw noexec in init, then ro exec)
 *       etc/     cli.tfrc               -> /tfgate      (ro)
 *       out/     plan file, state       -> /tfgate-out  (rw, noexec)
 *       log      the job's filtered log (never mounted)
 *
 * Creation uses mkdir(2) without -p for the job directory, so an id that
 * already exists is refused (ids are never reused).  The directories the
 * jail writes are handed to the uid/gid the jail's processes have outside
 * their user namespace.  workspace_destroy() removes everything without
 * following symlinks or crossing mounts; it runs on every path. */
#ifndef TFGATE_WORKSPACE_H
#define TFGATE_WORKSPACE_H

#include <stdbool.h>
#include <sys/types.h>

#include "runner/util/err.h"

#define WORKSPACE_PREFIX "tfgate-"

struct workspace {
        char *root;     /* WORK_DIR/tfgate-<id> */
        char *repo;
        char *data;
        char *etc;
        char *out;
        char *log;
};

/* owner/group: who the jail runs as on the host; (uid_t)-1 = the caller */
int workspace_create(struct workspace *ws, const char *work_dir, const char *exec_id,
                     uid_t owner, gid_t group, struct err *err);
/* hand a tree (the checkout) to the jail's ids: lchown every entry, never
 * following a symlink or crossing a mount */
int workspace_chown_tree(const char *path, uid_t owner, gid_t group, struct err *err);

/* remove the tree and free the paths; safe on a zeroed or half-made ws */
int workspace_destroy(struct workspace *ws, struct err *err);
/* free the paths only (the tree stays, e.g. with --keep) */
void workspace_release(struct workspace *ws);

/* Execution ids of leftover job directories under work_dir (a crashed or
 * killed runner), NULL-terminated; free with strv_free */
int workspace_list_leftovers(char ***ids, const char *work_dir, struct err *err);

#endif
