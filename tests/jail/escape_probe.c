/* escape_probe.c - the jail's escape battery, run INSIDE `tfgate jail`.
 *
 * Prints one line per check, `NAME RESULT ERRNO [detail]`, and a summary;
 * exits 0 only when every check got its intended result.  RESULT is
 *   DENIED   the call failed with the intended errno
 *   ALLOWED  a call that must keep working worked
 *   OK       a state check held
 *   OPEN     the call succeeded although it must be denied       (failure)
 *   WRONG    the call failed, but not with the intended errno     (failure)
 *   BROKEN   a call that must keep working failed                 (failure)
 *   KILLED   the check's child died from a signal                 (failure)
 *   FAIL     a state check did not hold                           (failure)
 *
 * Safety: this runs as root on the CI VM, only namespaces stand between it
 * and the host.  Every call is chosen so that even if the jail were broken
 * and the call reached the kernel with full privileges it could not change
 * host state: mounts target a fresh empty directory of our own, kexec/reboot
 * get arguments the kernel rejects before acting, module calls get no image,
 * time calls get invalid values, ioctls target /dev/null (never a tty),
 * AF_VSOCK is only created, never connected, and the only address ever
 * contacted is 127.0.0.1.  Every syscall check runs in its own forked child
 * (with an alarm) so a successful unshare/chroot/personality cannot change
 * what later checks see.
 *
 * Usage: escape_probe [--writable DIR]... [--port N] [--env K=V]...
 *          [--env-empty] [--uid N] [--hostname NAME] [--host-pidns NSLINK]
 *          [--marker-hex HEX] [--absent PATH]... [--exec-ok MOUNTPOINT]...
 *          [--lo-up] [--only NAME]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/kcmp.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <linux/vm_sockets.h>

#define MAX_LIST 32
#define ANY_ERRNO (-1)

extern char **environ;

struct opts {
        const char *writable[MAX_LIST];
        size_t n_writable;
        const char *env[MAX_LIST];
        size_t n_env;
        bool check_env;
        const char *absent[MAX_LIST];
        size_t n_absent;
        const char *exec_ok[MAX_LIST];
        size_t n_exec_ok;
        int port;
        long uid;
        const char *hostname;
        const char *host_pidns;
        const char *marker;
        bool lo_up;
        const char *only;
};

static struct opts opt = { .port = -1, .uid = -1, .hostname = "tfgate" };
static char scratch[PATH_MAX];  /* fresh empty dir: target of mount attempts */
static pid_t sibling = -1;      /* a child of ours, the ptrace target */
static int failures, passes;

/* ---------- output ---------- */

static const char *ename(int e)
{
        const char *n = e ? strerrorname_np(e) : NULL;

        return n ? n : (e ? "E?" : "-");
}

static void report(const char *name, bool ok, const char *result, int e,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void report(const char *name, bool ok, const char *result, int e,
                   const char *fmt, ...)
{
        char detail[512] = "";

        if (fmt != NULL) {
                va_list ap;

                va_start(ap, fmt);
                vsnprintf(detail, sizeof(detail), fmt, ap);
                va_end(ap);
        }
        printf("%s %s %s%s%s\n", name, result, ename(e), detail[0] ? " " : "", detail);
        fflush(stdout);
        if (ok)
                passes++;
        else
                failures++;
}

/* ---------- syscall battery ---------- */

/* Each function makes one attempt and returns the raw result: < 0 with
 * errno set when refused.  Anything it opens is closed again. */
typedef long (*attempt_fn)(void);

static long closing(long fd)
{
        if (fd >= 0)
                close((int)fd);
        return fd < 0 ? -1 : 0;
}

static long try_mount(void)
{
        long r = mount("tfgate-probe", scratch, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                       "size=4k");

        if (r == 0)
                umount2(scratch, MNT_DETACH);
        return r;
}

/* scratch is never a mount point: an unfiltered privileged call gets EINVAL */
static long try_umount2(void) { return umount2(scratch, 0); }
static long try_unshare_user(void) { return unshare(CLONE_NEWUSER); }
static long try_unshare_net(void) { return unshare(CLONE_NEWNET); }
static long try_unshare_mnt(void) { return unshare(CLONE_NEWNS); }

static long try_setns(void)
{
        int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                fd = open("/", O_RDONLY | O_CLOEXEC);
        long r = setns(fd, CLONE_NEWNET);
        int e = errno;

        close(fd);
        errno = e;
        return r;
}

static long try_pivot_root(void) { return syscall(SYS_pivot_root, scratch, scratch); }
static long try_chroot(void) { return chroot(scratch); }
static long try_ptrace_traceme(void) { return ptrace(PTRACE_TRACEME, 0, NULL, NULL); }
/* SEIZE never stops the tracee, so even a success leaves it running */
static long try_ptrace_sibling(void) { return ptrace(PTRACE_SEIZE, sibling, NULL, NULL); }
static long try_ptrace_pid1(void) { return ptrace(PTRACE_SEIZE, 1, NULL, NULL); }

static long try_process_vm_readv(void)
{
        char src[8] = "secret", dst[8];
        struct iovec l = { dst, sizeof(dst) }, r = { src, sizeof(src) };

        return syscall(SYS_process_vm_readv, getpid(), &l, 1UL, &r, 1UL, 0UL) < 0 ? -1 : 0;
}

static long try_process_vm_writev(void)
{
        char buf[8] = "x";
        struct iovec l = { buf, 1 }, r = { buf + 1, 1 };

        return syscall(SYS_process_vm_writev, getpid(), &l, 1UL, &r, 1UL, 0UL) < 0 ? -1 : 0;
}

static long try_kcmp(void)
{
        return syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, 0UL, 0UL) < 0 ? -1 : 0;
}

