/* test_fetch.c - fetch_commit() against local repositories this test builds
 * with the git CLI in a temporary directory, and against a smart-HTTP server
 * (git http-backend behind test_fetch_httpd.py, basic auth, 127.0.0.1).
 *
 * The fixture repository is hostile in the ways a job's repository can be:
 * a symlink out of the tree, filter=lfs and eol=crlf attributes, committed
 * hooks with a committed core.hooksPath, a submodule, and (on other
 * branches) trees whose entry names try to escape the workspace.  The
 * process's HOME carries a hostile ~/.gitconfig (url.insteadOf, hooksPath)
 * that must have no effect. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runner/fetch/fetch.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

extern char **environ;

#define HTTP_USER "gitlab-ci-token"
#define HTTP_PASS "glcbt-s3cret-t0ken"

static char T[64];               /* the test's temporary directory */
static char SRC[128];            /* the fixture repository */
static char MAIN_SHA[41], SIDE_SHA[41], BAD_SHA[4][41];
static unsigned ws_counter;

static const char *const bad_branches[] = { "evil-dotdot", "evil-dotgit", "evil-slash",
                                            "evil-ntfs" };

/* Run argv in dir with a fixed environment; stdout (trimmed) into out. */
static int run(char *out, size_t outsz, const char *dir, const char *const *argv,
               const char *stdin_data, size_t stdin_len)
{
        _cleanup_free_ char *home = xasprintf("HOME=%s/githome", T);
        const char *path = getenv("PATH");
        _cleanup_free_ char *pathenv = xasprintf("PATH=%s", path ? path : "/usr/bin:/bin");
        char *envp[] = {
                pathenv, home, "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=t",
                "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
                "GIT_COMMITTER_EMAIL=t@example.com", "GIT_AUTHOR_DATE=1700000000 +0000",
                "GIT_COMMITTER_DATE=1700000000 +0000", "LC_ALL=C", NULL,
        };
        int outp[2], inp[2], status;
        posix_spawn_file_actions_t fa;
        pid_t pid;
        size_t n = 0;

        if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(inp, O_CLOEXEC) < 0)
                return -1;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
        posix_spawn_file_actions_adddup2(&fa, inp[0], 0);
        posix_spawn_file_actions_addchdir_np(&fa, dir);
        if (posix_spawnp(&pid, argv[0], &fa, NULL, (char **)argv, envp) != 0) {
                posix_spawn_file_actions_destroy(&fa);
                return -1;
        }
        posix_spawn_file_actions_destroy(&fa);
        close(outp[1]);
        close(inp[0]);
        if (stdin_len > 0 && write_all(inp[1], stdin_data, stdin_len) < 0)
                fprintf(stderr, "short write to %s\n", argv[0]);
        close(inp[1]);
        for (;;) {
                char tmp[4096];
                ssize_t k = read(outp[0], tmp, sizeof(tmp));

                if (k <= 0)
                        break;
                for (ssize_t i = 0; i < k && out != NULL && n + 1 < outsz; i++)
                        out[n++] = tmp[i];
        }
        close(outp[0]);
        if (out != NULL) {
                while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
                        n--;
                out[n] = '\0';
        }
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return -1;
        return 0;
}

#define GIT(dir, ...)                                                           \
        do {                                                                    \
                const char *const argv_[] = { "git", __VA_ARGS__, NULL };       \
                if (run(NULL, 0, dir, argv_, NULL, 0) < 0)                      \
                        fail_msg("git %s failed in %s", argv_[1], dir);         \
        } while (0)

#define GIT_OUT(out, dir, ...)                                                  \
        do {                                                                    \
                const char *const argv_[] = { "git", __VA_ARGS__, NULL };       \
                if (run(out, sizeof(out), dir, argv_, NULL, 0) < 0)             \
                        fail_msg("git %s failed in %s", argv_[1], dir);         \
        } while (0)

static void put(const char *dir, const char *name, const char *content, mode_t mode)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
        struct err err = ERR_INIT;

        if (file_write_atomic(p, content, strlen(content), mode, &err) < 0)
                fail_msg("%s", err.msg);
}

static bool exists(const char *path)
{
        struct stat st;

        return lstat(path, &st) == 0;
}

/* A tree object holding one entry, written byte by byte, so that names
 * git's porcelain would never create ("..", ".git", "a/b") can be tried. */
static void hash_tree(char out[41], const char *mode, const char *name, const char *sha_hex)
{
        unsigned char raw[128];
        size_t n = (size_t)snprintf((char *)raw, sizeof(raw), "%s %s", mode, name) + 1;
        const char *const argv[] = { "git", "hash-object", "--literally", "-t", "tree", "-w",
                                     "--stdin", NULL };
        char buf[64];

        for (size_t i = 0; i < 20; i++) {
                unsigned v;

                sscanf(sha_hex + 2 * i, "%2x", &v);
                raw[n++] = (unsigned char)v;
        }
        if (run(buf, sizeof(buf), SRC, argv, (const char *)raw, n) < 0)
                fail_msg("hash-object of a crafted tree failed");
        memcpy(out, buf, 40);
        out[40] = '\0';
}

