/* cmd_sign.c - `tfgate sign --key KEY RESULT.json`: validate the result
 * against the schema, then write the DSSE envelope beside it as
 * RESULT.dsse.json, through the same dsse_sign_result() the pipeline calls. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "runner/sign/dsse.h"
#include "runner/sign/result.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

/* result.json -> result.dsse.json; anything else gets .dsse.json appended */
static char *envelope_path(const char *result_path)
{
        size_t n = strlen(result_path);

        if (n > 5 && strcmp(result_path + n - 5, ".json") == 0)
                return xasprintf("%.*s.dsse.json", (int)(n - 5), result_path);
        return xasprintf("%s.dsse.json", result_path);
}

static int policy_digest_of_file(char out[65], const char *path, struct err *err)
{
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = file_read_all(&data, &len, path, 16u << 20, err);

        if (r == 0)
                dsse_sha256_hex(out, data, len);
        return r;
}

int cmd_sign(int argc, char **argv)
{
        static const struct option opts[] = {
                { "key", required_argument, NULL, 'k' },
                { "policy-digest", required_argument, NULL, 'd' },
                { "policy-file", required_argument, NULL, 'f' },
                { "policy-uri", required_argument, NULL, 'u' },
                { NULL, 0, NULL, 0 },
        };
        _cleanup_(dsse_key_freep) struct dsse_key *key = NULL;
        _cleanup_free_ char *result = NULL, *env = NULL, *env_path = NULL;
        const char *key_path = NULL, *digest = NULL, *policy_file = NULL, *policy_uri = NULL;
        struct err err = ERR_INIT;
        char file_digest[65];
        size_t result_len, env_len;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "+k:", opts, NULL)) != -1) {
                switch (c) {
                case 'k': key_path = optarg; break;
                case 'd': digest = optarg; break;
                case 'f': policy_file = optarg; break;
                case 'u': policy_uri = optarg; break;
                default: return cli_usage_error("sign", "unknown option");
                }
        }
        if (key_path == NULL || optind + 1 != argc)
                return cli_usage_error("sign", "expected --key KEY and one RESULT.json");
        if (digest != NULL && policy_file != NULL)
                return cli_usage_error("sign", "--policy-digest and --policy-file exclude each other");
        if (policy_file != NULL) {
                if (policy_digest_of_file(file_digest, policy_file, &err) < 0)
                        goto fail_usage;
                digest = file_digest;
        }
        if (dsse_key_load_private(&key, key_path, &err) < 0)
                goto fail_usage;
        if (file_read_all(&result, &result_len, argv[optind], RESULT_MAX_BYTES, &err) < 0)
                goto fail_usage;
        if (dsse_sign_result(&env, &env_len, result, result_len, key, policy_uri, digest, &err) < 0) {
                fprintf(stderr, "tfgate: sign: %s: %s\n", argv[optind], err.msg);
                return EXIT_CHECK_FAILED;
        }
        env_path = envelope_path(argv[optind]);
        if (file_write_atomic(env_path, env, env_len, 0644, &err) < 0) {
                fprintf(stderr, "tfgate: sign: %s\n", err.msg);
                return EXIT_INFRA;
        }
        printf("signed %s -> %s (key id %s)\n", argv[optind], env_path, dsse_key_id(key));
        return EXIT_PASSED;
fail_usage:
        fprintf(stderr, "tfgate: sign: %s\n", err.msg);
        return EXIT_USAGE;
}
