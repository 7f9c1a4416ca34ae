/*
 * cache_bench.c - the in-run result cache under contention: lookups that hit, lookups that
 * miss, and inserts, on 1, 2 and 4 threads sharing one cache (wall-clock time).
 *
 * DESIGN: entries look like the engine's (SHA-256 digest, 256-byte RSA-2048 signature, one
 * key-set id) and are made once. The cache has the engine's default size (16384 slots in
 * 4096 sets of 4 ways); PRESENT entries are filled, few enough that none is evicted (the
 * known-answer check proves it for these fixed bytes), so every hit stays resident.
 *   cache/lookup_hit   each thread walks the present entries from its own offset;
 *   cache/lookup_miss  the same over entries never inserted (differing digests);
 *   cache/insert       each thread inserts entries no other thread makes (a per-thread tag in
 *                      the digest): past the capacity each insert evicts the set's oldest.
 * Thread 0 builds the shared cache before the loop (the shim's start barrier publishes it)
 * and frees it after (its stop barrier waits for the others). Items/s are summed over threads.
 * Known answer before timing: every present entry hits with its own value, absent ones miss,
 * and an inserted entry then hits.
 */
#include "bench_util.h"

#include "cache.h"

#include <openssl/obj_mac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 16384
#define PRESENT 1024 /* power of two; a quarter of the sets: no set overflows its 4 ways */
#define SIG_LEN 256
#define DIGEST_LEN 32

typedef struct cache_entry_data {
    uint8_t digest[DIGEST_LEN];
    uint8_t sig[SIG_LEN];
} cache_entry_data;

typedef enum cache_op { OP_HIT, OP_MISS, OP_INSERT } cache_op;

typedef struct cache_bench {
    cache_entry_data *data; /* PRESENT present entries, then PRESENT absent ones */
    uint8_t keyset_id[32];
    sgs_cache *cache;  /* shared by the threads of one run */
    const char *wrong; /* set by thread 0 when the known-answer check failed */
    struct cache_case {
        struct cache_bench *cb;
        cache_op op;
    } cases[3];
} cache_bench;

static void
entry_value(size_t i, sgs_cache_value *v)
{
    v->verdict = SGS_V_VALID;
    v->key_index = (int32_t)(i % 7);
}

/* Thread 0, before the loop: the shared cache, filled and checked. NULL, or what is wrong. */
static const char *
setup(cache_bench *cb)
{
    sgs_cache_value v, got;
    if (cb->data == NULL) {
        cb->data = malloc(2 * PRESENT * sizeof(cache_entry_data));
        if (cb->data == NULL)
            return "out of memory";
        sgs_bench_fill(cb->data, 2 * PRESENT * sizeof(cache_entry_data), 99);
        sgs_bench_fill(cb->keyset_id, sizeof(cb->keyset_id), 98);
    }
    cb->cache = sgs_cache_create(NULL, CACHE_SLOTS);
    if (cb->cache == NULL)
        return "sgs_cache_create failed";
    for (size_t i = 0; i < PRESENT; i++) {
        entry_value(i, &v);
        sgs_cache_insert(cb->cache, cb->keyset_id, NID_sha256, cb->data[i].digest, DIGEST_LEN,
                         cb->data[i].sig, SIG_LEN, &v);
    }
    for (size_t i = 0; i < PRESENT; i++) {
        entry_value(i, &v);
        if (!sgs_cache_lookup(cb->cache, cb->keyset_id, NID_sha256, cb->data[i].digest, DIGEST_LEN,
                              cb->data[i].sig, SIG_LEN, &got) ||
            got.verdict != v.verdict || got.key_index != v.key_index)
            return "a present entry does not hit with its value";
        const cache_entry_data *const absent = &cb->data[PRESENT + i];
        if (sgs_cache_lookup(cb->cache, cb->keyset_id, NID_sha256, absent->digest, DIGEST_LEN,
                             absent->sig, SIG_LEN, &got))
            return "an absent entry hits";
    }
    /* An insert then hits (on a copy: the absent entries must stay absent). */
    cache_entry_data probe = cb->data[PRESENT];
    probe.digest[0] ^= 0xff;
    entry_value(3, &v);
    sgs_cache_insert(cb->cache, cb->keyset_id, NID_sha256, probe.digest, DIGEST_LEN, probe.sig,
                     SIG_LEN, &v);
    if (!sgs_cache_lookup(cb->cache, cb->keyset_id, NID_sha256, probe.digest, DIGEST_LEN, probe.sig,
                          SIG_LEN, &got) ||
        got.key_index != v.key_index)
        return "an inserted entry does not hit";
    return NULL;
}

