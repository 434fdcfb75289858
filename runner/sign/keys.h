/* keys.h - Ed25519 signing keys: creation, loading, and the key id.
 *
 * A private key is a PKCS#8 PEM file that only its owner may read; loading
 * refuses anything else (file_read_secret).  A public key is an SPKI PEM
 * file.  The key id is the lowercase hex SHA-256 of the public key's DER
 * SubjectPublicKeyInfo: the same value as
 *     openssl pkey -pubin -in KEY.pub -outform DER | sha256sum
 * It is a hint for picking keys, never a reason to trust one. */
#ifndef TFGATE_KEYS_H
#define TFGATE_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "runner/util/err.h"

#define DSSE_KEYID_LEN 64
#define DSSE_KEY_FILE_MAX (64u << 10)

struct dsse_key;

/* Create path (0600, O_EXCL: never overwrites) holding a new private key
 * and path.pub holding its public key.  On failure neither file remains. */
int dsse_key_generate(const char *path, struct err *err);
int dsse_key_load_private(struct dsse_key **out, const char *path, struct err *err);
int dsse_key_load_public(struct dsse_key **out, const char *path, struct err *err);
/* from PEM text in memory (tests, config) */
int dsse_key_from_pem(struct dsse_key **out, const char *pem, size_t len, bool private_key,
                      struct err *err);
void dsse_key_free(struct dsse_key *k);

static inline void dsse_key_freep(struct dsse_key **k)
{
        dsse_key_free(*k);
}

const char *dsse_key_id(const struct dsse_key *k);
bool dsse_key_is_private(const struct dsse_key *k);

/* Ed25519 over msg (PureEdDSA: no digest, whole message in memory) */
int dsse_key_sign(unsigned char sig[64], const struct dsse_key *k, const void *msg, size_t len,
                  struct err *err);
/* 0 when sig is a valid signature over msg, -EBADMSG when it is not */
int dsse_key_verify(const struct dsse_key *k, const void *msg, size_t len,
                    const unsigned char *sig, size_t sig_len, struct err *err);

/* lowercase hex SHA-256 of data */
void dsse_sha256_hex(char out[65], const void *data, size_t len);

#endif