static long try_pidfd_getfd(void)
{
        long pidfd = syscall(SYS_pidfd_open, getpid(), 0U);

        if (pidfd < 0)
                return -1;
        return closing(syscall(SYS_pidfd_getfd, (int)pidfd, 0, 0U));
}

static long try_process_madvise(void)
{
        long pidfd = syscall(SYS_pidfd_open, getpid(), 0U);

        if (pidfd < 0)
                return -1;
        return syscall(SYS_process_madvise, (int)pidfd, NULL, 0UL, MADV_COLD, 0U) < 0 ? -1 : 0;
}

static long try_keyctl(void)
{
        return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_THREAD_KEYRING, 0) < 0 ? -1 : 0;
}

/* a thread keyring dies with this child */
static long try_add_key(void)
{
        return syscall(SYS_add_key, "user", "tfgate-probe", "x", 1UL,
                       KEY_SPEC_THREAD_KEYRING) < 0 ? -1 : 0;
}

static long try_request_key(void)
{
        return syscall(SYS_request_key, "user", "tfgate-probe-none", NULL, 0) < 0 ? -1 : 0;
}

static long try_bpf(void)
{
        union bpf_attr attr;

        memset(&attr, 0, sizeof(attr)); /* an invalid map: EINVAL if unfiltered */
        return closing(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)));
}

static long try_perf_event_open(void)
{
        struct perf_event_attr a;

        memset(&a, 0, sizeof(a));
        a.type = PERF_TYPE_SOFTWARE;
        a.size = sizeof(a);
        a.config = PERF_COUNT_SW_TASK_CLOCK;
        a.disabled = 1;
        a.exclude_kernel = 1;
        a.exclude_hv = 1;
        return closing(syscall(SYS_perf_event_open, &a, 0, -1, -1, 0UL));
}

static long try_io_uring_setup(void)
{
        struct io_uring_params p;

        memset(&p, 0, sizeof(p));
        return closing(syscall(SYS_io_uring_setup, 1U, &p));
}

static long try_io_uring_enter(void)
{
        return syscall(SYS_io_uring_enter, -1, 0U, 0U, 0U, NULL, 0UL) < 0 ? -1 : 0;
}

static long try_io_uring_register(void)
{
        return syscall(SYS_io_uring_register, -1, 0U, NULL, 0U) < 0 ? -1 : 0;
}

static long try_memfd_create(void)
{
        return closing(syscall(SYS_memfd_create, "tfgate-probe", MFD_CLOEXEC));
}

static long try_userfaultfd(void) { return closing(syscall(SYS_userfaultfd, O_CLOEXEC)); }

/* AF_VSOCK reaches the hypervisor host: create only, NEVER connect */
static long try_socket_vsock(void) { return closing(socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0)); }
static long try_socket_netlink(void)
{
        return closing(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0 /* NETLINK_ROUTE */));
}
static long try_socket_packet(void) { return closing(socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0)); }
static long try_socket_alg(void) { return closing(socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)); }
static long try_socket_unix(void) { return closing(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)); }
static long try_socket_inet(void) { return closing(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)); }
static long try_socket_inet6(void) { return closing(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0)); }

struct probe_handle {
        struct file_handle fh;
        unsigned char bytes[128];
};

static long try_name_to_handle_at(void)
{
        struct probe_handle h;
        int mnt;

        memset(&h, 0, sizeof(h));
        h.fh.handle_bytes = sizeof(h.bytes);
        return syscall(SYS_name_to_handle_at, AT_FDCWD, "/usr", &h.fh, &mnt, 0) < 0 ? -1 : 0;
}

static long try_open_by_handle_at(void)
{
        struct probe_handle h;

        memset(&h, 0, sizeof(h));
        h.fh.handle_bytes = 8;
        h.fh.handle_type = 1;
        return closing(syscall(SYS_open_by_handle_at, AT_FDCWD, &h.fh, O_RDONLY | O_CLOEXEC));
}

static long try_fsopen(void) { return closing(syscall(SYS_fsopen, "tmpfs", 0U)); }
static long try_fspick(void) { return closing(syscall(SYS_fspick, AT_FDCWD, "/", 0U)); }
static long try_fsmount(void) { return closing(syscall(SYS_fsmount, -1, 0U, 0U)); }
static long try_open_tree(void) { return closing(syscall(SYS_open_tree, AT_FDCWD, "/", 1U /* OPEN_TREE_CLONE */)); }
static long try_move_mount(void) { return syscall(SYS_move_mount, -1, "", -1, "", 0U) < 0 ? -1 : 0; }
static long try_mount_setattr(void) { return syscall(SYS_mount_setattr, -1, "", 0U, NULL, 0UL) < 0 ? -1 : 0; }

/* 17 segments > KEXEC_SEGMENT_MAX and an undefined flag: rejected before
 * anything is loaded or unloaded even with CAP_SYS_BOOT */
static long try_kexec_load(void) { return syscall(SYS_kexec_load, 0UL, 17UL, NULL, 0x80000000UL); }
static long try_kexec_file_load(void) { return syscall(SYS_kexec_file_load, -1, -1, 0UL, NULL, 0x80000000UL); }
static long try_init_module(void) { return syscall(SYS_init_module, NULL, 0UL, ""); }
static long try_finit_module(void) { return syscall(SYS_finit_module, -1, "", 0); }
static long try_delete_module(void) { return syscall(SYS_delete_module, "tfgate_probe_no_such_module", O_NONBLOCK); }

