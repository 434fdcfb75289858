/* seccomp_rules.c - the jail's deny list (reference/sandbox.md section 4b)
 * as a table, and its compilation with libseccomp.
 *
 * Why a deny list: the Terraform syscall set has not been traced yet; the
 * list is the floor.  The table is compiled to BPF at build time by
 * seccomp_gen.c (compiling it takes milliseconds, on every jail otherwise);
 * seccomp.c embeds the result, and a unit test checks that the embedded
 * program is what this table compiles to. */
#include <errno.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

#define LOW32 0xffffffffULL

#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif

enum cond {
        C_ALWAYS = 0,
        C_CLONE_NS,     /* clone with any CLONE_NEW* bit */
        C_TTY_INJECT,   /* ioctl TIOCSTI / TIOCLINUX, low 32 bits */
        C_FAMILY,       /* socket/socketpair family not UNIX/INET/INET6 */
        C_PERSONALITY,  /* personality outside the safe values */
};

struct rule {
        const char *name;
        int errnum;
        enum cond cond;
        bool optional;  /* not a syscall on every architecture */
};

static const struct rule rules[] = {
        /* nested namespaces: fresh caps over new net/mount namespaces */
        { "unshare", EPERM, C_ALWAYS, false },
        { "setns", EPERM, C_ALWAYS, false },
        { "clone", EPERM, C_CLONE_NS, false },
        /* flags in a struct seccomp cannot read; ENOSYS makes libc use clone */
        { "clone3", ENOSYS, C_ALWAYS, false },
        /* rearranging the VFS is the jail builder's job only */
        { "mount", EPERM, C_ALWAYS, false },
        { "umount", EPERM, C_ALWAYS, true },
        { "umount2", EPERM, C_ALWAYS, false },
        { "pivot_root", EPERM, C_ALWAYS, false },
        { "chroot", EPERM, C_ALWAYS, false },
        { "fsopen", ENOSYS, C_ALWAYS, false },
        { "fsconfig", ENOSYS, C_ALWAYS, false },
        { "fsmount", ENOSYS, C_ALWAYS, false },
        { "fspick", ENOSYS, C_ALWAYS, false },
        { "move_mount", ENOSYS, C_ALWAYS, false },
        { "open_tree", ENOSYS, C_ALWAYS, false },
        { "mount_setattr", ENOSYS, C_ALWAYS, false },
        /* keyrings are not namespaced */
        { "add_key", EPERM, C_ALWAYS, false },
        { "request_key", EPERM, C_ALWAYS, false },
        { "keyctl", EPERM, C_ALWAYS, false },
        { "bpf", EPERM, C_ALWAYS, false },
        { "perf_event_open", EPERM, C_ALWAYS, false },
        { "io_uring_setup", ENOSYS, C_ALWAYS, false },
        { "io_uring_enter", ENOSYS, C_ALWAYS, false },
        { "io_uring_register", ENOSYS, C_ALWAYS, false },
        { "userfaultfd", EPERM, C_ALWAYS, false },
        /* no process may read or rewrite another (terraform, the jail's init) */
        { "ptrace", EPERM, C_ALWAYS, false },
        { "process_vm_readv", EPERM, C_ALWAYS, false },
        { "process_vm_writev", EPERM, C_ALWAYS, false },
        { "kcmp", EPERM, C_ALWAYS, false },
        { "pidfd_getfd", EPERM, C_ALWAYS, false },
        { "process_madvise", EPERM, C_ALWAYS, false },
        /* handles bypass path checks ("shocker") */
        { "open_by_handle_at", EPERM, C_ALWAYS, false },
        { "name_to_handle_at", EPERM, C_ALWAYS, false },
        /* host-global */
        { "init_module", EPERM, C_ALWAYS, false },
        { "finit_module", EPERM, C_ALWAYS, false },
        { "delete_module", EPERM, C_ALWAYS, false },
        { "kexec_load", EPERM, C_ALWAYS, false },
        { "kexec_file_load", EPERM, C_ALWAYS, false },
        { "reboot", EPERM, C_ALWAYS, false },
        { "acct", EPERM, C_ALWAYS, false },
        { "quotactl", EPERM, C_ALWAYS, false },
        { "quotactl_fd", EPERM, C_ALWAYS, false },
        { "swapon", EPERM, C_ALWAYS, false },
        { "swapoff", EPERM, C_ALWAYS, false },
        { "syslog", EPERM, C_ALWAYS, false },
        { "vhangup", EPERM, C_ALWAYS, false },
        { "lookup_dcookie", EPERM, C_ALWAYS, false },
        { "fanotify_init", EPERM, C_ALWAYS, false },
        /* time is global */
        { "settimeofday", EPERM, C_ALWAYS, false },
        { "clock_settime", EPERM, C_ALWAYS, false },
        { "clock_settime64", EPERM, C_ALWAYS, true },
        { "clock_adjtime", EPERM, C_ALWAYS, false },
        { "clock_adjtime64", EPERM, C_ALWAYS, true },
        { "adjtimex", EPERM, C_ALWAYS, false },
        { "stime", EPERM, C_ALWAYS, true },
        /* hardware and LDT surface */
        { "iopl", EPERM, C_ALWAYS, true },
        { "ioperm", EPERM, C_ALWAYS, true },
        { "modify_ldt", EPERM, C_ALWAYS, true },
        { "vm86", EPERM, C_ALWAYS, true },
        { "vm86old", EPERM, C_ALWAYS, true },
        /* obsolete */
        { "uselib", EPERM, C_ALWAYS, true },
        { "ustat", EPERM, C_ALWAYS, true },
        { "sysfs", EPERM, C_ALWAYS, true },
        { "_sysctl", EPERM, C_ALWAYS, true },
        { "nfsservctl", EPERM, C_ALWAYS, true },
        { "create_module", EPERM, C_ALWAYS, true },
        { "get_kernel_syms", EPERM, C_ALWAYS, true },
        { "query_module", EPERM, C_ALWAYS, true },
        /* NUMA kernel memory policy */
        { "mbind", EPERM, C_ALWAYS, false },
        { "set_mempolicy", EPERM, C_ALWAYS, false },
        { "get_mempolicy", EPERM, C_ALWAYS, false },
        { "migrate_pages", EPERM, C_ALWAYS, false },
        { "move_pages", EPERM, C_ALWAYS, false },
        { "set_mempolicy_home_node", EPERM, C_ALWAYS, false },
        /* READ_IMPLIES_EXEC and ADDR_NO_RANDOMIZE weaken the process */
        { "personality", EPERM, C_PERSONALITY, false },
        /* tty input injection (CVE-2017-5226, CVE-2019-10063, CVE-2023-1523) */
        { "ioctl", EPERM, C_TTY_INJECT, false },
        /* AF_VSOCK ignores network namespaces; AF_ALG, AF_PACKET... are surface */
        { "socket", EAFNOSUPPORT, C_FAMILY, false },
        { "socketpair", EAFNOSUPPORT, C_FAMILY, false },
        /* fileless exec defeats noexec */
        { "memfd_create", ENOSYS, C_ALWAYS, false },
        /* unneeded (harmless in the jail's own UTS namespace) */
        { "sethostname", EPERM, C_ALWAYS, false },
        { "setdomainname", EPERM, C_ALWAYS, false },
};

