/*
 * timearg_test.c - the times --at takes (cli/timearg.c): every RFC 3339 form gives the second
 * it names, offsets move it the right way, and each malformed form is refused.
 */
#include "sgs_test.h"
#include "timearg.h"

#include <stdint.h>

static void
accepts(const char *s, int64_t want)
{
    int64_t got = 12345;
    const int rc = cli_parse_time(s, &got);
    CHECK_EQ_INT(rc, 0);
    if (rc == 0 && got != want)
        fprintf(stderr, "  %s: got %lld, want %lld\n", s, (long long)got, (long long)want);
    CHECK(got == want);
}

static void
refuses(const char *s)
{
    int64_t got = 0;
    const int rc = cli_parse_time(s, &got);
    if (rc != -1)
        fprintf(stderr, "  accepted: '%s'\n", s);
    CHECK_EQ_INT(rc, -1);
}

int
main(void)
{
    const int64_t t = 1496275200; /* 2017-06-01T00:00:00Z */
    accepts("2017-06-01", t);
    accepts("2017-06-01T00:00:00Z", t);
    accepts("2017-06-01T00:00:00z", t);
    accepts("2017-06-01t00:00:00Z", t);
    accepts("2017-06-01 00:00:00Z", t);
    accepts("2017-06-01T00:00:00", t);
    accepts("2017-06-01T00:00", t);
    accepts("2017-06-01T00:00:00+00:00", t);
    accepts("2017-06-01T00:00:00-00:00", t);
    accepts("2017-06-01T02:00:00+02:00", t);
    accepts("2017-05-31T18:30:00-05:30", t);
    accepts("2017-06-01T05:30+05:30", t);
    accepts("2017-06-01T00:00:00.999Z", t);
    accepts("2017-06-01T00:00:00.5+00:00", t);
    accepts("2017-06-01T00:00:00.123456789Z", t);
    accepts("2017-06-01T00:00:01Z", t + 1);
    accepts("2016-12-31T23:59:60Z", 1483228800); /* a leap second: the next second's count */
    accepts("2024-02-29", 1709164800);
    accepts("1969-12-31T23:59:59Z", -1);
    accepts("1970-01-01T00:00:00Z", 0);
    accepts("@1496275200", t);
    accepts("@-1", -1);
    accepts("2099-12-31T23:59:59+23:59", 4102444799 - 23 * 3600 - 59 * 60);

    refuses("");
    refuses("@");
    refuses("@12x");
    refuses("@ 5");
    refuses("2017-6-01");
    refuses("2017-06-1");
    refuses("17-06-01");
    refuses("2017-13-01");
    refuses("2017-00-01");
    refuses("2017-06-31");
    refuses("2023-02-29");
    refuses("2017-06-00");
    refuses("2017-06-01T");
    refuses("2017-06-01T24:00:00Z");
    refuses("2017-06-01T00:60:00Z");
    refuses("2017-06-01T00:00:61Z");
    refuses("2017-06-01T0:00:00Z");
    refuses("2017-06-01T00:00:00.Z");
    refuses("2017-06-01T00:00:00.1234567890Z");
    refuses("2017-06-01T00:00:00+0000");
    refuses("2017-06-01T00:00:00+00");
    refuses("2017-06-01T00:00:00+24:00");
    refuses("2017-06-01T00:00:00+00:60");
    refuses("2017-06-01T00:00:00ZZ");
    refuses("2017-06-01T00:00:00Z ");
    refuses(" 2017-06-01");
    refuses("2017-06-01Z");
    refuses("2017-06-01T00:00:00 +00:00");
    return sgs_test_done("timearg_test");
}
