/* test_override.c - the emulator override file of a root module: one aws
 * block per aws provider configuration of the root (default and aliases),
 * aliases found with the HCL reader in the root's own files, hostile
 * aliases refused with their position and never written. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "runner/pipeline/override.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

static char T[64];
static unsigned repo_counter;

static const char aws_required[] =
        "terraform {\n"
        "  required_providers {\n"
        "    aws = { source = \"hashicorp/aws\", version = \"~> 5.0\" }\n"
        "  }\n"
        "}\n";

static int setup(void **state)
{
        snprintf(T, sizeof(T), "/tmp/tfgate-test-override-XXXXXX");
        return mkdtemp(T) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
        struct err err = ERR_INIT;

        if (T[0] != '\0' && rm_rf(T, &err) < 0)
                fprintf(stderr, "teardown: %s\n", err.msg);
        return 0;
}

static char *new_repo(void)
{
        char *repo = xasprintf("%s/repo-%u", T, repo_counter++);

        if (mkdir(repo, 0700) < 0)
                fail_msg("mkdir %s", repo);
        return repo;
}

/* write repo/name (creating its directory) */
static void put(const char *repo, const char *name, const char *content)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", repo, name);
        char *slash = strrchr(p, '/');
        struct err err = ERR_INIT;

        *slash = '\0';
        if (mkdir_p(p, 0755, &err) < 0)
                fail_msg("%s", err.msg);
        *slash = '/';
        if (file_write_atomic(p, content, strlen(content), 0644, &err) < 0)
                fail_msg("%s", err.msg);
}

static size_t count(const char *s, const char *needle)
{
        size_t n = 0;

        for (const char *p = strstr(s, needle); p != NULL; p = strstr(p + 1, needle))
                n++;
        return n;
}

static size_t strv_len(char **v)
{
        size_t n = 0;

        while (v[n] != NULL)
                n++;
        return n;
}

/* the override file for repo/root with aws required and an emulator */
static int build(struct buf *b, const char *repo, const char *root, struct err *err)
{
        const struct tfenv_override o = { .aws = true, .emulator_port = 4566 };

        buf_reset(b);
        return override_root_file(b, repo, root, &o, err);
}

static void no_alias(void **state)
{
        _cleanup_free_ char *repo = new_repo();
        _cleanup_strv_free_ char **aliases = NULL;
        _cleanup_(buf_freep) struct buf b = BUF_INIT(1 << 20);
        struct err err = ERR_INIT;

        put(repo, "main.tf", aws_required);
        put(repo, "provider.tf", "provider \"aws\" {\n  region = \"eu-west-1\"\n}\n");
        assert_int_equal(override_aws_aliases(&aliases, repo, ".", &err), 0);
        assert_int_equal(strv_len(aliases), 0);
        assert_int_equal(build(&b, repo, ".", &err), 0);
        assert_int_equal(count(buf_str(&b), "provider \"aws\" {"), 1);
        assert_int_equal(count(buf_str(&b), "alias"), 0);
        assert_non_null(strstr(buf_str(&b), "s3             = \"http://127.0.0.1:4566\""));
}

static void one_alias(void **state)
{
        _cleanup_free_ char *repo = new_repo();
        _cleanup_strv_free_ char **aliases = NULL;
        _cleanup_(buf_freep) struct buf b = BUF_INIT(1 << 20);
        struct err err = ERR_INIT;
        const char *west;

        put(repo, "main.tf", aws_required);
        put(repo, "provider.tf", "provider \"aws\" {}\n"
                                 "provider \"aws\" {\n  alias  = \"west\"\n  region = \"us-west-2\"\n}\n");
        assert_int_equal(override_aws_aliases(&aliases, repo, ".", &err), 0);
        assert_int_equal(strv_len(aliases), 1);
        assert_string_equal(aliases[0], "west");
        assert_int_equal(build(&b, repo, ".", &err), 0);
        assert_int_equal(count(buf_str(&b), "provider \"aws\" {"), 2);
        /* the aliased block is a whole emulator block of its own */
        west = strstr(buf_str(&b), "  alias                       = \"west\"\n");
        assert_non_null(west);
        assert_non_null(strstr(west, "access_key                  = \"test\""));
        assert_non_null(strstr(west, "sts            = \"http://127.0.0.1:4566\""));
}

