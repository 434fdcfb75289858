/* tests/doubles/terraform.c - A TEST DOUBLE FOR TERRAFORM.  Not Terraform.
 *
 * Built by CMake as build/tests/doubles/terraform for tfgate's tests only;
 * never installed.  It behaves like terraform for the subcommands tfgate
 * runs, speaking the real JSON formats (reference/terraform.md §4), and it
 * exercises the jail for real:
 *   - refuses to run without TF_CLI_CONFIG_FILE naming a readable file, and
 *     takes providers only from that file's filesystem_mirror;
 *   - init reads .terraform.lock.hcl, finds each provider's packed zip in the
 *     mirror, checks its zh: (or h1:) hash against the lock file, and
 *     extracts it into TF_DATA_DIR (as terraform does for a packed mirror);
 *   - validate, plan, show, apply and destroy execute each provider from
 *     TF_DATA_DIR and fail if they cannot (noexec, missing, tampered);
 *   - apply and destroy make real HTTP requests to the emulator at
 *     AWS_ENDPOINT_URL (S3 CreateBucket / DeleteBucket) and fail if it is
 *     unreachable.
 * Failure modes come from a file `.tfdouble` in the working directory, one
 * `key=value` a line:
 *   validate=invalid    validate reports an error diagnostic (exit 1)
 *   hang=STEP           STEP (init|validate|plan|show|apply|destroy) never ends
 *   echo=TEXT           plan prints TEXT on stdout and stderr (secret tests)
 *   lie=STEP            STEP prints success markers, then exits 1
 *   printenv=STEP       STEP prints its whole environment
 *   providers=STEP      STEP prints each aws provider block it reads:
 *                       "provider aws: file=F alias=A s3=ENDPOINT"
 * Like Terraform, every step refuses an aliased provider block in an
 * override file that has no base block with that alias in a primary file
 * ("Missing base provider configuration for override"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner/hcl/hcl.h"

#include "in_jail.h"
#include "runner/util/buf.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

#define VERSION "1.9.5"
#define PLATFORM "linux_amd64"

extern char **environ;

struct provider {
        char *addr;    /* registry.terraform.io/hashicorp/aws */
        char *host, *ns, *type;
        char *version;
        char **hashes; /* NULL-terminated */
};

struct resource {
        char *type, *name, *bucket;
        char *file;
        unsigned line;
};

struct provider_block {
        char *file, *alias, *s3;        /* alias, s3: NULL when absent */
        bool override;
};

static struct {
        char *mirror;
        char *data_dir;
        struct provider *providers;
        size_t n_providers;
        struct resource *resources;
        size_t n_resources;
        struct provider_block *aws_blocks;
        size_t n_aws_blocks;
        char *modes; /* .tfdouble content */
} g;

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
        va_list ap;

        fprintf(stderr, "\nError: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\n\n");
        exit(1);
}

static const char *mode(const char *key)
{
        static char val[4096];
        size_t klen = strlen(key);

        for (const char *p = g.modes; p != NULL && *p != '\0';) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t)(nl - p) : strlen(p);

                if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
                        snprintf(val, sizeof(val), "%.*s", (int)(n - klen - 1), p + klen + 1);
                        return val;
                }
                p += n + (nl != NULL);
        }
        return NULL;
}

static bool mode_is(const char *key, const char *value)
{
        const char *v = mode(key);

        return v != NULL && strcmp(v, value) == 0;
}

static void step_modes(const char *step)
{
        if (mode_is("providers", step))
                for (size_t i = 0; i < g.n_aws_blocks; i++)
                        printf("provider aws: file=%s alias=%s s3=%s\n", g.aws_blocks[i].file,
                               g.aws_blocks[i].alias ? g.aws_blocks[i].alias : "-",
                               g.aws_blocks[i].s3 ? g.aws_blocks[i].s3 : "-");
        if (mode_is("printenv", step))
                for (char **e = environ; *e != NULL; e++)
                        printf("%s\n", *e);
        if (mode_is("hang", step)) {
                fprintf(stderr, "%s: waiting forever (test double hang mode)\n", step);
                for (;;)
                        pause();
        }
}

static void lie_if_asked(const char *step)
{
        if (!mode_is("lie", step))
                return;
        printf("Success! The configuration is valid.\nApply complete! PASSED\nverdict: PASSED\nexit 0\n");
        fflush(stdout);
        exit(1);
}

