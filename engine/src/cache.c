/*
 * cache.c - the in-run result cache.
 *
 * DESIGN: a fleet holds the same program file on thousands of machines, so the same
 * (digest, signature) pair arrives many times; its public-key verification is done once.
 * The table is set-associative (4 ways per set, power-of-two sets) and bounded: when a set is
 * full the oldest entry is replaced, so memory stays flat however many files a run sees.
 * xxh3-128 of (key-set id, hash nid, digest, signature) picks the set and is compared first,
 * but it is only a table key: a hit also compares the full digest, the full signature and the
 * key-set id byte for byte, so a 128-bit collision can never turn into a verdict.
 * Locks are striped over sets; lookups copy the value out under the lock.
 */
#include "cache.h"

#include "alloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <xxhash.h>

#define WAYS 4
#define STRIPES 64
#define DIGEST_MAX 64

typedef struct entry {
    XXH128_hash_t h;
    uint8_t *sig; /* owned; NULL = empty slot */
    size_t siglen;
    uint64_t stamp; /* insertion order within the set */
    int md_nid;
    uint8_t dlen;
    uint8_t digest[DIGEST_MAX];
    uint8_t keyset_id[32];
    sgs_cache_value value;
} entry;

/* One lock per 64-byte line: neighbouring stripes must not share a cache line, or two
   threads taking different locks still fight over it. */
typedef struct stripe {
    pthread_mutex_t mu;
    char pad[64 - sizeof(pthread_mutex_t) % 64];
} stripe;

struct sgs_cache {
    const sgs_allocator *alloc;
    size_t sets; /* power of two */
    _Atomic int used; /* any slot ever filled (free need not visit untouched pages) */
    entry *slots;
    uint64_t *clock; /* per set */
    stripe locks[STRIPES];
};

sgs_cache *
sgs_cache_create(const sgs_allocator *a, size_t entries)
{
    if (entries > SGS_CACHE_MAX_ENTRIES)
        return NULL;
    size_t sets = 1;
    while (sets * WAYS < entries)
        sets *= 2;
    sgs_cache *const c = sgs_calloc(a, 1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->alloc = a;
    c->sets = sets;
    c->slots = sgs_calloc(a, sets * WAYS, sizeof(entry));
    c->clock = sgs_calloc(a, sets, sizeof(uint64_t));
    if (c->slots == NULL || c->clock == NULL) {
        sgs_free(a, c->slots);
        sgs_free(a, c->clock);
        sgs_free(a, c);
        return NULL;
    }
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_init(&c->locks[i].mu, NULL);
    return c;
}

void
sgs_cache_free(sgs_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; atomic_load(&c->used) && i < c->sets * WAYS; i++)
        sgs_free(c->alloc, c->slots[i].sig);
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&c->locks[i].mu);
    sgs_free(c->alloc, c->slots);
    sgs_free(c->alloc, c->clock);
    sgs_free(c->alloc, c);
}

static XXH128_hash_t
table_key(const uint8_t keyset_id[32], int md_nid, const uint8_t *digest, size_t dlen,
          const uint8_t *sig, size_t siglen)
{
    /* one-shot over a contiguous copy: cheaper than the streaming state for ~300 bytes */
    uint8_t buf[32 + sizeof(int32_t) + DIGEST_MAX + SGS_CACHE_SIG_MAX];
    const int32_t nid = md_nid;
    size_t n = 0;
    memcpy(buf, keyset_id, 32);
    n += 32;
    memcpy(buf + n, &nid, sizeof(nid));
    n += sizeof(nid);
    memcpy(buf + n, digest, dlen);
    n += dlen;
    memcpy(buf + n, sig, siglen);
    n += siglen;
    return XXH3_128bits(buf, n);
}

static int
same(const entry *e, XXH128_hash_t h, const uint8_t keyset_id[32], int md_nid,
     const uint8_t *digest, size_t dlen, const uint8_t *sig, size_t siglen)
{
    return e->sig != NULL && XXH128_isEqual(e->h, h) && e->md_nid == md_nid &&
           e->dlen == dlen && e->siglen == siglen && memcmp(e->digest, digest, dlen) == 0 &&
           memcmp(e->keyset_id, keyset_id, 32) == 0 && memcmp(e->sig, sig, siglen) == 0;
}

int
sgs_cache_lookup(sgs_cache *c, const uint8_t keyset_id[32], int md_nid, const uint8_t *digest,
                 size_t dlen, const uint8_t *sig, size_t siglen, sgs_cache_value *out)
{
    if (dlen > DIGEST_MAX || siglen > SGS_CACHE_SIG_MAX || siglen == 0)
        return 0;
    const XXH128_hash_t h = table_key(keyset_id, md_nid, digest, dlen, sig, siglen);
    const size_t set = (size_t)h.low64 & (c->sets - 1);
    pthread_mutex_t *const lock = &c->locks[set % STRIPES].mu;
    int hit = 0;
    pthread_mutex_lock(lock);
    for (size_t w = 0; w < WAYS; w++) {
        const entry *const e = &c->slots[set * WAYS + w];
        if (same(e, h, keyset_id, md_nid, digest, dlen, sig, siglen)) {
            *out = e->value;
            hit = 1;
            break;
        }
    }
    pthread_mutex_unlock(lock);
    return hit;
}

void
sgs_cache_insert(sgs_cache *c, const uint8_t keyset_id[32], int md_nid, const uint8_t *digest,
                 size_t dlen, const uint8_t *sig, size_t siglen, const sgs_cache_value *v)
{
    if (dlen > DIGEST_MAX || siglen > SGS_CACHE_SIG_MAX || siglen == 0)
        return;
    const XXH128_hash_t h = table_key(keyset_id, md_nid, digest, dlen, sig, siglen);
    const size_t set = (size_t)h.low64 & (c->sets - 1);
    pthread_mutex_t *const lock = &c->locks[set % STRIPES].mu;
    uint8_t *const copy = sgs_malloc(c->alloc, siglen);
    if (copy == NULL)
        return; /* a cache that cannot grow only costs speed */
    memcpy(copy, sig, siglen);
    pthread_mutex_lock(lock);
    entry *victim = NULL; /* an empty slot, else the oldest of the set */
    for (size_t w = 0; w < WAYS; w++) {
        entry *const e = &c->slots[set * WAYS + w];
        if (same(e, h, keyset_id, md_nid, digest, dlen, sig, siglen)) {
            pthread_mutex_unlock(lock); /* another thread stored it first */
            sgs_free(c->alloc, copy);
            return;
        }
        if (victim == NULL || (victim->sig != NULL && (e->sig == NULL || e->stamp < victim->stamp)))
            victim = e;
    }
    uint8_t *const old = victim->sig;
    atomic_store_explicit(&c->used, 1, memory_order_relaxed);
    victim->h = h;
    victim->sig = copy;
    victim->siglen = siglen;
    victim->md_nid = md_nid;
    victim->dlen = (uint8_t)dlen;
    memcpy(victim->digest, digest, dlen);
    memcpy(victim->keyset_id, keyset_id, 32);
    victim->value = *v;
    victim->stamp = ++c->clock[set];
    pthread_mutex_unlock(lock);
    sgs_free(c->alloc, old);
}
