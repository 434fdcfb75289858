/* test_tfconfig.c - configuration facts from the fixture repositories in
 * tests/fixtures/tf: providers (merged, normalised), constructs with
 * file:line, local modules followed inside the repository only. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runner/gate/tfconfig.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

static char *fixture(const char *name)
{
        const char *src = getenv("TFGATE_SRC");

        return xasprintf("%s/tests/fixtures/tf/%s", src ? src : ".", name);
}

static struct tfconfig *load(const char *name, const char *host)
{
        _cleanup_free_ char *dir = fixture(name);
        struct tfconfig *c = NULL;
        struct err e = ERR_INIT;

        if (tfconfig_load(&c, dir, NULL, 0, host, &e) < 0)
                fail_msg("%s: %s", name, e.msg);
        return c;
}

static const struct tfc_provider *provider(const struct tfconfig *c, const char *source)
{
        for (size_t i = 0; i < c->n_providers; i++)
                if (strcmp(c->providers[i].source, source) == 0)
                        return &c->providers[i];
        fail_msg("provider %s not found", source);
        return NULL;
}

static const struct tfc_item *item(const struct tfconfig *c, enum tfc_kind k, const char *name, size_t nth)
{
        for (size_t i = 0; i < c->n_items; i++)
                if (c->items[i].kind == k && strcmp(c->items[i].name ? c->items[i].name : "", name) == 0 &&
                    nth-- == 0)
                        return &c->items[i];
        return NULL;
}

static void at(const struct tfc_item *it, const char *file, uint32_t line)
{
        assert_non_null(it);
        assert_string_equal(it->loc.file, file);
        assert_int_equal(it->loc.line, line);
}

static void basic(void **state)
{
        struct tfconfig *c = load("basic", TFCONFIG_HOST_TERRAFORM);
        const struct tfc_provider *aws = provider(c, "registry.terraform.io/hashicorp/aws");
        const struct tfc_provider *rnd = provider(c, "registry.terraform.io/hashicorp/random");

        assert_int_equal(c->n_providers, 2);
        assert_true(aws->declared);
        assert_int_equal(aws->n_constraints, 1);
        assert_string_equal(aws->constraints[0], "~> 5.0");
        assert_string_equal(aws->loc.file, "versions.tf");
        assert_int_equal(aws->loc.line, 5);
        assert_string_equal(rnd->constraints[0], "~> 3.1");
        assert_int_equal(rnd->loc.line, 9);
        at(item(c, TFC_BACKEND, "s3", 0), "versions.tf", 12);
        at(item(c, TFC_PROVIDER_BLOCK, "aws", 0), "main.tf", 1);
        assert_string_equal(item(c, TFC_REQUIRED_VERSION, "", 0)->value, ">= 1.5.0");
        assert_int_equal(c->n_files, 2);
        tfconfig_free(c);
}

static void opentofu_host(void **state)
{
        struct tfconfig *c = load("basic", tfconfig_default_host("/usr/local/bin/tofu"));

        provider(c, "registry.opentofu.org/hashicorp/aws");
        assert_string_equal(tfconfig_default_host("terraform"), TFCONFIG_HOST_TERRAFORM);
        assert_string_equal(tfconfig_default_host("/opt/tofu/tofu-1.8"), TFCONFIG_HOST_TERRAFORM);
        tfconfig_free(c);
}

static void modules_followed_inside_only(void **state)
{
        struct tfconfig *c = load("modules", TFCONFIG_HOST_TERRAFORM);
        const struct tfc_provider *aws = provider(c, "registry.terraform.io/hashicorp/aws");

        /* constraints of the same provider merged across modules */
        assert_int_equal(aws->n_constraints, 2);
        assert_string_equal(aws->constraints[0], ">= 5.0");
        assert_string_equal(aws->constraints[1], "< 6.0.0");
        provider(c, "registry.terraform.io/hashicorp/random");
        provider(c, "registry.terraform.io/hashicorp/null");   /* implied, deeper module */
        assert_int_equal(item(c, TFC_MODULE, "net", 0)->mod, TFC_MOD_LOCAL);
        assert_int_equal(item(c, TFC_MODULE, "vpc", 0)->mod, TFC_MOD_REMOTE);
        at(item(c, TFC_MODULE, "git", 0), "main.tf", 22);
        assert_int_equal(item(c, TFC_MODULE, "git", 0)->mod, TFC_MOD_REMOTE);
        assert_int_equal(item(c, TFC_MODULE, "outside", 0)->mod, TFC_MOD_ESCAPES);
        assert_int_equal(item(c, TFC_MODULE, "link", 0)->mod, TFC_MOD_ESCAPES);
        at(item(c, TFC_PROVISIONER, "local-exec", 0), "modules/deeper/main.tf", 2);
        /* ./modules/net and ./modules/net/ are read once; deeper once */
        assert_int_equal(c->n_dirs, 3);
        tfconfig_free(c);
}