/* aliases over several files, native and JSON syntax, in file-name order */
static void several_aliases(void **state)
{
        _cleanup_free_ char *repo = new_repo();
        _cleanup_strv_free_ char **aliases = NULL;
        _cleanup_(buf_freep) struct buf b = BUF_INIT(1 << 20);
        struct err err = ERR_INIT;
        static const char *const want[] = { "east", "eu", "ap_south-1", "west", "_x" };

        put(repo, "main.tf", aws_required);
        put(repo, "a.tf", "provider \"aws\" {\n  alias = \"east\"\n}\n");
        put(repo, "b.tf.json", "{\"provider\": {\"aws\": [{\"alias\": \"eu\", \"region\": \"eu-west-1\"},"
                               " {\"alias\": \"ap_south-1\"}]}}\n");
        put(repo, "c.tf", "provider \"aws\" {\n  alias = \"west\"\n}\n"
                          "provider \"google\" {\n  alias = \"gcp\"\n}\n"
                          "provider \"aws\" {\n  alias = \"_x\"\n}\n");
        assert_int_equal(override_aws_aliases(&aliases, repo, ".", &err), 0);
        assert_int_equal(strv_len(aliases), ARRAY_SIZE(want));
        for (size_t i = 0; i < ARRAY_SIZE(want); i++)
                assert_string_equal(aliases[i], want[i]);
        assert_int_equal(build(&b, repo, ".", &err), 0);
        assert_int_equal(count(buf_str(&b), "provider \"aws\" {"), 1 + ARRAY_SIZE(want));
        for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
                _cleanup_free_ char *line = xasprintf("alias                       = \"%s\"\n", want[i]);

                assert_int_equal(count(buf_str(&b), line), 1);
        }
        assert_null(strstr(buf_str(&b), "gcp"));
}

/* Hostile alias values: each refuses the root with FILE:LINE:COL, the
 * message shows the value escaped (no raw quote, backslash or control
 * byte), and nothing is written. */
static void hostile_aliases(void **state)
{
        static const struct {
                const char *hcl;        /* the alias attribute's expression */
                const char *msg;
        } cases[] = {
                { "\"x\\\"\\n}\\nprovider \\\"evil\\\" {\\n  x = \\\"\"", "not a Terraform identifier" },
                { "\"west\\\"\"", "not a Terraform identifier" },
                { "\"we st\"", "not a Terraform identifier" },
                { "\"we.st\"", "not a Terraform identifier" },
                { "\"1west\"", "not a Terraform identifier" },
                { "\"-west\"", "not a Terraform identifier" },
                { "\"\"", "not a Terraform identifier" },
                { "\"we\\u0000st\"", "not a Terraform identifier" },
                { "\"w\\u00ebst\"", "not a Terraform identifier" },
                { "\"west\\r\"", "not a Terraform identifier" },
                /* 65 bytes: one over TFENV_ALIAS_MAX */
                { "\"a1234567890123456789012345678901234567890123456789012345678901234\"",
                  "not a Terraform identifier" },
                { "<<EOT\nwest\nEOT", "not a Terraform identifier" },
                { "var.alias", "not a literal string" },
                { "\"${var.alias}\"", "not a literal string" },
                { "null", "not a literal string" },
                { "[\"west\"]", "not a literal string" },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_free_ char *repo = new_repo();
                _cleanup_free_ char *tf = xasprintf("provider \"aws\" {}\n\nprovider \"aws\" {\n"
                                                    "  alias = %s\n}\n", cases[i].hcl);
                _cleanup_strv_free_ char **aliases = NULL;
                _cleanup_(buf_freep) struct buf b = BUF_INIT(1 << 20);
                struct err err = ERR_INIT;

                put(repo, "main.tf", aws_required);
                put(repo, "providers.tf", tf);
                if (override_aws_aliases(&aliases, repo, ".", &err) != -EBADMSG)
                        fail_msg("case %zu (%s) accepted: \"%s\"", i, cases[i].hcl,
                                 aliases && aliases[0] ? aliases[0] : err.msg);
                assert_null(aliases);
                if (strstr(err.msg, cases[i].msg) == NULL || strncmp(err.msg, "providers.tf:4:11: ", 19) != 0)
                        fail_msg("case %zu: message \"%s\"", i, err.msg);
                for (const char *p = err.msg; *p != '\0'; p++)
                        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                                fail_msg("case %zu: raw byte 0x%02x in the message", i, (unsigned char)*p);
                assert_null(strstr(err.msg, "\"evil\""));
                assert_int_equal(build(&b, repo, ".", &err), -EBADMSG);
                assert_int_equal(b.len, 0);
        }
}

