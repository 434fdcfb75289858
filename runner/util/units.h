/* units.h - sizes and durations as people write them in configs and flags.
 *
 * Sizes: an integer and a unit: B, KB MB GB TB (powers of 1000), KiB MiB GiB
 * TiB (powers of 1024); K M G T alone are taken as KiB MiB GiB TiB.  A bare
 * number is refused (say "B" to mean bytes), so "512" is never 512 MiB by
 * accident.  Durations: one or more integer+unit groups, units ms s m h d
 * ("1h30m", "500ms", "90s").  No signs, no fractions, no overflow. */
#ifndef TFGATE_UNITS_H
#define TFGATE_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

int parse_size(const char *s, uint64_t *out, struct err *err);
int parse_duration_ms(const char *s, uint64_t *out_ms, struct err *err);
/* a decimal unsigned integer, whole string, no sign, <= max */
int parse_uint(const char *s, uint64_t max, uint64_t *out, struct err *err);

/* "512MiB", "1GiB", "100B": the shortest exact spelling */
void format_size(char *out, size_t n, uint64_t bytes);
/* "1h30m", "500ms", "0s" */
void format_duration(char *out, size_t n, uint64_t ms);

#endif
