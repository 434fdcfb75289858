/* fuzz_lockfile.c - the .terraform.lock.hcl reader must never crash, hang
 * or leak on any input; what it accepts must be internally consistent
 * (normalised versions, non-empty hash lists, unique sources). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner/providers/lockfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct lock_file *f = NULL;
        struct err e = ERR_INIT;

        if (lock_parse(&f, ".terraform.lock.hcl", (const char *)data, size, &e) < 0) {
                if (f != NULL || e.msg[0] == '\0')
                        abort();
                return 0;
        }
        for (size_t i = 0; i < f->n; i++) {
                const struct lock_provider *p = &f->providers[i];
                char canon[400];

                tfver_format(canon, sizeof(canon), &p->v);
                if (p->version == NULL || strcmp(canon, p->version) != 0 || lock_find(f, p->source) != p)
                        abort();
                for (size_t j = 0; j < p->n_hashes; j++)
                        if (strchr(p->hashes[j].value, ':') == NULL)
                                abort();
        }
        lock_file_free(f);
        return 0;
}
