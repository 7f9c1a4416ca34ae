/*
 * pool_bench.c - the worker pool's own cost: jobs that do nothing but increment an atomic, on
 * 1 to 4 workers (wall-clock time).
 *
 * DESIGN: one iteration is a whole pool life on JOBS tiny jobs: sgs_pool_create (the engine's
 * queue depth, 256 per worker), sgs_pool_submit_many of all jobs (blocking while the ring is
 * full), sgs_pool_join, sgs_pool_free. Items/s is jobs per second: the ceiling the pool puts
 * on the engine's files per second, and how it moves with the worker count (on a 2-core
 * machine 3 and 4 workers measure oversubscription). Known answer before timing, and after
 * every iteration: the counter equals the jobs submitted.
 */
#include "bench_util.h"

#include "pool.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define JOBS 65536
#define MAX_WORKERS 4

typedef struct pool_bench {
    atomic_ullong done; /* jobs run */
    void **jobs;        /* JOBS pointers to `token` (a job must not be NULL) */
    char token;
} pool_bench;

static void
run_job(void *opaque, void *worker_state, void *job)
{
    (void)worker_state;
    (void)job;
    pool_bench *const pb = opaque;
    atomic_fetch_add_explicit(&pb->done, 1, memory_order_relaxed);
}

/* One pool life; 0 when every job ran. */
static int
one_round(pool_bench *pb, unsigned workers)
{
    const sgs_pool_hooks hooks = {NULL, run_job, NULL, pb};
    sgs_pool *p = NULL;
    atomic_store(&pb->done, 0);
    if (sgs_pool_create(NULL, workers, 256u * workers, &hooks, &p) != SGS_OK)
        return -1;
    sgs_pool_submit_many(p, pb->jobs, JOBS);
    sgs_pool_join(p);
    sgs_pool_free(p);
    return atomic_load(&pb->done) == JOBS ? 0 : -1;
}

static void
bm_pool(sgs_bench_state *st, void *arg)
{
    pool_bench *const pb = arg;
    const unsigned workers = (unsigned)sgs_bench_arg(st, 0);
    if (one_round(pb, workers) != 0) {
        sgs_bench_skip(st, "the pool lost jobs (or could not start)");
        return;
    }
    while (sgs_bench_keep_running(st)) {
        if (one_round(pb, workers) != 0)
            sgs_bench_skip(st, "the pool lost jobs (or could not start)");
    }
    sgs_bench_set_items(st, sgs_bench_iterations(st) * JOBS);
}

void *
sgs_pool_bench_register(sgs_bench_env *env)
{
    (void)env;
    pool_bench *const pb = calloc(1, sizeof(*pb));
    if (pb == NULL)
        return NULL;
    pb->jobs = malloc(JOBS * sizeof(void *));
    if (pb->jobs == NULL) {
        free(pb);
        return NULL;
    }
    for (size_t i = 0; i < JOBS; i++)
        pb->jobs[i] = &pb->token;
    atomic_init(&pb->done, 0);
    sgs_bench *const b = sgs_bench_register("pool/tiny_jobs", bm_pool, pb);
    sgs_bench_set_arg_name(b, "workers");
    for (int w = 1; w <= MAX_WORKERS; w++)
        sgs_bench_add_arg(b, w);
    sgs_bench_use_real_time(b);
    sgs_bench_set_unit(b, SGS_BENCH_MS);
    return pb;
}

void
sgs_pool_bench_free(void *ctx)
{
    pool_bench *const pb = ctx;
    if (pb == NULL)
        return;
    free(pb->jobs);
    free(pb);
}
