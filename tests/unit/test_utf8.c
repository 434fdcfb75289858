#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "runner/util/utf8.h"

static size_t len_of(const char *s)
{
        return utf8_seq_len((const unsigned char *)s, strlen(s));
}

static void valid_sequences(void **state)
{
        assert_int_equal(len_of("a"), 1);
        assert_int_equal(len_of("\xc3\xa9"), 2);            /* é */
        assert_int_equal(len_of("\xe2\x80\xae"), 3);        /* U+202E, valid (the redactor strips it) */
        assert_int_equal(len_of("\xf0\x9f\x98\x80"), 4);    /* U+1F600 */
        assert_int_equal(len_of("\xf4\x8f\xbf\xbf"), 4);    /* U+10FFFF */
}

static void invalid_sequences(void **state)
{
        assert_int_equal(len_of("\x80"), 0);                /* stray continuation */
        assert_int_equal(len_of("\xc0\xaf"), 0);            /* overlong '/' */
        assert_int_equal(len_of("\xe0\x80\xaf"), 0);        /* overlong, 3 bytes */
        assert_int_equal(len_of("\xed\xa0\x80"), 0);        /* surrogate U+D800 */
        assert_int_equal(len_of("\xf4\x90\x80\x80"), 0);    /* past U+10FFFF */
        assert_int_equal(len_of("\xf5\x80\x80\x80"), 0);
        assert_int_equal(len_of("\xff"), 0);
        assert_int_equal(utf8_seq_len((const unsigned char *)"\xe2\x80", 2), 0); /* truncated */
        assert_int_equal(len_of("\xc3("), 0);               /* bad continuation */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(valid_sequences),
                cmocka_unit_test(invalid_sequences),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
