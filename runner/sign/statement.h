/* statement.h - the in-toto Statement v1 that tfgate signs, with the SLSA
 * verification summary predicate (https://slsa.dev/verification_summary/v1).
 *
 *   subject[0]  {name: "git+<repository>", digest: {gitCommit: <commit>},
 *                annotations: {ref: <ref>}}
 *   subject[1]  {name: "result.json", digest: {sha256: <sha256 of the exact
 *                result bytes>}, mediaType: "application/json"}
 *   predicate   verifier {id: STATEMENT_VERIFIER_ID, version {tfgate,
 *               terraform}}, timeVerified (= finished_at), resourceUri
 *               ("git+<repository>"), policy {uri, digest {sha256}},
 *               verificationResult, verifiedLevels, slsaVersion "1.1"
 *
 * The result itself is referenced by digest, not embedded: the VSA defines
 * no field for it, and result.json travels beside the envelope.
 * verifiedLevels (custom values may not start with SLSA_): on PASSED,
 * ORG_SOURCE_TFGATE_PROVIDERS_PINNED and ORG_SOURCE_TFGATE_<MODE>_PASSED;
 * on FAILED, none. */
#ifndef TFGATE_STATEMENT_H
#define TFGATE_STATEMENT_H

#include <stddef.h>

#include "result.h"
#include "runner/util/err.h"

#define STATEMENT_TYPE "https://in-toto.io/Statement/v1"
#define STATEMENT_PREDICATE_VSA "https://slsa.dev/verification_summary/v1"
#define STATEMENT_VERIFIER_ID "https://tfgate.dev/verifier/v1"
#define STATEMENT_POLICY_URI_DEFAULT "https://tfgate.dev/policy/effective-config/v1"
#define STATEMENT_POLICY_URI_UNSPECIFIED "https://tfgate.dev/policy/unspecified/v1"
#define STATEMENT_RESULT_NAME "result.json"

/* compact JSON, sorted keys.  policy_sha256 NULL: no policy digest, and
 * policy_uri NULL then means STATEMENT_POLICY_URI_UNSPECIFIED */
int statement_build(char **out, size_t *len, const struct result *r, const char *result_sha256,
                    const char *policy_uri, const char *policy_sha256, struct err *err);

struct statement_summary {
        char *commit;
        char *ref;
        char *resource_uri;
        char *result_sha256;
        char *verification_result;      /* "PASSED" / "FAILED" */
        char *time_verified;
        char *policy_sha256;
        char *levels;                   /* joined with "," */
};

/* parse verified payload bytes and check the types, the verifier id and
 * the subject shape */
int statement_parse(struct statement_summary *out, const unsigned char *payload, size_t len,
                    struct err *err);
void statement_summary_clear(struct statement_summary *s);

#endif
