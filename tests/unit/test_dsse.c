/* test_dsse.c - PAE (the spec's vector), base64 in both alphabets, the
 * Ed25519 RFC 8032 vector, envelope signing and verification, tampering,
 * and dsse_sign_result()/dsse_verify_result() end to end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/sign/dsse.h"
#include "runner/sign/result.h"
#include "runner/sign/statement.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

static const char commit[] = "0123456789abcdef0123456789abcdef01234567";

/* the public half of a private dsse_key, via PEM like a user would have it */
static struct dsse_key *public_of(const char *priv_pem, size_t len)
{
        BIO *in = BIO_new_mem_buf(priv_pem, (int)len), *out = BIO_new(BIO_s_mem());
        EVP_PKEY *pkey = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
        struct dsse_key *k = NULL;
        char *pem;
        long n;

        assert_non_null(pkey);
        assert_int_equal(PEM_write_bio_PUBKEY(out, pkey), 1);
        n = BIO_get_mem_data(out, &pem);
        assert_int_equal(dsse_key_from_pem(&k, pem, (size_t)n, false, NULL), 0);
        BIO_free(in);
        BIO_free(out);
        EVP_PKEY_free(pkey);
        return k;
}

/* a signing key and its public half */
struct pair {
        struct dsse_key *priv, *pub;
};

static struct pair new_pair(void)
{
        EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        BIO *bio = BIO_new(BIO_s_mem());
        struct pair p = { NULL, NULL };
        char *pem;
        long n;

        assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
        n = BIO_get_mem_data(bio, &pem);
        assert_int_equal(dsse_key_from_pem(&p.priv, pem, (size_t)n, true, NULL), 0);
        p.pub = public_of(pem, (size_t)n);
        BIO_free(bio);
        EVP_PKEY_free(pkey);
        return p;
}

static void free_pair(struct pair *p)
{
        dsse_key_free(p->priv);
        dsse_key_free(p->pub);
}

static void test_pae_spec_vector(void **state)
{
        _cleanup_free_ char *pae = NULL;
        static const char want[] = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";
        size_t len;

        assert_int_equal(dsse_pae(&pae, &len, "http://example.com/HelloWorld", "hello world", 11, NULL), 0);
        assert_int_equal(len, strlen(want));
        assert_memory_equal(pae, want, len);
}

static void test_pae_binary_and_empty(void **state)
{
        _cleanup_free_ char *pae = NULL;
        static const char body[] = { 'a', '\0', 'b' };
        size_t len;

        assert_int_equal(dsse_pae(&pae, &len, "", body, 3, NULL), 0);
        assert_int_equal(len, 15);
        assert_memory_equal(pae, "DSSEv1 0  3 a\0b", 15);
}

static void expect_decode(const char *in, const char *want, size_t want_len)
{
        unsigned char *out = NULL;
        size_t len = 0;

        assert_int_equal(dsse_base64_decode(&out, &len, in, strlen(in), NULL), 0);
        assert_int_equal(len, want_len);
        assert_memory_equal(out, want, len);
        free(out);
}

static void expect_decode_fails(const char *in)
{
        unsigned char *out = NULL;
        size_t len = 0;
        struct err err = ERR_INIT;

        assert_true(dsse_base64_decode(&out, &len, in, strlen(in), &err) < 0);
        assert_null(out);
}

static void test_base64_alphabets(void **state)
{
        /* 0xfb 0xff 0xbf: "+/+/" standard, "-_-_" URL-safe */
        expect_decode("+/+/", "\xfb\xff\xbf", 3);
        expect_decode("-_-_", "\xfb\xff\xbf", 3);
        expect_decode("aGVsbG8=", "hello", 5);
        expect_decode("aGVsbG8", "hello", 5);
        expect_decode("aGk=", "hi", 2);
        expect_decode("aGk", "hi", 2);
        expect_decode("", "", 0);
        expect_decode_fails("aGVsbG8==");   /* wrong padding */
        expect_decode_fails("aGk==");
        expect_decode_fails("a");           /* impossible length */
        expect_decode_fails("aGVs bG8=");   /* whitespace */
        expect_decode_fails("aGVsbG8\n");
        expect_decode_fails("aGVsbG9=");    /* non-zero trailing bits */
        expect_decode_fails("aGl=");
        expect_decode_fails("aG=k");        /* padding inside */
        expect_decode_fails("*GVsbG8=");
}

