/* test_sandbox_seccomp.c - the jail's seccomp table: every rule names a
 * real syscall with the errno of reference/sandbox.md 4b, the compiled
 * filter holds each rule, the argument blocks are exact, and a child that
 * loads the filter sees the denied calls fail with the intended errno while
 * the calls Terraform needs keep working. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <cmocka.h>

#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"
#include "sandbox/internal.h"
#include "sandbox/sandbox.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

/* what reference/sandbox.md 4b asks for, restated independently */
static const struct {
        const char *name;
        int errnum;
} required[] = {
        { "unshare", EPERM },         { "setns", EPERM },           { "clone", EPERM },
        { "clone3", ENOSYS },         { "mount", EPERM },           { "umount2", EPERM },
        { "pivot_root", EPERM },      { "chroot", EPERM },          { "fsopen", ENOSYS },
        { "fsconfig", ENOSYS },       { "fsmount", ENOSYS },        { "fspick", ENOSYS },
        { "move_mount", ENOSYS },     { "open_tree", ENOSYS },      { "mount_setattr", ENOSYS },
        { "add_key", EPERM },         { "request_key", EPERM },     { "keyctl", EPERM },
        { "bpf", EPERM },             { "perf_event_open", EPERM }, { "io_uring_setup", ENOSYS },
        { "io_uring_enter", ENOSYS }, { "io_uring_register", ENOSYS },
        { "userfaultfd", EPERM },     { "ptrace", EPERM },          { "process_vm_readv", EPERM },
        { "process_vm_writev", EPERM }, { "kcmp", EPERM },          { "pidfd_getfd", EPERM },
        { "process_madvise", EPERM }, { "open_by_handle_at", EPERM },
        { "name_to_handle_at", EPERM }, { "init_module", EPERM },   { "finit_module", EPERM },
        { "delete_module", EPERM },   { "kexec_load", EPERM },      { "kexec_file_load", EPERM },
        { "reboot", EPERM },          { "acct", EPERM },            { "quotactl", EPERM },
        { "quotactl_fd", EPERM },     { "swapon", EPERM },          { "swapoff", EPERM },
        { "syslog", EPERM },          { "vhangup", EPERM },         { "lookup_dcookie", EPERM },
        { "fanotify_init", EPERM },   { "settimeofday", EPERM },    { "clock_settime", EPERM },
        { "clock_adjtime", EPERM },   { "iopl", EPERM },            { "ioperm", EPERM },
        { "modify_ldt", EPERM },      { "uselib", EPERM },          { "ustat", EPERM },
        { "sysfs", EPERM },           { "_sysctl", EPERM },         { "nfsservctl", EPERM },
        { "create_module", EPERM },   { "get_kernel_syms", EPERM }, { "query_module", EPERM },
        { "mbind", EPERM },           { "set_mempolicy", EPERM },   { "get_mempolicy", EPERM },
        { "migrate_pages", EPERM },   { "move_pages", EPERM },
        { "set_mempolicy_home_node", EPERM },
        { "personality", EPERM },     { "ioctl", EPERM },           { "socket", EAFNOSUPPORT },
        { "memfd_create", ENOSYS },   { "sethostname", EPERM },     { "setdomainname", EPERM },
};

static const struct jail_syscall_rule *rule_named(const char *name)
{
        const struct jail_syscall_rule *rules;
        size_t n = jail_seccomp_rules(&rules);

        for (size_t i = 0; i < n; i++)
                if (strcmp(rules[i].name, name) == 0)
                        return &rules[i];
        return NULL;
}

static void table_covers_the_deny_list(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(required); i++) {
                const struct jail_syscall_rule *r = rule_named(required[i].name);

                if (r == NULL)
                        fail_msg("%s is not in the deny list", required[i].name);
                if (r->errnum != required[i].errnum)
                        fail_msg("%s fails with %d, want %d", r->name, r->errnum, required[i].errnum);
        }
        /* the conditional ones say what they look at */
        assert_non_null(rule_named("ioctl")->when);
        assert_non_null(rule_named("socket")->when);
        assert_non_null(rule_named("clone")->when);
        assert_null(rule_named("ptrace")->when);
}

