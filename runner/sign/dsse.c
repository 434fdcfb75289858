/* dsse.c - DSSE envelopes: PAE, base64 in both alphabets, parse, sign,
 * verify, and the result signing calls built on them. */
#include "dsse.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "result.h"
#include "runner/util/buf.h"
#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"
#include "statement.h"

int dsse_pae(char **out, size_t *len, const char *type, const void *body, size_t body_len,
             struct err *err)
{
        struct buf b = BUF_INIT(DSSE_ENVELOPE_MAX + 4096);
        int r = buf_printf(&b, err, "DSSEv1 %zu %s %zu ", strlen(type), type, body_len);

        if (r == 0)
                r = buf_append(&b, body, body_len, err);
        if (r < 0) {
                buf_free(&b);
                return err_wrap(err, "PAE");
        }
        *out = buf_steal(&b, len);
        return 0;
}

/* 0..63 for both alphabets, -1 for anything else */
static int b64_value(unsigned char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+' || c == '-')
                return 62;
        if (c == '/' || c == '_')
                return 63;
        return -1;
}

int dsse_base64_decode(unsigned char **out, size_t *len, const char *in, size_t n,
                       struct err *err)
{
        size_t pad = 0, full, o = 0;
        uint32_t acc = 0;
        unsigned bits = 0;
        unsigned char *res;

        while (pad < 2 && n > 0 && in[n - 1] == '=') {
                n--;
                pad++;
        }
        if (pad > 0 && (n + pad) % 4 != 0)
                return err_set(err, EINVAL, "base64: wrong padding");
        if (n % 4 == 1)
                return err_set(err, EINVAL, "base64: impossible length");
        full = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
        res = xmalloc(full + 1);
        for (size_t i = 0; i < n; i++) {
                int v = b64_value((unsigned char)in[i]);

                if (v < 0) {
                        free(res);
                        return err_set(err, EINVAL, "base64: invalid character at offset %zu", i);
                }
                acc = (acc << 6) | (uint32_t)v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        res[o++] = (unsigned char)(acc >> bits);
                        acc &= (1u << bits) - 1;
                }
        }
        /* leftover bits must be zero: one encoding per byte string */
        if (acc != 0) {
                free(res);
                return err_set(err, EINVAL, "base64: non-zero trailing bits");
        }
        res[o] = '\0';
        *out = res;
        *len = o;
        return 0;
}