static void make_bad_branches(const char *blob)
{
        char inner[41], top[41], commit[64];
        struct {
                const char *mode, *name;
                bool nest;      /* put the blob under NAME/config */
        } shapes[] = {
                { "100644", "..", false },
                { "40000", ".git", true },
                { "100644", "../x", false },
                { "40000", ".git.", true },
        };

        for (size_t i = 0; i < ARRAY_SIZE(shapes); i++) {
                if (shapes[i].nest) {
                        hash_tree(inner, "100644", "config", blob);
                        hash_tree(top, shapes[i].mode, shapes[i].name, inner);
                } else {
                        hash_tree(top, shapes[i].mode, shapes[i].name, blob);
                }
                {
                        const char *const argv[] = { "git", "commit-tree", top, "-m", "evil", NULL };

                        if (run(commit, sizeof(commit), SRC, argv, NULL, 0) < 0)
                                fail_msg("commit-tree failed");
                }
                memcpy(BAD_SHA[i], commit, 40);
                BAD_SHA[i][40] = '\0';
                {
                        _cleanup_free_ char *ref = xasprintf("refs/heads/%s", bad_branches[i]);

                        GIT(SRC, "update-ref", ref, BAD_SHA[i]);
                }
        }
}

static int setup(void **state)
{
        _cleanup_free_ char *evilhome = NULL, *githome = NULL, *gitconfig = NULL;
        _cleanup_free_ char *hook = NULL, *target = NULL, *out = NULL;
        char *sub;
        char blob[64];

        snprintf(T, sizeof(T), "/tmp/tfgate-test-fetch-XXXXXX");
        if (mkdtemp(T) == NULL)
                return -1;
        snprintf(SRC, sizeof(SRC), "%s/src", T);
        githome = xasprintf("%s/githome", T);
        evilhome = xasprintf("%s/evilhome", T);
        mkdir(githome, 0700);
        mkdir(evilhome, 0700);
        mkdir(SRC, 0700);

        /* what the runner user's own git config might say: none of it may
         * reach the fetch (search paths are emptied) */
        gitconfig = xasprintf("[url \"file:///nonexistent/\"]\n\tinsteadOf = file://%s\n"
                              "[url \"/nonexistent/\"]\n\tinsteadOf = %s\n"
                              "[core]\n\thooksPath = %s/evilhooks\n", T, T, T);
        put(evilhome, ".gitconfig", gitconfig, 0600);
        setenv("HOME", evilhome, 1);
        setenv("XDG_CONFIG_HOME", evilhome, 1);

        GIT(SRC, "init", "-q", "-b", "main");
        put(SRC, "main.tf", "terraform {}\n", 0644);
        put(SRC, "crlf.txt", "one\ntwo\n", 0644);
        put(SRC, ".gitattributes", "*.tf filter=lfs diff=lfs merge=lfs -text\n"
                                   "crlf.txt text eol=crlf\n", 0644);
        sub = xasprintf("%s/.githooks", SRC);
        mkdir(sub, 0755);
        free(sub);
        hook = xasprintf("#!/bin/sh\ntouch %s/hook-ran\n", T);
        put(SRC, ".githooks/post-checkout", hook, 0755);
        put(SRC, ".gitconfig", "[core]\n\thooksPath = .githooks\n", 0644);
        sub = xasprintf("%s/modules", SRC);
        mkdir(sub, 0755);
        free(sub);
        put(SRC, "modules/vpc.tf", "variable \"x\" {}\n", 0644);
        target = xasprintf("%s/outside", T);
        sub = xasprintf("%s/out", SRC);
        if (symlink(target, sub) < 0)
                return -1;
        free(sub);
        out = xasprintf("[submodule \"sub\"]\n\tpath = sub\n\turl = file://%s/src\n", T);
        put(SRC, ".gitmodules", out, 0644);
        GIT(SRC, "add", "-A");
        GIT(SRC, "update-index", "--add", "--cacheinfo",
            "160000,1111111111111111111111111111111111111111,sub");
        GIT(SRC, "commit", "-q", "-m", "main");
        GIT_OUT(MAIN_SHA, SRC, "rev-parse", "HEAD");

        GIT(SRC, "checkout", "-q", "-b", "side");
        put(SRC, "side.tf", "# side\n", 0644);
        GIT(SRC, "add", "side.tf");
        GIT(SRC, "commit", "-q", "-m", "side");
        GIT_OUT(SIDE_SHA, SRC, "rev-parse", "HEAD");
        GIT(SRC, "checkout", "-q", "main");

        GIT_OUT(blob, SRC, "rev-parse", "HEAD:main.tf");
        make_bad_branches(blob);
        return 0;
}

static int teardown(void **state)
{
        struct err err = ERR_INIT;

        if (T[0] != '\0' && rm_rf(T, &err) < 0)
                fprintf(stderr, "teardown: %s\n", err.msg);
        return 0;
}

static char *new_ws(void)
{
        char *ws = xasprintf("%s/ws-%u", T, ws_counter++);

        if (mkdir(ws, 0700) < 0)
                fail_msg("mkdir %s", ws);
        return ws;
}

static bool exists_in(const char *dir, const char *name)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);

        return exists(p);
}

static bool dir_has_only_git(const char *ws)
{
        _cleanup_free_ char *p = xasprintf("%s/main.tf", ws);

        return !exists(p);
}

