#include "forge.h"

#include <stdlib.h>
#include <string.h>

#include "runner/util/cleanup.h"

void job_free(struct job *j)
{
        if (j == NULL)
                return;
        if (j->forge != NULL && j->forge->ops->job_free != NULL)
                j->forge->ops->job_free(j->forge, j);
        free(j->id);
        free(j->project);
        free(j->repo_url);
        free(j->sha);
        free(j->ref);
        strv_free(j->refspecs);
        free(j->clone_username);
        if (j->clone_password != NULL) {
                explicit_bzero(j->clone_password, strlen(j->clone_password));
                free(j->clone_password);
        }
        for (size_t i = 0; i < j->n_vars; i++) {
                free(j->vars[i].key);
                if (j->vars[i].value != NULL) {
                        explicit_bzero(j->vars[i].value, strlen(j->vars[i].value));
                        free(j->vars[i].value);
                }
        }
        free(j->vars);
        free(j);
}

static const char *const outcome_names[] = {
        [JOB_PASSED] = "passed",
        [JOB_FAILED] = "failed",
        [JOB_SYSTEM_FAILURE] = "system_failure",
        [JOB_TIMEOUT] = "timeout",
        [JOB_CANCELED] = "canceled",
};

const char *job_outcome_name(enum job_outcome o)
{
        return (unsigned)o < ARRAY_SIZE(outcome_names) ? outcome_names[o] : "?";
}

bool job_sha_valid(const char *s)
{
        size_t n = s ? strlen(s) : 0;

        return (n == 40 || n == 64) && strspn(s, "0123456789abcdef") == n;
}
