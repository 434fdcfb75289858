/* jwt.c - the GitHub App's RS256 JSON Web Token, and loading its key.
 *
 * GitHub accepts a JWT whose exp is at most 10 minutes ahead; asking for
 * exactly that fails now and then under clock drift, so iat is backdated
 * 60 s and exp is 9 minutes ahead (reference/github.md 1.1). */
#include <errno.h>
#include <inttypes.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <string.h>

#include "github_int.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

#define KEY_FILE_MAX (64u * 1024)
#define RSA_MIN_BITS 2048

static void b64url(struct buf *out, const unsigned char *p, size_t n, struct err *err)
{
        static const char tab[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        size_t i;

        for (i = 0; i + 2 < n; i += 3) {
                uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
                char q[4] = { tab[v >> 18], tab[(v >> 12) & 63], tab[(v >> 6) & 63], tab[v & 63] };

                buf_append(out, q, 4, err);
        }
        if (n - i == 1) {
                uint32_t v = (uint32_t)p[i] << 16;
                char q[2] = { tab[v >> 18], tab[(v >> 12) & 63] };

                buf_append(out, q, 2, err);
        } else if (n - i == 2) {
                uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
                char q[3] = { tab[v >> 18], tab[(v >> 12) & 63], tab[(v >> 6) & 63] };

                buf_append(out, q, 3, err);
        }
}

static void md_ctx_freep(EVP_MD_CTX **c)
{
        EVP_MD_CTX_free(*c);
}

int github_jwt_make(char **out, EVP_PKEY *key, int64_t app_id, time_t now, struct err *err)
{
        static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
        _cleanup_(buf_freep) struct buf b = BUF_INIT(16384);
        _cleanup_(md_ctx_freep) EVP_MD_CTX *md = NULL;
        _cleanup_free_ unsigned char *sig = NULL;
        char claims[128];
        size_t siglen = 0;
        int n;

        *out = NULL;
        if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
                return err_set(err, EINVAL, "GitHub App key is not an RSA key");
        if (app_id < 1)
                return err_set(err, EINVAL, "GitHub App id %" PRId64 " is not positive", app_id);
        n = snprintf(claims, sizeof(claims), "{\"iat\":%lld,\"exp\":%lld,\"iss\":%" PRId64 "}",
                     (long long)now - 60, (long long)now + 540, app_id);
        if (n < 0 || (size_t)n >= sizeof(claims))
                return err_set(err, EOVERFLOW, "JWT claims");
        b64url(&b, (const unsigned char *)header, strlen(header), NULL);
        buf_putc(&b, '.', NULL);
        b64url(&b, (const unsigned char *)claims, (size_t)n, NULL);

        md = EVP_MD_CTX_new();
        if (md == NULL)
                return err_set(err, ENOMEM, "EVP_MD_CTX_new");
        if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
            EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)b.data, b.len) != 1)
                return err_set(err, EIO, "JWT: RS256 signing setup failed");
        sig = xmalloc(siglen);
        if (EVP_DigestSign(md, sig, &siglen, (const unsigned char *)b.data, b.len) != 1)
                return err_set(err, EIO, "JWT: RS256 signing failed");
        buf_putc(&b, '.', NULL);
        b64url(&b, sig, siglen, NULL);
        if (b.data == NULL || b.len < 10)
                return err_set(err, EIO, "JWT: encoding failed");
        *out = buf_steal(&b, NULL);
        return 0;
}

static void bio_freep(BIO **b)
{
        BIO_free(*b);
}

int github_key_load(EVP_PKEY **out, const char *path, struct err *err)
{
        _cleanup_free_ char *pem = NULL;
        _cleanup_(bio_freep) BIO *bio = NULL;
        size_t len = 0;
        EVP_PKEY *k;
        int r;

        *out = NULL;
        r = file_read_secret(&pem, &len, path, KEY_FILE_MAX, err);
        if (r < 0)
                return r;
        bio = BIO_new_mem_buf(pem, (int)len);
        if (bio == NULL) {
                explicit_bzero(pem, len);
                return err_set(err, ENOMEM, "BIO_new_mem_buf");
        }
        k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        explicit_bzero(pem, len);
        ERR_clear_error();
        if (k == NULL)
                return err_set(err, EINVAL, "%s: not a PEM private key", path);
        if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
                EVP_PKEY_free(k);
                return err_set(err, EINVAL, "%s: a GitHub App key is RSA, this is not", path);
        }
        if (EVP_PKEY_get_bits(k) < RSA_MIN_BITS) {
                int bits = EVP_PKEY_get_bits(k);

                EVP_PKEY_free(k);
                return err_set(err, EINVAL, "%s: RSA key of %d bits, at least %d needed", path,
                               bits, RSA_MIN_BITS);
        }
        *out = k;
        return 0;
}
