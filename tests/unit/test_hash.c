/* test_hash.c - h1:/zh: against the vectors of reference/terraform.md, zips
 * with directory entries, nested and unusual names, directories with
 * symlinks, and a catalogue of hostile zips, each refused with its reason. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "runner/providers/hash.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"
#include "test_hash_zipw.h"

/* reference/terraform.md V1..V4; contents are Terraform's test fixtures */
static const char v1_data[] =
        "# This is just a placeholder file for discovery testing, not a real provider plugin.\n";
static const char v1_h1[] = "h1:qjsREM4DqEWECD43FcPqddZ9oxCG+IaMTxvWPciS05g=";
static const char v2_data[] =
        "This is not a real provider executable. It's just here to give the installer\n"
        "something to copy in some of our installer test cases.\n";
static const char v2_h1[] = "h1:2y06Ykj0FRneZfGCTxI9wRTori8iB7ZL5kQ6YyEnh84=";
static const char v3_h1[] = "h1:EP6WfDoQTSk9klnxcjriWJOGztueJUywHNmWeq+efB8=";
static const char v4_data[] =
        "This is just a placeholder file for discovery testing, not a real provider package.\n\n"
        "This file is what we'd find for mirrors using the \"packed\" mirror layout,\n"
        "where the mirror maintainer can just download the packages from upstream and\n"
        "have Terraform unpack them automatically when installing.\n";
static const char v4_zh[] = "zh:4fb39849f2e138eb16a18ba0c682635d781cb8c3b25901dd5a792ade9711f501";
/* the reference's check that a "sub/" directory entry changes h1 */
static const char v1_with_dir_h1[] = "h1:UoqEXX3Kp2lf59iVs2LNdGYCqOmKKNlO7qwZZInS5Qs=";

static char tmpdir[64];

static int setup(void **state)
{
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/tfgate-test-hash-XXXXXX");
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
        return rm_rf(tmpdir, NULL);
}

static char *path_in(const char *name)
{
        return xasprintf("%s/%s", tmpdir, name);
}

static void write_file(const char *rel, const void *data, size_t len)
{
        _cleanup_free_ char *p = path_in(rel);
        _cleanup_free_ char *dir = xstrdup(p);

        *strrchr(dir, '/') = '\0';
        assert_int_equal(mkdir_p(dir, 0755, NULL), 0);
        assert_int_equal(file_write_atomic(p, data, len, 0644, NULL), 0);
}

static void make_dir(const char *rel)
{
        _cleanup_free_ char *p = path_in(rel);

        assert_int_equal(mkdir_p(p, 0755, NULL), 0);
}

static void make_symlink(const char *target, const char *rel)
{
        _cleanup_free_ char *p = path_in(rel);

        assert_int_equal(symlink(target, p), 0);
}

static int open_in(const char *rel)
{
        _cleanup_free_ char *p = path_in(rel);
        int fd = open(p, O_RDONLY | O_CLOEXEC);

        assert_true(fd >= 0);
        return fd;
}

static void write_zip(const char *rel, const struct zw_entry *e, size_t n)
{
        size_t len;
        _cleanup_free_ unsigned char *z = zw_build(&len, NULL, e, n);

        write_file(rel, z, len);
}

static int zip_h1(char *h1, char *zh, const char *rel, struct err *e)
{
        _cleanup_close_ int fd = open_in(rel);

        return phash_zip(h1, zh, fd, rel, e);
}

static int dir_h1(char *h1, const char *rel, struct err *e)
{
        _cleanup_close_ int root = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        assert_true(root >= 0);
        return phash_dir(h1, root, rel, rel, e);
}

static void vectors_in_memory(void **state)
{
        struct phash_file v1 = { "terraform-provider-null", v1_data, strlen(v1_data) };
        struct phash_file v2 = { "terraform-provider-beep", v2_data, strlen(v2_data) };
        /* given out of order: Hash1 sorts */
        struct phash_file v3[] = { { "xyz", "data for xyz", 12 }, { "abc", "data for abc", 12 } };
        char h1[PHASH_H1_SIZE];

        assert_int_equal(strlen(v1_data), 85);
        assert_int_equal(strlen(v2_data), 132);
        assert_int_equal(phash_files(h1, &v1, 1, NULL), 0);
        assert_string_equal(h1, v1_h1);
        assert_int_equal(phash_files(h1, &v2, 1, NULL), 0);
        assert_string_equal(h1, v2_h1);
        assert_int_equal(phash_files(h1, v3, 2, NULL), 0);
        assert_string_equal(h1, v3_h1);
}

