/* mirror.c - filesystem-mirror lookup, verification and the hash cache
 * (see mirror.h). */
#include "mirror.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "runner/util/buf.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/log.h"
#include "runner/util/xalloc.h"

#define CACHE_MAGIC "tfgate-provider-hashes v1"
#define CACHE_MAX_BYTES ((size_t)2 << 20)
#define HEX_LEN 64
#define CHECK_LEN 16

const char *mirror_status_name(enum mirror_status s)
{
        static const char *const names[] = {
                [MIRROR_VERIFIED] = "verified",
                [MIRROR_MISSING] = "missing",
                [MIRROR_MISMATCH] = "mismatch",
                [MIRROR_NOT_CONFIGURED] = "not-configured",
        };
        return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "unknown";
}

int mirror_host_platform(char out[MIRROR_PLATFORM_MAX], struct err *err)
{
        /* uname machine -> Go's GOARCH, as terraform names its packages */
        static const struct {
                const char *machine, *arch;
        } arch_table[] = {
                { "x86_64", "amd64" }, { "amd64", "amd64" }, { "aarch64", "arm64" }, { "arm64", "arm64" },
                { "i386", "386" },     { "i686", "386" },    { "armv6l", "arm" },    { "armv7l", "arm" },
                { "ppc64le", "ppc64le" }, { "s390x", "s390x" }, { "riscv64", "riscv64" },
        };
        struct utsname u;

        if (uname(&u) < 0)
                return err_set(err, errno, "uname");
        for (size_t i = 0; i < ARRAY_SIZE(arch_table); i++)
                if (strcmp(u.machine, arch_table[i].machine) == 0) {
                        snprintf(out, MIRROR_PLATFORM_MAX, "linux_%s", arch_table[i].arch);
                        return 0;
                }
        return err_set(err, 0, "unknown machine type \"%s\"", u.machine);
}

/* ---- request validation: nothing from a lock file reaches a path unchecked */

static bool safe_component(const char *s, size_t n, const char *extra)
{
        if (n == 0 || s[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      strchr(extra, c) != NULL) || c == '\0')
                        return false;
        }
        return true;
}

static int split_source(char parts[3][256], const char *source, struct err *err)
{
        const char *p = source;

        for (int i = 0; i < 3; i++) {
                size_t n = strcspn(p, "/");

                if (n >= 256 || !safe_component(p, n, i == 0 ? ".-:" : "-_") ||
                    (i < 2 && p[n] != '/') || (i == 2 && p[n] != '\0'))
                        return err_set(err, 0, "provider source \"%s\" is not HOST/NAMESPACE/TYPE", source);
                memcpy(parts[i], p, n);
                parts[i][n] = '\0';
                p += n + 1;
        }
        return 0;
}

static int check_request(const struct mirror_request *req, const char *platform, struct err *err)
{
        const char *us = strchr(platform, '_');

        if (req->version == NULL || !safe_component(req->version, strlen(req->version), ".-+") ||
            strlen(req->version) > 128)
                return err_set(err, 0, "invalid provider version \"%s\"", req->version ? req->version : "");
        if (us == NULL || strchr(us + 1, '_') != NULL || !safe_component(platform, (size_t)(us - platform), "") ||
            !safe_component(us + 1, strlen(us + 1), "") || strlen(platform) >= MIRROR_PLATFORM_MAX)
                return err_set(err, 0, "invalid platform \"%s\" (expected OS_ARCH)", platform);
        return 0;
}

/* ---- small helpers ---- */

static void hex_of(char out[HEX_LEN + 1], const void *p, size_t n)
{
        static const char hx[] = "0123456789abcdef";
        unsigned char md[32];

        EVP_Digest(p, n, md, NULL, EVP_sha256(), NULL);
        for (int i = 0; i < 32; i++) {
                out[2 * i] = hx[md[i] >> 4];
                out[2 * i + 1] = hx[md[i] & 15];
        }
        out[HEX_LEN] = '\0';
}

