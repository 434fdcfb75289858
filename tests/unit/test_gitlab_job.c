/* test_gitlab_job.c - the GitLab job payload parser: the reference's
 * example is accepted and read correctly; every hostile variant is refused
 * with a message naming the field, and whatever could be read (id, token)
 * is kept so the job can be failed on GitLab. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugin-gitlab/gitlab_int.h"
#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

#define FORGE "https://gitlab.example.com"
#define SHA "5f1c0e2d3b4a59687766554433221100ffeeddcc"
#define TOKEN "glcbt-64_xxxxAbCd1234"

/* reference/gitlab.md 2e, with a full SHA */
static const char example[] =
        "{\"id\": 4711, \"token\": \"" TOKEN "\", \"allow_git_fetch\": true,"
        " \"job_info\": {\"id\": 4711, \"name\": \"tf-plan\", \"stage\": \"plan\", \"pipeline_id\": 900,"
        "   \"project_id\": 42, \"project_name\": \"infra\", \"project_full_path\": \"ops/infra\","
        "   \"time_in_queue_seconds\": 1.7},"
        " \"git_info\": {\"repo_url\": \"https://gitlab-ci-token:" TOKEN "@gitlab.example.com/ops/infra.git\","
        "   \"ref\": \"feature-x\", \"sha\": \"" SHA "\","
        "   \"before_sha\": \"0000000000000000000000000000000000000000\", \"ref_type\": \"branch\","
        "   \"depth\": 20, \"repo_object_format\": \"sha1\", \"protected\": false,"
        "   \"refspecs\": [\"+refs/pipelines/900:refs/pipelines/900\","
        "                \"+refs/heads/feature-x:refs/remotes/origin/feature-x\"]},"
        " \"runner_info\": {\"timeout\": 3600},"
        " \"variables\": ["
        "   {\"key\": \"CI_JOB_TOKEN\", \"value\": \"" TOKEN "\", \"public\": false, \"masked\": true},"
        "   {\"key\": \"CI_PROJECT_PATH\", \"value\": \"ops/infra\", \"public\": true},"
        "   {\"key\": \"TF_VAR_db_password\", \"value\": \"s3cr3t-Value!\", \"public\": false, \"masked\": true, \"raw\": true},"
        "   {\"key\": \"KUBECONFIG\", \"value\": \"apiVersion: v1 ...\", \"public\": false, \"file\": true}],"
        " \"steps\": ["
        "   {\"name\": \"script\", \"script\": [\"terraform init -input=false\"], \"timeout\": 3600,"
        "    \"when\": \"on_success\", \"allow_failure\": false}],"
        " \"image\": {\"name\": \"hashicorp/terraform:1.9\"}, \"services\": [],"
        " \"artifacts\": ["
        "   {\"name\": \"plan\", \"paths\": [\"plan.cache\"], \"when\": \"on_success\", \"expire_in\": \"1 week\","
        "    \"artifact_type\": \"archive\", \"artifact_format\": \"zip\"},"
        "   {\"name\": \"tfplan.json\", \"paths\": [\"plan.json\"], \"when\": \"always\", \"expire_in\": \"1 week\","
        "    \"artifact_type\": \"terraform\", \"artifact_format\": \"raw\"}],"
        " \"cache\": [], \"credentials\": [], \"dependencies\": [],"
        " \"features\": {\"trace_sections\": true, \"token_mask_prefixes\": [],"
        "   \"failure_reasons\": [\"unknown_failure\", \"script_failure\", \"runner_system_failure\", \"job_execution_timeout\"]}}";

static void job_freep(struct job **j)
{
        job_free(*j);
}

static const struct job_variable *var(const struct job *j, const char *key)
{
        for (size_t i = 0; i < j->n_vars; i++)
                if (strcmp(j->vars[i].key, key) == 0)
                        return &j->vars[i];
        return NULL;
}