static void vectors_dir_and_zip(void **state)
{
        struct zw_entry stored = { "terraform-provider-null", v1_data, strlen(v1_data), false };
        struct zw_entry deflated = { "terraform-provider-null", v1_data, strlen(v1_data), true };
        struct zw_entry v3[] = { { "abc", "data for abc", 12, true }, { "xyz", "data for xyz", 12, false } };
        char h1[PHASH_H1_SIZE], zh[PHASH_ZH_SIZE];
        struct err e = ERR_INIT;

        write_file("v1dir/terraform-provider-null", v1_data, strlen(v1_data));
        assert_int_equal(dir_h1(h1, "v1dir", &e), 0);
        assert_string_equal(h1, v1_h1);
        write_file("v2dir/terraform-provider-beep", v2_data, strlen(v2_data));
        assert_int_equal(dir_h1(h1, "v2dir", &e), 0);
        assert_string_equal(h1, v2_h1);
        write_file("v3dir/abc", "data for abc", 12);
        write_file("v3dir/xyz", "data for xyz", 12);
        assert_int_equal(dir_h1(h1, "v3dir", &e), 0);
        assert_string_equal(h1, v3_h1);

        write_zip("v1-stored.zip", &stored, 1);
        write_zip("v1-deflate.zip", &deflated, 1);
        write_zip("v3.zip", v3, 2);
        assert_int_equal(zip_h1(h1, zh, "v1-stored.zip", &e), 0);
        assert_string_equal(h1, v1_h1);
        assert_int_equal(zip_h1(h1, NULL, "v1-deflate.zip", &e), 0);
        assert_string_equal(h1, v1_h1);
        assert_int_equal(zip_h1(h1, NULL, "v3.zip", &e), 0);
        assert_string_equal(h1, v3_h1);

        /* V4: zh: is the file's bytes, zip or not (this one is not) */
        write_file("v4.zip", v4_data, strlen(v4_data));
        assert_int_equal(strlen(v4_data), 294);
        assert_int_equal(zip_h1(NULL, zh, "v4.zip", &e), 0);
        assert_string_equal(zh, v4_zh);
        /* and asking for h1: of it is a clear error, not a hash */
        assert_true(zip_h1(h1, zh, "v4.zip", &e) < 0);
        assert_non_null(strstr(e.msg, "not a zip file"));
}

static void zh_of_zip_matches_both_ways(void **state)
{
        struct zw_entry ent = { "terraform-provider-null", v1_data, strlen(v1_data), true };
        char zh1[PHASH_ZH_SIZE], zh2[PHASH_ZH_SIZE], h1[PHASH_H1_SIZE];
        _cleanup_close_ int fd = -1;

        write_zip("zh.zip", &ent, 1);
        assert_int_equal(zip_h1(h1, zh1, "zh.zip", NULL), 0);
        fd = open_in("zh.zip");
        assert_int_equal(phash_zh_fd(zh2, fd, "zh.zip", NULL), 0);
        assert_string_equal(zh1, zh2);
        assert_int_equal(strlen(zh1), 67);
        assert_true(phash_has_scheme(zh1, "zh"));
        assert_true(phash_has_scheme(h1, "h1"));
        assert_false(phash_has_scheme(h1, "h"));
        assert_false(phash_has_scheme("h1", "h1"));
}

static void directory_entries_count_in_zips(void **state)
{
        struct zw_entry with_dir[] = {
                { "sub/", "", 0, false },
                { "terraform-provider-null", v1_data, strlen(v1_data), true },
        };
        char h1[PHASH_H1_SIZE];
        struct err e = ERR_INIT;

        write_zip("withdir.zip", with_dir, 2);
        assert_int_equal(zip_h1(h1, NULL, "withdir.zip", &e), 0);
        assert_string_equal(h1, v1_with_dir_h1);
        /* the same tree unpacked has no entry for the (empty) directory */
        write_file("withdir/terraform-provider-null", v1_data, strlen(v1_data));
        make_dir("withdir/sub");
        assert_int_equal(dir_h1(h1, "withdir", &e), 0);
        assert_string_equal(h1, v1_h1);
}

/* names Terraform never ships but a hash must still get right: nesting,
 * bytewise order ("a-b" < "a/b" < "a0"), spaces, UTF-8, dot files */
