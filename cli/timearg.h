/* timearg.h - the time an option names (--at): @EPOCH or an RFC 3339 / ISO 8601 time. */
#ifndef SGS_CLI_TIMEARG_H
#define SGS_CLI_TIMEARG_H

#include <stdint.h>

/*
 * Parses `@EPOCH` (seconds, may be negative) or RFC 3339: `YYYY-MM-DD`, or
 * `YYYY-MM-DD(T|t| )HH:MM[:SS[.FRACTION]][Z|z|+HH:MM|-HH:MM]`, the offset east of UTC (none:
 * UTC). Every field has its exact number of digits and its range (the day within its month,
 * leap years included; second 60 is a leap second); the fraction (1 to 9 digits) is dropped,
 * so the time is the second it falls in. Returns 0 with *out (seconds since the epoch), or -1.
 * THREAD SAFETY: pure.
 */
int cli_parse_time(const char *s, int64_t *out);

#endif
