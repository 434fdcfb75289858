/* tests/doubles/test_provider.c - A TEST PROVIDER BINARY.  Not a real
 * Terraform provider: it only proves it was executed.  The test mirror packs
 * it as terraform-provider-<type>_v<version>; the terraform test double runs
 * it from TF_DATA_DIR with `--tfgate-probe STEP` in every step after init,
 * so a data dir that is not executable, or a package that was not
 * installed, fails the step. */
#include <stdio.h>
#include <string.h>

#include "in_jail.h"

int main(int argc, char **argv)
{
        if (argc >= 2 && strcmp(argv[1], "--tfgate-probe") == 0) {
                fprintf(stderr, "test provider: started for %s\n", argc > 2 ? argv[2] : "?");
                return 0;
        }
        fprintf(stderr, "This binary is a test provider for tfgate's tests, not a Terraform plugin.\n");
        return 1;
}
