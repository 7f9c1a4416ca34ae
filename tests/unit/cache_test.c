/*
 * cache_test.c - the in-run result cache: a hit returns exactly what was stored; any one-bit
 * difference in digest, signature or key-set id, another hash nid or another length misses;
 * memory stays bounded under 10x its capacity; concurrent lookups and inserts from 4 threads
 * agree with a reference; a failing allocator makes create return NULL and insert a no-op.
 * Also built with -fsanitize=thread (unit.cache_tsan).
 */
#include "cache.h"

#include "sgs_test.h"
#include "sgs_test_util.h"

#include <openssl/obj_mac.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

static unsigned long seed;

typedef struct item {
    uint8_t id[32];
    int nid;
    uint8_t digest[64];
    size_t dlen;
    uint8_t sig[SGS_CACHE_SIG_MAX + 1];
    size_t siglen;
    sgs_cache_value v;
} item;

/* A deterministic item number k (same k, same item, on every thread). */
static void
make_item(item *it, uint64_t k)
{
    sgs_test_rng r;
    sgs_test_rng_init(&r, seed ^ (k * 0x100000001b3ull));
    memset(it, 0, sizeof(*it));
    sgs_test_fill(&r, it->id, 32);
    it->id[0] = (uint8_t)(k & 1); /* only two key sets */
    memset(it->id + 1, 0x11, 31);
    static const int nids[] = {NID_sha256, NID_sha384, NID_sha512};
    static const size_t dlens[] = {32, 48, 64};
    const size_t h = (size_t)(k % 3);
    it->nid = nids[h];
    it->dlen = dlens[h];
    sgs_test_fill(&r, it->digest, it->dlen);
    it->siglen = 64 + (size_t)(sgs_test_rand(&r) % 450);
    sgs_test_fill(&r, it->sig, it->siglen);
    it->v.verdict = (k % 5 == 0) ? SGS_V_BAD_SIGNATURE : SGS_V_VALID;
    it->v.key_index = it->v.verdict == SGS_V_VALID ? (int32_t)(k % 7) : -1;
}

static void
put(sgs_cache *c, const item *it)
{
    sgs_cache_insert(c, it->id, it->nid, it->digest, it->dlen, it->sig, it->siglen, &it->v);
}

static int
get(sgs_cache *c, const item *it, sgs_cache_value *out)
{
    out->verdict = SGS_VERDICT_COUNT;
    out->key_index = 12345;
    return sgs_cache_lookup(c, it->id, it->nid, it->digest, it->dlen, it->sig, it->siglen, out);
}

