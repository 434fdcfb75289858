/* test_config.c - the config loader: every bad config gives exactly the
 * expected "FILE:LINE: key.path: message" and no config; good configs give
 * the values and defaults; file permissions are enforced; the embedded
 * default loads; the dump loads back to the same config and redacts. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "runner/config/config.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

static char tmpdir[64];

static int setup(void **state)
{
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/tfgate-test-config-XXXXXX");
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
        return rm_rf(tmpdir, NULL);
}

/* a file under tmpdir with the given mode; returns its path */
static char *make_file(const char *name, const char *content, mode_t mode)
{
        char *p = xasprintf("%s/%s", tmpdir, name);
        struct err e = ERR_INIT;

        unlink(p);
        assert_int_equal(file_write_new(p, content, strlen(content), 0600, &e), 0);
        assert_int_equal(chmod(p, mode), 0);
        return p;
}

struct bad {
        const char *yaml;
        const char *want;        /* the first error, exactly */
};

/* Each entry is one mistake; the expected text is the whole first error. */
static const struct bad bad_cases[] = {
        { "sandbox:\n  memory: lots\n",
          "t.yaml:2: sandbox.memory: expected a size like 512MiB, got \"lots\"" },
        { "sandbox:\n  memory: 512\n",
          "t.yaml:2: sandbox.memory: size \"512\" has no unit (say B, KiB, MiB or GiB)" },
        { "sandbox:\n  memory: 1MiB\n",
          "t.yaml:2: sandbox.memory: must be at least 16MiB, got 1MiB" },
        { "concurency: 2\n",
          "t.yaml:1: concurency: unknown key (did you mean \"concurrency\"?)" },
        { "sandbox:\n  pids: 10\n  zzzzzzzz: 1\n",
          "t.yaml:3: sandbox.zzzzzzzz: unknown key" },
        { "concurrency: 2\nlog: {level: info}\nconcurrency: 3\n",
          "t.yaml:3: concurrency: duplicate key (first at line 1)" },
        { "concurrency: 0\n",
          "t.yaml:1: concurrency: must be between 1 and 1024, got 0" },
        { "concurrency: -1\n",
          "t.yaml:1: concurrency: expected a whole number, got \"-1\"" },
        { "concurrency: [1]\n",
          "t.yaml:1: concurrency: expected a whole number, got a list" },
        { "terraform:\n  - binary\n",
          "t.yaml:2: terraform: expected a mapping, got a list" },
        { "sandbox:\n  memory:\n    a: 1\n",
          "t.yaml:3: sandbox.memory: expected a size like 512MiB, got a mapping" },
        { "sandbox:\n  cpu: 1500ms\n",
          "t.yaml:2: sandbox.cpu: expected whole seconds, got \"1500ms\"" },
        { "terraform:\n  mode: deploy\n",
          "t.yaml:2: terraform.mode: expected validate, plan or apply, got \"deploy\"" },
        { "terraform:\n  roots: [\"envs/prod\", \"../other\"]\n",
          "t.yaml:2: terraform.roots[1]: a path must stay inside the repository (no \"..\"), got \"../other\"" },
        { "terraform:\n  roots: []\n",
          "t.yaml:2: terraform.roots: must not be empty" },
        { "terraform:\n  roots: [a, b, a]\n",
          "t.yaml:2: terraform.roots[2]: listed twice, got \"a\"" },
        { "terraform:\n  timeouts:\n    plan: 0s\n",
          "t.yaml:3: terraform.timeouts.plan: must be at least 1s, got 0s" },
        { "terraform:\n  timeouts:\n    plam: 5m\n",
          "t.yaml:3: terraform.timeouts.plam: unknown step (expected init, validate, plan, show, "
          "apply or destroy); did you mean \"plan\"?" },
        { "terraform:\n  variables: [region, 1bad]\n",
          "t.yaml:2: terraform.variables[1]: expected a name of letters, digits and '_' not starting "
          "with a digit, got \"1bad\"" },
        { "forges:\n  - type: gitlab\n    token_file: /dev/null\n",
          "t.yaml:2: forges[0].url: required for a gitlab forge" },
        { "forges:\n  - type: gitlab\n    url: https://gitlab.example.com\n",
          "t.yaml:2: forges[0].token_file: required for a gitlab forge" },
        { "forges:\n  - type: gitlab\n    url: http://gitlab.example.com\n    token_file: /dev/null\n",
          "t.yaml:3: forges[0].url: expected an https:// URL (http:// only for 127.0.0.0/8, ::1 and "
          "localhost), got \"http://gitlab.example.com\"" },
        { "forges:\n\n  - type: gitlab\n    url: http://gitlab.example.com\n",
          "t.yaml:3: forges[0].token_file: required for a gitlab forge" },
        { "forges:\n  - url: https://user:pw@gitlab.example.com\n    type: gitlab\n",
          "t.yaml:2: forges[0].url: a URL must not carry a user name or password: use token_file, "
          "got \"https://user:pw@gitlab.example.com\"" },
        { "forges:\n  - type: github\n    repositories: [a/b]\n",
          "t.yaml:2: forges[0]: needs app_id and private_key_file (a GitHub App), or token_file" },
        { "forges:\n  - type: github\n    repositories: []\n",
          "t.yaml:2: forges[0]: needs app_id and private_key_file (a GitHub App), or token_file" },
        { "forges:\n  - type: github\n    app_id: 0\n",
          "t.yaml:2: forges[0].private_key_file: required with app_id" },
        { "forges:\n  - type: github\n    app_id: x\n",
          "t.yaml:2: forges[0].private_key_file: required with app_id" },
        { "forges:\n  - type: gitlab\n    app_id: 7\n    url: https://g.example\n    token_file: /dev/null\n",
          "t.yaml:3: forges[0].app_id: only valid for a github forge" },
        { "forges:\n  - type: bitbucket\n",
          "t.yaml:2: forges[0].type: expected gitlab or github, got \"bitbucket\"" },
        { "forges:\n  - url: https://gitlab.example.com\n",
          "t.yaml:2: forges[0].type: required: gitlab or github" },
        { "forges:\n  type: gitlab\n",
          "t.yaml:2: forges: expected a list, got a mapping" },
        { "emulator:\n  port: 0\n",
          "t.yaml:2: emulator.port: must be between 1 and 65535, got 0" },
        { "emulator:\n  port: 70000\n",
          "t.yaml:2: emulator.port: must be between 1 and 65535, got 70000" },
        { "emulator: nope\n",
          "t.yaml:1: emulator: expected a mapping or the word none, got \"nope\"" },
        { "emulator:\n  env:\n    BAD-NAME: x\n",
          "t.yaml:3: emulator.env.BAD-NAME: expected an environment variable name (letters, digits, "
          "'_'), got \"BAD-NAME\"" },
        { "emulator:\n  health: health\n",
          "t.yaml:2: emulator.health: expected an HTTP path like /_localstack/health, or tcp, got \"health\"" },
        { "emulator:\n  command: []\n",
          "t.yaml:2: emulator.command: must not be empty" },
        { "providers:\n  allow:\n    - source: a/b/c/d\n",
          "t.yaml:3: providers.allow[0].source: expected NAMESPACE/TYPE or HOST/NAMESPACE/TYPE like "
          "hashicorp/aws, got \"a/b/c/d\"" },
        { "providers:\n  allow:\n    - source: hashicorp/aws\n    - source: Registry.Terraform.io/HashiCorp/AWS\n",
          "t.yaml:4: providers.allow[1].source: registry.terraform.io/hashicorp/aws is already allowed "
          "by providers.allow[0]; put all its versions in one entry" },
        { "providers:\n  allow:\n    - versions: \"~> 5.0\"\n",
          "t.yaml:3: providers.allow[0].source: required, like hashicorp/aws" },
        { "providers:\n  allow:\n    - source: hashicorp/aws\n      versions: five\n",
          "t.yaml:4: providers.allow[0].versions: expected version constraints like \"~> 5.0\" or "
          "\">= 1.2.0, < 2.0.0\", got \"five\"" },
        { "providers:\n  allow:\n    - source: hashicorp/aws\n      version: 5.0\n",
          "t.yaml:4: providers.allow[0].version: unknown key (did you mean \"versions\"?)" },
        { "providers:\n  policy:\n    data-htp: warn\n",
          "t.yaml:3: providers.policy.data-htp: unknown policy rule (did you mean \"data-http\"?)" },
        { "providers:\n  policy:\n    data-http: maybe\n",
          "t.yaml:3: providers.policy.data-http: expected error or warn, got \"maybe\"" },
        { "a: &x [1, 2]\n",
          "t.yaml:1: YAML anchors (&x) are not supported: write each value out in full" },
        { "concurrency: 2\nb: *x\n",
          "t.yaml:2: YAML aliases (*x) are not supported: write each value out in full" },
        { "concurrency: !!int 2\n",
          "t.yaml:1: YAML tags (tag:yaml.org,2002:int) are not supported" },
        { "concurrency: 2\n  log: x\n",
          "t.yaml:2: YAML syntax error: mapping values are not allowed in this context" },
        { "concurrency: 2\n---\nconcurrency: 3\n",
          "t.yaml:2: a second YAML document (---): a configuration is one document" },
        { "- concurrency: 2\n",
          "t.yaml:1: expected a mapping of keys at the top level, got a list" },
        { "http:\n  listen: \"127.0.0.1:99999\"\n",
          "t.yaml:2: http.listen: has a port that is not a number from 1 to 65535, got \"127.0.0.1:99999\"" },
        { "http:\n  listen: \"127.0.0.1\"\n",
          "t.yaml:2: http.listen: needs a port (HOST:PORT), got \"127.0.0.1\"" },
        { "http:\n  badges: true\n",
          "t.yaml:2: http.badges: needs http.listen" },
        { "http:\n  badges: yes\n",
          "t.yaml:2: http.badges: expected true or false, got \"yes\"" },
        { "http:\n  public_url: ftp://x\n",
          "t.yaml:2: http.public_url: expected an http:// or https:// URL, got \"ftp://x\"" },
        { "emulator: none\nterraform:\n  mode: apply\n",
          "t.yaml:3: terraform.mode: apply needs an emulator: with `emulator: none` terraform would "
          "apply to real infrastructure" },
        { "log:\n  format: xml\n",
          "t.yaml:2: log.format: expected text or json, got \"xml\"" },
        { "state_dir: ~/tfgate\n",
          "t.yaml:1: state_dir: ~ is not expanded: write the full path, got \"~/tfgate\"" },
        { "signing:\n  key_id: \"\"\n",
          "t.yaml:2: signing.key_id: must not be empty (leave the key out for the default)" },
        { "terraform:\n  binary: \"a\\0b\"\n",
          "t.yaml:2: a value contains a NUL character" },
        { "? [a, b]\n: 1\n",
          "t.yaml:1: a key must be a plain word, got a list" },
        { "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
          "t.yaml:1: nested more than 32 levels deep" },
        { "sandbox:\n  \"mem\\tory\": 1GiB\n",
          "t.yaml:2: sandbox.mem\\x09ory: unknown key (did you mean \"memory\"?)" },
        { "sandbox:\n  memory: \"lots\\x01\"\n",
          "t.yaml:2: sandbox.memory: expected a size like 512MiB, got \"lots\\x01\"" },
        { "forges:\n  - type: github\n    token_file: /nonexistent/tfgate/token\n    repositories: [a/b]\n",
          "t.yaml:3: forges[0].token_file: /nonexistent/tfgate/token: No such file or directory" },
        { "forges:\n  - type: github\n    token_file: /dev/null\n    repositories: [a/b]\n",
          "t.yaml:3: forges[0].token_file: /dev/null: not a regular file" },
        { "forges:\n  - type: gitlab\n    url: https://gitlab.example.com\n    ca_file: /nonexistent/ca.pem\n",
          "t.yaml:2: forges[0].token_file: required for a gitlab forge" },
        { "concurrency: 2\nx: \xff\n",
          "t.yaml:2: not valid UTF-8 text: invalid leading UTF-8 octet" },
};

