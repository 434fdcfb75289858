/* test_mirror.c - filesystem-mirror lookup and verification: packed and
 * unpacked layouts, tampered byte, missing platform, wrong version,
 * symlinks escaping the mirror, and the hash cache (hit, invalidation by
 * touch or modification, damaged cache ignored). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "runner/providers/mirror.h"
#include "runner/util/cleanup.h"
#include "runner/util/fileio.h"
#include "runner/util/xalloc.h"
#include "test_hash_zipw.h"

#define SRC "registry.terraform.io/hashicorp/null"
#define TYPE_DIR "mirror/registry.terraform.io/hashicorp/null"
#define ZIP_REL TYPE_DIR "/terraform-provider-null_2.1.0_linux_amd64.zip"

static const char binary[] = "#!/bin/sh\necho not a real provider\n";
static char tmpdir[64];
static char h1_good[PHASH_H1_SIZE], zh_good[PHASH_ZH_SIZE];

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

static void write_provider_zip(const char *rel, const char *content)
{
        struct zw_entry e = { "terraform-provider-null_v2.1.0_x4", content, strlen(content), true };
        size_t len;
        _cleanup_free_ unsigned char *z = zw_build(&len, NULL, &e, 1);

        write_file(rel, z, len);
}

static int setup(void **state)
{
        struct phash_file f = { "terraform-provider-null_v2.1.0_x4", binary, strlen(binary) };
        _cleanup_free_ char *zip = NULL;
        _cleanup_close_ int fd = -1;

        snprintf(tmpdir, sizeof(tmpdir), "/tmp/tfgate-test-mirror-XXXXXX");
        if (mkdtemp(tmpdir) == NULL)
                return -1;
        write_provider_zip(ZIP_REL, binary);
        write_file(TYPE_DIR "/2.1.0/linux_amd64/terraform-provider-null_v2.1.0_x4", binary, strlen(binary));
        /* the expected hashes, computed independently of the mirror code */
        if (phash_files(h1_good, &f, 1, NULL) < 0)
                return -1;
        zip = path_in(ZIP_REL);
        fd = open(zip, O_RDONLY | O_CLOEXEC);
        return fd < 0 ? -1 : phash_zh_fd(zh_good, fd, zip, NULL);
}

static int teardown(void **state)
{
        return rm_rf(tmpdir, NULL);
}

static void verify(struct mirror_result *res, const char *cache, const char *version, const char *platform,
                   const char *const *hashes, size_t n)
{
        _cleanup_free_ char *root = path_in("mirror");
        _cleanup_free_ char *cache_dir = cache ? path_in(cache) : NULL;
        struct mirror_request req = { SRC, version, platform, hashes, n };
        struct err e = ERR_INIT;

        if (mirror_verify(res, root, cache_dir, &req, &e) < 0)
                fail_msg("mirror_verify: %s", e.msg);
}

static void packed_verified_by_h1_or_zh(void **state)
{
        const char *by_h1[] = { "zh:0000000000000000000000000000000000000000000000000000000000000000", h1_good };
        const char *by_zh[] = { "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", zh_good, "other:xyz" };
        struct mirror_result r;

        verify(&r, NULL, "2.1.0", "linux_amd64", by_h1, 2);
        assert_int_equal(r.status, MIRROR_VERIFIED);
        assert_true(r.packed);
        assert_int_equal(r.matched, 1);
        assert_string_equal(r.h1, h1_good);
        assert_string_equal(r.zh, zh_good);
        assert_string_equal(r.path, "registry.terraform.io/hashicorp/null/terraform-provider-null_2.1.0_linux_amd64.zip");
        verify(&r, NULL, "2.1.0", "linux_amd64", by_zh, 3);
        assert_int_equal(r.status, MIRROR_VERIFIED);
        assert_int_equal(r.matched, 1);
        assert_string_equal(mirror_status_name(r.status), "verified");
}