/* right magic1, wrong magic2: the kernel answers EINVAL before acting */
static long try_reboot(void)
{
        return syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, 0x0badc0deU, LINUX_REBOOT_CMD_CAD_OFF, NULL);
}

static long try_swapon(void) { return syscall(SYS_swapon, NULL, 0); }
static long try_syslog(void) { return syscall(SYS_syslog, 10 /* SIZE_BUFFER: read-only */, NULL, 0); }

/* invalid values: the clock could never be set */
static long try_clock_settime(void)
{
        struct timespec ts = { 0, 2000000000L };

        return syscall(SYS_clock_settime, CLOCK_REALTIME, &ts);
}

static long try_settimeofday(void)
{
        struct { long sec, usec; } tv = { 0, 2000000L };

        return syscall(SYS_settimeofday, &tv, NULL);
}

/* length 65 > __NEW_UTS_LEN: EINVAL before any copy even if permitted */
static long try_sethostname(void)
{
        static char name[128] = "x";

        return syscall(SYS_sethostname, name, 65UL);
}

static long try_ioperm(void) { return syscall(SYS_ioperm, 0x80UL, 0UL, 0); }

static long try_modify_ldt(void)
{
        char buf[16];

        return syscall(SYS_modify_ldt, 0, buf, 0UL) < 0 ? -1 : 0;
}

static long try_get_mempolicy(void) { return syscall(SYS_get_mempolicy, NULL, NULL, 0UL, NULL, 0UL) < 0 ? -1 : 0; }

/* never a tty: /dev/null (or a pipe), so no byte could ever be injected */
static int ttyless_fd(void)
{
        int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        int p[2];

        if (fd >= 0)
                return fd;
        if (pipe2(p, O_CLOEXEC) < 0)
                return -1;
        return p[0];
}

static long try_ioctl(unsigned long req)
{
        char c = 0;
        int fd = ttyless_fd();

        if (fd < 0)
                return -1;
        return syscall(SYS_ioctl, fd, req, &c);
}

static long try_tiocsti(void) { return try_ioctl(TIOCSTI); }
/* CVE-2019-10063: garbage in the high 32 bits must not slip past the rule */
static long try_tiocsti_high(void) { return try_ioctl((unsigned long)TIOCSTI | (1UL << 32)); }
static long try_tioclinux(void) { return try_ioctl(TIOCLINUX); }
static long try_tioclinux_high(void) { return try_ioctl((unsigned long)TIOCLINUX | (0xffUL << 40)); }

static long try_personality_rie(void) { return syscall(SYS_personality, READ_IMPLIES_EXEC) < 0 ? -1 : 0; }
static long try_personality_norand(void) { return syscall(SYS_personality, ADDR_NO_RANDOMIZE) < 0 ? -1 : 0; }
static long try_personality_query(void) { return syscall(SYS_personality, 0xffffffffUL) < 0 ? -1 : 0; }

/* size 0 is invalid: an unfiltered kernel says EINVAL and creates nothing */
static long try_clone3(void) { return syscall(SYS_clone3, NULL, 0UL); }

static long try_clone_flags(unsigned long flags)
{
        long r = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0UL);

        if (r == 0)
                _exit(0);
        if (r > 0)
                waitpid((pid_t)r, NULL, 0);
        return r < 0 ? -1 : 0;
}

static long try_clone_newns(void) { return try_clone_flags(CLONE_NEWNS); }
static long try_clone_newuser(void) { return try_clone_flags(CLONE_NEWUSER); }
static long try_clone_newnet(void) { return try_clone_flags(CLONE_NEWNET); }
static long try_clone_plain(void) { return try_clone_flags(0); }

static long try_pidfd_open(void) { return closing(syscall(SYS_pidfd_open, getpid(), 0U)); }

/* Debian 12's libseccomp cannot name 454+: the jail denies the range by
 * number.  454 futex_wake, 458 listmount, 462 mseal, 470 unassigned today. */
static long try_sys454(void) { return syscall(454, NULL, 0UL, 0UL, 0U); }
static long try_sys458(void) { return syscall(458, NULL, NULL, 0UL, 0U); }
static long try_sys462(void) { return syscall(462, NULL, 0UL, 0UL); }

static long try_exec_ro(void)
{
        char *argv[] = { "true", NULL };
        pid_t pid = fork();
        int st;

        if (pid == 0) {
                execve("/bin/true", argv, environ);
                _exit(errno);
        }
        if (pid < 0 || waitpid(pid, &st, 0) < 0)
                return -1;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                return 0;
        errno = WIFEXITED(st) ? WEXITSTATUS(st) : EINTR;
        return -1;
}

static long try_tcp_host_port(void)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        long r;

        if (fd < 0)
                return -1;
        r = connect(fd, (struct sockaddr *)&a, sizeof(a));
        close(fd);
        return r;
}

enum want { W_DENY, W_ALLOW };

struct syscheck {
        const char *name;
        attempt_fn fn;
        enum want want;
        int err; /* intended errno for W_DENY, ANY_ERRNO = any failure */
};

/* The deny list of reference/sandbox.md 4b with its errnos, plus calls that
 * must stay allowed (so a filter that denies everything cannot pass). */