/* the writer's own guard, for a caller that skips the scan */
static void writer_refuses_bad_alias(void **state)
{
        static const char *const bad[] = { "west", "x\"\n}\nprovider \"evil\" {", NULL };
        _cleanup_(buf_freep) struct buf b = BUF_INIT(1 << 20);
        struct err err = ERR_INIT;
        const struct tfenv_override o = { .aws = true, .aws_aliases = bad, .emulator_port = 4566 };

        assert_int_equal(tfenv_override_file(&b, &o, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "provider alias 2 is not an identifier"));
        assert_null(strstr(err.msg, "evil"));
        assert_true(tfenv_alias_valid("a-b_c9"));
        assert_true(tfenv_alias_valid("a123456789012345678901234567890123456789012345678901234567890123"));
        assert_false(tfenv_alias_valid("a\nb"));
}

/* the same alias twice (and the default block twice) gives one block each */
static void duplicated_aliases(void **state)
{
        _cleanup_free_ char *repo = new_repo();
        _cleanup_strv_free_ char **aliases = NULL;
        _cleanup_(buf_freep) struct buf b = BUF_INIT(1 << 20);
        struct err err = ERR_INIT;

        put(repo, "main.tf", aws_required);
        put(repo, "a.tf", "provider \"aws\" {}\nprovider \"aws\" {\n  alias = \"west\"\n}\n");
        put(repo, "b.tf", "provider \"aws\" {}\nprovider \"aws\" {\n  alias = \"west\"\n}\n");
        assert_int_equal(override_aws_aliases(&aliases, repo, ".", &err), 0);
        assert_int_equal(strv_len(aliases), 1);
        assert_int_equal(build(&b, repo, ".", &err), 0);
        assert_int_equal(count(buf_str(&b), "provider \"aws\" {"), 2);
        assert_int_equal(count(buf_str(&b), "alias                       = \"west\""), 1);
}

/* Aliases of a called module, of another root, of override and hidden
 * files are not the root's: Terraform would refuse an override for them
 * ("Missing base provider configuration for override").  A hostile alias
 * there does not refuse the root either: it is never written. */
static void other_modules_are_not_the_root(void **state)
{
        _cleanup_free_ char *repo = new_repo();
        _cleanup_strv_free_ char **aliases = NULL, **prod = NULL;
        _cleanup_(buf_freep) struct buf b = BUF_INIT(1 << 20);
        struct err err = ERR_INIT;

        put(repo, "main.tf", "module \"net\" {\n  source = \"./modules/net\"\n}\n"
                             "provider \"aws\" {\n  alias = \"root\"\n}\n");
        put(repo, "modules/net/main.tf", "provider \"aws\" {\n  alias = \"nested\"\n}\n"
                                         "provider \"aws\" {\n  alias = \"bad alias\"\n}\n");
        put(repo, "envs/prod/main.tf", "provider \"aws\" {\n  alias = \"prod\"\n}\n");
        put(repo, "x_override.tf", "provider \"aws\" {\n  alias = \"ov\"\n}\n");
        put(repo, "override.tf.json", "{\"provider\": {\"aws\": [{\"alias\": \"ov2\"}]}}\n");
        put(repo, ".hidden.tf", "provider \"aws\" {\n  alias = \"hidden\"\n}\n");
        put(repo, "notes.txt", "provider \"aws\" {\n  alias = \"txt\"\n}\n");
        assert_int_equal(override_aws_aliases(&aliases, repo, ".", &err), 0);
        assert_int_equal(strv_len(aliases), 1);
        assert_string_equal(aliases[0], "root");
        assert_int_equal(build(&b, repo, ".", &err), 0);
        assert_null(strstr(buf_str(&b), "nested"));
        assert_null(strstr(buf_str(&b), "prod"));
        /* the other root has its own */
        assert_int_equal(override_aws_aliases(&prod, repo, "envs/prod", &err), 0);
        assert_int_equal(strv_len(prod), 1);
        assert_string_equal(prod[0], "prod");
        /* a refusal in a sub-root names the file from the repository */
        put(repo, "envs/prod/bad.tf", "provider \"aws\" {\n  alias = \"a b\"\n}\n");
        strv_free(TAKE_PTR(aliases));
        assert_int_equal(override_aws_aliases(&aliases, repo, "envs/prod", &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "envs/prod/bad.tf:2:11: "));
}

