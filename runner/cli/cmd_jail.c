/* cmd_jail.c - `tfgate jail [options] -- CMD ARGS...`: run one command in
 * the jail (sandbox/sandbox.h), to test and debug the jail on its own.
 *
 * The command's stdout and stderr go to tfgate's stdout and stderr as they
 * come; with --redact (or --secrets-file F) through the runner's output
 * filter first: terminal and forge markers neutralised, credential shapes
 * and F's secrets masked, as a job's output is.  Exit status: the command's own, 128+N when a signal N ended it
 * (limits kill with SIGKILL: 137), 2 for a usage error, 3 when the jail
 * could not be built.  With --json one JSON line goes to stderr after all
 * of the command's output (on a line of its own):
 *   {"reason":"exit","exit_code":0,"signal":null,"wall_ms":4,...}
 * Limits default to the config's sandbox section (-c FILE, else the
 * embedded default config). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli.h"
#include "runner/config/config.h"
#include "runner/redact/redact.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/log.h"
#include "runner/util/units.h"
#include "runner/util/xalloc.h"
#include "sandbox/sandbox.h"

/* defaults for what the config has no key for */
#define DEFAULT_NOFILE 4096

enum lim { L_MEMORY, L_PIDS, L_CPU, L_CPUS, L_TIMEOUT, L_OUTPUT, L__COUNT };

struct cli {
        struct jail_spec *spec;
        const char *config;
        bool json;
        bool net_set;
        enum jail_net net;
        const char *netns;
        bool uid_set, gid_set;
        uint64_t uid, gid;
        const char **exec;
        size_t n_exec;
        bool set[L__COUNT];
        uint64_t val[L__COUNT];
        char **argv;
        bool stderr_mid_line;
        /* --redact / --secrets-file: the output filter between the command
         * and our stdout/stderr (one stream each, as the runner does) */
        bool redact;
        const char *secrets_file;
        struct redact_registry *reg;
        struct redact_stream *filter[2];
};

/* library messages start with "jail: ", which the usage line already says */
static const char *bare(const char *msg)
{
        return strncmp(msg, "jail: ", 6) == 0 ? msg + 6 : msg;
}

static int lib_usage(const struct err *e)
{
        return cli_usage_error("jail", "%s", bare(e->msg));
}

static int split_bind(const char *arg, char **host, char **inside)
{
        const char *colon = strchr(arg, ':');

        *host = colon != NULL ? xstrndup(arg, (size_t)(colon - arg)) : xstrdup(arg);
        *inside = xstrdup(colon != NULL ? colon + 1 : arg);
        return 0;
}

static int opt_bind(struct cli *c, const char *arg, unsigned flags)
{
        _cleanup_free_ char *host = NULL, *inside = NULL;
        struct err e = ERR_INIT;

        split_bind(arg, &host, &inside);
        if (jail_spec_add_bind(c->spec, host, inside, flags, &e) < 0)
                return lib_usage(&e);
        return 0;
}

/* read-only binds may run programs, as the jail has it; --rw and
 * --tmpfs only with --exec */
static int opt_ro(struct cli *c, const char *arg)
{
        return opt_bind(c, arg, JAIL_BIND_RO | JAIL_BIND_EXEC);
}

static int opt_rw(struct cli *c, const char *arg)
{
        return opt_bind(c, arg, JAIL_BIND_RW);
}

static int opt_exec(struct cli *c, const char *arg)
{
        c->exec = xreallocarray(c->exec, c->n_exec + 1, sizeof(*c->exec));
        c->exec[c->n_exec++] = arg;
        return 0;
}

static int opt_tmpfs(struct cli *c, const char *arg)
{
        const char *colon = strrchr(arg, ':');
        _cleanup_free_ char *inside = colon != NULL ? xstrndup(arg, (size_t)(colon - arg)) : xstrdup(arg);
        struct err e = ERR_INIT;
        uint64_t size = 0;

        if (colon != NULL && parse_size(colon + 1, &size, &e) < 0)
                return cli_usage_error("jail", "--tmpfs %s: %s", arg, e.msg);
        if (jail_spec_add_tmpfs(c->spec, inside, size, &e) < 0)
                return lib_usage(&e);
        return 0;
}

static int opt_workdir(struct cli *c, const char *arg)
{
        struct err e = ERR_INIT;

        return jail_spec_set_workdir(c->spec, arg, &e) < 0 ? lib_usage(&e) : 0;
}

static int opt_env(struct cli *c, const char *arg)
{
        struct err e = ERR_INIT;

        return jail_spec_add_env(c->spec, arg, &e) < 0 ? lib_usage(&e) : 0;
}

