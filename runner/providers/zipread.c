/* zipread.c - bounded zip central-directory reader (see zipread.h).
 *
 * Layout facts (APPNOTE.TXT 4.3): the end-of-central-directory record
 * (EOCD, 22 bytes + comment) is at the end of the file; it gives the
 * central directory's offset and size; each central entry (46 bytes +
 * name + extra + comment) gives the local header offset; each local header
 * (30 bytes + name + extra) precedes the entry's data.  Like Go's
 * archive/zip, the central directory is authoritative for sizes, CRC and
 * names, and the local header only tells where the data starts. */
#include "zipread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "runner/util/cleanup.h"
#include "runner/util/xalloc.h"

#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64_LOC 0x07064b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_LOCAL 0x04034b50u
#define EOCD_LEN 22u
#define CENTRAL_LEN 46u
#define LOCAL_LEN 30u
#define MAX_COMMENT 65535u

static uint16_t le16(const unsigned char *p)
{
        return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t le32(const unsigned char *p)
{
        return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static int pread_full(int fd, void *buf, size_t n, uint64_t off)
{
        size_t done = 0;

        while (done < n) {
                ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));

                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r == 0)
                        return -EIO;    /* the file shrank under us */
                done += (size_t)r;
        }
        return 0;
}

/* The name rules that keep extraction inside its directory; a provider
 * package never needs anything else. */
static const char *bad_name(const unsigned char *p, size_t n)
{
        if (n == 0)
                return "empty name";
        if (n > ZIPR_MAX_NAME)
                return "name too long";
        if (p[0] == '/')
                return "absolute path";
        if (n >= 2 && p[1] == ':')
                return "drive-letter path";
        for (size_t i = 0; i < n; i++) {
                if (p[i] == '\0')
                        return "NUL byte in name";
                if (p[i] == '\n')
                        return "newline in name";
                if (p[i] == '\\')
                        return "backslash in name";
        }
        for (size_t i = 0; i < n;) {
                size_t j = i;

                while (j < n && p[j] != '/')
                        j++;
                if (j - i == 2 && p[i] == '.' && p[i + 1] == '.')
                        return "\"..\" in path";
                i = j + 1;
        }
        return NULL;
}

static int find_eocd(uint64_t *eocd_off, unsigned char out[EOCD_LEN], int fd, uint64_t size,
                     const char *label, struct err *err)
{
        size_t tail = (size_t)(size < EOCD_LEN + MAX_COMMENT ? size : EOCD_LEN + MAX_COMMENT);
        _cleanup_free_ unsigned char *b = NULL;
        int r;

        if (size < EOCD_LEN)
                return err_set(err, 0, "%s: not a zip file (too short)", label);
        b = xmalloc(tail);
        if ((r = pread_full(fd, b, tail, size - tail)) < 0)
                return err_set(err, -r, "%s: read", label);
        /* the last signature whose comment fits in the file, as Go does */
        for (size_t i = tail - EOCD_LEN + 1; i-- > 0;) {
                if (le32(b + i) == SIG_EOCD && i + EOCD_LEN + le16(b + i + 20) <= tail) {
                        memcpy(out, b + i, EOCD_LEN);
                        *eocd_off = size - tail + i;
                        if (i >= 20 && le32(b + i - 20) == SIG_EOCD64_LOC)
                                return err_set(err, 0, "%s: zip64 archives are not supported", label);
                        return 0;
                }
        }
        return err_set(err, 0, "%s: not a zip file (no end of central directory record)", label);
}

static int entry_order(const void *a, const void *b)
{
        const struct zipr_entry *x = *(struct zipr_entry *const *)a, *y = *(struct zipr_entry *const *)b;

        return x->lho < y->lho ? -1 : x->lho > y->lho;
}

static int name_order(const void *a, const void *b)
{
        return strcmp((*(struct zipr_entry *const *)a)->name, (*(struct zipr_entry *const *)b)->name);
}