static void every_name_resolves(void **state)
{
        const struct jail_syscall_rule *rules;
        size_t n = jail_seccomp_rules(&rules);

        assert_true(n >= ARRAY_SIZE(required));
        for (size_t i = 0; i < n; i++) {
                int nr = seccomp_syscall_resolve_name(rules[i].name);

                if (!rules[i].arch_optional && nr < 0)
                        fail_msg("%s does not resolve on this architecture", rules[i].name);
                if (nr == __NR_SCMP_ERROR)
                        fail_msg("%s is not a syscall name libseccomp knows", rules[i].name);
                for (size_t j = 0; j < i; j++)
                        if (strcmp(rules[i].name, rules[j].name) == 0)
                                fail_msg("%s is listed twice", rules[i].name);
        }
}

/* the compiled filter holds a rule with the right action for each name */
static void filter_holds_each_rule(void **state)
{
        const struct jail_syscall_rule *rules;
        size_t n = jail_seccomp_rules(&rules);
        _cleanup_close_ int fd = memfd_create("pfc", MFD_CLOEXEC);
        _cleanup_free_ char *pfc = NULL;
        struct err e = ERR_INIT;
        size_t len;

        assert_true(fd >= 0);
        assert_int_equal(jail_seccomp_export_pfc(fd, &e), 0);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        assert_int_equal(fd_read_all(&pfc, &len, fd, 1 << 22, &e), 0);
        for (size_t i = 0; i < n; i++) {
                int nr = seccomp_syscall_resolve_name(rules[i].name);
                _cleanup_free_ char *head = NULL, *action = NULL;
                const char *block, *next;

                if (nr < 0)
                        continue;
                head = xasprintf("# filter for syscall \"%s\" (%d)", rules[i].name, nr);
                block = strstr(pfc, head);
                if (block == NULL)
                        fail_msg("no rule for %s in the filter", rules[i].name);
                next = strstr(block + 1, "# filter for syscall");
                action = xasprintf("action ERRNO(%d);", rules[i].errnum);
                block = strstr(block, action);
                if (block == NULL || (next != NULL && block > next))
                        fail_msg("%s: no ERRNO(%d) in its rule", rules[i].name, rules[i].errnum);
        }
        /* ioctl compares the low 32 bits only (CVE-2019-10063) */
        assert_non_null(strstr(pfc, "$a1.hi32 & 0x00000000 == 0"));
        assert_non_null(strstr(pfc, "action KILL"));
}

/* the program compiled at build time is what the table compiles to now */
static void embedded_program_is_current(void **state)
{
        const struct sock_fprog *progs[2];
        struct sock_filter *fresh = NULL;
        struct err e = ERR_INIT;
        size_t n = 0;

        assert_int_equal(jail_seccomp_programs(progs, &e), 0);
        assert_int_equal(jail_seccomp_compile(&fresh, &n, &e), 0);
        assert_int_equal(progs[0]->len, n);
        assert_memory_equal(progs[0]->filter, fresh, n * sizeof(*fresh));
        free(fresh);
        /* and the by-number filter ends in ERRNO(ENOSYS) */
        assert_int_equal(progs[1]->filter[progs[1]->len - 1].k, SECCOMP_RET_ERRNO | ENOSYS);
}

static bool refused(const uint32_t (*b)[2], size_t n, uint32_t v)
{
        for (size_t i = 0; i < n; i++)
                if ((v & b[i][0]) == b[i][1])
                        return true;
        return false;
}

static void check_blocks(const uint32_t *allowed, size_t n_allowed)
{
        uint32_t blocks[200][2];
        size_t n = jail_seccomp_complement_blocks(blocks, ARRAY_SIZE(blocks), allowed, n_allowed);
        uint32_t x = 0x12345678;

        assert_true(n > 0 && n <= 32 * n_allowed);
        for (size_t i = 0; i < n_allowed; i++) {
                assert_false(refused(blocks, n, allowed[i]));
                /* the neighbours of an allowed value are refused unless allowed */
                for (int d = -2; d <= 2; d++) {
                        uint32_t v = allowed[i] + (uint32_t)d;
                        bool ok = false;

                        for (size_t j = 0; j < n_allowed; j++)
                                ok |= allowed[j] == v;
                        assert_int_equal(refused(blocks, n, v), !ok);
                }
        }
        for (int i = 0; i < 100000; i++) {
                bool ok = false;

                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                for (size_t j = 0; j < n_allowed; j++)
                        ok |= allowed[j] == x;
                assert_int_equal(refused(blocks, n, x), !ok);
        }
        for (uint32_t v = 0; v < 70000; v++) {
                bool ok = false;

                for (size_t j = 0; j < n_allowed; j++)
                        ok |= allowed[j] == v;
                assert_int_equal(refused(blocks, n, v), !ok);
        }
}