static void stat_key(struct buf *b, const struct stat *st)
{
        buf_printf(b, NULL, "%o %llu %llu %lld %lld.%09ld %lld.%09ld\n", (unsigned)st->st_mode,
                   (unsigned long long)st->st_dev, (unsigned long long)st->st_ino, (long long)st->st_size,
                   (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec,
                   st->st_ctim.tv_nsec);
}

struct fp_line {
        char *s;
};

static int fp_order(const void *a, const void *b)
{
        return strcmp(((const struct fp_line *)a)->s, ((const struct fp_line *)b)->s);
}

/* stat fingerprint of a directory tree: every entry's name and stat fields
 * (and a symlink target's), sorted; any change below dfd changes it */
static int fingerprint_walk(struct fp_line **v, size_t *n, size_t *cap, int dfd, const char *rel,
                            unsigned depth)
{
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (depth > PHASH_MAX_DEPTH) {
                close(dfd);
                return -ELOOP;
        }
        if ((d = fdopendir(dfd)) == NULL) {
                close(dfd);
                return -errno;
        }
        while (r == 0 && (de = readdir(d)) != NULL) {
                struct buf b = BUF_INIT((size_t)1 << 16);
                struct stat st, tst;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (*n >= PHASH_MAX_FILES) {
                        r = -E2BIG;
                        break;
                }
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = -errno;
                        break;
                }
                buf_printf(&b, NULL, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
                buf_putc(&b, '\0', NULL);
                stat_key(&b, &st);
                if (S_ISLNK(st.st_mode) && fstatat(dirfd(d), de->d_name, &tst, 0) == 0)
                        stat_key(&b, &tst);
                if (*n == *cap) {
                        *cap = *cap ? 2 * *cap : 64;
                        *v = xreallocarray(*v, *cap, sizeof(**v));
                }
                (*v)[(*n)++].s = buf_steal(&b, NULL);
                if (S_ISDIR(st.st_mode)) {
                        int sfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_free_ char *sub = xasprintf("%s%s%s", rel, rel[0] ? "/" : "", de->d_name);

                        r = sfd < 0 ? -errno : fingerprint_walk(v, n, cap, sfd, sub, depth + 1);
                }
        }
        closedir(d);
        return r;
}

/* key material of a package: its real path, then stat fields */
static int package_key(char path_hex[HEX_LEN + 1], char key_hex[HEX_LEN + 1], int fd, bool packed)
{
        char proc[64], real[PATH_MAX];
        struct buf b = BUF_INIT((size_t)64 << 20);
        struct stat st;
        int r = 0;

        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        if (realpath(proc, real) == NULL || fstat(fd, &st) < 0)
                return -errno;
        hex_of(path_hex, real, strlen(real));
        buf_printf(&b, NULL, "%s%c", real, '\0');
        stat_key(&b, &st);
        if (!packed) {
                struct fp_line *v = NULL;
                size_t n = 0, cap = 0;
                int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                r = dfd < 0 ? -errno : fingerprint_walk(&v, &n, &cap, dfd, "", 0);
                if (r == 0) {
                        if (n > 1)
                                qsort(v, n, sizeof(*v), fp_order);
                        for (size_t i = 0; i < n && r == 0; i++)
                                r = buf_append(&b, v[i].s, strlen(v[i].s) + 1 + strlen(v[i].s + strlen(v[i].s) + 1), NULL);
                }
                for (size_t i = 0; i < n; i++)
                        free(v[i].s);
                free(v);
        }
        if (r == 0)
                hex_of(key_hex, b.data ? b.data : "", b.len);
        buf_free(&b);
        return r;
}

/* ---- the cache file ---- */

struct cache_line {
        char path[HEX_LEN + 1], key[HEX_LEN + 1];
        char h1[PHASH_H1_SIZE], zh[PHASH_ZH_SIZE];     /* zh "" = none */
};

static void line_check(char out[CHECK_LEN + 1], const struct cache_line *l)
{
        char hex[HEX_LEN + 1];
        _cleanup_free_ char *s = xasprintf("%s %s %s %s", l->path, l->key, l->h1, l->zh[0] ? l->zh : "-");

        hex_of(hex, s, strlen(s));
        memcpy(out, hex, CHECK_LEN);
        out[CHECK_LEN] = '\0';
}

static bool all_in(const char *s, size_t n, const char *set)
{
        if (strlen(s) != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (strchr(set, s[i]) == NULL || s[i] == '\0')
                        return false;
        return true;
}

static const char hexset[] = "0123456789abcdef";
static const char b64set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";

/* split s in place at single spaces into at most max fields */
static int split_fields(char **f, int max, char *s)
{
        int n = 0;

        while (n < max) {
                char *sp = strchr(s, ' ');

                f[n++] = s;
                if (sp == NULL)
                        return n;
                *sp = '\0';
                s = sp + 1;
        }
        return max + 1; /* too many */
}

/* parse one line; false for anything malformed or failing its checksum */
static bool parse_line(struct cache_line *l, char *s)
{
        char *f[5], check[CHECK_LEN + 1];
        int n = split_fields(f, 5, s);

        if (n != 5 || !all_in(f[0], HEX_LEN, hexset) || !all_in(f[1], HEX_LEN, hexset) ||
            strncmp(f[2], "h1:", 3) != 0 || !all_in(f[2] + 3, PHASH_H1_SIZE - 4, b64set) ||
            !(strcmp(f[3], "-") == 0 || (strncmp(f[3], "zh:", 3) == 0 && all_in(f[3] + 3, HEX_LEN, hexset))) ||
            !all_in(f[4], CHECK_LEN, hexset))
                return false;
        memcpy(l->path, f[0], HEX_LEN + 1);
        memcpy(l->key, f[1], HEX_LEN + 1);
        memcpy(l->h1, f[2], PHASH_H1_SIZE);
        if (strcmp(f[3], "-") == 0)
                l->zh[0] = '\0';
        else
                memcpy(l->zh, f[3], PHASH_ZH_SIZE);
        line_check(check, l);
        return strcmp(check, f[4]) == 0;
}

/* read the valid lines of the cache; a missing, unsafe or damaged file
 * reads as empty (the cache only saves time) */
static size_t cache_load(struct cache_line **out, const char *file)
{
        _cleanup_close_ int fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        _cleanup_free_ char *data = NULL;
        struct cache_line *v = NULL;
        size_t len, n = 0;
        struct stat st;

        *out = NULL;
        if (fd < 0)
                return 0;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
            (st.st_mode & (S_IWGRP | S_IWOTH))) {
                log_warn("provider hash cache %s ignored: not a private regular file of this user", file);
                return 0;
        }
        if (fd_read_all(&data, &len, fd, CACHE_MAX_BYTES, NULL) < 0 || strlen(data) != len)
                return 0;
        char *line = data, *nl = strchr(line, '\n');
        if (nl == NULL)
                return 0;
        *nl = '\0';
        if (strcmp(line, CACHE_MAGIC) != 0)
                return 0;
        v = xcalloc(MIRROR_CACHE_MAX_ENTRIES, sizeof(*v));
        for (line = nl + 1; *line != '\0' && n < MIRROR_CACHE_MAX_ENTRIES; line = nl + 1) {
                if ((nl = strchr(line, '\n')) == NULL)
                        break;  /* a torn last line */
                *nl = '\0';
                if (parse_line(&v[n], line))
                        n++;
        }
        *out = v;
        return n;
}

static bool cache_find(struct cache_line *hit, const char *cache_dir, const char *path_hex, const char *key_hex)
{
        _cleanup_free_ char *file = xasprintf("%s/%s", cache_dir, MIRROR_CACHE_FILE);
        _cleanup_free_ struct cache_line *v = NULL;
        size_t n = cache_load(&v, file);

        for (size_t i = n; i-- > 0;)
                if (strcmp(v[i].path, path_hex) == 0 && strcmp(v[i].key, key_hex) == 0) {
                        *hit = v[i];
                        return true;
                }
        return false;
}

static void cache_store(const char *cache_dir, const struct cache_line *l)
{
        _cleanup_free_ char *file = xasprintf("%s/%s", cache_dir, MIRROR_CACHE_FILE);
        _cleanup_free_ struct cache_line *v = NULL;
        struct buf b = BUF_INIT(CACHE_MAX_BYTES + 4096);
        struct err e = ERR_INIT;
        size_t n, skip;
        char check[CHECK_LEN + 1];

        if (mkdir_p(cache_dir, 0700, &e) < 0) {
                log_warn("provider hash cache: %s", e.msg);
                return;
        }
        n = cache_load(&v, file);
        /* keep the newest entries, one per package path */
        skip = n + 1 > MIRROR_CACHE_MAX_ENTRIES ? n + 1 - MIRROR_CACHE_MAX_ENTRIES : 0;
        buf_printf(&b, NULL, "%s\n", CACHE_MAGIC);
        for (size_t i = skip; i < n; i++) {
                if (strcmp(v[i].path, l->path) == 0)
                        continue;
                line_check(check, &v[i]);
                buf_printf(&b, NULL, "%s %s %s %s %s\n", v[i].path, v[i].key, v[i].h1,
                           v[i].zh[0] ? v[i].zh : "-", check);
        }
        line_check(check, l);
        buf_printf(&b, NULL, "%s %s %s %s %s\n", l->path, l->key, l->h1, l->zh[0] ? l->zh : "-", check);
        if (file_write_atomic(file, b.data, b.len, 0600, &e) < 0)
                log_warn("provider hash cache: %s", e.msg);
        buf_free(&b);
}

/* ---- lookup ---- */

static int set_status(struct mirror_result *out, enum mirror_status s, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int set_status(struct mirror_result *out, enum mirror_status s, const char *fmt, ...)
{
        va_list ap;

        out->status = s;
        va_start(ap, fmt);
        vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
        va_end(ap);
        return 0;
}

/* what the TYPE directory does hold, to make "missing" actionable */
static void list_type_dir(char *out, size_t n, int root_fd, const char *type_rel)
{
        int dfd = phash_open_beneath(root_fd, type_rel, O_RDONLY | O_DIRECTORY);
        DIR *d;
        struct dirent *de;
        size_t used = 0;
        int shown = 0;

        out[0] = '\0';
        if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
                if (dfd >= 0)
                        close(dfd);
                snprintf(out, n, " (no directory %s)", type_rel);
                return;
        }
        while ((de = readdir(d)) != NULL && used + 1 < n) {
                if (de->d_name[0] == '.')
                        continue;
                int k = snprintf(out + used, n - used, "%s%s", shown ? ", " : " (found: ", de->d_name);
                if (k < 0 || (size_t)k >= n - used || ++shown == 8)
                        break;
                used += (size_t)k;
        }
        closedir(d);
        used = strlen(out);
        if (shown == 0)
                snprintf(out, n, " (%s is empty)", type_rel);
        else if (used + 2 < n)
                memcpy(out + used, ")", 2);
}

static bool escaped(int r)
{
        return r == -EXDEV || r == -ELOOP;
}

static int match_hashes(struct mirror_result *out, const struct mirror_request *req)
{
        for (size_t i = 0; i < req->n_hashes; i++) {
                const char *h = req->hashes[i];

                if ((phash_has_scheme(h, "h1") && out->h1[0] && strcmp(h, out->h1) == 0) ||
                    (phash_has_scheme(h, "zh") && out->zh[0] && strcmp(h, out->zh) == 0)) {
                        out->matched = (int)i;
                        return 1;
                }
        }
        return 0;
}

static int compute(struct mirror_result *out, int fd, struct err *err)
{
        out->h1[0] = out->zh[0] = '\0';
        if (out->packed)
                return phash_zip(out->h1, out->zh, fd, out->path, err);
        return phash_dir(out->h1, fd, ".", out->path, err);
}

static int verify_package(struct mirror_result *out, int fd, const char *cache_dir,
                          const struct mirror_request *req)
{
        char path_hex[HEX_LEN + 1], key_hex[HEX_LEN + 1];
        struct cache_line l;
        struct err e = ERR_INIT;
        bool keyed = cache_dir != NULL && package_key(path_hex, key_hex, fd, out->packed) == 0;
        size_t n_h1 = 0, n_zh = 0;

        for (size_t i = 0; i < req->n_hashes; i++) {
                n_h1 += phash_has_scheme(req->hashes[i], "h1");
                n_zh += phash_has_scheme(req->hashes[i], "zh");
        }
        if (keyed && cache_find(&l, cache_dir, path_hex, key_hex) && (l.zh[0] != '\0') == out->packed) {
                memcpy(out->h1, l.h1, sizeof(out->h1));
                memcpy(out->zh, l.zh, sizeof(out->zh));
                out->from_cache = true;
                if (match_hashes(out, req))
                        return set_status(out, MIRROR_VERIFIED, "%s matches the lock file (cached hash)",
                                          out->matched >= 0 && phash_has_scheme(req->hashes[out->matched], "zh") ? "zh:" : "h1:");
                /* never report a mismatch from the cache: rehash first */
                out->from_cache = false;
        }
        if (compute(out, fd, &e) < 0)
                return set_status(out, MIRROR_MISMATCH, "%s cannot be verified: %s", out->path, e.msg);
        if (keyed) {
                memcpy(l.path, path_hex, sizeof(l.path));
                memcpy(l.key, key_hex, sizeof(l.key));
                memcpy(l.h1, out->h1, sizeof(l.h1));
                memcpy(l.zh, out->zh, sizeof(l.zh));
                cache_store(cache_dir, &l);
        }
        if (match_hashes(out, req))
                return set_status(out, MIRROR_VERIFIED, "%s matches the lock file",
                                  phash_has_scheme(req->hashes[out->matched], "zh") ? "zh:" : "h1:");
        if (!out->packed && n_h1 == 0 && n_zh > 0)
                return set_status(out, MIRROR_MISMATCH,
                                  "%s is unpacked, which only an h1: hash can verify, and the lock file has only zh: hashes",
                                  out->path);
        if (n_h1 + n_zh == 0)
                return set_status(out, MIRROR_MISMATCH, "the lock file has no h1: or zh: hash for %s", req->source);
        return set_status(out, MIRROR_MISMATCH, "%s (%s%s%s) matches none of the lock file's %zu h1: and %zu zh: hashes",
                          out->path, out->h1, out->zh[0] ? ", " : "", out->zh, n_h1, n_zh);
}

int mirror_verify(struct mirror_result *out, const char *mirror_root, const char *cache_dir,
                  const struct mirror_request *req, struct err *err)
{
        char parts[3][256], platform[MIRROR_PLATFORM_MAX], found[512];
        _cleanup_free_ char *type_rel = NULL, *packed = NULL, *unpacked = NULL;
        _cleanup_close_ int root_fd = -1, fd = -1;
        int r;

        memset(out, 0, sizeof(*out));
        out->matched = -1;
        if (mirror_root == NULL)
                return set_status(out, MIRROR_NOT_CONFIGURED, "no provider mirror is configured");
        if (req->platform != NULL)
                snprintf(platform, sizeof(platform), "%s", req->platform);
        else if ((r = mirror_host_platform(platform, err)) < 0)
                return r;
        if ((r = split_source(parts, req->source, err)) < 0 || (r = check_request(req, platform, err)) < 0)
                return r;
        root_fd = open(mirror_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return err_set(err, errno, "provider mirror %s", mirror_root);

        type_rel = xasprintf("%s/%s/%s", parts[0], parts[1], parts[2]);
        packed = xasprintf("%s/terraform-provider-%s_%s_%s.zip", type_rel, parts[2], req->version, platform);
        unpacked = xasprintf("%s/%s/%s", type_rel, req->version, platform);

        fd = phash_open_beneath(root_fd, packed, O_RDONLY | O_NONBLOCK);
        if (fd >= 0) {
                struct stat st;

                snprintf(out->path, sizeof(out->path), "%s", packed);
                out->packed = true;
                if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                        return set_status(out, MIRROR_MISSING, "%s is not a regular file", packed);
                return verify_package(out, fd, cache_dir, req);
        }
        if (escaped(fd))
                return set_status(out, MIRROR_MISSING, "%s leads outside the mirror through a symlink; refused",
                                  packed);
        if (fd != -ENOENT && fd != -ENOTDIR)
                return set_status(out, MIRROR_MISSING, "%s: %s", packed, strerror(-fd));
        fd = phash_open_beneath(root_fd, unpacked, O_RDONLY | O_DIRECTORY);
        if (fd >= 0) {
                snprintf(out->path, sizeof(out->path), "%s", unpacked);
                return verify_package(out, fd, cache_dir, req);
        }
        if (escaped(fd))
                return set_status(out, MIRROR_MISSING, "%s leads outside the mirror through a symlink; refused",
                                  unpacked);
        list_type_dir(found, sizeof(found), root_fd, type_rel);
        return set_status(out, MIRROR_MISSING, "no %s package of %s %s in the mirror (looked for %s and %s/)%s",
                          platform, req->source, req->version, packed, unpacked, found);
}
