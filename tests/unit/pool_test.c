/*
 * pool_test.c - the worker pool: every job runs exactly once, on the state its worker's init
 * returned; init/fini once per worker; depth-1 queues and blocking submit (back-pressure);
 * concurrent submitters; idempotent join; argument and allocation failures. Also built with
 * -fsanitize=thread (unit.pool_tsan).
 */
#include "pool.h"

#include "sgs_test.h"
#include "sgs_test_util.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#define MAX_THREADS 8
#define JOBS 4000

typedef struct wstate {
    unsigned index;
    long jobs; /* touched only by the owning worker */
    unsigned magic;
} wstate;

typedef struct fixture {
    atomic_int runs[JOBS];
    atomic_int init_calls[MAX_THREADS];
    atomic_int fini_calls[MAX_THREADS];
    atomic_int bad_state;
    atomic_long fini_jobs; /* sum of per-worker job counts seen by fini */
    wstate states[MAX_THREADS];
} fixture;

static void *
hook_init(void *opaque, unsigned index)
{
    fixture *const f = opaque;
    if (index >= MAX_THREADS) {
        atomic_fetch_add(&f->bad_state, 1);
        return NULL;
    }
    atomic_fetch_add(&f->init_calls[index], 1);
    wstate *const s = &f->states[index];
    s->index = index;
    s->jobs = 0;
    s->magic = 0x5157u;
    return s;
}

static void
hook_run(void *opaque, void *state, void *job)
{
    fixture *const f = opaque;
    wstate *const s = state;
    if (s == NULL || s->magic != 0x5157u) {
        atomic_fetch_add(&f->bad_state, 1);
        return;
    }
    s->jobs++;
    const size_t i = (size_t)(uintptr_t)job;
    if (i < JOBS)
        atomic_fetch_add(&f->runs[i], 1);
    else
        atomic_fetch_add(&f->bad_state, 1);
}

static void
hook_fini(void *opaque, void *state)
{
    fixture *const f = opaque;
    wstate *const s = state;
    if (s == NULL || s->magic != 0x5157u || s->index >= MAX_THREADS) {
        atomic_fetch_add(&f->bad_state, 1);
        return;
    }
    atomic_fetch_add(&f->fini_calls[s->index], 1);
    atomic_fetch_add(&f->fini_jobs, s->jobs);
}

static fixture *
fixture_new(void)
{
    fixture *const f = calloc(1, sizeof(*f));
    REQUIRE(f != NULL);
    for (size_t i = 0; i < JOBS; i++)
        atomic_init(&f->runs[i], 0);
    for (size_t i = 0; i < MAX_THREADS; i++) {
        atomic_init(&f->init_calls[i], 0);
        atomic_init(&f->fini_calls[i], 0);
    }
    atomic_init(&f->bad_state, 0);
    atomic_init(&f->fini_jobs, 0);
    return f;
}

/* Every job ran once; each of `threads` workers had init and fini exactly once. */
static void
check_fixture(fixture *f, unsigned threads, size_t jobs)
{
    size_t wrong = 0;
    for (size_t i = 0; i < jobs; i++)
        wrong += atomic_load(&f->runs[i]) != 1;
    CHECK_EQ_INT(wrong, 0);
    for (unsigned t = 0; t < MAX_THREADS; t++) {
        CHECK_EQ_INT(atomic_load(&f->init_calls[t]), t < threads ? 1 : 0);
        CHECK_EQ_INT(atomic_load(&f->fini_calls[t]), t < threads ? 1 : 0);
    }
    CHECK_EQ_INT(atomic_load(&f->bad_state), 0);
    CHECK_EQ_INT(atomic_load(&f->fini_jobs), (long)jobs);
}