static const struct syscheck syschecks[] = {
        { "mount", try_mount, W_DENY, EPERM },
        { "umount2", try_umount2, W_DENY, EPERM },
        { "unshare_newuser", try_unshare_user, W_DENY, EPERM },
        { "unshare_newnet", try_unshare_net, W_DENY, EPERM },
        { "unshare_newns", try_unshare_mnt, W_DENY, EPERM },
        { "setns", try_setns, W_DENY, EPERM },
        { "pivot_root", try_pivot_root, W_DENY, EPERM },
        { "chroot", try_chroot, W_DENY, EPERM },
        { "clone_newns", try_clone_newns, W_DENY, EPERM },
        { "clone_newuser", try_clone_newuser, W_DENY, EPERM },
        { "clone_newnet", try_clone_newnet, W_DENY, EPERM },
        { "clone3", try_clone3, W_DENY, ENOSYS },
        { "ptrace_traceme", try_ptrace_traceme, W_DENY, EPERM },
        { "ptrace_sibling", try_ptrace_sibling, W_DENY, EPERM },
        { "process_vm_readv", try_process_vm_readv, W_DENY, EPERM },
        { "process_vm_writev", try_process_vm_writev, W_DENY, EPERM },
        { "kcmp", try_kcmp, W_DENY, EPERM },
        { "pidfd_getfd", try_pidfd_getfd, W_DENY, EPERM },
        { "process_madvise", try_process_madvise, W_DENY, EPERM },
        { "keyctl", try_keyctl, W_DENY, EPERM },
        { "add_key", try_add_key, W_DENY, EPERM },
        { "request_key", try_request_key, W_DENY, EPERM },
        { "bpf", try_bpf, W_DENY, EPERM },
        { "perf_event_open", try_perf_event_open, W_DENY, EPERM },
        { "io_uring_setup", try_io_uring_setup, W_DENY, ENOSYS },
        { "io_uring_enter", try_io_uring_enter, W_DENY, ENOSYS },
        { "io_uring_register", try_io_uring_register, W_DENY, ENOSYS },
        { "userfaultfd", try_userfaultfd, W_DENY, EPERM },
        { "memfd_create", try_memfd_create, W_DENY, ENOSYS },
        { "socket_vsock", try_socket_vsock, W_DENY, EAFNOSUPPORT },
        { "socket_netlink", try_socket_netlink, W_DENY, EAFNOSUPPORT },
        { "socket_packet", try_socket_packet, W_DENY, EAFNOSUPPORT },
        { "socket_alg", try_socket_alg, W_DENY, EAFNOSUPPORT },
        { "name_to_handle_at", try_name_to_handle_at, W_DENY, EPERM },
        { "open_by_handle_at", try_open_by_handle_at, W_DENY, EPERM },
        { "fsopen", try_fsopen, W_DENY, ENOSYS },
        { "fspick", try_fspick, W_DENY, ENOSYS },
        { "fsmount", try_fsmount, W_DENY, ENOSYS },
        { "open_tree", try_open_tree, W_DENY, ENOSYS },
        { "move_mount", try_move_mount, W_DENY, ENOSYS },
        { "mount_setattr", try_mount_setattr, W_DENY, ENOSYS },
        { "kexec_load", try_kexec_load, W_DENY, EPERM },
        { "kexec_file_load", try_kexec_file_load, W_DENY, EPERM },
        { "init_module", try_init_module, W_DENY, EPERM },
        { "finit_module", try_finit_module, W_DENY, EPERM },
        { "delete_module", try_delete_module, W_DENY, EPERM },
        { "reboot", try_reboot, W_DENY, EPERM },
        { "swapon", try_swapon, W_DENY, EPERM },
        { "syslog", try_syslog, W_DENY, EPERM },
        { "clock_settime", try_clock_settime, W_DENY, EPERM },
        { "settimeofday", try_settimeofday, W_DENY, EPERM },
        { "sethostname", try_sethostname, W_DENY, EPERM },
        { "ioperm", try_ioperm, W_DENY, EPERM },
        { "modify_ldt", try_modify_ldt, W_DENY, EPERM },
        { "get_mempolicy", try_get_mempolicy, W_DENY, EPERM },
        { "ioctl_tiocsti", try_tiocsti, W_DENY, EPERM },
        { "ioctl_tiocsti_highbits", try_tiocsti_high, W_DENY, EPERM },
        { "ioctl_tioclinux", try_tioclinux, W_DENY, EPERM },
        { "ioctl_tioclinux_highbits", try_tioclinux_high, W_DENY, EPERM },
        { "personality_read_implies_exec", try_personality_rie, W_DENY, EPERM },
        { "personality_addr_no_randomize", try_personality_norand, W_DENY, EPERM },
        { "syscall_454", try_sys454, W_DENY, ENOSYS },
        { "syscall_458", try_sys458, W_DENY, ENOSYS },
        { "syscall_462", try_sys462, W_DENY, ENOSYS },
        /* must keep working: Terraform, Go and the shell need them */
        { "clone_plain", try_clone_plain, W_ALLOW, 0 },
        { "exec_from_ro_bind", try_exec_ro, W_ALLOW, 0 },
        { "personality_query", try_personality_query, W_ALLOW, 0 },
        { "pidfd_open", try_pidfd_open, W_ALLOW, 0 },
        { "socket_unix", try_socket_unix, W_ALLOW, 0 },
        { "socket_inet", try_socket_inet, W_ALLOW, 0 },
        { "socket_inet6", try_socket_inet6, W_ALLOW, 0 },
};