static int cmp_line(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the lines of s, sorted, joined by '\n' into out */
static void sort_lines(char *out, size_t outsz, char *s)
{
        char *lines[4096];
        size_t n = 0, len = 0;

        for (char *l = s; *l != '\0' && n < ARRAY_SIZE(lines);) {
                char *nl = strchr(l, '\n');

                lines[n++] = l;
                if (nl == NULL)
                        break;
                *nl = '\0';
                l = nl + 1;
        }
        qsort(lines, n, sizeof(lines[0]), cmp_line);
        out[0] = '\0';
        for (size_t i = 0; i < n; i++)
                len += (size_t)snprintf(out + len, len < outsz ? outsz - len : 0, "%s%s", i ? "\n" : "",
                                        lines[i]);
        assert_true(len < outsz);
}

/* Every object in ws's repository must be exactly the objects of sha's
 * tree in src (rev-list -n 1: the commit, its trees, its blobs; gitlinks
 * are not objects of this repository), and history must be cut there. */
static void assert_depth_one(const char *ws, const char *src, const char *sha)
{
        static char want_raw[65536], got_raw[65536], want[65536], got[65536];
        char shallow[64], count[16];
        _cleanup_free_ char *path = xasprintf("%s/.git/shallow", ws);
        _cleanup_free_ char *data = NULL;
        size_t len;

        GIT_OUT(want_raw, src, "rev-list", "--objects", "--no-object-names", "-n", "1", sha);
        GIT_OUT(got_raw, ws, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)");
        sort_lines(want, sizeof(want), want_raw);
        sort_lines(got, sizeof(got), got_raw);
        assert_string_equal(got, want);
        assert_int_equal(file_read_all(&data, &len, path, 1024, NULL), 0);
        snprintf(shallow, sizeof(shallow), "%s\n", sha);
        assert_string_equal(data, shallow);
        /* git sees one commit, and a consistent repository */
        GIT_OUT(count, ws, "rev-list", "--count", "HEAD");
        assert_string_equal(count, "1");
        GIT(ws, "fsck", "--no-progress");
}

static void progress(const struct fetch_progress *p, void *data)
{
        struct fetch_progress *last = data;

        if (p->phase != FETCH_PHASE_CHECKOUT)
                *last = *p;
        else
                last->checkout_done = p->checkout_done;
}

static void test_happy_file_url(void **state)
{
        _cleanup_free_ char *ws = new_ws(), *url = xasprintf("file://%s", SRC);
        char *p = NULL, *data = NULL;
        struct fetch_progress last = { 0 };
        struct fetch_opts o = { .url = url, .url_flags = URL_ALLOW_LOCAL, .sha = MAIN_SHA,
                                .workspace = ws, .progress = progress, .progress_data = &last };
        struct fetch_result res;
        struct err err = ERR_INIT;
        char head[64], link[256];
        size_t len;
        struct stat st;

        if (fetch_commit(&o, &res, &err) < 0)
                fail_msg("%s", err.msg);
        assert_string_equal(res.head, MAIN_SHA);
        assert_int_equal(res.method, FETCH_BY_SHA);
        assert_int_equal(res.attempts, 1);
        assert_true(res.objects > 0);
        assert_true(last.received_objects > 0);
        assert_true(last.checkout_done > 0);
        GIT_OUT(head, ws, "rev-parse", "HEAD");
        assert_string_equal(head, MAIN_SHA);
        assert_true(res.shallow);
        assert_depth_one(ws, SRC, MAIN_SHA);

        /* filter=lfs and eol=crlf did nothing: files are their blobs */
        p = xasprintf("%s/main.tf", ws);
        assert_int_equal(file_read_all(&data, &len, p, 1024, &err), 0);
        assert_string_equal(data, "terraform {}\n");
        free(p);
        free(data);
        p = xasprintf("%s/crlf.txt", ws);
        assert_int_equal(file_read_all(&data, &len, p, 1024, &err), 0);
        assert_string_equal(data, "one\ntwo\n");
        free(p);
        free(data);

        /* the symlink stays a link, pointing where it pointed; nothing was
         * written through it */
        p = xasprintf("%s/out", ws);
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        len = (size_t)readlink(p, link, sizeof(link) - 1);
        link[len] = '\0';
        free(p);
        p = xasprintf("%s/outside", T);
        assert_string_equal(link, p);
        assert_false(exists(p));
        free(p);

        /* no hook ran: neither the committed .githooks with a committed
         * core.hooksPath, nor the one in the user's ~/.gitconfig */
        p = xasprintf("%s/hook-ran", T);
        assert_false(exists(p));
        free(p);

        /* the submodule is not initialised: an empty directory at most */
        assert_int_equal(res.gitlinks, 1);
        p = xasprintf("%s/sub/main.tf", ws);
        assert_false(exists(p));
        free(p);
        p = xasprintf("%s/.git/modules", ws);
        assert_false(exists(p));
        free(p);
        assert_int_equal(res.files, 8);
}

static void test_happy_local_path(void **state)
{
        _cleanup_free_ char *ws = new_ws();
        struct fetch_opts o = { .url = SRC, .url_flags = URL_ALLOW_LOCAL, .sha = MAIN_SHA,
                                .workspace = ws };
        struct fetch_result res;
        struct err err = ERR_INIT;

        if (fetch_commit(&o, &res, &err) < 0)
                fail_msg("%s", err.msg);
        assert_string_equal(res.head, MAIN_SHA);
}

static void test_side_branch_by_sha(void **state)
{
        _cleanup_free_ char *ws = new_ws(), *p = xasprintf("%s/side.tf", ws);
        struct fetch_opts o = { .url = SRC, .url_flags = URL_ALLOW_LOCAL, .sha = SIDE_SHA,
                                .workspace = ws };
        struct fetch_result res;
        struct err err = ERR_INIT;

        if (fetch_commit(&o, &res, &err) < 0)
                fail_msg("%s", err.msg);
        assert_string_equal(res.head, SIDE_SHA);
        assert_int_equal(res.method, FETCH_BY_SHA);
        assert_true(exists(p));
}

static void test_side_branch_by_refspec(void **state)
{
        _cleanup_free_ char *ws = new_ws();
        const char *const specs[] = { "+refs/heads/side:refs/remotes/origin/side" };
        struct fetch_opts o = { .url = SRC, .url_flags = URL_ALLOW_LOCAL, .sha = SIDE_SHA,
                                .workspace = ws, .refspecs = specs, .n_refspecs = 1 };
        struct fetch_result res;
        struct err err = ERR_INIT;
        char ref[64];

        if (fetch_commit(&o, &res, &err) < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(res.method, FETCH_BY_REFSPEC);
        assert_int_equal(res.attempts, 1);
        GIT_OUT(ref, ws, "rev-parse", "refs/tfgate/heads/side");
        assert_string_equal(ref, SIDE_SHA);
        /* job refspecs are honoured only by a fetch: history came along */
        assert_false(res.shallow);
        assert_false(exists_in(ws, ".git/shallow"));
}

static void test_wrong_sha(void **state)
{
        _cleanup_free_ char *ws = new_ws();
        const char *sha = "0123456789abcdef0123456789abcdef01234567";
        struct fetch_opts o = { .url = SRC, .url_flags = URL_ALLOW_LOCAL, .sha = sha,
                                .workspace = ws };
        struct fetch_result res;
        struct err err = ERR_INIT;
        _cleanup_free_ char *want = xasprintf("commit %s not found in %s", sha, SRC);

        assert_int_equal(fetch_commit(&o, &res, &err), -ENOENT);
        assert_string_equal(err.msg, want);
        /* a local source is read once (the depth-1 copy), not fetched by
         * id and then by all refs */
        assert_int_equal(res.attempts, 1);
        assert_true(dir_has_only_git(ws));
}

static void test_bad_inputs(void **state)
{
        _cleanup_free_ char *ws = new_ws(), *file_url = xasprintf("file://%s", SRC);
        static const struct {
                const char *sha;
                int code;
                const char *msg;
        } shas[] = {
                { "0123", -EINVAL, "40 hex" },
                { "zz23456789abcdef0123456789abcdef01234567", -EINVAL, "hexadecimal" },
                { "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", -ENOTSUP,
                  "SHA-256" },
                { NULL, -EINVAL, "40 hex" },
        };
        struct fetch_opts o = { .url = SRC, .url_flags = URL_ALLOW_LOCAL, .workspace = ws };
        struct fetch_result res;
        struct err err = ERR_INIT;
        DIR *d;
        int entries = 0;

        for (size_t i = 0; i < ARRAY_SIZE(shas); i++) {
                o.sha = shas[i].sha;
                assert_int_equal(fetch_commit(&o, &res, &err), shas[i].code);
                assert_non_null(strstr(err.msg, shas[i].msg));
        }
        /* file:// and ext:: when local repositories are not allowed */
        o.sha = MAIN_SHA;
        o.url = file_url;
        o.url_flags = 0;
        assert_true(fetch_commit(&o, &res, &err) < 0);
        assert_non_null(strstr(err.msg, "not allowed here"));
        o.url = "ext::sh -c id";
        o.url_flags = URL_ALLOW_LOCAL;
        assert_true(fetch_commit(&o, &res, &err) < 0);
        /* a repository on another host than the forge's */
        o.url = "https://evil.example.net/g/p.git";
        o.forge_url = "https://gitlab.example.com";
        assert_true(fetch_commit(&o, &res, &err) < 0);
        assert_non_null(strstr(err.msg, "not the forge host"));
        o.url = "https://user:pw@gitlab.example.com/g/p.git";
        assert_true(fetch_commit(&o, &res, &err) < 0);
        assert_null(strstr(err.msg, "pw"));
        /* nothing was created for any refused input */
        d = opendir(ws);
        assert_non_null(d);
        while (readdir(d) != NULL)
                entries++;
        closedir(d);
        assert_int_equal(entries, 2);
}

static void test_refspec_rewrite(void **state)
{
        static const struct {
                const char *in, *out;
        } ok[] = {
                { "refs/heads/main", "+refs/heads/main:refs/tfgate/heads/main" },
                { "+refs/pipelines/42:refs/pipelines/42", "+refs/pipelines/42:refs/tfgate/pipelines/42" },
                { "+refs/heads/main:refs/remotes/origin/main", "+refs/heads/main:refs/tfgate/heads/main" },
                { "+refs/merge-requests/7/head:refs/remotes/origin/mr", "+refs/merge-requests/7/head:refs/tfgate/merge-requests/7/head" },
                { "+refs/heads/*:refs/remotes/origin/*", "+refs/heads/*:refs/tfgate/heads/*" },
        };
        static const char *const bad[] = {
                "", "-refs/heads/main", "--upload-pack=x", "main", "HEAD",
                "refs/heads/../../config", "refs/heads/a..b", "refs/heads/*/*",
                "refs/heads/ma*", "*:refs/x", "refs/heads/x:.git/config",
                "refs/heads/x:/etc/passwd", "refs/heads/*:refs/x", "refs/heads/a b",
                "refs/heads/a\nb", "refs/heads/a~1", "refs/heads/x@{1}", "refs/heads/x.lock",
                "0123456789abcdef0123456789abcdef01234567:refs/x", "refs//heads",
        };

        for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
                _cleanup_free_ char *out = NULL;
                struct err err = ERR_INIT;

                if (fetch_refspec_rewrite(&out, ok[i].in, &err) < 0)
                        fail_msg("%s: %s", ok[i].in, err.msg);
                assert_string_equal(out, ok[i].out);
        }
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                _cleanup_free_ char *out = NULL;
                struct err err = ERR_INIT;

                if (fetch_refspec_rewrite(&out, bad[i], &err) == 0)
                        fail_msg("accepted refspec %s as %s", bad[i], out);
                assert_null(out);
        }
}