static void dangerous_constructs(void **state)
{
        struct tfconfig *c = load("dangerous", NULL);

        at(item(c, TFC_CLOUD, "cloud", 0), "main.tf", 2);
        at(item(c, TFC_PROVISIONER, "local-exec", 0), "main.tf", 13);
        at(item(c, TFC_PROVISIONER, "remote-exec", 0), "main.tf", 22);
        at(item(c, TFC_PROVISIONER, "file", 0), "main.tf", 30);
        at(item(c, TFC_DATA_SOURCE, "external", 0), "main.tf", 36);
        at(item(c, TFC_DATA_SOURCE, "http", 0), "main.tf", 40);
        at(item(c, TFC_OVERRIDE_FILE, "backend_override.tf", 0), "backend_override.tf", 1);
        at(item(c, TFC_BACKEND, "http", 0), "backend_override.tf", 2);
        provider(c, "registry.terraform.io/hashicorp/null");
        provider(c, "registry.terraform.io/hashicorp/external");
        provider(c, "registry.terraform.io/hashicorp/http");
        tfconfig_free(c);
}

static void json_syntax(void **state)
{
        struct tfconfig *c = load("json", NULL);
        const struct tfc_provider *g = provider(c, "registry.terraform.io/hashicorp/google");

        assert_int_equal(c->n_providers, 1);
        assert_string_equal(g->constraints[0], "~> 5.10");
        assert_int_equal(g->loc.line, 4);
        at(item(c, TFC_PROVISIONER, "local-exec", 0), "main.tf.json", 12);
        at(item(c, TFC_OVERRIDE_FILE, "override.tf.json", 0), "override.tf.json", 1);
        tfconfig_free(c);
}

static void legacy_and_aliases(void **state)
{
        struct tfconfig *c = load("legacy", NULL);
        const struct tfc_provider *g = provider(c, "registry.terraform.io/hashicorp/google");

        /* provider-block version is a constraint; terraform_data is built in */
        assert_false(g->declared);
        assert_string_equal(g->constraints[0], "~> 4.0");
        provider(c, "registry.terraform.io/hashicorp/aws");
        assert_int_equal(c->n_providers, 2);
        tfconfig_free(c);
}

static const struct {
        const char *in, *out;
} sources[] = {
        { "aws", "registry.terraform.io/hashicorp/aws" },
        { "HashiCorp/AWS", "registry.terraform.io/hashicorp/aws" },
        { "example.com:8443/Acme/thing", "example.com:8443/acme/thing" },
        { "a/b/c/d", NULL },
        { "", NULL },
        { "hashicorp/", NULL },
        { "hashi corp/aws", NULL },
        { "ex.com/a/b", "ex.com/a/b" },
        { "ex.com/a.b/c", NULL },
};

static void normalise(void **state)
{
        for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
                _cleanup_free_ char *out = NULL;
                struct err e = ERR_INIT;
                int r = tfconfig_normalise_source(&out, sources[i].in, TFCONFIG_HOST_TERRAFORM, &e);

                if (sources[i].out == NULL) {
                        assert_true(r < 0);
                        assert_null(out);
                } else {
                        assert_int_equal(r, 0);
                        assert_string_equal(out, sources[i].out);
                }
        }
        assert_true(tfconfig_is_override_file("override.tf"));
        assert_true(tfconfig_is_override_file("x_override.tf.json"));
        assert_false(tfconfig_is_override_file("overrides.tf"));
        assert_false(tfconfig_is_override_file("xoverride.tf"));
}

static void syntax_error_is_ebadmsg(void **state)
{
        char dir[] = "/tmp/tfconfig-XXXXXX";
        _cleanup_free_ char *file = NULL, *link = NULL;
        struct tfconfig *c = NULL;
        struct err e = ERR_INIT;

        assert_non_null(mkdtemp(dir));
        file = xasprintf("%s/main.tf", dir);
        assert_int_equal(file_write_new(file, "a {\n  b = \"x\n}\n", 14, 0644, &e), 0);
        assert_int_equal(tfconfig_load(&c, dir, NULL, 0, NULL, &e), -EBADMSG);
        assert_string_equal(e.msg, "main.tf:2:7: unterminated string");
        unlink(file);
        /* a .tf symlink leading out of the repository */
        link = xasprintf("%s/evil.tf", dir);
        assert_int_equal(symlink("/etc/hostname", link), 0);
        assert_int_equal(tfconfig_load(&c, dir, NULL, 0, NULL, &e), -EBADMSG);
        assert_string_equal(e.msg, "evil.tf:1:1: symlink resolves outside the repository");
        unlink(link);
        /* a root outside the repository */
        assert_int_equal(tfconfig_load(&c, dir, (char *[]){ "../..", NULL }, 1, NULL, &e), -EBADMSG);
        assert_null(c);
        rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(basic),
                cmocka_unit_test(opentofu_host),
                cmocka_unit_test(modules_followed_inside_only),
                cmocka_unit_test(dangerous_constructs),
                cmocka_unit_test(json_syntax),
                cmocka_unit_test(legacy_and_aliases),
                cmocka_unit_test(normalise),
                cmocka_unit_test(syntax_error_is_ebadmsg),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
