/* landlock.c - Landlock through raw syscalls (glibc has no wrappers), as a
 * second fence behind the mount flags:
 *   - execute only beneath the mounts marked executable;
 *   - write, create, remove, rename only beneath writable mounts (and the
 *     few /dev files everything writes to);
 *   - ABI 4+: TCP connect only to the spec's ports;
 *   - ABI 6+: no signals to, and no abstract unix sockets of, processes
 *     outside the command's own Landlock domain (the jail's init, or the
 *     emulator sharing the network namespace).
 * Rights the running kernel does not know are left out (best effort), and
 * the ABI in use is reported to the caller. */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "runner/util/cleanup.h"

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif

/* the uapi header of Debian 12 stops at ABI 2 */
#define LL_FS_EXECUTE (1ULL << 0)
#define LL_FS_WRITE_FILE (1ULL << 1)
#define LL_FS_REMOVE_DIR (1ULL << 4)
#define LL_FS_REMOVE_FILE (1ULL << 5)
#define LL_FS_MAKE_CHAR (1ULL << 6)
#define LL_FS_MAKE_DIR (1ULL << 7)
#define LL_FS_MAKE_REG (1ULL << 8)
#define LL_FS_MAKE_SOCK (1ULL << 9)
#define LL_FS_MAKE_FIFO (1ULL << 10)
#define LL_FS_MAKE_BLOCK (1ULL << 11)
#define LL_FS_MAKE_SYM (1ULL << 12)
#define LL_FS_REFER (1ULL << 13)        /* ABI 2 */
#define LL_FS_TRUNCATE (1ULL << 14)     /* ABI 3 */
#define LL_NET_CONNECT_TCP (1ULL << 1)  /* ABI 4 */
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0)      /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)     /* ABI 6 */
#define LL_RULE_PATH_BENEATH 1
#define LL_RULE_NET_PORT 2

struct ll_ruleset_attr {
        uint64_t handled_access_fs;
        uint64_t handled_access_net;
        uint64_t scoped;
};

struct ll_path_beneath {
        uint64_t allowed_access;
        int32_t parent_fd;
} __attribute__((packed));

struct ll_net_port {
        uint64_t allowed_access;
        uint64_t port;
};

#define WRITE_RIGHTS                                                                       \
        (LL_FS_WRITE_FILE | LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE | LL_FS_MAKE_DIR |        \
         LL_FS_MAKE_REG | LL_FS_MAKE_SOCK | LL_FS_MAKE_FIFO | LL_FS_MAKE_SYM | LL_FS_REFER | \
         LL_FS_TRUNCATE)
#define HANDLED_FS (LL_FS_EXECUTE | WRITE_RIGHTS | LL_FS_MAKE_CHAR | LL_FS_MAKE_BLOCK)

/* device files any program may open for writing */
static const char *const dev_writable[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random",
                                            "/dev/urandom" };

int jail_landlock_abi(void)
{
        long v = syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

        return v > 0 ? (int)v : 0;
}

static uint64_t fs_mask(int abi)
{
        uint64_t m = HANDLED_FS;

        if (abi < 2)
                m &= ~LL_FS_REFER;
        if (abi < 3)
                m &= ~LL_FS_TRUNCATE;
        return m;
}

static int add_path(int ruleset, const char *path, uint64_t access, struct err *err)
{
        _cleanup_close_ int fd = open(path, O_PATH | O_CLOEXEC);
        struct ll_path_beneath pb = { .allowed_access = access, .parent_fd = fd };

        if (fd < 0)
                return err_set(err, errno, "jail: landlock: open %s", path);
        if (syscall(__NR_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &pb, 0) < 0)
                return err_set(err, errno, "jail: landlock: rule for %s", path);
        return 0;
}

static int add_rules(int ruleset, int abi, const struct jail_spec *spec, struct err *err)
{
        uint64_t mask = fs_mask(abi);
        int r = 0;

        for (size_t i = 0; i < spec->n_mounts && r == 0; i++) {
                const struct jail_mount *m = &spec->mounts[i];

                if (m->kind == JM_SYMLINK || m->kind == JM_FILE)
                        continue;
                uint64_t access = 0;

                if (m->flags & JAIL_BIND_RW)
                        access |= WRITE_RIGHTS & mask;
                if (m->flags & JAIL_BIND_EXEC)
                        access |= LL_FS_EXECUTE;
                if (access != 0)
                        r = add_path(ruleset, m->dst, access, err);
        }
        for (size_t i = 0; i < ARRAY_SIZE(dev_writable) && r == 0; i++)
                r = add_path(ruleset, dev_writable[i], (LL_FS_WRITE_FILE | LL_FS_TRUNCATE) & mask, err);
        for (size_t i = 0; abi >= 4 && i < spec->n_ports && r == 0; i++) {
                struct ll_net_port np = { .allowed_access = LL_NET_CONNECT_TCP, .port = spec->ports[i] };

                if (syscall(__NR_landlock_add_rule, ruleset, LL_RULE_NET_PORT, &np, 0) < 0)
                        r = err_set(err, errno, "jail: landlock: allow port %u", spec->ports[i]);
        }
        return r;
}

int jail_landlock_apply(int *abi_out, const struct jail_spec *spec, struct err *err)
{
        struct ll_ruleset_attr attr = { 0 };
        size_t attr_size = sizeof(attr.handled_access_fs);
        _cleanup_close_ int ruleset = -1;
        int abi = jail_landlock_abi();
        int r;

        *abi_out = 0;
        if (abi <= 0)
                return 0;
        attr.handled_access_fs = fs_mask(abi);
        if (abi >= 4) {
                attr.handled_access_net = LL_NET_CONNECT_TCP;
                attr_size = offsetof(struct ll_ruleset_attr, scoped);
        }
        if (abi >= 6) {
                attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
                attr_size = sizeof(attr);
        }
        ruleset = (int)syscall(__NR_landlock_create_ruleset, &attr, attr_size, 0);
        if (ruleset < 0)
                return err_set(err, errno, "jail: landlock: create the ruleset (ABI %d)", abi);
        if ((r = add_rules(ruleset, abi, spec, err)) < 0)
                return r;
        if (syscall(__NR_landlock_restrict_self, ruleset, 0) < 0)
                return err_set(err, errno, "jail: landlock: restrict");
        *abi_out = abi;
        return 0;
}