static void test_workspace_refused(void **state)
{
        _cleanup_free_ char *ws = new_ws(), *link = xasprintf("%s-link", ws);
        struct fetch_opts o = { .url = SRC, .url_flags = URL_ALLOW_LOCAL, .sha = MAIN_SHA,
                                .workspace = ws };
        struct fetch_result res;
        struct err err = ERR_INIT;

        put(ws, "left-over", "x", 0600);
        assert_int_equal(fetch_commit(&o, &res, &err), -ENOTEMPTY);
        assert_non_null(strstr(err.msg, "not empty"));

        assert_int_equal(symlink(T, link), 0);
        o.workspace = link;
        assert_true(fetch_commit(&o, &res, &err) < 0);
        o.workspace = "/nonexistent/tfgate-ws";
        assert_int_equal(fetch_commit(&o, &res, &err), -ENOENT);
}

static void test_limits(void **state)
{
        static const struct {
                struct fetch_limits lim;
                const char *name;
        } cases[] = {
                { { .max_files = 3 }, "max_files" },
                { { .max_checkout_bytes = 20 }, "max_checkout_bytes" },
                { { .max_pack_bytes = 200 }, "max_pack_bytes" },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_free_ char *ws = new_ws();
                struct fetch_opts o = { .url = SRC, .url_flags = URL_ALLOW_LOCAL, .sha = MAIN_SHA,
                                        .workspace = ws, .limits = cases[i].lim };
                struct fetch_result res;
                struct err err = ERR_INIT;

                assert_int_equal(fetch_commit(&o, &res, &err), -EFBIG);
                if (strstr(err.msg, cases[i].name) == NULL)
                        fail_msg("error \"%s\" does not name %s", err.msg, cases[i].name);
                /* refused before any file of the tree was written */
                assert_true(dir_has_only_git(ws));
        }
}

