/* fuzz_redact.c - the streaming filter against the one-shot reference on
 * arbitrary input and arbitrary chunkings; any difference aborts.
 *
 * Input: byte 0 and 1 seed the chunk sizes and choose the options (line
 * cap or not), the rest is the job output.  Each input runs twice, with
 * SGR colours stripped and kept (keep_colour), and the reference's output
 * is checked for escape sequences that must not reach a sink.  The registry holds secrets
 * that overlap themselves and each other, a multi-line one, one with
 * non-ASCII bytes, plus the credential rules. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/redact/redact.h"

struct coll {
        uint8_t *b;
        size_t n, cap;
};

static int collect(void *arg, const void *p, size_t l)
{
        struct coll *c = arg;

        if (c->n + l > c->cap) {
                c->cap = (c->n + l) * 2 + 64;
                c->b = realloc(c->b, c->cap);
                if (c->b == NULL)
                        abort();
        }
        memcpy(c->b + c->n, p, l);
        c->n += l;
        return 0;
}

static struct redact_registry *registry(void)
{
        static const char *const secrets[] = {
                "abababab12", "aaaaaaab", "correct horse battery", "p@ss/w0rd'x+\"y",
                "tok\xc3\xa9n-\xe2\x82\xac-value", "line-one-x\nline-two-y", "SECRETVALUE",
        };
        struct redact_registry *r = redact_registry_new();

        for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
                redact_registry_add_secret(r, "F", secrets[i], strlen(secrets[i]), NULL);
        redact_registry_add_patterns(r, NULL);
        if (redact_registry_freeze(r, NULL) < 0)
                abort();
        return r;
}

/* What may reach a sink: no ESC at all, or with keep_colour only ESC [
 * digits and ';' m of at most REDACT_SGR_MAX bytes. */
static void check_escapes(const uint8_t *p, size_t n, bool keep)
{
        for (size_t i = 0; i < n; i++) {
                size_t k = i + 2;

                if (p[i] != 0x1B)
                        continue;
                if (!keep || i + 2 >= n || p[i + 1] != '[')
                        abort();
                while (k < n && ((p[k] >= '0' && p[k] <= '9') || p[k] == ';'))
                        k++;
                if (k >= n || p[k] != 'm' || k + 1 - i > REDACT_SGR_MAX)
                        abort();
                i = k;
        }
}

/* the stream in chunks drawn from seed against the reference */
static void compare(const struct redact_registry *reg, const struct redact_opts *opts,
                    uint32_t seed, const uint8_t *data, size_t size)
{
        struct redact_stream *s;
        struct coll c = { 0 };
        char *ref;
        size_t rn, off = 0;

        if (redact_oneshot(&ref, &rn, reg, opts, data, size, NULL) < 0)
                abort();
        check_escapes((const uint8_t *)ref, rn, opts->keep_colour);
        s = redact_stream_new(reg, opts);
        while (off < size) {
                size_t n;

                seed = seed * 1103515245u + 12345u;
                n = 1 + (seed >> 16) % ((seed & 0x100) ? 200 : 9);
                if (n > size - off)
                        n = size - off;
                if (redact_stream_write(s, data + off, n, collect, &c, NULL) < 0)
                        abort();
                off += n;
        }
        if (redact_stream_finish(s, collect, &c, NULL) < 0)
                abort();
        if (c.n != rn || (rn > 0 && memcmp(c.b, ref, rn) != 0)) {
                fprintf(stderr, "fuzz_redact: stream and reference differ (keep_colour=%d)\n",
                        opts->keep_colour);
                abort();
        }
        redact_stream_free(s);
        free(ref);
        free(c.b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* every input is compared with colours stripped and with colours kept */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct redact_registry *reg;
        struct redact_opts opts = { 0 };
        uint32_t seed;

        if (size < 2)
                return 0;
        if (reg == NULL)
                reg = registry();
        seed = (uint32_t)data[0] << 8 | data[1];
        if (seed & 1)
                opts.line_max = 16 + (seed >> 1) % 64;
        data += 2;
        size -= 2;
        compare(reg, &opts, seed, data, size);
        opts.keep_colour = true;
        compare(reg, &opts, seed, data, size);
        return 0;
}