/* Run fn in a child; the child's exit code carries errno (0 = success). */
static void run_syscheck(const char *name, attempt_fn fn, enum want want, int want_err)
{
        pid_t pid;
        int st;

        fflush(stdout);
        pid = fork();
        if (pid < 0) {
                report(name, false, "BROKEN", errno, "fork for the check failed");
                return;
        }
        if (pid == 0) {
                alarm(5);
                errno = 0;
                long r = fn();
                _exit(r < 0 ? (errno > 0 && errno < 255 ? errno : 255) : 0);
        }
        while (waitpid(pid, &st, 0) < 0) {
                if (errno != EINTR) {
                        report(name, false, "BROKEN", errno, "waitpid");
                        return;
                }
        }
        if (WIFSIGNALED(st)) {
                report(name, false, "KILLED", 0, "signal=%s", sigabbrev_np(WTERMSIG(st)) ?: "?");
                return;
        }
        int e = WEXITSTATUS(st);

        if (want == W_ALLOW) {
                report(name, e == 0, e == 0 ? "ALLOWED" : "BROKEN", e, NULL);
                return;
        }
        if (e == 0)
                report(name, false, "OPEN", 0, "want=%s", want_err == ANY_ERRNO ? "any-error" : ename(want_err));
        else if (want_err == ANY_ERRNO || e == want_err)
                report(name, true, "DENIED", e, NULL);
        else
                report(name, false, "WRONG", e, "want=%s", ename(want_err));
}

/* ---------- state checks ---------- */

static int read_small(const char *path, char *buf, size_t size)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        size_t n = 0;

        if (fd < 0)
                return -1;
        while (n + 1 < size) {
                ssize_t r = read(fd, buf + n, size - 1 - n);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                n += (size_t)r;
        }
        buf[n] = '\0';
        close(fd);
        return 0;
}

static void check_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        char extra[256] = "";
        size_t len = 0;
        bool ok = true;
        struct dirent *de;

        if (d == NULL) {
                report("fds_only_0_1_2", false, "FAIL", errno, "cannot list /proc/self/fd");
                return;
        }
        while ((de = readdir(d)) != NULL) {
                char *end;
                long fd = strtol(de->d_name, &end, 10);

                if (de->d_name[0] == '.' || *end != '\0' || fd == dirfd(d) || fd <= 2)
                        continue;
                ok = false;
                if (len < sizeof(extra) - 16)
                        len += (size_t)snprintf(extra + len, sizeof(extra) - len, "%s%ld", len ? "," : "", fd);
        }
        closedir(d);
        report("fds_only_0_1_2", ok, ok ? "OK" : "FAIL", 0, ok ? NULL : "open=%s", extra);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void check_env(void)
{
        const char *have[MAX_LIST + 1];
        const char *want[MAX_LIST];
        size_t nh = 0;
        bool ok = true;

        for (char **e = environ; *e != NULL; e++) {
                if (nh > MAX_LIST) {
                        ok = false;
                        break;
                }
                have[nh++] = *e;
        }
        memcpy(want, opt.env, opt.n_env * sizeof(*want));
        if (nh != opt.n_env)
                ok = false;
        if (ok) {
                qsort(have, nh, sizeof(*have), cmp_str);
                qsort(want, opt.n_env, sizeof(*want), cmp_str);
                for (size_t i = 0; i < nh; i++)
                        if (strcmp(have[i], want[i]) != 0)
                                ok = false;
        }
        if (ok) {
                report("env_exact", true, "OK", 0, "vars=%zu", nh);
                return;
        }
        report("env_exact", false, "FAIL", 0, "have %zu vars, want %zu", nh, opt.n_env);
        for (size_t i = 0; i < nh && i < MAX_LIST; i++)
                printf("#   env: %s\n", have[i]);
}

/* "Name:\tvalue" from /proc/self/status */
static bool status_field(const char *status, const char *key, char *out, size_t size)
{
        size_t kl = strlen(key);

        for (const char *p = status; p != NULL && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
                if (strncmp(p, key, kl) == 0 && p[kl] == ':') {
                        const char *v = p + kl + 1;
                        size_t n = 0;

                        while (*v == '\t' || *v == ' ')
                                v++;
                        while (v[n] && v[n] != '\n' && n + 1 < size) {
                                out[n] = v[n];
                                n++;
                        }
                        out[n] = '\0';
                        return true;
                }
        }
        return false;
}

static const struct { const char *key; const char *want; } status_checks[] = {
        { "CapInh", "0000000000000000" },
        { "CapPrm", "0000000000000000" },
        { "CapEff", "0000000000000000" },
        { "CapBnd", "0000000000000000" },
        { "CapAmb", "0000000000000000" },
        { "NoNewPrivs", "1" },
        { "Seccomp", "2" },
};

static void check_status(void)
{
        char status[8192], val[128], name[64];

        if (read_small("/proc/self/status", status, sizeof(status)) < 0) {
                report("proc_status", false, "FAIL", errno, "cannot read /proc/self/status");
                return;
        }
        for (size_t i = 0; i < sizeof(status_checks) / sizeof(status_checks[0]); i++) {
                bool found = status_field(status, status_checks[i].key, val, sizeof(val));
                bool ok = found && strcmp(val, status_checks[i].want) == 0;

                snprintf(name, sizeof(name), "status_%s", status_checks[i].key);
                report(name, ok, ok ? "OK" : "FAIL", 0, "%s=%s", status_checks[i].key, found ? val : "(missing)");
        }
}

static void check_idmap(const char *file, const char *name)
{
        char map[1024];
        bool ok = true;
        int lines = 0;

        if (read_small(file, map, sizeof(map)) < 0) {
                report(name, false, "FAIL", errno, "cannot read %s", file);
                return;
        }
        for (char *l = map; *l; ) {
                unsigned long in, out, count;
                char *nl = strchr(l, '\n');

                if (sscanf(l, "%lu %lu %lu", &in, &out, &count) == 3) {
                        lines++;
                        /* outside id 0 = real root: a jail escape would be root */
                        if (out == 0 || count == 0)
                                ok = false;
                }
                if (nl == NULL)
                        break;
                l = nl + 1;
        }
        if (lines == 0)
                ok = false;
        for (char *p = map; *p; p++)
                if (*p == '\n')
                        *p = p[1] ? ';' : '\0';
        report(name, ok, ok ? "OK" : "FAIL", 0, "map=[%s]", map);
}