static void argument_blocks_exact(void **state)
{
        static const uint32_t families[] = { AF_UNIX, AF_INET, AF_INET6 };
        static const uint32_t personas[] = { 0, 8, 0x20000, 0x20008, 0xffffffffU };
        static const uint32_t one[] = { 0 };

        check_blocks(families, ARRAY_SIZE(families));
        check_blocks(personas, ARRAY_SIZE(personas));
        check_blocks(one, ARRAY_SIZE(one));
}

/* ---- the filter in a child ---- */

struct probe {
        const char *what;
        long (*call)(void);
        int want;       /* 0: must succeed; else the errno */
};

static long closing(long fd)
{
        if (fd >= 0)
                close((int)fd);
        return fd;
}

static long p_getpid(void) { return getpid(); }
static long p_unshare_user(void) { return unshare(CLONE_NEWUSER); }
static long p_unshare_net(void) { return unshare(CLONE_NEWNET); }
static long p_setns(void) { return setns(0, 0); }
static long p_keyctl(void) { return syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3, 0); }
static long p_add_key(void) { return syscall(SYS_add_key, "user", "k", "v", 1, -2); }
static long p_bpf(void) { return syscall(SYS_bpf, 0, NULL, 0); }
static long p_perf(void) { return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0); }
static long p_uring(void) { return syscall(SYS_io_uring_setup, 1, NULL); }
static long p_memfd(void) { return closing(syscall(SYS_memfd_create, "x", 0)); }
static long p_clone3(void) { return syscall(SYS_clone3, NULL, 0); }
static long p_ptrace(void) { return syscall(SYS_ptrace, 0 /* TRACEME */, 0, 0, 0); }
static long p_mount(void) { return syscall(SYS_mount, "none", "/nonexistent-x", "tmpfs", 0, NULL); }
static long p_open_tree(void) { return closing(syscall(SYS_open_tree, AT_FDCWD, "/", 0)); }
static long p_handle(void) { return syscall(SYS_name_to_handle_at, AT_FDCWD, "/", NULL, NULL, 0); }
static long p_vsock(void) { return closing(socket(AF_VSOCK, SOCK_STREAM, 0)); }
static long p_netlink(void) { return closing(socket(AF_NETLINK, SOCK_RAW, 0)); }
/* the kernel reads an int: garbage in the high bits must not slip through */
static long p_vsock_high(void) { return closing(syscall(SYS_socket, (1UL << 32) | AF_VSOCK, SOCK_STREAM, 0)); }
static long p_inet(void) { return closing(socket(AF_INET, SOCK_STREAM, 0)); }
static long p_inet6(void) { return closing(socket(AF_INET6, SOCK_DGRAM, 0)); }
static long p_unix(void) { return closing(socket(AF_UNIX, SOCK_STREAM, 0)); }

static long tty_ioctl(unsigned long req)
{
        _cleanup_close_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        char c = 'x';

        return syscall(SYS_ioctl, fd, req, &c);
}

static long p_tiocsti(void) { return tty_ioctl(TIOCSTI); }
static long p_tiocsti_high(void) { return tty_ioctl((1UL << 32) | TIOCSTI); }
static long p_tioclinux(void) { return tty_ioctl(0x541C); }
static long p_fionread(void)
{
        int p[2], n = 0;
        long r;

        if (pipe(p) < 0)
                return -1;
        r = ioctl(p[0], FIONREAD, &n);
        close(p[0]);
        close(p[1]);
        return r;
}
static long p_pers_rie(void) { return syscall(SYS_personality, READ_IMPLIES_EXEC); }
static long p_pers_norand(void) { return syscall(SYS_personality, ADDR_NO_RANDOMIZE); }
static long p_pers_query(void) { return syscall(SYS_personality, 0xffffffffUL) < 0 ? -1 : 0; }
static long p_pers_linux(void) { return syscall(SYS_personality, PER_LINUX) < 0 ? -1 : 0; }
static long p_clone_newnet(void)
{
        long pid = syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0);

        if (pid == 0)
                _exit(0);
        if (pid > 0)
                waitpid((pid_t)pid, NULL, 0);
        return pid < 0 ? -1 : 0;
}
static long p_fork(void)
{
        pid_t pid = fork();

        if (pid == 0)
                _exit(0);
        if (pid > 0)
                waitpid(pid, NULL, 0);
        return pid < 0 ? -1 : 0;
}
static long p_nr454(void) { return syscall(454, 0, 0, 0, 0); }
static long p_nr462(void) { return syscall(462, 0, 0, 0); }
static long p_nr1000(void) { return syscall(1000, 0, 0, 0); }
static long p_landlock(void) { return syscall(444, NULL, 0, 1U) < 0 ? -1 : 0; }