static int opt_net(struct cli *c, const char *arg)
{
        if (strcmp(arg, "none") == 0)
                c->net = JAIL_NET_NONE;
        else if (strcmp(arg, "loopback") == 0)
                c->net = JAIL_NET_LOOPBACK;
        else
                return cli_usage_error("jail", "--net: expected none or loopback, got \"%s\"", arg);
        c->net_set = true;
        return 0;
}

static int opt_netns(struct cli *c, const char *arg)
{
        c->netns = arg;
        return 0;
}

static int opt_connect(struct cli *c, const char *arg)
{
        struct err e = ERR_INIT;
        uint64_t port;

        if (parse_uint(arg, 65535, &port, &e) < 0 || port == 0)
                return cli_usage_error("jail", "--allow-connect: expected a port 1-65535, got \"%s\"", arg);
        return jail_spec_allow_connect(c->spec, (uint16_t)port, &e) < 0 ? lib_usage(&e) : 0;
}

static int opt_id(struct cli *c, const char *arg, const char *name, uint64_t *out, bool *set)
{
        struct err e = ERR_INIT;

        (void)c;
        if (parse_uint(arg, 4294967294ULL, out, &e) < 0)
                return cli_usage_error("jail", "%s: expected an id, got \"%s\"", name, arg);
        *set = true;
        return 0;
}

static int opt_uid(struct cli *c, const char *arg)
{
        return opt_id(c, arg, "--uid", &c->uid, &c->uid_set);
}

static int opt_gid(struct cli *c, const char *arg)
{
        return opt_id(c, arg, "--gid", &c->gid, &c->gid_set);
}

static int opt_size(struct cli *c, const char *arg, enum lim which, const char *name)
{
        struct err e = ERR_INIT;

        if (parse_size(arg, &c->val[which], &e) < 0)
                return cli_usage_error("jail", "%s: %s", name, e.msg);
        c->set[which] = true;
        return 0;
}

static int opt_memory(struct cli *c, const char *arg)
{
        return opt_size(c, arg, L_MEMORY, "--memory");
}

static int opt_output(struct cli *c, const char *arg)
{
        return opt_size(c, arg, L_OUTPUT, "--output-limit");
}

static int opt_count(struct cli *c, const char *arg, enum lim which, const char *name)
{
        struct err e = ERR_INIT;

        if (parse_uint(arg, 1U << 22, &c->val[which], &e) < 0 || c->val[which] == 0)
                return cli_usage_error("jail", "%s: expected a positive number, got \"%s\"", name, arg);
        c->set[which] = true;
        return 0;
}

static int opt_pids(struct cli *c, const char *arg)
{
        return opt_count(c, arg, L_PIDS, "--pids");
}

static int opt_cpu(struct cli *c, const char *arg)
{
        return opt_count(c, arg, L_CPU, "--cpu");
}

/* "1", "0.5", "1.25" CPUs -> thousandths */
static int opt_cpus(struct cli *c, const char *arg)
{
        const char *dot = strchr(arg, '.');
        _cleanup_free_ char *whole = dot != NULL ? xstrndup(arg, (size_t)(dot - arg)) : xstrdup(arg);
        struct err e = ERR_INIT;
        uint64_t w = 0, frac = 0;
        size_t fl = dot != NULL ? strlen(dot + 1) : 0;

        if ((whole[0] != '\0' && parse_uint(whole, 1024, &w, &e) < 0) ||
            (dot != NULL && (fl == 0 || fl > 3 || parse_uint(dot + 1, 999, &frac, &e) < 0)))
                return cli_usage_error("jail", "--cpus: expected a number of CPUs like 1.5, got \"%s\"", arg);
        for (size_t i = fl; i < 3; i++)
                frac *= 10;
        c->val[L_CPUS] = w * 1000 + frac;
        if (c->val[L_CPUS] == 0)
                return cli_usage_error("jail", "--cpus: expected more than 0, got \"%s\"", arg);
        c->set[L_CPUS] = true;
        return 0;
}

/* a bare number is seconds, as timeout(1) has it */
static int opt_timeout(struct cli *c, const char *arg)
{
        struct err e = ERR_INIT;

        if (arg[0] != '\0' && strspn(arg, "0123456789") == strlen(arg)) {
                if (parse_uint(arg, UINT64_MAX / 1000, &c->val[L_TIMEOUT], &e) < 0)
                        return cli_usage_error("jail", "--timeout: %s", e.msg);
                c->val[L_TIMEOUT] *= 1000;
        } else if (parse_duration_ms(arg, &c->val[L_TIMEOUT], &e) < 0) {
                return cli_usage_error("jail", "--timeout: %s", e.msg);
        }
        if (c->val[L_TIMEOUT] == 0)
                return cli_usage_error("jail", "--timeout: expected more than 0, got \"%s\"", arg);
        c->set[L_TIMEOUT] = true;
        return 0;
}