static void test_base64_roundtrip(void **state)
{
        unsigned char data[100];

        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (unsigned char)(i * 37 + 11);
        for (size_t n = 0; n <= sizeof(data); n++) {
                _cleanup_free_ char *enc = dsse_base64_encode(data, n);
                unsigned char *dec = NULL;
                size_t len;

                assert_int_equal(strlen(enc), (n + 2) / 3 * 4);
                assert_int_equal(dsse_base64_decode(&dec, &len, enc, strlen(enc), NULL), 0);
                assert_int_equal(len, n);
                assert_memory_equal(dec, data, n);
                free(dec);
        }
}

/* RFC 8032 section 7.1, TEST 1 (empty message) */
static void test_ed25519_rfc8032(void **state)
{
        static const unsigned char secret[32] = {
                0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
                0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60 };
        static const char want_sig[] =
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
        EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, secret, 32);
        BIO *bio = BIO_new(BIO_s_mem());
        struct dsse_key *k = NULL;
        unsigned char sig[64];
        char hex[129];
        char *pem;
        long n;

        assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
        n = BIO_get_mem_data(bio, &pem);
        assert_int_equal(dsse_key_from_pem(&k, pem, (size_t)n, true, NULL), 0);
        assert_int_equal(dsse_key_sign(sig, k, "", 0, NULL), 0);
        for (int i = 0; i < 64; i++)
                snprintf(hex + 2 * i, 3, "%02x", sig[i]);
        assert_string_equal(hex, want_sig);
        assert_int_equal(dsse_key_verify(k, "", 0, sig, 64, NULL), 0);
        sig[10] ^= 1;
        assert_int_equal(dsse_key_verify(k, "", 0, sig, 64, NULL), -EBADMSG);
        dsse_key_free(k);
        BIO_free(bio);
        EVP_PKEY_free(pkey);
}

/* re-serialise env with the given payloadType / payload / sig strings */
static char *rebuild(const char *type, const char *payload_b64, const char *keyid, const char *sig_b64)
{
        json_t *o = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "payloadType", type, "payload",
                              payload_b64, "signatures", "keyid", keyid, "sig", sig_b64);
        char *s = json_dumps(o, JSON_COMPACT);

        json_decref(o);
        return s;
}

static int verify_text(const char *text, const struct dsse_key *pub, struct err *err)
{
        struct dsse_envelope *env = NULL;
        int r = dsse_envelope_parse(&env, text, strlen(text), err);

        if (r == 0)
                r = dsse_envelope_verify(env, pub, err);
        dsse_envelope_free(env);
        return r;
}

static void to_urlsafe(char *s, bool strip_padding)
{
        for (char *p = s; *p; p++) {
                if (*p == '+')
                        *p = '-';
                else if (*p == '/')
                        *p = '_';
                else if (*p == '=' && strip_padding)
                        *p = '\0';
        }
}