static const char *const cond_text[] = {
        [C_ALWAYS] = NULL,
        [C_CLONE_NS] = "flags contain a CLONE_NEW* bit",
        [C_TTY_INJECT] = "request is TIOCSTI or TIOCLINUX (low 32 bits)",
        [C_FAMILY] = "family is not AF_UNIX, AF_INET or AF_INET6",
        [C_PERSONALITY] = "persona is not 0, 8, 0x20000, 0x20008 or 0xffffffff",
};

#define CLONE_NS_BITS                                                                 \
        { 0x00020000U /* NEWNS */, 0x02000000U /* NEWCGROUP */, 0x04000000U /* NEWUTS */, \
          0x08000000U /* NEWIPC */, 0x10000000U /* NEWUSER */, 0x20000000U /* NEWPID */,  \
          0x40000000U /* NEWNET */, 0x00000080U /* NEWTIME */ }

static const uint32_t safe_families[] = { AF_UNIX, AF_INET, AF_INET6 };
static const uint32_t safe_personas[] = { PER_LINUX, PER_LINUX32, UNAME26, UNAME26 | PER_LINUX32,
                                          0xffffffffU };

struct blocks {
        uint32_t (*b)[2];
        size_t max;
        size_t n;
};

/* vals share `prefix` on the bits above `bit`; emit a block for each half
 * below that holds none of them */