static void test_unsafe_paths(void **state)
{
        _cleanup_free_ char *escape = xasprintf("%s/x", T);

        for (size_t i = 0; i < ARRAY_SIZE(bad_branches); i++) {
                _cleanup_free_ char *ws = new_ws(), *cfg = xasprintf("%s/.git/config", ws);
                _cleanup_free_ char *data = NULL, *dotgit = xasprintf("%s/.git./config", ws);
                struct fetch_opts o = { .url = SRC, .url_flags = URL_ALLOW_LOCAL,
                                        .sha = BAD_SHA[i], .workspace = ws };
                struct fetch_result res;
                struct err err = ERR_INIT;
                size_t len;

                if (fetch_commit(&o, &res, &err) == 0)
                        fail_msg("%s was checked out", bad_branches[i]);
                assert_int_equal(err.code, -EPERM);
                /* the repository's config is still ours, nothing escaped */
                assert_int_equal(file_read_all(&data, &len, cfg, 65536, NULL), 0);
                assert_non_null(strstr(data, "protectNTFS = true"));
                assert_null(strstr(data, "terraform"));
                assert_false(exists(escape));
                assert_false(exists(dotgit));
        }
}

/* --- the depth-1 copy from a local repository -------------------------- */

static void test_shallow_copy_non_bare(void **state)
{
        _cleanup_free_ char *ws = new_ws(), *url = xasprintf("file://%s", SRC);
        struct fetch_opts o = { .url = url, .url_flags = URL_ALLOW_LOCAL, .sha = SIDE_SHA,
                                .workspace = ws };
        struct fetch_result res;
        struct err err = ERR_INIT;
        const char *const probe[] = { "git", "cat-file", "-e", MAIN_SHA, NULL };

        if (fetch_commit(&o, &res, &err) < 0)
                fail_msg("%s", err.msg);
        assert_true(res.shallow);
        assert_int_equal(res.method, FETCH_BY_SHA);
        assert_string_equal(res.head, SIDE_SHA);
        assert_depth_one(ws, SRC, SIDE_SHA);
        /* SIDE's parent is MAIN: not copied */
        assert_int_equal(run(NULL, 0, ws, probe, NULL, 0), -1);
        assert_true(exists_in(ws, "side.tf"));
}

/* a bare source whose objects are all in a pack (the fixture's are loose) */
static void test_shallow_copy_bare_packed(void **state)
{
        _cleanup_free_ char *ws = new_ws(), *bare = xasprintf("%s/bare.git", T);
        _cleanup_free_ char *url = xasprintf("file://%s", bare);
        struct fetch_opts o = { .url = url, .url_flags = URL_ALLOW_LOCAL, .sha = SIDE_SHA,
                                .workspace = ws };
        struct fetch_result res;
        struct err err = ERR_INIT;

        GIT(T, "clone", "-q", "--bare", "--no-local", SRC, bare);
        GIT(bare, "repack", "-adq");
        if (fetch_commit(&o, &res, &err) < 0)
                fail_msg("%s", err.msg);
        assert_true(res.shallow);
        assert_depth_one(ws, bare, SIDE_SHA);
        /* the path form of the same source */
        o.url = bare;
        free(ws);
        ws = new_ws();
        o.workspace = ws;
        if (fetch_commit(&o, &res, &err) < 0)
                fail_msg("%s", err.msg);
        assert_depth_one(ws, bare, SIDE_SHA);
}

/* a source that is itself a shallow clone (a CI checkout) still works:
 * only the commit and its tree are read */
static void test_shallow_copy_of_shallow_source(void **state)
{
        _cleanup_free_ char *ws = new_ws(), *shallow = xasprintf("%s/shallow-src", T);
        _cleanup_free_ char *from = xasprintf("file://%s", SRC);
        struct fetch_opts o = { .url = shallow, .url_flags = URL_ALLOW_LOCAL, .sha = SIDE_SHA,
                                .workspace = ws };
        struct fetch_result res;
        struct err err = ERR_INIT;

        GIT(T, "clone", "-q", "--depth", "1", "--branch", "side", from, shallow);
        if (fetch_commit(&o, &res, &err) < 0)
                fail_msg("%s", err.msg);
        assert_depth_one(ws, shallow, SIDE_SHA);
}