static void test_example(void **state)
{
        _cleanup_(job_freep) struct job *j = NULL;
        struct gl_job_meta m;
        struct err err = ERR_INIT;

        assert_int_equal(gl_job_parse(&j, &m, example, strlen(example), FORGE, &err), 0);
        assert_string_equal(j->id, "4711");
        assert_string_equal(j->project, "ops/infra");
        assert_string_equal(j->repo_url, "https://gitlab.example.com/ops/infra.git");
        assert_string_equal(j->sha, SHA);
        assert_string_equal(j->ref, "feature-x");
        assert_int_equal(j->n_refspecs, 2);
        assert_string_equal(j->refspecs[1], "+refs/heads/feature-x:refs/remotes/origin/feature-x");
        assert_null(j->refspecs[2]);
        assert_string_equal(j->clone_username, "gitlab-ci-token");
        assert_string_equal(j->clone_password, TOKEN);
        assert_int_equal(j->timeout_ms, 3600000);
        assert_int_equal(j->n_vars, 4);
        assert_true(var(j, "CI_JOB_TOKEN")->secret);
        assert_false(var(j, "CI_PROJECT_PATH")->secret);
        assert_true(var(j, "TF_VAR_db_password")->secret);
        assert_string_equal(var(j, "TF_VAR_db_password")->value, "s3cr3t-Value!");
        assert_true(var(j, "KUBECONFIG")->secret);   /* public:false */
        assert_true(var(j, "KUBECONFIG")->file);
        assert_int_equal(m.id, 4711);
        assert_string_equal(m.token, TOKEN);
        assert_true(m.trace_sections);
        assert_string_equal(m.failure_reasons[3], "job_execution_timeout");
        assert_null(m.failure_reasons[4]);
        assert_string_equal(m.expire_in, "1 week");
        gl_job_meta_free(&m);
}

/* the example with one value replaced: path is "a.b" or "a.b[i].c" */
static char *mutate(const char *path, json_t *value)
{
        json_t *doc = json_loads(example, 0, NULL);
        json_t *cur = doc;
        _cleanup_free_ char *p = xstrdup(path);
        char *rest = p, *tok, *next;
        char *out;

        assert_non_null(doc);
        tok = strsep(&rest, ".");
        while (tok != NULL) {
                char *br = strchr(tok, '[');
                size_t idx = 0;

                next = strsep(&rest, ".");
                if (br != NULL) {
                        *br = '\0';
                        idx = strtoul(br + 1, NULL, 10);
                }
                if (next == NULL && br == NULL) {
                        if (value == NULL)
                                json_object_del(cur, tok);
                        else
                                json_object_set_new(cur, tok, value);
                        break;
                }
                cur = json_object_get(cur, tok);
                if (br != NULL) {
                        if (next == NULL) {
                                json_array_set_new(cur, idx, value);
                                break;
                        }
                        cur = json_array_get(cur, idx);
                }
                tok = next;
        }
        out = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        return out;
}

struct hostile {
        const char *what;
        const char *path;         /* NULL: raw text below */
        const char *json;         /* the new value, as JSON; NULL = delete */
        const char *raw;
        const char *field;        /* expected meta.field */
        const char *msg;          /* expected in the error */
        bool id_known;            /* id and token readable: the job can be failed */
};