static void
test_threads_and_depths(void)
{
    static const size_t depths[] = {1, 2, 3, 64};
    for (unsigned threads = 1; threads <= MAX_THREADS; threads++) {
        for (size_t d = 0; d < sizeof(depths) / sizeof(depths[0]); d++) {
            fixture *const f = fixture_new();
            const sgs_pool_hooks hooks = {hook_init, hook_run, hook_fini, f};
            sgs_pool *p = NULL;
            REQUIRE(sgs_pool_create(NULL, threads, depths[d], &hooks, &p) == SGS_OK);
            REQUIRE(p != NULL);
            CHECK_EQ_INT(sgs_pool_threads(p), threads);
            for (size_t i = 0; i < JOBS; i++)
                sgs_pool_submit(p, (void *)(uintptr_t)i);
            sgs_pool_join(p);
            check_fixture(f, threads, JOBS);
            sgs_pool_join(p); /* idempotent */
            check_fixture(f, threads, JOBS);
            sgs_pool_free(p); /* joins again: nothing may run twice */
            check_fixture(f, threads, JOBS);
            free(f);
        }
    }
}

/* Hooks without init/fini: state is NULL. */
static atomic_int plain_runs;

static void
plain_run(void *opaque, void *state, void *job)
{
    (void)opaque;
    (void)job;
    if (state == NULL)
        atomic_fetch_add(&plain_runs, 1);
}

static void
test_no_init_fini(void)
{
    atomic_store(&plain_runs, 0);
    const sgs_pool_hooks hooks = {NULL, plain_run, NULL, NULL};
    sgs_pool *p = NULL;
    REQUIRE(sgs_pool_create(NULL, 3, 2, &hooks, &p) == SGS_OK);
    for (int i = 0; i < 100; i++)
        sgs_pool_submit(p, NULL);
    sgs_pool_free(p);
    CHECK_EQ_INT(atomic_load(&plain_runs), 100);
    sgs_pool_free(NULL); /* no-op */
}

/* ---- back-pressure: depth 1, the only worker blocked, the third submit must wait -------- */

typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open;
    atomic_int started; /* jobs that entered run */
    atomic_int done;
    atomic_int submitted; /* submits that returned */
    sgs_pool *pool;
} gate;

static void
gate_run(void *opaque, void *state, void *job)
{
    gate *const g = opaque;
    (void)state;
    (void)job;
    atomic_fetch_add(&g->started, 1);
    pthread_mutex_lock(&g->mu);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    atomic_fetch_add(&g->done, 1);
}

static void *
gate_submitter(void *arg)
{
    gate *const g = arg;
    for (int i = 0; i < 3; i++) {
        sgs_pool_submit(g->pool, NULL);
        atomic_fetch_add(&g->submitted, 1);
    }
    return NULL;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void
test_back_pressure(void)
{
    gate g;
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv, NULL);
    g.open = 0;
    atomic_init(&g.started, 0);
    atomic_init(&g.done, 0);
    atomic_init(&g.submitted, 0);
    const sgs_pool_hooks hooks = {NULL, gate_run, NULL, &g};
    REQUIRE(sgs_pool_create(NULL, 1, 1, &hooks, &g.pool) == SGS_OK);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, gate_submitter, &g) == 0);
    /* Wait until the worker holds job 1 and job 2 sits in the one slot. */
    for (int i = 0; i < 5000 && (atomic_load(&g.started) < 1 || atomic_load(&g.submitted) < 2);
         i++)
        sleep_ms(1);
    CHECK_EQ_INT(atomic_load(&g.started), 1);
    sleep_ms(100); /* give a wrong (non-blocking) submit every chance to return */
    CHECK_EQ_INT(atomic_load(&g.submitted), 2);
    CHECK_EQ_INT(atomic_load(&g.done), 0);
    pthread_mutex_lock(&g.mu);
    g.open = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    REQUIRE(pthread_join(th, NULL) == 0);
    CHECK_EQ_INT(atomic_load(&g.submitted), 3);
    sgs_pool_join(g.pool);
    CHECK_EQ_INT(atomic_load(&g.done), 3);
    sgs_pool_free(g.pool);
    pthread_cond_destroy(&g.cv);
    pthread_mutex_destroy(&g.mu);
}

/* ---- two submitting threads ------------------------------------------------------------ */

typedef struct submit_arg {
    sgs_pool *pool;
    size_t from, to;
} submit_arg;

static void *
submitter(void *arg)
{
    const submit_arg *const a = arg;
    for (size_t i = a->from; i < a->to; i++) {
        sgs_pool_submit(a->pool, (void *)(uintptr_t)i);
        if (i % 97 == 0)
            sched_yield();
    }
    return NULL;
}