/* the source is read, never written: its files are the same afterwards */
static void test_shallow_source_untouched(void **state)
{
        static char before[65536], after[65536];
        _cleanup_free_ char *ws = new_ws(), *gitdir = xasprintf("%s/.git", SRC);
        const char *const list[] = { "find", gitdir, "-printf", "%p %s %T@ %m\\n", NULL };
        struct fetch_opts o = { .url = SRC, .url_flags = URL_ALLOW_LOCAL, .sha = MAIN_SHA,
                                .workspace = ws };
        struct fetch_result res;
        struct err err = ERR_INIT;

        assert_int_equal(run(before, sizeof(before), "/", list, NULL, 0), 0);
        if (fetch_commit(&o, &res, &err) < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(run(after, sizeof(after), "/", list, NULL, 0), 0);
        assert_true(strlen(before) < sizeof(before) - 1);
        assert_string_equal(after, before);
}

/* an id naming a tree or a blob: the same error as an unknown id, saying
 * what the id is; nothing checked out */
static void test_shallow_not_a_commit(void **state)
{
        char tree[64], blob[64];
        const char *ids[2];

        GIT_OUT(tree, SRC, "rev-parse", "main^{tree}");
        GIT_OUT(blob, SRC, "rev-parse", "main:main.tf");
        ids[0] = tree;
        ids[1] = blob;
        for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
                _cleanup_free_ char *ws = new_ws();
                _cleanup_free_ char *want = xasprintf("commit %s not found in %s (the id names a %s)",
                                                      ids[i], SRC, i == 0 ? "tree" : "blob");
                struct fetch_opts o = { .url = SRC, .url_flags = URL_ALLOW_LOCAL, .sha = ids[i],
                                        .workspace = ws };
                struct fetch_result res;
                struct err err = ERR_INIT;

                assert_int_equal(fetch_commit(&o, &res, &err), -ENOENT);
                assert_string_equal(err.msg, want);
                assert_true(dir_has_only_git(ws));
        }
}

/* The path of object id in repository dir (loose). */
static char *loose_path(const char *dir, const char *id)
{
        return xasprintf("%s/.git/objects/%.2s/%s", dir, id, id + 2);
}

static void replace_file(const char *path, const void *data, size_t len)
{
        struct err err = ERR_INIT;

        if (chmod(path, 0644) < 0 || unlink(path) < 0)
                fail_msg("cannot replace %s", path);
        if (file_write_new(path, data, len, 0444, &err) < 0)
                fail_msg("%s", err.msg);
}

/* Corrupt objects in the source: an undecodable blob, a blob whose content
 * does not hash to its id, an undecodable commit.  Each is a clear EIO
 * naming what failed, and nothing is checked out. */
static void test_shallow_corrupt_objects(void **state)
{
        _cleanup_free_ char *src = xasprintf("%s/corrupt", T);
        _cleanup_free_ char *blob_path = NULL, *other_path = NULL, *commit_path = NULL;
        _cleanup_free_ char *other_data = NULL;
        char sha[64], blob[64], other[64];
        size_t other_len;
        static const struct {
                const char *what;
                const char *msg;
        } cases[] = {
                { "undecodable blob", "blob for \"dir/b.tf\" missing or unreadable" },
                { "blob with other content", "object hash mismatch" },
                { "undecodable commit", "fetching " },
        };

        mkdir(src, 0700);
        GIT(src, "init", "-q", "-b", "main");
        put(src, "a.tf", "# a\n", 0644);
        {
                _cleanup_free_ char *d = xasprintf("%s/dir", src);

                mkdir(d, 0755);
        }
        put(src, "dir/b.tf", "# b\n", 0644);
        put(src, "other.txt", "other content\n", 0644);
        GIT(src, "add", "-A");
        GIT(src, "commit", "-q", "-m", "c");
        GIT_OUT(sha, src, "rev-parse", "HEAD");
        GIT_OUT(blob, src, "rev-parse", "HEAD:dir/b.tf");
        GIT_OUT(other, src, "rev-parse", "HEAD:other.txt");
        blob_path = loose_path(src, blob);
        other_path = loose_path(src, other);
        commit_path = loose_path(src, sha);
        assert_int_equal(file_read_all(&other_data, &other_len, other_path, 65536, NULL), 0);

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_free_ char *ws = new_ws();
                struct fetch_opts o = { .url = src, .url_flags = URL_ALLOW_LOCAL, .sha = sha,
                                        .workspace = ws };
                struct fetch_result res;
                struct err err = ERR_INIT;

                if (i == 0)
                        replace_file(blob_path, "garbage", 7);
                else if (i == 1)
                        replace_file(blob_path, other_data, other_len);
                else
                        replace_file(commit_path, "garbage", 7);
                assert_int_equal(fetch_commit(&o, &res, &err), -EIO);
                if (strstr(err.msg, cases[i].msg) == NULL)
                        fail_msg("%s: error \"%s\" does not say \"%s\"", cases[i].what, err.msg,
                                 cases[i].msg);
                assert_false(exists_in(ws, "a.tf"));
                assert_false(exists_in(ws, "dir"));
        }
}

/* a source another user owns is refused by libgit2; the error says so
 * (this libgit2 alone would say "config value 'safe.directory' was not
 * found").  Needs root to give a repository away. */