static void blocks_rec(struct blocks *bl, uint32_t prefix, int bit, const uint32_t *vals, size_t n)
{
        for (uint32_t half = 0; half < 2; half++) {
                uint32_t sub[16];
                size_t m = 0;
                uint32_t p = prefix | (half << bit);

                for (size_t i = 0; i < n; i++)
                        if (((vals[i] >> bit) & 1U) == half && m < ARRAY_SIZE(sub))
                                sub[m++] = vals[i];
                if (m == 0) {
                        if (bl->n < bl->max) {
                                bl->b[bl->n][0] = (uint32_t)(0xffffffffULL << bit);
                                bl->b[bl->n][1] = p;
                        }
                        bl->n++;
                } else if (bit > 0) {
                        blocks_rec(bl, p, bit - 1, sub, m);
                }
        }
}

size_t jail_seccomp_complement_blocks(uint32_t (*blocks)[2], size_t max, const uint32_t *allowed,
                                      size_t n_allowed)
{
        struct blocks bl = { blocks, max, 0 };

        if (n_allowed == 0 || n_allowed > 16) {
                if (n_allowed == 0 && max > 0) {
                        blocks[0][0] = 0;
                        blocks[0][1] = 0;
                }
                return n_allowed == 0 ? 1 : 0;
        }
        blocks_rec(&bl, 0, 31, allowed, n_allowed);
        return bl.n;
}

static int add_except(scmp_filter_ctx ctx, const struct rule *r, int nr, unsigned arg,
                      const uint32_t *allowed, size_t n)
{
        uint32_t blocks[128][2];
        size_t nb = jail_seccomp_complement_blocks(blocks, ARRAY_SIZE(blocks), allowed, n);

        if (nb == 0 || nb > ARRAY_SIZE(blocks))
                return -E2BIG;
        for (size_t i = 0; i < nb; i++) {
                /* the mask's high word is 0: the kernel reads an int */
                int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint32_t)r->errnum), nr, 1,
                                          SCMP_CMP64(arg, SCMP_CMP_MASKED_EQ, (uint64_t)blocks[i][0],
                                                     (uint64_t)blocks[i][1]));
                if (rc < 0)
                        return rc;
        }
        return 0;
}

static int add_rule(scmp_filter_ctx ctx, const struct rule *r)
{
        static const uint32_t ns_bits[] = CLONE_NS_BITS;
        uint32_t act = SCMP_ACT_ERRNO((uint32_t)r->errnum);
        int nr = seccomp_syscall_resolve_name(r->name);
        int rc = 0;

        if (nr == __NR_SCMP_ERROR)
                return r->optional ? 0 : -ENOENT;
        if (nr < 0)     /* a pseudo-number: not a syscall of this architecture */
                return r->optional ? 0 : -ENOENT;
        switch (r->cond) {
        case C_ALWAYS:
                return seccomp_rule_add(ctx, act, nr, 0);
        case C_CLONE_NS:
                /* one rule per bit: any of them set is refused */
                for (size_t i = 0; i < ARRAY_SIZE(ns_bits) && rc == 0; i++)
                        rc = seccomp_rule_add(ctx, act, nr, 1,
                                              SCMP_A0_64(SCMP_CMP_MASKED_EQ, (uint64_t)ns_bits[i],
                                                         (uint64_t)ns_bits[i]));
                return rc;
        case C_TTY_INJECT:
                /* masked: libseccomp 2.5's SCMP_A1_32 still compares all 64
                 * bits, and the kernel ignores the high ones (CVE-2019-10063) */
                rc = seccomp_rule_add(ctx, act, nr, 1,
                                      SCMP_A1_64(SCMP_CMP_MASKED_EQ, LOW32, (uint64_t)TIOCSTI));
                if (rc == 0)
                        rc = seccomp_rule_add(ctx, act, nr, 1,
                                              SCMP_A1_64(SCMP_CMP_MASKED_EQ, LOW32, (uint64_t)TIOCLINUX));
                return rc;
        case C_FAMILY:
                return add_except(ctx, r, nr, 0, safe_families, ARRAY_SIZE(safe_families));
        case C_PERSONALITY:
                return add_except(ctx, r, nr, 0, safe_personas, ARRAY_SIZE(safe_personas));
        }
        return -EINVAL;
}