static const struct probe probes[] = {
        { "getpid", p_getpid, 0 },
        { "unshare(NEWUSER)", p_unshare_user, EPERM },
        { "unshare(NEWNET)", p_unshare_net, EPERM },
        { "setns", p_setns, EPERM },
        { "keyctl", p_keyctl, EPERM },
        { "add_key", p_add_key, EPERM },
        { "bpf", p_bpf, EPERM },
        { "perf_event_open", p_perf, EPERM },
        { "io_uring_setup", p_uring, ENOSYS },
        { "memfd_create", p_memfd, ENOSYS },
        { "clone3", p_clone3, ENOSYS },
        { "ptrace(TRACEME)", p_ptrace, EPERM },
        { "mount", p_mount, EPERM },
        { "open_tree", p_open_tree, ENOSYS },
        { "name_to_handle_at", p_handle, EPERM },
        { "socket(AF_VSOCK)", p_vsock, EAFNOSUPPORT },
        { "socket(AF_NETLINK)", p_netlink, EAFNOSUPPORT },
        { "socket(AF_VSOCK | 1<<32)", p_vsock_high, EAFNOSUPPORT },
        { "socket(AF_INET)", p_inet, 0 },
        { "socket(AF_INET6)", p_inet6, 0 },
        { "socket(AF_UNIX)", p_unix, 0 },
        { "ioctl(TIOCSTI)", p_tiocsti, EPERM },
        { "ioctl(TIOCSTI | 1<<32)", p_tiocsti_high, EPERM },
        { "ioctl(TIOCLINUX)", p_tioclinux, EPERM },
        { "ioctl(FIONREAD)", p_fionread, 0 },
        { "personality(READ_IMPLIES_EXEC)", p_pers_rie, EPERM },
        { "personality(ADDR_NO_RANDOMIZE)", p_pers_norand, EPERM },
        { "personality(query)", p_pers_query, 0 },
        { "personality(PER_LINUX)", p_pers_linux, 0 },
        { "clone(CLONE_NEWNET)", p_clone_newnet, EPERM },
        { "fork", p_fork, 0 },
        { "syscall 454", p_nr454, ENOSYS },
        { "syscall 462 (mseal)", p_nr462, ENOSYS },
        { "syscall 1000", p_nr1000, ENOSYS },
        { "landlock_create_ruleset(VERSION)", p_landlock, 0 },
};

/* in a child: load the filter, run every probe, report mismatches on a pipe */
static void filter_in_a_child(void **state)
{
        int p[2];
        pid_t pid;
        int status;
        char report[8192] = "";
        ssize_t n;

        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct err e = ERR_INIT;
                char line[256];
                int bad = 0;

                close(p[0]);
                if (jail_seccomp_apply(&e) < 0) {
                        dprintf(p[1], "apply: %s\n", e.msg);
                        _exit(2);
                }
                for (size_t i = 0; i < ARRAY_SIZE(probes); i++) {
                        long r;

                        errno = 0;
                        r = probes[i].call();
                        if (probes[i].want == 0 ? r < 0 : (r >= 0 || errno != probes[i].want)) {
                                int len = snprintf(line, sizeof(line), "%s: got %ld errno %d (%s), want %s\n",
                                                   probes[i].what, r, errno, strerror(errno),
                                                   probes[i].want ? strerror(probes[i].want) : "success");
                                (void)!write(p[1], line, (size_t)len);
                                bad++;
                        }
                }
                /* _exit: LeakSanitizer's stop-the-world uses ptrace, now denied */
                _exit(bad == 0 ? 0 : 1);
        }
        close(p[1]);
        for (size_t used = 0; used < sizeof(report) - 1; used += (size_t)n) {
                n = read(p[0], report + used, sizeof(report) - 1 - used);
                if (n <= 0)
                        break;
                report[used + (size_t)n] = '\0';
        }
        close(p[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("under the filter:\n%s", report);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(table_covers_the_deny_list),
                cmocka_unit_test(every_name_resolves),
                cmocka_unit_test(filter_holds_each_rule),
                cmocka_unit_test(embedded_program_is_current),
                cmocka_unit_test(argument_blocks_exact),
                cmocka_unit_test(filter_in_a_child),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