static void unusual_names_agree_everywhere(void **state)
{
        static const char *const names[] = {
                "a/b", "a-b", "a0", "A", "with space", "d\xc3\xbc.txt", ".hidden",
                "deep/er/and/deeper/file", "x.y/z", "terraform-provider-aws_v5.31.0_x5",
        };
        struct zw_entry ze[ARRAY_SIZE(names)];
        struct phash_file pf[ARRAY_SIZE(names)];
        char h_zip[PHASH_H1_SIZE], h_dir[PHASH_H1_SIZE], h_mem[PHASH_H1_SIZE];
        struct err e = ERR_INIT;

        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
                _cleanup_free_ char *rel = xasprintf("names/%s", names[i]);

                ze[i] = (struct zw_entry){ names[i], names[i], strlen(names[i]), i % 2 == 0 };
                pf[i] = (struct phash_file){ names[i], names[i], strlen(names[i]) };
                write_file(rel, names[i], strlen(names[i]));
        }
        make_dir("names/empty/dir");    /* empty directories are not entries */
        write_zip("names.zip", ze, ARRAY_SIZE(ze));
        assert_int_equal(zip_h1(h_zip, NULL, "names.zip", &e), 0);
        assert_int_equal(dir_h1(h_dir, "names", &e), 0);
        assert_int_equal(phash_files(h_mem, pf, ARRAY_SIZE(pf), &e), 0);
        assert_string_equal(h_zip, h_mem);
        assert_string_equal(h_dir, h_mem);
}

/* content larger than the read buffer, stored and deflated, and empty */
static void large_and_empty_entries(void **state)
{
        size_t big = (3u << 20) + 12345;
        _cleanup_free_ unsigned char *data = xmalloc(big);
        struct zw_entry ze[3];
        struct phash_file pf[3];
        char h_zip[PHASH_H1_SIZE], h_mem[PHASH_H1_SIZE];
        uint32_t x = 12345;

        for (size_t i = 0; i < big; i++) {
                x = x * 1103515245u + 12345u;
                data[i] = (unsigned char)(i % 3 ? x >> 24 : 'a');  /* compressible, not trivially */
        }
        ze[0] = (struct zw_entry){ "big-stored", data, big, false };
        ze[1] = (struct zw_entry){ "big-deflated", data, big, true };
        ze[2] = (struct zw_entry){ "empty", "", 0, true };
        for (size_t i = 0; i < 3; i++)
                pf[i] = (struct phash_file){ ze[i].name, ze[i].data, ze[i].len };
        write_zip("big.zip", ze, 3);
        assert_int_equal(zip_h1(h_zip, NULL, "big.zip", NULL), 0);
        assert_int_equal(phash_files(h_mem, pf, 3, NULL), 0);
        assert_string_equal(h_zip, h_mem);
}

static void directory_symlinks(void **state)
{
        char h_link[PHASH_H1_SIZE], h_plain[PHASH_H1_SIZE];
        struct err e = ERR_INIT;

        /* a symlink to a file inside is hashed as that file (Go follows it) */
        write_file("plain/terraform-provider-null", v1_data, strlen(v1_data));
        write_file("linked/real/binary", v1_data, strlen(v1_data));
        make_symlink("real/binary", "linked/terraform-provider-null");
        assert_int_equal(dir_h1(h_plain, "plain", &e), 0);
        assert_string_equal(h_plain, v1_h1);
        if (dir_h1(h_link, "linked", &e) < 0)
                fail_msg("%s", e.msg);
        /* two entries now: real/binary and the link */
        {
                struct phash_file pf[] = {
                        { "real/binary", v1_data, strlen(v1_data) },
                        { "terraform-provider-null", v1_data, strlen(v1_data) },
                };
                assert_int_equal(phash_files(h_plain, pf, 2, NULL), 0);
                assert_string_equal(h_link, h_plain);
        }

        /* a symlink that leaves the containment root is refused */
        write_file("escape/ok", "x", 1);
        make_symlink("/etc/passwd", "escape/abs");
        assert_true(dir_h1(h_link, "escape", &e) < 0);
        assert_non_null(strstr(e.msg, "outside"));
        write_file("escape2/ok", "x", 1);
        make_symlink("../../../../../../../../etc/hostname", "escape2/rel");
        assert_true(dir_h1(h_link, "escape2", &e) < 0);
        assert_non_null(strstr(e.msg, "outside"));

        /* a symlink to a directory, a dangling one, a fifo: errors */
        make_dir("todir/sub");
        make_symlink("sub", "todir/link");
        assert_true(dir_h1(h_link, "todir", &e) < 0);
        assert_non_null(strstr(e.msg, "symlink to a directory"));
        make_dir("dangling");
        make_symlink("nowhere", "dangling/link");
        assert_true(dir_h1(h_link, "dangling", &e) < 0);
        assert_non_null(strstr(e.msg, "dangling: link: symlink"));
        make_dir("fifo");
        {
                _cleanup_free_ char *p = path_in("fifo/pipe");
                assert_int_equal(mkfifo(p, 0644), 0);
        }
        assert_true(dir_h1(h_link, "fifo", &e) < 0);
        assert_non_null(strstr(e.msg, "not a regular file"));

        /* the package directory itself must not lead outside either */
        make_symlink("/etc", "etclink");
        assert_true(dir_h1(h_link, "etclink", &e) < 0);
}