static const struct hostile hostile[] = {
        { "not JSON", NULL, NULL, "{\"id\": 1, ", "", "not JSON", false },
        { "an array", NULL, NULL, "[1,2]", "", "not a JSON object", false },
        { "duplicate keys", NULL, NULL, "{\"id\": 1, \"id\": 2}", "", "not JSON", false },
        { "id a string", "id", "\"4711\"", NULL, "id", "expected an integer", false },
        { "id negative", "id", "-5", NULL, "id", "out of range", false },
        { "token a number", "token", "12", NULL, "token", "expected a string", false },
        { "token with CRLF", "token", "\"abc\\r\\nX-Evil: 1\"", NULL, "token", "characters outside", false },
        { "git_info missing", "git_info", NULL, NULL, "git_info", "missing", true },
        { "git_info a string", "git_info", "\"x\"", NULL, "git_info", "expected an object", true },
        { "sha short", "git_info.sha", "\"5f1c\"", NULL, "git_info.sha", "hex", true },
        { "sha upper", "git_info.sha", "\"5F1C0E2D3B4A59687766554433221100FFEEDDCC\"", NULL, "git_info.sha", "hex", true },
        { "sha format mismatch", "git_info.repo_object_format", "\"sha256\"", NULL, "git_info.repo_object_format", "sha256", true },
        { "repo on another host", "git_info.repo_url", "\"https://gitlab-ci-token:" TOKEN "@evil.example.net/ops/infra.git\"", NULL, "git_info.repo_url", "not the forge host", true },
        { "repo file://", "git_info.repo_url", "\"file:///etc/passwd\"", NULL, "git_info.repo_url", "", true },
        { "repo ext::", "git_info.repo_url", "\"ext::sh -c touch% /tmp/pwned\"", NULL, "git_info.repo_url", "not a URL", true },
        { "repo http", "git_info.repo_url", "\"http://gitlab.example.com/ops/infra.git\"", NULL, "git_info.repo_url", "", true },
        { "repo other user", "git_info.repo_url", "\"https://admin:" TOKEN "@gitlab.example.com/ops/infra.git\"", NULL, "git_info.repo_url", "other than gitlab-ci-token", true },
        { "repo other password", "git_info.repo_url", "\"https://gitlab-ci-token:other@gitlab.example.com/ops/infra.git\"", NULL, "git_info.repo_url", "not the job token", true },
        { "userinfo host trick", "git_info.repo_url", "\"https://gitlab-ci-token:" TOKEN "@gitlab.example.com@evil.example.net/x.git\"", NULL, "git_info.repo_url", "more than one '@'", true },
        { "userinfo host-as-user trick", "git_info.repo_url", "\"https://gitlab.example.com@evil.example.net/x.git\"", NULL, "git_info.repo_url", "other than gitlab-ci-token", true },
        { "repo port differs", "git_info.repo_url", "\"https://gitlab.example.com:8443/ops/infra.git\"", NULL, "git_info.repo_url", "not the forge host", true },
        { "repo with query", "git_info.repo_url", "\"https://gitlab.example.com/ops/infra.git?x=1\"", NULL, "git_info.repo_url", "", true },
        { "refspec trick", "git_info.refspecs[1]", "\"+refs/heads/x:../../etc\"", NULL, "git_info.refspecs[1]", "", true },
        { "refspec option", "git_info.refspecs[0]", "\"--upload-pack=evil\"", NULL, "git_info.refspecs[0]", "", true },
        { "refspecs not strings", "git_info.refspecs", "[1]", NULL, "git_info.refspecs[0]", "expected a string", true },
        { "ref with control", "git_info.ref", "\"main\\u001b[2J\"", NULL, "git_info.ref", "control", true },
        { "variables an object", "variables", "{}", NULL, "variables", "expected an array", true },
        { "variable value a number", "variables[1].value", "7", NULL, "variables[1].value", "expected a string", true },
        { "variable bad key", "variables[1].key", "\"A=B\"", NULL, "variables[1].key", "variable name", true },
        { "masked a string", "variables[2].masked", "\"yes\"", NULL, "variables[2].masked", "expected a boolean", true },
        { "timeout a string", "runner_info.timeout", "\"3600\"", NULL, "runner_info.timeout", "expected an integer", true },
        { "timeout huge", "runner_info.timeout", "99999999999", NULL, "runner_info.timeout", "out of range", true },
        { "failure reasons odd", "features.failure_reasons[0]", "\"x y\"", NULL, "features.failure_reasons[0]", "failure reason", true },
        { "project path dotdot", "job_info.project_full_path", "\"ops/../etc\"", NULL, "job_info.project_full_path", "project path", true },
        { "ref missing", "git_info.ref", NULL, NULL, "git_info.ref", "missing", true },
};

static void test_hostile(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
                const struct hostile *h = &hostile[i];
                _cleanup_free_ char *doc = NULL;
                struct job *j = NULL;
                struct gl_job_meta m;
                struct err err = ERR_INIT;
                int r;

                if (h->path != NULL)
                        doc = mutate(h->path, h->json ? json_loads(h->json, JSON_DECODE_ANY, NULL) : NULL);
                else
                        doc = xstrdup(h->raw);
                r = gl_job_parse(&j, &m, doc, strlen(doc), FORGE, &err);
                if (r != -EBADMSG || j != NULL || strcmp(m.field, h->field) != 0 ||
                    strstr(err.msg, h->msg) == NULL || (h->id_known != (m.id == 4711 && m.token)))
                        fail_msg("%s: r=%d field=\"%s\" err=\"%s\"", h->what, r, m.field, err.msg);
                /* the message names the field, never the token */
                assert_null(strstr(err.msg, TOKEN));
                gl_job_meta_free(&m);
        }
}