static int opt_config(struct cli *c, const char *arg)
{
        c->config = arg;
        return 0;
}

static int flag_json(struct cli *c, const char *arg)
{
        (void)arg;
        c->json = true;
        return 0;
}

static int flag_redact(struct cli *c, const char *arg)
{
        (void)arg;
        c->redact = true;
        return 0;
}

static int opt_secrets(struct cli *c, const char *arg)
{
        c->secrets_file = arg;
        c->redact = true;
        return 0;
}

static int flag_no_defaults(struct cli *c, const char *arg)
{
        struct err e = ERR_INIT;

        (void)arg;
        return jail_spec_no_default_mounts(c->spec, &e) < 0 ? lib_usage(&e) : 0;
}

static const struct option_def {
        const char *name;
        bool has_arg;
        int (*fn)(struct cli *c, const char *arg);
} options[] = {
        { "--ro", true, opt_ro },
        { "--rw", true, opt_rw },
        { "--exec", true, opt_exec },
        { "--tmpfs", true, opt_tmpfs },
        { "--workdir", true, opt_workdir },
        { "--env", true, opt_env },
        { "--net", true, opt_net },
        { "--netns", true, opt_netns },
        { "--allow-connect", true, opt_connect },
        { "--memory", true, opt_memory },
        { "--pids", true, opt_pids },
        { "--cpu", true, opt_cpu },
        { "--cpus", true, opt_cpus },
        { "--timeout", true, opt_timeout },
        { "--output-limit", true, opt_output },
        { "--uid", true, opt_uid },
        { "--gid", true, opt_gid },
        { "--config", true, opt_config },
        { "-c", true, opt_config },
        { "--json", false, flag_json },
        { "--redact", false, flag_redact },
        { "--secrets-file", true, opt_secrets },
        { "--no-default-mounts", false, flag_no_defaults },
};

static int parse_args(struct cli *c, int argc, char **argv)
{
        int i = 1;

        for (; i < argc; i++) {
                const char *a = argv[i];
                const char *eq = strchr(a, '=');
                size_t nlen = eq != NULL && strncmp(a, "--", 2) == 0 ? (size_t)(eq - a) : strlen(a);
                const struct option_def *o = NULL;
                const char *val = NULL;
                int r;

                if (strcmp(a, "--") == 0) {
                        i++;
                        break;
                }
                if (a[0] != '-')
                        break;  /* the command starts here */
                for (size_t k = 0; k < ARRAY_SIZE(options) && o == NULL; k++)
                        if (strlen(options[k].name) == nlen && strncmp(options[k].name, a, nlen) == 0)
                                o = &options[k];
                if (o == NULL)
                        return cli_usage_error("jail", "unknown option %.*s", (int)nlen, a);
                if (o->has_arg) {
                        if (nlen < strlen(a))
                                val = a + nlen + 1;
                        else if (i + 1 < argc)
                                val = argv[++i];
                        else
                                return cli_usage_error("jail", "%s needs a value", o->name);
                } else if (nlen < strlen(a)) {
                        return cli_usage_error("jail", "%s takes no value", o->name);
                }
                if ((r = o->fn(c, val)) != 0)
                        return r;
        }
        if (i >= argc)
                return cli_usage_error("jail", "no command given (tfgate jail [options] -- CMD ARGS...)");
        c->argv = argv + i;
        return 0;
}

static int load_config(struct config **cfg, const char *path)
{
        _cleanup_strv_free_ char **errors = NULL;
        struct err e = ERR_INIT;

        if (path == NULL ? config_load_default(cfg, &e) == 0
                         : config_load_file(cfg, path, &errors, &e) == 0)
                return 0;
        if (errors != NULL && errors[0] != NULL)
                for (char **m = errors; *m != NULL; m++)
                        fprintf(stderr, "tfgate: jail: %s\n", *m);
        else
                fprintf(stderr, "tfgate: jail: %s\n", e.msg);
        return EXIT_USAGE;
}

