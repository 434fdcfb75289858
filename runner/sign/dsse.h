/* dsse.h - DSSE envelopes (secure-systems-lab/dsse v1.0.2) signed with
 * Ed25519, and the two calls the pipeline and the CLI use:
 * dsse_sign_result() and dsse_verify_result().
 *
 * What is signed is PAE(payloadType, payload) =
 *     "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 * never the bare payload, so the type cannot be swapped under a valid
 * signature.  Verification follows the spec's order: decode, pick the
 * signatures whose keyid is empty or equals the key's id, verify over the
 * PAE, then check the payload type, and only then parse the payload; the
 * statement is read from exactly the verified bytes.  Base64 in payload and
 * sig is accepted in both the standard and the URL-safe alphabet, with or
 * without padding. */
#ifndef TFGATE_DSSE_H
#define TFGATE_DSSE_H

#include <stdbool.h>
#include <stddef.h>

#include "keys.h"
#include "runner/util/err.h"

#define DSSE_PAYLOAD_TYPE "application/vnd.in-toto+json"
#define DSSE_ENVELOPE_MAX (1u << 20)    /* the statement is small: the result is referenced */
#define DSSE_MAX_SIGNATURES 16
#define DSSE_MAX_KEYID 256

struct dsse_signature {
        char *keyid;                    /* "" when absent */
        unsigned char *sig;
        size_t sig_len;
};

struct dsse_envelope {
        char *payload_type;
        unsigned char *payload;         /* decoded, NUL-terminated one past len */
        size_t payload_len;
        struct dsse_signature *sigs;
        size_t n_sigs;
};

/* PAE bytes for type and body */
int dsse_pae(char **out, size_t *len, const char *type, const void *body, size_t body_len,
             struct err *err);

/* standard or URL-safe alphabet, padding optional, no whitespace, zero
 * trailing bits; *out is NUL-terminated one past *len */
int dsse_base64_decode(unsigned char **out, size_t *len, const char *in, size_t n,
                       struct err *err);
/* standard alphabet with padding */
char *dsse_base64_encode(const void *data, size_t len);

/* parse an envelope (bounded, duplicate keys refused, unknown keys ignored) */
int dsse_envelope_parse(struct dsse_envelope **out, const char *data, size_t len,
                        struct err *err);
void dsse_envelope_free(struct dsse_envelope *env);

static inline void dsse_envelope_freep(struct dsse_envelope **env)
{
        dsse_envelope_free(*env);
}

/* serialised envelope (one JSON line) with one signature by key */
int dsse_envelope_sign(char **out, size_t *len, const char *payload_type, const void *payload,
                       size_t payload_len, const struct dsse_key *key, struct err *err);
/* 0 when a signature whose keyid is empty or matches key verifies over the
 * PAE; -EBADMSG otherwise */
int dsse_envelope_verify(const struct dsse_envelope *env, const struct dsse_key *key,
                         struct err *err);

/* Validate result_json (result_validate), build the in-toto Statement with
 * the verification-summary predicate (statement.h) and sign it.
 * policy_sha256: 64 lowercase hex, the digest of the effective allowlist and
 * policy configuration (NULL: none is claimed); policy_uri NULL = the
 * STATEMENT_POLICY_URI_* default for that case.
 * *out is the envelope, written as RESULT.dsse.json beside result.json. */
int dsse_sign_result(char **out, size_t *len, const char *result_json, size_t result_len,
                     const struct dsse_key *key, const char *policy_uri,
                     const char *policy_sha256, struct err *err);

struct dsse_verified {
        bool passed;                    /* verificationResult == PASSED */
        char verdict[8];                /* "PASSED" / "FAILED" */
        char commit[65];
        char result_sha256[65];
        char policy_sha256[65];
        char keyid[DSSE_KEYID_LEN + 1];
        char *ref;
        char *resource_uri;
        char *time_verified;
        char *levels;                   /* verifiedLevels joined with "," */
        bool result_checked;            /* result bytes were given and match */
};

void dsse_verified_clear(struct dsse_verified *v);

/* Verify envelope with key: the signature over the PAE, the payload type,
 * the statement type, the predicate type, the verifier id and the subject
 * shape.  result_json (NULL = not checked) must hash to the result subject;
 * expect_commit (NULL = any) must equal the commit subject.  0 when all of
 * that holds, whatever the verdict (out->passed says); negative with a
 * message naming the first check that failed. */
int dsse_verify_result(struct dsse_verified *out, const char *envelope, size_t envelope_len,
                       const struct dsse_key *key, const char *result_json, size_t result_len,
                       const char *expect_commit, struct err *err);

#endif