static void bad_configs(void **state)
{
        for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
                const struct bad *b = &bad_cases[i];
                struct config *c = (struct config *)(uintptr_t)1;  /* must be reset */
                _cleanup_strv_free_ char **errors = NULL;
                struct err e = ERR_INIT;
                int r = config_load_string(&c, b->yaml, strlen(b->yaml), "t.yaml", &errors, &e);

                if (r == 0 || strcmp(e.msg, b->want) != 0)
                        fail_msg("case %zu:\n%s\nwant: %s\ngot:  %s (r=%d)", i, b->yaml, b->want,
                                 r == 0 ? "(loaded)" : e.msg, r);
                assert_null(c);
                assert_non_null(errors);
                assert_string_equal(errors[0], b->want);
        }
}

/* without an errors list the first error still comes back in err */
static void errors_list_optional(void **state)
{
        struct config *c = NULL;
        struct err e = ERR_INIT;
        const char *y = "concurrency: 0\n";

        assert_int_equal(config_load_string(&c, y, strlen(y), "x.yaml", NULL, &e), -EINVAL);
        assert_null(c);
        assert_string_equal(e.msg, "x.yaml:1: concurrency: must be between 1 and 1024, got 0");
        /* and a NULL err is allowed too */
        assert_int_equal(config_load_string(&c, y, strlen(y), "x.yaml", NULL, NULL), -EINVAL);
        assert_null(c);
}

