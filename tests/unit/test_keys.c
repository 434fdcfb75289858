/* test_keys.c - key files: creation mode, no overwriting, refusing
 * readable private keys, other key types and encrypted keys; the key id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner/sign/keys.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

struct fixture {
        char dir[64];
        char *key, *pub;
};

static int setup(void **state)
{
        struct fixture *f = xcalloc(1, sizeof(*f));

        snprintf(f->dir, sizeof(f->dir), "/tmp/tfgate-test-keys.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->key = xasprintf("%s/signing.key", f->dir);
        f->pub = xasprintf("%s/signing.key.pub", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        rm_rf(f->dir, NULL);
        free(f->key);
        free(f->pub);
        free(f);
        return 0;
}

static void test_generate_and_load(void **state)
{
        struct fixture *f = *state;
        struct dsse_key *priv = NULL, *pub = NULL;
        _cleanup_free_ char *pem = NULL;
        unsigned char sig[64], *der = NULL;
        struct stat st;
        char want[65];
        size_t len;
        int n;

        umask(022);
        assert_int_equal(dsse_key_generate(f->key, NULL), 0);
        assert_int_equal(stat(f->key, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(stat(f->pub, &st), 0);
        assert_int_equal(file_read_all(&pem, &len, f->key, 4096, NULL), 0);
        assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));   /* PKCS#8 */

        assert_int_equal(dsse_key_load_private(&priv, f->key, NULL), 0);
        assert_int_equal(dsse_key_load_public(&pub, f->pub, NULL), 0);
        assert_true(dsse_key_is_private(priv));
        assert_false(dsse_key_is_private(pub));
        assert_string_equal(dsse_key_id(priv), dsse_key_id(pub));

        /* key id = hex SHA-256 of the DER SubjectPublicKeyInfo, computed here
         * independently from the PEM file */
        {
                FILE *fp = fopen(f->pub, "r");
                EVP_PKEY *pk = PEM_read_PUBKEY(fp, NULL, NULL, NULL);

                fclose(fp);
                n = i2d_PUBKEY(pk, &der);
                assert_int_equal(n, 44);   /* Ed25519 SPKI */
                dsse_sha256_hex(want, der, (size_t)n);
                assert_string_equal(dsse_key_id(pub), want);
                OPENSSL_free(der);
                EVP_PKEY_free(pk);
        }
        assert_int_equal(dsse_key_sign(sig, priv, "m", 1, NULL), 0);
        assert_int_equal(dsse_key_verify(pub, "m", 1, sig, 64, NULL), 0);
        assert_int_equal(dsse_key_verify(pub, "n", 1, sig, 64, NULL), -EBADMSG);
        assert_int_equal(dsse_key_verify(pub, "m", 1, sig, 63, NULL), -EBADMSG);
        assert_true(dsse_key_sign(sig, pub, "m", 1, NULL) < 0);
        dsse_key_free(priv);
        dsse_key_free(pub);
}

static void test_never_overwrites(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *before = NULL, *after = NULL;
        struct err err = ERR_INIT;
        size_t l1, l2;

        assert_int_equal(dsse_key_generate(f->key, NULL), 0);
        assert_int_equal(file_read_all(&before, &l1, f->key, 4096, NULL), 0);
        assert_int_equal(dsse_key_generate(f->key, &err), -EEXIST);
        assert_int_equal(file_read_all(&after, &l2, f->key, 4096, NULL), 0);
        assert_int_equal(l1, l2);
        assert_memory_equal(before, after, l1);

        /* only the .pub exists: refused, and no private key is left behind */
        assert_int_equal(unlink(f->key), 0);
        assert_int_equal(dsse_key_generate(f->key, &err), -EEXIST);
        assert_int_equal(access(f->key, F_OK), -1);
}

static void test_refuses_readable_private_key(void **state)
{
        struct fixture *f = *state;
        struct dsse_key *k = NULL;
        struct err err = ERR_INIT;

        assert_int_equal(dsse_key_generate(f->key, NULL), 0);
        assert_int_equal(chmod(f->key, 0640), 0);
        assert_true(dsse_key_load_private(&k, f->key, &err) < 0);
        assert_null(k);
        assert_non_null(strstr(err.msg, "0640"));
        assert_int_equal(chmod(f->key, 0604), 0);
        assert_true(dsse_key_load_private(&k, f->key, &err) < 0);
        assert_int_equal(chmod(f->key, 0600), 0);
        assert_int_equal(dsse_key_load_private(&k, f->key, NULL), 0);
        dsse_key_free(k);
}

static char *pem_of(EVP_PKEY *pkey, const EVP_CIPHER *cipher, bool private_key)
{
        BIO *bio = BIO_new(BIO_s_mem());
        char *data, *out;
        long n;

        if (private_key)
                assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, pkey, cipher, NULL, 0, NULL,
                                                               (void *)"passphrase"), 1);
        else
                assert_int_equal(PEM_write_bio_PUBKEY(bio, pkey), 1);
        n = BIO_get_mem_data(bio, &data);
        out = xstrndup(data, (size_t)n);
        BIO_free(bio);
        return out;
}

static void test_refuses_other_keys(void **state)
{
        EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        _cleanup_free_ char *ec_priv = pem_of(ec, NULL, true), *ec_pub = pem_of(ec, NULL, false);
        _cleanup_free_ char *ed_enc = pem_of(ed, EVP_aes_256_cbc(), true);
        _cleanup_free_ char *ed_pub = pem_of(ed, NULL, false);
        struct dsse_key *k = NULL;
        struct err err = ERR_INIT;

        assert_true(dsse_key_from_pem(&k, ec_priv, strlen(ec_priv), true, &err) < 0);
        assert_non_null(strstr(err.msg, "not an Ed25519 key"));
        assert_true(dsse_key_from_pem(&k, ec_pub, strlen(ec_pub), false, &err) < 0);
        /* encrypted: refused without asking for a passphrase */
        assert_true(dsse_key_from_pem(&k, ed_enc, strlen(ed_enc), true, &err) < 0);
        /* a public key where a private one is needed, and garbage */
        assert_true(dsse_key_from_pem(&k, ed_pub, strlen(ed_pub), true, &err) < 0);
        assert_true(dsse_key_from_pem(&k, "junk", 4, false, &err) < 0);
        assert_null(k);
        EVP_PKEY_free(ec);
        EVP_PKEY_free(ed);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_generate_and_load, setup, teardown),
                cmocka_unit_test_setup_teardown(test_never_overwrites, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refuses_readable_private_key, setup, teardown),
                cmocka_unit_test(test_refuses_other_keys),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