/* a symlinked file inside the repository is read; one leading out of it
 * refuses the root, as does a root directory that leads out */
static void symlinks(void **state)
{
        _cleanup_free_ char *repo = new_repo(), *outside = new_repo();
        _cleanup_free_ char *link = NULL, *target = NULL;
        _cleanup_strv_free_ char **aliases = NULL;
        struct err err = ERR_INIT;

        put(repo, "shared/aws.tf.src", "provider \"aws\" {\n  alias = \"linked\"\n}\n");
        link = xasprintf("%s/aws.tf", repo);
        assert_int_equal(symlink("shared/aws.tf.src", link), 0);
        assert_int_equal(override_aws_aliases(&aliases, repo, ".", &err), 0);
        assert_int_equal(strv_len(aliases), 1);
        assert_string_equal(aliases[0], "linked");

        put(outside, "evil.tf", "provider \"aws\" {\n  alias = \"outside\"\n}\n");
        free(link);
        link = xasprintf("%s/evil.tf", repo);
        target = xasprintf("%s/evil.tf", outside);
        assert_int_equal(symlink(target, link), 0);
        strv_free(aliases);
        assert_int_equal(override_aws_aliases(&aliases, repo, ".", &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "evil.tf:1:1: symlink resolves outside the repository"));
        assert_int_equal(unlink(link), 0);

        free(link);
        link = xasprintf("%s/out", repo);
        assert_int_equal(symlink(outside, link), 0);
        assert_int_equal(override_aws_aliases(&aliases, repo, "out", &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "outside the repository"));
}

/* without aws blocks (aws not required, or no emulator) aliases are not
 * looked for: a bad one is never written, so it refuses nothing */
static void no_scan_without_aws_blocks(void **state)
{
        _cleanup_free_ char *repo = new_repo();
        _cleanup_(buf_freep) struct buf b = BUF_INIT(1 << 20);
        struct err err = ERR_INIT;
        struct tfenv_override o = { .aws = false, .backend = true, .emulator_port = 4566 };

        put(repo, "main.tf", "provider \"aws\" {\n  alias = \"a b\"\n}\nterraform {\n"
                             "  backend \"s3\" {}\n}\n");
        assert_int_equal(override_root_file(&b, repo, ".", &o, &err), 0);
        assert_null(strstr(buf_str(&b), "provider"));
        assert_non_null(strstr(buf_str(&b), "backend \"local\""));
        buf_reset(&b);
        o.aws = true;
        o.emulator_port = 0;
        assert_int_equal(override_root_file(&b, repo, ".", &o, &err), 0);
        assert_null(strstr(buf_str(&b), "provider"));
        o.emulator_port = 4566;
        assert_int_equal(override_root_file(&b, repo, ".", &o, &err), -EBADMSG);
}

/* a syntax error is the repository's fault (-EBADMSG), with its position */
static void syntax_error(void **state)
{
        _cleanup_free_ char *repo = new_repo();
        _cleanup_strv_free_ char **aliases = NULL;
        struct err err = ERR_INIT;

        put(repo, "main.tf", "provider \"aws\" {\n  alias = \"west\n}\n");
        assert_int_equal(override_aws_aliases(&aliases, repo, ".", &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "main.tf:2:"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(no_alias),
                cmocka_unit_test(one_alias),
                cmocka_unit_test(several_aliases),
                cmocka_unit_test(hostile_aliases),
                cmocka_unit_test(writer_refuses_bad_alias),
                cmocka_unit_test(duplicated_aliases),
                cmocka_unit_test(other_modules_are_not_the_root),
                cmocka_unit_test(symlinks),
                cmocka_unit_test(no_scan_without_aws_blocks),
                cmocka_unit_test(syntax_error),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
