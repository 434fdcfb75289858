/* recovery.h - what a daemon that was killed (kill -9, a crash, a power
 * cut) leaves behind, and its removal at the next start (docs/daemon.md).
 *
 * The journal: while a job runs, STATE_DIR/running/<exec id>.json (0600,
 * in a 0700 directory, written atomically) names it: forge, job id,
 * project, commit, the daemon's pid, and the adapter's handle
 * (forge_ops.job_handle: what it needs to report the job later; it holds
 * the job's token, so the file is private and buffers holding it are
 * wiped).  It is written before the job is started on the forge and
 * removed after the job was reported, so an entry found at start (the
 * daemon holds the state directory's lock, so no live daemon owns it) is
 * a job whose report never went out.
 *
 * Recovery, at start, before any job is taken:
 *   - each journal entry: its workspace and its cgroups (tasks killed) are
 *     removed; the job is reported failed to its forge through
 *     forge_ops.abandon (runner_system_failure on GitLab) when the forge is
 *     still configured and has the op; a forge that no longer accepts the
 *     job (403/404) or cannot be reached is logged, never retried in a
 *     loop; the entry is then removed and the job audited as recovered;
 *   - an entry that is not a regular file, over 16 KiB, not JSON, or has a
 *     missing, mistyped or out-of-shape field is logged with the reason and
 *     removed; the job is not reported (nothing in it can be trusted), but
 *     its workspace and cgroups (named by the file's own id) are cleaned;
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
#include "runner/forge/forge.h"
#include "runner/sign/audit.h"
#include "runner/util/err.h"

struct recovery_entry {
        char exec_id[33];
        char forge[65];
        char job_id[256];
        char project[256];
        char commit[65];
        long pid;
        char *handle;           /* forge_ops.job_handle's text (secret), NULL = none */
};

#define RECOVERY_ENTRY_MAX (16u << 10)  /* one journal file */
#define RECOVERY_HANDLE_MAX (4u << 10)  /* its handle */

/* write dir/<exec_id>.json (0600, atomically); dir is created 0700.
 * Refused: a bad execution id, a field that is not valid UTF-8, a handle
 * over RECOVERY_HANDLE_MAX. */
int recovery_journal_add(const char *dir, const struct recovery_entry *e, struct err *err);
/* remove dir/<exec_id>.json; a missing entry is not an error */
int recovery_journal_remove(const char *dir, const char *exec_id, struct err *err);
/* the entries of dir (bounded: at most max); *out is malloc'd, free it
 * with recovery_entries_free.  Malformed ones are logged with the reason
 * and removed; when corrupt is not NULL their execution ids (from the file
 * names) are returned there, NULL-terminated, for clean-up. */
int recovery_journal_list(struct recovery_entry **out, size_t *n, char ***corrupt, const char *dir,
                          size_t max, struct err *err);
/* one entry from its file's text: 0, or -EBADMSG with err saying which
 * field is wrong (id = the execution id the file is named after) */
int recovery_entry_parse(struct recovery_entry *out, const char *text, size_t len, const char *id,
                         struct err *err);
/* wipes the handles */
void recovery_entries_free(struct recovery_entry *v, size_t n);

struct recovery_report {
        size_t jobs;                    /* journal entries recovered */
        size_t workspaces;              /* workspaces removed */
        size_t cgroups;                 /* cgroups removed */
        size_t cgroups_killed;          /* of which had tasks (killed) */
        size_t mounts;                  /* mounts detached */
        size_t kept;                    /* leftovers kept (too young, or in use) */
        size_t reported;                /* jobs reported failed to their forge */
        size_t refused;                 /* jobs the forge no longer accepted */
        size_t unreported;              /* no forge, no handle, a corrupt entry, or an error */
};

/* where to look for cgroups: /proc/self/mountinfo and /proc/self/cgroup
 * text; NULL = read the real ones (tests pass a fake tree's) */
struct recovery_env {
        const char *mountinfo;
        const char *self_cgroup;
        uint64_t workspace_min_age_ms;  /* 0 = wall_timeout + 10 min */
};

/* forges: the configured adapters (by forge->name), for reporting the
 * journaled jobs; may be empty */
int recovery_run(struct recovery_report *out, const struct config *cfg, const char *journal_dir,
                 struct forge *const *forges, size_t n_forges, struct audit_log *audit,
                 const struct recovery_env *env, struct err *err);

/* the cgroup directories named tfgate-<id> below our own groups, for the
 * given id (NULL = every tfgate-* group); NULL-terminated */
char **recovery_cgroups(const char *mountinfo, const char *self_cgroup, const char *exec_id);

#endif
