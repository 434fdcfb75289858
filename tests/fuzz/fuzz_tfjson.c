/* fuzz_tfjson.c - terraform's JSON outputs as a hostile job could forge them */
#include <stdint.h>
#include <string.h>

#include "runner/pipeline/tfjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct tf_diags d = { 0 };
        struct tf_plan_summary s = { 0 };
        const char *p = (const char *)data, *end = p + size;
        bool valid;

        tfjson_parse_validate(&d, &valid, p, size, NULL);
        tfjson_parse_show(&s, p, size, NULL);
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

                tfjson_plan_line(&d, &s, p, n);
                p += n + 1;
        }
        tf_diags_free(&d);
        return 0;
}
