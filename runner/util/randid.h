/* randid.h - one-shot execution ids: 128 random bits from getrandom(2), as
 * 32 lowercase hex digits.  They name a job's workspace, cgroup, network
 * namespace and log lines, and are never reused. */
#ifndef TFGATE_RANDID_H
#define TFGATE_RANDID_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define RANDID_HEX_LEN 32

int randid_new(char out[RANDID_HEX_LEN + 1], struct err *err);
int random_bytes(void *out, size_t n, struct err *err);
bool randid_valid(const char *s);
void hex_encode(char *out, const unsigned char *in, size_t n);

#endif