static int build_ctx(scmp_filter_ctx *out, struct err *err)
{
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        int rc;

        if (ctx == NULL)
                return err_set(err, ENOMEM, "jail: seccomp_init");
        /* i386 (int 0x80) and x32 are not in the filter: kill them */
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
        if (rc == 0)
                rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (rc == 0)
                rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
        if (rc < 0) {
                seccomp_release(ctx);
                return err_set(err, -rc, "jail: seccomp attributes");
        }
        for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
                rc = add_rule(ctx, &rules[i]);
                if (rc < 0) {
                        seccomp_release(ctx);
                        return err_set(err, -rc, "jail: seccomp rule for %s", rules[i].name);
                }
        }
        *out = ctx;
        return 0;
}

int jail_seccomp_compile(struct sock_filter **out, size_t *n, struct err *err)
{
        scmp_filter_ctx ctx = NULL;
        _cleanup_close_ int fd = -1;
        char *data = NULL;
        size_t len = 0;
        int rc;

        *out = NULL;
        *n = 0;
        if ((rc = build_ctx(&ctx, err)) < 0)
                return rc;
        fd = memfd_create("tfgate-seccomp", MFD_CLOEXEC);
        if (fd < 0) {
                seccomp_release(ctx);
                return err_set(err, errno, "jail: seccomp: memfd_create");
        }
        rc = seccomp_export_bpf(ctx, fd);
        seccomp_release(ctx);
        if (rc < 0)
                return err_set(err, -rc, "jail: seccomp: export the filter");
        if (lseek(fd, 0, SEEK_SET) < 0)
                return err_set(err, errno, "jail: seccomp: rewind");
        if ((rc = fd_read_all(&data, &len, fd, 64 * 1024, err)) < 0)
                return err_wrap(err, "jail: seccomp: read the filter");
        if (len == 0 || len % sizeof(struct sock_filter) != 0 ||
            len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
                free(data);
                return err_set(err, EINVAL, "jail: seccomp: filter of %zu bytes", len);
        }
        *out = (struct sock_filter *)data;
        *n = len / sizeof(struct sock_filter);
        return 0;
}

int jail_seccomp_export_pfc(int fd, struct err *err)
{
        scmp_filter_ctx ctx = NULL;
        int rc = build_ctx(&ctx, err);

        if (rc < 0)
                return rc;
        rc = seccomp_export_pfc(ctx, fd);
        seccomp_release(ctx);
        if (rc < 0)
                return err_set(err, -rc, "jail: seccomp: export PFC");
        return 0;
}

static struct jail_syscall_rule pub[ARRAY_SIZE(rules)];
static pthread_once_t pub_once = PTHREAD_ONCE_INIT;

static void fill_pub(void)
{
        for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
                pub[i].name = rules[i].name;
                pub[i].errnum = rules[i].errnum;
                pub[i].when = cond_text[rules[i].cond];
                pub[i].arch_optional = rules[i].optional;
        }
}

size_t jail_seccomp_rules(const struct jail_syscall_rule **out)
{
        pthread_once(&pub_once, fill_pub);
        *out = pub;
        return ARRAY_SIZE(rules);
}
