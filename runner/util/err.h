/* err.h - the one error model: fallible functions return int (0 ok, negative
 * failure) and take `struct err *` last.  err_set() fills the object and
 * returns the negative code, so a failure is reported in one statement:
 *
 *     if (fd < 0)
 *             return err_set(err, errno, "open %s", path);
 *
 * Callers add context with err_wrap() and pass the code up.  A NULL err is
 * allowed everywhere and means "caller does not want the message". */
#ifndef TFGATE_ERR_H
#define TFGATE_ERR_H

#include <stddef.h>

#define ERR_MSG_MAX 1024

struct err {
        int code;               /* negative errno-style code, 0 = no error */
        char msg[ERR_MSG_MAX];  /* one line, no trailing newline */
};

#define ERR_INIT { 0, { 0 } }

/* Record an error.  When errnum > 0 ": strerror(errnum)" is appended and
 * -errnum is returned; errnum == 0 returns -EINVAL.  Overwrites any earlier
 * error held in err. */
int err_set(struct err *err, int errnum, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Prefix the held message with "context: " and return the held code. */
int err_wrap(struct err *err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

void err_clear(struct err *err);

#endif
