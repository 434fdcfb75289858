#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(struct err *err, int errnum, const char *fmt, ...)
{
        int code = errnum > 0 ? -errnum : -EINVAL;
        va_list ap;
        int n;

        if (err == NULL)
                return code;
        va_start(ap, fmt);
        n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        if (n < 0)
                err->msg[0] = '\0';
        if (errnum > 0) {
                size_t used = strnlen(err->msg, sizeof(err->msg) - 1);
                const char *why = strerror(errnum);

                if (used + 2 < sizeof(err->msg)) {
                        memcpy(err->msg + used, ": ", 2);
                        used += 2;
                        n = (int)strnlen(why, sizeof(err->msg) - 1 - used);
                        memcpy(err->msg + used, why, (size_t)n);
                        err->msg[used + (size_t)n] = '\0';
                }
        }
        err->code = code;
        return code;
}

int err_wrap(struct err *err, const char *fmt, ...)
{
        char prefix[ERR_MSG_MAX];
        char old[ERR_MSG_MAX];
        char joined[2 * ERR_MSG_MAX + 2];
        size_t n;
        va_list ap;

        if (err == NULL)
                return -EINVAL;
        if (err->code == 0)
                err->code = -EINVAL;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof(old));
        old[sizeof(old) - 1] = '\0';
        snprintf(joined, sizeof(joined), "%s: %s", prefix, old);
        n = strnlen(joined, sizeof(err->msg) - 1);
        memcpy(err->msg, joined, n);
        err->msg[n] = '\0';
        return err->code;
}

void err_clear(struct err *err)
{
        if (err == NULL)
                return;
        err->code = 0;
        err->msg[0] = '\0';
}