/* everything after parsing: config defaults, ids, network, --exec marks */
static int complete_spec(struct cli *c, const struct config *cfg, struct jail_netns **ns)
{
        struct jail_limits l = {
                .memory = c->set[L_MEMORY] ? c->val[L_MEMORY] : cfg->sandbox.memory,
                .pids = c->set[L_PIDS] ? c->val[L_PIDS] : cfg->sandbox.pids,
                .cpu_seconds = c->set[L_CPU] ? c->val[L_CPU] : cfg->sandbox.cpu_seconds,
                .cpu_quota_milli = c->set[L_CPUS] ? (uint32_t)c->val[L_CPUS] : 0,
                .wall_ms = c->set[L_TIMEOUT] ? c->val[L_TIMEOUT] : cfg->sandbox.wall_timeout_ms,
                .output_bytes = c->set[L_OUTPUT] ? c->val[L_OUTPUT] : cfg->sandbox.output_limit,
                /* no single file larger than a workspace may be */
                .file_size = cfg->sandbox.workspace_size,
                .nofile = DEFAULT_NOFILE,
        };
        struct err e = ERR_INIT;

        if (jail_spec_set_limits(c->spec, &l, &e) < 0)
                return lib_usage(&e);
        if (c->uid_set || c->gid_set) {
                uint64_t uid = c->uid_set ? c->uid : JAIL_DEFAULT_UID;
                uint64_t gid = c->gid_set ? c->gid : (c->uid_set ? c->uid : JAIL_DEFAULT_GID);

                if (jail_spec_set_ids(c->spec, (uid_t)uid, (gid_t)gid, &e) < 0)
                        return lib_usage(&e);
        }
        if (c->netns != NULL) {
                if (c->net_set)
                        return cli_usage_error("jail", "--net and --netns exclude each other");
                if (jail_netns_open(ns, c->netns, &e) < 0 || jail_spec_set_netns(c->spec, *ns, &e) < 0)
                        return lib_usage(&e);
        } else if (c->net_set && jail_spec_set_net(c->spec, c->net, &e) < 0) {
                return lib_usage(&e);
        }
        for (size_t i = 0; i < c->n_exec; i++)
                if (jail_spec_mark_exec(c->spec, c->exec[i], &e) < 0)
                        return cli_usage_error("jail", "--exec %s: no --ro, --rw or --tmpfs mount there",
                                               c->exec[i]);
        if (jail_spec_set_argv(c->spec, (const char *const *)c->argv, &e) < 0)
                return lib_usage(&e);
        if (jail_spec_freeze(c->spec, &e) < 0) {
                fprintf(stderr, "tfgate: %s\n", e.msg);
                return EXIT_INFRA;
        }
        return 0;
}

static int write_stdout(void *arg, const void *buf, size_t len)
{
        (void)arg;
        return write_all(STDOUT_FILENO, buf, len) < 0 ? -1 : 0;
}

static int write_stderr(void *arg, const void *buf, size_t len)
{
        struct cli *c = arg;

        if (len > 0)
                c->stderr_mid_line = ((const char *)buf)[len - 1] != '\n';
        return write_all(STDERR_FILENO, buf, len) < 0 ? -1 : 0;
}

static int forward(void *opaque, enum jail_stream s, const char *data, size_t len)
{
        struct cli *c = opaque;
        redact_out_fn out = s == JAIL_STDOUT ? write_stdout : write_stderr;

        if (c->reg != NULL)
                return redact_stream_write(c->filter[s == JAIL_STDERR], data, len, out, c, NULL) < 0 ? -1 : 0;
        return out(c, data, len);
}

/* the filter of --redact: built-in credential shapes, and the secrets file */
static int open_filter(struct cli *c)
{
        struct err e = ERR_INIT;

        if (!c->redact)
                return 0;
        c->reg = redact_registry_new();
        if ((c->secrets_file != NULL && redact_registry_add_file(c->reg, c->secrets_file, &e) < 0) ||
            redact_registry_add_patterns(c->reg, &e) < 0 || redact_registry_freeze(c->reg, &e) < 0) {
                fprintf(stderr, "tfgate: jail: --secrets-file: %s\n", e.msg);
                redact_registry_free(TAKE_PTR(c->reg));
                return EXIT_USAGE;
        }
        /* no caps here: the jail's --output-limit bounds the output */
        for (int i = 0; i < 2; i++)
                c->filter[i] = redact_stream_new(c->reg, NULL);
        return 0;
}

static void close_filter(struct cli *c)
{
        if (c->reg == NULL)
                return;
        redact_stream_finish(c->filter[0], write_stdout, c, NULL);
        redact_stream_finish(c->filter[1], write_stderr, c, NULL);
        redact_stream_free(c->filter[0]);
        redact_stream_free(c->filter[1]);
        redact_registry_free(c->reg);
}