static void mismatch_and_tampering(void **state)
{
        const char *wrong[] = { "h1:J/XPKw4nOAsE0iHHqkR0oIBfchtt3pokNj4gFlHqVvk=",
                                "zh:022eb9cefb72d25cb39aebf17787ae5a1a239544abae7ac11fdc2b5a464c06f8" };
        const char *good[] = { h1_good, zh_good };
        const char *unknown_only[] = { "sha512:abc" };
        struct mirror_result r;

        verify(&r, NULL, "2.1.0", "linux_amd64", wrong, 2);
        assert_int_equal(r.status, MIRROR_MISMATCH);
        assert_non_null(strstr(r.reason, "matches none"));
        verify(&r, NULL, "2.1.0", "linux_amd64", unknown_only, 1);
        assert_int_equal(r.status, MIRROR_MISMATCH);
        assert_non_null(strstr(r.reason, "no h1: or zh:"));

        /* one byte of the provider binary changed, zip rebuilt (valid zip) */
        {
                _cleanup_free_ char *tampered = xstrdup(binary);
                tampered[5] ^= 0x20;
                write_provider_zip(ZIP_REL, tampered);
        }
        verify(&r, NULL, "2.1.0", "linux_amd64", good, 2);
        assert_int_equal(r.status, MIRROR_MISMATCH);
        assert_string_not_equal(r.h1, h1_good);

        /* one byte of the zip flipped in place: the zip's CRC catches it */
        write_provider_zip(ZIP_REL, binary);
        {
                _cleanup_free_ char *p = path_in(ZIP_REL);
                _cleanup_close_ int fd = open(p, O_RDWR | O_CLOEXEC);
                unsigned char c;

                assert_int_equal(pread(fd, &c, 1, 70), 1);  /* in the data */
                c ^= 0xff;
                assert_int_equal(pwrite(fd, &c, 1, 70), 1);
        }
        verify(&r, NULL, "2.1.0", "linux_amd64", good, 2);
        assert_int_equal(r.status, MIRROR_MISMATCH);
        assert_non_null(strstr(r.reason, "cannot be verified"));
        write_provider_zip(ZIP_REL, binary);    /* restore */
        verify(&r, NULL, "2.1.0", "linux_amd64", good, 2);
        assert_int_equal(r.status, MIRROR_VERIFIED);
}

static void missing_platform_and_version(void **state)
{
        const char *good[] = { h1_good, zh_good };
        struct mirror_result r;

        verify(&r, NULL, "2.1.0", "linux_arm64", good, 2);
        assert_int_equal(r.status, MIRROR_MISSING);
        assert_non_null(strstr(r.reason, "no linux_arm64 package"));
        assert_non_null(strstr(r.reason, "found: "));
        verify(&r, NULL, "2.2.0", "linux_amd64", good, 2);
        assert_int_equal(r.status, MIRROR_MISSING);
        assert_non_null(strstr(r.reason, "2.2.0"));
        assert_string_equal(mirror_status_name(r.status), "missing");
        {
                _cleanup_free_ char *root = path_in("mirror");
                struct mirror_request req = { "registry.terraform.io/hashicorp/nothere", "1.0.0", "linux_amd64",
                                              good, 2 };
                assert_int_equal(mirror_verify(&r, root, NULL, &req, NULL), 0);
                assert_int_equal(r.status, MIRROR_MISSING);
                assert_non_null(strstr(r.reason, "no directory"));
        }
}

static void unpacked_layout(void **state)
{
        const char *h1_only[] = { h1_good };
        const char *zh_only[] = { zh_good };
        struct mirror_result r;

        /* move the zip away so the unpacked directory is what is found */
        _cleanup_free_ char *zip = path_in(ZIP_REL);
        _cleanup_free_ char *aside = path_in("aside.zip");
        assert_int_equal(rename(zip, aside), 0);
        verify(&r, NULL, "2.1.0", "linux_amd64", h1_only, 1);
        assert_int_equal(r.status, MIRROR_VERIFIED);
        assert_false(r.packed);
        assert_string_equal(r.zh, "");
        verify(&r, NULL, "2.1.0", "linux_amd64", zh_only, 1);
        assert_int_equal(r.status, MIRROR_MISMATCH);
        assert_non_null(strstr(r.reason, "only an h1:"));
        assert_int_equal(rename(aside, zip), 0);
}

