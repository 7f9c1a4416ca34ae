/* cache.h - in-run result cache: each (digest, signature, key set) is verified once. */
#ifndef SGS_CACHE_H
#define SGS_CACHE_H

#include "sigsweep.h"

#include <stddef.h>
#include <stdint.h>

/* Largest table accepted (slots); larger requests fail rather than overflow. */
#define SGS_CACHE_MAX_ENTRIES ((size_t)1 << 26)

/* Signatures longer than this are not cached (RSA-8192 is 1024 bytes). */
#define SGS_CACHE_SIG_MAX 1024

typedef struct sgs_cache sgs_cache;

/* What a verification concluded: a verdict and the index of the key that verified. */
typedef struct sgs_cache_value {
    sgs_verdict verdict;
    int32_t key_index; /* -1 when no key verified */
} sgs_cache_value;

/*
 * A bounded, set-associative table of `entries` slots (rounded up), striped locks. The
 * xxh3-128 of the inputs is only the table key: a hit also compares the full digest, the full
 * signature and the key-set id. Returns NULL on allocation failure or when entries exceeds
 * SGS_CACHE_MAX_ENTRIES. THREAD SAFETY: lookup and
 * insert may be called from any thread concurrently.
 */
sgs_cache *sgs_cache_create(const sgs_allocator *a, size_t entries);
void sgs_cache_free(sgs_cache *c);

/* 1 and *out filled on a hit, 0 on a miss. */
int sgs_cache_lookup(sgs_cache *c, const uint8_t keyset_id[32], int md_nid, const uint8_t *digest,
                     size_t dlen, const uint8_t *sig, size_t siglen, sgs_cache_value *out);

/* Stores a result (replacing the oldest entry of its set when full). */
void sgs_cache_insert(sgs_cache *c, const uint8_t keyset_id[32], int md_nid, const uint8_t *digest,
                      size_t dlen, const uint8_t *sig, size_t siglen, const sgs_cache_value *v);

#endif
