/* webhook.c - verifying GitHub webhook deliveries and turning the few
 * events tfgate cares about into hints for the poller.
 *
 * A hint never becomes a job by itself: the poller re-reads the pull
 * requests and check runs through the API, so a forged or replayed delivery
 * can at most cause an early poll (and forged ones fail the HMAC first). */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "github_int.h"
#include "runner/util/cleanup.h"
#include "runner/util/randid.h"

#define SIG_PREFIX "sha256="

int github_webhook_verify(const char *secret, const void *body, size_t len,
                          const char *signature_header, struct err *err)
{
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        const char *given;

        if (secret == NULL || secret[0] == '\0')
                return err_set(err, EPERM, "webhook: no secret configured");
        if (signature_header == NULL)
                return err_set(err, EPERM, "webhook: X-Hub-Signature-256 missing");
        if (strncmp(signature_header, SIG_PREFIX, strlen(SIG_PREFIX)) != 0)
                return err_set(err, EPERM, "webhook: signature is not sha256=...");
        given = signature_header + strlen(SIG_PREFIX);
        if (HMAC(EVP_sha256(), secret, (int)strlen(secret), body, len, mac, &mac_len) == NULL)
                return err_set(err, EIO, "webhook: HMAC failed");
        hex_encode(hex, mac, mac_len);
        /* the length is public (64); the digest is compared in constant time */
        if (strlen(given) != 2 * (size_t)mac_len ||
            CRYPTO_memcmp(given, hex, 2 * (size_t)mac_len) != 0)
                return err_set(err, EPERM, "webhook: signature does not match");
        return 0;
}

static int take_repo(struct github_hint *h, json_t *doc, struct err *err)
{
        json_t *full = json_object_get(json_object_get(doc, "repository"), "full_name");
        const char *s;

        if (!json_is_string(full))
                return err_set(err, EINVAL, "webhook: repository.full_name missing");
        s = json_string_value(full);
        if (strlen(s) == 0 || strlen(s) >= sizeof(h->repo) || strchr(s, '/') == NULL)
                return err_set(err, EINVAL, "webhook: repository.full_name is not owner/name");
        for (const char *p = s; *p; p++)
                if ((unsigned char)*p <= ' ' || *p == 0x7f)
                        return err_set(err, EINVAL, "webhook: repository.full_name has a control character");
        snprintf(h->repo, sizeof(h->repo), "%s", s);
        return 0;
}

static int take_sha(struct github_hint *h, json_t *obj, struct err *err)
{
        json_t *sha = json_object_get(obj, "head_sha");

        if (!json_is_string(sha) || !job_sha_valid(json_string_value(sha)))
                return err_set(err, EINVAL, "webhook: head_sha is not a commit id");
        snprintf(h->sha, sizeof(h->sha), "%s", json_string_value(sha));
        return 0;
}

int github_webhook_parse(struct github_hint *out, const char *event, const void *body,
                         size_t len, struct err *err)
{
        static const char *const scan_pr_actions[] = { "opened", "synchronize", "reopened",
                                                       "ready_for_review" };
        _cleanup_(json_decrefp) json_t *doc = NULL;
        json_error_t je;
        const char *action;
        int r;

        memset(out, 0, sizeof(*out));
        out->kind = GITHUB_HINT_NONE;
        if (event == NULL)
                return err_set(err, EINVAL, "webhook: X-GitHub-Event missing");
        doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(doc))
                return err_set(err, EINVAL, "webhook: body is not a JSON object");
        action = json_string_value(json_object_get(doc, "action"));
        if (action == NULL)
                return 0;
        if (strcmp(event, "pull_request") == 0) {
                for (size_t i = 0; i < ARRAY_SIZE(scan_pr_actions); i++) {
                        if (strcmp(action, scan_pr_actions[i]) == 0) {
                                if ((r = take_repo(out, doc, err)) < 0)
                                        return r;
                                out->kind = GITHUB_HINT_SCAN;
                        }
                }
                return 0;
        }
        if (strcmp(event, "check_suite") == 0) {
                if (strcmp(action, "requested") != 0 && strcmp(action, "rerequested") != 0)
                        return 0;
                if ((r = take_repo(out, doc, err)) < 0)
                        return r;
                if (strcmp(action, "requested") == 0) {
                        out->kind = GITHUB_HINT_SCAN;
                        return 0;
                }
                if ((r = take_sha(out, json_object_get(doc, "check_suite"), err)) < 0)
                        return r;
                out->kind = GITHUB_HINT_RERUN;
                return 0;
        }
        if (strcmp(event, "check_run") == 0 && strcmp(action, "rerequested") == 0) {
                json_t *run = json_object_get(doc, "check_run");
                const char *name = json_string_value(json_object_get(run, "name"));

                if (name == NULL || strcmp(name, GITHUB_CHECK_NAME) != 0)
                        return 0;
                if ((r = take_repo(out, doc, err)) < 0 || (r = take_sha(out, run, err)) < 0)
                        return r;
                out->kind = GITHUB_HINT_RERUN;
        }
        return 0;
}
