/* fuzz_config.c - the config loader on arbitrary bytes: whatever the input,
 * it must return either a config or errors (never both, never a partial
 * config), and everything it returns must free cleanly.  A loaded config
 * is also dumped, so the dumper sees every shape the loader accepts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "runner/config/config.h"
#include "runner/util/cleanup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct config *c = NULL;
        char **errors = NULL;
        struct err err = ERR_INIT;
        int r = config_load_string(&c, (const char *)data, size, "fuzz.yaml", &errors, &err);

        if (r == 0) {
                FILE *f = fopen("/dev/null", "w");

                if (c == NULL || errors != NULL || f == NULL)
                        abort();
                config_dump(c, f);
                fclose(f);
        } else if (c != NULL || errors == NULL || errors[0] == NULL || err.msg[0] == '\0') {
                abort();
        }
        config_free(c);
        strv_free(errors);
        return 0;
}