static void test_envelope_tampering(void **state)
{
        struct pair p = new_pair(), other = new_pair();
        _cleanup_free_ char *env = NULL;
        struct dsse_envelope *parsed = NULL;
        struct err err = ERR_INIT;
        static const char payload[] = "{\"hello\":\"world\"}";
        size_t len;
        char *pl, *sig, *s;

        assert_int_equal(dsse_envelope_sign(&env, &len, DSSE_PAYLOAD_TYPE, payload, strlen(payload),
                                            p.priv, NULL), 0);
        assert_int_equal(verify_text(env, p.pub, NULL), 0);
        assert_int_equal(verify_text(env, p.priv, NULL), 0);
        assert_int_equal(verify_text(env, other.pub, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "no signature has key id"));

        assert_int_equal(dsse_envelope_parse(&parsed, env, len, NULL), 0);
        assert_string_equal(parsed->sigs[0].keyid, dsse_key_id(p.pub));
        pl = dsse_base64_encode(parsed->payload, parsed->payload_len);
        sig = dsse_base64_encode(parsed->sigs[0].sig, parsed->sigs[0].sig_len);

        /* untouched rebuild verifies; URL-safe with and without padding too */
        s = rebuild(DSSE_PAYLOAD_TYPE, pl, dsse_key_id(p.pub), sig);
        assert_int_equal(verify_text(s, p.pub, NULL), 0);
        free(s);
        {
                _cleanup_free_ char *pl2 = xstrdup(pl), *sig2 = xstrdup(sig);
                _cleanup_free_ char *pl3 = xstrdup(pl), *sig3 = xstrdup(sig);

                to_urlsafe(pl2, false);
                to_urlsafe(sig2, false);
                to_urlsafe(pl3, true);
                to_urlsafe(sig3, true);
                s = rebuild(DSSE_PAYLOAD_TYPE, pl2, dsse_key_id(p.pub), sig2);
                assert_int_equal(verify_text(s, p.pub, NULL), 0);
                free(s);
                s = rebuild(DSSE_PAYLOAD_TYPE, pl3, dsse_key_id(p.pub), sig3);
                assert_int_equal(verify_text(s, p.pub, NULL), 0);
                free(s);
        }
        /* an empty keyid is allowed: it only stops narrowing the search */
        s = rebuild(DSSE_PAYLOAD_TYPE, pl, "", sig);
        assert_int_equal(verify_text(s, p.pub, NULL), 0);
        assert_int_equal(verify_text(s, other.pub, NULL), -EBADMSG);
        free(s);
        /* payload type changed under the same signature */
        s = rebuild("application/vnd.in-toto.vsa+json", pl, dsse_key_id(p.pub), sig);
        assert_int_equal(verify_text(s, p.pub, NULL), -EBADMSG);
        free(s);
        /* payload changed */
        {
                _cleanup_free_ char *pl2 = dsse_base64_encode("{\"hello\":\"World\"}", 17);

                s = rebuild(DSSE_PAYLOAD_TYPE, pl2, dsse_key_id(p.pub), sig);
                assert_int_equal(verify_text(s, p.pub, NULL), -EBADMSG);
                free(s);
        }
        /* truncated signature: 63 bytes */
        {
                _cleanup_free_ char *sig2 = dsse_base64_encode(parsed->sigs[0].sig, 63);

                s = rebuild(DSSE_PAYLOAD_TYPE, pl, dsse_key_id(p.pub), sig2);
                assert_int_equal(verify_text(s, p.pub, &err), -EBADMSG);
                free(s);
        }
        /* a flipped bit in the signature */
        {
                _cleanup_free_ char *sig2 = NULL;

                parsed->sigs[0].sig[5] ^= 0x20;
                sig2 = dsse_base64_encode(parsed->sigs[0].sig, 64);
                s = rebuild(DSSE_PAYLOAD_TYPE, pl, dsse_key_id(p.pub), sig2);
                assert_int_equal(verify_text(s, p.pub, NULL), -EBADMSG);
                free(s);
        }
        free(pl);
        free(sig);
        dsse_envelope_free(parsed);
        free_pair(&p);
        free_pair(&other);
}

static void test_envelope_parse_errors(void **state)
{
        static const char *const bad[] = {
                "",
                "[]",
                "{\"payloadType\":\"t\",\"payload\":\"\"}",
                "{\"payloadType\":1,\"payload\":\"\",\"signatures\":[]}",
                "{\"payloadType\":\"t\",\"payload\":\"@@\",\"signatures\":[]}",
                "{\"payloadType\":\"t\",\"payload\":\"\",\"signatures\":[{}]}",
                "{\"payloadType\":\"t\",\"payload\":\"\",\"signatures\":[{\"sig\":5}]}",
                "{\"payloadType\":\"t\",\"payload\":\"\",\"signatures\":[{\"sig\":\"\",\"keyid\":7}]}",
                "{\"payloadType\":\"t\",\"payloadType\":\"u\",\"payload\":\"\",\"signatures\":[]}",
                "{\"payloadType\":\"t\",\"payload\":\"\",\"signatures\":[1]}",
        };
        struct dsse_envelope *env = NULL;
        struct pair p = new_pair();

        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                assert_true(dsse_envelope_parse(&env, bad[i], strlen(bad[i]), NULL) < 0);
                assert_null(env);
        }
        /* unknown keys are ignored; no signatures parses but never verifies */
        assert_int_equal(dsse_envelope_parse(&env, "{\"x\":1,\"payloadType\":\"t\",\"payload\":\"\",\"signatures\":[]}", 54, NULL), 0);
        assert_int_equal(dsse_envelope_verify(env, p.pub, NULL), -EBADMSG);
        dsse_envelope_free(env);
        free_pair(&p);
}

