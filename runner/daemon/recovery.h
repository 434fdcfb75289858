/* recovery.h - what a daemon that was killed (kill -9, a crash, a power
 * cut) leaves behind, and its removal at the next start (docs/daemon.md).
 *
 * The journal: while a job runs, STATE_DIR/running/<exec id>.json (0600)
 * names it: forge, job id, project, commit, the daemon's pid.  It is
 * written before the job is started on the forge and removed after the
 * job was reported, so an entry found at start (the daemon holds the state
 * directory's lock, so no live daemon owns it) is a job whose report never
 * went out.
 *
 * Recovery, at start, before any job is taken:
 *   - each journal entry: its workspace and its cgroups (tasks killed) are
 *     removed; the job is logged and audited as interrupted.  forge_ops has
 *     no call to fail a job the runner no longer holds, so the forge is not
 *     told (GitLab fails the job when its timeout passes); docs/daemon.md
 *     proposes the forge.h addition;
 *   - leftover workspaces in work_dir with no journal entry (a `tfgate
 *     check` may share work_dir) are removed once older than the longest a
 *     job can live (sandbox.wall_timeout plus a margin);
 *   - cgroups tfgate-<id> below the daemon's own cgroup (v1 memory, pids
 *     and cpu hierarchies, or v2): those of recovered jobs are emptied
 *     (SIGKILL, cgroup.kill on v2) and removed; empty ones are removed;
 *     others with live tasks belong to a live jail and are left alone;
 *   - mounts below a removed workspace (there should be none: the jail's
 *     mounts live in its own mount namespace and die with it) are detached
 *     first; network namespaces are held by file descriptors only and
 *     cannot outlive the runner. */
#ifndef TFGATE_RECOVERY_H
#define TFGATE_RECOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "runner/config/config.h"
#include "runner/sign/audit.h"
#include "runner/util/err.h"

struct recovery_entry {
        char exec_id[33];
        char forge[65];
        char job_id[256];
        char project[256];
        char commit[65];
        long pid;
};

/* write dir/<exec_id>.json (0600, atomically); dir is created 0700 */
int recovery_journal_add(const char *dir, const struct recovery_entry *e, struct err *err);
/* remove dir/<exec_id>.json; a missing entry is not an error */
int recovery_journal_remove(const char *dir, const char *exec_id, struct err *err);
/* the entries of dir (bounded: at most max, malformed ones skipped with a
 * warning); *out is malloc'd */
int recovery_journal_list(struct recovery_entry **out, size_t *n, const char *dir, size_t max,
                          struct err *err);

struct recovery_report {
        size_t jobs;                    /* journal entries recovered */
        size_t workspaces;              /* workspaces removed */
        size_t cgroups;                 /* cgroups removed */
        size_t cgroups_killed;          /* of which had tasks (killed) */
        size_t mounts;                  /* mounts detached */
        size_t kept;                    /* leftovers kept (too young, or in use) */
};

/* where to look for cgroups: /proc/self/mountinfo and /proc/self/cgroup
 * text; NULL = read the real ones (tests pass a fake tree's) */
struct recovery_env {
        const char *mountinfo;
        const char *self_cgroup;
        uint64_t workspace_min_age_ms;  /* 0 = wall_timeout + 10 min */
};

int recovery_run(struct recovery_report *out, const struct config *cfg, const char *journal_dir,
                 struct audit_log *audit, const struct recovery_env *env, struct err *err);

/* the cgroup directories named tfgate-<id> below our own groups, for the
 * given id (NULL = every tfgate-* group); NULL-terminated */
char **recovery_cgroups(const char *mountinfo, const char *self_cgroup, const char *exec_id);

#endif