/* every error is collected, in line order */
static void all_errors_collected(void **state)
{
        static const char y[] =
                "sandbox:\n"
                "  memory: lots\n"            /* 2 */
                "  pids: 0\n"                 /* 3 */
                "terraform:\n"
                "  mode: deploy\n"            /* 5 */
                "forges:\n"
                "  - type: gitlab\n"          /* 7: url and token_file missing */
                "    poll_interval: 1x\n"     /* 8 */
                "log: {level: loud, colour: red}\n";  /* 9: two errors */
        static const char *const want[] = {
                "t.yaml:2: sandbox.memory: expected a size like 512MiB, got \"lots\"",
                "t.yaml:3: sandbox.pids: must be between 4 and 4194304, got 0",
                "t.yaml:5: terraform.mode: expected validate, plan or apply, got \"deploy\"",
                "t.yaml:7: forges[0].url: required for a gitlab forge",
                "t.yaml:7: forges[0].token_file: required for a gitlab forge",
                "t.yaml:8: forges[0].poll_interval: expected a duration like 30s or 5m, got \"1x\"",
                "t.yaml:9: log.level: expected error, warn, info or debug, got \"loud\"",
                "t.yaml:9: log.colour: unknown key",
        };
        struct config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        struct err e = ERR_INIT;
        size_t n = 0;

        assert_true(config_load_string(&c, y, strlen(y), "t.yaml", &errors, &e) < 0);
        assert_null(c);
        for (; errors[n] != NULL; n++) {
                assert_true(n < sizeof(want) / sizeof(want[0]));
                assert_string_equal(errors[n], want[n]);
        }
        assert_int_equal(n, sizeof(want) / sizeof(want[0]));
        assert_string_equal(e.msg, want[0]);
}

