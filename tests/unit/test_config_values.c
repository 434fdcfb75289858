/* test_config_values.c - the single-value validators of runner/config:
 * forge URLs (https only, http to loopback), listen addresses, repository
 * names, provider addresses and their normalisation, version constraints,
 * and which environment names count as secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runner/config/config_int.h"

struct vcase {
        const char *in;
        int ok;
};

static void run_cases(const char *(*fn)(const char *), const struct vcase *cases, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                const char *why = fn(cases[i].in);

                if ((why == NULL) != (cases[i].ok != 0))
                        fail_msg("\"%s\": expected %s, got %s", cases[i].in,
                                 cases[i].ok ? "ok" : "an error", why ? why : "ok");
        }
}

#define RUN(fn, cases) run_cases(fn, cases, sizeof(cases) / sizeof(cases[0]))

static void forge_urls(void **state)
{
        static const struct vcase cases[] = {
                { "https://gitlab.example.com", 1 },
                { "https://gitlab.example.com:8443/sub/path", 1 },
                { "HTTPS://GitLab.Example.com", 1 },
                { "https://[2001:db8::1]:443", 1 },
                { "http://127.0.0.1:8080", 1 },
                { "http://127.9.8.7", 1 },
                { "http://localhost:3000/api", 1 },
                { "http://[::1]:8080", 1 },
                { "http://gitlab.example.com", 0 },
                { "http://128.0.0.1", 0 },
                { "http://[::2]:80", 0 },
                { "http://127.0.0.1.example.com", 0 },
                { "http://localhost.evil.com", 0 },
                { "ftp://gitlab.example.com", 0 },
                { "file:///etc/passwd", 0 },
                { "gitlab.example.com", 0 },
                { "https://", 0 },
                { "https:///path", 0 },
                { "https://user:pw@gitlab.example.com", 0 },
                { "https://gitlab.example.com@evil.com", 0 },
                { "https://gitlab.example.com:0", 0 },
                { "https://gitlab.example.com:65536", 0 },
                { "https://gitlab.example.com:80x", 0 },
                { "https://gitlab.example.com/?q=1", 0 },
                { "https://gitlab.example.com/#f", 0 },
                { "https://gitlab example.com", 0 },
                { "https://gitlab.example.com/a\nb", 0 },
                { "https://[::1", 0 },
                { "https://[zz::1]", 0 },
        };

        RUN(cfgv_forge_url, cases);
}

static void public_urls(void **state)
{
        static const struct vcase cases[] = {
                { "https://ci.example.com/tfgate", 1 },
                { "http://ci.example.com", 1 },
                { "ftp://ci.example.com", 0 },
                { "https://u@ci.example.com", 0 },
        };

        RUN(cfgv_public_url, cases);
}

static void listen_addrs(void **state)
{
        static const struct vcase cases[] = {
                { "127.0.0.1:8080", 1 },
                { "0.0.0.0:80", 1 },
                { "[::1]:9090", 1 },
                { "localhost:1", 1 },
                { "127.0.0.1", 0 },
                { ":8080", 0 },
                { "127.0.0.1:0", 0 },
                { "127.0.0.1:65536", 0 },
                { "[::1]", 0 },
                { "[::1]x:80", 0 },
                { "host name:80", 0 },
        };

        RUN(cfgv_listen, cases);
}

static void repositories(void **state)
{
        static const struct vcase cases[] = {
                { "acme/infra", 1 },
                { "Acme-Corp/my_repo.git", 1 },
                { "acme", 0 },
                { "acme/", 0 },
                { "/infra", 0 },
                { "acme/infra/x", 0 },
                { "acme/..", 0 },
                { "acme/in fra", 0 },
        };

        RUN(cfgv_repository, cases);
}

static void rel_paths(void **state)
{
        static const struct vcase cases[] = {
                { ".", 1 },
                { "envs/prod", 1 },
                { "envs/..prod/x", 1 },
                { "my dir", 1 },
                { "", 0 },
                { "/abs", 0 },
                { "..", 0 },
                { "a/../b", 0 },
                { "a/..", 0 },
                { "a\tb", 0 },
        };

        RUN(cfgv_rel_path, cases);
}

static void versions(void **state)
{
        static const struct vcase cases[] = {
                { "5.0.0", 1 },
                { "~> 5.0", 1 },
                { ">= 1.2.0, < 2.0.0", 1 },
                { "= 1.2.3-beta.1", 1 },
                { "!=5.1.0,~>5", 1 },
                { "= 1.2.3+build.7", 1 },
                { "1.0.0-rc1+meta", 1 },
                { "1.0.0+", 0 },
                { "1.0.0-+x", 0 },
                { "", 0 },
                { "five", 0 },
                { "~>", 0 },
                { ">= 1.2.0,", 0 },
                { "1.2.3.4", 0 },
                { "=> 1.0", 0 },
                { "1.0-", 0 },
        };

        RUN(cfgv_versions, cases);
}

static void misc_names(void **state)
{
        static const struct vcase ids[] = {
                { "region", 1 }, { "_x1", 1 }, { "1x", 0 }, { "a-b", 0 }, { "", 0 },
        };
        static const struct vcase forge_names[] = {
                { "gitlab", 1 }, { "gh-app_2", 1 }, { "GitLab", 0 }, { "a b", 0 }, { "", 0 },
        };
        static const struct vcase health[] = {
                { "tcp", 1 }, { "/_localstack/health", 1 }, { "/", 1 }, { "health", 0 },
                { "/a b", 0 }, { "TCP", 0 },
        };

        RUN(cfgv_identifier, ids);
        RUN(cfgv_forge_name, forge_names);
        RUN(cfgv_health, health);
}

static void provider_sources(void **state)
{
        static const struct {
                const char *in;
                const char *want;        /* NULL: refused */
        } cases[] = {
                { "hashicorp/aws", "registry.terraform.io/hashicorp/aws" },
                { "HashiCorp/AWS", "registry.terraform.io/hashicorp/aws" },
                { "registry.opentofu.org/hashicorp/random", "registry.opentofu.org/hashicorp/random" },
                { "Example.COM:8443/Acme/my-thing", "example.com:8443/acme/my-thing" },
                { "aws", NULL },
                { "a/b/c/d", NULL },
                { "hashicorp/", NULL },
                { "/aws", NULL },
                { "hashicorp/-aws", NULL },
                { "hashicorp/aws-", NULL },
                { "hashi_corp/aws", NULL },
                { "bad host/hashicorp/aws", NULL },
                { "[::1]/hashicorp/aws", NULL },
                { "host:0/hashicorp/aws", NULL },
                { "", NULL },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char *why = NULL;
                char *got = cfgv_provider_source(cases[i].in, &why);

                if (cases[i].want == NULL) {
                        if (got != NULL)
                                fail_msg("\"%s\" accepted as %s", cases[i].in, got);
                        assert_non_null(why);
                } else {
                        if (got == NULL)
                                fail_msg("\"%s\" refused: %s", cases[i].in, why);
                        assert_string_equal(got, cases[i].want);
                        assert_null(why);
                }
                free(got);
        }
}

static void secret_env_names(void **state)
{
        assert_true(cfgv_env_is_secret("AWS_SECRET_ACCESS_KEY"));
        assert_true(cfgv_env_is_secret("LOCALSTACK_AUTH_TOKEN"));
        assert_true(cfgv_env_is_secret("db_password"));
        assert_true(cfgv_env_is_secret("API_KEY"));
        assert_true(cfgv_env_is_secret("GOOGLE_CREDENTIALS"));
        assert_false(cfgv_env_is_secret("GATEWAY_LISTEN"));
        assert_false(cfgv_env_is_secret("PERSISTENCE"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(forge_urls),
                cmocka_unit_test(public_urls),
                cmocka_unit_test(listen_addrs),
                cmocka_unit_test(repositories),
                cmocka_unit_test(rel_paths),
                cmocka_unit_test(versions),
                cmocka_unit_test(misc_names),
                cmocka_unit_test(provider_sources),
                cmocka_unit_test(secret_env_names),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