char *dsse_base64_encode(const void *data, size_t len)
{
        static const char alphabet[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const unsigned char *p = data;
        size_t n;
        char *out, *o;

        if (!size_add(&n, len, 2) || !size_mul(&n, n / 3, 4) || !size_add(&n, n, 1))
                xalloc_die(len);
        out = o = xmalloc(n);
        for (size_t i = 0; i < len; i += 3) {
                uint32_t v = (uint32_t)p[i] << 16;

                if (i + 1 < len)
                        v |= (uint32_t)p[i + 1] << 8;
                if (i + 2 < len)
                        v |= p[i + 2];
                *o++ = alphabet[(v >> 18) & 63];
                *o++ = alphabet[(v >> 12) & 63];
                *o++ = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
                *o++ = i + 2 < len ? alphabet[v & 63] : '=';
        }
        *o = '\0';
        return out;
}

void dsse_envelope_free(struct dsse_envelope *env)
{
        if (env == NULL)
                return;
        for (size_t i = 0; i < env->n_sigs; i++) {
                free(env->sigs[i].keyid);
                free(env->sigs[i].sig);
        }
        free(env->sigs);
        free(env->payload_type);
        free(env->payload);
        free(env);
}

static int parse_signature(struct dsse_signature *s, const json_t *o, size_t i, struct err *err)
{
        const json_t *keyid = json_object_get(o, "keyid");
        const json_t *sig = json_object_get(o, "sig");
        int r;

        if (!json_is_object(o))
                return err_set(err, EINVAL, "envelope: signatures[%zu] is not an object", i);
        if (!json_is_string(sig))
                return err_set(err, EINVAL, "envelope: signatures[%zu].sig must be a string", i);
        if (keyid != NULL && !json_is_string(keyid) && !json_is_null(keyid))
                return err_set(err, EINVAL, "envelope: signatures[%zu].keyid must be a string", i);
        if (json_string_length(keyid) > DSSE_MAX_KEYID)
                return err_set(err, EINVAL, "envelope: signatures[%zu].keyid is too long", i);
        r = dsse_base64_decode(&s->sig, &s->sig_len, json_string_value(sig),
                               json_string_length(sig), err);
        if (r < 0)
                return err_wrap(err, "envelope: signatures[%zu].sig", i);
        s->keyid = xstrdup(json_string_value(keyid) ?: "");
        return 0;
}

static int parse_fields(struct dsse_envelope *env, const json_t *doc, struct err *err)
{
        const json_t *type = json_object_get(doc, "payloadType");
        const json_t *payload = json_object_get(doc, "payload");
        const json_t *sigs = json_object_get(doc, "signatures");
        size_t i;
        json_t *s;
        int r;

        if (!json_is_object(doc))
                return err_set(err, EINVAL, "envelope: not a JSON object");
        if (!json_is_string(type) || json_string_length(type) > 256)
                return err_set(err, EINVAL, "envelope: payloadType must be a string of at most 256 bytes");
        if (!json_is_string(payload))
                return err_set(err, EINVAL, "envelope: payload must be a string");
        if (!json_is_array(sigs) || json_array_size(sigs) > DSSE_MAX_SIGNATURES)
                return err_set(err, EINVAL, "envelope: signatures must be an array of at most %d",
                               DSSE_MAX_SIGNATURES);
        env->payload_type = xstrdup(json_string_value(type));
        r = dsse_base64_decode(&env->payload, &env->payload_len, json_string_value(payload),
                               json_string_length(payload), err);
        if (r < 0)
                return err_wrap(err, "envelope: payload");
        env->sigs = xcalloc(json_array_size(sigs) + 1, sizeof(*env->sigs));
        json_array_foreach(sigs, i, s) {
                r = parse_signature(&env->sigs[i], s, i, err);
                if (r < 0)
                        return r;
                env->n_sigs++;
        }
        return 0;
}

int dsse_envelope_parse(struct dsse_envelope **out, const char *data, size_t len,
                        struct err *err)
{
        json_error_t jerr;
        json_t *doc;
        struct dsse_envelope *env;
        int r;

        *out = NULL;
        if (len > DSSE_ENVELOPE_MAX)
                return err_set(err, EFBIG, "envelope: larger than %u bytes", DSSE_ENVELOPE_MAX);
        doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
        if (doc == NULL)
                return err_set(err, EINVAL, "envelope: invalid JSON at line %d column %d: %s",
                               jerr.line, jerr.column, jerr.text);
        env = xcalloc(1, sizeof(*env));
        r = parse_fields(env, doc, err);
        json_decref(doc);
        if (r < 0) {
                dsse_envelope_free(env);
                return r;
        }
        *out = env;
        return 0;
}

int dsse_envelope_sign(char **out, size_t *len, const char *payload_type, const void *payload,
                       size_t payload_len, const struct dsse_key *key, struct err *err)
{
        _cleanup_free_ char *pae = NULL, *b64_payload = NULL, *b64_sig = NULL;
        unsigned char sig[64];
        size_t pae_len;
        json_t *env;
        char *s;
        int r = dsse_pae(&pae, &pae_len, payload_type, payload, payload_len, err);

        if (r == 0)
                r = dsse_key_sign(sig, key, pae, pae_len, err);
        if (r < 0)
                return r;
        b64_payload = dsse_base64_encode(payload, payload_len);
        b64_sig = dsse_base64_encode(sig, sizeof(sig));
        env = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "payloadType", payload_type,
                        "payload", b64_payload, "signatures", "keyid", dsse_key_id(key),
                        "sig", b64_sig);
        if (env == NULL)
                return err_set(err, EINVAL, "envelope: payload type is not valid UTF-8");
        s = json_dumps(env, JSON_COMPACT);
        json_decref(env);
        if (s == NULL)
                xalloc_die(0);
        *out = xasprintf("%s\n", s);
        *len = strlen(*out);
        free(s);
        return 0;
}

int dsse_envelope_verify(const struct dsse_envelope *env, const struct dsse_key *key,
                         struct err *err)
{
        _cleanup_free_ char *pae = NULL;
        size_t pae_len, tried = 0;
        int r = dsse_pae(&pae, &pae_len, env->payload_type, env->payload, env->payload_len, err);

