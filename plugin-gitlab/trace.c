/* trace.c - the job log as GitLab keeps it: one byte string that grows by
 * ranged PATCHes.  The whole trace stays in memory (bounded) because GitLab
 * may ask for any suffix again (416) or for all of it (412); the CRC32 and
 * size go into the final state update. */
#include "gitlab_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "runner/util/units.h"
#include "runner/util/xalloc.h"

#define CAP_NOTE "\n\033[0;33mtfgate: the job log reached its size limit; the rest is not shown\033[0m\n"

void gl_trace_init(struct gl_trace *t, size_t max)
{
        memset(t, 0, sizeof(*t));
        buf_init(&t->data, max);
        t->crc = (uint32_t)crc32(0L, Z_NULL, 0);
}

void gl_trace_free(struct gl_trace *t)
{
        buf_free(&t->data);
}

static void add(struct gl_trace *t, const void *p, size_t n)
{
        /* callers made sure it fits */
        if (n == 0 || buf_append(&t->data, p, n, NULL) < 0)
                return;
        t->crc = (uint32_t)crc32(t->crc, p, (uInt)n);
}

void gl_trace_append(struct gl_trace *t, const void *p, size_t n)
{
        size_t room;

        if (t->capped)
                return;
        /* keep room for the note so it always fits */
        room = t->data.max - t->data.len;
        room = room > sizeof(CAP_NOTE) - 1 ? room - (sizeof(CAP_NOTE) - 1) : 0;
        if (n <= room) {
                while (n > 0) {
                        /* crc32 takes uInt lengths */
                        size_t k = n > (1u << 30) ? (1u << 30) : n;

                        add(t, p, k);
                        p = (const char *)p + k;
                        n -= k;
                }
                return;
        }
        add(t, p, room);
        add(t, CAP_NOTE, sizeof(CAP_NOTE) - 1);
        t->capped = true;
}

size_t gl_trace_pending(const struct gl_trace *t)
{
        return t->data.len > t->sent ? t->data.len - t->sent : 0;
}

void gl_trace_chunk(const struct gl_trace *t, size_t max, size_t *off, size_t *len)
{
        size_t p = gl_trace_pending(t);

        *off = t->sent;
        *len = p < max ? p : max;
}

void gl_trace_acked(struct gl_trace *t, size_t end)
{
        t->sent = end <= t->data.len ? end : t->data.len;
}

int gl_range_end(uint64_t *end, const char *range, struct err *err)
{
        const char *dash = range ? strchr(range, '-') : NULL;
        uint64_t start;
        char first[32];

        if (dash == NULL || (size_t)(dash - range) >= sizeof(first))
                return err_set(err, EPROTO, "416 without a usable Range header");
        memcpy(first, range, (size_t)(dash - range));
        first[dash - range] = '\0';
        if (parse_uint(first, UINT64_MAX, &start, NULL) < 0 ||
            parse_uint(dash + 1, UINT64_MAX, end, NULL) < 0 || start != 0)
                return err_set(err, EPROTO, "416 with a malformed Range header");
        return 0;
}

int gl_trace_resync(struct gl_trace *t, const char *range, struct err *err)
{
        uint64_t end;
        int r = gl_range_end(&end, range, err);

        if (r < 0)
                return r;
        if (end > t->data.len)
                return err_set(err, EPROTO,
                               "GitLab claims %llu trace bytes, more than the %zu written",
                               (unsigned long long)end, t->data.len);
        t->sent = (size_t)end;
        return 0;
}

void gl_trace_reset(struct gl_trace *t)
{
        t->sent = 0;
}

void gl_trace_checksum(const struct gl_trace *t, char out[16])
{
        snprintf(out, 16, "crc32:%08x", t->crc);
}

char *gl_section_marker(const char *name, bool begin, time_t now)
{
        char clean[65];
        size_t o = 0;

        /* GitLab section names: the runner's own step names, still reduced
         * to [a-z0-9_] so no byte of a name can end the marker early */
        for (const char *p = name ? name : ""; *p != '\0' && o < sizeof(clean) - 1; p++) {
                char c = *p;

                if (c >= 'A' && c <= 'Z')
                        c = (char)(c - 'A' + 'a');
                clean[o++] = ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) ? c : '_';
        }
        if (o == 0)
                clean[o++] = '_';
        clean[o] = '\0';
        if (begin)
                return xasprintf("section_start:%lld:%s[collapsed=true]\r\033[0K",
                                 (long long)now, clean);
        return xasprintf("section_end:%lld:%s\r\033[0K", (long long)now, clean);
}
