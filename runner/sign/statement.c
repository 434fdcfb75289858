/* statement.c - build and read the signed in-toto Statement. */
#include "statement.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "runner/util/buf.h"
#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

#define SLSA_VERSION "1.1"

static bool is_hex(const char *s, size_t n)
{
        if (s == NULL || strlen(s) != n)
                return false;
        return strspn(s, "0123456789abcdef") == n;
}

/* ORG_SOURCE_TFGATE_<MODE>_PASSED */
static json_t *levels_for(const struct result *r)
{
        json_t *levels = json_array();
        _cleanup_free_ char *mode = xstrdup(result_mode(r));

        if (result_verdict(r) != RESULT_PASSED)
                return levels;
        for (char *p = mode; *p != '\0'; p++)
                *p = (char)toupper((unsigned char)*p);
        json_array_append_new(levels, json_string("ORG_SOURCE_TFGATE_PROVIDERS_PINNED"));
        json_array_append_new(levels, json_sprintf("ORG_SOURCE_TFGATE_%s_PASSED", mode));
        return levels;
}

int statement_build(char **out, size_t *len, const struct result *r, const char *result_sha256,
                    const char *policy_uri, const char *policy_sha256, struct err *err)
{
        _cleanup_free_ char *resource = xasprintf("git+%s", result_repository(r));
        const char *tf = result_terraform_version(r);
        json_t *version, *st;
        char *s;

        if (!is_hex(result_sha256, 64))
                return err_set(err, EINVAL, "result digest: expected 64 lowercase hex");
        if (policy_sha256 != NULL && !is_hex(policy_sha256, 64))
                return err_set(err, EINVAL, "policy digest: expected 64 lowercase hex, got \"%.80s\"",
                               policy_sha256);
        if (policy_uri == NULL)
                policy_uri = policy_sha256 != NULL ? STATEMENT_POLICY_URI_DEFAULT
                                                   : STATEMENT_POLICY_URI_UNSPECIFIED;
        if (strstr(policy_uri, "://") == NULL && strncmp(policy_uri, "urn:", 4) != 0)
                return err_set(err, EINVAL, "policy uri: expected a URI, got \"%.80s\"", policy_uri);
        version = json_pack("{s:s}", "tfgate", result_tfgate_version(r));
        if (tf != NULL)
                json_object_set_new(version, "terraform", json_string(tf));
        st = json_pack("{s:s, s:[{s:s, s:{s:s}, s:{s:s}}, {s:s, s:{s:s}, s:s}], s:s, "
                       "s:{s:{s:s, s:o}, s:s, s:s, s:{s:s}, s:s, s:o, s:s}}",
                       "_type", STATEMENT_TYPE,
                       "subject",
                       "name", resource, "digest", "gitCommit", result_commit(r),
                       "annotations", "ref", result_ref(r),
                       "name", STATEMENT_RESULT_NAME, "digest", "sha256", result_sha256,
                       "mediaType", "application/json",
                       "predicateType", STATEMENT_PREDICATE_VSA,
                       "predicate",
                       "verifier", "id", STATEMENT_VERIFIER_ID, "version", version,
                       "timeVerified", result_finished_at(r),
                       "resourceUri", resource,
                       "policy", "uri", policy_uri,
                       "verificationResult", result_verdict_name(result_verdict(r)),
                       "verifiedLevels", levels_for(r),
                       "slsaVersion", SLSA_VERSION);
        if (st == NULL)
                return err_set(err, EINVAL, "statement: a field is not valid UTF-8");
        /* the VSA makes the digest a SHOULD: without one, the policy is only named */
        if (policy_sha256 != NULL)
                json_object_set_new(json_object_get(json_object_get(st, "predicate"), "policy"),
                                    "digest", json_pack("{s:s}", "sha256", policy_sha256));
        s = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(st);
        if (s == NULL)
                xalloc_die(0);
        *len = strlen(s);
        *out = s;
        return 0;
}

void statement_summary_clear(struct statement_summary *s)
{
        free(s->commit);
        free(s->ref);
        free(s->resource_uri);
        free(s->result_sha256);
        free(s->verification_result);
        free(s->time_verified);
        free(s->policy_sha256);
        free(s->levels);
        memset(s, 0, sizeof(*s));
}

/* a string member, or NULL */
static const char *get_s(const json_t *o, const char *key)
{
        return json_string_value(json_object_get(o, key));
}

