/* hash.c - h1: (dirhash Hash1) and zh: of provider packages (see hash.h).
 *
 * Speed: content is streamed through OpenSSL's SHA-256 (SHA-NI where the
 * CPU has it) in 1 MiB reads; for a zip, zh: (the file) and h1: (the
 * entries) are independent, so they run in two threads and the wall time
 * is that of one pass. */
#include "hash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"
#include "zipread.h"

#define READ_BUF_SIZE ((size_t)1 << 20)
#define SHA_LEN 32

struct named_digest {
        char *name;
        unsigned char sha[SHA_LEN];
};

static void digests_free(struct named_digest *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i].name);
        free(v);
}

static void evp_freep(EVP_MD_CTX **c)
{
        EVP_MD_CTX_free(*c);
}

static EVP_MD_CTX *sha_new(void)
{
        EVP_MD_CTX *c = EVP_MD_CTX_new();

        if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
                xalloc_die(sizeof(void *));
        return c;
}

static void sha_sink(void *ctx, const void *p, size_t n)
{
        EVP_DigestUpdate(ctx, p, n);
}

static void hex32(char out[2 * SHA_LEN + 1], const unsigned char sha[SHA_LEN])
{
        static const char hx[] = "0123456789abcdef";

        for (size_t i = 0; i < SHA_LEN; i++) {
                out[2 * i] = hx[sha[i] >> 4];
                out[2 * i + 1] = hx[sha[i] & 15];
        }
        out[2 * SHA_LEN] = '\0';
}

static int digest_order(const void *a, const void *b)
{
        return strcmp(((const struct named_digest *)a)->name, ((const struct named_digest *)b)->name);
}

/* Hash1's summary: sort by name (bytewise), one line per file */
static int summarise_h1(char *h1, struct named_digest *v, size_t n, struct err *err)
{
        _cleanup_(evp_freep) EVP_MD_CTX *c = sha_new();
        unsigned char sum[SHA_LEN];
        char hex[2 * SHA_LEN + 1];

        if (n > 1)
                qsort(v, n, sizeof(*v), digest_order);
        for (size_t i = 0; i < n; i++) {
                if (strchr(v[i].name, '\n') != NULL)
                        return err_set(err, 0, "dirhash: filenames with newlines are not supported");
                hex32(hex, v[i].sha);
                EVP_DigestUpdate(c, hex, 2 * SHA_LEN);
                EVP_DigestUpdate(c, "  ", 2);
                EVP_DigestUpdate(c, v[i].name, strlen(v[i].name));
                EVP_DigestUpdate(c, "\n", 1);
        }
        EVP_DigestFinal_ex(c, sum, NULL);
        memcpy(h1, "h1:", 3);
        EVP_EncodeBlock((unsigned char *)h1 + 3, sum, SHA_LEN);        /* 44 chars + NUL */
        return 0;
}

int phash_files(char *h1, const struct phash_file *files, size_t n, struct err *err)
{
        struct named_digest *v = xcalloc(n ? n : 1, sizeof(*v));
        int r;

        for (size_t i = 0; i < n; i++) {
                v[i].name = xstrdup(files[i].name);
                EVP_Digest(files[i].data, files[i].len, v[i].sha, NULL, EVP_sha256(), NULL);
        }
        r = summarise_h1(h1, v, n, err);
        digests_free(v, n);
        return r;
}

bool phash_has_scheme(const char *hash, const char *scheme)
{
        size_t n = strlen(scheme);

        return n > 0 && strncmp(hash, scheme, n) == 0 && hash[n] == ':';
}

/* ---- zh: ----------------------------------------------------------------- */