static void
test_hit_and_misses(void)
{
    sgs_cache *const c = sgs_cache_create(NULL, 1024);
    REQUIRE(c != NULL);
    item *const it = malloc(sizeof(*it));
    item *const tw = malloc(sizeof(*tw));
    REQUIRE(it != NULL && tw != NULL);
    make_item(it, 42);
    sgs_cache_value v;
    CHECK_EQ_INT(get(c, it, &v), 0); /* empty cache */
    put(c, it);
    CHECK_EQ_INT(get(c, it, &v), 1);
    CHECK_EQ_INT(v.verdict, it->v.verdict);
    CHECK_EQ_INT(v.key_index, it->v.key_index);

    size_t misses = 0, twins = 0;
    /* one bit flipped anywhere in digest, signature or key-set id */
    for (size_t bit = 0; bit < it->dlen * 8; bit++) {
        *tw = *it;
        tw->digest[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        twins++;
        misses += get(c, tw, &v) == 0;
    }
    for (size_t bit = 0; bit < it->siglen * 8; bit += 7) {
        *tw = *it;
        tw->sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        twins++;
        misses += get(c, tw, &v) == 0;
    }
    for (size_t bit = 0; bit < 256; bit++) {
        *tw = *it;
        tw->id[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        twins++;
        misses += get(c, tw, &v) == 0;
    }
    CHECK_EQ_INT(misses, twins);

    /* another hash nid, same bytes */
    *tw = *it;
    tw->nid = it->nid == NID_sha256 ? NID_sha512 : NID_sha256;
    CHECK_EQ_INT(get(c, tw, &v), 0);
    /* shorter / longer digest and signature (prefixes and extensions of the stored ones) */
    *tw = *it;
    tw->dlen = it->dlen - 1;
    CHECK_EQ_INT(get(c, tw, &v), 0);
    *tw = *it;
    tw->dlen = it->dlen + 1 <= 64 ? it->dlen + 1 : it->dlen - 2;
    CHECK_EQ_INT(get(c, tw, &v), 0);
    *tw = *it;
    tw->siglen = it->siglen - 1;
    CHECK_EQ_INT(get(c, tw, &v), 0);
    *tw = *it;
    tw->sig[tw->siglen++] = 0;
    CHECK_EQ_INT(get(c, tw, &v), 0);
    /* the twin itself still hits, unchanged */
    CHECK_EQ_INT(get(c, it, &v), 1);
    CHECK_EQ_INT(v.verdict, it->v.verdict);

    /* inserting the same key again keeps one entry; a twin is stored separately */
    put(c, it);
    *tw = *it;
    tw->sig[0] ^= 1;
    tw->v.verdict = SGS_V_BAD_SIGNATURE;
    tw->v.key_index = -1;
    put(c, tw);
    CHECK_EQ_INT(get(c, tw, &v), 1);
    CHECK_EQ_INT(v.verdict, SGS_V_BAD_SIGNATURE);
    CHECK_EQ_INT(v.key_index, -1);
    CHECK_EQ_INT(get(c, it, &v), 1);
    CHECK_EQ_INT(v.verdict, it->v.verdict);
    CHECK_EQ_INT(v.key_index, it->v.key_index);

    /* not cacheable: empty signature, signature over the max, digest over 64 bytes */
    *tw = *it;
    tw->siglen = 0;
    put(c, tw);
    CHECK_EQ_INT(get(c, tw, &v), 0);
    *tw = *it;
    tw->siglen = SGS_CACHE_SIG_MAX + 1;
    put(c, tw);
    CHECK_EQ_INT(get(c, tw, &v), 0);
    *tw = *it;
    tw->siglen = SGS_CACHE_SIG_MAX; /* the max itself is cached */
    put(c, tw);
    CHECK_EQ_INT(get(c, tw, &v), 1);
    free(it);
    free(tw);
    sgs_cache_free(c);
    sgs_cache_free(NULL);
}

static void
test_bounded(void)
{
    enum { CAP = 256, ROUNDS = 10 };
    sgs_test_alloc ta;
    sgs_test_alloc_init(&ta, 0, 0);
    const sgs_allocator a = sgs_test_allocator(&ta);
    sgs_cache *const c = sgs_cache_create(&a, CAP);
    REQUIRE(c != NULL);
    const long base = atomic_load(&ta.live);
    item *const it = malloc(sizeof(*it));
    REQUIRE(it != NULL);
    sgs_cache_value v;
    size_t just_inserted_hits = 0;
    long max_live = 0;
    for (uint64_t k = 0; k < (uint64_t)CAP * ROUNDS; k++) {
        make_item(it, k);
        put(c, it);
        just_inserted_hits += get(c, it, &v) == 1 && v.verdict == it->v.verdict &&
                              v.key_index == it->v.key_index;
        const long live = atomic_load(&ta.live) - base;
        if (live > max_live)
            max_live = live;
    }
    CHECK_EQ_INT(just_inserted_hits, (size_t)CAP * ROUNDS);
    /* one signature copy per slot at most: CAP slots (CAP is a multiple of the 4 ways) */
    CHECK(max_live <= CAP);
    CHECK(max_live >= CAP / 2); /* and the table does fill */
    /* the most recent entries are mostly still there, with their values */
    size_t recent_hits = 0, wrong = 0;
    for (uint64_t k = (uint64_t)CAP * ROUNDS - CAP / 4; k < (uint64_t)CAP * ROUNDS; k++) {
        make_item(it, k);
        if (get(c, it, &v)) {
            recent_hits++;
            wrong += v.verdict != it->v.verdict || v.key_index != it->v.key_index;
        }
    }
    CHECK(recent_hits >= CAP / 4 * 3 / 4);
    CHECK_EQ_INT(wrong, 0);
    /* the very first entries are long gone (10x turnover) */
    size_t old_hits = 0;
    for (uint64_t k = 0; k < CAP / 4; k++) {
        make_item(it, k);
        old_hits += (size_t)get(c, it, &v);
    }
    CHECK(old_hits < CAP / 4 / 2);
    free(it);
    sgs_cache_free(c);
    CHECK_EQ_INT(atomic_load(&ta.live), 0);
}

/* ---- 4 threads over a shared working set ------------------------------------------------ */

enum { THREADS = 4, KEYS = 600, OPS = 20000 };

typedef struct worker_arg {
    sgs_cache *c;
    unsigned id;
    size_t hits, wrong;
} worker_arg;

static void *
hammer(void *p)
{
    worker_arg *const w = p;
    item *const it = malloc(sizeof(*it));
    REQUIRE(it != NULL);
    sgs_test_rng r;
    sgs_test_rng_init(&r, seed + w->id);
    for (size_t i = 0; i < OPS; i++) {
        make_item(it, sgs_test_rand(&r) % KEYS);
        sgs_cache_value v;
        if (get(w->c, it, &v)) {
            w->hits++;
            w->wrong += v.verdict != it->v.verdict || v.key_index != it->v.key_index;
        } else {
            put(w->c, it);
        }
    }
    free(it);
    return NULL;
}

static void
test_threads(void)
{
    sgs_test_alloc ta;
    sgs_test_alloc_init(&ta, 0, 0);
    const sgs_allocator a = sgs_test_allocator(&ta);
    sgs_cache *const c = sgs_cache_create(&a, 512); /* smaller than the set: evictions race */
    REQUIRE(c != NULL);
    pthread_t th[THREADS];
    worker_arg args[THREADS];
    for (unsigned t = 0; t < THREADS; t++) {
        args[t] = (worker_arg){c, t, 0, 0};
        REQUIRE(pthread_create(&th[t], NULL, hammer, &args[t]) == 0);
    }
    size_t hits = 0, wrong = 0;
    for (unsigned t = 0; t < THREADS; t++) {
        REQUIRE(pthread_join(th[t], NULL) == 0);
        hits += args[t].hits;
        wrong += args[t].wrong;
    }
    CHECK_EQ_INT(wrong, 0);
    CHECK(hits > (size_t)THREADS * OPS / 4);
    sgs_cache_free(c);
    CHECK_EQ_INT(atomic_load(&ta.live), 0);
}

static void
test_alloc_failures(void)
{
    /* create makes 3 allocations: each failing one gives NULL and leaks nothing */
    for (long n = 1; n <= 3; n++) {
        sgs_test_alloc ta;
        sgs_test_alloc_init(&ta, n, 0);
        const sgs_allocator a = sgs_test_allocator(&ta);
        CHECK(sgs_cache_create(&a, 100) == NULL);
        CHECK_EQ_INT(atomic_load(&ta.live), 0);
        CHECK_EQ_INT(atomic_load(&ta.failed), 1);
    }
    /* insert degrades to a no-op when its copy cannot be made; later inserts work again */
    sgs_test_alloc ta;
    sgs_test_alloc_init(&ta, 4, 0);
    const sgs_allocator a = sgs_test_allocator(&ta);
    sgs_cache *const c = sgs_cache_create(&a, 100);
    REQUIRE(c != NULL);
    item *const it = malloc(sizeof(*it));
    REQUIRE(it != NULL);
    sgs_cache_value v;
    make_item(it, 7);
    put(c, it); /* allocation 4 fails */
    CHECK_EQ_INT(atomic_load(&ta.failed), 1);
    CHECK_EQ_INT(get(c, it, &v), 0);
    put(c, it);
    CHECK_EQ_INT(get(c, it, &v), 1);
    CHECK_EQ_INT(v.verdict, it->v.verdict);
    /* and with every allocation failing from now on, lookups still answer for what is stored */
    ta.fail_after = 1;
    for (uint64_t k = 100; k < 200; k++) {
        item *const other = malloc(sizeof(*other));
        REQUIRE(other != NULL);
        make_item(other, k);
        put(c, other);
        CHECK_EQ_INT(get(c, other, &v), 0);
        free(other);
    }
    CHECK_EQ_INT(get(c, it, &v), 1);
    free(it);
    sgs_cache_free(c);
    CHECK_EQ_INT(atomic_load(&ta.live), 0);
}

/* Sizes: 0 and 1 entries still make a usable table; huge requests fail instead of hanging. */
static void
test_sizes(void)
{
    item *const it = malloc(sizeof(*it));
    REQUIRE(it != NULL);
    make_item(it, 3);
    sgs_cache_value v;
    for (size_t entries = 0; entries <= 5; entries++) {
        sgs_cache *const c = sgs_cache_create(NULL, entries);
        REQUIRE(c != NULL);
        put(c, it);
        CHECK_EQ_INT(get(c, it, &v), 1);
        sgs_cache_free(c);
    }
    free(it);
}

/*
 * A request no table can satisfy must fail (NULL), not hang: run it in a child with an alarm.
 * Returns the child's exit status, or -signal.
 */
static int
create_in_child(size_t entries)
{
    fflush(NULL);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        alarm(3);
        sgs_cache *const c = sgs_cache_create(NULL, entries);
        const int made = c != NULL;
        sgs_cache_free(c);
        _exit(made ? 1 : 0);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    if (WIFSIGNALED(status))
        return -WTERMSIG(status);
    return WEXITSTATUS(status);
}

static void
test_huge(void)
{
    /* 2^63 - 1 entries: the slot array size overflows size_t: NULL */
    CHECK_EQ_INT(create_in_child(SIZE_MAX / 2), 0);
    /* More than 2^63 entries: the set count must not wrap to 0 (an endless loop). */
    const int rc = create_in_child(SIZE_MAX);
    if (rc == -SIGALRM)
        fprintf(stderr, "cache_test: sgs_cache_create(NULL, SIZE_MAX) did not return within "
                        "3 s (set count doubling wraps to 0)\n");
    CHECK_EQ_INT(rc, 0);
}

int
main(void)
{
    seed = sgs_test_seed(0xcac4e5u);
    test_hit_and_misses();
    test_bounded();
    test_threads();
    test_alloc_failures();
    test_sizes();
    test_huge();
    return sgs_test_done("cache_test");
}
