/*
 * pool.c - fixed worker threads over a bounded ring of jobs.
 *
 * DESIGN: one mutex, two condition variables (not_empty for workers, not_full for the
 * submitter), a ring of `depth` job pointers. Submit blocks while the ring is full: that
 * back-pressure is what keeps memory flat when a walk finds a million files. Condition
 * variables are signalled only when a thread sleeps on them (idle/submitters counts), so a
 * busy pool moves jobs without a futex call per job. Join sets
 * `closing`; workers drain what is queued, then exit. Each worker owns the state its init hook
 * returns (EVP contexts, buffers), so nothing per-job is shared between threads.
 *
 *   submit ─► [ring: head … tail] ─► worker k: run(opaque, state_k, job)
 */
#include "pool.h"

#include "alloc.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

struct sgs_pool {
    const sgs_allocator *alloc;
    sgs_pool_hooks hooks;
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    void **ring;
    size_t depth, head, count;
    unsigned idle;       /* workers waiting on not_empty */
    unsigned submitters; /* submitters waiting on not_full */
    int closing, joined;
    unsigned threads, started;
    pthread_t *tids;
};

typedef struct worker_arg {
    sgs_pool *pool;
    unsigned index;
} worker_arg;

#define TAKE_MAX 16 /* jobs a worker takes per lock: fewer lock round trips on tiny jobs */

static void *
worker_main(void *arg)
{
    sgs_pool *const p = ((worker_arg *)arg)->pool;
    const unsigned index = ((worker_arg *)arg)->index;
    sgs_free(p->alloc, arg);
    void *const state = p->hooks.init != NULL ? p->hooks.init(p->hooks.opaque, index) : NULL;
    void *jobs[TAKE_MAX];
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->count == 0 && !p->closing) {
            p->idle++;
            pthread_cond_wait(&p->not_empty, &p->mu);
            p->idle--;
        }
        if (p->count == 0) { /* closing and drained */
            pthread_mutex_unlock(&p->mu);
            break;
        }
        /* Take a fair share of what is queued, so other workers are not starved. */
        size_t take = (p->count + p->threads - 1) / p->threads;
        if (take > TAKE_MAX)
            take = TAKE_MAX;
        for (size_t i = 0; i < take; i++) {
            jobs[i] = p->ring[p->head];
            p->head = (p->head + 1) % p->depth;
        }
        p->count -= take;
        /* Wake a sleeping submitter only once the ring is half empty: waking it for every
           free slot would cost a context switch per job. */
        if (p->submitters > 0 && p->count <= p->depth / 2)
            pthread_cond_signal(&p->not_full);
        pthread_mutex_unlock(&p->mu);
        for (size_t i = 0; i < take; i++)
            p->hooks.run(p->hooks.opaque, state, jobs[i]);
    }
    if (p->hooks.fini != NULL)
        p->hooks.fini(p->hooks.opaque, state);
    return NULL;
}

sgs_status
sgs_pool_create(const sgs_allocator *a, unsigned threads, size_t depth,
                const sgs_pool_hooks *hooks, sgs_pool **out)
{
    *out = NULL;
    if (threads == 0 || depth == 0 || hooks == NULL || hooks->run == NULL)
        return SGS_ERR_INVALID_ARG;
    sgs_pool *const p = sgs_calloc(a, 1, sizeof(*p));
    if (p == NULL)
        return SGS_ERR_NOMEM;
    p->alloc = a;
    p->hooks = *hooks;
    p->depth = depth;
    p->threads = threads;
    p->ring = sgs_calloc(a, depth, sizeof(void *));
    p->tids = sgs_calloc(a, threads, sizeof(pthread_t));
    if (p->ring == NULL || p->tids == NULL) {
        sgs_free(a, p->ring);
        sgs_free(a, p->tids);
        sgs_free(a, p);
        return SGS_ERR_NOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->not_empty, NULL);
    pthread_cond_init(&p->not_full, NULL);
    sgs_status st = SGS_OK;
    for (unsigned i = 0; i < threads; i++) {
        worker_arg *const wa = sgs_malloc(a, sizeof(*wa));
        if (wa == NULL) {
            st = SGS_ERR_NOMEM;
            break;
        }
        wa->pool = p;
        wa->index = i;
        /* workers take no process signals: the caller's handlers run on its own threads, and
           a worker's write (its record callback) is never cut short by EINTR */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        const int created = pthread_create(&p->tids[i], NULL, worker_main, wa);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (created != 0) {
            sgs_free(a, wa);
            st = SGS_ERR_THREAD;
            break;
        }
        p->started++;
    }
    if (st != SGS_OK) {
        sgs_pool_free(p);
        return st;
    }
    *out = p;
    return SGS_OK;
}

void
sgs_pool_submit_many(sgs_pool *p, void *const *jobs, size_t n)
{
    size_t done = 0;
    pthread_mutex_lock(&p->mu);
    while (done < n) {
        while (p->count == p->depth) {
            p->submitters++;
            pthread_cond_wait(&p->not_full, &p->mu);
            p->submitters--;
        }
        while (done < n && p->count < p->depth) {
            p->ring[(p->head + p->count) % p->depth] = jobs[done++];
            p->count++;
        }
        if (p->idle > 0)
            pthread_cond_broadcast(&p->not_empty);
    }
    pthread_mutex_unlock(&p->mu);
}

void
sgs_pool_submit(sgs_pool *p, void *job)
{
    sgs_pool_submit_many(p, &job, 1);
}

void
sgs_pool_join(sgs_pool *p)
{
    if (p->joined)
        return;
    pthread_mutex_lock(&p->mu);
    p->closing = 1;
    pthread_cond_broadcast(&p->not_empty);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->started; i++)
        pthread_join(p->tids[i], NULL);
    p->joined = 1;
}

void
sgs_pool_free(sgs_pool *p)
{
    if (p == NULL)
        return;
    sgs_pool_join(p);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->not_empty);
    pthread_cond_destroy(&p->not_full);
    const sgs_allocator *const a = p->alloc;
    sgs_free(a, p->ring);
    sgs_free(a, p->tids);
    sgs_free(a, p);
}

unsigned
sgs_pool_threads(const sgs_pool *p)
{
    return p->started;
}
