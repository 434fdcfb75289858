/* keys.c - Ed25519 keys with OpenSSL 3 EVP. */
#include "keys.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/randid.h"
#include "runner/util/xalloc.h"

struct dsse_key {
        EVP_PKEY *pkey;
        bool private_key;
        char keyid[DSSE_KEYID_LEN + 1];
};

/* the first queued OpenSSL error as text, and the queue emptied */
static int ossl_fail(struct err *err, const char *what)
{
        char buf[256] = "unknown error";
        unsigned long e = ERR_get_error();

        if (e != 0)
                ERR_error_string_n(e, buf, sizeof(buf));
        ERR_clear_error();
        return err_set(err, EINVAL, "%s: %s", what, buf);
}

void dsse_sha256_hex(char out[65], const void *data, size_t len)
{
        unsigned char md[32];
        unsigned int n = 0;

        if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != sizeof(md))
                abort();        /* SHA-256 of memory cannot fail short of OOM */
        hex_encode(out, md, sizeof(md));
}

static int key_wrap(struct dsse_key **out, EVP_PKEY *pkey, bool private_key, const char *what,
                    struct err *err)
{
        unsigned char *der = NULL;
        int n;
        struct dsse_key *k;

        if (!EVP_PKEY_is_a(pkey, "ED25519")) {
                EVP_PKEY_free(pkey);
                return err_set(err, EINVAL, "%s: not an Ed25519 key", what);
        }
        n = i2d_PUBKEY(pkey, &der);
        if (n <= 0) {
                EVP_PKEY_free(pkey);
                return ossl_fail(err, what);
        }
        k = xcalloc(1, sizeof(*k));
        k->pkey = pkey;
        k->private_key = private_key;
        dsse_sha256_hex(k->keyid, der, (size_t)n);
        OPENSSL_free(der);
        *out = k;
        return 0;
}

/* never prompt for a passphrase: an encrypted key is refused */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
        return 0;
}

int dsse_key_from_pem(struct dsse_key **out, const char *pem, size_t len, bool private_key,
                      struct err *err)
{
        BIO *bio;
        EVP_PKEY *pkey;

        *out = NULL;
        if (len > DSSE_KEY_FILE_MAX || len > INT32_MAX)
                return err_set(err, EFBIG, "key: larger than %u bytes", DSSE_KEY_FILE_MAX);
        bio = BIO_new_mem_buf(pem, (int)len);
        if (bio == NULL)
                xalloc_die(len);
        pkey = private_key ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)
                           : PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
        BIO_free(bio);
        if (pkey == NULL)
                return ossl_fail(err, private_key ? "private key (PKCS#8 PEM expected)"
                                                  : "public key (SPKI PEM expected)");
        return key_wrap(out, pkey, private_key, "key", err);
}

static void cleanse_free(char **p, size_t len)
{
        if (*p != NULL)
                OPENSSL_cleanse(*p, len);
        free(*p);
        *p = NULL;
}

int dsse_key_load_private(struct dsse_key **out, const char *path, struct err *err)
{
        char *pem = NULL;
        size_t len = 0;
        int r = file_read_secret(&pem, &len, path, DSSE_KEY_FILE_MAX, err);

        *out = NULL;
        if (r < 0)
                return r;
        r = dsse_key_from_pem(out, pem, len, true, err);
        cleanse_free(&pem, len);
        return r < 0 ? err_wrap(err, "%s", path) : 0;
}

int dsse_key_load_public(struct dsse_key **out, const char *path, struct err *err)
{
        _cleanup_free_ char *pem = NULL;
        size_t len = 0;
        int r = file_read_all(&pem, &len, path, DSSE_KEY_FILE_MAX, err);

        *out = NULL;
        if (r < 0)
                return r;
        r = dsse_key_from_pem(out, pem, len, false, err);
        return r < 0 ? err_wrap(err, "%s", path) : 0;
}