int phash_zh_fd(char *zh, int fd, const char *label, struct err *err)
{
        _cleanup_(evp_freep) EVP_MD_CTX *c = sha_new();
        _cleanup_free_ unsigned char *buf = xmalloc(READ_BUF_SIZE);
        unsigned char sum[SHA_LEN];
        off_t off = 0;

        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        for (;;) {
                ssize_t n = pread(fd, buf, READ_BUF_SIZE, off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return err_set(err, errno, "%s: read", label);
                if (n == 0)
                        break;
                EVP_DigestUpdate(c, buf, (size_t)n);
                off += n;
        }
        EVP_DigestFinal_ex(c, sum, NULL);
        memcpy(zh, "zh:", 3);
        hex32(zh + 3, sum);
        return 0;
}

/* ---- h1: of a zip ---------------------------------------------------------- */

static int zip_h1(char *h1, const struct zipr *z, const char *label, struct err *err)
{
        _cleanup_free_ unsigned char *buf = xmalloc(READ_BUF_SIZE);
        struct named_digest *v = xcalloc(z->n ? z->n : 1, sizeof(*v));
        int r = 0;

        /* entries in file order, so the reads are sequential */
        _cleanup_free_ size_t *order = xreallocarray(NULL, z->n ? z->n : 1, sizeof(size_t));
        for (size_t i = 0; i < z->n; i++)
                order[i] = i;
        for (size_t i = 1; i < z->n; i++)       /* usually already in order */
                for (size_t j = i; j > 0 && z->e[order[j - 1]].lho > z->e[order[j]].lho; j--) {
                        size_t t = order[j];
                        order[j] = order[j - 1];
                        order[j - 1] = t;
                }
        for (size_t k = 0; k < z->n && r == 0; k++) {
                const struct zipr_entry *e = &z->e[order[k]];
                _cleanup_(evp_freep) EVP_MD_CTX *c = sha_new();

                v[order[k]].name = xstrdup(e->name);
                r = zipr_read_entry(z, e, sha_sink, c, buf, READ_BUF_SIZE, err);
                if (r == 0)
                        EVP_DigestFinal_ex(c, v[order[k]].sha, NULL);
                else
                        err_wrap(err, "%s", label);
        }
        if (r == 0)
                r = summarise_h1(h1, v, z->n, err);
        digests_free(v, z->n);
        return r;
}

struct zh_job {
        int fd;
        const char *label;
        char *zh;
        struct err err;
        int r;
};

static void *zh_thread(void *arg)
{
        struct zh_job *j = arg;

        j->r = phash_zh_fd(j->zh, j->fd, j->label, &j->err);
        return NULL;
}

int phash_zip(char *h1, char *zh, int fd, const char *label, struct err *err)
{
        struct zh_job job = { fd, label, zh, ERR_INIT, 0 };
        struct zipr z;
        pthread_t th;
        bool threaded = false;
        int r;

        if (h1 == NULL)
                return zh ? phash_zh_fd(zh, fd, label, err) : 0;
        if ((r = zipr_open(&z, fd, label, err)) < 0)
                return r;
        if (zh != NULL)
                threaded = pthread_create(&th, NULL, zh_thread, &job) == 0;
        r = zip_h1(h1, &z, label, err);
        zipr_close(&z);
        if (threaded)
                pthread_join(th, NULL);
        else if (zh != NULL && r == 0)
                job.r = phash_zh_fd(zh, fd, label, &job.err);
        if (r == 0 && job.r < 0) {
                if (err != NULL)
                        *err = job.err;
                r = job.r;
        }
        return r;
}

/* ---- h1: of a directory ------------------------------------------------------ */

int phash_open_beneath(int root_fd, const char *path, int flags)
{
        struct open_how how = {
                /* openat2 refuses O_NOCTTY with O_PATH */
                .flags = (uint64_t)(flags | O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOCTTY)),
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };
        char root[PATH_MAX], proc[64], full[PATH_MAX];
        _cleanup_free_ char *joined = NULL;
        long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
        size_t n;

        if (fd >= 0 || errno != ENOSYS)
                return fd >= 0 ? (int)fd : -errno;
        /* no openat2: resolve fully, then require the result inside root */
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", root_fd);
        if (realpath(proc, root) == NULL)
                return -errno;
        joined = xasprintf("%s/%s", root, path);
        if (realpath(joined, full) == NULL)
                return -errno;
        n = strlen(root);
        if (strncmp(full, root, n) != 0 || (full[n] != '/' && full[n] != '\0' && n > 1))
                return -EXDEV;
        fd = open(full, flags | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        return fd >= 0 ? (int)fd : -errno;
}

struct walk {
        int root_fd;
        const char *base;       /* rel_dir, "" for the root itself */
        const char *label;
        struct named_digest *v;
        size_t n, cap;
        unsigned char *buf;
};

static int walk_err(struct walk *w, struct err *err, int code, const char *rel, const char *what)
{
        return err_set(err, code, "%s: %s: %s", w->label, rel, what);
}

static char *join_rel(const char *a, const char *b)
{
        return a[0] ? xasprintf("%s/%s", a, b) : xstrdup(b);
}

/* hash one non-directory entry found by the walk */
static int hash_entry(struct walk *w, const char *rel, const struct stat *lst, struct err *err)
{
        _cleanup_free_ char *path = join_rel(w->base, rel);
        _cleanup_close_ int fd = -1;
        _cleanup_(evp_freep) EVP_MD_CTX *c = NULL;
        struct stat st;

        if (!S_ISREG(lst->st_mode) && !S_ISLNK(lst->st_mode))
                return walk_err(w, err, 0, rel, "not a regular file or symlink");
        if (S_ISLNK(lst->st_mode)) {
                /* look before opening: no open(2) side effects on what it names */
                _cleanup_close_ int pfd = phash_open_beneath(w->root_fd, path, O_PATH);

                if (pfd == -EXDEV || pfd == -ELOOP)
                        return walk_err(w, err, 0, rel, "symlink leads outside the directory it is hashed in");
                if (pfd < 0)
                        return walk_err(w, err, -pfd, rel, "symlink");
                if (fstat(pfd, &st) < 0)
                        return walk_err(w, err, errno, rel, "stat");
                if (!S_ISREG(st.st_mode))
                        return walk_err(w, err, 0, rel, S_ISDIR(st.st_mode) ? "symlink to a directory"
                                                                            : "symlink to a special file");
        }
        fd = phash_open_beneath(w->root_fd, path, O_RDONLY | O_NONBLOCK);
        if (fd == -EXDEV || fd == -ELOOP)
                return walk_err(w, err, 0, rel, "symlink leads outside the directory it is hashed in");
        if (fd < 0)
                return walk_err(w, err, -fd, rel, "open");
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return walk_err(w, err, 0, rel, "changed while being hashed");
        c = sha_new();
        for (;;) {
                ssize_t n = read(fd, w->buf, READ_BUF_SIZE);

                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n < 0)
                        return walk_err(w, err, errno, rel, "read");
                if (n == 0)
                        break;
                EVP_DigestUpdate(c, w->buf, (size_t)n);
        }
        if (w->n == w->cap) {
                w->cap = w->cap ? 2 * w->cap : 64;
                w->v = xreallocarray(w->v, w->cap, sizeof(*w->v));
        }
        w->v[w->n].name = xstrdup(rel);
        EVP_DigestFinal_ex(c, w->v[w->n].sha, NULL);
        w->n++;
        return 0;
}

