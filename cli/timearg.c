/*
 * timearg.c - the time an option names: @EPOCH, or RFC 3339 (section 5.6's date-time, plus a
 * date alone and the minute without seconds that --at took before). A strict reader, field by
 * field with fixed digit counts: strptime accepts spaces, short fields and out-of-range days.
 */
#include "timearg.h"

#include <errno.h>
#include <stdlib.h>

/* n decimal digits at *p into *v; advances *p. 0, or -1 when a character is not a digit. */
static int
digits(const char **p, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        const char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        x = x * 10 + (c - '0');
    }
    *p += n;
    *v = x;
    return 0;
}

static int
is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's
   days_from_civil). */
static int64_t
days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int
cli_parse_time(const char *s, int64_t *out)
{
    if (s[0] == '@') {
        char *end = NULL;
        errno = 0;
        const long long v = strtoll(s + 1, &end, 10);
        if (errno != 0 || end == s + 1 || *end != '\0' || s[1] == ' ' || s[1] == '+')
            return -1;
        *out = v;
        return 0;
    }
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (digits(&p, 4, &y) != 0 || *p++ != '-' || digits(&p, 2, &mo) != 0 || *p++ != '-' ||
        digits(&p, 2, &d) != 0)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && is_leap(y)))
        return -1;
    int64_t offset = 0; /* seconds east of UTC */
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) != 0 || *p++ != ':' || digits(&p, 2, &mi) != 0 || h > 23 ||
            mi > 59)
            return -1;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &sec) != 0 || sec > 60)
                return -1;
            if (*p == '.') {
                int frac_digits = 0;
                for (p++; *p >= '0' && *p <= '9'; p++)
                    frac_digits++;
                if (frac_digits == 0 || frac_digits > 9)
                    return -1;
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            const int sign = *p++ == '-' ? -1 : 1;
            int oh, om;
            if (digits(&p, 2, &oh) != 0 || *p++ != ':' || digits(&p, 2, &om) != 0 || oh > 23 ||
                om > 59)
                return -1;
            offset = sign * (int64_t)(oh * 3600 + om * 60);
        }
    }
    if (*p != '\0')
        return -1;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    return 0;
}
