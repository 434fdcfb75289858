/* fetch.h - fetch exactly one commit into a fresh workspace (libgit2).
 *
 * fetch_commit() initialises a repository in an existing, empty directory,
 * fetches the wanted commit, checks its size against the limits by walking
 * its tree before anything is written, checks it out with HEAD detached at
 * that commit, and verifies HEAD.  What is fetched, in order (docs/fetch.md):
 *   1. the job's refspecs, if any (sources under refs/, destinations always
 *      rewritten under refs/tfgate/), when they bring the commit;
 *   2. the commit by its id ("+SHA:refs/tfgate/want"), which servers allow
 *      with allow-reachable-sha1-in-want (GitHub, GitLab) and the local
 *      transport always allows;
 *   3. all branches, tags and merge-request / pull-request heads.
 * libgit2 1.5 has no shallow fetch: over https history comes along (see
 * docs).  A repository on this machine (file://, a path) without job
 * refspecs is instead copied at depth 1: the commit, its tree and blobs
 * are packed from the source's object database with libgit2's packbuilder
 * and .git/shallow names the commit; the checks and checkout are the same.
 *
 * Never: hooks, submodules (gitlinks stay empty directories), LFS or any
 * other external filter, the user's or system's git config (url.insteadOf,
 * proxies), redirects, credentials in a URL, TLS without verification.
 *
 * Process-wide libgit2 settings (config search paths, CA locations,
 * maximum object size) are applied on each call under a lock; concurrent
 * fetches are expected to pass the same ca_file and limits. */
#ifndef TFGATE_FETCH_H
#define TFGATE_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runner/util/err.h"
#include "url.h"

#define FETCH_SHA_HEX_MAX 64

/* Defaults for a zero field in struct fetch_limits. */
#define FETCH_DEFAULT_MAX_PACK_BYTES     (1024ull << 20)   /* 1 GiB */
#define FETCH_DEFAULT_MAX_CHECKOUT_BYTES (512ull << 20)    /* 512 MiB */
#define FETCH_DEFAULT_MAX_FILES          100000ull
#define FETCH_MAX_REFSPECS               16

struct fetch_limits {
        uint64_t max_pack_bytes;      /* bytes received over all attempts */
        uint64_t max_checkout_bytes;  /* sum of blob sizes in the commit's tree */
        uint64_t max_files;           /* tree entries that become files/links */
};

enum fetch_phase { FETCH_PHASE_RECEIVE = 0, FETCH_PHASE_INDEX, FETCH_PHASE_CHECKOUT };

struct fetch_progress {
        enum fetch_phase phase;
        unsigned attempt;             /* 1-based: which of the ordered attempts */
        uint64_t total_objects;
        uint64_t received_objects;
        uint64_t indexed_objects;
        uint64_t received_bytes;      /* this attempt */
        uint64_t checkout_done;       /* FETCH_PHASE_CHECKOUT: files */
        uint64_t checkout_total;
};

/* Called often; must be cheap.  Runs on the fetching thread. */
typedef void (*fetch_progress_fn)(const struct fetch_progress *p, void *userdata);

struct fetch_opts {
        const char *url;              /* checked with url_parse(url_flags) */
        unsigned url_flags;           /* URL_ALLOW_LOCAL, URL_ALLOW_HTTP_LOOPBACK */
        const char *forge_url;        /* non-NULL: repo host must equal its host */
        const char *sha;              /* 40 hex digits (64: refused, libgit2 1.5
                                       * has no SHA-256 repositories) */
        const char *const *refspecs;  /* the job's, may be NULL */
        size_t n_refspecs;
        const char *workspace;        /* existing empty directory, not a symlink */
        const char *username;         /* with password: HTTP basic credentials */
        const char *password;         /* never logged, never put in a URL */
        const char *ca_file;          /* NULL: system CA store */
        struct fetch_limits limits;   /* zero fields take the defaults */
        fetch_progress_fn progress;   /* NULL: quiet */
        void *progress_data;
};

enum fetch_method { FETCH_BY_REFSPEC = 0, FETCH_BY_SHA, FETCH_ALL_REFS };

struct fetch_result {
        char head[FETCH_SHA_HEX_MAX + 1];   /* the checked-out commit, hex */
        enum fetch_method method;           /* which attempt brought it */
        unsigned attempts;                  /* fetches made */
        uint64_t received_bytes;            /* over all attempts */
        uint64_t objects;                   /* received objects, all attempts */
        uint64_t checkout_bytes;            /* blob bytes written */
        uint64_t files;                     /* files and symlinks written */
        uint64_t gitlinks;                  /* submodule entries left empty */
        bool shallow;                       /* depth 1: .git/shallow names head */
};

/* Fetch and check out opts->sha into opts->workspace.  On failure the
 * workspace may hold a partial repository; the caller deletes it (it owns
 * the directory).  Errors name the URL without credentials. */
int fetch_commit(const struct fetch_opts *opts, struct fetch_result *res, struct err *err);

/* 0 when spec is an acceptable job refspec ("[+]refs/...[:dst]"), and
 * *out = the refspec tfgate fetches instead: "+refs/X:refs/tfgate/X". */
int fetch_refspec_rewrite(char **out, const char *spec, struct err *err);

const char *fetch_method_name(enum fetch_method m);

#endif