static void test_shallow_foreign_owner(void **state)
{
        _cleanup_free_ char *ws = new_ws(), *other = xasprintf("%s/foreign", T);
        const char *const chown_argv[] = { "chown", "-R", "65534:65534", other, NULL };
        struct fetch_opts o = { .url = other, .url_flags = URL_ALLOW_LOCAL, .sha = MAIN_SHA,
                                .workspace = ws };
        struct fetch_result res;
        struct err err = ERR_INIT;

        if (geteuid() != 0) {
                fprintf(stderr, "test_shallow_foreign_owner: not root, cannot give a "
                                "repository to another user; skipped\n");
                skip();
        }
        GIT(T, "clone", "-q", "--no-local", SRC, other);
        assert_int_equal(run(NULL, 0, T, chown_argv, NULL, 0), 0);
        assert_int_equal(fetch_commit(&o, &res, &err), -EPERM);
        assert_non_null(strstr(err.msg, "is owned by uid 65534, not by the runner user"));
        assert_false(exists_in(ws, "main.tf"));
}

/* the tree limits hold before anything is copied: no pack was written */
static void test_shallow_limits_before_copy(void **state)
{
        static const struct fetch_limits lims[] = { { .max_files = 3 }, { .max_checkout_bytes = 20 } };

        for (size_t i = 0; i < ARRAY_SIZE(lims); i++) {
                _cleanup_free_ char *ws = new_ws(), *pack = NULL;
                struct fetch_opts o = { .url = SRC, .url_flags = URL_ALLOW_LOCAL, .sha = MAIN_SHA,
                                        .workspace = ws, .limits = lims[i] };
                struct fetch_result res;
                struct err err = ERR_INIT;
                DIR *d;
                struct dirent *de;

                assert_int_equal(fetch_commit(&o, &res, &err), -EFBIG);
                pack = xasprintf("%s/.git/objects/pack", ws);
                d = opendir(pack);
                assert_non_null(d);
                while ((de = readdir(d)) != NULL)
                        if (de->d_name[0] != '.')
                                fail_msg("%s written although the limit was hit", de->d_name);
                closedir(d);
                assert_false(exists_in(ws, ".git/shallow"));
        }
}

/* --- smart HTTP with basic auth ---------------------------------------- */

static pid_t httpd_pid = -1;
static int httpd_out = -1;
static unsigned httpd_port;
static char BARE[128];

static int start_httpd(void)
{
        _cleanup_free_ char *script = NULL, *root = xasprintf("%s/http", T);
        const char *srcdir = getenv("TFGATE_SRC");
        char *argv[] = { "python3", NULL, root, HTTP_USER, HTTP_PASS, NULL };
        posix_spawn_file_actions_t fa;
        struct pollfd pfd;
        char buf[32] = { 0 };
        int p[2];
        ssize_t n;

        if (srcdir == NULL) {
                fprintf(stderr, "TFGATE_SRC is not set: cannot find test_fetch_httpd.py\n");
                return -1;
        }
        script = xasprintf("%s/tests/unit/test_fetch_httpd.py", srcdir);
        argv[1] = script;
        if (pipe2(p, O_CLOEXEC) < 0)
                return -1;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, p[1], 1);
        if (posix_spawnp(&httpd_pid, "python3", &fa, NULL, argv, environ) != 0) {
                fprintf(stderr, "cannot start python3 for the HTTP server\n");
                httpd_pid = -1;
                return -1;
        }
        posix_spawn_file_actions_destroy(&fa);
        close(p[1]);
        pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
        if (poll(&pfd, 1, 30000) != 1 || (n = read(p[0], buf, sizeof(buf) - 1)) <= 0) {
                fprintf(stderr, "HTTP server did not report its port within 30s\n");
                close(p[0]);
                return -1;
        }
        /* kept open until the server is stopped: closing it early could
         * fail the server's last write of the port line */
        httpd_out = p[0];
        httpd_port = (unsigned)strtoul(buf, NULL, 10);
        return httpd_port > 0 ? 0 : -1;
}

static int setup_http(void **state)
{
        _cleanup_free_ char *root = xasprintf("%s/http", T);

        snprintf(BARE, sizeof(BARE), "%s/http/r.git", T);
        mkdir(root, 0700);
        GIT(T, "clone", "-q", "--bare", SRC, BARE);
        return start_httpd();
}

static int teardown_http(void **state)
{
        if (httpd_pid > 0) {
                kill(httpd_pid, SIGTERM);
                waitpid(httpd_pid, NULL, 0);
                httpd_pid = -1;
        }
        if (httpd_out >= 0)
                close(TAKE_FD(httpd_out));
        return 0;
}

static int http_fetch_specs(const char *sha, const char *user, const char *pass,
                            const char *const *specs, size_t n_specs,
                            struct fetch_result *res, struct err *err)
{
        _cleanup_free_ char *ws = new_ws();
        _cleanup_free_ char *url = xasprintf("http://127.0.0.1:%u/r.git", httpd_port);
        _cleanup_free_ char *forge = xasprintf("http://127.0.0.1:%u", httpd_port);
        struct fetch_opts o = { .url = url, .url_flags = URL_ALLOW_HTTP_LOOPBACK,
                                .forge_url = forge, .sha = sha, .workspace = ws,
                                .username = user, .password = pass,
                                .refspecs = specs, .n_refspecs = n_specs };

        return fetch_commit(&o, res, err);
}

static int http_fetch(const char *sha, const char *user, const char *pass,
                      struct fetch_result *res, struct err *err)
{
        return http_fetch_specs(sha, user, pass, NULL, 0, res, err);
}

