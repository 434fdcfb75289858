/* mounts.c - the jail's file system.
 *
 * The monitor opens every bind source as a detached mount tree with
 * open_tree(OPEN_TREE_CLONE) while it still sees the host, and sets the
 * mount flags on the detached tree (recursively, so submounts are covered
 * too).  The jail's init (pid 1 of the new PID namespace, which a fresh
 * /proc must be mounted from) then:
 *   1. mounts a small tmpfs, the new root, over /tmp of its private mount
 *      namespace (the sources are already open, so nothing is hidden);
 *   2. creates each target without following symlinks (openat2 with
 *      RESOLVE_NO_SYMLINKS per component: targets may lie inside a bind of
 *      a hostile tree) and attaches the source onto that exact dentry with
 *      move_mount() by fd, so no path is resolved twice;
 *   3. builds a minimal /dev (binds of null, zero, full, random, urandom),
 *      mounts /proc (hidepid=invisible) while the host's /proc is still
 *      visible (the kernel refuses a new proc otherwise);
 *   4. makes the root read-only, pivot_root(".", "."), detaches the old
 *      root. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

/* where the new root is assembled, inside the private mount namespace */
#define STAGING "/tmp"

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom" };

static const struct {
        const char *name;
        const char *target;
} dev_links[] = {
        { "fd", "/proc/self/fd" },
        { "stdin", "/proc/self/fd/0" },
        { "stdout", "/proc/self/fd/1" },
        { "stderr", "/proc/self/fd/2" },
};

static void phase(int sock, bool debug, const char *name)
{
        struct jail_msg m = { .type = JMSG_PHASE };

        if (!debug)
                return;
        m.t_ns = jail_now_ns();
        snprintf(m.text, sizeof(m.text), "%s", name);
        (void)jail_msg_send(sock, &m);
}

static int set_attr(int fd, unsigned set, unsigned flags)
{
        struct mount_attr attr = { .attr_set = set };

        return mount_setattr(fd, "", AT_EMPTY_PATH | flags, &attr, sizeof(attr));
}

int jail_srcs_open(struct jail_srcs *srcs, const struct jail_spec *spec, struct err *err)
{
        srcs->n = spec->n_mounts;
        srcs->fds = xmalloc(sizeof(int) * (srcs->n + 1));
        srcs->is_dir = xcalloc(srcs->n + 1, 1);
        for (size_t i = 0; i < srcs->n; i++)
                srcs->fds[i] = -1;
        for (size_t i = 0; i < ARRAY_SIZE(srcs->dev_fds); i++)
                srcs->dev_fds[i] = -1;
        for (size_t i = 0; i < srcs->n; i++) {
                const struct jail_mount *m = &spec->mounts[i];
                unsigned attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
                struct stat st;
                int fd;

                if (m->kind != JM_BIND)
                        continue;
                fd = open_tree(AT_FDCWD, m->src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
                if (fd < 0)
                        return err_set(err, errno, "jail: bind %s -> %s", m->src, m->dst);
                srcs->fds[i] = fd;
                if (!(m->flags & JAIL_BIND_RW))
                        attr |= MOUNT_ATTR_RDONLY;
                if (!(m->flags & JAIL_BIND_EXEC))
                        attr |= MOUNT_ATTR_NOEXEC;
                if (set_attr(fd, attr, AT_RECURSIVE) < 0)
                        return err_set(err, errno, "jail: bind %s -> %s: set mount flags", m->src,
                                       m->dst);
                if (fstat(fd, &st) < 0)
                        return err_set(err, errno, "jail: bind %s -> %s: stat", m->src, m->dst);
                srcs->is_dir[i] = S_ISDIR(st.st_mode);
        }
        for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++) {
                char path[32];
                int fd;

                snprintf(path, sizeof(path), "/dev/%s", dev_nodes[i]);
                fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                if (fd < 0)
                        return err_set(err, errno, "jail: /dev: bind %s", path);
                srcs->dev_fds[i] = fd;
                if (set_attr(fd, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, 0) < 0)
                        return err_set(err, errno, "jail: /dev: flags of %s", path);
        }
        return 0;
}