static void print_json(struct cli *c, const struct jail_result *r, const char *error)
{
        json_t *o = json_object();
        char *line;

        json_object_set_new(o, "reason", json_string(jail_reason_name(r->reason)));
        json_object_set_new(o, "exit_code", r->exited ? json_integer(r->exit_code) : json_null());
        json_object_set_new(o, "signal", r->signal > 0 ? json_integer(r->signal) : json_null());
        json_object_set_new(o, "wall_ms", json_integer((json_int_t)r->wall_ms));
        json_object_set_new(o, "setup_ms", json_real((double)(r->setup_us / 10) / 100.0));
        json_object_set_new(o, "cpu_ms", json_integer((json_int_t)r->cpu_ms));
        json_object_set_new(o, "peak_memory", json_integer((json_int_t)r->peak_memory));
        json_object_set_new(o, "output_bytes", json_integer((json_int_t)r->output_bytes));
        json_object_set_new(o, "output_truncated", json_boolean(r->output_truncated));
        json_object_set_new(o, "cgroup", json_string(jail_cgroup_mode_name(r->cgroup)));
        json_object_set_new(o, "landlock_abi", json_integer(r->landlock_abi));
        json_object_set_new(o, "exec_id", json_string(r->exec_id));
        if (error != NULL)
                json_object_set_new(o, "error", json_string(error));
        line = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9));
        json_decref(o);
        if (line == NULL)
                return;
        /* the status is a line of its own even after a partial line */
        fprintf(stderr, "%s%s\n", c->stderr_mid_line ? "\n" : "", line);
        free(line);
}

/* SIGINT/SIGTERM/SIGHUP end the jail cleanly instead of orphaning its
 * cgroup: they are blocked and read through a signalfd, the jail's cancel fd */
static int signals_as_fd(sigset_t *set)
{
        sigemptyset(set);
        sigaddset(set, SIGINT);
        sigaddset(set, SIGTERM);
        sigaddset(set, SIGHUP);
        sigaddset(set, SIGQUIT);
        if (sigprocmask(SIG_BLOCK, set, NULL) < 0)
                return -1;
        return signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* a closed 0, 1 or 2 would be taken by the next fd we open, and the
 * command's output written into it: give them /dev/null first */
static void guard_stdio(void)
{
        for (int fd = 0; fd < 3; fd++)
                if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
                        (void)open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
}

static int exit_status(const struct jail_result *r, int canceled_by)
{
        if (r->reason == JAIL_CANCELED && canceled_by > 0)
                return 128 + canceled_by;
        if (r->signal > 0)
                return 128 + r->signal;
        if (r->exited)
                return r->exit_code;
        return EXIT_INFRA;
}

int cmd_jail(int argc, char **argv)
{
        struct cli c = { .spec = jail_spec_new() };
        _cleanup_(jail_spec_freep) struct jail_spec *spec = c.spec;
        _cleanup_(jail_netns_freep) struct jail_netns *ns = NULL;
        _cleanup_(config_freep) struct config *cfg = NULL;
        _cleanup_free_ const char **exec = NULL;
        _cleanup_close_ int sfd = -1;
        struct jail_io io = JAIL_IO_INIT;
        struct jail_result res;
        struct err e = ERR_INIT;
        struct signalfd_siginfo si;
        sigset_t sigs;
        int canceled_by = 0;
        int r;

        guard_stdio();
        r = parse_args(&c, argc, argv);
        exec = c.exec;
        if (r != 0)
                return r;
        if ((r = load_config(&cfg, c.config)) != 0 || (r = complete_spec(&c, cfg, &ns)) != 0 ||
            (r = open_filter(&c)) != 0)
                return r;
        sfd = signals_as_fd(&sigs);
        /* a closed reader of our output must not kill us before the cleanup */
        signal(SIGPIPE, SIG_IGN);
        /* never hand the jail a terminal: TIOCSTI and friends */
        io.stdin_fd = isatty(STDIN_FILENO) ? -1 : STDIN_FILENO;
        io.output = forward;
        io.opaque = &c;
        io.cancel_fd = sfd;
        r = jail_run(&res, spec, &io, &e);
        close_filter(&c);
        if (sfd >= 0 && read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                canceled_by = (int)si.ssi_signo;
        if (r < 0) {
                fprintf(stderr, "%stfgate: %s\n", c.stderr_mid_line ? "\n" : "", e.msg);
                c.stderr_mid_line = false;
        }
        if (c.json)
                print_json(&c, &res, r < 0 ? e.msg : NULL);
        if (r < 0)
                return EXIT_INFRA;
        return exit_status(&res, canceled_by);
}