static void
bm_cache(sgs_bench_state *st, void *arg)
{
    const struct cache_case *const cc = arg;
    cache_bench *const cb = cc->cb;
    const int t = sgs_bench_thread_index(st);
    if (t == 0) {
        cb->wrong = setup(cb);
        if (cb->wrong != NULL)
            sgs_bench_skip(st, cb->wrong);
    }
    /* Each thread its own starting offset, so threads do not walk in lock step. */
    size_t i = (size_t)t * (PRESENT / 4 + 17);
    const size_t base = cc->op == OP_MISS ? PRESENT : 0;
    uint64_t n = 0, unexpected = 0;
    cache_entry_data mine;
    sgs_cache_value v;
    entry_value(1, &v);
    memcpy(&mine, &cb->data[PRESENT], sizeof(mine));
    while (sgs_bench_keep_running(st)) {
        if (cb->wrong != NULL) {
            sgs_bench_skip(st, cb->wrong);
            continue;
        }
        sgs_cache_value got;
        const cache_entry_data *const e = &cb->data[base + (i++ & (PRESENT - 1))];
        switch (cc->op) {
        case OP_HIT:
            unexpected += !sgs_cache_lookup(cb->cache, cb->keyset_id, NID_sha256, e->digest,
                                            DIGEST_LEN, e->sig, SIG_LEN, &got);
            break;
        case OP_MISS:
            unexpected += (uint64_t)sgs_cache_lookup(cb->cache, cb->keyset_id, NID_sha256,
                                                     e->digest, DIGEST_LEN, e->sig, SIG_LEN, &got);
            break;
        case OP_INSERT:
            /* A digest no thread has inserted: (thread, counter) in its first 12 bytes. */
            n++;
            memcpy(mine.digest, &t, sizeof(t));
            memcpy(mine.digest + sizeof(t), &n, sizeof(n));
            sgs_cache_insert(cb->cache, cb->keyset_id, NID_sha256, mine.digest, DIGEST_LEN,
                             mine.sig, SIG_LEN, &v);
            break;
        }
    }
    if (unexpected > 0)
        sgs_bench_skip(st, cc->op == OP_HIT ? "a present entry missed" : "an absent entry hit");
    sgs_bench_set_items(st, sgs_bench_iterations(st));
    if (t == 0) {
        sgs_cache_free(cb->cache);
        cb->cache = NULL;
    }
}

void *
sgs_cache_bench_register(sgs_bench_env *env)
{
    (void)env;
    cache_bench *const cb = calloc(1, sizeof(*cb));
    if (cb == NULL)
        return NULL;
    static const char *const names[] = {"cache/lookup_hit", "cache/lookup_miss", "cache/insert"};
    for (int k = 0; k < 3; k++) {
        cb->cases[k].cb = cb;
        cb->cases[k].op = (cache_op)k;
        sgs_bench *const b = sgs_bench_register(names[k], bm_cache, &cb->cases[k]);
        sgs_bench_add_threads(b, 1);
        sgs_bench_add_threads(b, 2);
        sgs_bench_add_threads(b, 4);
        sgs_bench_use_real_time(b);
    }
    return cb;
}

void
sgs_cache_bench_free(void *ctx)
{
    cache_bench *const cb = ctx;
    if (cb == NULL)
        return;
    sgs_cache_free(cb->cache);
    free(cb->data);
    free(cb);
}