static void check_uid(void)
{
        bool ok = opt.uid < 0 || (long)getuid() == opt.uid;

        report("uid_inside", ok && getuid() != 0, ok && getuid() != 0 ? "OK" : "FAIL", 0,
               "uid=%u gid=%u want=%ld", (unsigned)getuid(), (unsigned)getgid(), opt.uid);
}

/* creating a file must fail with EROFS or EACCES */
static void check_write_denied(const char *name, const char *path)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

        if (fd >= 0) {
                close(fd);
                unlink(path);
                report(name, false, "OPEN", 0, "created %s", path);
                return;
        }
        bool ok = errno == EROFS || errno == EACCES || errno == EPERM;

        report(name, ok, ok ? "DENIED" : "WRONG", errno, "%s", path);
}

/* opening a host-global knob for writing must fail; nothing is written */
static void check_open_write_denied(const char *name, const char *path)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);

        if (fd >= 0) {
                close(fd);
                report(name, false, "OPEN", 0, "%s opened for writing", path);
                return;
        }
        bool ok = errno == EROFS || errno == EACCES || errno == EPERM || errno == ENOENT;

        report(name, ok, ok ? "DENIED" : "WRONG", errno, "%s", path);
}

static int copy_file(const char *from, const char *to)
{
        char buf[65536];
        int in = open(from, O_RDONLY | O_CLOEXEC);
        int out;
        ssize_t n;

        if (in < 0)
                return -1;
        out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
        if (out < 0) {
                close(in);
                return -1;
        }
        while ((n = read(in, buf, sizeof(buf))) > 0) {
                if (write(out, buf, (size_t)n) != n) {
                        n = -1;
                        break;
                }
        }
        int e = errno;

        close(in);
        if (close(out) < 0 || n < 0) {
                errno = n < 0 ? e : errno;
                return -1;
        }
        return fchmodat(AT_FDCWD, to, 0755, 0);
}

/* the workspace and scratch are noexec (and Landlock has no EXECUTE there) */
static void check_noexec(const char *dir)
{
        char path[PATH_MAX], name[64];
        char *argv[] = { "probe-true", NULL };
        int st;

        snprintf(name, sizeof(name), "exec_written_file[%s]", dir);
        snprintf(path, sizeof(path), "%s/probe-true", dir);
        if (copy_file("/bin/true", path) < 0) {
                report(name, false, "FAIL", errno, "cannot write %s", path);
                return;
        }
        pid_t pid = fork();

        if (pid == 0) {
                execve(path, argv, environ);
                _exit(errno);
        }
        if (pid < 0 || waitpid(pid, &st, 0) < 0) {
                report(name, false, "BROKEN", errno, "fork");
        } else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
                report(name, false, "OPEN", 0, "%s executed", path);
        } else {
                int e = WIFEXITED(st) ? WEXITSTATUS(st) : 0;

                report(name, e == EACCES || e == EPERM, e == EACCES || e == EPERM ? "DENIED" : "WRONG", e, NULL);
        }

        /* mapping the file executable is the loader's route around execve */
        snprintf(name, sizeof(name), "mmap_exec_written_file[%s]", dir);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        void *m = fd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
        int e = errno;

        if (m != MAP_FAILED) {
                munmap(m, 4096);
                report(name, false, "OPEN", 0, NULL);
        } else {
                report(name, e == EPERM || e == EACCES, e == EPERM || e == EACCES ? "DENIED" : "WRONG", e, NULL);
        }
        if (fd >= 0)
                close(fd);
        unlink(path);
}

static void check_interfaces(void)
{
        char dev[8192], names[256] = "";
        size_t len = 0;
        int count = 0;
        bool only_lo = true;

        if (read_small("/proc/net/dev", dev, sizeof(dev)) < 0) {
                report("net_only_lo", false, "FAIL", errno, "cannot read /proc/net/dev");
                return;
        }
        /* two header lines, then "  name: counters" */
        for (char *l = dev; l != NULL && *l; ) {
                char *nl = strchr(l, '\n');
                char *colon = strchr(l, ':');

                if (nl)
                        *nl = '\0';
                if (colon && strchr(l, '|') == NULL) {
                        *colon = '\0';
                        while (*l == ' ')
                                l++;
                        count++;
                        if (strcmp(l, "lo") != 0)
                                only_lo = false;
                        if (len < sizeof(names) - 24)
                                len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", len ? "," : "", l);
                }
                l = nl ? nl + 1 : NULL;
        }
        bool ok = only_lo && count == 1;

        report("net_only_lo", ok, ok ? "OK" : "FAIL", 0, "interfaces=%s", names);

        if (!opt.lo_up)
                return;
        struct ifreq ifr;
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
        bool up = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);

        if (fd >= 0)
                close(fd);
        report("net_lo_up", up, up ? "OK" : "FAIL", up ? 0 : errno, NULL);
}

