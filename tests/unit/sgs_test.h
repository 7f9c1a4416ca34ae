/*
 * sgs_test.h - the in-house assert header: each failed check prints file, line and the
 * expression, the test goes on, and sgs_test_done() turns the count into the exit status.
 */
#ifndef SGS_TEST_H
#define SGS_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ctest's SKIP_RETURN_CODE for tests whose data is absent. */
#define SGS_TEST_SKIP 77

static int sgs_test_failures;
static int sgs_test_checks;

#define CHECK(expr) \
    do { \
        sgs_test_checks++; \
        if (!(expr)) { \
            sgs_test_failures++; \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
        } \
    } while (0)

#define CHECK_EQ_INT(a, b) \
    do { \
        const long long sgs_a_ = (long long)(a), sgs_b_ = (long long)(b); \
        sgs_test_checks++; \
        if (sgs_a_ != sgs_b_) { \
            sgs_test_failures++; \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", __FILE__, \
                    __LINE__, #a, #b, sgs_a_, sgs_b_); \
        } \
    } while (0)

#define CHECK_EQ_STR(a, b) \
    do { \
        const char *sgs_a_ = (a), *sgs_b_ = (b); \
        sgs_test_checks++; \
        if (sgs_a_ == NULL || sgs_b_ == NULL || strcmp(sgs_a_, sgs_b_) != 0) { \
            sgs_test_failures++; \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n", __FILE__, \
                    __LINE__, #a, #b, sgs_a_ ? sgs_a_ : "(null)", sgs_b_ ? sgs_b_ : "(null)"); \
        } \
    } while (0)

#define CHECK_EQ_MEM(a, b, n) \
    do { \
        sgs_test_checks++; \
        if (memcmp((a), (b), (n)) != 0) { \
            sgs_test_failures++; \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%zu bytes differ)\n", __FILE__, \
                    __LINE__, #a, #b, (size_t)(n)); \
        } \
    } while (0)

/* Stops the test at once (setup that later checks depend on). */
#define REQUIRE(expr) \
    do { \
        if (!(expr)) { \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #expr); \
            exit(1); \
        } \
    } while (0)

static inline int
sgs_test_done(const char *name)
{
    fprintf(stderr, "%s: %d checks, %d failed\n", name, sgs_test_checks, sgs_test_failures);
    if (sgs_test_checks == 0) {
        fprintf(stderr, "%s: no check ran: a test that checks nothing fails\n", name);
        return 1;
    }
    return sgs_test_failures == 0 ? 0 : 1;
}

/* The seed for random inputs: SGS_TEST_SEED from the environment, else `dflt`; printed. */
static inline unsigned long
sgs_test_seed(unsigned long dflt)
{
    const char *const s = getenv("SGS_TEST_SEED");
    const unsigned long seed = s != NULL ? strtoul(s, NULL, 0) : dflt;
    fprintf(stderr, "seed: %lu (override with SGS_TEST_SEED)\n", seed);
    return seed;
}

#endif