static void test_http_credentials(void **state)
{
        struct fetch_result res;
        struct err err = ERR_INIT;

        /* git http-backend does not allow fetching by id by default: the
         * id attempt is refused and the all-refs fetch brings the commit */
        if (http_fetch(SIDE_SHA, HTTP_USER, HTTP_PASS, &res, &err) < 0)
                fail_msg("%s", err.msg);
        assert_string_equal(res.head, SIDE_SHA);
        assert_int_equal(res.method, FETCH_ALL_REFS);
        assert_int_equal(res.attempts, 2);

        GIT(BARE, "config", "uploadpack.allowReachableSHA1InWant", "true");
        if (http_fetch(SIDE_SHA, HTTP_USER, HTTP_PASS, &res, &err) < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(res.method, FETCH_BY_SHA);
        assert_int_equal(res.attempts, 1);
        GIT(BARE, "config", "--unset", "uploadpack.allowReachableSHA1InWant");
}

/* The job's refspec is fetched first; when it does not bring the commit
 * (the branch moved on), the id is tried, then all refs. */
static void test_http_refspec_order(void **state)
{
        const char *const main_only[] = { "+refs/heads/main:refs/remotes/origin/main" };
        struct fetch_result res;
        struct err err = ERR_INIT;

        if (http_fetch_specs(MAIN_SHA, HTTP_USER, HTTP_PASS, main_only, 1, &res, &err) < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(res.method, FETCH_BY_REFSPEC);
        assert_int_equal(res.attempts, 1);

        if (http_fetch_specs(SIDE_SHA, HTTP_USER, HTTP_PASS, main_only, 1, &res, &err) < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(res.method, FETCH_ALL_REFS);
        assert_int_equal(res.attempts, 3);
        assert_string_equal(res.head, SIDE_SHA);

        GIT(BARE, "config", "uploadpack.allowReachableSHA1InWant", "true");
        if (http_fetch_specs(SIDE_SHA, HTTP_USER, HTTP_PASS, main_only, 1, &res, &err) < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(res.method, FETCH_BY_SHA);
        assert_int_equal(res.attempts, 2);
        GIT(BARE, "config", "--unset", "uploadpack.allowReachableSHA1InWant");
}

static void test_http_auth_refused(void **state)
{
        struct fetch_result res;
        struct err err = ERR_INIT;

        assert_int_equal(http_fetch(MAIN_SHA, HTTP_USER, "wrong", &res, &err), -EACCES);
        assert_non_null(strstr(err.msg, "refused the credentials"));
        assert_null(strstr(err.msg, "wrong"));
        assert_int_equal(res.attempts, 1);      /* no retry loop, no fallback */

        assert_int_equal(http_fetch(MAIN_SHA, NULL, NULL, &res, &err), -EACCES);
        assert_non_null(strstr(err.msg, "requires authentication"));
}

static void test_http_wrong_sha(void **state)
{
        struct fetch_result res;
        struct err err = ERR_INIT;
        const char *sha = "89abcdef0123456789abcdef0123456789abcdef";

        assert_int_equal(http_fetch(sha, HTTP_USER, HTTP_PASS, &res, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "not found in http://127.0.0.1:"));
        assert_null(strstr(err.msg, HTTP_PASS));
}

static void test_unreachable(void **state)
{
        _cleanup_free_ char *ws = new_ws();
        struct fetch_opts o = { .url = "http://127.0.0.1:1/r.git",
                                .url_flags = URL_ALLOW_HTTP_LOOPBACK, .sha = MAIN_SHA,
                                .workspace = ws };
        struct fetch_result res;
        struct err err = ERR_INIT;

        assert_int_equal(fetch_commit(&o, &res, &err), -EHOSTUNREACH);
        assert_non_null(strstr(err.msg, "fetching http://127.0.0.1:1/r.git"));
        assert_int_equal(res.attempts, 1);
}

int main(void)
{
        const struct CMUnitTest local[] = {
                cmocka_unit_test(test_happy_file_url),
                cmocka_unit_test(test_happy_local_path),
                cmocka_unit_test(test_side_branch_by_sha),
                cmocka_unit_test(test_side_branch_by_refspec),
                cmocka_unit_test(test_wrong_sha),
                cmocka_unit_test(test_bad_inputs),
                cmocka_unit_test(test_refspec_rewrite),
                cmocka_unit_test(test_workspace_refused),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_unsafe_paths),
                cmocka_unit_test(test_unreachable),
                cmocka_unit_test(test_shallow_copy_non_bare),
                cmocka_unit_test(test_shallow_copy_bare_packed),
                cmocka_unit_test(test_shallow_copy_of_shallow_source),
                cmocka_unit_test(test_shallow_source_untouched),
                cmocka_unit_test(test_shallow_not_a_commit),
                cmocka_unit_test(test_shallow_corrupt_objects),
                cmocka_unit_test(test_shallow_limits_before_copy),
                cmocka_unit_test(test_shallow_foreign_owner),
        };
        const struct CMUnitTest http[] = {
                cmocka_unit_test(test_http_credentials),
                cmocka_unit_test(test_http_refspec_order),
                cmocka_unit_test(test_http_auth_refused),
                cmocka_unit_test(test_http_wrong_sha),
        };
        int r;

        r = cmocka_run_group_tests_name("fetch-local", local, setup, NULL);
        if (T[0] != '\0') {
                if (setup_http(NULL) < 0) {
                        fprintf(stderr, "test_fetch: cannot start the HTTP git server; "
                                        "the credential tests cannot run\n");
                        r = 1;
                } else {
                        r |= cmocka_run_group_tests_name("fetch-http", http, NULL, NULL);
                }
                teardown_http(NULL);
        }
        teardown(NULL);
        return r;
}
