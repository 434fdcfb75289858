/* cmd_keygen.c - `tfgate keygen --out FILE`: a new Ed25519 signing key in
 * FILE (PKCS#8 PEM, 0600, never overwriting) and its public key in FILE.pub. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "runner/sign/keys.h"
#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

int cmd_keygen(int argc, char **argv)
{
        static const struct option opts[] = {
                { "out", required_argument, NULL, 'o' },
                { NULL, 0, NULL, 0 },
        };
        _cleanup_(dsse_key_freep) struct dsse_key *pub = NULL;
        _cleanup_free_ char *pub_path = NULL;
        struct err err = ERR_INIT;
        const char *out = NULL;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "+o:", opts, NULL)) != -1) {
                if (c != 'o')
                        return cli_usage_error("keygen", "unknown option");
                out = optarg;
        }
        if (out == NULL || optind != argc)
                return cli_usage_error("keygen", "--out FILE is required and nothing else");
        if (dsse_key_generate(out, &err) < 0) {
                fprintf(stderr, "tfgate: keygen: %s\n", err.msg);
                return EXIT_USAGE;
        }
        pub_path = xasprintf("%s.pub", out);
        if (dsse_key_load_public(&pub, pub_path, &err) < 0) {
                fprintf(stderr, "tfgate: keygen: %s\n", err.msg);
                return EXIT_INFRA;
        }
        printf("private key: %s (mode 0600)\npublic key:  %s\nkey id:      %s\n", out, pub_path,
               dsse_key_id(pub));
        return EXIT_PASSED;
}
