/* cmd_version.c - `tfgate version`: tfgate's version and those of the
 * libraries it was linked against, as reported by the libraries at run time. */
#include <curl/curl.h>
#include <git2.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <seccomp.h>
#include <stdio.h>
#include <sys/capability.h>
#include <yaml.h>

#include "cli.h"

int cmd_version(int argc, char **argv)
{
        const struct scmp_version *sv = seccomp_version();
        int gmaj, gmin, grev;

        if (argc > 1)
                return cli_usage_error("version", "takes no arguments");
        git_libgit2_version(&gmaj, &gmin, &grev);
        printf("tfgate %s\n", TFGATE_VERSION);
        printf("  libgit2    %d.%d.%d\n", gmaj, gmin, grev);
        printf("  libcurl    %s\n", curl_version_info(CURLVERSION_NOW)->version);
        printf("  jansson    %s\n", jansson_version_str());
        printf("  libseccomp %u.%u.%u\n", sv->major, sv->minor, sv->micro);
        printf("  libyaml    %s\n", yaml_get_version_string());
        printf("  openssl    %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
        printf("  libcap     %d.%d (compile time)\n", LIBCAP_MAJOR, LIBCAP_MINOR);
        return EXIT_PASSED;
}