/* ---- hostile zips: each refused, with the reason in the message ---- */

struct hostile {
        const char *what;
        void (*patch)(unsigned char *z, size_t *len, const struct zw_layout *l);
        const char *want;
};

static void p_crc(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        z[l->data_off[0]] ^= 1;         /* tampered byte in stored data */
}
static void p_truncated(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        *len = l->cd_off + 10;
}
static void p_overlap(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        zw_put32(z + l->cd_entry[1] + 42, (uint32_t)l->lho[0]);  /* both entries share data */
}
static void p_dotdot(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        memcpy(z + l->cd_entry[0] + 46, "../x", 4);
}
static void p_absolute(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        z[l->cd_entry[0] + 46] = '/';
}
static void p_backslash(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        z[l->cd_entry[0] + 47] = '\\';
}
static void p_nul(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        z[l->cd_entry[0] + 47] = '\0';
}
static void p_dup(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        memcpy(z + l->cd_entry[1] + 46, z + l->cd_entry[0] + 46, 4);
}
static void p_encrypted(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        zw_put16(z + l->cd_entry[0] + 8, 1);
}
static void p_method(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        zw_put16(z + l->cd_entry[0] + 10, 12);  /* bzip2 */
}
static void p_zip64_size(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        zw_put32(z + l->cd_entry[0] + 24, 0xffffffffu);
}
static void p_zip64_count(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        zw_put16(z + l->eocd_off + 8, 0xffff);
        zw_put16(z + l->eocd_off + 10, 0xffff);
}
static void p_multidisk(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        zw_put16(z + l->eocd_off + 4, 1);
}
static void p_cd_outside(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        zw_put32(z + l->eocd_off + 16, 0x7fffffff);
}
static void p_count_high(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        zw_put16(z + l->eocd_off + 8, 3);
        zw_put16(z + l->eocd_off + 10, 3);
}
static void p_lho_bad(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        zw_put32(z + l->cd_entry[0] + 42, (uint32_t)l->cd_off + 4);
}
static void p_local_sig(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        z[l->lho[1]] = 'Q';
}
static void p_csize_big(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        zw_put32(z + l->cd_entry[1] + 20, 0x100000);
}
static void p_bomb(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        zw_put32(z + l->cd_entry[1] + 24, 10);  /* inflates to more than it says */
}
static void p_short(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        zw_put32(z + l->cd_entry[1] + 24, 100000);      /* inflates to less */
        zw_put32(z + l->cd_entry[1] + 16, 0);
}
static void p_garbage_deflate(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        memset(z + l->data_off[1], 0xff, 8);
}
static void p_stored_sizes(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        zw_put32(z + l->cd_entry[0] + 20, 3);
}
static void p_dir_content(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        z[l->cd_entry[0] + 46 + 3] = '/';       /* "file" -> "fil/" with content */
}
static void p_newline(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        z[l->cd_entry[0] + 47] = '\n';
}
static void p_cd_sig(unsigned char *z, size_t *len, const struct zw_layout *l)
{
        z[l->cd_entry[1]] = 'Q';
}

