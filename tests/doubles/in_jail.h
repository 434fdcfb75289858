/* in_jail.h - for test programs that run inside tfgate's jail.  In the
 * sanitizer build they are instrumented too, and LeakSanitizer cannot work
 * there: it stops the world with ptrace, which the jail's seccomp filter
 * denies.  AddressSanitizer and UBSan still run; only the leak check at
 * exit is off, and only for these programs. */
#ifndef TFGATE_TESTS_IN_JAIL_H
#define TFGATE_TESTS_IN_JAIL_H

#if !defined(__SANITIZE_ADDRESS__) && defined(__has_feature)
#if __has_feature(address_sanitizer)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif

#if defined(__SANITIZE_ADDRESS__)
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
        return "detect_leaks=0";
}
#endif

#endif
