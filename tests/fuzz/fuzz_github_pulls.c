/* fuzz_github_pulls.c - the pull request list parser (and the Link header
 * parser) of plugin-github on arbitrary bytes.  Beyond "no crash": every
 * pull request it accepts has a positive number and a valid lowercase sha,
 * and accepted + refused entries never exceed the array's length.  The
 * webhook event parser runs on the same input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin-github/github.h"
#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct github_pr *prs = NULL;
        size_t n = 0, refused = 0;
        _cleanup_free_ char *s = xstrndup((const char *)data, size);
        char *next = NULL;

        log_setup(LOGL_ERROR, LOGF_TEXT);
        if (github_pulls_parse(&prs, &n, &refused, (const char *)data, size, "o/r", NULL) == 0) {
                json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);

                if (!json_is_array(doc) || n + refused != json_array_size(doc))
                        abort();
                for (size_t i = 0; i < n; i++)
                        if (prs[i].number < 1 || !job_sha_valid(prs[i].sha))
                                abort();
                json_decref(doc);
        } else if (prs != NULL || n != 0) {
                abort();
        }
        free(prs);
        if (github_link_next(&next, s, NULL) == 0 && next != NULL) {
                for (const char *p = next; *p; p++)
                        if ((unsigned char)*p <= ' ' || *p == 0x7f)
                                abort();
        }
        free(next);
        /* the webhook event parser on the same bytes: a hint names a sane
         * repository and, for a re-run, a valid sha */
        for (size_t e = 0; e < 3; e++) {
                static const char *const events[] = { "pull_request", "check_suite", "check_run" };
                struct github_hint h;

                if (github_webhook_parse(&h, events[e], data, size, NULL) < 0 ||
                    h.kind == GITHUB_HINT_NONE)
                        continue;
                if (h.repo[0] == '\0' || strchr(h.repo, '/') == NULL)
                        abort();
                for (const char *p = h.repo; *p; p++)
                        if ((unsigned char)*p <= ' ' || *p == 0x7f)
                                abort();
                if (h.kind == GITHUB_HINT_RERUN && !job_sha_valid(h.sha))
                        abort();
        }
        return 0;
}
