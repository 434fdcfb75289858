#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "xalloc.h"

int fd_read_all(char **out, size_t *len, int fd, size_t max, struct err *err)
{
        struct buf b = BUF_INIT(max);
        char chunk[65536];

        for (;;) {
                ssize_t n = read(fd, chunk, sizeof(chunk));
                int r;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = err_set(err, errno, "read");
                        buf_free(&b);
                        return r;
                }
                if (n == 0)
                        break;
                r = buf_append(&b, chunk, (size_t)n, err);
                if (r < 0) {
                        buf_free(&b);
                        return err_set(err, EFBIG, "larger than %zu bytes", max);
                }
        }
        *out = buf_steal(&b, len);
        return 0;
}

static int read_open_file(char **out, size_t *len, int fd, const char *path,
                          size_t max, struct err *err)
{
        int r = fd_read_all(out, len, fd, max, err);

        if (r < 0)
                return err_wrap(err, "%s", path);
        return 0;
}

int file_read_all(char **out, size_t *len, const char *path, size_t max, struct err *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return err_set(err, errno, "%s", path);
        return read_open_file(out, len, fd, path, max, err);
}

static int check_private_fd(int fd, const char *path, struct err *err)
{
        struct stat st;

        if (fstat(fd, &st) < 0)
                return err_set(err, errno, "%s", path);
        if (!S_ISREG(st.st_mode))
                return err_set(err, EINVAL, "%s: not a regular file", path);
        if (st.st_mode & (S_IRWXG | S_IRWXO))
                return err_set(err, EPERM,
                               "%s: mode %04o lets group or others access a secret; chmod 600 it",
                               path, (unsigned)(st.st_mode & 07777));
        return 0;
}

int file_check_private(const char *path, struct err *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return err_set(err, errno, "%s", path);
        return check_private_fd(fd, path, err);
}

int file_read_secret(char **out, size_t *len, const char *path, size_t max, struct err *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        int r;

        if (fd < 0)
                return err_set(err, errno, "%s", path);
        r = check_private_fd(fd, path, err);
        if (r < 0)
                return r;
        return read_open_file(out, len, fd, path, max, err);
}

int write_all(int fd, const void *data, size_t len)
{
        const char *p = data;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int file_write_new(const char *path, const void *data, size_t len, mode_t mode, struct err *err)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        int r;

        if (fd < 0)
                return err_set(err, errno, "%s", path);
        r = write_all(fd, data, len);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r < 0) {
                unlink(path);
                return err_set(err, -r, "write %s", path);
        }
        return 0;
}

int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct err *err)
{
        _cleanup_free_ char *tmp = xasprintf("%s.tmp.XXXXXX", path);
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        int r;

        if (fd < 0)
                return err_set(err, errno, "create %s", tmp);
        r = write_all(fd, data, len);
        if (r == 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                return err_set(err, -r, "write %s", path);
        }
        return 0;
}

int mkdir_p(const char *path, mode_t mode, struct err *err)
{
        _cleanup_free_ char *p = xstrdup(path);

        for (char *s = p + 1; *s != '\0'; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return err_set(err, errno, "mkdir %s", p);
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return err_set(err, errno, "mkdir %s", p);
        return 0;
}

/* remove the entries of the directory open at dfd; dev is the tree's device */
static int rm_children(int dfd, dev_t dev, const char *path, struct err *err)
{
        DIR *d = fdopendir(dfd);
        struct dirent *de;
        int r = 0;

        if (d == NULL) {
                close(dfd);
                return err_set(err, errno, "opendir %s", path);
        }
        while ((de = readdir(d)) != NULL) {
                struct stat st;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        r = err_set(err, errno, "stat %s/%s", path, de->d_name);
                        break;
                }
                if (S_ISDIR(st.st_mode)) {
                        int sub;
                        _cleanup_free_ char *subpath = NULL;

                        if (st.st_dev != dev) {
                                r = err_set(err, EBUSY, "%s/%s: a mount point; not crossing it",
                                            path, de->d_name);
                                break;
                        }
                        sub = openat(dirfd(d), de->d_name,
                                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0) {
                                r = err_set(err, errno, "open %s/%s", path, de->d_name);
                                break;
                        }
                        subpath = xasprintf("%s/%s", path, de->d_name);
                        /* terraform leaves read-only directories behind */
                        if ((st.st_mode & S_IRWXU) != S_IRWXU)
                                (void)fchmod(sub, (st.st_mode & 07777) | S_IRWXU);
                        r = rm_children(sub, dev, subpath, err);
                        if (r < 0)
                                break;
                        if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
                                r = err_set(err, errno, "rmdir %s", subpath);
                                break;
                        }
                } else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
                        r = err_set(err, errno, "unlink %s/%s", path, de->d_name);
                        break;
                }
        }
        closedir(d);
        return r;
}

int rm_rf(const char *path, struct err *err)
{
        struct stat st;
        int fd, r;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : err_set(err, errno, "stat %s", path);
        if (!S_ISDIR(st.st_mode)) {
                if (unlink(path) < 0 && errno != ENOENT)
                        return err_set(err, errno, "unlink %s", path);
                return 0;
        }
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return err_set(err, errno, "open %s", path);
        r = rm_children(fd, st.st_dev, path, err);
        if (r < 0)
                return r;
        if (rmdir(path) < 0 && errno != ENOENT)
                return err_set(err, errno, "rmdir %s", path);
        return 0;
}

bool path_is_absolute_clean(const char *path)
{
        const char *p = path;

        if (path == NULL || path[0] != '/')
                return false;
        while (*p != '\0') {
                const char *seg = p + 1;
                size_t n = strcspn(seg, "/");

                if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
                        return false;
                if (n == 0 && seg[0] == '/')
                        return false;
                p = seg + n;
        }
        return true;
}
