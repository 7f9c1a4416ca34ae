/*
 * err.c - the single place where libcrypto's per-thread error queue is read and emptied.
 *
 * DESIGN: OpenSSL pushes errors onto a thread-local queue. A worker that verifies millions of
 * signatures would grow that queue on every rejection and later report a stale cause, so every
 * failing libcrypto call is followed by sgs_crypto_error(), which keeps the newest cause as text
 * and clears the queue.
 */
#include "err.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *
sgs_crypto_error(char *buf, size_t n)
{
    const unsigned long code = ERR_peek_last_error();
    if (n > 0) {
        buf[0] = '\0';
        if (code != 0) {
            const char *const reason = ERR_reason_error_string(code);
            if (reason != NULL)
                snprintf(buf, n, "%s", reason);
            else
                snprintf(buf, n, "libcrypto error 0x%lx", code);
        }
    }
    ERR_clear_error();
    return buf;
}

void
sgs_appendf(char *buf, size_t n, const char *fmt, ...)
{
    const size_t used = strnlen(buf, n);
    if (used + 1 >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, n - used, fmt, ap);
    va_end(ap);
}
