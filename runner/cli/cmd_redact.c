/* cmd_redact.c - `tfgate redact`: the output filter from stdin to stdout,
 * the same engine the runner puts between a job and its logs.
 *
 *   --secrets-file F   a private file (0600, checked): every non-empty line
 *                      is a secret; a line NAME=VALUE (NAME a shell
 *                      identifier) registers VALUE under NAME, any other
 *                      line registers the whole line, named FILE:LINE
 *   --secret-env NAME  the value of environment variable NAME (may be
 *                      multi-line)
 *   --no-patterns      do not mask the built-in credential shapes
 *   --line-max SIZE    split output lines longer than SIZE ("4KiB")
 *   --max SIZE         stop writing after SIZE, count the rest
 *   --keep-colour      keep SGR colour sequences (for a terminal or a
 *                      colour-capable log); other controls are still dropped
 * Exit: 0, 2 usage or unreadable secrets, 3 I/O error. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "runner/redact/redact.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/log.h"
#include "runner/util/units.h"
#include "runner/util/xalloc.h"

#define READ_CHUNK (256 * 1024)

static int write_stdout(void *arg, const void *buf, size_t len)
{
        (void)arg;
        return write_all(STDOUT_FILENO, buf, len);
}

static int parse_size_opt(const char *opt, const char *val, uint64_t *out)
{
        struct err e = ERR_INIT;

        if (val == NULL)
                return cli_usage_error("redact", "%s needs a value", opt);
        if (parse_size(val, out, &e) < 0)
                return cli_usage_error("redact", "%s: %s", opt, e.msg);
        return 0;
}

int cmd_redact(int argc, char **argv)
{
        _cleanup_(redact_registry_freep) struct redact_registry *reg = redact_registry_new();
        _cleanup_(redact_stream_freep) struct redact_stream *s = NULL;
        _cleanup_free_ char *buf = NULL;
        struct redact_budget cap = { .what = "--max" };
        struct redact_opts opts = { 0 };
        struct err err = ERR_INIT;
        bool patterns = true;
        uint64_t v;

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

                if (strcmp(a, "--secrets-file") == 0 && val != NULL) {
                        if (redact_registry_add_file(reg, val, &err) < 0) {
                                log_error("redact: secrets file: %s", err.msg);
                                return EXIT_USAGE;
                        }
                        i++;
                } else if (strcmp(a, "--secret-env") == 0 && val != NULL) {
                        const char *ev = getenv(val);

                        if (ev == NULL)
                                return cli_usage_error("redact", "--secret-env %s: not set", val);
                        if (redact_registry_add_secret(reg, val, ev, strlen(ev), &err) < 0) {
                                log_error("redact: %s", err.msg);
                                return EXIT_USAGE;
                        }
                        i++;
                } else if (strcmp(a, "--no-patterns") == 0) {
                        patterns = false;
                } else if (strcmp(a, "--keep-colour") == 0) {
                        opts.keep_colour = true;
                } else if (strcmp(a, "--line-max") == 0) {
                        if (parse_size_opt(a, val, &v) != 0)
                                return EXIT_USAGE;
                        opts.line_max = (size_t)v;
                        i++;
                } else if (strcmp(a, "--max") == 0) {
                        if (parse_size_opt(a, val, &cap.limit) != 0)
                                return EXIT_USAGE;
                        opts.caps[0] = &cap;
                        i++;
                } else {
                        return cli_usage_error("redact", "unknown or incomplete option %s", a);
                }
        }
        if (patterns && redact_registry_add_patterns(reg, &err) < 0)
                return EXIT_INFRA;
        if (redact_registry_freeze(reg, &err) < 0) {
                log_error("redact: %s", err.msg);
                return EXIT_INFRA;
        }
        log_debug("redact: %zu forms registered, hold-back up to %zu bytes",
                  redact_registry_nforms(reg), redact_registry_maxlen(reg));
        s = redact_stream_new(reg, &opts);
        buf = xmalloc(READ_CHUNK);
        for (;;) {
                ssize_t n = read(STDIN_FILENO, buf, READ_CHUNK);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        log_error("redact: reading stdin: %s", strerror(errno));
                        return EXIT_INFRA;
                }
                if (n == 0)
                        break;
                if (redact_stream_write(s, buf, (size_t)n, write_stdout, NULL, &err) < 0) {
                        log_error("%s", err.msg);
                        return EXIT_INFRA;
                }
        }
        if (redact_stream_finish(s, write_stdout, NULL, &err) < 0) {
                log_error("%s", err.msg);
                return EXIT_INFRA;
        }
        return EXIT_PASSED;
}