static const struct hostile hostiles[] = {
        { "tampered stored byte", p_crc, "CRC-32 mismatch" },
        { "truncated", p_truncated, "not a zip file" },
        { "overlapping entries", p_overlap, "overlap" },
        { "dot-dot name", p_dotdot, "\"..\"" },
        { "absolute name", p_absolute, "absolute path" },
        { "backslash", p_backslash, "backslash" },
        { "NUL in name", p_nul, "NUL" },
        { "duplicate name", p_dup, "duplicate entry name" },
        { "encrypted", p_encrypted, "encrypted" },
        { "bzip2", p_method, "compression method 12" },
        { "zip64 size", p_zip64_size, "zip64" },
        { "zip64 count", p_zip64_count, "zip64" },
        { "multi-disk", p_multidisk, "multi-disk" },
        { "central directory outside", p_cd_outside, "central directory outside" },
        { "more entries than present", p_count_high, "corrupt" },
        { "local header in the directory", p_lho_bad, "local header outside" },
        { "bad local signature", p_local_sig, "bad local header signature" },
        { "compressed size past the end", p_csize_big, "overruns" },
        { "deflate bomb", p_bomb, "beyond its declared size" },
        { "deflate short", p_short, "less than its declared size" },
        { "garbage deflate", p_garbage_deflate, "deflate" },
        { "stored sizes differ", p_stored_sizes, "stored entry" },
        { "directory with content", p_dir_content, "directory entry with content" },
        { "newline in name", p_newline, "newline" },
        { "bad central signature", p_cd_sig, "corrupt" },
};

static void hostile_zips_refused(void **state)
{
        static const char deflatable[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                         "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
        struct zw_entry ze[] = {
                { "file", "0123456789", 10, false },
                { "next", deflatable, sizeof(deflatable) - 1, true },
        };
        int failures = 0;

        for (size_t i = 0; i < ARRAY_SIZE(hostiles); i++) {
                struct zw_layout lay;
                size_t len;
                _cleanup_free_ unsigned char *z = zw_build(&len, &lay, ze, 2);
                _cleanup_free_ char *rel = xasprintf("hostile-%zu.zip", i);
                char h1[PHASH_H1_SIZE], zh[PHASH_ZH_SIZE];
                struct err e = ERR_INIT;

                hostiles[i].patch(z, &len, &lay);
                write_file(rel, z, len);
                if (zip_h1(h1, zh, rel, &e) == 0) {
                        print_error("%s: accepted (%s)\n", hostiles[i].what, h1);
                        failures++;
                } else if (strstr(e.msg, hostiles[i].want) == NULL) {
                        print_error("%s: message \"%s\" lacks \"%s\"\n", hostiles[i].what, e.msg,
                                    hostiles[i].want);
                        failures++;
                }
        }
        assert_int_equal(failures, 0);
}

/* a valid zip with a comment and bytes after the central directory's end
 * record is read like Go reads it */
static void eocd_with_comment(void **state)
{
        struct zw_entry ent = { "terraform-provider-null", v1_data, strlen(v1_data), false };
        struct zw_layout lay;
        size_t len;
        _cleanup_free_ unsigned char *z = zw_build(&len, &lay, &ent, 1);
        _cleanup_free_ unsigned char *zc = xmalloc(len + 5);
        char h1[PHASH_H1_SIZE];

        memcpy(zc, z, len);
        zw_put16(zc + lay.eocd_off + 20, 5);
        memcpy(zc + len, "hello", 5);
        write_file("comment.zip", zc, len + 5);
        assert_int_equal(zip_h1(h1, NULL, "comment.zip", NULL), 0);
        assert_string_equal(h1, v1_h1);
}

static void empty_zip_and_empty_dir(void **state)
{
        char h1[PHASH_H1_SIZE], h_mem[PHASH_H1_SIZE];

        write_zip("empty.zip", NULL, 0);
        assert_int_equal(zip_h1(h1, NULL, "empty.zip", NULL), 0);
        assert_int_equal(phash_files(h_mem, NULL, 0, NULL), 0);
        assert_string_equal(h1, h_mem);        /* sha256 of the empty summary */
        make_dir("emptydir");
        assert_int_equal(dir_h1(h1, "emptydir", NULL), 0);
        assert_string_equal(h1, h_mem);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(vectors_in_memory),
                cmocka_unit_test(vectors_dir_and_zip),
                cmocka_unit_test(zh_of_zip_matches_both_ways),
                cmocka_unit_test(directory_entries_count_in_zips),
                cmocka_unit_test(unusual_names_agree_everywhere),
                cmocka_unit_test(large_and_empty_entries),
                cmocka_unit_test(directory_symlinks),
                cmocka_unit_test(hostile_zips_refused),
                cmocka_unit_test(eocd_with_comment),
                cmocka_unit_test(empty_zip_and_empty_dir),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
