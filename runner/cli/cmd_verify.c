/* cmd_verify.c - `tfgate verify --key PUB [--expect-commit SHA]
 * [--result FILE] ENVELOPE`: check a signed result offline.
 *
 * Exit 0 when the signature verifies over the PAE, every type check holds,
 * the commit is the expected one, the result file hashes to its subject, and
 * the verdict is PASSED; 1 when all of that holds but the verdict is FAILED;
 * 2 for usage errors and unreadable files; 4 when verification fails. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "runner/sign/dsse.h"
#include "runner/sign/result.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"

/* a failed verification is neither a usage error nor a FAILED verdict */
#define EXIT_NOT_VERIFIED 4

/* X.dsse.json -> X.json; NULL when the name does not say */
static char *default_result_path(const char *envelope)
{
        size_t n = strlen(envelope);

        if (n > 10 && strcmp(envelope + n - 10, ".dsse.json") == 0)
                return xasprintf("%.*s.json", (int)(n - 10), envelope);
        return NULL;
}

static void print_verified(const struct dsse_verified *v, const char *result_path)
{
        printf("signature:  valid (key id %s)\n", v->keyid);
        printf("verdict:    %s\n", v->verdict);
        printf("commit:     %s\n", v->commit);
        printf("ref:        %s\n", v->ref);
        printf("repository: %s\n", v->resource_uri);
        printf("result:     sha256:%s (%s matches)\n", v->result_sha256, result_path);
        printf("policy:     %s%s\n", v->policy_sha256[0] ? "sha256:" : "",
               v->policy_sha256[0] ? v->policy_sha256 : "(no digest)");
        printf("levels:     %s\n", v->levels[0] ? v->levels : "(none)");
        printf("verified:   %s\n", v->time_verified);
}

static int not_verified(const char *path, const char *msg)
{
        fprintf(stderr, "tfgate: verify: %s: NOT VERIFIED: %s\n", path, msg);
        return EXIT_NOT_VERIFIED;
}

int cmd_verify(int argc, char **argv)
{
        static const struct option opts[] = {
                { "key", required_argument, NULL, 'k' },
                { "expect-commit", required_argument, NULL, 'c' },
                { "result", required_argument, NULL, 'r' },
                { NULL, 0, NULL, 0 },
        };
        _cleanup_(dsse_key_freep) struct dsse_key *key = NULL;
        _cleanup_free_ char *env = NULL, *result = NULL, *default_result = NULL;
        const char *key_path = NULL, *commit = NULL, *result_path = NULL, *path;
        struct dsse_verified v;
        struct err err = ERR_INIT;
        size_t env_len, result_len;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "+k:", opts, NULL)) != -1) {
                switch (c) {
                case 'k': key_path = optarg; break;
                case 'c': commit = optarg; break;
                case 'r': result_path = optarg; break;
                default: return cli_usage_error("verify", "unknown option");
                }
        }
        if (key_path == NULL || optind + 1 != argc)
                return cli_usage_error("verify", "expected --key PUB and one envelope file");
        if (commit != NULL && !((strlen(commit) == 40 || strlen(commit) == 64) &&
                                strspn(commit, "0123456789abcdef") == strlen(commit)))
                return cli_usage_error("verify", "--expect-commit: expected 40 or 64 lowercase hex");
        path = argv[optind];
        if (result_path == NULL)
                result_path = default_result = default_result_path(path);
        if (result_path == NULL)
                return cli_usage_error("verify", "%s does not end in .dsse.json: name the result with --result FILE", path);
        if (dsse_key_load_public(&key, key_path, &err) < 0 ||
            file_read_all(&env, &env_len, path, DSSE_ENVELOPE_MAX, &err) < 0) {
                fprintf(stderr, "tfgate: verify: %s\n", err.msg);
                return EXIT_USAGE;
        }
        /* the result is part of what is verified: without it nothing holds */
        if (file_read_all(&result, &result_len, result_path, RESULT_MAX_BYTES, &err) < 0)
                return not_verified(path, err.msg);
        r = dsse_verify_result(&v, env, env_len, key, result, result_len, commit, &err);
        if (r < 0)
                return not_verified(path, err.msg);
        print_verified(&v, result_path);
        r = v.passed ? EXIT_PASSED : EXIT_CHECK_FAILED;
        dsse_verified_clear(&v);
        return r;
}