static char *make_result(const char *verdict_passed_or_failed)
{
        _cleanup_(result_freep) struct result *r = result_new();
        struct result_step step = { "plan", 0, "exited 0", 1200, 345, false };
        struct timespec t0 = { 1764054000, 0 }, t1 = { 1764054065, 250000000 };
        char *out;
        size_t len;

        assert_int_equal(result_set_job(r, "00112233445566778899aabbccddeeff", "gitlab", "g/p", NULL), 0);
        assert_int_equal(result_set_source(r, "https://u:tok@git.example.com/g/p.git", "refs/heads/main", commit, NULL), 0);
        assert_int_equal(result_set_versions(r, "0.1.0", "1.9.8", NULL), 0);
        assert_int_equal(result_set_mode(r, "plan", NULL), 0);
        assert_int_equal(result_add_step(r, &step, NULL), 0);
        assert_int_equal(result_set_plan(r, 1, 0, 0, NULL), 0);
        assert_int_equal(result_set_verdict(r, strcmp(verdict_passed_or_failed, "PASSED") == 0
                                                       ? RESULT_PASSED : RESULT_FAILED,
                                            "all steps passed", NULL), 0);
        assert_int_equal(result_set_times(r, &t0, &t1, NULL), 0);
        assert_int_equal(result_to_json(&out, &len, r, NULL), 0);
        return out;
}

static void test_sign_and_verify_result(void **state)
{
        struct pair p = new_pair(), other = new_pair();
        _cleanup_free_ char *res = make_result("PASSED"), *failed = make_result("FAILED");
        _cleanup_free_ char *env = NULL, *env2 = NULL, *env3 = NULL;
        static const char policy[] = "aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11";
        struct dsse_verified v;
        struct err err = ERR_INIT;
        size_t len, len2, len3;
        char digest[65];

        assert_int_equal(dsse_sign_result(&env, &len, res, strlen(res), p.priv, NULL, policy, NULL), 0);
        /* deterministic: the same inputs give the same envelope */
        assert_int_equal(dsse_sign_result(&env2, &len2, res, strlen(res), p.priv, NULL, policy, NULL), 0);
        assert_int_equal(len, len2);
        assert_memory_equal(env, env2, len);

        assert_int_equal(dsse_verify_result(&v, env, len, p.pub, res, strlen(res), commit, &err), 0);
        assert_true(v.passed);
        assert_true(v.result_checked);
        assert_string_equal(v.verdict, "PASSED");
        assert_string_equal(v.commit, commit);
        assert_string_equal(v.ref, "refs/heads/main");
        /* credentials never reach the statement */
        assert_string_equal(v.resource_uri, "git+https://git.example.com/g/p.git");
        assert_string_equal(v.policy_sha256, policy);
        assert_string_equal(v.levels, "ORG_SOURCE_TFGATE_PROVIDERS_PINNED,ORG_SOURCE_TFGATE_PLAN_PASSED");
        dsse_sha256_hex(digest, res, strlen(res));
        assert_string_equal(v.result_sha256, digest);
        dsse_verified_clear(&v);

        /* wrong commit, changed result, other key: each refused */
        assert_true(dsse_verify_result(&v, env, len, p.pub, res, strlen(res),
                                       "1123456789abcdef0123456789abcdef01234567", &err) < 0);
        assert_non_null(strstr(err.msg, "expected"));
        res[strlen(res) - 2] ^= 1;
        assert_true(dsse_verify_result(&v, env, len, p.pub, res, strlen(res), NULL, &err) < 0);
        assert_non_null(strstr(err.msg, "result file has sha256"));
        res[strlen(res) - 2] ^= 1;
        assert_true(dsse_verify_result(&v, env, len, other.pub, res, strlen(res), NULL, &err) < 0);

        /* a FAILED result verifies but does not pass, and claims no level */
        assert_int_equal(dsse_sign_result(&env3, &len3, failed, strlen(failed), p.priv, NULL, NULL, NULL), 0);
        assert_int_equal(dsse_verify_result(&v, env3, len3, p.pub, failed, strlen(failed), NULL, NULL), 0);
        assert_false(v.passed);
        assert_string_equal(v.verdict, "FAILED");
        assert_string_equal(v.levels, "");
        assert_string_equal(v.policy_sha256, "");
        dsse_verified_clear(&v);

        /* an invalid result is never signed */
        {
                _cleanup_free_ char *bad = NULL, *out = NULL;
                char *at = strstr(res, "\"mode\":\"plan\"");

                assert_non_null(at);
                bad = xstrdup(res);
                memcpy(bad + (at - res), "\"mode\":\"plon\"", 13);
                assert_true(dsse_sign_result(&out, &len, bad, strlen(bad), p.priv, NULL, policy, &err) < 0);
                assert_non_null(strstr(err.msg, "mode"));
                assert_true(dsse_sign_result(&out, &len, res, strlen(res), p.priv, NULL, "ABC", &err) < 0);
                /* a public key cannot sign */
                assert_true(dsse_sign_result(&out, &len, res, strlen(res), p.pub, NULL, policy, &err) < 0);
        }
        free_pair(&p);
        free_pair(&other);
}

