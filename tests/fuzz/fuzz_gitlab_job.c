/* fuzz_gitlab_job.c - gl_job_parse() on arbitrary bytes.  Beyond "no
 * crash": an accepted job has a repository on the forge's host with no
 * credentials in its URL, a valid SHA, the job token only in the clone
 * password and in a secret variable, and every variable carrying the job
 * token marked secret. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin-gitlab/gitlab_int.h"
#include "runner/forge/forge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct job *j, const struct gl_job_meta *m, const char *host)
{
        bool token_var = false;

        if (strncmp(j->repo_url, host, strlen(host)) != 0 || strchr(j->repo_url, '@') != NULL)
                abort();
        if (!job_sha_valid(j->sha) || m->token == NULL || strcmp(j->clone_password, m->token) != 0)
                abort();
        if (strcmp(j->clone_username, "gitlab-ci-token") != 0)
                abort();
        for (size_t i = 0; i < j->n_vars; i++) {
                if (strcmp(j->vars[i].value, m->token) == 0 && !j->vars[i].secret)
                        abort();
                token_var |= strcmp(j->vars[i].key, "CI_JOB_TOKEN") == 0 && j->vars[i].secret;
        }
        if (!token_var || j->refspecs == NULL || j->refspecs[j->n_refspecs] != NULL)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const forges[] = { "https://gitlab.example.com", "http://127.0.0.1:8080" };

        for (size_t i = 0; i < 2; i++) {
                struct job *j = NULL;
                struct gl_job_meta m;
                struct err err = ERR_INIT;

                if (gl_job_parse(&j, &m, (const char *)data, size, forges[i], &err) == 0) {
                        char host[64];

                        snprintf(host, sizeof(host), "%s/", forges[i]);
                        check(j, &m, host);
                } else if (j != NULL || err.code >= 0 || err.msg[0] == '\0') {
                        abort();
                }
                job_free(j);
                gl_job_meta_free(&m);
        }
        return 0;
}