static void test_huge_strings(void **state)
{
        /* a 10 MB string is over the reply cap; a 2 MB one over the walk's
         * string cap; 100 KB in ref over its table bound */
        static const struct { size_t n; const char *path, *msg; } cases[] = {
                { 10u << 20, "job_info.name", "larger than" },
                { 2u << 20, "job_info.unknown_field", "string longer than" },
                { 100u << 10, "git_info.ref", "longer than 1024" },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                char *big = xmalloc(cases[i].n + 1);
                _cleanup_free_ char *doc = NULL;
                struct job *j = NULL;
                struct gl_job_meta m;
                struct err err = ERR_INIT;

                memset(big, 'a', cases[i].n);
                big[cases[i].n] = '\0';
                doc = mutate(cases[i].path, json_string(big));
                free(big);
                assert_int_equal(gl_job_parse(&j, &m, doc, strlen(doc), FORGE, &err), -EBADMSG);
                if (strstr(err.msg, cases[i].msg) == NULL)
                        fail_msg("case %zu: %s", i, err.msg);
                assert_null(j);
                gl_job_meta_free(&m);
        }
}

static void test_deep_nesting(void **state)
{
        struct buf b = BUF_INIT(1u << 20);
        struct job *j = NULL;
        struct gl_job_meta m;
        struct err err = ERR_INIT;

        assert_int_equal(buf_puts(&b, "{\"id\":1,\"token\":\"t\",\"x\":", NULL), 0);
        for (int i = 0; i < 100; i++)
                buf_putc(&b, '[', NULL);
        for (int i = 0; i < 100; i++)
                buf_putc(&b, ']', NULL);
        buf_putc(&b, '}', NULL);
        assert_int_equal(gl_job_parse(&j, &m, b.data, b.len, FORGE, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "nested deeper"));
        gl_job_meta_free(&m);
        buf_free(&b);
}

static void test_job_token_secret(void **state)
{
        /* no CI_JOB_TOKEN variable: one is added, secret; a public variable
         * holding the token is made secret */
        _cleanup_free_ char *doc = mutate("variables", json_pack(
                "[{s:s, s:s, s:b}]", "key", "LEAK", "value", TOKEN, "public", 1));
        _cleanup_(job_freep) struct job *j = NULL;
        struct gl_job_meta m;
        struct err err = ERR_INIT;

        assert_int_equal(gl_job_parse(&j, &m, doc, strlen(doc), FORGE, &err), 0);
        assert_true(var(j, "LEAK")->secret);
        assert_true(var(j, "CI_JOB_TOKEN")->secret);
        assert_string_equal(var(j, "CI_JOB_TOKEN")->value, TOKEN);
        gl_job_meta_free(&m);
}

static void test_http_loopback(void **state)
{
        /* an http forge on loopback (tests) accepts http repository URLs on
         * the same host and port, and nothing else */
        _cleanup_free_ char *ok = mutate("git_info.repo_url",
                json_string("http://gitlab-ci-token:" TOKEN "@127.0.0.1:8080/ops/infra.git"));
        _cleanup_free_ char *https = mutate("git_info.repo_url",
                json_string("https://127.0.0.1:8080/ops/infra.git"));
        struct job *j = NULL;
        struct gl_job_meta m;
        struct err err = ERR_INIT;

        assert_int_equal(gl_job_parse(&j, &m, ok, strlen(ok), "http://127.0.0.1:8080", &err), 0);
        assert_string_equal(j->repo_url, "http://127.0.0.1:8080/ops/infra.git");
        job_free(j);
        gl_job_meta_free(&m);
        assert_int_equal(gl_job_parse(&j, &m, ok, strlen(ok), FORGE, &err), -EBADMSG);
        gl_job_meta_free(&m);
        assert_int_equal(gl_job_parse(&j, &m, https, strlen(https), "http://127.0.0.1:8080", &err),
                         -EBADMSG);
        gl_job_meta_free(&m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_example),
                cmocka_unit_test(test_hostile),
                cmocka_unit_test(test_huge_strings),
                cmocka_unit_test(test_deep_nesting),
                cmocka_unit_test(test_job_token_secret),
                cmocka_unit_test(test_http_loopback),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