        if (r < 0)
                return r;
        for (size_t i = 0; i < env->n_sigs; i++) {
                const struct dsse_signature *s = &env->sigs[i];

                /* keyid only narrows the search; the signature decides */
                if (s->keyid[0] != '\0' && strcmp(s->keyid, dsse_key_id(key)) != 0)
                        continue;
                tried++;
                if (dsse_key_verify(key, pae, pae_len, s->sig, s->sig_len, NULL) == 0)
                        return 0;
        }
        if (env->n_sigs == 0)
                return err_set(err, EBADMSG, "envelope has no signatures");
        if (tried == 0)
                return err_set(err, EBADMSG, "no signature has key id %s", dsse_key_id(key));
        return err_set(err, EBADMSG, "signature does not verify with key %s", dsse_key_id(key));
}

int dsse_sign_result(char **out, size_t *len, const char *result_json, size_t result_len,
                     const struct dsse_key *key, const char *policy_uri,
                     const char *policy_sha256, struct err *err)
{
        _cleanup_(result_freep) struct result *res = NULL;
        _cleanup_free_ char *st = NULL;
        char digest[65];
        size_t st_len;
        int r = result_from_json(&res, result_json, result_len, err);

        if (r < 0)
                return r;
        dsse_sha256_hex(digest, result_json, result_len);
        r = statement_build(&st, &st_len, res, digest, policy_uri, policy_sha256, err);
        if (r < 0)
                return r;
        return dsse_envelope_sign(out, len, DSSE_PAYLOAD_TYPE, st, st_len, key, err);
}

void dsse_verified_clear(struct dsse_verified *v)
{
        free(v->ref);
        free(v->resource_uri);
        free(v->time_verified);
        free(v->levels);
        memset(v, 0, sizeof(*v));
}

static void copy_fixed(char *dst, size_t n, const char *src)
{
        snprintf(dst, n, "%s", src ? src : "");
}

static void fill_verified(struct dsse_verified *out, struct statement_summary *s,
                          const struct dsse_key *key)
{
        out->passed = strcmp(s->verification_result, "PASSED") == 0;
        copy_fixed(out->verdict, sizeof(out->verdict), s->verification_result);
        copy_fixed(out->commit, sizeof(out->commit), s->commit);
        copy_fixed(out->result_sha256, sizeof(out->result_sha256), s->result_sha256);
        copy_fixed(out->policy_sha256, sizeof(out->policy_sha256), s->policy_sha256);
        copy_fixed(out->keyid, sizeof(out->keyid), dsse_key_id(key));
        out->ref = TAKE_PTR(s->ref);
        out->resource_uri = TAKE_PTR(s->resource_uri);
        out->time_verified = TAKE_PTR(s->time_verified);
        out->levels = TAKE_PTR(s->levels);
}

int dsse_verify_result(struct dsse_verified *out, const char *envelope, size_t envelope_len,
                       const struct dsse_key *key, const char *result_json, size_t result_len,
                       const char *expect_commit, struct err *err)
{
        _cleanup_(dsse_envelope_freep) struct dsse_envelope *env = NULL;
        struct statement_summary s;
        int r;

        memset(out, 0, sizeof(*out));
        r = dsse_envelope_parse(&env, envelope, envelope_len, err);
        if (r < 0)
                return r;
        r = dsse_envelope_verify(env, key, err);
        if (r < 0)
                return r;
        if (strcmp(env->payload_type, DSSE_PAYLOAD_TYPE) != 0)
                return err_set(err, EPROTO, "payloadType is \"%.64s\", expected %s",
                               env->payload_type, DSSE_PAYLOAD_TYPE);
        r = statement_parse(&s, env->payload, env->payload_len, err);
        if (r < 0)
                return r;
        if (expect_commit != NULL && strcmp(expect_commit, s.commit) != 0) {
                r = err_set(err, EPROTO, "commit is %s, expected %s", s.commit, expect_commit);
        } else if (result_json != NULL) {
                char digest[65];

                dsse_sha256_hex(digest, result_json, result_len);
                if (strcmp(digest, s.result_sha256) != 0)
                        r = err_set(err, EPROTO, "result file has sha256 %s, the statement names %s",
                                    digest, s.result_sha256);
                out->result_checked = r == 0;
        }
        if (r == 0)
                fill_verified(out, &s, key);
        statement_summary_clear(&s);
        return r;
}
