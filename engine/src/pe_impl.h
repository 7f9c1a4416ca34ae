/* pe_impl.h - what pe.c (the header walk) shares with pe_hash.c (the streaming hasher, which
   parses the headers it is fed again). Nothing else includes it. */
#ifndef SGS_PE_IMPL_H
#define SGS_PE_IMPL_H

#include "pe.h"

#include <stdarg.h>
#include <stdio.h>

static inline uint64_t
min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static inline uint64_t
max64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* snprintf into an optional (buf, n): NULL or 0 writes nothing. */
__attribute__((format(printf, 3, 4))) static inline void
say(char *buf, size_t n, const char *fmt, ...)
{
    if (buf == NULL || n == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
}

/* sgs_pe_parse_alloc, with a caller's scratch array for the spec ranges (NULL: allocated) so
   a re-parse allocates nothing; one of fewer than nsections + 5 entries gives spec_ok = 0
   ("section table differs"). */
SGS_NODISCARD sgs_pe_status sgs_pe_parse_scratch(const sgs_allocator *a, const uint8_t *buf,
                                                 size_t len, uint64_t file_size,
                                                 sgs_pe_info *info, char *why, size_t whylen,
                                                 sgs_pe_range *scratch, size_t scratch_cap);

/* Index of the replay range of r[0, n) (one starting before the furthest end so far), or n. */
size_t sgs_pe_find_replay(const sgs_pe_range *r, size_t n);

#endif
