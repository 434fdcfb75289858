/* utf8.h - UTF-8 validation for text that came from a job or a forge. */
#ifndef TFGATE_UTF8_H
#define TFGATE_UTF8_H

#include <stddef.h>

/* Length (1-4) of the valid UTF-8 sequence at p, looking at most n bytes
 * (n >= 1); 0 when it is not valid: a stray continuation byte, a truncated
 * sequence, an overlong form, a surrogate or a value past U+10FFFF. */
size_t utf8_seq_len(const unsigned char *p, size_t n);

#endif
