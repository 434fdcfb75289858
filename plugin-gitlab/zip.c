/* zip.c - the artifacts tfgate uploads: a stored (uncompressed) zip of the
 * result files, and GitLab's terraform report.  result.json is small and
 * the envelope is base64: compression would save little and cost a
 * dependency on deflate framing; stored entries are plain zip all the same. */
#include "gitlab_int.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

static int put16(struct buf *b, unsigned v, struct err *err)
{
        unsigned char p[2] = { (unsigned char)v, (unsigned char)(v >> 8) };

        return buf_append(b, p, 2, err);
}

static int put32(struct buf *b, uint32_t v, struct err *err)
{
        unsigned char p[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                               (unsigned char)(v >> 24) };

        return buf_append(b, p, 4, err);
}

struct dos_time {
        unsigned time, date;
};

static struct dos_time dos_time(time_t t)
{
        struct tm tm;
        struct dos_time d = { 0, (1u << 5) | 1u }; /* 1980-01-01 */

        if (gmtime_r(&t, &tm) == NULL || tm.tm_year < 80 || tm.tm_year > 207)
                return d;
        d.time = ((unsigned)tm.tm_hour << 11) | ((unsigned)tm.tm_min << 5) | ((unsigned)tm.tm_sec / 2);
        d.date = ((unsigned)(tm.tm_year - 80) << 9) | ((unsigned)(tm.tm_mon + 1) << 5) |
                 (unsigned)tm.tm_mday;
        return d;
}

/* the fields local and central headers share, from "version needed" on */
static int common(struct buf *b, struct dos_time dt, uint32_t crc, uint32_t size, size_t nlen,
                  struct err *err)
{
        int r = 0;

        r |= put16(b, 20, err);      /* version needed: 2.0 */
        r |= put16(b, 0x0800, err);  /* flags: UTF-8 names */
        r |= put16(b, 0, err);       /* method: stored */
        r |= put16(b, dt.time, err);
        r |= put16(b, dt.date, err);
        r |= put32(b, crc, err);
        r |= put32(b, size, err);    /* compressed */
        r |= put32(b, size, err);    /* uncompressed */
        r |= put16(b, (unsigned)nlen, err);
        r |= put16(b, 0, err);       /* extra field length */
        return r < 0 ? -EFBIG : 0;
}

int gl_zip_stored(struct buf *out, const struct gl_zip_entry *e, size_t n, time_t mtime,
                  struct err *err)
{
        struct dos_time dt = dos_time(mtime);
        _cleanup_free_ uint32_t *offs = xcalloc(n ? n : 1, sizeof(uint32_t));
        _cleanup_free_ uint32_t *crcs = xcalloc(n ? n : 1, sizeof(uint32_t));
        size_t cd_start, cd_size;
        int r = 0;

        if (n > 0xffff)
                return err_set(err, EFBIG, "zip: too many entries");
        for (size_t i = 0; i < n; i++) {
                size_t nlen = strlen(e[i].name);

                /* no zip64: every size and offset must fit 32 bits */
                if (e[i].len > UINT32_MAX / 2 || out->len > UINT32_MAX / 2 || nlen > 0xffff)
                        return err_set(err, EFBIG, "zip: %s too large", e[i].name);
                offs[i] = (uint32_t)out->len;
                crcs[i] = (uint32_t)crc32(crc32(0L, Z_NULL, 0), e[i].data, (uInt)e[i].len);
                r |= put32(out, 0x04034b50, err);
                r |= common(out, dt, crcs[i], (uint32_t)e[i].len, nlen, err);
                r |= buf_append(out, e[i].name, nlen, err);
                r |= buf_append(out, e[i].data, e[i].len, err);
                if (r < 0)
                        return -EFBIG;
        }
        cd_start = out->len;
        for (size_t i = 0; i < n; i++) {
                size_t nlen = strlen(e[i].name);

                r |= put32(out, 0x02014b50, err);
                r |= put16(out, (3u << 8) | 20u, err); /* made by: unix, 2.0 */
                r |= common(out, dt, crcs[i], (uint32_t)e[i].len, nlen, err);
                r |= put16(out, 0, err);               /* comment length */
                r |= put16(out, 0, err);               /* disk */
                r |= put16(out, 0, err);               /* internal attributes */
                r |= put32(out, 0100644u << 16, err);  /* external: a 0644 file */
                r |= put32(out, offs[i], err);
                r |= buf_append(out, e[i].name, nlen, err);
        }
        cd_size = out->len - cd_start;
        r |= put32(out, 0x06054b50, err);
        r |= put16(out, 0, err);                       /* this disk */
        r |= put16(out, 0, err);                       /* disk of the directory */
        r |= put16(out, (unsigned)n, err);
        r |= put16(out, (unsigned)n, err);
        r |= put32(out, (uint32_t)cd_size, err);
        r |= put32(out, (uint32_t)cd_start, err);
        r |= put16(out, 0, err);                       /* comment length */
        return r < 0 ? -EFBIG : 0;
}

int gl_terraform_report(char **out, const char *result_json, size_t len, struct err *err)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        json_t *plan;
        json_int_t v[3];
        static const char *const keys[] = { "add", "change", "destroy" };

        *out = NULL;
        doc = json_loadb(result_json, len, 0, NULL);
        if (doc == NULL)
                return err_set(err, EINVAL, "result.json is not JSON");
        plan = json_object_get(doc, "plan");
        if (!json_is_object(plan))
                return 1;
        for (size_t i = 0; i < 3; i++) {
                json_t *k = json_object_get(plan, keys[i]);

                if (!json_is_integer(k) || json_integer_value(k) < 0)
                        return err_set(err, EINVAL, "result.json: plan.%s is not a count", keys[i]);
                /* GitLab's widget caps counts at 999999 */
                v[i] = json_integer_value(k) > 999999 ? 999999 : json_integer_value(k);
        }
        *out = xasprintf("{\"create\":%lld,\"update\":%lld,\"delete\":%lld}", (long long)v[0],
                         (long long)v[1], (long long)v[2]);
        return 0;
}