/* a flood of mistakes is capped, not an unbounded list */
static void error_list_capped(void **state)
{
        _cleanup_free_ char *y = xmalloc(200 * 16);
        size_t o = 0, n = 0;
        struct config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;

        for (int i = 0; i < 200; i++)
                o += (size_t)snprintf(y + o, 200 * 16 - o, "bad%03d: 1\n", i);
        assert_true(config_load_string(&c, y, o, "t.yaml", &errors, NULL) < 0);
        while (errors[n] != NULL)
                n++;
        assert_int_equal(n, 65);
        assert_string_equal(errors[64], "t.yaml: more than 64 errors; stopping here");
}

static void too_large(void **state)
{
        size_t n = (1u << 20) + 1;
        _cleanup_free_ char *y = xmalloc(n);
        struct config *c = NULL;
        struct err e = ERR_INIT;

        memset(y, '#', n);
        assert_true(config_load_string(&c, y, n, "big.yaml", NULL, &e) < 0);
        assert_null(c);
        assert_string_equal(e.msg, "big.yaml: larger than 1 MiB (1048577 bytes); a configuration is at most 1 MiB");
}

/* a billion-laughs document is refused at the first anchor, quickly */
static void billion_laughs(void **state)
{
        static const char y[] =
                "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
                "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
        struct config *c = NULL;
        struct err e = ERR_INIT;

        assert_true(config_load_string(&c, y, strlen(y), "lol.yaml", NULL, &e) < 0);
        assert_null(c);
        assert_string_equal(e.msg, "lol.yaml:1: YAML anchors (&a) are not supported: write each value out in full");
}

static void empty_is_defaults(void **state)
{
        static const char *const empties[] = { "", "# only a comment\n", "~\n", "{}\n", "---\n" };

        for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
                _cleanup_(config_freep) struct config *c = NULL;
                struct err e = ERR_INIT;

                assert_int_equal(config_load_string(&c, empties[i], strlen(empties[i]), "e.yaml", NULL, &e), 0);
                assert_string_equal(c->source, "e.yaml");
                assert_int_equal(c->concurrency, 2);
                assert_int_equal(c->n_forges, 0);
                assert_string_equal(c->terraform.binary, "terraform");
                assert_int_equal(c->terraform.mode, TF_MODE_PLAN);
                assert_int_equal(c->terraform.n_roots, 1);
                assert_string_equal(c->terraform.roots[0], ".");
                assert_null(c->terraform.roots[1]);
                assert_int_equal(c->terraform.n_variables, 0);
                assert_null(c->terraform.variables[0]);
                assert_int_equal(c->terraform.timeout_ms[TF_STEP_INIT], 600000);
                assert_int_equal(c->terraform.timeout_ms[TF_STEP_PLAN], 1200000);
                assert_int_equal(c->terraform.timeout_ms[TF_STEP_DESTROY], 1800000);
                assert_null(c->providers.mirror);
                assert_int_equal(c->providers.n_allow, 0);
                for (int r = 0; r < RULE__COUNT; r++)
                        assert_int_equal(c->providers.policy[r],
                                         r == RULE_BACKEND_REMOTE ? POLICY_WARN : POLICY_ERROR);
                assert_true(c->emulator.enabled);
                assert_string_equal(c->emulator.command[0], "localstack");
                assert_int_equal(c->emulator.port, 4566);
                assert_string_equal(c->emulator.health, "/_localstack/health");
                assert_int_equal(c->emulator.ready_timeout_ms, 60000);
                assert_int_equal(c->sandbox.memory, 2ULL << 30);
                assert_int_equal(c->sandbox.pids, 512);
                assert_int_equal(c->sandbox.cpu_seconds, 600);
                assert_int_equal(c->sandbox.wall_timeout_ms, 1800000);
                assert_int_equal(c->sandbox.workspace_size, 1ULL << 30);
                assert_int_equal(c->sandbox.output_limit, 16ULL << 20);
                assert_null(c->signing.key_file);
                assert_null(c->audit_path);
                assert_null(c->http.listen);
                assert_false(c->http.badges);
                assert_int_equal(c->log_level, LOGL_INFO);
                assert_int_equal(c->log_format, LOGF_TEXT);
                assert_non_null(c->state_dir);
                assert_true(c->state_dir[0] == '/');
                assert_non_null(c->work_dir);
        }
}

static char *dump_to_string(const struct config *c)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        assert_non_null(f);
        assert_int_equal(config_dump(c, f), 0);
        fclose(f);
        return text;
}

/* the dump without its first line (which names the source) */
static const char *dump_body(const char *dump)
{
        const char *nl = strchr(dump, '\n');

        assert_non_null(nl);
        return nl + 1;
}