static bool is_pid(const char *s)
{
        if (*s == '\0')
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

static void check_processes(void)
{
        DIR *d = opendir("/proc");
        struct dirent *de;
        int count = 0;
        bool marker_seen = false;
        char path[300], buf[4096];

        if (d == NULL) {
                report("pids_jail_only", false, "FAIL", errno, "cannot list /proc");
                return;
        }
        while ((de = readdir(d)) != NULL) {
                if (!is_pid(de->d_name))
                        continue;
                count++;
                if (opt.marker == NULL || strtol(de->d_name, NULL, 10) == getpid())
                        continue;
                snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

                if (fd >= 0)
                        close(fd);
                for (ssize_t i = 0; i < n; i++)
                        if (buf[i] == '\0')
                                buf[i] = ' ';
                if (n > 0) {
                        buf[n] = '\0';
                        if (strstr(buf, opt.marker) != NULL)
                                marker_seen = true;
                }
        }
        closedir(d);
        /* the probe, its sibling and at most a jail init: a handful */
        bool ok = count <= 8 && !marker_seen;

        report("pids_jail_only", ok, ok ? "OK" : "FAIL", 0, "visible=%d marker_seen=%s", count,
               opt.marker ? (marker_seen ? "yes" : "no") : "(no marker given)");

        char ns[128] = "";
        ssize_t n = readlink("/proc/self/ns/pid", ns, sizeof(ns) - 1);

        if (n > 0)
                ns[n] = '\0';
        if (opt.host_pidns != NULL) {
                bool differ = n > 0 && strcmp(ns, opt.host_pidns) != 0;

                report("pidns_not_host", differ, differ ? "OK" : "FAIL", n > 0 ? 0 : errno, "ns=%s host=%s", ns,
                       opt.host_pidns);
        }
}

static void check_hostname(void)
{
        struct utsname u;
        bool ok = uname(&u) == 0 && strcmp(u.nodename, opt.hostname) == 0;

        report("hostname", ok, ok ? "OK" : "FAIL", 0, "hostname=%s", u.nodename);
}

static void check_absent(const char *path)
{
        char name[PATH_MAX + 16];
        struct stat st;

        snprintf(name, sizeof(name), "absent[%s]", path);
        if (lstat(path, &st) == 0) {
                report(name, false, "FAIL", 0, "exists");
                return;
        }
        bool ok = errno == ENOENT || errno == EACCES;

        report(name, ok, ok ? "OK" : "FAIL", errno, NULL);
}

static void check_ctty(void)
{
        int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);

        if (fd >= 0) {
                close(fd);
                report("no_controlling_tty", false, "FAIL", 0, "/dev/tty opened");
                return;
        }
        bool ok = errno == ENXIO || errno == ENOENT || errno == EACCES || errno == EIO;

        report("no_controlling_tty", ok, ok ? "OK" : "FAIL", errno, NULL);
}

static void check_pid1(void)
{
        if (getpid() == 1) {
                report("proc1_exe_hidden", true, "OK", 0, "pid 1 is the probe itself: no in-jail helper");
                return;
        }
        int fd = open("/proc/1/exe", O_RDONLY | O_CLOEXEC);

        if (fd >= 0) {
                close(fd);
                report("proc1_exe_hidden", false, "OPEN", 0, "/proc/1/exe of the in-jail helper opened");
        } else {
                report("proc1_exe_hidden", true, "DENIED", errno, NULL);
        }
        /* only inside a pid namespace that is provably not the host's */
        char ns[128] = "";
        ssize_t n = readlink("/proc/self/ns/pid", ns, sizeof(ns) - 1);

        if (n > 0)
                ns[n] = '\0';
        if (opt.host_pidns != NULL && n > 0 && strcmp(ns, opt.host_pidns) != 0)
                run_syscheck("ptrace_pid1", try_ptrace_pid1, W_DENY, EPERM);
        else
                report("ptrace_pid1", false, "FAIL", 0, "not attempted: no --host-pidns or same pid namespace as host");
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(s, list[i]) == 0)
                        return true;
        return false;
}

static bool has_opt(const char *opts, const char *o)
{
        size_t ol = strlen(o);

        for (const char *p = opts; p && *p; ) {
                const char *c = strchr(p, ',');
                size_t l = c ? (size_t)(c - p) : strlen(p);

                if (l == ol && strncmp(p, o, ol) == 0)
                        return true;
                p = c ? c + 1 : NULL;
        }
        return false;
}

/* mountinfo: root ro; every mount nosuid; every writable mount noexec
 * unless the test marked it executable */
static void check_mounts(void)
{
        char info[32768];
        char bad_suid[512] = "", bad_exec[512] = "";
        size_t ls = 0, le = 0;
        bool root_ro = false, root_seen = false;

        if (read_small("/proc/self/mountinfo", info, sizeof(info)) < 0) {
                report("mounts", false, "FAIL", errno, "cannot read mountinfo");
                return;
        }
        for (char *l = info; l && *l; ) {
                char *nl = strchr(l, '\n');
                char mp[PATH_MAX], mopts[512];

                if (nl)
                        *nl = '\0';
                if (sscanf(l, "%*d %*d %*s %*s %4095s %511s", mp, mopts) == 2) {
                        if (strcmp(mp, "/") == 0) {
                                root_seen = true;
                                root_ro = has_opt(mopts, "ro");
                        }
                        if (!has_opt(mopts, "nosuid") && ls < sizeof(bad_suid) - 64)
                                ls += (size_t)snprintf(bad_suid + ls, sizeof(bad_suid) - ls, "%s%s", ls ? "," : "", mp);
                        if (has_opt(mopts, "rw") && !has_opt(mopts, "noexec") &&
                            !in_list(mp, opt.exec_ok, opt.n_exec_ok) && le < sizeof(bad_exec) - 64)
                                le += (size_t)snprintf(bad_exec + le, sizeof(bad_exec) - le, "%s%s", le ? "," : "", mp);
                }
                l = nl ? nl + 1 : NULL;
        }
        report("mount_root_readonly", root_seen && root_ro, root_seen && root_ro ? "OK" : "FAIL", 0, NULL);
        report("mounts_all_nosuid", ls == 0, ls == 0 ? "OK" : "FAIL", 0, ls ? "without nosuid: %s" : NULL, bad_suid);
        report("mounts_writable_noexec", le == 0, le == 0 ? "OK" : "FAIL", 0, le ? "rw and exec: %s" : NULL, bad_exec);
}

