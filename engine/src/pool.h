/* pool.h - fixed pthreads worker pool over a bounded job queue (blocking submit). */
#ifndef SGS_POOL_H
#define SGS_POOL_H

#include "sigsweep.h"

#include <stddef.h>

typedef struct sgs_pool sgs_pool;

/*
 * Per-worker hooks. init runs on the worker thread before its first job and returns the
 * worker's private state (NULL is allowed); run handles one job; fini releases the state.
 * `opaque` outlives the pool.
 */
typedef struct sgs_pool_hooks {
    void *(*init)(void *opaque, unsigned worker_index);
    void (*run)(void *opaque, void *worker_state, void *job);
    void (*fini)(void *opaque, void *worker_state);
    void *opaque;
} sgs_pool_hooks;

/*
 * Starts `threads` workers (>= 1) with a queue of `depth` slots (>= 1). On success *out is
 * owned by the caller; release with sgs_pool_free(). Returns SGS_OK, SGS_ERR_NOMEM,
 * SGS_ERR_THREAD, SGS_ERR_INVALID_ARG.
 */
SGS_NODISCARD sgs_status sgs_pool_create(const sgs_allocator *a, unsigned threads, size_t depth,
                                         const sgs_pool_hooks *hooks, sgs_pool **out);

/* Queues a job, blocking while the queue is full. THREAD SAFETY: any thread, until join. */
void sgs_pool_submit(sgs_pool *p, void *job);

/* Queues n jobs in order under one lock, blocking while the queue is full. */
void sgs_pool_submit_many(sgs_pool *p, void *const *jobs, size_t n);

/* Lets the workers drain the queue, then joins them. Idempotent. */
void sgs_pool_join(sgs_pool *p);

/* Joins if needed and frees. NULL is a no-op. */
void sgs_pool_free(sgs_pool *p);

unsigned sgs_pool_threads(const sgs_pool *p);

#endif