static int parse_central(struct zipr *z, const unsigned char *cd, uint64_t cd_len, size_t count,
                         uint64_t cd_off, const char *label, struct err *err)
{
        uint64_t pos = 0, total = 0;

        z->e = xcalloc(count ? count : 1, sizeof(*z->e));
        for (size_t i = 0; i < count; i++) {
                struct zipr_entry *e = &z->e[i];
                const unsigned char *h = cd + pos;
                uint16_t flags, nlen, xlen, clen;
                const char *why;

                if (cd_len - pos < CENTRAL_LEN || le32(h) != SIG_CENTRAL)
                        return err_set(err, 0, "%s: central directory entry %zu is corrupt", label, i);
                flags = le16(h + 8);
                e->method = le16(h + 10);
                e->crc = le32(h + 16);
                e->csize = le32(h + 20);
                e->usize = le32(h + 24);
                nlen = le16(h + 28);
                xlen = le16(h + 30);
                clen = le16(h + 32);
                e->lho = le32(h + 42);
                if (cd_len - pos - CENTRAL_LEN < (uint64_t)nlen + xlen + clen)
                        return err_set(err, 0, "%s: central directory entry %zu overruns the directory", label, i);
                if ((why = bad_name(h + CENTRAL_LEN, nlen)) != NULL)
                        return err_set(err, 0, "%s: entry %zu: %s", label, i, why);
                e->name = xstrndup((const char *)h + CENTRAL_LEN, nlen);
                z->n = i + 1;
                if (e->csize == 0xffffffffu || e->usize == 0xffffffffu || e->lho == 0xffffffffu)
                        return err_set(err, 0, "%s: %s: zip64 entries are not supported", label, e->name);
                if (flags & 0x0001)
                        return err_set(err, 0, "%s: %s: encrypted entries are not supported", label, e->name);
                if (e->method != 0 && e->method != 8)
                        return err_set(err, 0, "%s: %s: compression method %u is not supported (only stored and deflate)",
                                       label, e->name, e->method);
                if (e->method == 0 && e->csize != e->usize)
                        return err_set(err, 0, "%s: %s: stored entry with different compressed and uncompressed sizes",
                                       label, e->name);
                e->is_dir = e->name[nlen - 1] == '/';
                if (e->is_dir && e->usize != 0)
                        return err_set(err, 0, "%s: %s: directory entry with content", label, e->name);
                total += e->usize;
                if (total > ZIPR_MAX_TOTAL)
                        return err_set(err, 0, "%s: uncompressed size exceeds the limit of %llu bytes", label,
                                       (unsigned long long)ZIPR_MAX_TOTAL);
                if (e->lho > cd_off || cd_off - e->lho < LOCAL_LEN)
                        return err_set(err, 0, "%s: %s: local header outside the file's data area", label, e->name);
                pos += CENTRAL_LEN + (uint64_t)nlen + xlen + clen;
        }
        return 0;
}

static int read_local_headers(struct zipr *z, uint64_t cd_off, const char *label, struct err *err)
{
        for (size_t i = 0; i < z->n; i++) {
                struct zipr_entry *e = &z->e[i];
                unsigned char h[LOCAL_LEN];
                int r;

                if ((r = pread_full(z->fd, h, LOCAL_LEN, e->lho)) < 0)
                        return err_set(err, -r, "%s: %s: read local header", label, e->name);
                if (le32(h) != SIG_LOCAL)
                        return err_set(err, 0, "%s: %s: bad local header signature", label, e->name);
                e->data_off = e->lho + LOCAL_LEN + le16(h + 26) + le16(h + 28);
                if (e->data_off > cd_off || cd_off - e->data_off < e->csize)
                        return err_set(err, 0, "%s: %s: entry data overruns the central directory", label, e->name);
        }
        return 0;
}

/* No two entries may share bytes (the overlapping-entry zip bomb), and no
 * two entries may share a name (which one would be extracted?). */
static int check_layout(struct zipr *z, const char *label, struct err *err)
{
        _cleanup_free_ struct zipr_entry **v = xreallocarray(NULL, z->n ? z->n : 1, sizeof(*v));

        for (size_t i = 0; i < z->n; i++)
                v[i] = &z->e[i];
        qsort(v, z->n, sizeof(*v), entry_order);
        for (size_t i = 1; i < z->n; i++)
                if (v[i]->lho < v[i - 1]->data_off + v[i - 1]->csize)
                        return err_set(err, 0, "%s: entries %s and %s overlap", label, v[i - 1]->name, v[i]->name);
        qsort(v, z->n, sizeof(*v), name_order);
        for (size_t i = 1; i < z->n; i++)
                if (strcmp(v[i]->name, v[i - 1]->name) == 0)
                        return err_set(err, 0, "%s: duplicate entry name %s", label, v[i]->name);
        return 0;
}