static void
test_concurrent_submit(void)
{
    for (unsigned threads = 1; threads <= 4; threads += 3) {
        fixture *const f = fixture_new();
        const sgs_pool_hooks hooks = {hook_init, hook_run, hook_fini, f};
        sgs_pool *p = NULL;
        REQUIRE(sgs_pool_create(NULL, threads, 2, &hooks, &p) == SGS_OK);
        submit_arg a = {p, 0, JOBS / 2}, b = {p, JOBS / 2, JOBS};
        pthread_t ta, tb;
        REQUIRE(pthread_create(&ta, NULL, submitter, &a) == 0);
        REQUIRE(pthread_create(&tb, NULL, submitter, &b) == 0);
        REQUIRE(pthread_join(ta, NULL) == 0);
        REQUIRE(pthread_join(tb, NULL) == 0);
        sgs_pool_join(p);
        check_fixture(f, threads, JOBS);
        sgs_pool_free(p);
        free(f);
    }
}

/* ---- arguments and allocation failures --------------------------------------------------- */

static void
test_invalid_args(void)
{
    fixture *const f = fixture_new();
    const sgs_pool_hooks hooks = {hook_init, hook_run, hook_fini, f};
    const sgs_pool_hooks no_run = {hook_init, NULL, hook_fini, f};
    sgs_pool *p = (sgs_pool *)&p;
    CHECK_EQ_INT(sgs_pool_create(NULL, 0, 4, &hooks, &p), SGS_ERR_INVALID_ARG);
    CHECK(p == NULL);
    p = (sgs_pool *)&p;
    CHECK_EQ_INT(sgs_pool_create(NULL, 2, 0, &hooks, &p), SGS_ERR_INVALID_ARG);
    CHECK(p == NULL);
    CHECK_EQ_INT(sgs_pool_create(NULL, 2, 4, NULL, &p), SGS_ERR_INVALID_ARG);
    CHECK_EQ_INT(sgs_pool_create(NULL, 2, 4, &no_run, &p), SGS_ERR_INVALID_ARG);
    CHECK(p == NULL);
    check_fixture(f, 0, 0);
    free(f);
}

static void
test_alloc_failures(void)
{
    /* threads=3 makes 3 + 3 allocations (pool, ring, tids, three worker args). */
    int succeeded = 0;
    for (long n = 1; n <= 8; n++) {
        sgs_test_alloc ta;
        sgs_test_alloc_init(&ta, n, 0);
        const sgs_allocator a = sgs_test_allocator(&ta);
        fixture *const f = fixture_new();
        const sgs_pool_hooks hooks = {hook_init, hook_run, hook_fini, f};
        sgs_pool *p = NULL;
        const sgs_status st = sgs_pool_create(&a, 3, 4, &hooks, &p);
        if (st == SGS_OK) {
            succeeded++;
            CHECK(n > 6);
            for (size_t i = 0; i < 50; i++)
                sgs_pool_submit(p, (void *)(uintptr_t)i);
            sgs_pool_free(p);
            check_fixture(f, 3, 50);
        } else {
            CHECK_EQ_INT(st, SGS_ERR_NOMEM);
            CHECK(p == NULL);
            CHECK(n <= 6);
            /* the workers that did start ran init and fini once each, and no job */
            size_t started = 0;
            for (unsigned t = 0; t < MAX_THREADS; t++) {
                CHECK_EQ_INT(atomic_load(&f->init_calls[t]), atomic_load(&f->fini_calls[t]));
                started += (size_t)atomic_load(&f->init_calls[t]);
            }
            CHECK(started <= 2);
            CHECK_EQ_INT(atomic_load(&f->bad_state), 0);
        }
        CHECK_EQ_INT(atomic_load(&ta.live), 0);
        free(f);
    }
    CHECK_EQ_INT(succeeded, 2);
}

int
main(void)
{
    test_invalid_args();
    test_threads_and_depths();
    test_no_init_fini();
    test_back_pressure();
    test_concurrent_submit();
    test_alloc_failures();
    return sgs_test_done("pool_test");
}
