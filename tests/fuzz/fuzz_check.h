/* fuzz_check.h - the fuzz harnesses' invariant check: a broken invariant aborts, which
   libFuzzer (and the replay driver under ctest) reports as a crash with its input. */
#ifndef SGS_FUZZ_CHECK_H
#define SGS_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