int zipr_open(struct zipr *z, int fd, const char *label, struct err *err)
{
        unsigned char eocd[EOCD_LEN] = { 0 };
        _cleanup_free_ unsigned char *cd = NULL;
        uint64_t eocd_off = 0, cd_off, cd_len;
        size_t count;
        struct stat st;
        int r;

        memset(z, 0, sizeof(*z));
        z->fd = fd;
        if (fstat(fd, &st) < 0)
                return err_set(err, errno, "%s", label);
        if (!S_ISREG(st.st_mode))
                return err_set(err, 0, "%s: not a regular file", label);
        z->size = (uint64_t)st.st_size;
        if ((r = find_eocd(&eocd_off, eocd, fd, z->size, label, err)) < 0)
                return r;
        count = le16(eocd + 10);
        cd_len = le32(eocd + 12);
        cd_off = le32(eocd + 16);
        if (count == 0xffff || cd_len == 0xffffffffu || cd_off == 0xffffffffu)
                return err_set(err, 0, "%s: zip64 archives are not supported", label);
        if (le16(eocd + 4) != 0 || le16(eocd + 6) != 0 || le16(eocd + 8) != count)
                return err_set(err, 0, "%s: multi-disk zip archives are not supported", label);
        if (count > ZIPR_MAX_ENTRIES)
                return err_set(err, 0, "%s: more than %u entries", label, ZIPR_MAX_ENTRIES);
        if (cd_off > eocd_off || eocd_off - cd_off < cd_len || cd_len > ZIPR_MAX_CD)
                return err_set(err, 0, "%s: central directory outside the file", label);
        cd = xmalloc(cd_len ? cd_len : 1);
        if ((r = pread_full(fd, cd, cd_len, cd_off)) < 0)
                return err_set(err, -r, "%s: read central directory", label);
        if ((r = parse_central(z, cd, cd_len, count, cd_off, label, err)) < 0 ||
            (r = read_local_headers(z, cd_off, label, err)) < 0 ||
            (r = check_layout(z, label, err)) < 0) {
                zipr_close(z);
                return r;
        }
        return 0;
}

void zipr_close(struct zipr *z)
{
        for (size_t i = 0; i < z->n; i++)
                free(z->e[i].name);
        free(z->e);
        z->e = NULL;
        z->n = 0;
}

static int read_stored(const struct zipr *z, const struct zipr_entry *e, zipr_sink sink, void *ctx,
                       unsigned char *buf, size_t buf_len, uLong *crc)
{
        for (uint64_t done = 0; done < e->csize;) {
                size_t n = (size_t)(e->csize - done < buf_len ? e->csize - done : buf_len);
                int r = pread_full(z->fd, buf, n, e->data_off + done);

                if (r < 0)
                        return r;
                *crc = crc32_z(*crc, buf, n);
                sink(ctx, buf, n);
                done += n;
        }
        return 0;
}

/* Inflate into the second half of buf; never more than the declared size
 * (a lying header cannot make us produce more). */
static int read_deflated(const struct zipr *z, const struct zipr_entry *e, zipr_sink sink, void *ctx,
                         unsigned char *buf, size_t buf_len, uLong *crc, const char **why)
{
        size_t half = buf_len / 2;
        unsigned char *in = buf, *out = buf + half;
        uint64_t consumed = 0, produced = 0;
        z_stream s;
        int zr = Z_OK, r = 0;

        memset(&s, 0, sizeof(s));
        if (inflateInit2(&s, -MAX_WBITS) != Z_OK)
                return -ENOMEM;
        while (zr != Z_STREAM_END) {
                if (s.avail_in == 0) {
                        size_t n = (size_t)(e->csize - consumed < half ? e->csize - consumed : half);

                        if (n == 0) {
                                *why = "compressed data ends early";
                                r = -EBADMSG;
                                break;
                        }
                        if ((r = pread_full(z->fd, in, n, e->data_off + consumed)) < 0)
                                break;
                        consumed += n;
                        s.next_in = in;
                        s.avail_in = (uInt)n;
                }
                s.next_out = out;
                s.avail_out = (uInt)half;
                zr = inflate(&s, Z_NO_FLUSH);
                if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
                        *why = "invalid deflate data";
                        r = -EBADMSG;
                        break;
                }
                size_t got = half - s.avail_out;
                if (got > e->usize - produced) {
                        *why = "inflates beyond its declared size";
                        r = -EBADMSG;
                        break;
                }
                if (zr == Z_BUF_ERROR && got == 0 && s.avail_in != 0) {
                        *why = "invalid deflate data";
                        r = -EBADMSG;
                        break;
                }
                produced += got;
                *crc = crc32_z(*crc, out, got);
                sink(ctx, out, got);
        }
        inflateEnd(&s);
        if (r == 0 && produced != e->usize) {
                *why = "inflates to less than its declared size";
                r = -EBADMSG;
        }
        return r;
}

int zipr_read_entry(const struct zipr *z, const struct zipr_entry *e, zipr_sink sink, void *ctx,
                    unsigned char *buf, size_t buf_len, struct err *err)
{
        const char *why = NULL;
        uLong crc = crc32_z(0, NULL, 0);
        int r;

        if (e->method == 0)
                r = read_stored(z, e, sink, ctx, buf, buf_len, &crc);
        else
                r = read_deflated(z, e, sink, ctx, buf, buf_len, &crc, &why);
        if (r < 0 && why != NULL)
                return err_set(err, 0, "%s: %s", e->name, why);
        if (r < 0)
                return err_set(err, -r, "%s: read", e->name);
        /* Go's archive/zip checks the CRC only when one is recorded */
        if (e->crc != 0 && (uint32_t)crc != e->crc)
                return err_set(err, 0, "%s: CRC-32 mismatch", e->name);
        return 0;
}