void jail_srcs_close(struct jail_srcs *srcs)
{
        for (size_t i = 0; srcs->fds != NULL && i < srcs->n; i++)
                if (srcs->fds[i] >= 0)
                        close(srcs->fds[i]);
        for (size_t i = 0; i < ARRAY_SIZE(srcs->dev_fds); i++)
                if (srcs->dev_fds[i] >= 0)
                        close(srcs->dev_fds[i]);
        free(srcs->fds);
        free(srcs->is_dir);
        srcs->fds = NULL;
        srcs->is_dir = NULL;
        srcs->n = 0;
}

static int open_nofollow(int dirfd, const char *name)
{
        struct open_how how = {
                .flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
                .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH,
        };

        return (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
}

int jail_walk_create(int dirfd, const char *rel, bool as_file, struct err *err)
{
        _cleanup_free_ char *copy = xstrdup(rel);
        _cleanup_close_ int cur = openat(dirfd, ".", O_PATH | O_CLOEXEC | O_DIRECTORY);
        char *save = copy;

        if (cur < 0)
                return err_set(err, errno, "open the new root");
        while (*save != '\0') {
                char *comp = save;
                char *slash = strchr(comp, '/');
                bool last = slash == NULL;
                struct stat st;
                int next;

                if (!last) {
                        *slash = '\0';
                        save = slash + 1;
                } else {
                        save = comp + strlen(comp);
                }
                if (comp[0] == '\0')
                        continue;
                next = open_nofollow(cur, comp);
                if (next < 0 && errno == ENOENT) {
                        int r;

                        if (last && as_file) {
                                r = openat(cur, comp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                           0644);
                                if (r >= 0)
                                        close(r);
                        } else {
                                r = mkdirat(cur, comp, 0755);
                        }
                        if (r < 0 && errno != EEXIST)
                                return err_set(err, errno, "create %s", comp);
                        next = open_nofollow(cur, comp);
                }
                if (next < 0) {
                        if (errno == ELOOP || errno == EXDEV)
                                return err_set(err, errno, "%s is a symlink (not followed)", comp);
                        return err_set(err, errno, "open %s", comp);
                }
                if (fstat(next, &st) < 0) {
                        int e = errno;

                        close(next);
                        return err_set(err, e, "stat %s", comp);
                }
                if ((!last || !as_file) && !S_ISDIR(st.st_mode)) {
                        close(next);
                        return err_set(err, ENOTDIR, "%s", comp);
                }
                if (last && as_file && S_ISDIR(st.st_mode)) {
                        close(next);
                        return err_set(err, EISDIR, "%s", comp);
                }
                close(cur);
                cur = next;
        }
        return TAKE_FD(cur);
}

/* a detached tmpfs mount */
static int tmpfs_new(uint64_t size, uint64_t inodes, const char *mode, unsigned attrs,
                     struct err *err)
{
        _cleanup_close_ int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
        char sz[32], ino[32];
        int m;

        if (fs < 0)
                return err_set(err, errno, "fsopen tmpfs");
        snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
        snprintf(ino, sizeof(ino), "%llu", (unsigned long long)inodes);
        if (fsconfig(fs, FSCONFIG_SET_STRING, "size", sz, 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "nr_inodes", ino, 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "mode", mode, 0) < 0 ||
            fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return err_set(err, errno, "configure tmpfs");
        m = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
        if (m < 0)
                return err_set(err, errno, "fsmount tmpfs");
        return m;
}

static int attach(int mnt, int target)
{
        return move_mount(mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

/* split "/a/b/c" into a walk of "a/b" and the name "c" */
static int parent_of(int root, const char *dst, const char **name, struct err *err)
{
        const char *slash = strrchr(dst, '/');
        _cleanup_free_ char *dir = NULL;
        int fd;

        *name = slash + 1;
        if (slash == dst) {
                fd = openat(root, ".", O_PATH | O_CLOEXEC | O_DIRECTORY);
                return fd < 0 ? err_set(err, errno, "open the new root") : fd;
        }
        dir = xstrndup(dst + 1, (size_t)(slash - dst - 1));
        return jail_walk_create(root, dir, false, err);
}

static int put_file(int root, const struct jail_mount *m, struct err *err)
{
        const char *name;
        _cleanup_close_ int dir = parent_of(root, m->dst, &name, err);
        _cleanup_close_ int fd = -1;
        int r;

        if (dir < 0)
                return err_wrap(err, "jail: file %s", m->dst);
        fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
        if (fd < 0)
                return err_set(err, errno, "jail: file %s", m->dst);
        r = write_all(fd, m->data, m->len);
        if (r < 0)
                return err_set(err, -r, "jail: file %s: write", m->dst);
        return 0;
}

static int put_symlink(int root, const struct jail_mount *m, struct err *err)
{
        const char *name;
        _cleanup_close_ int dir = parent_of(root, m->dst, &name, err);

        if (dir < 0)
                return err_wrap(err, "jail: symlink %s", m->dst);
        if (symlinkat(m->src, dir, name) < 0)
                return err_set(err, errno, "jail: symlink %s -> %s", m->dst, m->src);
        return 0;
}

static int put_mount(int root, const struct jail_mount *m, struct jail_srcs *srcs, size_t i,
                     struct err *err)
{
        bool is_file = m->kind == JM_BIND && !srcs->is_dir[i];
        _cleanup_close_ int target = jail_walk_create(root, m->dst + 1, is_file, err);
        _cleanup_close_ int mnt = -1;

        if (m->kind == JM_BIND) {
                if (target < 0)
                        return err_wrap(err, "jail: bind %s -> %s", m->src, m->dst);
                if (attach(srcs->fds[i], target) < 0)
                        return err_set(err, errno, "jail: bind %s -> %s: attach", m->src, m->dst);
                close(srcs->fds[i]);
                srcs->fds[i] = -1;
                return 0;
        }
        if (target < 0)
                return err_wrap(err, "jail: tmpfs %s", m->dst);
        /* about one inode per 4KiB of space: an inode bomb stays small */
        mnt = tmpfs_new(m->size, m->size / 4096 + 64, "1777",
                        MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                ((m->flags & JAIL_BIND_EXEC) ? 0 : MOUNT_ATTR_NOEXEC),
                        err);
        if (mnt < 0)
                return err_wrap(err, "jail: tmpfs %s", m->dst);
        if (attach(mnt, target) < 0)
                return err_set(err, errno, "jail: tmpfs %s: attach", m->dst);
        return 0;
}

static int build_dev(int root, struct jail_srcs *srcs, struct err *err)
{
        _cleanup_close_ int target = jail_walk_create(root, "dev", false, err);
        _cleanup_close_ int mnt = -1;

        if (target < 0)
                return err_wrap(err, "jail: /dev");
        mnt = tmpfs_new(64 << 10, 64, "0755", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err);
        if (mnt < 0)
                return err_wrap(err, "jail: /dev");
        for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++) {
                _cleanup_close_ int node = jail_walk_create(mnt, dev_nodes[i], true, err);

                if (node < 0)
                        return err_wrap(err, "jail: /dev/%s", dev_nodes[i]);
                if (attach(srcs->dev_fds[i], node) < 0)
                        return err_set(err, errno, "jail: /dev/%s: attach", dev_nodes[i]);
        }
        for (size_t i = 0; i < ARRAY_SIZE(dev_links); i++)
                if (symlinkat(dev_links[i].target, mnt, dev_links[i].name) < 0)
                        return err_set(err, errno, "jail: /dev/%s", dev_links[i].name);
        if (set_attr(mnt, MOUNT_ATTR_RDONLY, 0) < 0)
                return err_set(err, errno, "jail: /dev: read-only");
        if (attach(mnt, target) < 0)
                return err_set(err, errno, "jail: /dev: attach");
        return 0;
}

static int mount_proc(int root, struct err *err)
{
        _cleanup_close_ int fs = fsopen("proc", FSOPEN_CLOEXEC);
        _cleanup_close_ int target = -1;
        _cleanup_close_ int mnt = -1;

        if (fs < 0)
                return err_set(err, errno, "jail: /proc: fsopen");
        /* other users' processes invisible; kernels before 5.8 lack it */
        (void)fsconfig(fs, FSCONFIG_SET_STRING, "hidepid", "invisible", 0);
        if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return err_set(err, errno, "jail: /proc: create");
        mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (mnt < 0)
                return err_set(err, errno, "jail: /proc: fsmount");
        target = jail_walk_create(root, "proc", false, err);
        if (target < 0)
                return err_wrap(err, "jail: /proc");
        if (attach(mnt, target) < 0)
                return err_set(err, errno, "jail: /proc: attach");
        return 0;
}

static uint64_t root_size(const struct jail_spec *spec)
{
        uint64_t n = 1 << 20;

        for (size_t i = 0; i < spec->n_mounts; i++)
                n += spec->mounts[i].len + 4096;
        return n;
}

int jail_root_build(const struct jail_spec *spec, struct jail_srcs *srcs, int sock, bool debug,
                    int go, struct err *err)
{
        _cleanup_close_ int root = -1;
        int r;

        root = tmpfs_new(root_size(spec), 1024 + 8 * spec->n_mounts, "0755",
                         MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, err);
        if (root < 0)
                return err_wrap(err, "jail: new root");
        if (move_mount(root, "", AT_FDCWD, STAGING, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return err_set(err, errno, "jail: new root: attach at " STAGING);
        for (size_t i = 0; i < spec->n_mounts; i++) {
                const struct jail_mount *m = &spec->mounts[i];

                switch (m->kind) {
                case JM_BIND:
                case JM_TMPFS:
                        r = put_mount(root, m, srcs, i, err);
                        break;
                case JM_FILE:
                        r = put_file(root, m, err);
                        break;
                case JM_SYMLINK:
                        r = put_symlink(root, m, err);
                        break;
                default:
                        r = err_set(err, EINVAL, "jail: mount %s: unknown kind", m->dst);
                }
                if (r < 0)
                        return r;
        }
        phase(sock, debug, "mounts");
        if ((r = build_dev(root, srcs, err)) < 0 || (r = mount_proc(root, err)) < 0)
                return r;
        phase(sock, debug, "dev+proc");
        if (set_attr(root, MOUNT_ATTR_RDONLY, 0) < 0)
                return err_set(err, errno, "jail: new root: read-only");
        /* pivot_root moves the root of every task that has the old one, but
         * a task being forked meanwhile keeps the old root: wait until the
         * command exists */
        if (go >= 0) {
                char c;
                ssize_t n;

                do
                        n = read(go, &c, 1);
                while (n < 0 && errno == EINTR);
                if (n != 1)
                        return err_set(err, n < 0 ? errno : EPIPE, "jail: the monitor went away");
        }
        if (fchdir(root) < 0)
                return err_set(err, errno, "jail: new root: chdir");
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return err_set(err, errno, "jail: pivot_root");
        /* the old root is stacked on "." now: detach it, and with it the host */
        if (umount2(".", MNT_DETACH) < 0)
                return err_set(err, errno, "jail: detach the old root");
        if (chdir("/") < 0)
                return err_set(err, errno, "jail: chdir /");
        phase(sock, debug, "pivot");
        return 0;
}