static void symlinks_escaping_the_mirror(void **state)
{
        const char *good[] = { h1_good, zh_good };
        struct mirror_result r;
        _cleanup_free_ char *outside_zip = path_in("outside/p.zip");
        _cleanup_free_ char *outside_dir = path_in("outside/dir");
        _cleanup_free_ char *link = path_in(TYPE_DIR "/terraform-provider-null_3.0.0_linux_amd64.zip");
        _cleanup_free_ char *dlink = path_in(TYPE_DIR "/4.0.0");
        _cleanup_free_ char *hlink = path_in("mirror/registry.terraform.io/evil");

        /* a perfectly valid package, but outside the mirror root */
        write_provider_zip("outside/p.zip", binary);
        write_file("outside/dir/linux_amd64/terraform-provider-null_v2.1.0_x4", binary, strlen(binary));
        assert_int_equal(symlink(outside_zip, link), 0);
        verify(&r, NULL, "3.0.0", "linux_amd64", good, 2);
        assert_int_equal(r.status, MIRROR_MISSING);
        assert_non_null(strstr(r.reason, "outside the mirror"));

        assert_int_equal(symlink(outside_dir, dlink), 0);
        verify(&r, NULL, "4.0.0", "linux_amd64", good, 2);
        assert_int_equal(r.status, MIRROR_MISSING);
        assert_non_null(strstr(r.reason, "outside the mirror"));

        /* an intermediate directory that is a symlink out of the mirror */
        {
                _cleanup_free_ char *src = path_in("outside");
                struct mirror_request req = { "registry.terraform.io/evil/null", "2.1.0", "linux_amd64", good, 2 };
                _cleanup_free_ char *root = path_in("mirror");

                write_provider_zip("outside/null/terraform-provider-null_2.1.0_linux_amd64.zip", binary);
                assert_int_equal(symlink(src, hlink), 0);
                assert_int_equal(mirror_verify(&r, root, NULL, &req, NULL), 0);
                assert_int_equal(r.status, MIRROR_MISSING);
                assert_non_null(strstr(r.reason, "outside the mirror"));
        }

        /* a relative symlink that stays inside the mirror is fine */
        {
                _cleanup_free_ char *inside = path_in(TYPE_DIR "/terraform-provider-null_5.0.0_linux_amd64.zip");
                const char *h1_only[] = { h1_good };

                assert_int_equal(symlink("terraform-provider-null_2.1.0_linux_amd64.zip", inside), 0);
                verify(&r, NULL, "5.0.0", "linux_amd64", h1_only, 1);
                assert_int_equal(r.status, MIRROR_VERIFIED);
        }
}

static void set_mtime(const char *rel, time_t t)
{
        _cleanup_free_ char *p = path_in(rel);
        struct timespec ts[2] = { { t, 0 }, { t, 0 } };

        assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
}

static void cache_hits_and_invalidation(void **state)
{
        const char *good[] = { h1_good, zh_good };
        struct mirror_result r;

        write_provider_zip(ZIP_REL, binary);
        verify(&r, "cache", "2.1.0", "linux_amd64", good, 2);
        assert_int_equal(r.status, MIRROR_VERIFIED);
        assert_false(r.from_cache);
        verify(&r, "cache", "2.1.0", "linux_amd64", good, 2);
        assert_int_equal(r.status, MIRROR_VERIFIED);
        assert_true(r.from_cache);      /* second lookup: no rehash */
        assert_string_equal(r.h1, h1_good);
        assert_string_equal(r.zh, zh_good);

        /* touch: mtime differs, key differs, rehash */
        set_mtime(ZIP_REL, 1000000000);
        verify(&r, "cache", "2.1.0", "linux_amd64", good, 2);
        assert_false(r.from_cache);
        assert_int_equal(r.status, MIRROR_VERIFIED);
        verify(&r, "cache", "2.1.0", "linux_amd64", good, 2);
        assert_true(r.from_cache);

        /* rewrite with other content, then restore the old mtime: ctime
         * still differs, so the stale hash is not used */
        {
                _cleanup_free_ char *tampered = xstrdup(binary);
                tampered[3] ^= 1;
                write_provider_zip(ZIP_REL, tampered);
                set_mtime(ZIP_REL, 1000000000);
        }
        verify(&r, "cache", "2.1.0", "linux_amd64", good, 2);
        assert_false(r.from_cache);
        assert_int_equal(r.status, MIRROR_MISMATCH);
        write_provider_zip(ZIP_REL, binary);

        /* unpacked: modifying a file below the package directory */
        {
                const char *h1_only[] = { h1_good };
                _cleanup_free_ char *zip = path_in(ZIP_REL);
                _cleanup_free_ char *aside = path_in("aside.zip");

                assert_int_equal(rename(zip, aside), 0);
                verify(&r, "cache", "2.1.0", "linux_amd64", h1_only, 1);
                assert_int_equal(r.status, MIRROR_VERIFIED);
                assert_false(r.from_cache);
                verify(&r, "cache", "2.1.0", "linux_amd64", h1_only, 1);
                assert_true(r.from_cache);
                write_file(TYPE_DIR "/2.1.0/linux_amd64/terraform-provider-null_v2.1.0_x4", "evil", 4);
                verify(&r, "cache", "2.1.0", "linux_amd64", h1_only, 1);
                assert_false(r.from_cache);
                assert_int_equal(r.status, MIRROR_MISMATCH);
                write_file(TYPE_DIR "/2.1.0/linux_amd64/extra", "x", 1);
                write_file(TYPE_DIR "/2.1.0/linux_amd64/terraform-provider-null_v2.1.0_x4", binary, strlen(binary));
                verify(&r, "cache", "2.1.0", "linux_amd64", h1_only, 1);
                assert_int_equal(r.status, MIRROR_MISMATCH);  /* the extra file counts */
                {
                        _cleanup_free_ char *extra = path_in(TYPE_DIR "/2.1.0/linux_amd64/extra");
                        assert_int_equal(unlink(extra), 0);
                }
                verify(&r, "cache", "2.1.0", "linux_amd64", h1_only, 1);
                assert_int_equal(r.status, MIRROR_VERIFIED);
                assert_int_equal(rename(aside, zip), 0);
        }
}