/* the embedded default loads, and is exactly the built-in defaults */
static void default_config(void **state)
{
        _cleanup_(config_freep) struct config *d = NULL;
        _cleanup_(config_freep) struct config *empty = NULL;
        _cleanup_free_ char *dd = NULL;
        _cleanup_free_ char *de = NULL;
        struct err e = ERR_INIT;

        assert_int_equal(config_load_default(&d, &e), 0);
        assert_string_equal(d->source, "<default>");
        assert_int_equal(d->terraform.mode, TF_MODE_PLAN);
        assert_string_equal(d->terraform.binary, "terraform");
        assert_int_equal(d->n_forges, 0);
        assert_true(d->emulator.enabled);
        assert_int_equal(d->emulator.n_command, 4);
        assert_string_equal(d->emulator.command[2], "--host");
        assert_int_equal(d->emulator.n_env, 5);
        assert_string_equal(d->emulator.env[0], "GATEWAY_LISTEN=127.0.0.1:4566");
        assert_int_equal(config_load_string(&empty, "", 0, "<default>", NULL, &e), 0);
        dd = dump_to_string(d);
        de = dump_to_string(empty);
        assert_string_equal(dd, de);
}

struct fixture {
        char *token, *key, *ca, *cert, *ckey, *sign;
};

static void make_fixture(struct fixture *fx)
{
        fx->token = make_file("token", "glrt-secret\n", 0600);
        fx->key = make_file("app.pem", "-----BEGIN PRIVATE KEY-----\n", 0400);
        fx->ca = make_file("ca.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
        fx->cert = make_file("client.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
        fx->ckey = make_file("client.key", "-----BEGIN PRIVATE KEY-----\n", 0600);
        fx->sign = make_file("signing.key", "ed25519\n", 0600);
}

static void free_fixture(struct fixture *fx)
{
        free(fx->token);
        free(fx->key);
        free(fx->ca);
        free(fx->cert);
        free(fx->ckey);
        free(fx->sign);
}

static char *full_yaml(const struct fixture *fx)
{
        return xasprintf(
                "concurrency: 4\n"
                "state_dir: /var/lib/tfgate-test\n"
                "work_dir: /srv/work\n"
                "forges:\n"
                "  - type: gitlab\n"
                "    url: https://gitlab.example.com/\n"
                "    token_file: %s\n"
                "    ca_file: %s\n"
                "    client_cert_file: %s\n"
                "    client_key_file: %s\n"
                "    poll_interval: 500ms\n"
                "    per_project_limit: 2\n"
                "    request_concurrency: 3\n"
                "  - type: github\n"
                "    name: gh-app\n"
                "    app_id: 12345\n"
                "    private_key_file: %s\n"
                "    repositories: [acme/infra, acme/net.work]\n"
                "    shard: {index: 1, count: 3}\n"
                "  - type: github\n"
                "    name: gh-token\n"
                "    api_url: http://127.0.0.1:8080/api/v3\n"
                "    clone_url: http://[::1]:8080\n"
                "    token_file: %s\n"
                "    repositories:\n"
                "      - acme/app\n"
                "terraform:\n"
                "  binary: /usr/local/bin/tofu\n"
                "  mode: apply\n"
                "  roots: [envs/prod, modules/x]\n"
                "  timeouts:\n"
                "    plan: 1h30m\n"
                "    init: 90s\n"
                "  variables: [region, TF_LOG_LEVEL]\n"
                "providers:\n"
                "  mirror: /srv/mirror\n"
                "  allow:\n"
                "    - source: HashiCorp/AWS\n"
                "      versions: \"~> 5.0, != 5.1.0\"\n"
                "    - source: example.com:8443/acme/thing\n"
                "  policy:\n"
                "    data-http: warn\n"
                "    backend-remote: error\n"
                "emulator:\n"
                "  command: [s3rver, --port, \"4568\"]\n"
                "  env:\n"
                "    AWS_SECRET_ACCESS_KEY: hunter2-value\n"
                "    MODE: test\n"
                "  health: tcp\n"
                "  port: 4568\n"
                "  ready_timeout: 2m\n"
                "sandbox:\n"
                "  memory: 512MiB\n"
                "  pids: 256\n"
                "  cpu: 2m\n"
                "  wall_timeout: 45m\n"
                "  workspace_size: 200MB\n"
                "  output_limit: 1MiB\n"
                "signing:\n"
                "  key_file: %s\n"
                "  key_id: tfgate-ci\n"
                "audit:\n"
                "  path: /var/log/tfgate/audit.jsonl\n"
                "http:\n"
                "  listen: \"[::1]:9090\"\n"
                "  badges: true\n"
                "  public_url: https://ci.example.com/tfgate/\n"
                "log:\n"
                "  level: debug\n"
                "  format: json\n",
                fx->token, fx->ca, fx->cert, fx->ckey, fx->key, fx->token, fx->sign);
}

static void full_config(void **state)
{
        struct fixture fx;
        _cleanup_free_ char *y = NULL;
        _cleanup_(config_freep) struct config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        struct err e = ERR_INIT;
        const struct cfg_forge *gl, *app, *tok;

        make_fixture(&fx);
        y = full_yaml(&fx);
        if (config_load_string(&c, y, strlen(y), "full.yaml", &errors, &e) != 0)
                fail_msg("%s", e.msg);
        assert_null(errors);
        assert_int_equal(c->concurrency, 4);
        assert_string_equal(c->state_dir, "/var/lib/tfgate-test");
        assert_string_equal(c->work_dir, "/srv/work");
        assert_int_equal(c->n_forges, 3);
        gl = &c->forges[0];
        assert_int_equal(gl->type, FORGE_GITLAB);
        assert_string_equal(gl->name, "gitlab");
        assert_string_equal(gl->url, "https://gitlab.example.com");
        assert_string_equal(gl->token_file, fx.token);
        assert_string_equal(gl->tls.ca_file, fx.ca);
        assert_string_equal(gl->tls.client_cert_file, fx.cert);
        assert_string_equal(gl->tls.client_key_file, fx.ckey);
        assert_int_equal(gl->poll_interval_ms, 500);
        assert_int_equal(gl->per_project_limit, 2);
        assert_int_equal(gl->request_concurrency, 3);
        assert_null(gl->api_url);
        app = &c->forges[1];
        assert_int_equal(app->type, FORGE_GITHUB);
        assert_string_equal(app->name, "gh-app");
        assert_int_equal(app->app_id, 12345);
        assert_string_equal(app->private_key_file, fx.key);
        assert_null(app->token_file);
        assert_string_equal(app->api_url, "https://api.github.com");
        assert_string_equal(app->clone_url, "https://github.com");
        assert_int_equal(app->n_repositories, 2);
        assert_string_equal(app->repositories[1], "acme/net.work");
        assert_null(app->repositories[2]);
        assert_int_equal(app->shard_index, 1);
        assert_int_equal(app->shard_count, 3);
        assert_int_equal(app->poll_interval_ms, 3000);
        assert_int_equal(app->per_project_limit, 1);
        tok = &c->forges[2];
        assert_int_equal(tok->app_id, 0);
        assert_string_equal(tok->api_url, "http://127.0.0.1:8080/api/v3");
        assert_string_equal(tok->clone_url, "http://[::1]:8080");
        assert_int_equal(tok->shard_count, 0);
        assert_string_equal(c->terraform.binary, "/usr/local/bin/tofu");
        assert_int_equal(c->terraform.mode, TF_MODE_APPLY);
        assert_int_equal(c->terraform.n_roots, 2);
        assert_string_equal(c->terraform.roots[1], "modules/x");
        assert_int_equal(c->terraform.timeout_ms[TF_STEP_PLAN], 5400000);
        assert_int_equal(c->terraform.timeout_ms[TF_STEP_INIT], 90000);
        assert_int_equal(c->terraform.timeout_ms[TF_STEP_SHOW], 300000);
        assert_int_equal(c->terraform.n_variables, 2);
        assert_string_equal(c->terraform.variables[1], "TF_LOG_LEVEL");
        assert_string_equal(c->providers.mirror, "/srv/mirror");
        assert_int_equal(c->providers.n_allow, 2);
        assert_string_equal(c->providers.allow[0].source, "registry.terraform.io/hashicorp/aws");
        assert_string_equal(c->providers.allow[0].versions, "~> 5.0, != 5.1.0");
        assert_string_equal(c->providers.allow[1].source, "example.com:8443/acme/thing");
        assert_null(c->providers.allow[1].versions);
        assert_int_equal(c->providers.policy[RULE_DATA_HTTP], POLICY_WARN);
        assert_int_equal(c->providers.policy[RULE_BACKEND_REMOTE], POLICY_ERROR);
        assert_int_equal(c->providers.policy[RULE_DATA_EXTERNAL], POLICY_ERROR);
        assert_true(c->emulator.enabled);
        assert_int_equal(c->emulator.n_command, 3);
        assert_string_equal(c->emulator.command[2], "4568");
        assert_null(c->emulator.command[3]);
        assert_int_equal(c->emulator.n_env, 2);
        assert_string_equal(c->emulator.env[0], "AWS_SECRET_ACCESS_KEY=hunter2-value");
        assert_string_equal(c->emulator.env[1], "MODE=test");
        assert_null(c->emulator.env[2]);
        assert_string_equal(c->emulator.health, "tcp");
        assert_int_equal(c->emulator.port, 4568);
        assert_int_equal(c->emulator.ready_timeout_ms, 120000);
        assert_int_equal(c->sandbox.memory, 512ULL << 20);
        assert_int_equal(c->sandbox.pids, 256);
        assert_int_equal(c->sandbox.cpu_seconds, 120);
        assert_int_equal(c->sandbox.wall_timeout_ms, 2700000);
        assert_int_equal(c->sandbox.workspace_size, 200000000ULL);
        assert_int_equal(c->sandbox.output_limit, 1ULL << 20);
        assert_string_equal(c->signing.key_file, fx.sign);
        assert_string_equal(c->signing.key_id, "tfgate-ci");
        assert_string_equal(c->audit_path, "/var/log/tfgate/audit.jsonl");
        assert_string_equal(c->http.listen, "[::1]:9090");
        assert_true(c->http.badges);
        assert_string_equal(c->http.public_url, "https://ci.example.com/tfgate");
        assert_int_equal(c->log_level, LOGL_DEBUG);
        assert_int_equal(c->log_format, LOGF_JSON);
        free_fixture(&fx);
}

/* the dump is a config that loads back to the same thing, and never shows
 * a secret-looking environment value */
static void dump_round_trip(void **state)
{
        struct fixture fx;
        _cleanup_free_ char *y = NULL;
        _cleanup_free_ char *d1 = NULL;
        _cleanup_free_ char *d2 = NULL;
        _cleanup_(config_freep) struct config *c = NULL;
        _cleanup_(config_freep) struct config *again = NULL;
        struct err e = ERR_INIT;

        make_fixture(&fx);
        y = full_yaml(&fx);
        assert_int_equal(config_load_string(&c, y, strlen(y), "full.yaml", NULL, &e), 0);
        d1 = dump_to_string(c);
        assert_null(strstr(d1, "hunter2"));
        assert_non_null(strstr(d1, "AWS_SECRET_ACCESS_KEY: \"<redacted>\""));
        assert_non_null(strstr(d1, "MODE: \"test\""));
        if (config_load_string(&again, d1, strlen(d1), "dump.yaml", NULL, &e) != 0)
                fail_msg("the dump does not load: %s\n%s", e.msg, d1);
        d2 = dump_to_string(again);
        assert_string_equal(dump_body(d1), dump_body(d2));
        free_fixture(&fx);
}

static void emulator_none(void **state)
{
        _cleanup_(config_freep) struct config *c = NULL;
        _cleanup_free_ char *d = NULL;
        const char *y = "emulator: none\nterraform: {mode: validate}\n";

        assert_int_equal(config_load_string(&c, y, strlen(y), "t.yaml", NULL, NULL), 0);
        assert_false(c->emulator.enabled);
        assert_null(c->emulator.command);
        assert_null(c->emulator.env);
        assert_int_equal(c->terraform.mode, TF_MODE_VALIDATE);
        d = dump_to_string(c);
        assert_non_null(strstr(d, "\nemulator: none\n"));
}

/* a key with no value keeps its default */
static void null_means_default(void **state)
{
        _cleanup_(config_freep) struct config *c = NULL;
        const char *y = "concurrency:\nsandbox:\n  memory: ~\n  pids: null\nterraform:\n";

        assert_int_equal(config_load_string(&c, y, strlen(y), "t.yaml", NULL, NULL), 0);
        assert_int_equal(c->concurrency, 2);
        assert_int_equal(c->sandbox.memory, 2ULL << 30);
        assert_int_equal(c->sandbox.pids, 512);
}

/* secret-bearing files readable by others are refused, naming key and file */
static void secret_file_permissions(void **state)
{
        _cleanup_free_ char *ok = make_file("ok.key", "x", 0600);
        _cleanup_free_ char *bad = make_file("open.key", "x", 0640);
        char *yaml[4];
        static const char *const keys[4] = {
                "forges[0].token_file", "forges[0].private_key_file",
                "forges[0].client_key_file", "signing.key_file",
        };
        static const int lines[4] = { 4, 4, 5, 2 };

        yaml[0] = xasprintf("forges:\n  - type: gitlab\n    url: https://g.example\n    token_file: %s\n", bad);
        yaml[1] = xasprintf("forges:\n  - type: github\n    app_id: 1\n    private_key_file: %s\n"
                            "    repositories: [a/b]\n", bad);
        yaml[2] = xasprintf("forges:\n  - type: github\n    token_file: %s\n    client_cert_file: %s\n"
                            "    client_key_file: %s\n    repositories: [a/b]\n", ok, ok, bad);
        yaml[3] = xasprintf("signing:\n  key_file: %s\n", bad);
        for (size_t i = 0; i < 4; i++) {
                _cleanup_free_ char *want = NULL;
                struct config *c = NULL;
                struct err e = ERR_INIT;

                want = xasprintf("t.yaml:%d: %s: %s: mode 0640 lets group or others access a secret; chmod 600 it",
                                 lines[i], keys[i], bad);
                assert_true(config_load_string(&c, yaml[i], strlen(yaml[i]), "t.yaml", NULL, &e) < 0);
                assert_null(c);
                assert_string_equal(e.msg, want);
                free(yaml[i]);
        }
}

/* a FIFO named as a secret is refused without blocking on open */
static void secret_fifo(void **state)
{
        _cleanup_free_ char *fifo = xasprintf("%s/fifo", tmpdir);
        _cleanup_free_ char *y = NULL;
        _cleanup_free_ char *want = NULL;
        struct config *c = NULL;
        struct err e = ERR_INIT;

        assert_int_equal(mkfifo(fifo, 0600), 0);
        y = xasprintf("signing:\n  key_file: %s\n", fifo);
        want = xasprintf("t.yaml:2: signing.key_file: %s: not a regular file", fifo);
        assert_true(config_load_string(&c, y, strlen(y), "t.yaml", NULL, &e) < 0);
        assert_string_equal(e.msg, want);
        unlink(fifo);
}

/* the config file itself must not be writable by group or others (TB2-T) */
static void config_file_permissions(void **state)
{
        _cleanup_free_ char *p = make_file("cfg.yaml", "concurrency: 3\n", 0664);
        _cleanup_free_ char *want = NULL;
        struct config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        struct err e = ERR_INIT;

        want = xasprintf("%s: mode 0664 lets group or others change the configuration; chmod go-w it", p);
        assert_true(config_load_file(&c, p, &errors, &e) < 0);
        assert_null(c);
        assert_string_equal(e.msg, want);
        assert_string_equal(errors[0], want);
        assert_null(errors[1]);
        assert_int_equal(chmod(p, 0646), 0);
        assert_true(config_load_file(&c, p, NULL, &e) < 0);
        assert_non_null(strstr(e.msg, "mode 0646"));
        /* readable by all is fine: the config holds no secrets */
        assert_int_equal(chmod(p, 0644), 0);
        assert_int_equal(config_load_file(&c, p, NULL, &e), 0);
        assert_int_equal(c->concurrency, 3);
        assert_string_equal(c->source, p);
        config_free(c);
}

static void config_file_errors(void **state)
{
        _cleanup_free_ char *missing = xasprintf("%s/nope.yaml", tmpdir);
        _cleanup_free_ char *want = NULL;
        _cleanup_free_ char *big = xasprintf("%s/big.yaml", tmpdir);
        _cleanup_free_ char *bigdata = xmalloc((1u << 20) + 10);
        struct config *c = NULL;
        struct err e = ERR_INIT;

        want = xasprintf("%s: No such file or directory", missing);
        assert_true(config_load_file(&c, missing, NULL, &e) < 0);
        assert_string_equal(e.msg, want);
        free(want);
        want = xasprintf("%s: not a regular file", tmpdir);
        assert_true(config_load_file(&c, tmpdir, NULL, &e) < 0);
        assert_string_equal(e.msg, want);
        memset(bigdata, '#', (1u << 20) + 10);
        assert_int_equal(file_write_new(big, bigdata, (1u << 20) + 10, 0600, &e), 0);
        free(want);
        want = xasprintf("%s: larger than 1 MiB; a configuration is at most 1 MiB", big);
        assert_true(config_load_file(&c, big, NULL, &e) < 0);
        assert_string_equal(e.msg, want);
        assert_null(c);
}

/* relative paths in a file resolve against the file's directory */
static void relative_paths(void **state)
{
        _cleanup_free_ char *tok = make_file("tok", "t", 0600);
        _cleanup_free_ char *p = make_file("rel.yaml",
                "state_dir: state\n"
                "terraform: {binary: bin/terraform}\n"
                "emulator: {command: [./emu, --x]}\n"
                "forges:\n  - {type: gitlab, url: \"https://localhost\", token_file: tok}\n", 0600);
        _cleanup_free_ char *want = NULL;
        struct config *c = NULL;
        struct err e = ERR_INIT;

        if (config_load_file(&c, p, NULL, &e) != 0)
                fail_msg("%s", e.msg);
        want = xasprintf("%s/state", tmpdir);
        assert_string_equal(c->state_dir, want);
        free(want);
        want = xasprintf("%s/bin/terraform", tmpdir);
        assert_string_equal(c->terraform.binary, want);
        free(want);
        want = xasprintf("%s/./emu", tmpdir);
        assert_string_equal(c->emulator.command[0], want);
        assert_string_equal(c->emulator.command[1], "--x");
        assert_string_equal(c->forges[0].token_file, tok);
        config_free(c);
}

static void names(void **state)
{
        enum policy_rule r;
        enum tf_mode m;

        for (int i = 0; i < RULE__COUNT; i++) {
                assert_int_equal(policy_rule_parse(policy_rule_name((enum policy_rule)i), &r), 0);
                assert_int_equal(r, i);
        }
        assert_string_equal(policy_rule_name(RULE_PROVISIONER_LOCAL_EXEC), "provisioner-local-exec");
        assert_true(policy_rule_parse("nope", &r) < 0);
        assert_string_equal(tf_step_name(TF_STEP_SHOW), "show");
        assert_string_equal(tf_mode_name(TF_MODE_APPLY), "apply");
        assert_int_equal(tf_mode_parse("validate", &m), 0);
        assert_int_equal(m, TF_MODE_VALIDATE);
        assert_true(tf_mode_parse("Plan", &m) < 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(bad_configs),
                cmocka_unit_test(errors_list_optional),
                cmocka_unit_test(all_errors_collected),
                cmocka_unit_test(error_list_capped),
                cmocka_unit_test(too_large),
                cmocka_unit_test(billion_laughs),
                cmocka_unit_test(empty_is_defaults),
                cmocka_unit_test(default_config),
                cmocka_unit_test(full_config),
                cmocka_unit_test(dump_round_trip),
                cmocka_unit_test(emulator_none),
                cmocka_unit_test(null_means_default),
                cmocka_unit_test(secret_file_permissions),
                cmocka_unit_test(secret_fifo),
                cmocka_unit_test(config_file_permissions),
                cmocka_unit_test(config_file_errors),
                cmocka_unit_test(relative_paths),
                cmocka_unit_test(names),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
