/* test_hash_zipw.h - a tiny zip writer for tests (stored or deflate
 * entries, no zip64), so fixtures are generated at run time and hostile
 * variants can be made by patching known offsets.  Test-only. */
#ifndef TFGATE_TEST_HASH_ZIPW_H
#define TFGATE_TEST_HASH_ZIPW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "runner/util/buf.h"
#include "runner/util/xalloc.h"

struct zw_entry {
        const char *name;
        const void *data;
        size_t len;
        bool deflate;
};

/* where the writer put things, for tests that patch the result */
struct zw_layout {
        size_t lho[16];         /* local header offsets of the first 16 entries */
        size_t data_off[16];
        size_t cd_off;          /* central directory */
        size_t cd_entry[16];
        size_t eocd_off;
};

static inline void zw_le16(struct buf *b, unsigned v)
{
        unsigned char p[2] = { (unsigned char)v, (unsigned char)(v >> 8) };
        buf_append(b, p, 2, NULL);
}

static inline void zw_le32(struct buf *b, uint32_t v)
{
        unsigned char p[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                               (unsigned char)(v >> 24) };
        buf_append(b, p, 4, NULL);
}

static inline unsigned char *zw_deflate(const void *data, size_t len, size_t *out_len)
{
        z_stream s;
        size_t cap = compressBound(len) + 64;
        unsigned char *out = xmalloc(cap);

        memset(&s, 0, sizeof(s));
        deflateInit2(&s, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
        s.next_in = (unsigned char *)data;
        s.avail_in = (uInt)len;
        s.next_out = out;
        s.avail_out = (uInt)cap;
        deflate(&s, Z_FINISH);
        *out_len = cap - s.avail_out;
        deflateEnd(&s);
        return out;
}

static inline unsigned char *zw_build(size_t *out_len, struct zw_layout *lay, const struct zw_entry *e, size_t n)
{
        struct buf b = BUF_INIT((size_t)1 << 30);
        size_t *lho = xcalloc(n ? n : 1, sizeof(size_t));
        unsigned char **comp = xcalloc(n ? n : 1, sizeof(*comp));
        size_t *clen = xcalloc(n ? n : 1, sizeof(size_t));
        struct zw_layout dummy;

        if (lay == NULL)
                lay = &dummy;
        memset(lay, 0, sizeof(*lay));
        for (size_t i = 0; i < n; i++) {
                uint32_t crc = (uint32_t)crc32(0, e[i].data, (uInt)e[i].len);

                if (e[i].deflate)
                        comp[i] = zw_deflate(e[i].data, e[i].len, &clen[i]);
                else {
                        comp[i] = xmemdup(e[i].len ? e[i].data : "", e[i].len ? e[i].len : 1);
                        clen[i] = e[i].len;
                }
                lho[i] = b.len;
                if (i < 16)
                        lay->lho[i] = b.len;
                zw_le32(&b, 0x04034b50);
                zw_le16(&b, 20);
                zw_le16(&b, 0);
                zw_le16(&b, e[i].deflate ? 8 : 0);
                zw_le16(&b, 0);
                zw_le16(&b, 0x21);
                zw_le32(&b, crc);
                zw_le32(&b, (uint32_t)clen[i]);
                zw_le32(&b, (uint32_t)e[i].len);
                zw_le16(&b, (unsigned)strlen(e[i].name));
                zw_le16(&b, 0);
                buf_append(&b, e[i].name, strlen(e[i].name), NULL);
                if (i < 16)
                        lay->data_off[i] = b.len;
                buf_append(&b, comp[i], clen[i], NULL);
        }
        lay->cd_off = b.len;
        for (size_t i = 0; i < n; i++) {
                size_t nl = strlen(e[i].name);
                bool dir = nl > 0 && e[i].name[nl - 1] == '/';

                if (i < 16)
                        lay->cd_entry[i] = b.len;
                zw_le32(&b, 0x02014b50);
                zw_le16(&b, 0x031e);
                zw_le16(&b, 20);
                zw_le16(&b, 0);
                zw_le16(&b, e[i].deflate ? 8 : 0);
                zw_le16(&b, 0);
                zw_le16(&b, 0x21);
                zw_le32(&b, (uint32_t)crc32(0, e[i].data, (uInt)e[i].len));
                zw_le32(&b, (uint32_t)clen[i]);
                zw_le32(&b, (uint32_t)e[i].len);
                zw_le16(&b, (unsigned)nl);
                zw_le16(&b, 0);
                zw_le16(&b, 0);
                zw_le16(&b, 0);
                zw_le16(&b, 0);
                zw_le32(&b, (dir ? 040755u : 0100644u) << 16);
                zw_le32(&b, (uint32_t)lho[i]);
                buf_append(&b, e[i].name, nl, NULL);
        }
        lay->eocd_off = b.len;
        zw_le32(&b, 0x06054b50);
        zw_le16(&b, 0);
        zw_le16(&b, 0);
        zw_le16(&b, (unsigned)n);
        zw_le16(&b, (unsigned)n);
        zw_le32(&b, (uint32_t)(lay->eocd_off - lay->cd_off));
        zw_le32(&b, (uint32_t)lay->cd_off);
        zw_le16(&b, 0);
        for (size_t i = 0; i < n; i++)
                free(comp[i]);
        free(comp);
        free(clen);
        free(lho);
        return (unsigned char *)buf_steal(&b, out_len);
}

static inline void zw_put16(unsigned char *p, unsigned v)
{
        p[0] = (unsigned char)v;
        p[1] = (unsigned char)(v >> 8);
}

static inline void zw_put32(unsigned char *p, uint32_t v)
{
        zw_put16(p, v & 0xffff);
        zw_put16(p + 2, v >> 16);
}

#endif