/* ---------- main ---------- */

static int usage(void)
{
        fprintf(stderr, "usage: escape_probe [--writable DIR]... [--port N] [--env K=V]... [--env-empty]\n"
                        "  [--uid N] [--hostname NAME] [--host-pidns NSLINK] [--marker-hex HEX]\n"
                        "  [--absent PATH]... [--exec-ok MOUNTPOINT]... [--lo-up] [--only NAME]\n");
        return 2;
}

/* The marker comes hex-encoded: an in-jail init's own cmdline carries the
 * probe's argv, and the plain marker there would be a false sighting. */
static char *unhex(const char *h)
{
        static char out[128];
        size_t n = strlen(h);

        if (n % 2 || n / 2 >= sizeof(out) || n == 0)
                return NULL;
        for (size_t i = 0; i < n / 2; i++) {
                unsigned v;

                if (sscanf(h + 2 * i, "%2x", &v) != 1 || v == 0)
                        return NULL;
                out[i] = (char)v;
        }
        out[n / 2] = '\0';
        return out;
}

static bool push(const char **list, size_t *n, const char *v)
{
        if (*n >= MAX_LIST)
                return false;
        list[(*n)++] = v;
        return true;
}

static int parse(int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                const char *v = i + 1 < argc ? argv[i + 1] : NULL;
                bool ok = true;

                if (strcmp(a, "--env-empty") == 0) {
                        opt.check_env = true;
                        continue;
                }
                if (strcmp(a, "--lo-up") == 0) {
                        opt.lo_up = true;
                        continue;
                }
                if (v == NULL)
                        return usage();
                i++;
                if (strcmp(a, "--writable") == 0)
                        ok = push(opt.writable, &opt.n_writable, v);
                else if (strcmp(a, "--env") == 0)
                        ok = push(opt.env, &opt.n_env, v), opt.check_env = true;
                else if (strcmp(a, "--absent") == 0)
                        ok = push(opt.absent, &opt.n_absent, v);
                else if (strcmp(a, "--exec-ok") == 0)
                        ok = push(opt.exec_ok, &opt.n_exec_ok, v);
                else if (strcmp(a, "--port") == 0)
                        opt.port = (int)strtol(v, NULL, 10), ok = opt.port > 0 && opt.port < 65536;
                else if (strcmp(a, "--uid") == 0)
                        opt.uid = strtol(v, NULL, 10);
                else if (strcmp(a, "--hostname") == 0)
                        opt.hostname = v;
                else if (strcmp(a, "--host-pidns") == 0)
                        opt.host_pidns = v;
                else if (strcmp(a, "--marker-hex") == 0)
                        ok = (opt.marker = unhex(v)) != NULL;
                else if (strcmp(a, "--only") == 0)
                        opt.only = v;
                else
                        return usage();
                if (!ok)
                        return usage();
        }
        return 0;
}

static bool selected(const char *name)
{
        return opt.only == NULL || strcmp(opt.only, name) == 0;
}

int main(int argc, char **argv)
{
        if (parse(argc, argv) != 0)
                return 2;
        setvbuf(stdout, NULL, _IOLBF, 0);

        /* before we open anything ourselves */
        if (selected("fds"))
                check_fds();
        if (selected("env")) {
                if (opt.check_env)
                        check_env();
                else
                        report("env_exact", false, "FAIL", 0, "not checked: pass --env K=V... or --env-empty");
        }

        snprintf(scratch, sizeof(scratch), "%s/probe-mnt.XXXXXX", opt.n_writable ? opt.writable[0] : "/tmp");
        if (mkdtemp(scratch) == NULL) {
                fprintf(stderr, "escape_probe: cannot create a scratch dir %s: %s\n", scratch, strerror(errno));
                return 3;
        }
        sibling = fork();
        if (sibling == 0) {
                alarm(60);
                pause();
                _exit(0);
        }

        for (size_t i = 0; i < sizeof(syschecks) / sizeof(syschecks[0]); i++)
                if (selected(syschecks[i].name))
                        run_syscheck(syschecks[i].name, syschecks[i].fn, syschecks[i].want, syschecks[i].err);

        if (selected("state")) {
                check_status();
                check_idmap("/proc/self/uid_map", "uid_map_outside_not_root");
                check_idmap("/proc/self/gid_map", "gid_map_outside_not_root");
                check_uid();
                check_write_denied("write_root", "/tfgate-probe-write");
                check_write_denied("write_usr", "/usr/tfgate-probe-write");
                check_open_write_denied("write_proc_sys_hostname", "/proc/sys/kernel/hostname");
                check_open_write_denied("write_proc_sysrq_trigger", "/proc/sysrq-trigger");
                for (size_t i = 0; i < opt.n_writable; i++)
                        check_noexec(opt.writable[i]);
                check_interfaces();
                if (opt.port > 0)
                        run_syscheck("tcp_connect_host_listener", try_tcp_host_port, W_DENY, ANY_ERRNO);
                else
                        report("tcp_connect_host_listener", false, "FAIL", 0, "not checked: no --port");
                check_processes();
                check_hostname();
                check_absent("/sys");
                for (size_t i = 0; i < opt.n_absent; i++)
                        check_absent(opt.absent[i]);
                check_ctty();
                check_pid1();
                check_mounts();
        }

        if (sibling > 0) {
                kill(sibling, SIGKILL);
                waitpid(sibling, NULL, 0);
        }
        rmdir(scratch);
        printf("summary passed=%d failed=%d\n", passes, failures);
        return failures == 0 && passes > 0 ? 0 : 1;
}
