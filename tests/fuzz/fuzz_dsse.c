/* fuzz_dsse.c - the DSSE envelope parser, the base64 decoder and the
 * statement reader on arbitrary bytes.  Every path must end in a clean
 * error or a parsed envelope, never a crash or a leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner/sign/dsse.h"
#include "runner/sign/statement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct dsse_envelope *env = NULL;
        struct statement_summary s;
        unsigned char *raw = NULL;
        size_t raw_len;

        if (dsse_envelope_parse(&env, (const char *)data, size, NULL) == 0) {
                if (statement_parse(&s, env->payload, env->payload_len, NULL) == 0)
                        statement_summary_clear(&s);
                dsse_envelope_free(env);
        }
        if (dsse_base64_decode(&raw, &raw_len, (const char *)data, size, NULL) == 0) {
                char *again = dsse_base64_encode(raw, raw_len);
                unsigned char *back = NULL;
                size_t back_len = 0;

                /* encode and decode are inverse on everything the decoder takes */
                if (dsse_base64_decode(&back, &back_len, again, strlen(again), NULL) < 0 ||
                    back_len != raw_len || memcmp(back, raw, raw_len) != 0)
                        abort();
                free(back);
                free(again);
                free(raw);
        }
        if (statement_parse(&s, data, size, NULL) == 0)
                statement_summary_clear(&s);
        return 0;
}