static int read_subjects(struct statement_summary *out, const json_t *subjects, struct err *err)
{
        size_t i;
        json_t *sub;

        if (!json_is_array(subjects) || json_array_size(subjects) == 0 || json_array_size(subjects) > 16)
                return err_set(err, EPROTO, "statement: subject must be an array of 1..16 entries");
        json_array_foreach(subjects, i, sub) {
                const json_t *digest = json_object_get(sub, "digest");
                const char *commit = get_s(digest, "gitCommit");
                const char *sha = get_s(digest, "sha256");
                const char *name = get_s(sub, "name");

                if (!json_is_object(digest))
                        return err_set(err, EPROTO, "statement: subject[%zu] has no digest", i);
                if (commit != NULL) {
                        if (out->commit != NULL)
                                return err_set(err, EPROTO, "statement: more than one gitCommit subject");
                        if (!is_hex(commit, 40) && !is_hex(commit, 64))
                                return err_set(err, EPROTO, "statement: gitCommit is not 40 or 64 hex");
                        out->commit = xstrdup(commit);
                        out->ref = xstrdup(get_s(json_object_get(sub, "annotations"), "ref")
                                           ?: "");
                } else if (name != NULL && strcmp(name, STATEMENT_RESULT_NAME) == 0) {
                        if (out->result_sha256 != NULL)
                                return err_set(err, EPROTO, "statement: more than one %s subject",
                                               STATEMENT_RESULT_NAME);
                        if (!is_hex(sha, 64))
                                return err_set(err, EPROTO, "statement: %s digest is not sha256 hex",
                                               STATEMENT_RESULT_NAME);
                        out->result_sha256 = xstrdup(sha);
                }
        }
        if (out->commit == NULL)
                return err_set(err, EPROTO, "statement: no subject with a gitCommit digest");
        if (out->result_sha256 == NULL)
                return err_set(err, EPROTO, "statement: no %s subject", STATEMENT_RESULT_NAME);
        return 0;
}

static int read_levels(struct statement_summary *out, const json_t *levels, struct err *err)
{
        struct buf b = BUF_INIT(4096);
        size_t i;
        json_t *l;

        if (!json_is_array(levels))
                return err_set(err, EPROTO, "statement: verifiedLevels must be an array");
        json_array_foreach(levels, i, l) {
                if (!json_is_string(l) || buf_printf(&b, NULL, "%s%s", i ? "," : "",
                                                     json_string_value(l)) < 0) {
                        buf_free(&b);
                        return err_set(err, EPROTO, "statement: verifiedLevels[%zu] is invalid", i);
                }
        }
        out->levels = buf_steal(&b, NULL);
        return 0;
}

static int read_predicate(struct statement_summary *out, const json_t *p, struct err *err)
{
        const char *verifier = get_s(json_object_get(p, "verifier"), "id");
        const char *result = get_s(p, "verificationResult");
        const char *resource = get_s(p, "resourceUri");
        const char *policy = get_s(json_object_get(json_object_get(p, "policy"), "digest"), "sha256");

        if (!json_is_object(p))
                return err_set(err, EPROTO, "statement: predicate is not an object");
        /* VSA check 4: the verifier must be the one this key speaks for */
        if (verifier == NULL || strcmp(verifier, STATEMENT_VERIFIER_ID) != 0)
                return err_set(err, EPROTO, "statement: verifier.id is not %s", STATEMENT_VERIFIER_ID);
        if (result == NULL || (strcmp(result, "PASSED") != 0 && strcmp(result, "FAILED") != 0))
                return err_set(err, EPROTO, "statement: verificationResult is not PASSED or FAILED");
        if (resource == NULL)
                return err_set(err, EPROTO, "statement: resourceUri missing");
        if (policy != NULL && !is_hex(policy, 64))
                return err_set(err, EPROTO, "statement: policy digest is not sha256 hex");
        out->verification_result = xstrdup(result);
        out->resource_uri = xstrdup(resource);
        out->time_verified = xstrdup(get_s(p, "timeVerified") ?: "");
        out->policy_sha256 = xstrdup(policy ?: "");
        return read_levels(out, json_object_get(p, "verifiedLevels"), err);
}

int statement_parse(struct statement_summary *out, const unsigned char *payload, size_t len,
                    struct err *err)
{
        json_error_t jerr;
        json_t *st;
        const char *type, *ptype;
        int r;

        memset(out, 0, sizeof(*out));
        st = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, &jerr);
        if (st == NULL)
                return err_set(err, EPROTO, "statement: invalid JSON: %s", jerr.text);
        type = get_s(st, "_type");
        ptype = get_s(st, "predicateType");
        if (type == NULL || strcmp(type, STATEMENT_TYPE) != 0)
                r = err_set(err, EPROTO, "statement: _type is not %s", STATEMENT_TYPE);
        else if (ptype == NULL || strcmp(ptype, STATEMENT_PREDICATE_VSA) != 0)
                r = err_set(err, EPROTO, "statement: predicateType is not %s", STATEMENT_PREDICATE_VSA);
        else
                r = read_subjects(out, json_object_get(st, "subject"), err);
        if (r == 0)
                r = read_predicate(out, json_object_get(st, "predicate"), err);
        json_decref(st);
        if (r < 0)
                statement_summary_clear(out);
        return r;
}