/* a correctly signed envelope whose statement is wrong must still fail */
static void test_verify_statement_checks(void **state)
{
        struct pair p = new_pair();
        _cleanup_free_ char *res = make_result("PASSED");
        static const char *const wrong[] = {
                "{\"_type\":\"https://in-toto.io/Statement/v0.1\"}",
                "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"https://slsa.dev/provenance/v1\"}",
                "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"https://slsa.dev/verification_summary/v1\",\"subject\":[]}",
                "not json",
        };
        struct dsse_verified v;
        struct err err = ERR_INIT;

        for (size_t i = 0; i < ARRAY_SIZE(wrong); i++) {
                _cleanup_free_ char *env = NULL;
                size_t len;

                assert_int_equal(dsse_envelope_sign(&env, &len, DSSE_PAYLOAD_TYPE, wrong[i],
                                                    strlen(wrong[i]), p.priv, NULL), 0);
                assert_true(dsse_verify_result(&v, env, len, p.pub, NULL, 0, NULL, &err) < 0);
                assert_non_null(strstr(err.msg, "statement"));
        }
        /* a good statement under another payload type: signed, but refused */
        {
                _cleanup_free_ char *st = NULL, *env = NULL;
                _cleanup_(result_freep) struct result *r = NULL;
                char digest[65];
                size_t st_len, len;

                assert_int_equal(result_from_json(&r, res, strlen(res), NULL), 0);
                dsse_sha256_hex(digest, res, strlen(res));
                assert_int_equal(statement_build(&st, &st_len, r, digest, NULL, NULL, NULL), 0);
                assert_int_equal(dsse_envelope_sign(&env, &len, "application/json", st, st_len,
                                                    p.priv, NULL), 0);
                assert_true(dsse_verify_result(&v, env, len, p.pub, res, strlen(res), NULL, &err) < 0);
                assert_non_null(strstr(err.msg, "payloadType"));
        }
        free_pair(&p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pae_spec_vector),
                cmocka_unit_test(test_pae_binary_and_empty),
                cmocka_unit_test(test_base64_alphabets),
                cmocka_unit_test(test_base64_roundtrip),
                cmocka_unit_test(test_ed25519_rfc8032),
                cmocka_unit_test(test_envelope_tampering),
                cmocka_unit_test(test_envelope_parse_errors),
                cmocka_unit_test(test_sign_and_verify_result),
                cmocka_unit_test(test_verify_statement_checks),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