void dsse_key_free(struct dsse_key *k)
{
        if (k == NULL)
                return;
        EVP_PKEY_free(k->pkey);
        free(k);
}

const char *dsse_key_id(const struct dsse_key *k)
{
        return k->keyid;
}

bool dsse_key_is_private(const struct dsse_key *k)
{
        return k->private_key;
}

/* PEM of pkey (private PKCS#8 or public SPKI) in a malloc'd buffer */
static int pem_encode(char **out, size_t *len, EVP_PKEY *pkey, bool private_key, struct err *err)
{
        BIO *bio = BIO_new(BIO_s_mem());
        char *data;
        long n;
        int ok;

        if (bio == NULL)
                xalloc_die(0);
        ok = private_key ? PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)
                         : PEM_write_bio_PUBKEY(bio, pkey);
        if (ok != 1) {
                BIO_free(bio);
                return ossl_fail(err, "encode key");
        }
        n = BIO_get_mem_data(bio, &data);
        *out = xmemdup(data, (size_t)n);
        *len = (size_t)n;
        OPENSSL_cleanse(data, (size_t)n);
        BIO_free(bio);
        return 0;
}

int dsse_key_generate(const char *path, struct err *err)
{
        _cleanup_free_ char *pub_path = xasprintf("%s.pub", path);
        _cleanup_free_ char *pub = NULL;
        char *priv = NULL;
        size_t priv_len = 0, pub_len = 0;
        EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        int r;

        if (pkey == NULL)
                return ossl_fail(err, "generate Ed25519 key");
        r = pem_encode(&priv, &priv_len, pkey, true, err);
        if (r == 0)
                r = pem_encode(&pub, &pub_len, pkey, false, err);
        EVP_PKEY_free(pkey);
        if (r < 0) {
                cleanse_free(&priv, priv_len);
                return r;
        }
        /* refuse early when the public half exists, so nothing is created */
        if (access(pub_path, F_OK) == 0) {
                cleanse_free(&priv, priv_len);
                return err_set(err, EEXIST, "%s", pub_path);
        }
        r = file_write_new(path, priv, priv_len, 0600, err);
        cleanse_free(&priv, priv_len);
        if (r < 0)
                return r;
        r = file_write_new(pub_path, pub, pub_len, 0644, err);
        if (r < 0)
                unlink(path);
        return r;
}

int dsse_key_sign(unsigned char sig[64], const struct dsse_key *k, const void *msg, size_t len,
                  struct err *err)
{
        EVP_MD_CTX *ctx;
        size_t sig_len = 64;
        int ok;

        if (!k->private_key)
                return err_set(err, EINVAL, "signing needs a private key");
        ctx = EVP_MD_CTX_new();
        if (ctx == NULL)
                xalloc_die(0);
        /* Ed25519 is PureEdDSA: the digest argument must be NULL */
        ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
             EVP_DigestSign(ctx, sig, &sig_len, msg, len) == 1 && sig_len == 64;
        EVP_MD_CTX_free(ctx);
        return ok ? 0 : ossl_fail(err, "Ed25519 sign");
}

int dsse_key_verify(const struct dsse_key *k, const void *msg, size_t len,
                    const unsigned char *sig, size_t sig_len, struct err *err)
{
        EVP_MD_CTX *ctx;
        int ok;

        if (sig_len != 64)
                return err_set(err, EBADMSG, "signature is %zu bytes, Ed25519 needs 64", sig_len);
        ctx = EVP_MD_CTX_new();
        if (ctx == NULL)
                xalloc_die(0);
        if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) != 1) {
                EVP_MD_CTX_free(ctx);
                return ossl_fail(err, "Ed25519 verify");
        }
        ok = EVP_DigestVerify(ctx, sig, sig_len, msg, len);
        EVP_MD_CTX_free(ctx);
        ERR_clear_error();
        if (ok != 1)
                return err_set(err, EBADMSG, "signature does not verify with key %s", k->keyid);
        return 0;
}