static int walk_dir(struct walk *w, int dfd, const char *rel, unsigned depth, struct err *err)
{
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (depth > PHASH_MAX_DEPTH)
                return walk_err(w, err, 0, rel[0] ? rel : ".", "directories nested too deeply");
        d = fdopendir(dfd);
        if (d == NULL) {
                close(dfd);
                return walk_err(w, err, errno, rel[0] ? rel : ".", "opendir");
        }
        while (r == 0 && (errno = 0, de = readdir(d)) != NULL) {
                _cleanup_free_ char *sub = NULL;
                struct stat st;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                sub = join_rel(rel, de->d_name);
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = walk_err(w, err, errno, sub, "stat");
                } else if (S_ISDIR(st.st_mode)) {
                        int sfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

                        r = sfd < 0 ? walk_err(w, err, errno, sub, "open directory")
                                    : walk_dir(w, sfd, sub, depth + 1, err);
                } else if (w->n >= PHASH_MAX_FILES) {
                        r = walk_err(w, err, 0, sub, "too many files");
                } else {
                        r = hash_entry(w, sub, &st, err);
                }
        }
        if (r == 0 && errno != 0)
                r = walk_err(w, err, errno, rel[0] ? rel : ".", "readdir");
        closedir(d);
        return r;
}

int phash_dir(char *h1, int root_fd, const char *rel_dir, const char *label, struct err *err)
{
        _cleanup_free_ unsigned char *buf = xmalloc(READ_BUF_SIZE);
        struct walk w = { root_fd, strcmp(rel_dir, ".") == 0 ? "" : rel_dir, label, NULL, 0, 0, buf };
        int dfd = phash_open_beneath(root_fd, rel_dir, O_RDONLY | O_DIRECTORY);
        int r;

        if (dfd < 0)
                return err_set(err, -dfd == EXDEV ? 0 : -dfd, "%s: open directory%s", label,
                               dfd == -EXDEV ? ": outside the containment root" : "");
        r = walk_dir(&w, dfd, "", 0, err);
        if (r == 0)
                r = summarise_h1(h1, w.v, w.n, err);
        digests_free(w.v, w.n);
        return r;
}