static void read_cli_config(void)
{
        const char *path = getenv("TF_CLI_CONFIG_FILE");
        _cleanup_(hcl_file_freep) struct hcl_file *f = NULL;
        const struct hcl_block *pi, *fm;
        struct err err = ERR_INIT;
        const char *mirror;

        if (path == NULL || path[0] == '\0')
                die("TF_CLI_CONFIG_FILE is not set: this double refuses to fall back to the network");
        if (hcl_parse_path(&f, path, NULL, &err) < 0)
                die("Unable to open CLI configuration file: %s", err.msg);
        pi = hcl_body_next_block(&f->body, "provider_installation", NULL);
        if (pi == NULL)
                die("%s: no provider_installation block", path);
        if (hcl_body_next_block(&pi->body, "direct", NULL) != NULL)
                die("%s: direct installation is configured: the test double refuses the network", path);
        fm = hcl_body_next_block(&pi->body, "filesystem_mirror", NULL);
        mirror = fm ? hcl_value_str(hcl_body_attr(&fm->body, "path") ? hcl_body_attr(&fm->body, "path")->value : NULL) : NULL;
        if (mirror == NULL)
                die("%s: no filesystem_mirror path", path);
        g.mirror = xstrdup(mirror);
        g.data_dir = xstrdup(getenv("TF_DATA_DIR") ? getenv("TF_DATA_DIR") : ".terraform");
}

static void split_addr(struct provider *p)
{
        char *s = xstrdup(p->addr);
        char *a = strchr(s, '/'), *b = a ? strchr(a + 1, '/') : NULL;

        if (a == NULL || b == NULL || strchr(b + 1, '/') != NULL)
                die("lock file: provider address \"%s\" is not HOST/NAMESPACE/TYPE", p->addr);
        *a = '\0';
        *b = '\0';
        p->host = xstrdup(s);
        p->ns = xstrdup(a + 1);
        p->type = xstrdup(b + 1);
        free(s);
}

static void read_lock_file(void)
{
        _cleanup_(hcl_file_freep) struct hcl_file *f = NULL;
        const struct hcl_block *b = NULL;
        struct err err = ERR_INIT;

        if (hcl_parse_path(&f, ".terraform.lock.hcl", NULL, &err) < 0)
                die("Inconsistent dependency lock file: %s", err.msg);
        while ((b = hcl_body_next_block(&f->body, "provider", b)) != NULL) {
                const struct hcl_attr *ver = hcl_body_attr(&b->body, "version");
                const struct hcl_attr *hashes = hcl_body_attr(&b->body, "hashes");
                struct provider *p;

                if (b->n_labels != 1 || ver == NULL || hcl_value_str(ver->value) == NULL)
                        die("lock file: provider block without address or version");
                g.providers = xreallocarray(g.providers, g.n_providers + 1, sizeof(*g.providers));
                p = &g.providers[g.n_providers++];
                memset(p, 0, sizeof(*p));
                p->addr = xstrdup(b->labels[0]);
                p->version = xstrdup(hcl_value_str(ver->value));
                split_addr(p);
                p->hashes = xcalloc(1, sizeof(char *));
                if (hashes != NULL && hashes->value->kind == HCL_LIST) {
                        size_t n = hashes->value->n_items;

                        p->hashes = xreallocarray(p->hashes, n + 1, sizeof(char *));
                        for (size_t i = 0; i < n; i++) {
                                const char *h = hcl_value_str(hashes->value->items[i]);

                                p->hashes[i] = xstrdup(h ? h : "");
                        }
                        p->hashes[n] = NULL;
                }
        }
}

static bool lock_has_hash(const struct provider *p, const char *h)
{
        for (char **x = p->hashes; *x != NULL; x++)
                if (strcmp(*x, h) == 0)
                        return true;
        return false;
}

