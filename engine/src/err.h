/* err.h - propagation macros and the one wrapper that collects libcrypto's errors. */
#ifndef SGS_ERR_H
#define SGS_ERR_H

#include "sigsweep.h"

#include <stddef.h>

#ifndef NDEBUG
#include <stdio.h>
#define SGS_TRACE_(code) \
    (getenv("SGS_DEBUG") ? fprintf(stderr, "sgs: %s:%d: %s\n", __FILE__, __LINE__, \
                                   sgs_status_str(code)) : 0)
#include <stdlib.h>
#else
#define SGS_TRACE_(code) 0
#endif

/* Return the status of x if it is not SGS_OK. */
#define SGS_TRY(x) \
    do { \
        const sgs_status sgs_try_st_ = (x); \
        if (sgs_try_st_ != SGS_OK) { \
            (void)SGS_TRACE_(sgs_try_st_); \
            return sgs_try_st_; \
        } \
    } while (0)

/* Set `st` to code and jump to `out` if cond holds. */
#define SGS_FAIL_IF(cond, code) \
    do { \
        if (cond) { \
            st = (code); \
            (void)SGS_TRACE_(st); \
            goto out; \
        } \
    } while (0)

/*
 * Describes the most recent libcrypto error of this thread into buf ("" if none) and empties
 * the thread's error queue, so a failed verification never leaves errors behind for the next
 * file. Returns buf.
 */
const char *sgs_crypto_error(char *buf, size_t n);

/* Appends printf-style text to the NUL-terminated text in buf[0, n): reasons built in parts.
   Never overflows; what does not fit is cut. */
void sgs_appendf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