static void damaged_cache_is_ignored(void **state)
{
        const char *good[] = { h1_good, zh_good };
        _cleanup_free_ char *file = path_in("cache2/" MIRROR_CACHE_FILE);
        _cleanup_free_ char *data = NULL;
        struct mirror_result r;
        size_t len;
        char *h;

        verify(&r, "cache2", "2.1.0", "linux_amd64", good, 2);
        assert_int_equal(r.status, MIRROR_VERIFIED);
        assert_int_equal(file_read_all(&data, &len, file, 1 << 20, NULL), 0);
        /* flip one character of the stored h1: the line's checksum fails */
        h = strstr(data, " h1:");
        assert_non_null(h);
        h[6] = h[6] == 'A' ? 'B' : 'A';
        assert_int_equal(file_write_atomic(file, data, len, 0600, NULL), 0);
        verify(&r, "cache2", "2.1.0", "linux_amd64", good, 2);
        assert_int_equal(r.status, MIRROR_VERIFIED);
        assert_false(r.from_cache);
        /* garbage: ignored, then replaced */
        assert_int_equal(file_write_atomic(file, "\x01garbage\nmore\n", 14, 0600, NULL), 0);
        verify(&r, "cache2", "2.1.0", "linux_amd64", good, 2);
        assert_false(r.from_cache);
        verify(&r, "cache2", "2.1.0", "linux_amd64", good, 2);
        assert_true(r.from_cache);
        /* a cache file others can write is not trusted at all */
        assert_int_equal(chmod(file, 0666), 0);
        verify(&r, "cache2", "2.1.0", "linux_amd64", good, 2);
        assert_false(r.from_cache);
        assert_int_equal(r.status, MIRROR_VERIFIED);
        /* a cached hash that matches nothing is rechecked, not reported */
        {
                const char *wrong[] = { "h1:J/XPKw4nOAsE0iHHqkR0oIBfchtt3pokNj4gFlHqVvk=" };
                verify(&r, "cache2", "2.1.0", "linux_amd64", wrong, 1);
                assert_int_equal(r.status, MIRROR_MISMATCH);
                assert_false(r.from_cache);
        }
}

static void requests_checked(void **state)
{
        _cleanup_free_ char *root = path_in("mirror");
        const char *good[] = { h1_good };
        struct mirror_result r;
        struct err e = ERR_INIT;
        char plat[MIRROR_PLATFORM_MAX];
        static const struct mirror_request bad[] = {
                { "registry.terraform.io/../null", "2.1.0", "linux_amd64", NULL, 0 },
                { "registry.terraform.io/hashicorp", "2.1.0", "linux_amd64", NULL, 0 },
                { "a/b/c/d", "2.1.0", "linux_amd64", NULL, 0 },
                { SRC, "../../x", "linux_amd64", NULL, 0 },
                { SRC, "2.1.0/x", "linux_amd64", NULL, 0 },
                { SRC, "2.1.0", "linux/amd64", NULL, 0 },
                { SRC, "2.1.0", "linux_amd64_x", NULL, 0 },
        };

        for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
                assert_true(mirror_verify(&r, root, NULL, &bad[i], &e) < 0);
        {
                struct mirror_request req = { SRC, "2.1.0", "linux_amd64", good, 1 };
                assert_int_equal(mirror_verify(&r, NULL, NULL, &req, &e), 0);
                assert_int_equal(r.status, MIRROR_NOT_CONFIGURED);
                assert_string_equal(mirror_status_name(r.status), "not-configured");
                assert_true(mirror_verify(&r, "/nonexistent/mirror", NULL, &req, &e) < 0);
        }
        assert_int_equal(mirror_host_platform(plat, &e), 0);
        assert_non_null(strstr(plat, "linux_"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(packed_verified_by_h1_or_zh),
                cmocka_unit_test(mismatch_and_tampering),
                cmocka_unit_test(missing_platform_and_version),
                cmocka_unit_test(unpacked_layout),
                cmocka_unit_test(symlinks_escaping_the_mirror),
                cmocka_unit_test(cache_hits_and_invalidation),
                cmocka_unit_test(damaged_cache_is_ignored),
                cmocka_unit_test(requests_checked),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