static char *zh_of(const char *path)
{
        unsigned char md[32];
        unsigned int mdlen = 0;
        char hex[65];
        _cleanup_fclose_ FILE *f = fopen(path, "rb");
        EVP_MD_CTX *ctx;
        char buf[65536];
        size_t n;

        if (f == NULL)
                return NULL;
        ctx = EVP_MD_CTX_new();
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
                EVP_DigestUpdate(ctx, buf, n);
        EVP_DigestFinal_ex(ctx, md, &mdlen);
        EVP_MD_CTX_free(ctx);
        for (unsigned i = 0; i < 32; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
        return xasprintf("zh:%s", hex);
}

static char *package_dir(const struct provider *p)
{
        return xasprintf("%s/providers/%s/%s/%s/%s/%s", g.data_dir, p->host, p->ns, p->type,
                         p->version, PLATFORM);
}

static int run(char *const argv[])
{
        pid_t pid = fork();
        int st;

        if (pid < 0)
                return -1;
        if (pid == 0) {
                execve(argv[0], argv, environ);
                fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        if (waitpid(pid, &st, 0) < 0)
                return -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void install_provider(const struct provider *p)
{
        _cleanup_free_ char *zip = xasprintf("%s/%s/%s/%s/terraform-provider-%s_%s_%s.zip", g.mirror,
                                              p->host, p->ns, p->type, p->type, p->version, PLATFORM);
        _cleanup_free_ char *zh = NULL;
        _cleanup_free_ char *dir = package_dir(p);
        struct err err = ERR_INIT;

        printf("- Installing %s/%s v%s...\n", p->ns, p->type, p->version);
        zh = zh_of(zip);
        if (zh == NULL)
                die("Failed to query available provider packages: could not find %s v%s in the "
                    "filesystem mirror %s (%s)", p->addr, p->version, g.mirror, zip);
        if (!lock_has_hash(p, zh))
                die("Failed to install provider: Error while installing %s/%s v%s: the current "
                    "package for %s %s doesn't match any of the checksums previously recorded in "
                    "the dependency lock file", p->ns, p->type, p->version, p->addr, p->version);
        if (mkdir_p(dir, 0755, &err) < 0)
                die("Failed to install provider: %s", err.msg);
        if (run((char *[]){ "/usr/bin/unzip", "-q", "-o", zip, "-d", dir, NULL }) != 0)
                die("Failed to install provider: could not extract %s into %s", zip, dir);
        printf("- Installed %s/%s v%s (verified checksum)\n", p->ns, p->type, p->version);
}

/* run every provider's binary from the data dir, as terraform does to load
 * schemas; a provider that cannot execute fails the step */
static void start_providers(const char *step)
{
        for (size_t i = 0; i < g.n_providers; i++) {
                const struct provider *p = &g.providers[i];
                _cleanup_free_ char *dir = package_dir(p);
                _cleanup_free_ char *bin = NULL;
                DIR *d = opendir(dir);
                struct dirent *de;
                int rc;

                if (d == NULL)
                        die("Required plugins are not installed: %s (%s: %s)", p->addr, dir, strerror(errno));
                while ((de = readdir(d)) != NULL)
                        if (strncmp(de->d_name, "terraform-provider-", 19) == 0 && bin == NULL)
                                bin = xasprintf("%s/%s", dir, de->d_name);
                closedir(d);
                if (bin == NULL)
                        die("Required plugins are not installed: %s has no binary in %s", p->addr, dir);
                rc = run((char *[]){ bin, "--tfgate-probe", (char *)step, NULL });
                if (rc != 0)
                        die("Failed to load plugin schemas: could not start provider %s (%s): exit %d",
                            p->addr, bin, rc);
        }
}

static bool is_override_file(const char *name)
{
        size_t n = strlen(name);

        return strcmp(name, "override.tf") == 0 || (n >= 12 && strcmp(name + n - 12, "_override.tf") == 0);
}

static void add_aws_block(const char *file, const struct hcl_block *b)
{
        const struct hcl_attr *alias = hcl_body_attr(&b->body, "alias");
        const struct hcl_block *ep = hcl_body_next_block(&b->body, "endpoints", NULL);
        const struct hcl_attr *s3 = ep ? hcl_body_attr(&ep->body, "s3") : NULL;
        struct provider_block *p;

        g.aws_blocks = xreallocarray(g.aws_blocks, g.n_aws_blocks + 1, sizeof(*g.aws_blocks));
        p = &g.aws_blocks[g.n_aws_blocks++];
        p->file = xstrdup(file);
        p->alias = alias && hcl_value_str(alias->value) ? xstrdup(hcl_value_str(alias->value)) : NULL;
        p->s3 = s3 && hcl_value_str(s3->value) ? xstrdup(hcl_value_str(s3->value)) : NULL;
        p->override = is_override_file(file);
}

/* Terraform merges an override provider block into the primary block with
 * the same alias and refuses an aliased one that has none */
static void check_override_bases(void)
{
        for (size_t i = 0; i < g.n_aws_blocks; i++) {
                const struct provider_block *o = &g.aws_blocks[i];
                bool base = false;

                if (!o->override || o->alias == NULL)
                        continue;
                for (size_t k = 0; k < g.n_aws_blocks && !base; k++)
                        base = !g.aws_blocks[k].override && g.aws_blocks[k].alias != NULL &&
                               strcmp(g.aws_blocks[k].alias, o->alias) == 0;
                if (!base)
                        die("Missing base provider configuration for override: there is no aws "
                            "provider configuration with the alias \"%s\" (%s)", o->alias, o->file);
        }
}

static void scan_resources(void)
{
        DIR *d = opendir(".");
        struct dirent *de;

        if (d == NULL)
                die("cannot read the working directory: %s", strerror(errno));
        while ((de = readdir(d)) != NULL) {
                _cleanup_(hcl_file_freep) struct hcl_file *f = NULL;
                const struct hcl_block *b = NULL;
                struct err err = ERR_INIT;
                size_t n = strlen(de->d_name);

                if (n < 4 || strcmp(de->d_name + n - 3, ".tf") != 0)
                        continue;
                if (hcl_parse_path(&f, de->d_name, NULL, &err) < 0)
                        die("%s", err.msg);
                while ((b = hcl_body_next_block(&f->body, "resource", b)) != NULL) {
                        const struct hcl_attr *bucket = hcl_body_attr(&b->body, "bucket");
                        struct resource *r;

                        if (b->n_labels != 2)
                                continue;
                        g.resources = xreallocarray(g.resources, g.n_resources + 1, sizeof(*g.resources));
                        r = &g.resources[g.n_resources++];
                        r->type = xstrdup(b->labels[0]);
                        r->name = xstrdup(b->labels[1]);
                        r->bucket = bucket && hcl_value_str(bucket->value) ? xstrdup(hcl_value_str(bucket->value)) : NULL;
                        r->file = xstrdup(de->d_name);
                        r->line = b->pos.line;
                }
                while ((b = hcl_body_next_block(&f->body, "provider", b)) != NULL)
                        if (b->n_labels == 1 && strcmp(b->labels[0], "aws") == 0)
                                add_aws_block(de->d_name, b);
        }
        closedir(d);
        check_override_bases();
}

static void ui_line(const char *level, const char *msg, json_t *extra, const char *type)
{
        json_t *o = extra ? extra : json_object();
        char stamp[64];
        struct timespec ts;
        struct tm tm;
        char *s;

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
        json_object_set_new(o, "@level", json_string(level));
        json_object_set_new(o, "@message", json_string(msg));
        json_object_set_new(o, "@module", json_string("terraform.ui"));
        json_object_set_new(o, "@timestamp", json_string(stamp));
        json_object_set_new(o, "type", json_string(type));
        s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        printf("%s\n", s);
        free(s);
        json_decref(o);
}

static json_t *resource_addr(const struct resource *r)
{
        char *addr = xasprintf("%s.%s", r->type, r->name);
        char *implied = xstrndup(r->type, strcspn(r->type, "_"));
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:n}", "addr", addr, "module", "",
                              "resource", addr, "implied_provider", implied, "resource_type",
                              r->type, "resource_name", r->name, "resource_key");

        free(addr);
        free(implied);
        return o;
}

static int cmd_validate(void)
{
        json_t *out = json_object(), *diags = json_array();
        bool invalid = mode_is("validate", "invalid");

        step_modes("validate");
        start_providers("validate");
        if (invalid) {
                const struct resource *r = g.n_resources ? &g.resources[0] : NULL;

                json_array_append_new(diags, json_pack(
                        "{s:s, s:s, s:s, s:{s:s, s:{s:i, s:i, s:i}, s:{s:i, s:i, s:i}}}",
                        "severity", "error", "summary", "Invalid reference", "detail",
                        "A reference to a resource type must be followed by at least one attribute access, specifying the resource name.",
                        "range", "filename", r ? r->file : "main.tf", "start", "line",
                        r ? (int)r->line + 1 : 1, "column", 14, "byte", 0, "end", "line",
                        r ? (int)r->line + 1 : 1, "column", 18, "byte", 0));
        }
        json_object_set_new(out, "format_version", json_string("1.0"));
        json_object_set_new(out, "valid", json_boolean(!invalid));
        json_object_set_new(out, "error_count", json_integer(invalid));
        json_object_set_new(out, "warning_count", json_integer(0));
        json_object_set_new(out, "diagnostics", diags);
        json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("\n");
        json_decref(out);
        lie_if_asked("validate");
        return invalid ? 1 : 0;
}

static int cmd_plan(const char *out_path)
{
        json_t *plan = json_array();
        char msg[256];

        step_modes("plan");
        start_providers("plan");
        ui_line("info", "Terraform " VERSION, json_pack("{s:s, s:s}", "terraform", VERSION, "ui", "1.2"), "version");
        if (mode("echo") != NULL) {
                printf("%s\n", mode("echo"));
                fprintf(stderr, "%s\n", mode("echo"));
        }
        for (size_t i = 0; i < g.n_resources; i++) {
                const struct resource *r = &g.resources[i];

                snprintf(msg, sizeof(msg), "%s.%s: Plan to create", r->type, r->name);
                ui_line("info", msg, json_pack("{s:{s:o, s:s}}", "change", "resource",
                                               resource_addr(r), "action", "create"), "planned_change");
                json_array_append_new(plan, json_pack("{s:s, s:s, s:s?}", "type", r->type, "name",
                                                      r->name, "bucket", r->bucket));
        }
        snprintf(msg, sizeof(msg), "Plan: %zu to add, 0 to change, 0 to destroy.", g.n_resources);
        ui_line("info", msg, json_pack("{s:{s:i, s:i, s:i, s:i, s:s}}", "changes", "add",
                                       (int)g.n_resources, "change", 0, "import", 0, "remove", 0,
                                       "operation", "plan"), "change_summary");
        if (out_path != NULL && json_dump_file(plan, out_path, JSON_COMPACT) != 0)
                die("Failed to write plan file %s: %s", out_path, strerror(errno));
        json_decref(plan);
        lie_if_asked("plan");
        return 0;
}

static json_t *load_plan(const char *path)
{
        json_error_t jerr;
        json_t *plan = json_load_file(path, 0, &jerr);

        if (!json_is_array(plan))
                die("Failed to read plan from plan file %s: %s", path, jerr.text);
        return plan;
}

static int cmd_show(const char *path)
{
        json_t *plan, *changes = json_array(), *item, *out;
        size_t i;

        step_modes("show");
        start_providers("show");
        plan = load_plan(path);
        json_array_foreach(plan, i, item) {
                const char *type = json_string_value(json_object_get(item, "type"));
                const char *name = json_string_value(json_object_get(item, "name"));
                char *addr = xasprintf("%s.%s", type, name);
                char *prov = xasprintf("registry.terraform.io/hashicorp/%.*s", (int)strcspn(type, "_"), type);

                json_array_append_new(changes, json_pack(
                        "{s:s, s:s, s:s, s:s, s:s, s:{s:[s], s:n, s:{s:O*}, s:{s:b}, s:b, s:{}}}",
                        "address", addr, "mode", "managed", "type", type, "name", name,
                        "provider_name", prov, "change", "actions", "create", "before", "after",
                        "bucket", json_object_get(item, "bucket"), "after_unknown", "id", 1,
                        "before_sensitive", 0, "after_sensitive"));
                free(addr);
                free(prov);
        }
        out = json_pack("{s:s, s:s, s:b, s:b, s:b, s:o}", "format_version", "1.2",
                        "terraform_version", VERSION, "applyable", 1, "complete", 1, "errored", 0,
                        "resource_changes", changes);
        json_dumpf(out, stdout, JSON_COMPACT);
        printf("\n");
        json_decref(out);
        json_decref(plan);
        lie_if_asked("show");
        return 0;
}

/* one HTTP/1.1 request to the emulator; returns the status code */
static int http_request(const char *method, const char *path)
{
        const char *url = getenv("AWS_ENDPOINT_URL");
        struct sockaddr_in sa = { .sin_family = AF_INET };
        char host[64], req[1024], resp[512];
        unsigned port;
        int fd, code = -1;
        ssize_t n;

        if (url == NULL || sscanf(url, "http://%63[0-9.]:%u", host, &port) != 2 || port > 65535)
                die("AWS_ENDPOINT_URL \"%s\" is not http://IPv4:PORT", url ? url : "");
        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
                die("AWS_ENDPOINT_URL host \"%s\" is not an IPv4 address", host);
        sa.sin_port = htons((uint16_t)port);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                die("creating S3 client: dial tcp %s:%u: %s", host, port, strerror(errno));
        snprintf(req, sizeof(req),
                 "%s %s HTTP/1.1\r\nHost: %s:%u\r\nContent-Length: 0\r\nConnection: close\r\n"
                 "User-Agent: tfgate-terraform-double\r\n\r\n", method, path, host, port);
        if (write_all(fd, req, strlen(req)) < 0)
                die("sending request to the emulator: %s", strerror(errno));
        n = read(fd, resp, sizeof(resp) - 1);
        if (n > 0) {
                resp[n] = '\0';
                sscanf(resp, "HTTP/1.%*d %d", &code);
        }
        close(fd);
        return code;
}

static int cmd_apply(const char *plan_path, bool destroy)
{
        json_t *plan, *item;
        size_t i;

        step_modes(destroy ? "destroy" : "apply");
        start_providers(destroy ? "destroy" : "apply");
        if (destroy) {
                plan = json_array();
                for (size_t k = 0; k < g.n_resources; k++)
                        json_array_append_new(plan, json_pack("{s:s, s:s, s:s?}", "type", g.resources[k].type,
                                                              "name", g.resources[k].name,
                                                              "bucket", g.resources[k].bucket));
        } else {
                plan = load_plan(plan_path);
        }
        json_array_foreach(plan, i, item) {
                const char *type = json_string_value(json_object_get(item, "type"));
                const char *bucket = json_string_value(json_object_get(item, "bucket"));
                char path[300];
                int code;

                if (type == NULL || strcmp(type, "aws_s3_bucket") != 0 || bucket == NULL)
                        continue;
                snprintf(path, sizeof(path), "/%s", bucket);
                code = http_request(destroy ? "DELETE" : "PUT", path);
                if (code < 200 || code >= 300)
                        die("%s bucket %s: the emulator answered HTTP %d", destroy ? "deleting" : "creating", bucket, code);
                printf("aws_s3_bucket.%s: %s complete [id=%s]\n",
                       json_string_value(json_object_get(item, "name")) ? json_string_value(json_object_get(item, "name")) : bucket,
                       destroy ? "Destruction" : "Creation", bucket);
        }
        json_decref(plan);
        printf("\n%s complete! Resources: %zu %s.\n", destroy ? "Destroy" : "Apply", i,
               destroy ? "destroyed" : "added, 0 changed, 0 destroyed");
        lie_if_asked(destroy ? "destroy" : "apply");
        return 0;
}

static const char *flag_value(int argc, char **argv, const char *prefix)
{
        size_t n = strlen(prefix);

        for (int i = 2; i < argc; i++)
                if (strncmp(argv[i], prefix, n) == 0)
                        return argv[i] + n;
        return NULL;
}

static const char *last_operand(int argc, char **argv)
{
        return argc > 2 && argv[argc - 1][0] != '-' ? argv[argc - 1] : NULL;
}

int main(int argc, char **argv)
{
        size_t len;
        const char *cmd = argc > 1 ? argv[1] : "";

        setvbuf(stdout, NULL, _IOLBF, 0);
        if (strcmp(cmd, "version") == 0) {
                printf("{\"terraform_version\":\"" VERSION "\",\"platform\":\"" PLATFORM "\","
                       "\"provider_selections\":{},\"terraform_outdated\":false}\n");
                return 0;
        }
        if (file_read_all(&g.modes, &len, ".tfdouble", 65536, NULL) < 0)
                g.modes = NULL;
        read_cli_config();
        read_lock_file();
        scan_resources();
        if (strcmp(cmd, "init") == 0) {
                step_modes("init");
                if (flag_value(argc, argv, "-lockfile=readonly") == NULL)
                        die("this double expects -lockfile=readonly from tfgate");
                printf("Initializing the backend...\nInitializing provider plugins...\n");
                for (size_t i = 0; i < g.n_providers; i++)
                        install_provider(&g.providers[i]);
                printf("\nTerraform has been successfully initialized!\n");
                lie_if_asked("init");
                return 0;
        }
        if (strcmp(cmd, "validate") == 0)
                return cmd_validate();
        if (strcmp(cmd, "plan") == 0)
                return cmd_plan(flag_value(argc, argv, "-out="));
        if (strcmp(cmd, "show") == 0) {
                if (last_operand(argc, argv) == NULL)
                        die("show: a plan file is required");
                return cmd_show(last_operand(argc, argv));
        }
        if (strcmp(cmd, "apply") == 0) {
                if (last_operand(argc, argv) == NULL)
                        die("apply: this double applies saved plans only");
                return cmd_apply(last_operand(argc, argv), false);
        }
        if (strcmp(cmd, "destroy") == 0)
                return cmd_apply(NULL, true);
        die("terraform double: unsupported command \"%s\"", cmd);
}
