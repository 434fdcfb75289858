#include "randid.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

int random_bytes(void *out, size_t n, struct err *err)
{
        unsigned char *p = out;

        while (n > 0) {
                ssize_t got = getrandom(p, n, 0);

                if (got < 0) {
                        if (errno == EINTR)
                                continue;
                        return err_set(err, errno, "getrandom");
                }
                p += got;
                n -= (size_t)got;
        }
        return 0;
}

void hex_encode(char *out, const unsigned char *in, size_t n)
{
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[in[i] >> 4];
                out[2 * i + 1] = digits[in[i] & 15];
        }
        out[2 * n] = '\0';
}

int randid_new(char out[RANDID_HEX_LEN + 1], struct err *err)
{
        unsigned char raw[RANDID_HEX_LEN / 2];
        int r = random_bytes(raw, sizeof(raw), err);

        if (r < 0)
                return r;
        hex_encode(out, raw, sizeof(raw));
        return 0;
}

bool randid_valid(const char *s)
{
        if (s == NULL || strlen(s) != RANDID_HEX_LEN)
                return false;
        return strspn(s, "0123456789abcdef") == RANDID_HEX_LEN;
}
